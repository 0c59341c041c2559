#!/usr/bin/env bash
# Issue 12's comparison from one base, one data mix, one budget and one seed: X-X, X-Y and
# hybrid batches (the α sweep 0, 0.25, 0.5, 0.75, 1) with the teacher anchor (λ 30), hybrid
# without it (λ 0), then weight interpolation (WiSE-FT) of the finished runs, then the
# table of docs/measurements/training.md. Each run goes through scripts/train_run.sh, so the sweep is resumable:
# finished runs and scores are skipped, an interrupted run continues from its checkpoint.
# About 35 minutes a training run (57 for the 600-step one) and 5–10 a scoring on 2 cores: 6 hours in all.
#
#   scripts/train_sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/mlsearch}
DATA=${MLSEARCH_DATA:-../shared/data}
budget=(--steps 300 --warmup 30 --lr 2e-5)
anchor=(--teacher-weight 30 "${budget[@]}")
scripts/train_run.sh base
scripts/train_run.sh xy30 --sampling xy "${anchor[@]}"
scripts/train_run.sh a25 --sampling hybrid --alpha 0.25 "${anchor[@]}"
scripts/train_run.sh lam30 --sampling hybrid --alpha 0.5 "${anchor[@]}"
scripts/train_run.sh a75 --sampling hybrid --alpha 0.75 "${anchor[@]}"
scripts/train_run.sh xx30 --sampling xx "${anchor[@]}"
scripts/train_run.sh lam0 --sampling hybrid --alpha 0.5 --teacher-weight 0 "${budget[@]}"

# OUT: the finished run NAME re-saved as base + T · (trained − base), from a copy of its
# checkpoint (9 s), then scored like any run.
interpolate() { # NAME T OUT TRAIN-ARGS…
  local name=$1 t=$2 out=$3; shift 3
  [ -d target/runs/"$out"/model.train ] || { mkdir -p target/runs/"$out"; cp -r target/runs/"$name"/model.train target/runs/"$out"/; }
  scripts/train_run.sh "$out" "$@" --interpolate "$t"
}
interpolate xy30 0.3 xy30-t30 --sampling xy "${anchor[@]}"
interpolate xy30 0.5 xy30-t50 --sampling xy "${anchor[@]}"
interpolate xy30 0.7 xy30-t70 --sampling xy "${anchor[@]}"
interpolate a25 0.5 a25-t50 --sampling hybrid --alpha 0.25 "${anchor[@]}"
interpolate lam30 0.5 lam30-t50 --sampling hybrid --alpha 0.5 "${anchor[@]}"
interpolate a75 0.5 a75-t50 --sampling hybrid --alpha 0.75 "${anchor[@]}"

# Twice the budget for the winner (X-Y, λ 30): 600 steps, 57 minutes, then its T 0.5.
long=(--sampling xy --teacher-weight 30 --steps 600 --warmup 60 --lr 2e-5)
scripts/train_run.sh xy30-600 "${long[@]}"
interpolate xy30-600 0.5 xy30-600-t50 "${long[@]}"

# Raw vectors (no per-language centring): reuses the embedding cache, 15 s a model.
for name in base xx30 a75 lam30 a25 xy30 lam0 xy30-t30 xy30-t50 xy30-t70 a25-t50 lam30-t50 a75-t50 xy30-600 xy30-600-t50; do
  model=(--model base); [ "$name" = base ] || model=(--model target/runs/$name/model.gguf)
  [ -s target/val/$name.raw.xquad.json ] || "$BIN" bench xquad-r --data "$DATA/xquad-r" --mode dense \
    --json --no-centring "${model[@]}" > target/val/$name.raw.xquad.json
done
python3 scripts/train_table.py base xx30 a75 lam30 a25 xy30 lam0 xy30-t30 xy30-t50 xy30-t70 a25-t50 lam30-t50 a75-t50 \
  xy30-600 xy30-600-t50
