#!/usr/bin/env python3
"""Chooses hybrid fusion settings on TRAINING data, never on the sets we report.

Native (not translated) question -> paragraph pairs from ../shared/data/qa-native: ARCD
(Arabic, all 465 paragraphs), CMRC 2018 trial (Simplified Chinese, 256) and iApp's
validation split (Thai, 190 paragraphs). Their paragraphs go into one index with vectors
(kept in target/fusion-validation, so a second run embeds nothing); every question runs in
batch mode once per setting, with `--lang <its language>` (mono) and `--lang any` (the
three languages pooled). P@1 and MRR@10 of the question's paragraph, per language.

    python3 scripts/fusion_validation.py [--bin target/release/mlsearch] [--configs NAME,...]

The data is read in place (iApp's zip is converted to SQuAD layout under target/).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import zipfile

from bm25_by_language import questions as squad_questions  # (id, text, "<article>-<paragraph>")

CONFIGS = {
    "bm25": ["--mode", "bm25"],
    "dense": ["--mode", "dense"],
    "rrf k=20": ["--fusion", "rrf", "--rrf-k", "20"],
    "rrf k=60": ["--fusion", "rrf", "--rrf-k", "60"],
    "convex w=0.3": ["--dense-weight", "0.3"],
    "convex w=0.4": ["--dense-weight", "0.4"],
    "convex w=0.5": ["--dense-weight", "0.5"],
    "convex w=0.6": ["--dense-weight", "0.6"],
    "convex w=0.7": ["--dense-weight", "0.7"],
    "convex w=0.8": ["--dense-weight", "0.8"],
}


def iapp_to_squad(zip_path, out):
    """iApp's valid.jsonl (one question a line with its context) as SQuAD JSON."""
    rows = [json.loads(l) for l in zipfile.ZipFile(zip_path).read("data/valid.jsonl").decode().splitlines()]
    paragraphs = {}
    for r in rows:
        p = paragraphs.setdefault(r["context"], {"context": r["context"], "qas": []})
        p["qas"].append({"id": str(r["question_id"]), "question": r["question"], "answers": []})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"data": [{"title": "", "paragraphs": list(paragraphs.values())}]}, f, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "qa-native"))
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--work", default="target/fusion-validation")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    args = ap.parse_args()
    corpus = os.path.join(args.work, "corpus")
    os.makedirs(corpus, exist_ok=True)
    files = {"ar": os.path.join(args.data, "ar-arcd/arcd.json"), "zh": os.path.join(args.data, "zh-cmrc2018/cmrc2018_trial.json")}
    for lang, path in files.items():
        link = os.path.join(corpus, f"{lang}.json")
        if not os.path.exists(link):
            os.symlink(os.path.abspath(path), link)
        files[lang] = link
    files["th"] = os.path.join(corpus, "th.json")
    if not os.path.exists(files["th"]):
        iapp_to_squad(os.path.join(args.data, "th-iapp/data.zip"), files["th"])
    index = os.path.join(args.work, "index")
    t0 = time.time()
    out = subprocess.run([args.bin, "index", corpus, "--index", index], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    print(out.stdout.strip(), f"({time.time() - t0:.0f} s)", file=sys.stderr)

    questions = {}
    for lang, path in files.items():
        name = os.path.basename(path)
        qs = [(f"{lang}-{qid}", text, f"{name}#{para}") for qid, text, para in squad_questions(path)]
        questions[lang] = qs
        with open(os.path.join(args.work, f"q.{lang}.tsv"), "w", encoding="utf-8") as f:
            for qid, text, _ in qs:
                f.write(f"{qid}\t{text}\n")

    print("| config | " + " | ".join(f"{l} mono P@1 | {l} mono MRR@10" for l in files) + " | mono MRR@10 | any MRR@10 | s |")
    print("|---|" + "---|---|" * len(files) + "---|---|---|")
    for name in args.configs.split(","):
        t0 = time.time()
        cells, mono, pooled = [], [], []
        for lang, qs in questions.items():
            for scope, sink in (("mono", mono), ("any", pooled)):
                cmd = [args.bin, "query", "--index", index, "--queries", os.path.join(args.work, f"q.{lang}.tsv"),
                       "--trec", "-k", "10", "--query-lang", lang, "--lang", lang if scope == "mono" else "any"]
                run = subprocess.run(cmd + CONFIGS[name], capture_output=True, text=True)
                if run.returncode != 0:
                    sys.exit(run.stderr)
                ranked = {}
                for line in run.stdout.splitlines():
                    qid, _, doc, _, _, _ = line.split()
                    ranked.setdefault(qid, []).append(doc)
                p1 = mrr = 0.0
                for qid, _, rel in qs:
                    docs = ranked.get(qid, [])
                    p1 += docs[:1] == [rel]
                    mrr += 1 / (docs.index(rel) + 1) if rel in docs else 0
                p1, mrr = p1 / len(qs), mrr / len(qs)
                sink.append(mrr)
                if scope == "mono":
                    cells += [f"{p1:.3f}", f"{mrr:.3f}"]
        print(f"| {name} | " + " | ".join(cells) + f" | {sum(mono) / len(mono):.3f} | {sum(pooled) / len(pooled):.3f} | {time.time() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
