#!/usr/bin/env bash
# Query latency, HNSW recall and memory on a 100k-passage index with vectors
# (docs/measurements/dense-latency.md). Makes the corpus from NTREX-128 (the first 51 files
# in name order, every sentence a passage: 101,845 passages, no `lang` field), indexes it
# with vectors (about 2.5 h of embedding on 2 cores; incremental, so an interrupted run
# continues), then runs `mlsearch bench speed` and times a query process.
#   DATA (default ../shared/data)  OUT (default target/ntrex100k)  QUERIES (default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-target/ntrex100k}
QUERIES=${QUERIES:-500}
BIN=./target/release/mlsearch
mkdir -p "$OUT/corpus"

python3 - "$DATA/ntrex-128/NTREX-128" "$OUT" <<'PY'
import json, pathlib, random, sys
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
texts = []
for f in sorted(src.glob("*.txt"))[:51]:
    name = f.stem.replace("newstest2019-ref", "ntrex")
    lines = f.read_text(encoding="utf-8").splitlines()
    target = out / "corpus" / f"{name}.jsonl"
    body = "".join(json.dumps({"docid": f"{name}:{i}", "text": l}, ensure_ascii=False) + "\n"
                   for i, l in enumerate(lines))
    if not target.exists() or target.read_text(encoding="utf-8") != body:
        target.write_text(body, encoding="utf-8")
    texts += lines
random.seed(7)
random.shuffle(texts)
with open(out / "queries.tsv", "w", encoding="utf-8") as q:
    for i, t in enumerate(texts[:500]):
        q.write(f"q{i}\t{' '.join(t.split()[:8])}\n")
PY

"$BIN" index "$OUT/corpus" --index "$OUT/index"
"$BIN" bench speed --index "$OUT/index" --queries "$QUERIES"
for lang in any en; do
  /usr/bin/time -f "query process, --queries (500), --lang $lang: %e s wall, %M KiB max RSS" \
    "$BIN" query --index "$OUT/index" --queries "$OUT/queries.tsv" --lang "$lang" >/dev/null
done
/usr/bin/time -f "query process, one query, --lang any: %e s wall, %M KiB max RSS" \
  "$BIN" query --index "$OUT/index" "Foreign investors buying property" --lang any >/dev/null
