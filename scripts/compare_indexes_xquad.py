#!/usr/bin/env python3
"""Rankings of two XQuAD indexes, compared (docs/progressive-commits.md).

    scripts/compare_indexes_xquad.py INDEX_A INDEX_B [--every 10]

Every 10th question of each XQuAD language runs on both indexes (`mlsearch query --queries`,
`--lang any`, k 10) in the hybrid, dense and BM25 modes; prints MRR@10 and P@1 (a hit is
the question's paragraph in any language) and how many questions got the same hits with
the same scores.
"""
import argparse
import json
import os
import subprocess
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("a")
parser.add_argument("b")
parser.add_argument("--every", type=int, default=10)
parser.add_argument("--data", default=os.environ.get("MLSEARCH_DATA", os.path.join(root, "../shared/data")))
args = parser.parse_args()

langs = "ar de el en es hi ro ru th tr vi zh".split()
questions = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False)
for lang in langs:
    data = json.load(open(os.path.join(args.data, "xquad", f"xquad.{lang}.json"), encoding="utf8"))
    n = 0
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                if n % args.every == 0:
                    questions.write(f"{lang}:{a}-{p}:{n}\t{' '.join(qa['question'].split())}\n")
                n += 1
questions.close()


def run(index, mode):
    out = subprocess.run(
        [os.path.join(root, "target/release/mlsearch"), "query", "--index", index, "--queries", questions.name,
         "-k", "10", "--mode", mode],
        check=True, capture_output=True, text=True).stdout
    hits = {}
    for line in out.splitlines():
        h = json.loads(line)
        hits.setdefault(h["qid"], []).append((h["doc"], h["score"]))
    return hits


def metrics(hits):
    mrr = p1 = 0.0
    for qid, ranked in hits.items():
        gold = qid.split(":")[1]
        for rank, (doc, _) in enumerate(ranked):
            if doc.split("#")[1] == gold:
                mrr += 1 / (rank + 1)
                p1 += rank == 0
                break
    return mrr / len(hits), p1 / len(hits)


for mode in ["hybrid", "dense", "bm25"]:
    a, b = run(args.a, mode), run(args.b, mode)
    same = sum(a[q] == b.get(q) for q in a)
    same_scores = sum([s for _, s in a[q]] == [s for _, s in b.get(q, [])] for q in a)
    (ma, pa), (mb, pb) = metrics(a), metrics(b)
    print(f"{mode}: MRR@10 {ma:.4f} / {mb:.4f}, P@1 {pa:.4f} / {pb:.4f}; "
          f"same hits and scores {same}/{len(a)}, same scores at every rank {same_scores}/{len(a)}")
os.unlink(questions.name)
