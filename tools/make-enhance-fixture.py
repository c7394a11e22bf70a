#!/usr/bin/env python3
"""Writes tests/data/enhance-pillow.txt: Pillow's ImageEnhance outputs that tests/enhance.rs
compares `wgvae enhance` with (every pixel within one 8-bit level).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pillow==12.0.0
    /tmp/venv/bin/python tools/make-enhance-fixture.py

Pinned: Pillow 12.0.0 (ImageEnhance and Image.blend have not changed in years; the script
refuses another version so the fixture says which one wrote it).

The input pictures come from integer formulas that tests/enhance.rs repeats (`formula_picture`);
the file stores them too, and the test checks that both agree. Lines:

    input NAME MODE WIDTH HEIGHT HEX       Pillow's tobytes(): row-major, RGB interleaved
    output NAME OPS HEX                    OPS like brightness=0.5 or
                                           brightness=1.3,contrast=0.5,color=2.0 (in that order)
"""

import sys
from pathlib import Path

import PIL
from PIL import Image, ImageEnhance

PILLOW = "12.0.0"
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "enhance-pillow.txt"


def value(name, x, y, c):
    """The formulas of tests/enhance.rs::formula_value."""
    if name == "rgb":
        return [
            (37 * x + 11 * y + 5) % 256,
            (3 * x * x + 19 * y + 60) % 256,
            (7 * x * y + 23 * y + 101) % 256,
        ][c]
    if name == "grey":
        return (5 * x * x + 3 * y * y + x * y + 9) % 256
    if name == "dim":
        return [
            40 + (7 * x + 3 * y) % 50,
            30 + (x * x + 5 * y) % 40,
            60 + (3 * x * y) % 30,
        ][c]
    raise ValueError(name)


PICTURES = [("rgb", "RGB", 17, 13), ("grey", "L", 15, 11), ("dim", "RGB", 11, 7)]
ENHANCERS = {
    "brightness": ImageEnhance.Brightness,
    "contrast": ImageEnhance.Contrast,
    "color": ImageEnhance.Color,
}
SINGLE = [0.0, 0.5, 1.3, 2.0]
CHAINS = [
    [("brightness", 1.3), ("contrast", 0.5), ("color", 2.0)],
    [("brightness", 0.8), ("contrast", 1.6), ("color", 0.4)],
]


def picture(name, mode, w, h):
    channels = 3 if mode == "RGB" else 1
    raw = bytes(
        value(name, x, y, c) for y in range(h) for x in range(w) for c in range(channels)
    )
    return Image.frombytes(mode, (w, h), raw)


def main():
    if PIL.__version__ != PILLOW:
        sys.exit(f"this fixture is pinned to Pillow {PILLOW}; found {PIL.__version__}")
    lines = [
        f"# Written by tools/make-enhance-fixture.py with Pillow {PILLOW}; do not edit.",
        "# input NAME MODE WIDTH HEIGHT HEX | output NAME OPS HEX (tobytes(), RGB interleaved)",
    ]
    for name, mode, w, h in PICTURES:
        img = picture(name, mode, w, h)
        lines.append(f"input {name} {mode} {w} {h} {img.tobytes().hex()}")
        cases = [[(op, f)] for op in ENHANCERS for f in SINGLE] + CHAINS
        for ops in cases:
            out = img
            for op, factor in ops:
                out = ENHANCERS[op](out).enhance(factor)
            spec = ",".join(f"{op}={factor}" for op, factor in ops)
            lines.append(f"output {name} {spec} {out.tobytes().hex()}")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
