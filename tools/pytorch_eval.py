#!/usr/bin/env python3
"""Evaluate a wgvae checkpoint in PyTorch, the way pytorch/examples/vae evaluates its own model.

Usage:
    python3 tools/pytorch_eval.py CHECKPOINT MNIST_DIR [--batch 128] [--seed 1]

    CHECKPOINT  a model file written by wgvae (safetensors; not the .adam.safetensors file)
    MNIST_DIR   a folder with the raw IDX test files t10k-images-idx3-ubyte and
                t10k-labels-idx1-ubyte (or the same names ending in .gz), as
                tools/fetch-mnist.sh leaves them in data/mnist/

    example: python3 tools/pytorch_eval.py runs/vae.safetensors data/mnist

Needs: torch, safetensors, numpy (pip install torch safetensors numpy). Not run in CI.

What it does:
  * reads the model config from the safetensors metadata key "wgvae" (JSON written by
    src/checkpoint.rs); the image size may be stored as height/width or (older checkpoints)
    rows/cols, and an absent arch means the MLP;
  * builds the model with tools/torch_models.py: for arch "mlp" pytorch/examples/vae's `VAE`
    (fc1 784->400, fc21/fc22 400->20, fc3 20->400, fc4 400->784, ReLU hidden layers; other
    hidden and latent sizes with the layer names of src/model/layout.rs: extra encoder layers fc1_2,
    fc1_3, ...; extra decoder layers fc3_2, fc3_3, ...), for the default config exactly the
    example's module; for arch "conv" wgvae's conv VAE (conv1, conv2, ... k4 s2 p1, dense fc*
    layers, deconv1, deconv2, ...). Only the Bernoulli likelihood on 28x28 grey images is
    supported; other configs are refused with a message;
  * loads the tensors with safetensors.torch.load_file and load_state_dict(strict=True), so any
    missing, extra or misshapen tensor is an error;
  * computes the test loss exactly as the example's test(): for each batch of the 10,000 test
    images (pixels u8/255, in file order, batch size --batch), draw z once with torch.randn_like
    after torch.manual_seed(--seed), and add the reconstruction term (summed over pixels and
    batch) plus KLD = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)); then divide the total by the
    number of images. The reconstruction term is the example's for the MLP
    (F.binary_cross_entropy on the sigmoid of the logits) and the comparison conv VAE's for conv
    (F.binary_cross_entropy_with_logits); the two agree except where a logit's sigmoid rounds
    to 0 or 1. The KL term has weight 1 whatever the checkpoint's beta (the example's loss is
    the plain negative ELBO);
  * prints "test loss per sample: X (reconstruction R, KL K)".
"""

import argparse
import gzip
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def open_maybe_gz(path):
    """Opens `path` for binary reading, through gzip when its name ends in .gz."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def find_idx(folder, name):
    """The path of IDX file `name` in `folder`, raw or gzipped."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    sys.exit(f"pytorch_eval: {folder} has no {name} (nor {name}.gz); run tools/fetch-mnist.sh")


def read_idx(path):
    """Reads an IDX file of unsigned bytes (magic 0x0000_08_NN) into a numpy array."""
    with open_maybe_gz(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        sys.exit(f"pytorch_eval: {path} is not an IDX file")
    if data[2] != 0x08:
        sys.exit(f"pytorch_eval: {path} holds type 0x{data[2]:02x}, expected unsigned bytes (0x08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        sys.exit(f"pytorch_eval: {path} is truncated (header)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) != header + count:
        sys.exit(
            f"pytorch_eval: {path} has {len(data) - header} bytes of data, "
            f"its header {shape} says {count}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_config(checkpoint):
    """The ModelConfig stored in the checkpoint's "wgvae" metadata, as a dict."""
    from safetensors import safe_open

    with safe_open(checkpoint, framework="pt") as f:
        meta = f.metadata() or {}
    if "wgvae" not in meta:
        sys.exit(f"pytorch_eval: {checkpoint} has no \"wgvae\" metadata; not a wgvae checkpoint")
    info = json.loads(meta["wgvae"])
    if info.get("format_version") != 1:
        sys.exit(
            f"pytorch_eval: {checkpoint} has format version {info.get('format_version')}; "
            "this script reads version 1"
        )
    if info.get("normalisation") != "u8/255":
        sys.exit(
            f"pytorch_eval: {checkpoint} was trained on pixels normalised as "
            f"{info.get('normalisation')!r}; this script feeds u8/255"
        )
    return info["config"], info


def check_supported(config, checkpoint):
    """The normalised config (tools/torch_models.py) if this script can evaluate it; else exits
    with a message naming every problem."""
    import torch_models

    try:
        config = torch_models.normalise_config(config)
    except torch_models.ConfigError as e:
        sys.exit(f"pytorch_eval: {checkpoint} has a model config no model fits: {e}")
    problems = []
    if config["likelihood"] != "bernoulli":
        problems.append(
            f"likelihood {config['likelihood']} (only bernoulli, the example's BCE loss)"
        )
    if (config["height"], config["width"], config["channels"]) != (28, 28, 1):
        problems.append(
            f"image size {config['height']}x{config['width']}x{config['channels']} "
            "(MNIST is 28x28, one channel)"
        )
    if problems:
        sys.exit(
            f"pytorch_eval: {checkpoint} has a model this script cannot evaluate: "
            + "; ".join(problems)
        )
    return config


def build_model(config):
    """The PyTorch module for a wgvae config (see tools/torch_models.py)."""
    import torch_models

    return torch_models.build_model(config)


def reconstruction_loss(config, logits, x):
    """Summed Bernoulli reconstruction term: the example's for the MLP (binary_cross_entropy on
    sigmoid outputs), BCE-with-logits for conv (the comparison conv VAE's)."""
    import torch
    import torch.nn.functional as F

    x = x.reshape(logits.shape)
    if config["arch"] == "mlp":
        return F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum")
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum")


def main():
    parser = argparse.ArgumentParser(
        description="Test loss of a wgvae checkpoint, computed as pytorch/examples/vae does."
    )
    parser.add_argument("checkpoint", help="wgvae model checkpoint (.safetensors)")
    parser.add_argument("mnist_dir", help="folder with t10k-images-idx3-ubyte[.gz] and labels")
    parser.add_argument("--batch", type=int, default=128, help="test batch size (default 128)")
    parser.add_argument("--seed", type=int, default=1, help="torch.manual_seed (default 1)")
    args = parser.parse_args()
    if args.batch < 1:
        sys.exit("pytorch_eval: --batch must be at least 1")

    import torch
    from safetensors.torch import load_file

    config, info = read_config(args.checkpoint)
    config = check_supported(config, args.checkpoint)

    images = read_idx(find_idx(args.mnist_dir, "t10k-images-idx3-ubyte"))
    labels = read_idx(find_idx(args.mnist_dir, "t10k-labels-idx1-ubyte"))
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        sys.exit(f"pytorch_eval: test images have shape {images.shape}, expected [N, 28, 28]")
    if labels.shape != (images.shape[0],):
        sys.exit(
            f"pytorch_eval: {labels.shape[0]} labels for {images.shape[0]} images; "
            "the IDX files do not belong together"
        )

    device = torch.device("cpu")
    model = build_model(config).to(device)
    state = load_file(args.checkpoint)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        sys.exit(f"pytorch_eval: {args.checkpoint} does not fit the model: {e}")
    model.eval()

    # transforms.ToTensor(): u8 / 255 as float32, shape [N, 1, 28, 28].
    data = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    n = data.shape[0]
    # Seeded just before the loop, so the draws of eps depend on --seed alone.
    torch.manual_seed(args.seed)
    test_loss = 0.0
    total_bce = 0.0
    total_kld = 0.0
    with torch.no_grad():
        for start in range(0, n, args.batch):
            batch = data[start : start + args.batch].to(device)
            logits, mu, logvar, _ = model(batch)
            bce = reconstruction_loss(config, logits, batch)
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            # As the example: test_loss += loss_function(...).item(); the parts for the report.
            test_loss += (bce + kld).item()
            total_bce += bce.item()
            total_kld += kld.item()

    loss = test_loss / n
    print(
        f"checkpoint {args.checkpoint}: {config['arch']}"
        + (f" conv {config['conv_channels']}" if config["arch"] == "conv" else "")
        + f" hidden {config['hidden']} latent {config['latent']}, "
        f"epoch {info.get('epoch')}, step {info.get('step')}; {n} test images, "
        f"batch {args.batch}, seed {args.seed}",
        file=sys.stderr,
    )
    if config.get("beta", 1.0) != 1.0:
        print(
            f"note: trained with beta {config['beta']}; the loss below weights KL by 1",
            file=sys.stderr,
        )
    print(
        f"test loss per sample: {loss:.4f} "
        f"(reconstruction {total_bce / n:.4f}, KL {total_kld / n:.4f})"
    )


if __name__ == "__main__":
    main()
