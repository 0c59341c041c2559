#!/usr/bin/env python3
"""Chooses the constants of the query language rule (src/search/query_lang.rs, `decide`)
on TRAINING texts, from the evidence `mlsearch bench query-lang --evidence` writes.

    python3 scripts/query_lang_data.py                      # target/query-lang/{train,xquad}.tsv
    ./target/release/mlsearch bench query-lang --index target/xquad-index \
        --queries target/query-lang/train.tsv --evidence target/query-lang/train.evidence.jsonl
    python3 scripts/query_lang_fit.py target/query-lang/train.evidence.jsonl \
        target/ntrex-lang/train.evidence.jsonl      # and FLORES rows on the 67-language index

With several evidence files (one per index), the grid maximises the mean of their scores.
`--unknown FILE` (evidence of names-only queries, e.g. on the fixture index) rules out the
settings that give any of its texts a language (docs/query-language.md, the selection rule).

The rule: the text detector (restricted to the index's languages of the query's script)
votes with min(1, confidence / TEXT_SCALE), the nearest language mean with
min(1, cosine margin / VECTOR_MARGIN); agreeing votes add up (1 - (1-a)(1-b)), opposed
ones cancel (the stronger wins by the difference); below MIN_CONFIDENCE the language stays
unknown. The grid maximises the mean over languages of the share identified right (unknown
counts as not right), then the worst language.
"""
import itertools
import json
import sys
from collections import defaultdict


def decide(e, text_scale, margin, min_conf, use_vector=True):
    c = e["candidates"]
    if not c:
        return e.get("outside")
    if len(c) == 1:
        return c[0]
    text = e.get("text")
    vec = e.get("vector") or []
    t = (text[0], min(1.0, text[1] / text_scale)) if text else None
    v = None
    if use_vector and vec:
        v = (vec[0][0], 1.0 if len(vec) == 1 else min(1.0, (vec[0][1] - vec[1][1]) / margin))
    if t is None and v is None:
        return None
    if t is None or v is None:
        lang, conf = t or v
    elif t[0] == v[0]:
        lang, conf = t[0], 1 - (1 - t[1]) * (1 - v[1])
    elif t[1] >= v[1]:
        lang, conf = t[0], t[1] - v[1]
    else:
        lang, conf = v[0], v[1] - t[1]
    return lang if conf >= min_conf else None


def score(rows, params, use_vector=True):
    per = defaultdict(lambda: [0, 0, 0])  # n, right, wrong
    for r in rows:
        got = decide(r["evidence"], *params, use_vector=use_vector)
        p = per[r["lang"]]
        p[0] += 1
        p[1] += got == r["lang"]
        p[2] += got is not None and got != r["lang"]
    acc = {l: p[1] / p[0] for l, p in per.items()}
    wrong = {l: p[2] / p[0] for l, p in per.items()}
    # A wrong language costs a search more than an unknown one (read per field, centred
    # with the nearest mean: what `--lang any` does): unknown counts half.
    utility = sum(acc[l] + 0.5 * (1 - acc[l] - wrong[l]) for l in acc) / len(acc)
    return sum(acc.values()) / len(acc), min(acc.values()), acc, wrong, utility


def main():
    args = sys.argv[1:]
    # --unknown FILE: evidence of texts that must stay unknown (names-only queries of the
    # test suite); settings that give any of them a language are out.
    unknown = []
    while "--unknown" in args:
        i = args.index("--unknown")
        unknown += [json.loads(l) for l in open(args[i + 1], encoding="utf-8")]
        del args[i : i + 2]
    sets = [[json.loads(l) for l in open(path, encoding="utf-8")] for path in args]
    print(" + ".join(f"{len(rows)} texts" for rows in sets), f"({len(unknown)} must stay unknown)")
    grid = itertools.product(
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0],
        [0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.07, 0.1],
        [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5],
    )
    results = []
    for params in grid:
        if any(decide(u["evidence"], *params) is not None for u in unknown):
            continue
        scores = [score(rows, params) for rows in sets]
        mean = sum(s[0] for s in scores) / len(scores)
        worst = min(s[1] for s in scores)
        utility = sum(s[4] for s in scores) / len(scores)
        results.append((round(utility, 4), round(mean, 4), round(worst, 4), params))
    results.sort(key=lambda r: (r[0], r[1], r[2]), reverse=True)
    print("best (utility: right + unknown/2, mean right, worst right, (TEXT_SCALE, VECTOR_MARGIN, MIN_CONFIDENCE)):")
    for r in results[:10]:
        print(" ", r)
    best = results[0][3]
    print("\nMIN_CONFIDENCE at the chosen scales (utility, mean right, worst right):")
    for c in [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]:
        for rows in sets:
            mean, worst, _, wrong, utility = score(rows, (best[0], best[1], c))
            print(f"  {c:.2f}: {utility:.4f} {mean:.4f} {worst:.4f} wrong {sum(wrong.values()) / len(wrong):.4f}", end="")
        print()
    for c in [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]:
        bad = [u["text"] for u in unknown if decide(u["evidence"], best[0], best[1], c) is not None]
        if bad:
            print(f"  at {c:.2f} these names get a language: {bad}")
    rows = sets[0]
    for use_vector in (True, False):
        mean, worst, acc, wrong, _ = score(rows, best, use_vector)
        print(f"\nchosen {best}, vectors {'on' if use_vector else 'off'}: mean {mean:.3f}, worst {worst:.3f}")
        print("| lang | right | wrong |")
        print("|---|---|---|")
        for l in sorted(acc):
            print(f"| {l} | {acc[l]:.3f} | {wrong[l]:.3f} |")
    # By source: which texts are hard.
    by_group = defaultdict(lambda: [0, 0])
    for r in rows:
        got = decide(r["evidence"], *best)
        g = by_group[(r["lang"], r["group"])]
        g[0] += 1
        g[1] += got == r["lang"]
    print("\nby source:", {f"{l}/{g}": round(v[1] / v[0], 3) for (l, g), v in sorted(by_group.items())})


if __name__ == "__main__":
    main()
