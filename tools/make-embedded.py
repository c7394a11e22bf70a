#!/usr/bin/env python3
"""Regenerates data/embedded/: the MNIST subset compiled into the binary (src/data/embedded.rs).

The subset is the first 10000 training and the first 2000 test images and labels of MNIST,
written as gzipped IDX files. gzip runs with mtime=0 and no file name, so the output is
byte-for-byte reproducible from the same input.

Usage: tools/fetch-mnist.sh && tools/make-embedded.py [MNIST_DIR]
(MNIST_DIR defaults to data/mnist under the repository root.)
"""

import gzip
import os
import struct
import sys

TRAIN = 10000
TEST = 2000

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write_gz(path, data):
    # GzipFile with filename="" and mtime=0: no name or time in the header, reproducible bytes.
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(data)


def subset_images(src, n):
    data = read(src)
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x803 or count < n or len(data) != 16 + count * rows * cols:
        sys.exit(f"{src}: not a full IDX image file with at least {n} images")
    return struct.pack(">IIII", magic, n, rows, cols) + data[16 : 16 + n * rows * cols]


def subset_labels(src, n):
    data = read(src)
    magic, count = struct.unpack(">II", data[:8])
    if magic != 0x801 or count < n or len(data) != 8 + count:
        sys.exit(f"{src}: not a full IDX label file with at least {n} labels")
    return struct.pack(">II", magic, n) + data[8 : 8 + n]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "data", "mnist")
    dst = os.path.join(ROOT, "data", "embedded")
    os.makedirs(dst, exist_ok=True)
    for prefix, n in (("train", TRAIN), ("t10k", TEST)):
        imgs = subset_images(os.path.join(src, f"{prefix}-images-idx3-ubyte"), n)
        labs = subset_labels(os.path.join(src, f"{prefix}-labels-idx1-ubyte"), n)
        write_gz(os.path.join(dst, f"{prefix}-images-idx3-ubyte.gz"), imgs)
        write_gz(os.path.join(dst, f"{prefix}-labels-idx1-ubyte.gz"), labs)
        print(f"{prefix}: {n} images and labels written to {dst}")


if __name__ == "__main__":
    main()
