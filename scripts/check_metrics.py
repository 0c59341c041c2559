#!/usr/bin/env python3
"""Checks mlsearch's metrics against pytrec_eval (trec_eval's own code) on a generated run.

    pip install pytrec-eval-terrier
    python3 scripts/check_metrics.py [--mlsearch target/release/mlsearch] [--queries 300]

Generates qrels (graded 0-3, some queries without relevant documents, some with none
retrieved) and a run with score ties, writes both as TREC files, scores them with
`mlsearch bench eval --per-query --depth 100` and with pytrec_eval (map, ndcg_cut_10,
recall_100 on the run cut to 100 documents per query, as `trec_eval -M 100`), and prints the
largest per-query difference of each measure. Exit 1 if any exceeds 1e-6.
"""
import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytrec_eval


def generate(queries, seed):
    rng = random.Random(seed)
    qrels, run = {}, {}
    for q in range(queries):
        qid = f"q{q}"
        docs = [f"d{rng.randrange(400)}" for _ in range(rng.randrange(1, 40))]
        qrels[qid] = {d: rng.choice([0, 0, 1, 1, 2, 3]) for d in docs}
        if q % 17 == 5:
            continue  # judged but not retrieved: scores 0 with -c
        ranked = {}
        for _ in range(rng.randrange(1, 180)):
            # Coarse scores make ties, which trec_eval breaks by docid.
            ranked[f"d{rng.randrange(400)}"] = round(rng.uniform(0, 10), 1)
        run[qid] = ranked
    run["unjudged"] = {"d1": 1.0}
    return qrels, run


def cut(run, depth):
    out = {}
    for qid, docs in run.items():
        order = sorted(docs.items(), key=lambda kv: (-kv[1], tuple(-b for b in kv[0].encode())))
        out[qid] = dict(order[:depth])
    return out


def compare(out, qrels, run, depth):
    ours = {}
    for line in out.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            ours[row.pop("qid")] = row
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"map", "ndcg_cut_10", "recall_100"})
    theirs = evaluator.evaluate(run)
    # trec_eval -c: judged queries missing from the run score 0; queries without a
    # relevant document are not scored by either.
    for qid, judged in qrels.items():
        if qid not in theirs and any(g > 0 for g in judged.values()):
            theirs[qid] = {"map": 0.0, "ndcg_cut_10": 0.0, "recall_100": 0.0}
    theirs = {q: s for q, s in theirs.items() if any(g > 0 for g in qrels[q].values())}
    if set(ours) != set(theirs):
        print("query sets differ:", sorted(set(ours) ^ set(theirs))[:10])
        return 1.0
    worst = 0.0
    for measure in ["map", "ndcg_cut_10", "recall_100"]:
        diff = max(abs(ours[q][measure] - theirs[q][measure]) for q in ours)
        mean_ours = sum(ours[q][measure] for q in ours) / len(ours)
        mean_theirs = sum(theirs[q][measure] for q in ours) / len(ours)
        print(f"depth {depth:4}  {measure:12} queries {len(ours)}  mean mlsearch {mean_ours:.6f}  "
              f"pytrec_eval {mean_theirs:.6f}  max |diff| {diff:.2e}")
        worst = max(worst, diff)
    return worst


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlsearch", default="target/release/mlsearch")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    qrels, run = generate(args.queries, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        run_path, qrels_path = Path(tmp, "run"), Path(tmp, "qrels")
        with open(run_path, "w") as f:
            for qid, docs in run.items():
                for rank, (doc, score) in enumerate(docs.items(), 1):
                    f.write(f"{qid} Q0 {doc} {rank} {score} test\n")
        with open(qrels_path, "w") as f:
            for qid, docs in qrels.items():
                for doc, grade in docs.items():
                    f.write(f"{qid} 0 {doc} {grade}\n")
        worst = 0.0
        # Depth 1000 keeps every document (checks trec_eval's tie order); depth 100 is -M 100.
        for depth in (1000, 100):
            out = subprocess.run(
                [args.mlsearch, "bench", "eval", str(run_path), str(qrels_path), "--depth", str(depth), "--per-query"],
                check=True, capture_output=True, text=True,
            ).stdout
            worst = max(worst, compare(out, qrels, cut(run, depth), depth))
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
