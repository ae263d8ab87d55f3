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
# The references run with 1 thread (ANCHORS.md: on this shared 2-core machine 1 thread is their
# dependable setting); ours uses both cores, and its one-thread numbers are in the table too.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=${1:-$ROOT/../venv-bench}
DATA=${2:-$ROOT/../shared/data/train.csv.gz}
TEST=${3:-$ROOT/../shared/data/test.csv.gz}
REF=${REF:-$ROOT/../shared/bench}
# BENCH_OUT=DIR keeps the raw JSON results there (re-print the table: bench/table.py DIR).
if [ -n "${BENCH_OUT:-}" ]; then
  OUT=$BENCH_OUT; mkdir -p "$OUT"
else
  OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
fi

cd "$ROOT"
cargo build --release --quiet
quick=(); [ "${QUICK:-0}" = 1 ] && quick=(--quick)
echo "== ours" >&2
./target/release/digit-recognizer bench --data "$DATA" --test "$TEST" --json "${quick[@]}" > "$OUT/ours.json"

PY="$VENV/bin/python"
if [ -x "$PY" ] && [ -d "$REF" ]; then
  export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
  iters=500; epochs=3
  [ "${QUICK:-0}" = 1 ] && { iters=100; epochs=1; }
  echo "== references: pandas" >&2
  "$PY" "$REF/load_pandas.py" --data "$DATA" --skip-loadtxt --json > "$OUT/pandas.json"
  echo "== references: NumPy notebook (faithful, float64), $iters iterations" >&2
  "$PY" "$REF/seed_numpy.py" --data "$DATA" --iterations "$iters" --json > "$OUT/numpy.json"
  if "$PY" -c "import torch" 2>/dev/null; then
    echo "== references: PyTorch CPU tiny ($iters iterations) and 784-512-256-10 ($epochs epochs)" >&2
    "$PY" "$REF/torch_mlp.py" --data "$DATA" --config tiny,strong2 --iterations "$iters" --epochs "$epochs" \
      --threads 1 --json > "$OUT/torch.json"
  fi
  echo "== references: GEMM rate and I/O floors" >&2
  "$PY" "$REF/gemm_bound.py" --data "$DATA" --json > "$OUT/gemm.json"
else
  echo "no reference environment at $VENV: only our side is measured (make it with ../shared/bench/setup.sh)" >&2
fi
python3 "$ROOT/bench/table.py" "$OUT"
