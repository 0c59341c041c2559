#!/usr/bin/env bash
# Export speed and size (issue 15): `mlsearch export` of one index in every format, each
# timed alone; prints passages/s and bytes a passage (all files of the export / passages).
#   scripts/export_speed.sh INDEX [OUT]     e.g. target/ntrex100k/index (scripts/speed_100k.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/mlsearch}
index=$1
out=${2:-target/export-speed}
passages=$("$BIN" info --index "$index" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["passages"])')
echo "| format | files | bytes a passage | passages/s | seconds |"
echo "|---|---|---|---|---|"
for format in opensearch elasticsearch vespa qdrant milvus; do
  rm -rf "${out:?}/$format"
  start=$(date +%s.%N)
  "$BIN" export --index "$index" --format "$format" --out "$out/$format" > /dev/null
  end=$(date +%s.%N)
  files=$(find "$out/$format" -type f | wc -l)
  bytes=$(du -sb "$out/$format" | cut -f1)
  python3 -c "s=$end-$start; print(f'| $format | $files | {$bytes/$passages:,.0f} | {$passages/s:,.0f} | {s:.1f} |')"
done
echo "($passages passages in $index)"
