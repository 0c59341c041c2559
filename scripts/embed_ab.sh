#!/usr/bin/env bash
# Two binaries' encoders on the same texts, alternated (a busy machine disturbs both
# alike): `mlsearch embed` of 600 FLORES sentences (150 each of English, German, Chinese,
# Arabic) and 120 XQuAD paragraphs at int8, and the sentences at f32; then how far their
# vectors differ. Results: docs/measurements/redesign.md.
#   scripts/embed_ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
set -euo pipefail
old=$1 new=$2 rounds=${3:-3} data=${MLSEARCH_DATA:-../shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for l in eng_Latn deu_Latn zho_Hans arb_Arab; do
  sed -n '2,151p' "$data/flores-sib200/$l/train.tsv" | cut -f3
done > "$work/sentences.txt"
python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print('\n'.join([p['context'].replace('\n', ' ') for a in d['data'] for p in a['paragraphs']][:120]))
" "$data/xquad/xquad.en.json" > "$work/paragraphs.txt"
for round in $(seq "$rounds"); do
  for label in old new; do
    bin=$old; [ "$label" = new ] && bin=$new
    for run in "int8 sentences" "int8 paragraphs" "f32 sentences"; do
      set -- $run
      start=$(date +%s.%N)
      "$bin" embed --precision "$1" < "$work/$2.txt" > "$work/$label.$1.$2.jsonl"
      echo "$round $label $1 $2 $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f} s')" "$start" "$(date +%s.%N)")"
    done
  done
done
python3 - "$work" <<'PY'
import json, sys
for name in ("int8.sentences", "int8.paragraphs", "f32.sentences"):
    old = [json.loads(l) for l in open(f"{sys.argv[1]}/old.{name}.jsonl")]
    new = [json.loads(l) for l in open(f"{sys.argv[1]}/new.{name}.jsonl")]
    cosine = min(sum(a * b for a, b in zip(x, y)) for x, y in zip(old, new))
    diff = max(max(abs(a - b) for a, b in zip(x, y)) for x, y in zip(old, new))
    print(f"{name}: {len(old)} vectors, min cosine {cosine:.9f}, max difference {diff:.1e}")
PY
