#!/usr/bin/env bash
# Teaching the embedded model other people's handwriting: the numbers in docs/performance.md's
# "Fine-tuning on other writers". For each pick of 10 pictures per digit from the UCI handwritten digits
# (43 writers who are not MNIST's; bench/other_writers.py writes them as PNGs), fine-tune the
# embedded model with the app's defaults, replaying the full train.csv, and measure:
# - the other writers' held-out pictures (1,697), before and after;
# - MNIST on the 5,000 rows the embedded model never saw (the embedded sample; `finetune
#   --dev-size 5000` with split seed 0 holds out exactly those rows from the replay);
# - the time of `finetune` (both runs: the measured one and the refit).
# Then the same pick again, to check that the saved model is identical (deterministic).
#
#   bench/finetune.sh [VENV] [TRAIN] [PICKS]
#
# VENV   a Python with scikit-learn (default: ../venv-bench, made by ../shared/bench/setup.sh)
# TRAIN  the full train.csv(.gz) (default: ../shared/data/train.csv.gz)
# PICKS  how many different picks of 10 per digit (default 3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=${1:-$ROOT/../venv-bench}
TRAIN=${2:-$ROOT/../shared/data/train.csv.gz}
PICKS=${3:-3}
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
cd "$ROOT"
cargo build --release --quiet
BIN=./target/release/digit-recognizer
MNIST=assets/sample_train.csv.gz
accuracy() { "$BIN" eval "$@" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])'; }
echo "| pick | other writers before | after | MNIST (5,000 unseen) before | after | fine-tune s |"
echo "| --- | --- | --- | --- | --- | --- |"
for pick in $(seq 0 $((PICKS - 1))); do
  dir=$OUT/pick$pick
  "$VENV/bin/python" bench/other_writers.py "$dir" --per-digit 10 --seed "$pick" > /dev/null
  "$BIN" import-images "$dir/tune.csv" --out "$dir/tune_digits.csv" 2> /dev/null
  "$BIN" import-images "$dir/held_out.csv" --out "$dir/held_digits.csv" 2> /dev/null
  start=$(date +%s.%N)
  "$BIN" finetune --data "$dir/tune_digits.csv" --replay "$TRAIN" --dev-size 5000 \
    --out "$dir/tuned.safetensors" --json > "$dir/report.json"
  end=$(date +%s.%N)
  before=$(accuracy --data "$dir/held_digits.csv")
  after=$(accuracy --model "$dir/tuned.safetensors" --data "$dir/held_digits.csv")
  mnist_before=$(accuracy --data "$MNIST")
  mnist_after=$(accuracy --model "$dir/tuned.safetensors" --data "$MNIST")
  seconds=$(python3 -c "import json; print(round(json.load(open('$dir/report.json'))['report']['seconds'], 1))")
  wall=$(python3 -c "print(round($end - $start, 1))")
  printf '| %s | %.4f | %.4f | %.4f | %.4f | %s (process %s) |\n' "$pick" "$before" "$after" "$mnist_before" "$mnist_after" "$seconds" "$wall"
done
"$BIN" finetune --data "$OUT/pick0/tune_digits.csv" --replay "$TRAIN" --dev-size 5000 \
  --out "$OUT/again.safetensors" --json > /dev/null
# The files' metadata is a JSON map whose key order varies; the tensors must be identical.
if python3 - "$OUT/pick0/tuned.safetensors" "$OUT/again.safetensors" <<'PY'
import json, struct, sys
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    return header, raw[8 + n:]
sys.exit(0 if tensors(sys.argv[1]) == tensors(sys.argv[2]) else 1)
PY
then
  echo "deterministic: pick 0 fine-tuned twice gives identical tensors"
else
  echo "NOT deterministic: pick 0 fine-tuned twice gives different tensors"; exit 1
fi
