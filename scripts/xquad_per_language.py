#!/usr/bin/env python3
"""Per-language table of `mlsearch bench xquad-r --json` results, one model against
another (or several: `A → B → C`): mono (X→X), cross (X→Y, Y ≠ X, mean over Y) and
multi mAP, and rank distance, per query language.

    python3 scripts/xquad_per_language.py BASE.json OTHER.json [MORE.json …]
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
    runs = [per_language(path) for path in sys.argv[1:]]
    tables = [table for table, _ in runs]

    def cell(values, digits):
        return " → ".join(f"{v:.{digits}f}" for v in values)

    print("| lang | mono mAP | cross mAP | multi mAP | rank distance |")
    print("|---|---|---|---|---|")
    for lang in sorted(tables[0]):
        columns = [cell([t[lang][i] for t in tables], 0 if i == 3 else 3) for i in range(4)]
        print(f"| {lang} | " + " | ".join(columns) + " |")
    keys = ["mono_map", "cross_map", "multi_map", "rank_distance"]
    columns = [cell([r[k] for _, r in runs], 0 if k == "rank_distance" else 3) for k in keys]
    print("| all | " + " | ".join(columns) + " |")


if __name__ == "__main__":
    main()
