#!/usr/bin/env bash
# One training run of issue 12's comparison on the mixed data, then its scores: the full
# XQuAD-R (dense, centred: the index default) and the validation on held-out training
# data (scripts/train_validation.py). Resumable: an interrupted run continues from its
# last checkpoint (every 25 steps); finished parts are skipped.
#
#   scripts/train_run.sh NAME [mlsearch train options]
#   scripts/train_run.sh lam30 --sampling hybrid --alpha 0.5 --teacher-weight 30 --steps 300 --warmup 30 --lr 2e-5
#   scripts/train_run.sh base            # scores the untrained base only
#
# Training starts from the untrained base (`--model base`), not the shipped built-in model.
#
# Shared settings: 9 of 12 layers frozen (FROZEN=), batch 32 (BATCH=), seed 42 (the default), validation
# every 100 steps, no early stop. Output in target/runs/NAME/ and target/val/NAME.*.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/mlsearch}
DATA=${MLSEARCH_DATA:-../shared/data}
# TRAIN: the prepared records to train on (default the sentence mix); QA: a prepared QA
# folder whose held-out split the validation adds (train_validation.py --qa); VAL: a
# suffix for the validation JSON when it holds the QA part.
TRAIN=${TRAIN:-target/mix}
# BATCH: pairs a step (in-batch negatives: BATCH - 1 per query).
BATCH=${BATCH:-32}
# FROZEN: the lowest layers left as the base's (the rest train).
FROZEN=${FROZEN:-9}
QA=${QA:-}
VAL=${VAL:-}
name=$1; shift
[ -s target/mix/train.jsonl ] || "$BIN" train prepare mix --data "$DATA" --sources ntrex,flores,tico,mgsm,qa --exclude ell,vie --out target/mix
mkdir -p target/runs/"$name" target/val
model=(--model base)
if [ "$name" != base ]; then
  dir=target/runs/$name
  if [ ! -s "$dir/model.gguf" ]; then
    resume=()
    [ -f "$dir/model.train/checkpoint/state.json" ] && resume=(--resume)
    "$BIN" train --model base --train "$TRAIN/train.jsonl" --valid "$TRAIN/valid.jsonl" -o "$dir/model.gguf" \
      --checkpoints "$dir/model.train" --frozen-cache target/frozen-cache --frozen-layers "$FROZEN" --batch-size "$BATCH" --patience 0 \
      --checkpoint-every 25 --validate-every 100 "$@" "${resume[@]}" 2>&1 | tee -a "$dir/train.log"
  fi
  model=(--model "$dir/model.gguf")
fi
[ -s target/val/"$name".xquad.json ] || \
  "$BIN" bench xquad-r --data "$DATA/xquad-r" --mode dense --json "${model[@]}" > target/val/"$name".xquad.json
qa=(); [ -n "$QA" ] && qa=(--qa "$QA")
[ -s target/val/"$name$VAL".json ] || \
  python3 scripts/train_validation.py --bin "$BIN" --mix target/mix "${qa[@]}" "${model[@]}" --json target/val/"$name$VAL".json | tee target/val/"$name$VAL".log
python3 - "$name" "$VAL" <<'PY'
import json, sys
r = json.load(open(f"target/val/{sys.argv[1]}.xquad.json"))["reports"][0]
v = json.load(open(f"target/val/{sys.argv[1]}{sys.argv[2]}.json"))["summary"]
print(f"{sys.argv[1]}: XQuAD-R mono {r['mono_map']:.3f} cross {r['cross_map']:.3f} multi {r['multi_map']:.3f} "
      f"rank distance {r['rank_distance']:.0f}; validation mono MRR {v['mono_mrr']:.3f}, FLORES {v['flores_accuracy']:.4f} "
      f"(worst {v['flores_worst'][1]} {v['flores_worst'][0]:.4f}), pooled rank distance {v['rank_distance']:.1f}"
      + (f"; QA mono MRR {v['qa_mono_mrr']:.3f} cross MRR {v['qa_cross_mrr']:.3f}" if "qa_mono_mrr" in v else ""))
PY
