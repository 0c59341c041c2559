"""Fixtures: a real index of the repository's fixture corpus, made once per session with
the built-in encoder (the same files the Rust tests use)."""

import os
import pathlib
import shutil

import pytest

import mlsearch

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


def cli_binary():
    """The `mlsearch` binary of this checkout to compare with ($MLSEARCH_BIN, else the
    newest of target/{debug,release}), or None."""
    if os.environ.get("MLSEARCH_BIN"):
        return pathlib.Path(os.environ["MLSEARCH_BIN"])
    built = [p for p in (ROOT / "target" / "debug" / "mlsearch", ROOT / "target" / "release" / "mlsearch") if p.exists()]
    return max(built, key=lambda p: p.stat().st_mtime, default=None)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A copy of the parallel texts (14 languages) and the JSONL records."""
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(FIXTURES / "corpus" / "parallel", root / "parallel")
    shutil.copytree(FIXTURES / "corpus" / "records", root / "records")
    return root


@pytest.fixture(scope="session")
def engine(corpus, tmp_path_factory):
    index = tmp_path_factory.mktemp("index") / "idx"
    engine = mlsearch.Engine.create(index)
    engine.index(corpus)
    return engine


@pytest.fixture(scope="session")
def encoder():
    return mlsearch.Encoder()
