#!/usr/bin/env python3
"""Prints bench/run.sh's table from the JSON files in the folder given."""
import json, os, platform, sys

out = sys.argv[1]

def load(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    rows = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows

ours = load("ours.json")[0]
pandas = (load("pandas.json") or [{}])[0]
numpy = (load("numpy.json") or [{}])[0]
torch = {r.get("config"): r for r in load("torch.json")}
gemm = (load("gemm.json") or [{}])[0]

def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d

def fmt(v, digits=4):
    return "-" if v is None else f"{v:.{digits}f}"

def ratio(ref, mine):
    return "-" if ref is None or mine is None or mine == 0 else f"{ref / mine:.1f}x"

rows = []
def row(measure, mine, ref_name, ref, floor=None, target=""):
    rows.append((measure, fmt(mine), ref_name, fmt(ref), ratio(ref, mine), fmt(floor), target))

gz = get(gemm, "io", "gzip_dc_s")
row("load train.csv (s)", ours.get("load_plain_s"), "pandas.read_csv", get(pandas, "pandas_read_csv_plain", "median_s"),
    get(gemm, "io", "cat_plain_s"), ">= 10x")
row("load train.csv.gz (s)", ours.get("load_gz_s"), "pandas.read_csv", get(pandas, "pandas_read_csv_gz", "median_s"),
    ours.get("gunzip_s"), "<= 1.5x floor")
row("  gzip decompression alone (s)", ours.get("gunzip_s"), "gzip -dc", gz, None, "")
gz_over_floor = None
if ours.get("load_gz_s") and ours.get("gunzip_s"):
    gz_over_floor = ours["load_gz_s"] / ours["gunzip_s"]
rows.append(("  load .gz / decompression alone", fmt(gz_over_floor, 2), "", "-", "-", "-", "<= 1.5"))
seed_ref = numpy.get("median_seconds_per_iteration")
row("seed 784-10-10: s per full-batch iteration", get(ours, "seed", "s_per_iter"), "NumPy notebook (f64)", seed_ref,
    get(gemm, "epoch", "784-10-10", "x_stream_floor_s_f32"), ">= 8x")
row("  same", get(ours, "seed", "s_per_iter"), "PyTorch CPU", get(torch, "tiny", "median_seconds_per_step"), None, ">= 5x")
row("  dev accuracy", get(ours, "seed", "dev_accuracy"), "NumPy notebook", numpy.get("dev_accuracy"), None, "same")
row("  choice: dense first layer (s/iter)", get(ours, "seed_dense_first_layer", "s_per_iter"), "", None)
row("  choice: one thread (s/iter)", get(ours, "seed_one_thread", "s_per_iter"), "", None)
floor = get(ours, "floor", "strong2_floor_s_1thread")
row("784-512-256-10 Adam b128: s/epoch", get(ours, "strong2", "s_per_epoch"), "PyTorch CPU",
    get(torch, "strong2", "median_seconds_per_step"), floor, "faster; <= 1.5x floor")
row("  dev accuracy", get(ours, "strong2", "dev_accuracy"), "PyTorch CPU", get(torch, "strong2", "dev_accuracy"))
row("  one thread: s/epoch", get(ours, "strong2_one_thread", "s_per_epoch"), "", None)
row("  GEMM GFLOP/s, 1 thread", get(ours, "floor", "gemm_gflops_1thread"), "NumPy/OpenBLAS 2048^3",
    get(gemm, "gemm", "square_2048 float32", "gflops"))
row("best preset: seconds to train", get(ours, "best", "train_s"), "", None, None, "< 60")
row("best preset: dev accuracy", get(ours, "best", "dev_accuracy"), "", None, None, ">= 0.983")
row("peak RSS, train+test loaded, training (MB)", ours.get("peak_rss_mb"), "", None, None, "< 300")

print(f"machine: {platform.node()}, {os.cpu_count()} cores; ours uses {ours.get('threads')} threads, references 1")
print("| measure | ours | reference | reference value | reference / ours | floor | target |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
