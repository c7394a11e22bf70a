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
    src/checkpoint.rs);
  * builds pytorch/examples/vae's `VAE` (fc1 784->400, fc21/fc22 400->20, fc3 20->400,
    fc4 400->784, ReLU hidden layers, sigmoid output). Other hidden and latent sizes are
    handled by the same construction with the layer names of src/layout.rs (extra encoder
    layers fc1_2, fc1_3, ...; extra decoder layers fc3_2, fc3_3, ...; ReLU after every hidden
    layer); for the default config the module is exactly the example's. Only the Bernoulli
    likelihood on 28x28 images is supported; other configs are refused with a message;
  * loads the tensors with safetensors.torch.load_file and load_state_dict(strict=True), so any
    missing, extra or misshapen tensor is an error;
  * computes the test loss exactly as the example's test(): for each batch of the 10,000 test
    images (pixels u8/255, in file order, batch size --batch), draw z once with torch.randn_like
    after torch.manual_seed(--seed), and add BCE (F.binary_cross_entropy on the sigmoid outputs,
    summed over pixels and batch) plus KLD = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)); then
    divide the total by the number of images. The KL term has weight 1 whatever the
    checkpoint's beta (the example's loss is the plain negative ELBO);
  * prints "test loss per sample: X (reconstruction R, KL K)".
"""

import argparse
import gzip
import json
import os
import sys

import numpy as np


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
    problems = []
    if config.get("likelihood") != "bernoulli":
        problems.append(
            f"likelihood {config.get('likelihood')} (only bernoulli, the example's BCE loss)"
        )
    if (config.get("rows"), config.get("cols")) != (28, 28):
        problems.append(f"image size {config.get('rows')}x{config.get('cols')} (MNIST is 28x28)")
    hidden = config.get("hidden")
    if not isinstance(hidden, list) or not hidden or not all(
        isinstance(h, int) and h > 0 for h in hidden
    ):
        problems.append(f"hidden sizes {hidden!r}")
    if not isinstance(config.get("latent"), int) or config["latent"] <= 0:
        problems.append(f"latent size {config.get('latent')!r}")
    if problems:
        sys.exit(
            f"pytorch_eval: {checkpoint} has a model this script cannot evaluate: "
            + "; ".join(problems)
        )


def build_model(config):
    import torch
    import torch.nn.functional as F
    from torch import nn

    def numbered(base, i):
        return base if i == 0 else f"{base}_{i + 1}"

    class VAE(nn.Module):
        """pytorch/examples/vae's VAE, with hidden and latent sizes from the config.

        For hidden [400], latent 20 its parameters and forward pass are the example's exactly:
        fc1, fc21, fc22, fc3, fc4; relu on fc1 and fc3; sigmoid on fc4.
        """

        def __init__(self, inputs, hidden, latent):
            super().__init__()
            self.inputs = inputs
            self.encoder_names = []
            prev = inputs
            for i, size in enumerate(hidden):
                name = numbered("fc1", i)
                setattr(self, name, nn.Linear(prev, size))
                self.encoder_names.append(name)
                prev = size
            self.fc21 = nn.Linear(prev, latent)
            self.fc22 = nn.Linear(prev, latent)
            self.decoder_names = []
            prev = latent
            for i, size in enumerate(reversed(hidden)):
                name = numbered("fc3", i)
                setattr(self, name, nn.Linear(prev, size))
                self.decoder_names.append(name)
                prev = size
            self.fc4 = nn.Linear(prev, inputs)

        def encode(self, x):
            h = x
            for name in self.encoder_names:
                h = F.relu(getattr(self, name)(h))
            return self.fc21(h), self.fc22(h)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h = z
            for name in self.decoder_names:
                h = F.relu(getattr(self, name)(h))
            return torch.sigmoid(self.fc4(h))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, self.inputs))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    return VAE(config["rows"] * config["cols"], config["hidden"], config["latent"])


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
    import torch.nn.functional as F
    from safetensors.torch import load_file

    config, info = read_config(args.checkpoint)
    check_supported(config, args.checkpoint)

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
            recon, mu, logvar = model(batch)
            bce = F.binary_cross_entropy(recon, batch.view(-1, model.inputs), reduction="sum")
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            # As the example: test_loss += loss_function(...).item(); the parts for the report.
            test_loss += (bce + kld).item()
            total_bce += bce.item()
            total_kld += kld.item()

    loss = test_loss / n
    print(
        f"checkpoint {args.checkpoint}: hidden {config['hidden']} latent {config['latent']}, "
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
