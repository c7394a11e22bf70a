#!/usr/bin/env python3
"""Write tests/data/metrics-fixture.json: scikit-image's and scipy's answers for wgvae's CPU
quality metrics (src/restore/metrics.rs) and classical baselines (src/restore/classical.rs),
an outside reference for tests/restore_classical.rs.

Usage (from the repository root; not run in CI):
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy==2.4.6 scipy==1.17.1 \
        scikit-image==0.26.0
    /tmp/venv/bin/python tools/make-metrics-fixture.py [--out tests/data/metrics-fixture.json]

Made with numpy 2.4.6, scipy 1.17.1, scikit-image 0.26.0 (recorded in "made_by"). The output is
deterministic: the images come from formulas and a seeded numpy Generator (PCG64, seed 7).

Images are stored as integers k and mean the float32 value k / 255 (float32 division, as
Rust's `k as f32 / 255.0`), which the references get cast to float64: every reference value
is the float64 answer for exactly the float32 input wgvae sees. "restored" images hold k in
[-30, 285], so they exercise the clipping to [0, 1] the metrics do first.

Sections (h x w row-major lists):
    ssim_psnr   clean (u8), restored (int), psnr = peak_signal_noise_ratio(clean,
                clip(restored, 0, 1), data_range=1), ssim = structural_similarity(clean,
                clip(restored, 0, 1), gaussian_weights=True, sigma=1.5,
                use_sample_covariance=False, data_range=1.0)
    gaussian    image, sigma, out = scipy.ndimage.gaussian_filter(image, sigma, mode='reflect',
                truncate=4.0)
    median      image, radius, out = scipy.ndimage.median_filter(image, size=2 radius + 1,
                mode='reflect')
    tv          image, weight, max_iter, out = denoise_tv_chambolle(image, weight, eps=2e-4,
                max_num_iter=max_iter)
    biharmonic  image, known (1 = known), out = inpaint_biharmonic(image, ~known); the holes
                stay 2 pixels clear of the image border, where skimage's truncated stencils
                differ from wgvae's reflected Laplacian
"""

import argparse
import json

import numpy as np
import scipy
import scipy.ndimage as ndi
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.restoration import denoise_tv_chambolle, inpaint_biharmonic


def as_float(k):
    """Integers k as wgvae's float32 k / 255, then float64."""
    return (np.asarray(k, dtype=np.float32) / np.float32(255)).astype(np.float64)


def pattern(h, w, phase):
    """A smooth blob-and-stripes test picture, quantised to u8."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    blob = np.exp(-(((y - cy) / (0.3 * h)) ** 2 + ((x - cx) / (0.25 * w)) ** 2))
    stripes = 0.25 * np.sin(0.7 * x + 0.4 * y + phase)
    v = 0.15 + 0.6 * blob + stripes
    return np.clip(np.round(v * 255), 0, 255).astype(np.int64)


def step(h, w):
    """A dark square on a bright background (sharp edges for TV)."""
    v = np.full((h, w), 200, dtype=np.int64)
    v[h // 4 : 3 * h // 4, w // 3 : 3 * w // 4] = 40
    return v


def noisy(k, rng, sigma, lo=0, hi=255):
    return np.clip(np.round(k + rng.normal(0, sigma * 255, k.shape)), lo, hi).astype(np.int64)


def flat(a):
    return [int(v) for v in np.asarray(a).ravel()]


def floats(a):
    """Rounded to 10 significant digits: far below the tolerances, and a smaller file."""
    return [float(f"{v:.10g}") for v in np.asarray(a, dtype=np.float64).ravel()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/metrics-fixture.json")
    args = ap.parse_args()
    rng = np.random.default_rng(7)

    pairs = []
    for name, h, w, how in [
        ("28x28, noise 0.2", 28, 28, "noise"),
        ("37x23, noise 0.05 overshooting [0, 1]", 37, 23, "noise-wide"),
        ("23x37, blurred", 23, 37, "blur"),
        ("11x11, the smallest skimage accepts", 11, 11, "noise"),
        ("12x40, shifted by one column", 12, 40, "shift"),
        ("33x29, noise 0.02", 33, 29, "noise-small"),
    ]:
        clean = pattern(h, w, 0.3 * h)
        if how == "noise":
            restored = noisy(clean, rng, 0.2, -30, 285)
        elif how == "noise-wide":
            restored = noisy(clean, rng, 0.05, -30, 285)
            restored[0, :5] = -30
            restored[-1, -5:] = 285
        elif how == "noise-small":
            restored = noisy(clean, rng, 0.02, -30, 285)
        elif how == "blur":
            restored = np.round(ndi.gaussian_filter(clean.astype(np.float64), 1.0)).astype(
                np.int64
            )
        else:
            restored = np.roll(clean, 1, axis=1)
        c, r = as_float(clean), np.clip(as_float(restored), 0.0, 1.0)
        pairs.append(
            {
                "name": name,
                "height": h,
                "width": w,
                "clean": flat(clean),
                "restored": flat(restored),
                "psnr": float(peak_signal_noise_ratio(c, r, data_range=1.0)),
                "ssim": float(
                    structural_similarity(
                        c,
                        r,
                        gaussian_weights=True,
                        sigma=1.5,
                        use_sample_covariance=False,
                        data_range=1.0,
                    )
                ),
            }
        )

    gaussian = []
    for h, w, sigma in [(13, 11, 0.8), (13, 11, 2.0), (7, 5, 2.0)]:
        img = noisy(pattern(h, w, 1.0), rng, 0.1)
        out = ndi.gaussian_filter(as_float(img), sigma, mode="reflect", truncate=4.0)
        gaussian.append(
            {"height": h, "width": w, "sigma": sigma, "image": flat(img), "out": floats(out)}
        )

    median = []
    for h, w, radius in [(13, 11, 1), (13, 11, 2), (4, 6, 3)]:
        img = noisy(pattern(h, w, 2.0), rng, 0.1)
        out = ndi.median_filter(as_float(img), size=2 * radius + 1, mode="reflect")
        median.append(
            {"height": h, "width": w, "radius": radius, "image": flat(img), "out": floats(out)}
        )

    tv = []
    for h, w, weight, max_iter in [(20, 17, 0.1, 200), (20, 17, 0.3, 200), (16, 16, 0.1, 5)]:
        img = noisy(step(h, w), rng, 0.15)
        out = denoise_tv_chambolle(as_float(img), weight=weight, eps=2e-4, max_num_iter=max_iter)
        tv.append(
            {
                "height": h,
                "width": w,
                "weight": weight,
                "max_iter": max_iter,
                "image": flat(img),
                "out": floats(out),
            }
        )

    biharmonic = []
    for h, w in [(20, 17)]:
        img = pattern(h, w, 0.5)
        known = np.ones((h, w), dtype=bool)
        known[5:12, 4:10] = False  # a hole
        known[14:17, 11:14] = False  # a second one
        known[3, 13] = False  # a single pixel
        out = inpaint_biharmonic(as_float(img), ~known)
        biharmonic.append(
            {
                "height": h,
                "width": w,
                "image": flat(img),
                "known": flat(known.astype(np.int64)),
                "out": floats(out),
            }
        )

    doc = {
        "made_by": f"tools/make-metrics-fixture.py with numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-image {skimage.__version__}",
        "ssim_psnr": pairs,
        "gaussian": gaussian,
        "median": median,
        "tv": tv,
        "biharmonic": biharmonic,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    for p in pairs:
        print(f"{p['name']}: psnr {p['psnr']:.4f} dB, ssim {p['ssim']:.5f}")


if __name__ == "__main__":
    main()
