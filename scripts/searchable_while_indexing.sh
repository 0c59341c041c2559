#!/bin/bash
# Time to first searchable result and total time of `mlsearch index` with and without
# progressive commits (docs/progressive-commits.md).
#
#   scripts/searchable_while_indexing.sh OUT [SECONDS ...]   (default: 0 60 10)
#
# OUT/flores: 240 JSONL files of 100 FLORES sentences (30 languages × 701, from
# $MLSEARCH_DATA or ../shared/data; made once, outside the repository). For each
# `--commit-every SECONDS` (0: one commit) it indexes them into a new folder while querying
# it (`query --mode bm25`, the first sentence of the first file) every 2 s, and prints when
# each commit came, the first hit, and `/usr/bin/time`'s wall and user time.
set -euo pipefail
out=$1; shift
[ $# -gt 0 ] || set -- 0 60 10
bin=$(cd "$(dirname "$0")/.." && pwd)/target/release/mlsearch
data=${MLSEARCH_DATA:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data}
mkdir -p "$out/flores"
if [ ! -e "$out/flores/eng_Latn-00.jsonl" ]; then
  python3 - "$data/flores-sib200" "$out/flores" <<'PY'
import json, sys
src, dst = sys.argv[1:]
langs = ("eng_Latn deu_Latn fra_Latn spa_Latn ita_Latn por_Latn nld_Latn rus_Cyrl ukr_Cyrl pol_Latn "
         "ces_Latn swe_Latn dan_Latn fin_Latn hun_Latn tur_Latn ell_Grek bul_Cyrl ron_Latn arb_Arab "
         "heb_Hebr hin_Deva ben_Beng tha_Thai vie_Latn ind_Latn zho_Hans jpn_Jpan kor_Hang cat_Latn").split()
for lang in langs:
    rows = [r.rstrip("\n").split("\t") for r in open(f"{src}/{lang}/train.tsv", encoding="utf8")][1:]
    for i in range(0, len(rows), 100):
        with open(f"{dst}/{lang}-{i // 100:02d}.jsonl", "w", encoding="utf8") as f:
            for r in rows[i:i + 100]:
                f.write(json.dumps({"id": f"{lang}-{r[0]}", "text": r[2]}, ensure_ascii=False) + "\n")
PY
fi
first_file=$(ls "$out/flores" | head -1)
probe=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['text'])" "$out/flores/$first_file")
for every in "$@"; do
  index=$out/index-$every
  rm -rf "$index"
  start=$(date +%s.%N)
  since() { echo "$(date +%s.%N) - $start" | bc; }
  /usr/bin/time -f "wall %e s, user %U s, sys %S s" -o "$out/time-$every" \
    "$bin" index "$out/flores" --index "$index" --commit-every "$every" > /dev/null \
    2> >(while IFS= read -r line; do echo "$(since) s: $line"; done > "$out/stderr-$every") &
  pid=$!
  first=""
  while kill -0 $pid 2>/dev/null; do
    if [ -z "$first" ] && "$bin" query "$probe" --index "$index" --mode bm25 --json -k 1 2>/dev/null | grep -q '"doc"'; then
      first=$(since)
    fi
    sleep 2
  done
  wait $pid
  echo "--commit-every $every: first hit at ${first:+$first s}${first:-the end}; $(cat "$out/time-$every")"
  grep "committed:" "$out/stderr-$every" || true
done
