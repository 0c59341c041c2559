#!/usr/bin/env python3
"""Short texts with their language, for choosing and measuring query language identification
(issue 28). Writes `lang<TAB>text` files:

  OUT/train.tsv  TRAINING data the rule's thresholds are chosen on: MGSM questions (the last
                 sentence of each problem: the question itself), FLORES train rows held out from
                 the n-gram model cut to query length (the first 4-12 words), native QA questions (ARCD, iApp,
                 CMRC 2018) and SQuAD questions in English (squad2-fi's question_en).
  OUT/xquad.tsv  EVALUATION only: the 1190 XQuAD questions of each of the 12 languages.

Usage: python3 scripts/query_lang_data.py [--data ../shared/data] [--out target/query-lang]
"""
import argparse
import gzip
import json
import os
import random
import re
import zipfile

from query_lang_ngrams import flores_rows, held_out, prefix

XQUAD = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
PER_SOURCE = 300


def clean(text):
    return " ".join(text.split())


def last_sentence(text):
    parts = [p for p in re.split(r"(?<=[.!?。！？])\s*", text.strip()) if p.strip()]
    return parts[-1] if parts else text


def train_rows(data, rng):
    rows = []
    for lang in XQUAD:
        path = os.path.join(data, "mgsm", f"mgsm_{lang}.tsv")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                qs = [last_sentence(l.split("\t")[0]) for l in f if l.strip()]
            rows += [(lang, "mgsm", clean(q)) for q in qs]
    for lang in XQUAD:
        # Only the rows the n-gram model was not trained on.
        texts = [t for i, t in flores_rows(data, lang) if held_out(i)]
        rows += [(lang, "flores", clean(prefix(t, rng))) for t in rng.sample(texts, min(PER_SOURCE, len(texts)))]
    squad = []
    for path in [os.path.join(data, "qa-native/ar-arcd/arcd.json"), os.path.join(data, "qa-native/zh-cmrc2018/cmrc2018_trial.json")]:
        lang = "ar" if "arcd" in path else "zh"
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        qs = [qa["question"] for a in doc["data"] for p in a["paragraphs"] for qa in p["qas"]]
        rows += [(lang, "qa-native", clean(q)) for q in rng.sample(qs, PER_SOURCE)]
    with zipfile.ZipFile(os.path.join(data, "qa-native/th-iapp/data.zip")) as z:
        name = next(n for n in z.namelist() if n.endswith("train.jsonl"))
        qs = [json.loads(l)["question"] for l in z.read(name).decode("utf-8").splitlines() if l.strip()]
        rows += [("th", "qa-native", clean(q)) for q in rng.sample(qs, PER_SOURCE)]
    with gzip.open(os.path.join(data, "squad2-fi/questions.jsonl.gz"), "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= 20000:
                break
            squad.append(json.loads(line)["question_en"])
    rows += [("en", "squad-en", clean(q)) for q in rng.sample(squad, PER_SOURCE)]
    return [r for r in rows if r[2]]


def xquad_rows(data):
    rows = []
    for lang in XQUAD:
        with open(os.path.join(data, "xquad", f"xquad.{lang}.json"), encoding="utf-8") as f:
            doc = json.load(f)
        rows += [(lang, "xquad", clean(qa["question"])) for a in doc["data"] for p in a["paragraphs"] for qa in p["qas"]]
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MLSEARCH_DATA", "../shared/data"))
    ap.add_argument("--out", default="target/query-lang")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(28)
    for name, rows in [("train", train_rows(args.data, rng)), ("xquad", xquad_rows(args.data))]:
        path = os.path.join(args.out, f"{name}.tsv")
        with open(path, "w", encoding="utf-8") as f:
            for lang, source, text in rows:
                f.write(f"{lang}\t{source}\t{text}\n")
        counts = {}
        for lang, source, _ in rows:
            counts[(lang, source)] = counts.get((lang, source), 0) + 1
        print(path, len(rows), dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
