#!/usr/bin/env python3
"""Train pytorch/examples/vae's recipe in PyTorch on the same MNIST files wgvae reads.

Usage:
    python3 tools/pytorch_reference.py MNIST_DIR [--arch mlp|conv] [--epochs 10] [--seed 1]
                                       [--batch 128] [--threads N]

    example: nice -n 10 python3 tools/pytorch_reference.py data/mnist --arch conv --epochs 3 \\
                 --seed 2 --threads 1

The model comes from tools/torch_models.py:
  --arch mlp (default): pytorch/examples/vae's model, fc1 784->400 ReLU, fc21/fc22 400->20,
      fc3 20->400 ReLU, fc4 400->784 sigmoid; reconstruction loss F.binary_cross_entropy on the
      sigmoid outputs, as the example;
  --arch conv: the comparison conv VAE of ../shared/reference/pytorch-vae-mnist.md, conv
      1->32->64 (k4 s2 p1), dense 3136->256, latent 20, mirrored decoder ending in
      ConvTranspose2d 32->1 logits (1,691,369 parameters); reconstruction loss
      F.binary_cross_entropy_with_logits.
Otherwise the recipe follows pytorch/examples/vae/main.py: z = mu + eps * exp(logvar / 2);
loss = reconstruction (summed over pixels and batch) + KLD; Adam lr 1e-3; a DataLoader shuffled
every epoch after torch.manual_seed(seed), parameters drawn by PyTorch's default initialisation
after the same seed; the test pass samples z once. Pixels are u8/255 (what torchvision's
ToTensor gives). Prints the per-epoch train and test loss per sample (the train loss is the
mean over the epoch's batches while the model trains, as the example reports it) in the format
of ../shared/reference/pytorch-vae-mnist.md, so the reference figures (and their seed-to-seed
spread) can be reproduced on any machine. Needs torch and numpy. Not run in CI.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402
from pytorch_eval import find_idx, read_idx  # noqa: E402  (same IDX reader)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MODELS = {"mlp": torch_models.MLP_EXAMPLE, "conv": torch_models.CONV_COMPARISON}


def loss_function(arch, logits, x, mu, logvar):
    x = x.reshape(logits.shape)
    if arch == "mlp":
        recon = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum")
    else:
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    return recon + torch_models.kl_divergence(mu, logvar)


def load(folder, prefix):
    images = read_idx(find_idx(folder, f"{prefix}-images-idx3-ubyte"))
    return torch.from_numpy(images.astype("float32") / 255.0).reshape(-1, 1, 28, 28)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mnist_dir")
    ap.add_argument("--arch", choices=sorted(MODELS), default="mlp")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    args = ap.parse_args()
    if args.epochs < 1 or args.batch < 1:
        sys.exit("pytorch_reference: --epochs and --batch must be at least 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    train = torch.utils.data.TensorDataset(load(args.mnist_dir, "train"))
    test = torch.utils.data.TensorDataset(load(args.mnist_dir, "t10k"))
    train_loader = torch.utils.data.DataLoader(train, batch_size=args.batch, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test, batch_size=args.batch, shuffle=False)
    model = torch_models.build_model(MODELS[args.arch])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}, "
        f"arch {args.arch}, {torch_models.parameter_count(model):,} parameters"
    )
    print("| epoch | train loss | test loss | train samples/s |")
    print("|---|---|---|---|")
    began_all = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        train_loss = 0.0
        began = time.time()
        for (data,) in train_loader:
            optimizer.zero_grad()
            logits, mu, logvar, _ = model(data)
            loss = loss_function(args.arch, logits, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        seconds = time.time() - began
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for (data,) in test_loader:
                logits, mu, logvar, _ = model(data)
                test_loss += loss_function(args.arch, logits, data, mu, logvar).item()
        print(
            f"| {epoch} | {train_loss / len(train):.2f} | {test_loss / len(test):.2f} "
            f"| {len(train) / seconds:,.0f} |",
            flush=True,
        )
    print(f"wall time {time.time() - began_all:.0f} s", flush=True)


if __name__ == "__main__":
    main()
