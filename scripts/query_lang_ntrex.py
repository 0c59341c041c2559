#!/usr/bin/env python3
"""Query language identification on an index of many languages (issue 28): NTREX-128's
languages that mlsearch analyses on their own terms (one file per language, one code each).

Writes OUT/corpus/<code>.jsonl (the first PASSAGES sentences of each language as passages,
with their `lang`) and OUT/queries.tsv (sentences 1000-1099 of each language cut to their
first 4-12 words, 8-24 characters for unspaced scripts: short texts never indexed and never
used to choose the rule) and OUT/train.tsv (100 FLORES train rows a language held out from the n-gram model, cut the same
way: training texts, for checking the rule's constants on this index). Then:

    python3 scripts/query_lang_ntrex.py --out target/ntrex-lang
    ./target/release/mlsearch index target/ntrex-lang/corpus --index target/ntrex-lang/index
    ./target/release/mlsearch bench query-lang --index target/ntrex-lang/index \
        --queries target/ntrex-lang/queries.tsv
"""
import argparse
import json
import os
import random

from query_lang_ngrams import CODES, flores_rows, held_out, prefix

PASSAGES = 60


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MLSEARCH_DATA", "../shared/data"))
    ap.add_argument("--out", default="target/ntrex-lang")
    args = ap.parse_args()
    rng = random.Random(28)
    corpus = os.path.join(args.out, "corpus")
    os.makedirs(corpus, exist_ok=True)
    queries = []
    for file_code, code in sorted(CODES.items(), key=lambda kv: kv[1]):
        path = os.path.join(args.data, "ntrex-128", "NTREX-128", f"newstest2019-ref.{file_code}.txt")
        with open(path, encoding="utf-8") as f:
            lines = [" ".join(l.split()) for l in f.read().splitlines()]
        with open(os.path.join(corpus, f"{code}.jsonl"), "w", encoding="utf-8") as f:
            for i, line in enumerate(lines[:PASSAGES]):
                f.write(json.dumps({"docid": f"{code}-{i}", "lang": code, "text": line}, ensure_ascii=False) + "\n")
        queries += [(code, prefix(l, rng)) for l in lines[1000:1100] if l]
    with open(os.path.join(args.out, "queries.tsv"), "w", encoding="utf-8") as f:
        for code, text in queries:
            f.write(f"{code}\tntrex\t{text}\n")
    with open(os.path.join(args.out, "train.tsv"), "w", encoding="utf-8") as f:
        for code in sorted(CODES.values()):
            # Only the rows the n-gram model was not trained on.
            rows = [t for i, t in flores_rows(args.data, code) if held_out(i)]
            for text in rng.sample(rows, 100):
                f.write(f"{code}\tflores\t{' '.join(prefix(text, rng).split())}\n")
    print(len(CODES), "languages,", len(queries), "queries")


if __name__ == "__main__":
    main()
