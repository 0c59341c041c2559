#!/usr/bin/env bash
# Builds the Python package (python/) from this checkout in a fresh virtual environment,
# as a user installs it, and runs its tests: a real index of fixtures/corpus, the built-in
# encoder. Needs the model (scripts/fetch-model.sh) and pip access to PyPI (maturin, numpy,
# pytest).
#
# MATURIN_PEP517_ARGS="--profile dev" builds with the profile `cargo test` uses, reusing
# its artifacts (CI does this); the default is a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/target/python-venv"
rm -rf "$venv"
# Debian's python3 may come without the venv module (package python3-venv): then the
# virtualenv tool from PyPI makes it.
if ! python3 -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m pip install --quiet --user --break-system-packages virtualenv 2>/dev/null ||
    python3 -m pip install --quiet --user virtualenv
  python3 -m virtualenv --quiet "$venv"
fi
"$venv/bin/pip" install --quiet --upgrade pip
started=$(date +%s)
"$venv/bin/pip" install --quiet "./python[test]"
echo "python package built and installed in $(( $(date +%s) - started )) s"
# pytest (not `python -m pytest`): the source folder python/mlsearch has no compiled
# module and must not shadow the installed package.
"$venv/bin/pytest" -q -p no:cacheprovider python/tests
