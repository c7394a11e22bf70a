#!/usr/bin/env python3
"""Train pytorch/examples/vae's recipe in PyTorch on the same MNIST files wgvae reads.

Usage:
    python3 tools/pytorch_reference.py MNIST_DIR [--epochs 10] [--seed 1] [--batch 128]

The model, loss, optimiser and data order follow pytorch/examples/vae/main.py: fc1 784->400
ReLU, fc21/fc22 400->20, z = mu + eps * exp(logvar / 2), fc3 20->400 ReLU, fc4 400->784
sigmoid; loss = BCE (summed over pixels and batch) + KLD; Adam lr 1e-3; a DataLoader shuffled
every epoch after torch.manual_seed(seed); the test pass samples z once. Pixels are u8/255
(what torchvision's ToTensor gives). Prints the per-epoch train and test loss per sample in the
format of ../shared/reference/pytorch-vae-mnist.md, so the reference figures (and their
seed-to-seed spread) can be reproduced on any machine. Needs torch and numpy. Not run in CI.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_eval import find_idx, read_idx  # noqa: E402  (same IDX reader)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def load(folder, prefix):
    images = read_idx(find_idx(folder, f"{prefix}-images-idx3-ubyte"))
    return torch.from_numpy(images.astype("float32") / 255.0).reshape(-1, 1, 28, 28)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mnist_dir")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    train = torch.utils.data.TensorDataset(load(args.mnist_dir, "train"))
    test = torch.utils.data.TensorDataset(load(args.mnist_dir, "t10k"))
    train_loader = torch.utils.data.DataLoader(train, batch_size=args.batch, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test, batch_size=args.batch, shuffle=False)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}")
    print("| epoch | train loss | test loss | train samples/s |")
    print("|---|---|---|---|")
    for epoch in range(1, args.epochs + 1):
        model.train()
        train_loss = 0.0
        began = time.time()
        for (data,) in train_loader:
            optimizer.zero_grad()
            recon, mu, logvar = model(data)
            loss = loss_function(recon, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        seconds = time.time() - began
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for (data,) in test_loader:
                recon, mu, logvar = model(data)
                test_loss += loss_function(recon, data, mu, logvar).item()
        print(
            f"| {epoch} | {train_loss / len(train):.2f} | {test_loss / len(test):.2f} "
            f"| {len(train) / seconds:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
