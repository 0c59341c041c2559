#!/usr/bin/env bash
# Issue 29: user/system time, minor page faults, wall time and peak RSS of `index` (int8,
# f32) and `embed` (int8, f32) on XQuAD's 240 English paragraphs, for two binaries run
# alternately (so a busy machine disturbs both alike). Results: docs/memory.md.
#   scripts/kernel_time.sh OLD_BINARY NEW_BINARY [ROUNDS] [XQUAD_DIR]
# Needs GNU time (/usr/bin/time; Debian package `time`). Prints one line per run:
#   LABEL WHAT rc=RC USER_S SYS_S MINOR_FAULTS WALL_S MAX_RSS_KB
set -euo pipefail
before=$1 after=$2 rounds=${3:-2} xquad=${4:-../shared/data/xquad}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/xq" "$work/one"
cp "$xquad/xquad.en.json" "$work/xq/"
echo "The old mill by the river grinds wheat for the village baker every morning, and the baker bakes bread." \
  > "$work/one/a.txt"
python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print('\n'.join(p['context'].replace('\n', ' ') for a in d['data'] for p in a['paragraphs']))
" "$xquad/xquad.en.json" > "$work/paragraphs.txt"

one() { # LABEL BINARY WHAT CORPUS
  local label=$1 bin=$2 what=$3 corpus=$4 idx="$work/index" rc=0
  rm -rf "$idx"
  local cmd
  case $what in
    index-int8) cmd=("$bin" index "$corpus" --index "$idx" --rebuild) ;;
    index-f32) cmd=("$bin" index "$corpus" --index "$idx" --rebuild --precision f32) ;;
    embed-int8) cmd=("$bin" embed) ;;
    embed-f32) cmd=("$bin" embed --precision f32) ;;
  esac
  /usr/bin/time -f "%U %S %R %e %M" -o "$work/time" "${cmd[@]}" < "$work/paragraphs.txt" > /dev/null 2> "$work/err" || rc=$?
  echo "$label $what rc=$rc $(tail -1 "$work/time")"
}

date -u; uptime
for round in $(seq "$rounds"); do
  for what in index-int8 index-f32 embed-int8 embed-f32; do
    one before "$before" $what "$work/xq"
    one after "$after" $what "$work/xq"
  done
  # The fixed cost of a run (loading the model, one passage): subtracted for per-passage faults.
  one before-1passage "$before" index-int8 "$work/one"
  one after-1passage "$after" index-int8 "$work/one"
done
date -u; uptime
