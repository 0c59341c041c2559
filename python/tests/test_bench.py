"""Benchmarks from Python return the CLI's numbers."""

import json
import subprocess

import pytest

import mlsearch
from conftest import FIXTURES, cli_binary


def test_evaluate_matches_trec_eval_semantics():
    run = {"q1": {"d1": 3.0, "d2": 2.0, "d3": 1.0}, "q2": {"d4": 1.0, "d5": 0.5}}
    qrels = {"q1": {"d2": 1}, "q2": {"d5": 1, "d6": 1}}
    scores = mlsearch.bench.evaluate(run, qrels, per_query=True)
    assert scores["queries"] == 2
    assert scores["per_query"]["q1"]["map"] == pytest.approx(0.5)
    assert scores["per_query"]["q2"]["map"] == pytest.approx(0.25)
    assert scores["map"] == pytest.approx(0.375)


def test_mlqa_r_on_the_fixture_equals_the_cli(tmp_path):
    data = FIXTURES / "lareqa"
    ours = mlsearch.bench.mlqa_r(data, modes="bm25,dense", work=tmp_path / "work")
    assert [r["mode"] for r in ours["reports"]] == ["bm25", "dense"]
    dense = ours["reports"][1]
    assert 0 < dense["mono_map"] <= 1 and dense["rank_distance"] >= 0
    assert set(ours["questions"]) == {"de", "en", "es"}
    binary = cli_binary()
    if binary is None:
        pytest.skip("no mlsearch binary built to compare with (cargo build)")
    out = subprocess.run([str(binary), "bench", "mlqa-r", "--data", str(data), "--mode", "bm25,dense",
                          "--work", str(tmp_path / "cli"), "--json"],
                         capture_output=True, text=True, check=True)
    cli = json.loads(out.stdout)
    for a, b in zip(ours["reports"], cli["reports"]):
        for key in ("mono_map", "cross_map", "multi_map", "rank_distance"):
            assert a[key] == pytest.approx(b[key], abs=1e-9), key
