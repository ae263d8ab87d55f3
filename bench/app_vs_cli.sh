#!/usr/bin/env bash
# Training throughput in the app against the command line: the `seed` preset (500 full-batch
# steps, dev evaluated every 10) on the same data, alternating CLI and app runs. The app runs in
# a real window under Xvfb with software OpenGL (../shared/tools/gui.sh), repainting as it does
# for a user; its time is the one it logs when a run finishes ("training: finished 500 steps ...
# [X s]"), measured by the trainer itself exactly as the CLI's train_seconds.
#
#   bench/app_vs_cli.sh [DATA] [RUNS]
#
# TRAIN_X/TRAIN_Y: where the Train button is (default: its place in the app's first window).
# TAB=samples opens the Samples tab first, so the app also predicts the dev set for every
# snapshot of the run (every 0.5 s) as a user watching the grid sees it; TAB_X/TAB_Y: where.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA=${1:-$ROOT/../shared/data/train.csv.gz}
RUNS=${2:-3}
G="$ROOT/../shared/tools/gui.sh"
export GUI_STATE=${GUI_STATE:-$(mktemp -d)}
TRAIN_X=${TRAIN_X:-30}
TRAIN_Y=${TRAIN_Y:-503}
cd "$ROOT"
cargo build --release --quiet
BIN=./target/release/digit-recognizer
trap '"$G" stop >/dev/null 2>&1 || true' EXIT

# A fresh settings folder: the app opens on its defaults (the `seed` preset), not on whatever
# was set in it last.
mkdir -p "$GUI_STATE/home"
HOME="$GUI_STATE/home" "$G" start "$BIN" --train "$DATA" >/dev/null
sleep 4 # loading takes well under a second
if [ "${TAB:-training}" = samples ]; then
  "$G" click "${TAB_X:-179}" "${TAB_Y:-12}" >/dev/null
fi
cli=(); app=()
for run in $(seq "$RUNS"); do
  s=$("$BIN" train --data "$DATA" --preset seed --out "$GUI_STATE/cli.safetensors" --json 2>/dev/null |
      python3 -c 'import json,sys; print(round(json.load(sys.stdin)["train_seconds"], 3))')
  cli+=("$s")
  before=$(grep -c '^training: finished' "$GUI_STATE/app.log" || true)
  "$G" click "$TRAIN_X" "$TRAIN_Y" >/dev/null
  for _ in $(seq 600); do
    now=$(grep -c '^training: finished' "$GUI_STATE/app.log" || true)
    [ "$now" -gt "$before" ] && break
    sleep 0.2
  done
  line=$(grep '^training: finished' "$GUI_STATE/app.log" | tail -n1)
  case "$line" in
    *"(784-10-10 gd full a=0.1)"*) ;;
    *) echo "the app did not train the seed preset: $line" >&2; exit 1 ;;
  esac
  a=$(echo "$line" | sed -E 's/.*\[([0-9.]+) s\]$/\1/')
  app+=("$a")
  echo "run $run: cli ${s} s, app ${a} s" >&2
done
python3 - "${cli[*]}" "${app[*]}" <<'PY'
import statistics, sys
cli = [float(x) for x in sys.argv[1].split()]
app = [float(x) for x in sys.argv[2].split()]
c, a = statistics.median(cli), statistics.median(app)
print(f"seed, 500 steps: CLI median {c:.2f} s {cli}, app median {a:.2f} s {app}: app/CLI {a / c:.3f}")
PY
