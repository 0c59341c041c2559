#!/usr/bin/env python3
"""Issue 28's table: MRR@10 of dense and hybrid search on the XQuAD paragraph index with the
query language identified (as a user runs it) against given (`--query-lang`).

For each question language X and passage language Y of LANGS, the first N questions of X run
with `--lang Y` (relevant: the parallel paragraph in Y); and with `--lang any` (multi: a hit
counts if it is the parallel paragraph in any language). Document level (a paragraph's best
passage stands for it). Batch mode (`query --queries`), one process per setting.

    python3 scripts/query_lang_mrr.py --index target/xquad-index [--n 60] [--binary PATH]
"""
import argparse
import json
import os
import subprocess
import tempfile
from collections import defaultdict

LANGS = ["en", "zh", "ar", "hi", "th", "el"]
# With `--lang any`, the parallel paragraph in any of the index's languages counts.
XQUAD = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]


def questions(data, lang, n):
    with open(os.path.join(data, "xquad", f"xquad.{lang}.json"), encoding="utf-8") as f:
        doc = json.load(f)
    out = []
    for a, article in enumerate(doc["data"]):
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                out.append((f"{a}-{p}", " ".join(qa["question"].split())))
    return out[:n]


def run(binary, index, queries, lang, mode, query_lang):
    """queries: [(qid, text)] -> {qid: [doc, ...]} (first 10 documents)."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as f:
        for qid, text in queries:
            f.write(f"{qid}\t{text}\n")
        path = f.name
    args = [binary, "query", "--index", index, "--queries", path, "--lang", lang, "--mode", mode, "-k", "30"]
    if query_lang:
        args += ["--query-lang", query_lang]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    os.unlink(path)
    ranked = defaultdict(list)
    langs = defaultdict(set)
    for line in out.splitlines():
        hit = json.loads(line)
        docs = ranked[hit["qid"]]
        langs[hit["qid"]].add(hit["query_lang"])
        if hit["doc"] not in docs and len(docs) < 10:
            docs.append(hit["doc"])
    return ranked, langs


def rr(docs, relevant):
    for i, d in enumerate(docs):
        if d in relevant:
            return 1.0 / (i + 1)
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default="target/xquad-index")
    ap.add_argument("--data", default=os.environ.get("MLSEARCH_DATA", "../shared/data"))
    ap.add_argument("--binary", default="./target/release/mlsearch")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--modes", default="dense,hybrid")
    ap.add_argument("--hows", default="detected,given", help="detected (no --query-lang), given, or both")
    args = ap.parse_args()
    qs = {x: questions(args.data, x, args.n) for x in LANGS}
    table = {}
    for mode in args.modes.split(","):
        for how in args.hows.split(","):
            pairs = {}
            ident = defaultdict(lambda: [0, 0])
            for y in LANGS + ["any"]:
                if how == "detected":
                    # One batch per filter: every question language mixed, ids tagged.
                    mixed = [(f"{x}:{i}:{pid}", t) for x in LANGS for i, (pid, t) in enumerate(qs[x])]
                    ranked, seen = run(args.binary, args.index, mixed, y, mode, None)
                    for x in LANGS:
                        total = 0.0
                        for i, (pid, _) in enumerate(qs[x]):
                            qid = f"{x}:{i}:{pid}"
                            relevant = {f"xquad.{z}.json#{pid}" for z in (XQUAD if y == "any" else [y])}
                            total += rr(ranked.get(qid, []), relevant)
                            ident[x][0] += 1
                            ident[x][1] += seen.get(qid, set()) == {x}
                        pairs[(x, y)] = total / len(qs[x])
                else:
                    for x in LANGS:
                        queries = [(f"{i}:{pid}", t) for i, (pid, t) in enumerate(qs[x])]
                        ranked, _ = run(args.binary, args.index, queries, y, mode, x)
                        total = 0.0
                        for i, (pid, _) in enumerate(qs[x]):
                            relevant = {f"xquad.{z}.json#{pid}" for z in (XQUAD if y == "any" else [y])}
                            total += rr(ranked.get(f"{i}:{pid}", []), relevant)
                        pairs[(x, y)] = total / len(qs[x])
            mono = [pairs[(x, x)] for x in LANGS]
            cross = [pairs[(x, y)] for x in LANGS for y in LANGS if x != y]
            filt = mono + cross
            multi = [pairs[(x, "any")] for x in LANGS]
            mean = lambda v: sum(v) / len(v)
            table[(mode, how)] = (mean(filt), mean(mono), mean(cross), mean(multi))
            print(f"{mode} {how}: --lang Y {mean(filt):.3f} (mono {mean(mono):.3f}, cross {mean(cross):.3f}), "
                  f"--lang any {mean(multi):.3f}", flush=True)
            if how == "detected":
                print("  query_lang reported = question language (hits' query_lang), per language:",
                      {x: round(v[1] / v[0], 3) for x, v in ident.items()}, flush=True)
            print("  per pair (X→Y):", {f"{x}→{y}": round(v, 3) for (x, y), v in pairs.items()}, flush=True)
    print("\n| mode | --lang Y, identified | --lang Y, given | mono id. / given | cross id. / given | --lang any id. / given |")
    print("|---|---|---|---|---|---|")
    for mode in args.modes.split(","):
        if len(table) < 2 * len(args.modes.split(",")):
            break
        d, g = table[(mode, "detected")], table[(mode, "given")]
        print(f"| {mode} | {d[0]:.3f} | {g[0]:.3f} | {d[1]:.3f} / {g[1]:.3f} | {d[2]:.3f} / {g[2]:.3f} | {d[3]:.3f} / {g[3]:.3f} |")


if __name__ == "__main__":
    main()
