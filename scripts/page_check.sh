#!/usr/bin/env bash
# Checks the search page in a real browser: indexes the fixture corpus (with vectors),
# starts `mlsearch serve` on a free port, loads the page in headless Chromium with a
# query in its address (the page runs it), and checks the rendered DOM for hits, language
# badges, highlights and explain bars; then saves screenshots (desktop and phone width).
#   BIN (default target/release/mlsearch)  OUT (default docs)  CHROMIUM (default chromium)
# Chromium: Debian's package (`apt-get install chromium`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/mlsearch}
OUT=${OUT:-docs}
CHROMIUM=${CHROMIUM:-chromium}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

"$BIN" index fixtures/corpus --index "$work/index" >/dev/null
"$BIN" serve --index "$work/index" --addr 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/serve.log" && break
  sleep 0.1
done
url=$(grep -o "http://[0-9.:]*" "$work/serve.log")
page="$url/?q=$(python3 -c 'import urllib.parse;print(urllib.parse.quote("Wann knetet der Bäcker den Teig?"))')&mode=hybrid"

browse() {
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --virtual-time-budget=8000 --hide-scrollbars "$@" 2>/dev/null
}

browse --dump-dom "$page" >"$work/dom.html"
python3 - "$work/dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
hits = re.findall(r'<li class="hit">', dom)
assert len(hits) >= 3, f"expected hits on the page, found {len(hits)}"
first = re.search(r'<span class="doc">([^<]*)</span>', dom).group(1)
assert first == "parallel/bakery.de.txt", f"first hit {first!r}"
assert "<mark>" in dom, "no highlighted terms"
assert 'class="bar bm25"' in dom and 'class="bar dense"' in dom, "no explain bars"
langs = re.findall(r'<div id="languages"[^>]*>(.*?)</div>', dom, re.S)[0]
badges = re.findall(r'class="lang"[^>]*>([a-z]+) (\d+)<', langs)
assert len(badges) >= 2, f"language summary {badges}"
print(f"page: {len(hits)} hits, first {first}, languages at a glance {badges}")
PY
mkdir -p "$OUT"
browse --window-size=1100,1400 --screenshot="$OUT/search-page.png" "$page" >/dev/null
browse --window-size=390,900 --screenshot="$OUT/search-page-phone.png" "$page" >/dev/null
echo "screenshots: $OUT/search-page.png, $OUT/search-page-phone.png"
