#!/usr/bin/env python3
"""`mlsearch watch`: time from a file's change to the change being searchable, at rest and
under a burst of 1,000 new files, in a folder of 1,000 files.

    python3 scripts/watch_latency.py [--vectors] [--trials 10] [--burst 1000]

A file with a word of its own is written; a fresh `mlsearch query WORD --mode bm25`
process (which opens the newest commit) is run every 20 ms until it finds it. With
`--vectors` the watch embeds every new passage (the built-in model) as `index` does.
Also reports the same run's reference: the time `mlsearch index` takes for one changed
file (a process start, the walk, the commit), which the watch saves by staying up.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BIN = "target/release/mlsearch"


def searchable(index, word):
    out = subprocess.run([BIN, "query", word, "--index", index, "--mode", "bm25", "-k", "1", "--json"],
                         capture_output=True, text=True)
    return out.returncode == 0 and word in out.stdout


def wait_searchable(index, word, limit=120):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if searchable(index, word):
            return time.monotonic()
        time.sleep(0.02)
    sys.exit(f"{word} not searchable within {limit} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vectors", action="store_true")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--base-files", type=int, default=1000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mlsearch-watch-")
    corpus, index = os.path.join(work, "corpus"), os.path.join(work, "index")
    os.makedirs(corpus)
    for i in range(args.base_files):
        with open(os.path.join(corpus, f"base{i:04}.txt"), "w") as f:
            f.write(f"Base note {i} about harbours, lighthouses and the tides of word{i:04}base.\n")
    flags = [] if args.vectors else ["--no-vectors"]
    watch = subprocess.Popen([BIN, "watch", corpus, "--index", index] + flags,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        while "indexed:" not in watch.stdout.readline():
            pass
        rest = []
        for t in range(args.trials):
            word = f"restword{t:03}x"
            time.sleep(1.0)
            started = time.monotonic()
            with open(os.path.join(corpus, f"rest{t:03}.txt"), "w") as f:
                f.write(f"A note written at rest, number {t}, with the word {word}.\n")
            rest.append(wait_searchable(index, word) - started)
        time.sleep(1.0)
        started = time.monotonic()
        for i in range(args.burst):
            with open(os.path.join(corpus, f"burst{i:04}.txt"), "w") as f:
                f.write(f"Burst note {i} with the word burstword{i:04}x.\n")
        written = time.monotonic() - started
        first = wait_searchable(index, "burstword0000x") - started
        last = wait_searchable(index, f"burstword{args.burst - 1:04}x") - started
    finally:
        watch.terminate()
        watch.wait()
    # The reference: one changed file through `mlsearch index` (a process per change).
    with open(os.path.join(corpus, "reference.txt"), "w") as f:
        f.write("One more note for the index run.\n")
    started = time.monotonic()
    subprocess.run([BIN, "index", corpus, "--index", index] + flags, capture_output=True, check=True)
    index_run = time.monotonic() - started
    shutil.rmtree(work)
    result = {
        "vectors": args.vectors, "base_files": args.base_files,
        "rest_seconds": {"median": statistics.median(rest), "max": max(rest), "all": [round(x, 3) for x in rest]},
        "burst": {"files": args.burst, "written_in": written, "first_searchable": first, "last_searchable": last},
        "reference_index_run_one_change": index_run,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
