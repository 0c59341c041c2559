#!/usr/bin/env python3
"""BM25 quality per language on XQuAD (issues 2 and 10).

Indexes the XQuAD folder (each language's file is SQuAD JSON: its 240 paragraphs become
documents `xquad.<lang>.json#<article>-<paragraph>`) into ONE multilingual index, then,
for every language, runs its 1190 questions in batch mode and scores the TREC run: P@1 and
MRR@10 against the paragraph the question was written for. Columns:

  multi        the 12-language index, `--lang <lang> --query-lang <lang>`
  single       an index of that language's file alone, same flags (the bar: a
               multilingual index must score each language like its own index would)
  plain        a plain BM25 in this script: lowercased Unicode words (character unigrams +
               bigrams for zh, th, ja), k1 0.9, b 0.4, one index per language
  any          the 12-language index, `--lang any --query-lang <lang>`: the right paragraph
               among all 2,880 when the question's language is known
  any-detect   the same without `--query-lang` (the language is detected, as for a user)

    python3 scripts/bm25_by_language.py [--data ../shared/data/xquad] [--bin target/release/mlsearch]
        [--bm25-k1 K1 --bm25-b B] [--only multi,single,plain,any,any-detect] [--json]

Uses only the standard library; the data is read in place, never copied into the repo.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

COLUMNS = ["multi", "single", "plain", "any", "any-detect"]


def questions(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                yield qa["id"], " ".join(qa["question"].split()), f"{a}-{p}"


def paragraphs(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            yield f"{a}-{p}", paragraph["context"]


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: {out.stderr}")
    return out.stdout


def score(ranked, qs, lang, name=None):
    """P@1 and MRR@10 of runs {qid: [doc, ...]} against each question's own paragraph."""
    p1 = mrr = 0.0
    name = name or f"xquad.{lang}.json"
    for qid, _, para in qs:
        relevant = f"{name}#{para}"
        docs = ranked.get(qid, [])[:10]
        if docs[:1] == [relevant]:
            p1 += 1
        if relevant in docs:
            mrr += 1 / (docs.index(relevant) + 1)
    return p1 / len(qs), mrr / len(qs)


def mlsearch_run(args, index, qfile, flags):
    cmd = [args.bin, "query", "--index", index, "--queries", qfile, "-k", "10", "--trec", "--mode", "bm25"]
    if args.bm25_k1 is not None:
        cmd += ["--bm25-k1", str(args.bm25_k1)]
    if args.bm25_b is not None:
        cmd += ["--bm25-b", str(args.bm25_b)]
    t0 = time.time()
    ranked = {}
    for line in run(cmd + flags).splitlines():
        qid, _, doc, _, _, _ = line.split()
        ranked.setdefault(qid, []).append(doc)
    return ranked, time.time() - t0


def plain_tokens(text, lang):
    words = re.findall(r"\w+", text.lower())
    if lang not in ("zh", "th", "ja"):
        return words
    out = []
    for w in words:
        out.extend(w)
        out.extend(w[i : i + 2] for i in range(len(w) - 1))
    return out


def plain_bm25(docs, lang, qs, k1=0.9, b=0.4, name=None):
    """{qid: top-10 docs} from a textbook BM25 over one language's paragraphs."""
    tfs = {d: Counter(plain_tokens(t, lang)) for d, t in docs}
    lengths = {d: sum(tf.values()) for d, tf in tfs.items()}
    avg = sum(lengths.values()) / len(lengths)
    postings = defaultdict(list)
    for d, tf in tfs.items():
        for term, n in tf.items():
            postings[term].append((d, n))
    N = len(tfs)
    ranked = {}
    for qid, text, _ in qs:
        scores = defaultdict(float)
        for term in set(plain_tokens(text, lang)):
            plist = postings.get(term, [])
            idf = math.log(1 + (N - len(plist) + 0.5) / (len(plist) + 0.5))
            for d, n in plist:
                scores[d] += idf * n * (k1 + 1) / (n + k1 * (1 - b + b * lengths[d] / avg))
        top = sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:10]
        ranked[qid] = [f"{name or f'xquad.{lang}.json'}#{d}" for d, _ in top]
    return ranked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "xquad"))
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--bm25-k1", type=float, default=None, help="query-time k1 (default: the index's)")
    ap.add_argument("--bm25-b", type=float, default=None, help="query-time b (default: the index's)")
    ap.add_argument("--only", default=",".join(COLUMNS), help="columns to compute")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--squad", default=None, help="instead of XQuAD: one SQuAD-layout file (training data, for choosing settings)")
    ap.add_argument("--lang", default=None, help="with --squad: its language")
    args = ap.parse_args()
    if args.squad:
        return one_file(args)
    columns = [c for c in COLUMNS if c in args.only.split(",")]

    work = tempfile.mkdtemp(prefix="bm25-by-language-")
    langs = sorted(f.split(".")[1] for f in os.listdir(args.data) if f.startswith("xquad.") and f.endswith(".json"))
    index = os.path.join(work, "index")
    t0 = time.time()
    print(run([args.bin, "index", args.data, "--index", index, "--no-vectors"]).strip(), file=sys.stderr)
    index_seconds = time.time() - t0

    rows = {}
    for lang in langs:
        path = os.path.join(args.data, f"xquad.{lang}.json")
        qs = list(questions(path))
        qfile = os.path.join(work, f"q.{lang}.tsv")
        with open(qfile, "w", encoding="utf-8") as f:
            for qid, text, _ in qs:
                f.write(f"{qid}\t{text}\n")
        row = {"queries": len(qs)}
        for column in columns:
            seconds = None
            if column == "multi":
                ranked, seconds = mlsearch_run(args, index, qfile, ["--lang", lang, "--query-lang", lang])
            elif column == "single":
                folder = os.path.join(work, f"single-{lang}")
                os.makedirs(folder, exist_ok=True)
                link = os.path.join(folder, f"xquad.{lang}.json")
                if not os.path.exists(link):
                    os.symlink(os.path.abspath(path), link)
                single = os.path.join(work, f"index-{lang}")
                run([args.bin, "index", folder, "--index", single, "--no-vectors"])
                ranked, seconds = mlsearch_run(args, single, qfile, ["--lang", lang, "--query-lang", lang])
            elif column == "plain":
                ranked = plain_bm25(list(paragraphs(path)), lang, qs)
            elif column == "any":
                ranked, seconds = mlsearch_run(args, index, qfile, ["--lang", "any", "--query-lang", lang])
            else:
                ranked, seconds = mlsearch_run(args, index, qfile, ["--lang", "any"])
            p1, mrr = score(ranked, qs, lang)
            row[column] = {"p@1": p1, "mrr@10": mrr}
            if seconds:
                row[column]["qps"] = len(qs) / seconds
        rows[lang] = row
    mean = {c: {m: sum(r[c][m] for r in rows.values()) / len(rows) for m in ("p@1", "mrr@10")} for c in columns}
    if args.json:
        print(json.dumps({"languages": rows, "mean": mean, "index_seconds": index_seconds}, indent=2))
        return
    print("| lang | " + " | ".join(f"{c} P@1 | {c} MRR@10" for c in columns) + " |")
    print("|---|" + "---|---|" * len(columns))
    for lang, r in rows.items():
        print(f"| {lang} | " + " | ".join(f"{r[c]['p@1']:.3f} | {r[c]['mrr@10']:.3f}" for c in columns) + " |")
    print("| **mean** | " + " | ".join(f"**{mean[c]['p@1']:.3f}** | **{mean[c]['mrr@10']:.3f}**" for c in columns) + " |")
    print(f"\nindexing the 12-language index: {index_seconds:.1f} s", file=sys.stderr)


def one_file(args):
    """Single-language index of one SQuAD file vs the plain BM25 (choosing settings on
    training data, e.g. qa-native/zh-cmrc2018)."""
    work = tempfile.mkdtemp(prefix="bm25-one-file-")
    name = os.path.basename(args.squad)
    folder = os.path.join(work, "corpus")
    os.makedirs(folder)
    os.symlink(os.path.abspath(args.squad), os.path.join(folder, name))
    index = os.path.join(work, "index")
    run([args.bin, "index", folder, "--index", index, "--no-vectors", "--default-lang", args.lang])
    qs = list(questions(args.squad))
    qfile = os.path.join(work, "q.tsv")
    with open(qfile, "w", encoding="utf-8") as f:
        for qid, text, _ in qs:
            f.write(f"{qid}\t{text}\n")
    ranked, _ = mlsearch_run(args, index, qfile, ["--lang", args.lang, "--query-lang", args.lang])
    ours = score(ranked, qs, args.lang, name)
    plain = score(plain_bm25(list(paragraphs(args.squad)), args.lang, qs, name=name), qs, args.lang, name)
    print(f"{name}: {len(qs)} questions; mlsearch P@1 {ours[0]:.3f} MRR@10 {ours[1]:.3f}; plain P@1 {plain[0]:.3f} MRR@10 {plain[1]:.3f}")


if __name__ == "__main__":
    main()
