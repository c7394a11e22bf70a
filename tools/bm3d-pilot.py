#!/usr/bin/env python3
"""Can the photo model help BM3D? Issue 24's research probe: the VAE's restoration used as
BM3D's pilot (the estimate its second, Wiener stage reads signal power and block matches
from) and mixed with BM3D's own estimates, scored on the same 8-bit inputs.

    wgvae eval-restore --photos data/photos --color grey --model photo-grey \
        --cases "noise 15" "noise 25" "noise 50" --keep-inputs --out OUT
    for s in 15 25 50; do for f in OUT/inputs/noise-$s/*.png; do
        wgvae restore -i $f -o OUT/vae/noise-$s/$(basename $f) --noise-sigma $(echo "$s/255" | bc -l) \
            --model photo-grey; done; done
    python tools/bm3d-pilot.py OUT 25

Prints one line per photo and the means, columns: the VAE alone, BM3D, BM3D's Wiener stage
with the VAE as pilot (W(vae)), the mean of those two, 0.7 BM3D + 0.3 W(vae), the mean of BM3D
and the VAE, the Wiener stage on that mean, on the mean of BM3D and W(vae), on BM3D's own
output (a second Wiener pass), then BM3D's first stage alone (hard thresholding, HT), the mean of
the VAE and HT, and the Wiener stage on that mean. Needs PyPI bm3d and Pillow; PSNR as tools/bm3d-photos.py.
"""

import glob
import os
import sys

import bm3d
import numpy as np
from PIL import Image


def read(path):
    return np.asarray(Image.open(path), dtype=np.float64) / 255.0


def psnr(clean, x):
    return 10 * np.log10(1 / np.mean((np.clip(x, 0, 1) - clean) ** 2))


def main():
    out, level = sys.argv[1], int(sys.argv[2])
    sigma = level / 255.0
    names = ["vae", "bm3d", "W(vae)", "avg(bm3d,W(vae))", ".7bm3d+.3W(vae)", "avg(bm3d,vae)",
             "W(avg(bm3d,vae))", "W(avg(bm3d,W(vae)))", "W(bm3d)", "ht", "avg(vae,ht)", "W(avg(vae,ht))"]
    rows = []
    for path in sorted(glob.glob(f"{out}/inputs/noise-{level}/*.png")):
        name = os.path.basename(path)
        clean = read(f"{out}/inputs/clean/{name}")
        noisy = read(path)
        vae = read(f"{out}/vae/noise-{level}/{name}")
        run = bm3d.bm3d if noisy.ndim == 2 else bm3d.bm3d_rgb

        def wiener(pilot):
            return run(noisy, sigma, stage_arg=pilot)

        full = run(noisy, sigma)
        wv = wiener(vae)
        outs = [vae, full, wv, (full + wv) / 2, 0.7 * full + 0.3 * wv, (full + vae) / 2,
                wiener((full + vae) / 2), wiener((full + wv) / 2), wiener(full)]
        ht = run(noisy, sigma, stage_arg=bm3d.BM3DStages.HARD_THRESHOLDING)
        outs += [ht, (vae + ht) / 2, wiener((vae + ht) / 2)]
        row = [psnr(clean, x) for x in outs]
        rows.append(row)
        print(name, " ".join(f"{v:.2f}" for v in row), flush=True)
    print("mean", " ".join(f"{n}={v:.2f}" for n, v in zip(names, np.mean(rows, axis=0))))


if __name__ == "__main__":
    main()
