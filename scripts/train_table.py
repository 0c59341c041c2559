#!/usr/bin/env python3
"""Rows of docs/measurements/training.md for issue 12's training runs, from what
`scripts/train_run.sh NAME` wrote:
full XQuAD-R dense mAP (centred, and raw where `NAME.raw.xquad.json` exists: `bench
xquad-r --mode dense --json --no-centring`), and the validation on held-out training data
(FLORES mean, languages that fall by more than 0.01 against the first name, held-out
cross-lingual multi mAP and rank distance).

    python3 scripts/train_table.py base xy30 xy30-t50 …      # the first name is the reference
"""
import json
import os
import sys

VAL = "target/val"


def xquad(name, kind):
    path = f"{VAL}/{name}.{kind}xquad.json"
    if not os.path.exists(path):
        return None
    r = json.load(open(path))["reports"][0]
    return r["mono_map"], r["cross_map"], r["multi_map"], r["rank_distance"]


def validation(name):
    # NAME.qa.json: with the held-out QA part (scripts/train_qa.sh); base.v2.json: the
    # built-in model scored again once the cross-lingual part existed.
    for path in (f"{VAL}/{name}.qa.json", f"{VAL}/{name}.v2.json", f"{VAL}/{name}.json"):
        if os.path.exists(path):
            return json.load(open(path))
    return None


def fmt(scores):
    if scores is None:
        return "— | — | — | —"
    mono, cross, multi, rd = scores
    return f"{mono:.3f} | {cross:.3f} | {multi:.3f} | {rd:.0f}"


def main():
    names = sys.argv[1:]
    reference = validation(names[0])["flores"]
    qa = "qa_mono_mrr" in validation(names[0])["summary"]
    print("| model | centred mono / cross / multi / RD | raw mono / cross / multi / RD "
          "| FLORES mean | FLORES down > 0.01 | held-out cross multi mAP / RD |"
          + (" held-out QA mono / cross MRR |" if qa else ""))
    print("|---|---|---|---|---|---|" + ("---|" if qa else ""))
    for name in names:
        v = validation(name)
        summary = v["summary"]
        down = sorted(
            (acc["accuracy"] - reference[lang]["accuracy"], lang)
            for lang, acc in v["flores"].items()
            if acc["accuracy"] < reference[lang]["accuracy"] - 0.01
        )
        worst = f" (worst {down[0][1]} {down[0][0]:+.3f})" if down else ""
        cross = (
            f"{summary['cross_multi_map']:.3f} / {summary['cross_rank_distance']:.0f}"
            if "cross_multi_map" in summary
            else "—"
        )
        centred, raw = fmt(xquad(name, "")), fmt(xquad(name, "raw."))
        print(f"| {name} | {centred.replace(' | ', ' / ')} | {raw.replace(' | ', ' / ')} "
              f"| {summary['flores_accuracy']:.3f} | {len(down)}{worst} | {cross} |"
              + (f" {summary.get('qa_mono_mrr', float('nan')):.3f} / {summary.get('qa_cross_mrr', float('nan')):.3f} |" if qa else ""))


if __name__ == "__main__":
    main()
