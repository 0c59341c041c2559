#!/usr/bin/env python3
"""Post-hoc removal of the language-identity subspace (issue 12), measured on held-out
training data: LIR after Xie et al. 2022 ("Discovering low-rank subspaces for
language-agnostic multilingual representations"). The mean vector of each training
language is stacked into a matrix; its top r singular directions span what tells languages
apart. After per-language centring every vector loses its part in that subspace and is made
unit length again: v ↦ (v − v·U·Uᵀ) / |…|, one projection for all languages, so unlike the
per-language rotations of fit_alignment.py it can change rankings within a language.

Fit data: up to --per-lang sentences of every language of `train prepare mix`'s
train.jsonl (its parallel sources: NTREX-128, TICO-19, FLORES rows it trained on),
embedded as passages. Validation (train_validation.py's parts, held out from training):
mono MRR (native QA and NTREX / TICO sentence → context), held-out cross-lingual query →
context (multi mAP, rank distance), pooled FLORES (multi mAP, rank distance), for each r.

    python3 scripts/fit_subspace.py --mix target/mix [--model M.gguf] [--ranks 0,1,2,4,8,16,32] [--out DIR --rank R]

With --out, writes DIR/<lang>.f32 (the projection I − UUᵀ, dim × dim little-endian f32,
row-major, as `bench --align` reads it) for each of --langs at the rank --rank.
Needs the release binary and numpy.
"""
import argparse
import collections
import json
import os
import random
import sys

import numpy  # pip install numpy

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import train_validation as tv  # noqa: E402


def language_means(mix, embed, per_lang, seed):
    texts = collections.defaultdict(list)
    with open(os.path.join(mix, "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("source") in ("ntrex", "tico", "flores"):
                texts[r["lang"]].append(r["query"])
    rng = random.Random(seed)
    means = {}
    for lang in sorted(texts):
        sample = sorted(set(texts[lang]))
        rng.shuffle(sample)
        means[lang] = embed(sample[:per_lang], "passage", f"subspace.{lang}").mean(axis=0)
    return means


def subspace(means, rank):
    """The top `rank` right singular vectors of the languages' means (minus their mean)."""
    m = numpy.stack(list(means.values()))
    m = m - m.mean(axis=0)
    _, s, vt = numpy.linalg.svd(m, full_matrices=False)
    return vt[:rank].T, s


def projector(u):
    def transform(_lang, v):
        w = v - (v @ u) @ u.T
        return w / numpy.linalg.norm(w, axis=1, keepdims=True)
    return transform


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mix", required=True)
    ap.add_argument("--model")
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--flores", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "flores-sib200"))
    ap.add_argument("--cache", default="target/train-validation")
    ap.add_argument("--per-lang", type=int, default=100)
    ap.add_argument("--ranks", default="0,1,2,4,8,16,32")
    ap.add_argument("--out")
    ap.add_argument("--rank", type=int)
    ap.add_argument("--langs", default="ar,de,el,en,es,hi,ru,th,tr,vi,zh")
    ap.add_argument("--json")
    args = ap.parse_args()
    embed = tv.Embedder(args.bin, args.model, args.cache)
    means = language_means(args.mix, embed, args.per_lang, 42)
    print(f"{len(means)} languages' means", file=sys.stderr)

    if args.out:
        u, _ = subspace(means, args.rank)
        p = numpy.eye(u.shape[0], dtype=numpy.float32) - (u @ u.T).astype(numpy.float32)
        os.makedirs(args.out, exist_ok=True)
        for lang in args.langs.split(","):
            p.astype("<f4").tofile(os.path.join(args.out, f"{lang}.f32"))
        print(f"wrote the rank-{args.rank} projection for {args.langs} to {args.out}", file=sys.stderr)
        return

    trained = set()
    with open(os.path.join(args.mix, "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            if '"source":"flores"' in line:
                trained.add(int(json.loads(line)["id"].split(":")[1]))
    valid = [json.loads(l) for l in open(os.path.join(args.mix, "valid.jsonl"), encoding="utf-8")]
    held_out = [i for i in range(len(tv.flores_rows(args.flores, "eng_Latn"))) if i not in trained]
    mean = lambda d, k: float(numpy.mean([x[k] for x in d.values()]))
    rows = {}
    for rank in [int(r) for r in args.ranks.split(",")]:
        u, s = subspace(means, rank)
        t = projector(u)
        mono, cross, pooled = tv.mono_part(embed, valid, t), tv.cross_part(embed, valid, t), tv.pooled_part(args, embed, held_out, t)
        rows[rank] = {"mono": mono, "cross": cross, "pooled": pooled}
        print(f"r {rank:3d}: mono MRR {mean(mono, 'mrr'):.4f}  held-out cross multi mAP {mean(cross, 'multi_map'):.4f} "
              f"RD {mean(cross, 'rank_distance'):.1f}  pooled FLORES multi mAP {mean(pooled, 'multi_map'):.4f} "
              f"RD {mean(pooled, 'rank_distance'):.1f}", flush=True)
        print("        mono " + " ".join(f"{k} {v['mrr']:.3f}" for k, v in mono.items()), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model or "built-in", "languages": len(means), "ranks": rows}, f, indent=1)


if __name__ == "__main__":
    main()
