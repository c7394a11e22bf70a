#!/usr/bin/env python3
"""BM3D (and CBM3D for colour) on the photos `wgvae eval-restore --photos ... --keep-inputs`
scored, for the same table: the same clean and damaged 8-bit inputs, the same PSNR and SSIM.

    wgvae eval-restore --photos data/photos --model models/photo-grey.safetensors \
        --keep-inputs --out runs/eval-photos-grey
    python tools/bm3d-photos.py runs/eval-photos-grey

Reads OUT/inputs/clean/*.png and OUT/inputs/<case>/*.png and prints one line per case it
applies to: the noise cases (BM3D with the true sigma) and the blur case (BM3D deblurring with
the true PSF and sigma). Writes OUT/bm3d.csv. Needs the PyPI packages bm3d, scikit-image and
Pillow (not dependencies of wgvae): `pip install bm3d scikit-image pillow`.

PSNR and SSIM are scikit-image's with the arguments wgvae's metrics match (src/restore/metrics.rs):
data range 1, the restored image clipped to [0, 1], SSIM with a Gaussian window of sigma 1.5 and
population covariance, averaged over channels for colour.
"""

import csv
import os
import re
import sys

import bm3d
import numpy as np

# bm3d's deblurring (through bm4d 4.2) still calls np.trapz, which numpy 2 renamed
if not hasattr(np, "trapz"):
    np.trapz = np.trapezoid
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def read(path):
    img = Image.open(path)
    a = np.asarray(img, dtype=np.float64) / 255.0
    return a


def ssim(clean, restored):
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    if clean.ndim == 2:
        return structural_similarity(clean, restored, **kw)
    return np.mean([structural_similarity(clean[..., c], restored[..., c], **kw)
                    for c in range(clean.shape[2])])


def gaussian_psf(sigma, size=13):
    """wgvae's Psf::gaussian(sigma, 13): a normalised size x size Gaussian."""
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma * sigma))
    return g / g.sum()


def deblur(plane, sigma, psf):
    """bm3d_deblurring on `plane`, edge-padded to even sides and cropped back: on an odd side
    its regularised-inverse estimate comes back a pixel short and bm4d refuses it."""
    h, w = plane.shape
    padded = np.pad(plane, ((0, h % 2), (0, w % 2)), mode="edge")
    return bm3d.bm3d_deblurring(padded, sigma, psf)[:h, :w]


def restore(case, noisy):
    """BM3D for a case folder name; None where BM3D does not apply."""
    m = re.fullmatch(r"noise-(\d+)", case)
    colour = noisy.ndim == 3
    if m:
        sigma = float(m.group(1)) / 255.0
        return bm3d.bm3d_rgb(noisy, sigma) if colour else bm3d.bm3d(noisy, sigma)
    m = re.fullmatch(r"blur-1-6-noise-2", case)
    if m:
        psf = gaussian_psf(1.6)
        sigma = 2.0 / 255.0
        if colour:
            return np.stack([deblur(noisy[..., c], sigma, psf) for c in range(3)], axis=-1)
        return deblur(noisy, sigma, psf)
    return None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    inputs = os.path.join(out, "inputs")
    clean_dir = os.path.join(inputs, "clean")
    if not os.path.isdir(clean_dir):
        sys.exit(f"error: {clean_dir} not found; run eval-restore --photos with --keep-inputs")
    names = sorted(os.listdir(clean_dir))
    rows = []
    # the noise cases first: deblurring whole photos takes minutes each
    for case in sorted(os.listdir(inputs), key=lambda c: (not c.startswith("noise"), c)):
        if case == "clean":
            continue
        scores = []
        for name in names:
            clean = read(os.path.join(clean_dir, name))
            noisy = read(os.path.join(inputs, case, name))
            restored = restore(case, noisy)
            if restored is None:
                break
            restored = np.clip(restored, 0.0, 1.0)
            scores.append((peak_signal_noise_ratio(clean, restored, data_range=1.0),
                           ssim(clean, restored)))
        if not scores:
            continue
        p, s = np.mean([x[0] for x in scores]), np.mean([x[1] for x in scores])
        print(f"{case:<20} bm3d {p:6.2f} / {s:.3f}   "
              f"(per photo: {', '.join(f'{x[0]:.2f}' for x in scores)})", flush=True)
        rows.append((case, "bm3d", f"{p:.4f}", f"{s:.5f}"))
    with open(os.path.join(out, "bm3d.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "method", "psnr_db", "ssim"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
