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
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
started=$(date +%s)
"$venv/bin/pip" install --quiet "./python[test]"
echo "python package built and installed in $(( $(date +%s) - started )) s"
cd python
"$venv/bin/python" -m pytest -q tests
