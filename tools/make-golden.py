#!/usr/bin/env python3
"""Write the golden fixtures tests/data/golden-mlp.safetensors and golden-conv.safetensors:
one training step of a small wgvae model computed by PyTorch, an outside reference for the
CPU model and the WGSL kernels.

Usage (from the repository root; needs torch, safetensors and numpy, not run in CI):
    python3 tools/make-golden.py [--out tests/data]

The output is deterministic: run it again and the files come out byte for byte the same
(with the same torch version, recorded in the "made_by" metadata). It first checks its
Philox4x32-10 against tests/data/philox4x32-10-kat.txt and stops if that fails.

Models (tools/torch_models.py, wgvae's names):
    golden-mlp:  arch mlp,  28x28x1, hidden [8, 6], latent 4, beta 1.0, Bernoulli
    golden-conv: arch conv, 28x28x1, conv_channels [4, 8], hidden [16], latent 4, beta 0.5,
                 Bernoulli
parameters drawn by PyTorch's default initialisation right after torch.manual_seed(0).

Batch: the first 4 images of the embedded MNIST test subset
(data/embedded/t10k-images-idx3-ubyte.gz: a 7, a 2, a 1 and a 0), B = 4.

Each file holds (F32 unless stated; B = 4, latent = 4, C*H*W = 784):
    <name>             every model tensor, under its wgvae/PyTorch name (Linear weight [out, in],
                       Conv2d weight [out, in, 4, 4], ConvTranspose2d weight [in, out, 4, 4]):
                       the initial (float32) values
    input.x_u8         U8 [B, C, H, W]; the model input is x = x_u8 / 255 in float32
    input.eps          [B, latent]: element i of the row-major flattening is wgvae's
                       normal_at(seed 1234, step 0, stream 0, i) (src/cpu/rng.rs: Philox4x32-10,
                       its u01 and Box-Muller; re-implemented here in numpy)
    out.mu, out.logvar, out.z   [B, latent]; z = mu + exp(logvar / 2) * eps
    out.logits         [B, C*H*W] (NCHW order)
    loss.recon         [1] BCE-with-logits summed over pixels and batch
    loss.kl            [1] -1/2 sum(1 + logvar - mu^2 - exp(logvar)) over batch and latent
    loss.total         [1] recon + beta * kl
    grad.<name>        d loss.total / d <name>
    adam1.<name>       <name> after one torch.optim.Adam step (lr 1e-3, betas (0.9, 0.999),
                       eps 1e-8, no weight decay) from grad.*
Everything after the inputs is computed in float64 (the model cast to double after init, x
and eps cast from their float32 values), then rounded to float32 once: the fixture is the
exact answer for the stored float32 inputs, and a float32 implementation should match it to
its own rounding error. Caveat for adam1: the first Adam step moves each parameter by
lr * g / (|g| + 1e-8), about lr * sign(g); where a gradient is tiny (cancellation) its sign
in float32 may differ, so compare adam1 where |grad| is well above float32 noise. The script
prints how many such gradients each fixture has.

Metadata: "config" (the model config as wgvae writes it in the checkpoint metadata
"wgvae" -> "config"), "seed" "1234", "step" "0", "stream" "0", "beta", "made_by".
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

SEED, STEP, STREAM = 1234, 0, 0
INIT_SEED = 0
BATCH = 4
LR, BETAS, ADAM_EPS = 1e-3, (0.9, 0.999), 1e-8



def small_config(arch, conv_channels, hidden, beta):
    """The fixture's model config, its fields in the order of wgvae's ModelConfig."""
    return {
        "arch": arch,
        "height": 28,
        "width": 28,
        "channels": 1,
        "conv_channels": conv_channels,
        "hidden": hidden,
        "latent": 4,
        "likelihood": "bernoulli",
        "beta": beta,
        "learn_variance": False,
        "gaussian_logvar": 0.0,
    }


CONFIGS = {
    "golden-mlp": small_config("mlp", [], [8, 6], 1.0),
    "golden-conv": small_config("conv", [4, 8], [16], 0.5),
}

# ---- Philox4x32-10 and the normal stream of src/cpu/rng.rs ----------------------------------

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter, key):
    """Ten rounds of Philox4x32. counter: uint32 [n, 4]; key: uint32 [2]. Returns uint32 [n, 4]."""
    c = np.asarray(counter, dtype=np.uint32).reshape(-1, 4)
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    c0, c1, c2, c3 = (c[:, j].copy() for j in range(4))
    with np.errstate(over="ignore"):
        for r in range(10):
            if r > 0:
                k0 = np.uint32(k0 + W0)
                k1 = np.uint32(k1 + W1)
            p0 = M0 * c0.astype(np.uint64)
            p1 = M1 * c2.astype(np.uint64)
            hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), (p0 & MASK32).astype(np.uint32)
            hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), (p1 & MASK32).astype(np.uint32)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return np.stack([c0, c1, c2, c3], axis=1)


def u01(x):
    """Top 24 bits to float32 strictly inside (0, 1), with rng.rs's float32 operations."""
    return (x >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / 16_777_216.0) + np.float32(
        0.5 / 16_777_216.0
    )


def normal_stream(seed, step, stream, n):
    """normal_at(seed, step, stream, i) for i in 0..n as float32: lane i % 4 of the Philox block
    with counter [i / 4, step, stream, 0] under key [seed lo, seed hi], Box-Muller on (u0, u1)
    and (u2, u3). u and the angle 6.2831855 * u are formed in float32 as rng.rs does; the log,
    sqrt, cos and sin in float64, rounded to float32 at the end (within an ulp or two of the
    Rust float32 functions)."""
    blocks = (n + 3) // 4
    ctr = np.zeros((blocks, 4), dtype=np.uint32)
    ctr[:, 0] = np.arange(blocks, dtype=np.uint32)
    ctr[:, 1] = step
    ctr[:, 2] = stream
    key = (seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF)
    u = u01(philox4x32_10(ctr, key))
    two_pi = np.float32(6.283_185_5)
    rad0 = np.sqrt(-2.0 * np.log(u[:, 0].astype(np.float64)))
    rad1 = np.sqrt(-2.0 * np.log(u[:, 2].astype(np.float64)))
    th0 = (two_pi * u[:, 1]).astype(np.float64)
    th1 = (two_pi * u[:, 3]).astype(np.float64)
    out = np.stack(
        [rad0 * np.cos(th0), rad0 * np.sin(th0), rad1 * np.cos(th1), rad1 * np.sin(th1)], axis=1
    )
    return out.reshape(-1)[:n].astype(np.float32)


def check_kat(path):
    """Checks philox4x32_10 against every line of the known-answer file; returns the count."""
    count = 0
    with open(path) as f:
        for line in f:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[:2] != ["philox4x32", "10"]:
                sys.exit(f"make-golden: unexpected KAT line {line!r}")
            v = [int(w, 16) for w in words[2:]]
            got = philox4x32_10([v[0:4]], v[4:6])[0]
            if [int(g) for g in got] != v[6:10]:
                sys.exit(f"make-golden: Philox KAT mismatch on {line.strip()!r}: got {got}")
            count += 1
    if count == 0:
        sys.exit(f"make-golden: no known-answer vectors in {path}")
    return count


# ---- the fixture ------------------------------------------------------------------------------


def first_test_images(n):
    from pytorch_eval import read_idx

    images = read_idx(os.path.join(ROOT, "data", "embedded", "t10k-images-idx3-ubyte.gz"))
    return np.ascontiguousarray(images[:n]).reshape(n, 1, 28, 28)


def make(name, config, x_u8, eps32):
    import torch

    import torch_models as tm

    torch.manual_seed(INIT_SEED)
    model = tm.build_model(config)
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}

    m64 = model.double()
    x64 = torch.from_numpy(x_u8.astype(np.float32) / np.float32(255.0)).double()
    eps64 = torch.from_numpy(eps32).double()
    logits, mu, logvar, z = m64(x64, eps64)
    recon = tm.bce_with_logits(logits, x64)
    kl = tm.kl_divergence(mu, logvar)
    total = recon + config["beta"] * kl
    total.backward()

    f32 = lambda t: t.detach().to(torch.float32).contiguous()  # noqa: E731
    tensors = {k: v.contiguous() for k, v in init.items()}
    tensors["input.x_u8"] = torch.from_numpy(x_u8.copy())
    tensors["input.eps"] = torch.from_numpy(eps32.copy())
    tensors["out.mu"] = f32(mu)
    tensors["out.logvar"] = f32(logvar)
    tensors["out.z"] = f32(z)
    tensors["out.logits"] = f32(logits)
    tensors["loss.recon"] = f32(recon).reshape(1)
    tensors["loss.kl"] = f32(kl).reshape(1)
    tensors["loss.total"] = f32(total).reshape(1)
    params = dict(m64.named_parameters())
    tiny = 0
    for k, p in params.items():
        tensors[f"grad.{k}"] = f32(p.grad)
        # Gradients below ~1e-5 of their tensor's largest are at float32's noise level.
        scale = p.grad.abs().max().item()
        tiny += int(((p.grad.abs() < 1e-5 * scale) & (p.grad != 0)).sum())
    opt = torch.optim.Adam(
        [p for p in m64.parameters() if p.requires_grad], lr=LR, betas=BETAS, eps=ADAM_EPS
    )
    opt.step()
    for k, p in params.items():
        tensors[f"adam1.{k}"] = f32(p)
    meta = {
        "config": json.dumps(config, separators=(",", ":")),
        "seed": str(SEED),
        "step": str(STEP),
        "stream": str(STREAM),
        "beta": repr(float(config["beta"])),
        "made_by": f"tools/make-golden.py, torch {torch.__version__}",
    }
    nparams = sum(p.numel() for p in params.values())
    print(
        f"{name}: {nparams} parameters; recon {recon.item():.6f}, kl {kl.item():.6f}, "
        f"total {total.item():.6f}; {tiny} nonzero gradients under 1e-5 of their tensor's "
        "largest",
        file=sys.stderr,
    )
    return tensors, meta


def write_safetensors(path, tensors, metadata):
    """Writes a safetensors file byte for byte reproducibly (safetensors.torch.save_file
    shuffles the metadata's order from run to run): tensors in the order of `tensors`, metadata
    keys sorted, the header padded with spaces to a multiple of 8 bytes."""
    dtypes = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8"}
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.numpy())
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": dtypes[a.dtype],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data"), help="output folder")
    args = ap.parse_args()

    import torch
    from safetensors.torch import load_file

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    kat = check_kat(os.path.join(ROOT, "tests", "data", "philox4x32-10-kat.txt"))
    print(f"Philox4x32-10: {kat} known-answer vectors match", file=sys.stderr)

    x_u8 = first_test_images(BATCH)
    for name, config in CONFIGS.items():
        eps = normal_stream(SEED, STEP, STREAM, BATCH * config["latent"]).reshape(
            BATCH, config["latent"]
        )
        tensors, meta = make(name, config, x_u8, eps)
        path = os.path.join(args.out, f"{name}.safetensors")
        write_safetensors(path, tensors, meta)
        back = load_file(path)
        if set(back) != set(tensors):
            sys.exit(f"make-golden: {path} reads back with other tensors")
        for k, t in tensors.items():
            if not torch.equal(back[k], t):
                sys.exit(f"make-golden: {path} reads back {k} differently")
        print(f"wrote {path} ({os.path.getsize(path):,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
