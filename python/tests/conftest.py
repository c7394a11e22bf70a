"""Shared set-up of the Python module's tests: the command line to compare with, the same
kernel choices for both (no autotuning), and small test pictures."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

# the command line's tests run without autotuning; the module reads the same variable, so both
# sides pick the same kernels (set before any device opens)
os.environ["WGVAE_NO_AUTOTUNE"] = "1"

import wgvae  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli():
    """Runs the command line (WGVAE_BIN, else target/release/wgvae, which `cargo test
    --release` builds) and returns its stderr; fails on a non-zero exit."""
    binary = Path(os.environ.get("WGVAE_BIN", REPO / "target" / "release" / "wgvae"))
    if not binary.exists():
        pytest.fail(f"{binary}: no wgvae binary to compare with (cargo build --release)")

    def run(*args):
        done = subprocess.run(
            [str(binary), *map(str, args)], capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"wgvae {' '.join(map(str, args))}: {done.stderr}"
        return done.stderr

    return run


@pytest.fixture(scope="session")
def photo():
    """The README's example photo (96x96 RGB), uint8."""
    return wgvae.read_image(REPO / "docs" / "example-photo.png")


@pytest.fixture(scope="session")
def grey(photo):
    """A 40x48 grey crop of it, as the command reads a grey file."""
    luma = photo[20:60, 30:78].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.round(luma), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo_grey():
    return wgvae.Model.load("photo-grey")


@pytest.fixture(scope="session")
def digits():
    return wgvae.Model.load("digits")
