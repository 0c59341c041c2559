#!/usr/bin/env python3
"""An export loaded into a real engine: Milvus Lite (PyPI `milvus-lite` + `pymilvus`).

For the fixture corpus and for the XQuAD corpus: `mlsearch index` (with vectors), `mlsearch
export --format milvus`, load the rows into a Milvus Lite database, then for each question
compare the top 10 of Milvus (searching the `mlsearch embed --query --index` vector) with
the top 10 of `mlsearch query --mode dense`: the share of shared passages.

    python3 -m venv target/milvus-venv && target/milvus-venv/bin/pip install milvus-lite pymilvus
    target/milvus-venv/bin/python scripts/milvus_check.py [--questions 200] [--data ../shared/data/xquad]

Milvus Lite offers only some index types; the schema's HNSW falls back to what it has
(FLAT: exact), so the overlap measures mlsearch's HNSW against exact search there.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

from pymilvus import DataType, MilvusClient

BIN = os.path.abspath("target/release/mlsearch")


def run(*args, stdin=None):
    out = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"mlsearch {' '.join(args)}: {out.stderr}")
    return out.stdout


def load(client, export_dir):
    schema = json.load(open(os.path.join(export_dir, "schema.json")))
    name = schema["collection_name"]
    if client.has_collection(name):
        client.drop_collection(name)
    fields = client.create_schema(auto_id=False)
    for f in schema["fields"]:
        extra = {k: f[k] for k in ("max_length", "dim", "is_primary", "nullable") if k in f}
        fields.add_field(f["name"], getattr(DataType, f["type"]), **extra)
    client.create_collection(name, schema=fields)
    started = time.monotonic()
    rows = 0
    for path in sorted(glob.glob(os.path.join(export_dir, "rows-*.json"))):
        batch = json.load(open(path))
        for i in range(0, len(batch), 1000):
            client.insert(name, batch[i:i + 1000])
        rows += len(batch)
    index = client.prepare_index_params()
    spec = schema["index"]
    try:
        index.add_index(spec["field_name"], index_type=spec["index_type"], metric_type=spec["metric_type"], params=spec["params"])
        client.create_index(name, index)
        kind = spec["index_type"]
    except Exception:  # Milvus Lite: no HNSW
        index = client.prepare_index_params()
        index.add_index(spec["field_name"], index_type="FLAT", metric_type=spec["metric_type"])
        client.create_index(name, index)
        kind = "FLAT"
    client.load_collection(name)
    return name, rows, kind, time.monotonic() - started


def overlap(client, name, index, questions, k=10):
    vectors = [json.loads(l) for l in run("embed", "--query", "--index", index, stdin="\n".join(questions) + "\n").splitlines()]
    shares = []
    for question, vector in zip(questions, vectors):
        ours = [f"{h['doc']}#{h['passage']}" for h in map(json.loads, run("query", question, "--index", index, "--mode", "dense", "-k", str(k), "--json").splitlines())]
        theirs = [hit["id"] for hit in client.search(name, data=[vector], limit=k, output_fields=["id"])[0]]
        if ours:
            shares.append(len(set(ours) & set(theirs)) / len(ours))
    return sum(shares) / len(shares), len(shares)


def xquad_questions(data, n):
    files = sorted(glob.glob(os.path.join(data, "*.json")))
    per_file = max(1, n // len(files))
    questions = []
    for path in files:
        taken = 0
        for article in json.load(open(path))["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    if taken < per_file:
                        questions.append(" ".join(qa["question"].split()))
                        taken += 1
    return questions[:n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "xquad"))
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--work", default="target/milvus-check")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    client = MilvusClient(os.path.join(args.work, "milvus.db"))
    fixture_questions = [l.split("\t", 1)[1].strip() for l in open("fixtures/bakery-queries.tsv") if "\t" in l]
    results = {}
    for label, corpus, questions in [("fixtures", "fixtures/corpus", fixture_questions),
                                     ("xquad", args.data, xquad_questions(args.data, args.questions))]:
        index = os.path.join(args.work, f"{label}-index")
        export = os.path.join(args.work, f"{label}-export")
        run("index", corpus, "--index", index)
        subprocess.run(["rm", "-rf", export], check=True)
        run("export", "--index", index, "--format", "milvus", "--out", export, "--name", label)
        name, rows, kind, seconds = load(client, export)
        share, n = overlap(client, name, index, questions)
        results[label] = {"rows": rows, "milvus_index": kind, "load_seconds": round(seconds, 2), "questions": n, "top10_overlap": round(share, 4)}
        print(label, results[label], flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
