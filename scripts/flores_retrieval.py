#!/usr/bin/env python3
"""FLORES sentence retrieval, mlsearch int8 against f32: for each language X, each of its
701 sentences (SIB-200's FLORES train split) looks up its English translation among all
701 English sentences by cosine, and back (X→en and en→X); accuracy is the share found at
rank 1. Prints a table per language with both precisions and the difference.

    python3 scripts/flores_retrieval.py [--langs yor_Latn,swh_Latn,...] [--json]

Vectors are cached in target/flores-retrieval/ (one file per language and precision).
Needs the release binary (`cargo build --release`) and numpy.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy  # pip install numpy

DEFAULT = ("arb_Arab deu_Latn ell_Grek spa_Latn hin_Deva ron_Latn rus_Cyrl tha_Thai tur_Latn vie_Latn "
           "zho_Hans jpn_Jpan kor_Hang fra_Latn por_Latn ind_Latn ben_Beng tel_Telu tam_Taml urd_Arab "
           "pes_Arab swh_Latn yor_Latn hau_Latn ibo_Latn amh_Ethi khm_Khmr mya_Mymr lao_Laoo npi_Deva "
           "sin_Sinh zul_Latn quy_Latn").split()


def sentences(data, lang):
    rows = {}
    with open(os.path.join(data, lang, "train.tsv"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and parts[0] == "index_id":
                continue
            rows[parts[0]] = " ".join(parts[2].split())
    return rows


def embed(binary, precision, lang, texts, cache):
    path = os.path.join(cache, f"{lang}.{precision}.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            vectors = [json.loads(l) for l in f]
        if len(vectors) == len(texts):
            return vectors
    out = subprocess.run([binary, "embed", "--device", "cpu", "--query", "--precision", precision],
                         input="\n".join(texts) + "\n", capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    with open(path, "w") as f:
        f.write(out.stdout)
    return [json.loads(l) for l in out.stdout.splitlines()]


def accuracy(a, b):
    """Share of rows of a whose nearest row of b (dot product of unit vectors) is the same index."""
    scores = numpy.asarray(a, dtype=numpy.float64) @ numpy.asarray(b, dtype=numpy.float64).T
    return float((scores.argmax(axis=1) == numpy.arange(len(a))).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "flores-sib200"))
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--langs", default=",".join(DEFAULT))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--precisions", default="int8,f32",
                    help="which to embed (one alone: --json only, e.g. int8 against an earlier f32 run)")
    args = ap.parse_args()
    precisions = args.precisions.split(",")
    if len(precisions) != 2 and not args.json:
        ap.error("the table needs both precisions; use --json with one")
    cache = "target/flores-retrieval"
    os.makedirs(cache, exist_ok=True)
    english = sentences(args.data, "eng_Latn")
    report = {}
    for lang in args.langs.split(","):
        other = sentences(args.data, lang)
        ids = [i for i in english if i in other]
        row = {}
        for precision in precisions:
            e = embed(args.bin, precision, "eng_Latn", [english[i] for i in english], cache)
            e = [e[list(english).index(i)] for i in ids] if len(ids) != len(english) else e
            x = embed(args.bin, precision, lang, [other[i] for i in ids], cache)
            row[precision] = (accuracy(x, e) + accuracy(e, x)) / 2
        report[lang] = row
        print(lang, row, file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("| language | f32 | int8 | int8 − f32 |\n|---|---|---|---|")
    for lang, r in report.items():
        print(f"| {lang} | {r['f32']:.4f} | {r['int8']:.4f} | {r['int8'] - r['f32']:+.4f} |")
    n = len(report)
    f, i = sum(r["f32"] for r in report.values()) / n, sum(r["int8"] for r in report.values()) / n
    worst = min(report.items(), key=lambda kv: kv[1]["int8"] - kv[1]["f32"])
    print(f"| mean of {n} | {f:.4f} | {i:.4f} | {i - f:+.4f} |")
    print(f"largest loss: {worst[0]} {worst[1]['int8'] - worst[1]['f32']:+.4f}")


if __name__ == "__main__":
    main()
