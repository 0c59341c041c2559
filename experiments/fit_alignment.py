#!/usr/bin/env python3
"""Post-hoc alignment (issue 12): fit one orthogonal map per language onto English, after
per-language centring, on parallel *training* sentences, and keep a map only where it helps
on held-out FLORES rows (the gate). English keeps the identity.

Fit data: the parallel groups of `train prepare mix`'s train.jsonl (NTREX-128, TICO-19 and
the FLORES rows it trained on; records that share `source` and `id` are translations of each
other): the X sentence and its English sentence, both embedded as passages, each language
centred by its own mean over the fit sentences; W = UVᵀ from the SVD of XᵀE (Procrustes),
so a vector v of language X becomes v·W.

Gate: FLORES rows that are not in train.jsonl (held out), passage vectors centred by their
language's held-out mean. For each language X with a map, on its held-out rows: X→en accuracy
at rank 1 among the English held-out rows, and multi AP in a pool of every gated language's
held-out rows (its translations in the other languages are relevant). The map is kept when
multi AP rises and X→en accuracy falls by no more than 0.005; both with and without are
measured with every other language's map in place.

    python3 scripts/fit_alignment.py --mix target/mix --out target/align/builtin [--model M.gguf]

Writes OUT/<lang>.f32 (dim × dim little-endian f32, row-major: v ↦ v·W) for the kept maps
and OUT/report.json (per language: pairs, held-out measures with and without, kept).
Vectors are cached with train_validation.py's cache. Needs the release binary and numpy.
"""
import argparse
import collections
import json
import os
import random
import sys

import numpy  # pip install numpy

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
from train_validation import Embedder, centred, flores_rows, rank_of_relevant  # noqa: E402

# Index language code → (FLORES variant, the codes `train prepare mix` gives it). Greek and
# Vietnamese are left out of the mix (unseen languages), so they get no fit data.
LANGS = {
    "ar": ("arb_Arab", {"ar"}), "de": ("deu_Latn", {"de"}), "es": ("spa_Latn", {"es"}),
    "hi": ("hin_Deva", {"hi"}), "ru": ("rus_Cyrl", {"ru"}), "th": ("tha_Thai", {"th"}),
    "tr": ("tur_Latn", {"tr"}), "zh": ("zho_Hans", {"zh"}), "fr": ("fra_Latn", {"fr"}),
    "pt": ("por_Latn", {"pt"}), "ja": ("jpn_Jpan", {"ja"}), "ko": ("kor_Hang", {"ko"}),
    "id": ("ind_Latn", {"id"}), "bn": ("ben_Beng", {"bn"}), "fa": ("pes_Arab", {"fa", "pes"}),
    "sw": ("swh_Latn", {"sw", "swh"}), "yo": ("yor_Latn", {"yo", "yor"}),
    "ha": ("hau_Latn", {"ha", "hau"}), "am": ("amh_Ethi", {"am"}), "km": ("khm_Khmr", {"km"}),
    "zu": ("zul_Latn", {"zu"}), "my": ("mya_Mymr", {"my"}),
}
GATE_ROWS = 300


def fit_pairs(mix, langs, per_lang, seed):
    """Per language: list of (X sentence, English sentence) from the mix's parallel groups."""
    groups = collections.defaultdict(dict)
    with open(os.path.join(mix, "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("source") in ("ntrex", "tico", "flores"):
                groups[(r["source"], r["id"])].setdefault(r["lang"], r["query"])
    pairs = {}
    rng = random.Random(seed)
    for code in langs:
        codes = LANGS[code][1]
        found = []
        for key in sorted(groups):
            g = groups[key]
            x = next((g[c] for c in sorted(codes) if c in g), None)
            if x is not None and "en" in g:
                found.append((x, g["en"]))
        rng.shuffle(found)
        pairs[code] = found[:per_lang]
    return pairs


def procrustes(x, e):
    u, _, vt = numpy.linalg.svd(x.T @ e)
    return (u @ vt).astype(numpy.float32)


def gate_measures(held, maps, code):
    """X→en accuracy and multi AP of `code`'s held-out rows, the pool mapped by `maps`."""
    mapped = {c: (v @ maps[c] if c in maps else v) for c, v in held.items()}
    x, en = mapped[code], mapped["en"]
    rows = numpy.arange(len(x))
    acc = float((rank_of_relevant(x @ en.T, rows) == 1).mean())
    langs = sorted(mapped)
    pool = numpy.concatenate([mapped[c] for c in langs])
    lang_of = numpy.repeat(langs, len(x))
    row_of = numpy.tile(rows, len(langs))
    scores = x @ pool.T
    aps = []
    for i in rows:
        s = scores[i].copy()
        s[(lang_of == code) & (row_of == i)] = -numpy.inf  # not its own candidate
        relevant = numpy.flatnonzero((row_of == i) & (lang_of != code))
        ranks = numpy.sort((s[None, :] > s[relevant][:, None]).sum(axis=1) + 1)
        aps.append(float(numpy.mean(numpy.arange(1, len(ranks) + 1) / ranks)))
    return acc, float(numpy.mean(aps))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mix", required=True, help="folder of `train prepare mix --out`")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", help="model file (default: the built-in model)")
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--flores", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "flores-sib200"))
    ap.add_argument("--langs", default=",".join(LANGS))
    ap.add_argument("--pairs", type=int, default=2000, help="fit pairs per language at most")
    ap.add_argument("--no-gate", action="store_true", help="keep every map")
    ap.add_argument("--cache", default="target/train-validation")
    args = ap.parse_args()
    langs = [c for c in args.langs.split(",") if c in LANGS]
    embed = Embedder(args.bin, args.model, args.cache)

    pairs = fit_pairs(args.mix, langs, args.pairs, 42)
    english = sorted({e for p in pairs.values() for _, e in p})
    en_vec = dict(zip(english, embed(english, "passage", "align.en")))
    en_mean = numpy.mean(list(en_vec.values()), axis=0)
    maps, report = {}, {}
    for code in langs:
        if len(pairs[code]) < 200:
            report[code] = {"pairs": len(pairs[code]), "kept": False, "why": "too few pairs"}
            continue
        x = centred(embed([p[0] for p in pairs[code]], "passage", f"align.{code}"))
        e = centred(numpy.stack([en_vec[p[1]] for p in pairs[code]]), en_mean)
        maps[code] = procrustes(x, e)
        report[code] = {"pairs": len(pairs[code])}
        print(f"{code}: {len(pairs[code])} pairs", file=sys.stderr)

    trained = set()
    with open(os.path.join(args.mix, "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            if '"source":"flores"' in line:
                trained.add(int(json.loads(line)["id"].split(":")[1]))
    en_rows = flores_rows(args.flores, "eng_Latn")
    held_out = [i for i in range(len(en_rows)) if i not in trained][:GATE_ROWS]
    held = {}
    for code in ["en"] + [c for c in langs if c in maps]:
        variant = "eng_Latn" if code == "en" else LANGS[code][0]
        rows = flores_rows(args.flores, variant)
        held[code] = centred(embed([rows[i] for i in held_out], "passage", f"align.held.{code}"))

    kept = dict(maps)
    for code in list(maps):
        acc_with, ap_with = gate_measures(held, kept, code)
        without = {c: m for c, m in kept.items() if c != code}
        acc_without, ap_without = gate_measures(held, without, code)
        keep = args.no_gate or (ap_with > ap_without and acc_with >= acc_without - 0.005)
        if not keep:
            del kept[code]
        report[code].update({"x_to_en": [acc_without, acc_with], "multi_ap": [ap_without, ap_with], "kept": keep})
        print(f"{code}: X→en {acc_without:.3f} → {acc_with:.3f}  multi AP {ap_without:.3f} → {ap_with:.3f}  "
              f"{'kept' if keep else 'dropped'}", file=sys.stderr)

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.endswith(".f32"):
            os.remove(os.path.join(args.out, name))
    for code, w in kept.items():
        w.astype("<f4").tofile(os.path.join(args.out, f"{code}.f32"))
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump({"model": args.model or "built-in", "held_out_rows": len(held_out), "langs": report}, f, indent=1)
    print(f"kept {len(kept)} of {len(maps)} maps: {', '.join(sorted(kept))}", file=sys.stderr)


if __name__ == "__main__":
    main()
