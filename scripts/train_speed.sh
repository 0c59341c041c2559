#!/usr/bin/env bash
# Training speed on this machine: steps/s and peak memory of `mlsearch train` at one
# batch size, for a few frozen-layer counts and with the teacher anchor, on the mixed
# training data (`train prepare mix`). Each run is STEPS optimiser steps (the first one
# is part of it). Usage: scripts/train_speed.sh [BATCH] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
BATCH=${1:-16}
STEPS=${2:-6}
BIN=target/release/mlsearch
OUT=target/train-speed
mkdir -p "$OUT"
[ -f "$OUT/mix/train.jsonl" ] || "$BIN" train prepare mix --data "${MLSEARCH_DATA:-../shared/data}" --sources ntrex,flores,tico,mgsm,qa --out "$OUT/mix" >/dev/null 2>&1
echo "| frozen layers | teacher weight | batch | steps/s | s/step | peak RSS, MB |"
echo "|---|---|---|---|---|---|"
for setting in "0 0" "6 0" "9 0" "9 1"; do
  set -- $setting
  rm -rf "$OUT/run"
  /usr/bin/time -f "%M" -o "$OUT/rss" "$BIN" train --train "$OUT/mix/train.jsonl" -o "$OUT/run/model.gguf" \
    --checkpoints "$OUT/run" --steps "$STEPS" --warmup 1 --batch-size "$BATCH" --validate-every 0 \
    --checkpoint-every 1000 --frozen-layers "$1" --teacher-weight "$2" --seed 7 2> "$OUT/log" >/dev/null
  rate=$(grep -o '[0-9.]* steps/s' "$OUT/log" | tail -1 | cut -d' ' -f1)
  echo "| $1 | $2 | $BATCH | $rate | $(python3 -c "print(f'{1/$rate:.2f}')") | $(( $(cat "$OUT/rss") / 1024 )) |"
done
