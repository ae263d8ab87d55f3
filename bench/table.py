#!/usr/bin/env python3
"""Prints bench/run.sh's table from the JSON files in the folder given.

    bench/table.py DIR [THREADS]

Every ratio compares equal thread counts: ours on THREADS threads against the references on
THREADS threads, and ours on one thread against the references on one thread
(../shared/bench/ANCHORS.md). A ratio above 1 means ours is faster.
"""
import json, os, platform, sys

out = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()


def load(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    return [json.loads(line) for line in open(path) if line.strip().startswith("{")]


def first(name):
    return (load(name) or [{}])[0]


ours = first("ours.json")
inspect = first("inspect.json")
pandas = first("pandas.json")
numpy = {n: first(f"numpy-{n}.json") for n in (threads, 1)}
torch = {n: {r.get("config"): r for r in load(f"torch-{n}.json")} for n in (threads, 1)}
gemm = first("gemm.json")


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


def row(measure, mine, ref_name="", ref=None, mine1=None, ref1=None, floor=None, target=""):
    rows.append((measure, fmt(mine), ref_name, fmt(ref), ratio(ref, mine), fmt(mine1), fmt(ref1), ratio(ref1, mine1),
                 fmt(floor), target))


# Loading: single-threaded on the reference side (pandas' C parser), so one column.
row("load train.csv, whole `inspect` process (s)", inspect.get("inspect_process_s"),
    "pandas.read_csv in a running Python", get(pandas, "pandas_read_csv_plain", "median_s"),
    floor=get(gemm, "io", "cat_plain_s"), target=">= 10x")
row("  load train.csv in-process (s)", ours.get("load_plain_s"), "pandas.read_csv",
    get(pandas, "pandas_read_csv_plain", "median_s"))
row("load train.csv.gz in-process (s)", ours.get("load_gz_s"), "pandas.read_csv",
    get(pandas, "pandas_read_csv_gz", "median_s"), floor=ours.get("gunzip_s"), target="<= 1.5x floor")

seed, seed1 = get(ours, "seed", "s_per_iter"), get(ours, "seed_one_thread", "s_per_iter")
row("seed 784-10-10: s per full-batch iteration", seed, "NumPy notebook (f64)",
    numpy[threads].get("median_seconds_per_iteration"), seed1, numpy[1].get("median_seconds_per_iteration"),
    get(gemm, "epoch", "784-10-10", "x_stream_floor_s_f32"), ">= 6x")
row("  same", seed, "PyTorch CPU", get(torch[threads], "tiny", "median_seconds_per_step"), seed1,
    get(torch[1], "tiny", "median_seconds_per_step"), target=">= 6x")
row("  dev accuracy", get(ours, "seed", "dev_accuracy"), "NumPy notebook", numpy[threads].get("dev_accuracy"),
    target="same")
row("  choice: dense first layer (s/iter)", get(ours, "seed_dense_first_layer", "s_per_iter"))

big, big1 = get(ours, "strong2", "s_per_epoch"), get(ours, "strong2_one_thread", "s_per_epoch")
gflops = get(gemm, "gemm", "square_2048 float32", "gflops")
gflop = get(ours, "floor", "strong2_epoch_gflop")
floor = gflop / gflops if gflop and gflops else None
row("784-512-256-10 Adam b128: s/epoch", big, "PyTorch CPU", get(torch[threads], "strong2", "median_seconds_per_step"),
    big1, get(torch[1], "strong2", "median_seconds_per_step"), floor, ">= 1.5x; <= 1.3x floor")
lo, hi = get(ours, "strong2", "min_s"), get(ours, "strong2", "max_s")
spread = (hi - lo) / lo if lo and hi else None
rows.append((f"  spread over {get(ours, 'strong2', 'epochs')} epochs (max/min - 1)", fmt(spread, 3), "", "-", "-", "-",
             "-", "-", "-", "< 0.10"))
rows.append(("  ours / floor", fmt(big / floor if big and floor else None, 2), "", "-", "-", "-", "-", "-", "-",
             "<= 1.3"))
row("  dev accuracy", get(ours, "strong2", "dev_accuracy"), "PyTorch CPU",
    get(torch[threads], "strong2", "dev_accuracy"))
row("  choice: dense first layer (s/epoch)", get(ours, "strong2_dense_first_layer", "s_per_epoch"))
row("  GEMM GFLOP/s (ours, 1 thread: own AVX-512 kernel, or matrixmultiply on AVX2)", None, f"NumPy/OpenBLAS 2048^3, {threads} threads", gflops,
    get(ours, "floor", "gemm_gflops_1thread"))
row("best preset: seconds to train", get(ours, "best", "train_s"), target="<= 30")
row(f"best preset: accuracy on {get(ours, 'best', 'held_out_rows') or 5000} held-out rows",
    get(ours, "best", "held_out_accuracy"), target=">= 0.990")
for key, what in [("checkpoints_seed", "seed, 500 iterations"), ("checkpoints_best", "best, 30 epochs")]:
    if key in ours:
        c = ours[key]
        rows.append((f"checkpoints' cost, {what}: {c['kept']} kept (with / without - 1, median of {c['runs_each']} each)",
                     f"{c['overhead']:+.1%}", "", "-", "-", "-", "-", "-", "-", "<= 3%"))
row("peak RSS, train+test loaded, training (MB)", ours.get("peak_rss_mb"), target="< 300")

print(f"machine: {platform.node()}, {os.cpu_count()} cores; equal threads: ours and references on {threads}, "
      f"then on 1 (ours used {ours.get('threads')} by default)")
print(f"| measure | ours, {threads} thr | reference | reference, {threads} thr | ratio | ours, 1 thr | "
      "reference, 1 thr | ratio | floor | target |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
