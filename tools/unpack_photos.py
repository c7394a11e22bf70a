#!/usr/bin/env python3
"""Unpacks the photos of tools/fetch-photos.sh from the two wheels into OUT/{train,test}/ as PNG,
with OUT/LICENSES.md. Standard library only: scikit-image's photos are PNG/JPEG files copied as
they are; PyWavelets' are .npy arrays inside .npz archives, read here and written as 8-bit PNG.

usage: unpack_photos.py SKIMAGE_WHEEL PYWT_WHEEL OUT
"""

import ast
import io
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

# name in the wheel -> (split, licence as the package's documentation states it)
SKIMAGE = {
    "astronaut.png": ("test", "NASA; no known copyright restrictions, public domain"),
    "coffee.png": ("test", "CC0 by the photographer (Rachel Michetti)"),
    "chelsea.png": ("test", "CC0 by the photographer (Stefan van der Walt)"),
    "motorcycle_left.png": (
        "test",
        "Middlebury 2014 stereo benchmark (Scharstein et al.); free to use and publish with "
        "citation of the benchmark paper",
    ),
    "camera.png": ("train", "CC0 by the photographer (Lav Varshney)"),
    "rocket.jpg": ("train", "SpaceX; released into the public domain"),
    "hubble_deep_field.jpg": ("train", "NASA; may be freely used in the public domain"),
    "motorcycle_right.png": (
        "train",
        "Middlebury 2014 stereo benchmark (Scharstein et al.); free to use and publish with "
        "citation of the benchmark paper",
    ),
    "coins.png": ("train", "no known copyright restrictions"),
    "moon.png": ("train", "distributed with scikit-image (BSD-3-Clause); no restriction stated"),
    "brick.png": ("train", "CC0Textures Bricks25, CC0"),
    "grass.png": ("train", "CC0Textures, CC0"),
    "gravel.png": ("train", "CC0Textures Gravel04, CC0"),
    "retina.jpg": ("train", "CC0 1.0 Universal Public Domain Dedication"),
    "cell.png": ("train", "CC0, dedicated to the public domain"),
    "ihc.png": ("train", "no known copyright restrictions"),
}
PYWT = {
    "aero.npz": ("train", "distributed with PyWavelets (MIT); no restriction stated"),
    "ascent.npz": ("train", "distributed with PyWavelets and SciPy (BSD); no restriction stated"),
}


def read_npy(data: bytes):
    """The (shape, dtype, bytes) of one .npy file (C order only)."""
    if data[:6] != b"\x93NUMPY":
        raise ValueError("not an .npy file")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (hlen,) = struct.unpack("<I", data[8:12])
        start = 12
    header = ast.literal_eval(data[start : start + hlen].decode("latin1"))
    if header["fortran_order"]:
        raise ValueError("Fortran-ordered arrays are not handled")
    return header["shape"], header["descr"], data[start + hlen :]


def to_u8(shape, descr, raw):
    """Row-major 8-bit samples of a grey (H, W) or colour (H, W, 3) array."""
    n = 1
    for s in shape:
        n *= s
    if descr in ("|u1", "<u1"):
        values = raw[:n]
        return bytes(values)
    fmt = {"<i8": "q", "<i4": "i", "<u2": "H", "<f8": "d", "<f4": "f"}.get(descr)
    if fmt is None:
        raise ValueError(f"dtype {descr} is not handled")
    values = struct.unpack(f"<{n}{fmt}", raw[: n * struct.calcsize(fmt)])
    return bytes(max(0, min(255, int(round(v)))) for v in values)


def png(width, height, channels, pixels: bytes) -> bytes:
    """An 8-bit grey or RGB PNG, no filtering."""
    def chunk(kind, body):
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    colour = {1: 0, 3: 2}[channels]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    stride = width * channels
    rows = b"".join(b"\x00" + pixels[y * stride : (y + 1) * stride] for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def main():
    skimage_wheel, pywt_wheel, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if out.exists():
        shutil.rmtree(out)
    for split in ("train", "test"):
        (out / split).mkdir(parents=True)
    lines = [
        "# Photos in data/photos",
        "",
        "Unpacked by tools/fetch-photos.sh from scikit-image 0.24.0 and PyWavelets 1.7.0. Licences",
        "as each package documents its images (skimage/data/_fetchers.py docstrings):",
        "",
        "| file | split | source | licence |",
        "|---|---|---|---|",
    ]
    with zipfile.ZipFile(skimage_wheel) as z:
        for name, (split, licence) in SKIMAGE.items():
            data = z.read(f"skimage/data/{name}")
            (out / split / name).write_bytes(data)
            lines.append(f"| {name} | {split} | scikit-image | {licence} |")
    with zipfile.ZipFile(pywt_wheel) as z:
        for name, (split, licence) in PYWT.items():
            with zipfile.ZipFile(io.BytesIO(z.read(f"pywt/data/{name}"))) as arrays:
                member = arrays.namelist()[0]
                shape, descr, raw = read_npy(arrays.read(member))
            channels = 3 if len(shape) == 3 else 1
            height, width = shape[0], shape[1]
            file = name.replace(".npz", ".png")
            (out / split / file).write_bytes(png(width, height, channels, to_u8(shape, descr, raw)))
            lines.append(f"| {file} | {split} | PyWavelets | {licence} |")
    (out / "LICENSES.md").write_text("\n".join(lines) + "\n")
    counts = {s: len(list((out / s).iterdir())) for s in ("train", "test")}
    print(f"wrote {counts['train']} training and {counts['test']} test photos to {out}")


if __name__ == "__main__":
    main()
