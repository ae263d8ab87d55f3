#!/usr/bin/env bash
# One-step speed comparison: our `bench` command and, when their environment exists, the Python
# references (NumPy notebook, PyTorch CPU, pandas) on the same data in the same run, printed as
# one table with ratios and floors.
#
#   bench/run.sh [VENV] [DATA] [TEST]
#
# VENV  the references' virtualenv made by ../shared/bench/setup.sh (default: ../venv-bench
#       beside the project; the references are skipped when it is missing)
# DATA  train.csv or train.csv.gz (default: ../shared/data/train.csv.gz)
# TEST  test.csv(.gz), held in memory while training for the peak-memory figure
# QUICK=1 shortens every run (for a smoke test; the numbers are then not the reported ones).
# Equal terms (../shared/bench/ANCHORS.md): the references run on as many threads as ours (every
# core, THREADS=N to change it) and again on one thread each; the table compares only equal
# thread counts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=${1:-$ROOT/../venv-bench}
DATA=${2:-$ROOT/../shared/data/train.csv.gz}
TEST=${3:-$ROOT/../shared/data/test.csv.gz}
REF=${REF:-$ROOT/../shared/bench}
THREADS=${THREADS:-$(nproc)}
# BENCH_OUT=DIR keeps the raw JSON results there (re-print the table: bench/table.py DIR).
if [ -n "${BENCH_OUT:-}" ]; then
  OUT=$BENCH_OUT; mkdir -p "$OUT"
else
  OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
fi

cd "$ROOT"
cargo build --release --quiet
BIN=./target/release/digit-recognizer
quick=(); [ "${QUICK:-0}" = 1 ] && quick=(--quick)
echo "== ours ($THREADS threads, and 1 for the one-thread rows)" >&2
"$BIN" bench --data "$DATA" --test "$TEST" --json "${quick[@]}" > "$OUT/ours.json"

# Loading as a user sees it: the whole `inspect` process on the plain file, median of 5.
PLAIN=$OUT/train.csv
case "$DATA" in *.gz) gzip -dc "$DATA" > "$PLAIN" ;; *) cp "$DATA" "$PLAIN" ;; esac
python3 - "$BIN" "$PLAIN" > "$OUT/inspect.json" <<'PY'
import json, statistics, subprocess, sys, time
times = []
for _ in range(5):
    start = time.perf_counter()
    subprocess.run([sys.argv[1], "inspect", sys.argv[2]], check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - start)
print(json.dumps({"inspect_process_s": statistics.median(times), "runs": times}))
PY

PY="$VENV/bin/python"
if [ -x "$PY" ] && [ -d "$REF" ]; then
  iters=500; epochs=3; iters1=200; epochs1=2
  [ "${QUICK:-0}" = 1 ] && { iters=100; epochs=1; iters1=100; epochs1=1; }
  echo "== references: pandas (in a running Python, plain and .gz)" >&2
  "$PY" "$REF/load_pandas.py" --data "$DATA" --plain "$PLAIN" --skip-loadtxt --json > "$OUT/pandas.json"
  rm -f "$PLAIN"
  for n in "$THREADS" 1; do
    export OMP_NUM_THREADS=$n OPENBLAS_NUM_THREADS=$n MKL_NUM_THREADS=$n
    i=$iters; e=$epochs; [ "$n" = 1 ] && { i=$iters1; e=$epochs1; }
    echo "== references on $n thread(s): NumPy notebook (faithful, float64), $i iterations" >&2
    "$PY" "$REF/seed_numpy.py" --data "$DATA" --iterations "$i" --json > "$OUT/numpy-$n.json"
    if "$PY" -c "import torch" 2>/dev/null; then
      echo "== references on $n thread(s): PyTorch CPU tiny ($i iterations) and 784-512-256-10 ($e epochs)" >&2
      "$PY" "$REF/torch_mlp.py" --data "$DATA" --config tiny,strong2 --iterations "$i" --epochs "$e" \
        --threads "$n" --json > "$OUT/torch-$n.json"
    fi
  done
  export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
  echo "== references: GEMM rate ($THREADS threads) and I/O floors" >&2
  "$PY" "$REF/gemm_bound.py" --data "$DATA" --json > "$OUT/gemm.json"
else
  rm -f "$PLAIN"
  echo "no reference environment at $VENV: only our side is measured (make it with ../shared/bench/setup.sh)" >&2
fi
python3 "$ROOT/bench/table.py" "$OUT" "$THREADS"
