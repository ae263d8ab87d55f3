#!/usr/bin/env python3
"""Writes handwriting from writers outside MNIST as pictures plus a `file,label` CSV, the input
of `digit-recognizer import-images`.

The set is scikit-learn's bundled copy of the UCI "Optical Recognition of Handwritten Digits"
data (1,797 digits by 43 people, none of them MNIST's writers, 8x8 pixels of 0-16): it ships
inside scikit-learn, so it works offline. Each digit is written as a 64x64 grey PNG (white ink on
black, upscaled bilinearly) so that our preprocessing crops, scales and centres it exactly as it
does any picture a user imports.

    other_writers.py OUT_DIR [--per-digit 10] [--seed 0]

writes OUT_DIR/images/*.png, OUT_DIR/tune.csv (PER_DIGIT pictures of each digit, to fine-tune
on) and OUT_DIR/held_out.csv (all the others, to measure on), both with the header `file,label`
and paths relative to OUT_DIR.
"""
import argparse
import os
import struct
import zlib

import numpy as np
from sklearn.datasets import load_digits


def png_gray(path, pixels):
    """A minimal 8-bit greyscale PNG, so no imaging library is needed."""
    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].astype(np.uint8).tobytes() for y in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def upscale(image, factor=8):
    """Bilinear upscaling of a small image (pixel centres aligned), values kept in 0-255."""
    h, w = image.shape
    ys = (np.arange(h * factor) + 0.5) / factor - 0.5
    xs = (np.arange(w * factor) + 0.5) / factor - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1)
    y1 = np.clip(y0 + 1, 0, h - 1)
    x1 = np.clip(x0 + 1, 0, w - 1)
    fy = np.clip(ys - y0, 0, 1)[:, None]
    fx = np.clip(xs - x0, 0, 1)[None, :]
    top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
    bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--per-digit", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    digits = load_digits()
    os.makedirs(os.path.join(args.out, "images"), exist_ok=True)
    rng = np.random.RandomState(args.seed)
    order = rng.permutation(len(digits.target))
    taken = {d: 0 for d in range(10)}
    tune, held = [], []
    for i in order:
        label = int(digits.target[i])
        name = f"images/{i:04d}.png"
        png_gray(os.path.join(args.out, name), np.clip(upscale(digits.images[i] * 255.0 / 16.0), 0, 255))
        if taken[label] < args.per_digit:
            taken[label] += 1
            tune.append((name, label))
        else:
            held.append((name, label))
    for file, rows in (("tune.csv", tune), ("held_out.csv", held)):
        with open(os.path.join(args.out, file), "w") as f:
            f.write("file,label\n")
            f.writelines(f"{name},{label}\n" for name, label in rows)
    print(f"{len(tune)} pictures to fine-tune on, {len(held)} held out, in {args.out}")


if __name__ == "__main__":
    main()
