#!/usr/bin/env python3
"""Per-language table of `mlsearch bench xquad-r --json` results, one model against
another: mono (X→X), cross (X→Y, Y ≠ X, mean over Y) and multi mAP, and rank distance,
per query language.

    python3 scripts/xquad_per_language.py BASE.json OTHER.json
"""
import json
import sys


def per_language(path):
    report = json.load(open(path))["reports"][0]
    mono, cross = {}, {}
    for pair in report["pairs"]:
        q, c = pair["query_lang"], pair["candidate_lang"]
        if q == c:
            mono[q] = pair["map"]
        else:
            cross.setdefault(q, []).append(pair["map"])
    multi = {m["query_lang"]: (m["map"], m["rank_distance"]) for m in report["multi"]}
    return {l: (mono[l], sum(cross[l]) / len(cross[l]), multi[l][0], multi[l][1]) for l in mono}, report


def main():
    (a, ra), (b, rb) = per_language(sys.argv[1]), per_language(sys.argv[2])
    print("| lang | mono mAP | cross mAP | multi mAP | rank distance |")
    print("|---|---|---|---|---|")
    for lang in sorted(a):
        x, y = a[lang], b[lang]
        print(f"| {lang} | {x[0]:.3f} → {y[0]:.3f} | {x[1]:.3f} → {y[1]:.3f} | {x[2]:.3f} → {y[2]:.3f} | {x[3]:.0f} → {y[3]:.0f} |")
    print(f"| all | {ra['mono_map']:.3f} → {rb['mono_map']:.3f} | {ra['cross_map']:.3f} → {rb['cross_map']:.3f} | "
          f"{ra['multi_map']:.3f} → {rb['multi_map']:.3f} | {ra['rank_distance']:.0f} → {rb['rank_distance']:.0f} |")


if __name__ == "__main__":
    main()
