#!/usr/bin/env python3
"""Checks a trace file written by `digit-recognizer trace` against the notebook's lines,
recomputed here in float64 with NumPy from the file's W{l}, b{l} and the CSV's own rows:

    Z1 = W1·X + b1, A1 = ReLU(Z1), ..., A_L = softmax(Z_L), loss = -mean log A_L[y]
    dZ_L = A_L - Y, dW = 1/m·dZ·A_prevᵀ, db = 1/m·Σ_examples dZ, dZ_prev = Wᵀ·dZ ⊙ ReLU′(Z_prev)
    dX = W1ᵀ·dZ1, W_next = W - α·dW, b_next = b - α·db

Usage:
    check_trace.py trace.safetensors --data train.csv[.gz] [--rows A..B]

--rows defaults to the file's `rows` metadata. Without --data (a trace of a picture), X and Y
are taken from the file and only the rest is recomputed. Prints, per tensor, the max relative
error max|file - numpy| / max|numpy| and exits 1 if any is above --tolerance (1e-4), or if a
tensor is missing or misshapen. Needs only NumPy (the safetensors format is parsed by hand:
an 8-byte little-endian header length, the JSON header, then the raw little-endian data).
"""

import argparse
import gzip
import json
import struct
import sys

import numpy as np


def load_safetensors(path):
    """The tensors (as float64 arrays) and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + length
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        values = np.frombuffer(raw[base + start : base + end], dtype="<f4")
        tensors[name] = values.reshape(info["shape"]).astype(np.float64)
    return tensors, metadata


def read_rows(path, start, end):
    """Labels (m,) and pixels (m, n) of data rows start..end (counted from 0 after the header)
    of a Kaggle-layout CSV: the label first, then the pixels."""
    opener = gzip.open if path.endswith(".gz") else open
    labels, pixels = [], []
    with opener(path, "rt") as f:
        row = 0
        for number, line in enumerate(f):
            fields = line.strip().split(",")
            if number == 0 and not fields[0].strip().strip('"').isdigit():
                continue  # the header
            if row >= end:
                break
            if row >= start:
                values = [int(float(v)) for v in fields]
                labels.append(values[0])
                pixels.append(values[1:])
            row += 1
    if row < end:
        sys.exit(f"{path} has only {row} data rows, rows {start}..{end} asked for")
    return np.array(labels), np.array(pixels, dtype=np.float64)


def notebook(tensors, X, Y, alpha):
    """Every quantity of the trace, from the notebook's formulas in float64."""
    layers = 0
    while f"W{layers + 1}" in tensors:
        layers += 1
    m = X.shape[1]
    out = {"X": X, "Y": Y}
    A = X
    Z_all, A_all = [], [X]
    for l in range(1, layers + 1):
        W, b = tensors[f"W{l}"], tensors[f"b{l}"]
        Z = W @ A + b
        if l < layers:
            A = np.maximum(Z, 0.0)
        else:
            shifted = Z - Z.max(axis=0, keepdims=True)
            A = np.exp(shifted) / np.exp(shifted).sum(axis=0, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
            out["loss"] = np.array([-(log_probs * Y).sum() / m])
        out[f"Z{l}"], out[f"A{l}"] = Z, A
        Z_all.append(Z)
        A_all.append(A)
    dZ = A_all[-1] - Y
    for l in range(layers, 0, -1):
        W, b = tensors[f"W{l}"], tensors[f"b{l}"]
        out[f"dZ{l}"] = dZ
        out[f"dW{l}"] = dZ @ A_all[l - 1].T / m
        out[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        out[f"W{l}"], out[f"b{l}"] = W, b
        out[f"W{l}_next"] = W - alpha * out[f"dW{l}"]
        out[f"b{l}_next"] = b - alpha * out[f"db{l}"]
        dA = W.T @ dZ
        if l > 1:
            dZ = dA * (Z_all[l - 2] > 0)
        else:
            out["dX"] = dA
    return out, layers


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace")
    parser.add_argument("--data", help="the CSV the rows came from (plain or .gz)")
    parser.add_argument("--rows", help="A..B; the file's metadata when omitted")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    tensors, metadata = load_safetensors(args.trace)
    if metadata.get("format") != "digit-recognizer-trace":
        sys.exit(f"{args.trace}: not a trace (format {metadata.get('format')!r})")
    alpha = float(np.float32(metadata["alpha"]))
    if args.data:
        rows = args.rows or metadata.get("rows")
        if not rows:
            sys.exit("--rows is needed: the file does not say which rows it traced")
        start, end = (int(v) for v in rows.split(".."))
        labels, pixels = read_rows(args.data, start, end)
        X = pixels.T / 255.0
        classes = tensors["Y"].shape[0]
        Y = np.zeros((classes, len(labels)))
        Y[labels, np.arange(len(labels))] = 1.0
        source = f"{args.data} rows {start}..{end}"
    else:
        X, Y = tensors["X"], tensors["Y"]
        source = "X and Y of the file"
    reference, layers = notebook(tensors, X, Y, alpha)

    print(f"{args.trace}: layers {metadata.get('layers')}, m = {X.shape[1]}, alpha {metadata['alpha']}; X, Y from {source}")
    print(f"{'tensor':<10} {'shape':>12}  max relative error")
    worst, failed = 0.0, []
    names = ["X", "Y"]
    for l in range(1, layers + 1):
        names += [f"{k}{l}" for k in ("W", "b", "Z", "A", "dZ", "dW", "db")] + [f"W{l}_next", f"b{l}_next"]
    names += ["loss", "dX"]
    for name in names:
        expected = reference[name]
        if name not in tensors:
            print(f"{name:<10} missing")
            failed.append(name)
            continue
        got = tensors[name]
        if got.shape != expected.shape:
            print(f"{name:<10} {str(got.shape):>12}  shape differs from the notebook's {expected.shape}")
            failed.append(name)
            continue
        scale = np.abs(expected).max()
        error = np.abs(got - expected).max() / scale if scale > 0 else np.abs(got).max()
        worst = max(worst, error)
        mark = "" if error <= args.tolerance else "  <-- above tolerance"
        if mark:
            failed.append(name)
        print(f"{name:<10} {'x'.join(map(str, got.shape)):>12}  {error:.2e}{mark}")
    extra = sorted(set(tensors) - set(names))
    if extra:
        print(f"unexpected tensors: {', '.join(extra)}")
    dZ1 = reference["dZ1"]
    print(f"(the notebook's db1 = 1/m·np.sum(dZ1) = {dZ1.sum() / dZ1.shape[1]:.6g}, one number for every unit)")
    print(f"worst {worst:.2e}; tolerance {args.tolerance:.0e}: {'FAIL ' + ', '.join(failed) if failed else 'ok'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
