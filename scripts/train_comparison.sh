#!/usr/bin/env bash
# The paper's comparison (arXiv 2408.10536, Tables 1-2) at a scale this machine can run:
# from the same base model, data, seed and number of steps, train with X-X, X-Y and hybrid
# batches, then score the base and each trained model with `mlsearch bench xquad-r`.
#
#   scripts/train_comparison.sh            # defaults below; override with environment variables
#   STEPS=2000 BATCH=32 LR=3e-5 EVAL_LANGS= MAX_QUESTIONS=0 scripts/train_comparison.sh   # full scale (GPU)
#
# Everything goes to $OUT (default target/train-comparison): prepared data, checkpoints
# (MODEL.train/), models, logs, and one JSON per evaluation. Re-running resumes: finished
# models are kept, unfinished training continues from its last checkpoint, and cached
# embeddings are reused by the bench.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/mlsearch}
OUT=${OUT:-target/train-comparison}
DATA=${MLSEARCH_DATA:-../shared/data}
TRAIN_LANGS=${TRAIN_LANGS:-arb,deu,eng,spa,hin,rus,tha,tur,zho}   # XQuAD-R's languages but el, vi
STEPS=${STEPS:-60}
BATCH=${BATCH:-16}
LR=${LR:-5e-5}
WARMUP=${WARMUP:-6}
SEED=${SEED:-42}
ALPHA=${ALPHA:-0.5}
EVAL_LANGS=${EVAL_LANGS:-ar,de,el,en,es,zh}                      # el: unseen in training
MAX_QUESTIONS=${MAX_QUESTIONS:-200}
SAMPLINGS=${SAMPLINGS:-xx xy hybrid}

mkdir -p "$OUT"
if [ ! -s "$OUT/data/train.jsonl" ]; then
  "$BIN" train prepare ntrex --data "$DATA/ntrex-128" --langs "$TRAIN_LANGS" --out "$OUT/data"
fi

for sampling in $SAMPLINGS; do
  model="$OUT/$sampling.gguf"
  [ -s "$model" ] && continue
  resume=()
  [ -f "$OUT/$sampling.train/checkpoint/state.json" ] && resume=(--resume)
  "$BIN" train --model base --train "$OUT/data/train.jsonl" --valid "$OUT/data/valid.jsonl" \
    --sampling "$sampling" --alpha "$ALPHA" --batch-size "$BATCH" --steps "$STEPS" \
    --lr "$LR" --warmup "$WARMUP" --seed "$SEED" --validate-every 20 --checkpoint-every 10 \
    --patience 0 --checkpoints "$OUT/$sampling.train" -o "$model" "${resume[@]}" \
    2>&1 | tee -a "$OUT/$sampling.log"
done

eval_args=(--data "$DATA/xquad-r" --mode dense --work "$OUT/bench" --json)
[ -n "$EVAL_LANGS" ] && eval_args+=(--langs "$EVAL_LANGS")
[ "$MAX_QUESTIONS" != 0 ] && eval_args+=(--max-questions "$MAX_QUESTIONS")
# Each model twice: with the per-language centring an index applies, and raw (the
# second run only rescores the cached embeddings).
for name in base $SAMPLINGS; do
  model_args=(--model base)
  [ "$name" != base ] && model_args=(--model "$OUT/$name.gguf")
  [ -s "$OUT/eval-$name.json" ] || \
    "$BIN" bench xquad-r "${eval_args[@]}" "${model_args[@]}" > "$OUT/eval-$name.json"
  [ -s "$OUT/eval-$name-raw.json" ] || \
    "$BIN" bench xquad-r "${eval_args[@]}" "${model_args[@]}" --no-centring > "$OUT/eval-$name-raw.json"
done

python3 - "$OUT" $SAMPLINGS <<'PY'
import json, sys
out, samplings = sys.argv[1], sys.argv[2:]
print("| model | vectors | mono mAP | cross mAP | multi mAP | rank distance |")
print("|---|---|---|---|---|---|")
for suffix, vectors in [("-raw", "raw"), ("", "centred")]:
    for name in ["base"] + samplings:
        r = json.load(open(f"{out}/eval-{name}{suffix}.json"))["reports"][0]
        print(f"| {name} | {vectors} | {r['mono_map']:.3f} | {r['cross_map']:.3f} | {r['multi_map']:.3f} | {r['rank_distance']:.1f} |")
PY
