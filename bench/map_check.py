"""Checks a class map written by `digit-recognizer map` against NumPy: the model's forward pass
and the PCA are computed here independently (float64, SVD of the centred activations), and the
map's x, y are compared up to each axis's sign.

    python bench/map_check.py MODEL.safetensors DATA.csv A..B LAYER MAP.csv

LAYER is as given to `map --layer` (1 = first hidden layer, or `output`). Prints one JSON line
with the largest differences; exits 1 when a coordinate differs by more than 1e-3 of the map's
extent, or a prediction differs.
"""

import json
import struct
import sys

import numpy as np


def load_model(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    body = raw[8 + length :]

    def tensor(name):
        t = header[name]
        assert t["dtype"] == "F32", t
        start, end = t["data_offsets"]
        return np.frombuffer(body[start:end], dtype="<f4").reshape(t["shape"]).astype(np.float64)

    layers = []
    i = 1
    while f"W{i}" in header:
        # Stored as the notebook's (outputs, inputs).
        layers.append((tensor(f"W{i}"), tensor(f"b{i}")))
        i += 1
    return layers


def main():
    model_path, data_path, rows, layer, map_path = sys.argv[1:6]
    start, end = (int(v) for v in rows.split(".."))
    layers = load_model(model_path)
    data = np.loadtxt(data_path, delimiter=",", skiprows=1, dtype=np.float64)
    data = data[start:end]
    inputs = layers[0][0].shape[1]
    labelled = data.shape[1] == inputs + 1
    x = data[:, 1:] if labelled else data
    a = x / 255.0
    hidden = len(layers) - 1
    wanted = hidden if layer == "output" else int(layer) - 1
    acts = None
    for i, (w, b) in enumerate(layers):
        z = a @ w.T + b
        if i < hidden:
            a = np.maximum(z, 0.0)
        else:
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            a = e / e.sum(axis=1, keepdims=True)
        if i == wanted:
            acts = a
    probs = a
    centred = acts - acts.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    # The map's sign convention: each axis's largest-magnitude entry is positive.
    for k in range(axes.shape[0]):
        if axes[k, np.argmax(np.abs(axes[k]))] < 0:
            axes[k] = -axes[k]
    expected = centred @ axes.T

    got = np.genfromtxt(map_path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    xy = np.stack([got["x"].astype(np.float64), got["y"].astype(np.float64)], axis=1)
    assert (got["row"] == np.arange(start, end)).all(), "rows"
    extent = np.abs(expected).max()
    same = np.abs(xy - expected).max(axis=0)
    flipped = np.abs(xy + expected).max(axis=0)
    diff_up_to_sign = np.minimum(same, flipped)
    predictions_differ = int((got["predicted"] != probs.argmax(axis=1)).sum())
    result = {
        "rows": int(end - start),
        "width": int(acts.shape[1]),
        "extent": float(extent),
        "max_abs_diff_up_to_sign": [float(d) for d in diff_up_to_sign],
        "max_abs_diff_same_sign": [float(d) for d in same],
        "relative": float(diff_up_to_sign.max() / max(extent, 1e-12)),
        "predictions_differ": predictions_differ,
    }
    print(json.dumps(result))
    ok = result["relative"] <= 1e-3 and predictions_differ == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
