#!/usr/bin/env python3
"""Post-hoc alignment on training data only: does a per-language orthogonal map (Procrustes
onto English, after per-language centring) pull translations together without breaking
anything? Measured on FLORES (SIB-200 train split, 701 parallel sentences per language),
split by row: the first 601 rows fit the means and the maps, the last 100 are held out.

For each language X, on the held-out rows: X→en accuracy at rank 1 among the 100 English
sentences, and the pooled measure of language bias: each held-out X sentence searches the
pooled held-out sentences of every language, and we report the mean rank of its English
translation (1 = best) and the share of its top-10 that is in X's own language.

    python3 scripts/procrustes_validation.py [--langs arb_Arab,deu_Latn,...] [--fit 601]
    python3 scripts/procrustes_validation.py --fit-source ntrex

With `--fit-source ntrex` the means and maps come from NTREX-128 (1,997 news sentences,
another domain) and all 701 FLORES rows are held out.

Vectors (int8, passage side) are cached in target/procrustes/. Needs the release binary
and numpy.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy  # pip install numpy

XQUAD = "arb_Arab deu_Latn ell_Grek spa_Latn hin_Deva ron_Latn rus_Cyrl tha_Thai tur_Latn vie_Latn zho_Hans".split()
TAIL = "yor_Latn swh_Latn khm_Khmr quy_Latn amh_Ethi".split()


def sentences(data, lang):
    rows = []
    with open(os.path.join(data, lang, "train.tsv"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and parts[0] == "index_id":
                continue
            rows.append((parts[0], " ".join(parts[2].split())))
    rows.sort(key=lambda r: int(r[0]))
    return [t for _, t in rows]


# FLORES code → NTREX-128 file code, where NTREX has the language.
NTREX = {"eng_Latn": "eng-US", "arb_Arab": "arb", "deu_Latn": "deu", "ell_Grek": "ell", "spa_Latn": "spa",
         "hin_Deva": "hin", "ron_Latn": "ron", "rus_Cyrl": "rus", "tha_Thai": "tha", "tur_Latn": "tur",
         "vie_Latn": "vie", "zho_Hans": "zho-CN", "yor_Latn": "yor", "swh_Latn": "swa", "khm_Khmr": "khm",
         "amh_Ethi": "amh"}


def ntrex_sentences(data, lang):
    path = os.path.join(data, "ntrex-128", "NTREX-128", f"newstest2019-ref.{NTREX[lang]}.txt")
    with open(path, encoding="utf-8") as f:
        return [" ".join(l.split()) for l in f]


def embed(binary, lang, texts, cache):
    path = os.path.join(cache, f"{lang}.npy")
    if os.path.exists(path):
        v = numpy.load(path)
        if len(v) == len(texts):
            return v
    out = subprocess.run([binary, "embed", "--device", "cpu"], input="\n".join(texts) + "\n",
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    v = numpy.asarray([json.loads(l) for l in out.stdout.splitlines()], dtype=numpy.float64)
    numpy.save(path, v)
    return v


def unit(x):
    return x / numpy.linalg.norm(x, axis=1, keepdims=True)


def procrustes(x, y):
    """The orthogonal W minimising |xW - y| (Schönemann 1966): W = U Vᵀ of xᵀy = U S Vᵀ."""
    u, _, vt = numpy.linalg.svd(x.T @ y)
    return u @ vt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MLSEARCH_DATA", "../shared/data"))
    ap.add_argument("--binary", default="target/release/mlsearch")
    ap.add_argument("--langs", default=",".join(XQUAD + TAIL))
    ap.add_argument("--fit", type=int, default=601)
    ap.add_argument("--fit-source", choices=["flores", "ntrex"], default="flores")
    args = ap.parse_args()
    cache = "target/procrustes"
    os.makedirs(cache, exist_ok=True)
    langs = ["eng_Latn"] + args.langs.split(",")
    flores = os.path.join(args.data, "flores-sib200")
    if args.fit_source == "ntrex":
        langs = [l for l in langs if l in NTREX]
    raw = {l: embed(args.binary, l, sentences(flores, l), cache) for l in langs}
    if args.fit_source == "ntrex":
        fit_raw = {l: embed(args.binary, "ntrex." + l, ntrex_sentences(args.data, l), cache) for l in langs}
        fit, held = slice(None), slice(None)
    else:
        fit, held = slice(0, args.fit), slice(args.fit, None)
        fit_raw = raw
    means = {l: v[fit].mean(axis=0) for l, v in fit_raw.items()}
    centred = {l: unit(v - means[l]) for l, v in raw.items()}
    fit_centred = {l: unit(v - means[l])[fit] for l, v in fit_raw.items()}
    maps = {l: procrustes(fit_centred[l], fit_centred["eng_Latn"]) for l in langs}
    variants = {
        "raw": {l: unit(v) for l, v in raw.items()},
        "centred": centred,
        "centred+procrustes": {l: unit(v @ maps[l]) for l, v in centred.items()},
    }
    n_held = len(raw["eng_Latn"][held])
    fitted = len(fit_centred["eng_Latn"])
    print(f"{len(langs)} languages, {fitted} {args.fit_source} rows fit, {n_held} FLORES rows held out\n")
    print("| language | " + " | ".join(f"{k} X→en@1 / rank of en / own-lang share@10" for k in variants) + " |")
    print("|---" * (len(variants) + 1) + "|")
    summary = {k: [] for k in variants}
    for l in langs[1:]:
        cells = []
        for name, vecs in variants.items():
            x, en = vecs[l][held], vecs["eng_Latn"][held]
            acc = float(((x @ en.T).argmax(axis=1) == numpy.arange(n_held)).mean())
            pool = numpy.concatenate([vecs[m][held] for m in langs])
            owner = numpy.repeat(numpy.arange(len(langs)), n_held)
            scores = x @ pool.T
            # The query itself is in the pool: it is not a candidate.
            scores[numpy.arange(n_held), langs.index(l) * n_held + numpy.arange(n_held)] = -numpy.inf
            en_scores = scores[numpy.arange(n_held), numpy.arange(n_held)]  # English is first
            rank = (scores > en_scores[:, None]).sum(axis=1) + 1
            top = numpy.argsort(-scores, axis=1)[:, :10]
            own = float((owner[top] == langs.index(l)).mean())
            cells.append(f"{acc:.3f} / {rank.mean():.1f} / {own:.2f}")
            summary[name].append((acc, rank.mean(), own))
        print(f"| {l} | " + " | ".join(cells) + " |")
    print("| mean | " + " | ".join(
        "{:.3f} / {:.1f} / {:.2f}".format(*numpy.mean(summary[k], axis=0)) for k in variants) + " |")


if __name__ == "__main__":
    main()
