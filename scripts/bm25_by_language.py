#!/usr/bin/env python3
"""BM25 quality per language on XQuAD (issue 2's measurement).

Indexes the XQuAD folder (each language's file is SQuAD JSON: its 240 paragraphs become
documents `xquad.<lang>.json#<article>-<paragraph>`), then, for every language, runs its
1190 questions with `--lang <lang>` in batch mode and scores the TREC run: P@1 and MRR@10
against the paragraph the question was written for.

    python3 scripts/bm25_by_language.py [--data ../shared/data/xquad] [--bin target/release/mlsearch]

Uses only the standard library; the data is read in place, never copied into the repo.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def questions(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                yield qa["id"], " ".join(qa["question"].split()), f"{a}-{p}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "xquad"))
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--index", default=None, help="index folder (default: a temp dir)")
    ap.add_argument("--detect", action="store_true", help="detect the query language instead of --query-lang")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="bm25-by-language-")
    index = args.index or os.path.join(work, "index")
    t0 = time.time()
    out = subprocess.run([args.bin, "index", args.data, "--index", index, "--no-vectors"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    index_seconds = time.time() - t0
    print(out.stdout.strip(), file=sys.stderr)

    langs = sorted(f.split(".")[1] for f in os.listdir(args.data) if f.startswith("xquad.") and f.endswith(".json"))
    rows = {}
    for lang in langs:
        qs = list(questions(os.path.join(args.data, f"xquad.{lang}.json")))
        qfile = os.path.join(work, f"q.{lang}.tsv")
        with open(qfile, "w", encoding="utf-8") as f:
            for qid, text, _ in qs:
                f.write(f"{qid}\t{text}\n")
        cmd = [args.bin, "query", "--index", index, "--queries", qfile, "--lang", lang, "-k", "10", "--trec"]
        if not args.detect:
            cmd += ["--query-lang", lang]
        t0 = time.time()
        run = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.time() - t0
        if run.returncode != 0:
            sys.exit(run.stderr)
        ranked = {}
        for line in run.stdout.splitlines():
            qid, _, doc, rank, _, _ = line.split()
            ranked.setdefault(qid, []).append(doc)
        p1 = mrr = 0.0
        for qid, _, para in qs:
            relevant = f"xquad.{lang}.json#{para}"
            docs = ranked.get(qid, [])
            if docs[:1] == [relevant]:
                p1 += 1
            if relevant in docs[:10]:
                mrr += 1 / (docs.index(relevant) + 1)
        n = len(qs)
        rows[lang] = {"queries": n, "p@1": p1 / n, "mrr@10": mrr / n, "qps": n / seconds}
    mean = {k: sum(r[k] for r in rows.values()) / len(rows) for k in ("p@1", "mrr@10")}
    if args.json:
        print(json.dumps({"languages": rows, "mean": mean, "index_seconds": index_seconds}, indent=2))
        return
    print("| lang | queries | P@1 | MRR@10 | queries/s |")
    print("|---|---|---|---|---|")
    for lang, r in rows.items():
        print(f"| {lang} | {r['queries']} | {r['p@1']:.3f} | {r['mrr@10']:.3f} | {r['qps']:.0f} |")
    print(f"| mean | | {mean['p@1']:.3f} | {mean['mrr@10']:.3f} | |")
    print(f"\nindexing: {index_seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
