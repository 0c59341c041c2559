#!/usr/bin/env python3
"""Validation of a trained encoder on training data held out from training, never on the
evaluation sets: the measure every training setting is chosen by (issue 12).

Three parts, each per language (vectors centred per language, as an index does):

- flores: FLORES (SIB-200 train split) sentences that `train prepare mix` did not put in
  its training file (about 489 of 701 a language). Each held-out sentence of X looks up its
  English translation among all 701 English sentences, and each held-out English sentence
  its X translation among X's held-out sentences; accuracy at rank 1, the mean of both.
  This is the acceptance check "FLORES retrieval does not fall by more than 0.01".
- pooled: the first 100 held-out FLORES rows of the pooled languages in one candidate set;
  each sentence searches the others: multi mAP (its translations are relevant) and rank
  distance (worst minus best rank of its translations), the LAReQA measures of language
  bias, on sentences instead of answers.
- mono: within one language, a query retrieves its passage among all held-out passages of
  that language: native QA questions → the sentences around their answers (ar, th, zh),
  and NTREX / TICO sentences → their context (the training task, on held-out documents;
  the contexts of its neighbours, which hold the sentence itself, are not candidates);
  mean reciprocal rank (= AP with one relevant passage) and R@1.

    python3 scripts/train_validation.py --mix target/mix [--model MODEL.gguf] [--json OUT]
    python3 scripts/train_validation.py --mix target/mix --flores-langs all   # 205 variants

`--mix` is the folder `mlsearch train prepare mix --out` wrote (its train.jsonl says which
FLORES rows were trained on; its valid.jsonl has the held-out QA / NTREX / TICO records).
Vectors are cached per model in target/train-validation/. Needs the release binary and numpy.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy  # pip install numpy

# FLORES variants scored by default: XQuAD-R's languages (Greek and Vietnamese are left out
# of training), high-resource ones and a long tail.
FLORES = ("arb_Arab deu_Latn ell_Grek spa_Latn hin_Deva ron_Latn rus_Cyrl tha_Thai tur_Latn vie_Latn "
          "zho_Hans jpn_Jpan kor_Hang fra_Latn por_Latn ind_Latn ben_Beng tam_Taml urd_Arab pes_Arab "
          "swh_Latn yor_Latn hau_Latn ibo_Latn amh_Ethi khm_Khmr mya_Mymr lao_Laoo sin_Sinh zul_Latn "
          "quy_Latn").split()
POOLED = "eng_Latn arb_Arab deu_Latn ell_Grek spa_Latn hin_Deva rus_Cyrl tha_Thai tur_Latn vie_Latn zho_Hans yor_Latn".split()
MONO_LANGS = "ar de en es hi ru th tr zh".split()
# Cross-lingual query → passage on held-out NTREX / TICO documents (see cross_part).
CROSS_LANGS = "ar de en es hi ru th tr zh ha sw km zu".split()
POOLED_ROWS = 100


def flores_rows(data, variant):
    """Sentences sorted by FLORES id, as `train prepare flores` orders them."""
    rows = {}
    with open(os.path.join(data, variant, "train.tsv"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and parts[0] == "index_id":
                continue
            rows[int(parts[0])] = parts[2].strip()
    return [rows[k] for k in sorted(rows)]


class Embedder:
    def __init__(self, binary, model, cache):
        self.binary, self.model = binary, model
        # The built-in model is the binary's (it changed when the trained one shipped);
        # `base` is the untrained base; a file is named by its bytes.
        if model == "base":
            tag = "base"
        else:
            with open(model or binary, "rb") as f:
                tag = ("builtin-" if not model else "") + hashlib.blake2b(f.read(), digest_size=8).hexdigest()
        self.cache = os.path.join(cache, tag)
        os.makedirs(self.cache, exist_ok=True)

    def __call__(self, texts, side, name):
        key = hashlib.blake2b("\n".join(texts).encode(), digest_size=8).hexdigest()
        path = os.path.join(self.cache, f"{name}.{side}.{key}.npy")
        if os.path.exists(path):
            return numpy.load(path)
        args = [self.binary, "embed", "--device", "cpu"] + (["--query"] if side == "query" else [])
        if self.model:
            args += ["--model", self.model]
        clean = [" ".join(t.split()) for t in texts]
        out = subprocess.run(args, input="\n".join(clean) + "\n", capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(out.stderr)
        v = numpy.asarray([json.loads(l) for l in out.stdout.splitlines()], dtype=numpy.float32)
        if len(v) != len(texts):
            sys.exit(f"{name}: {len(texts)} texts but {len(v)} vectors")
        numpy.save(path, v)
        return v


def centred(v, mean=None):
    """Per-language centring as the index applies it: minus the language's mean, unit length."""
    m = v.mean(axis=0) if mean is None else mean
    c = v - m
    return c / numpy.linalg.norm(c, axis=1, keepdims=True)


def rank_of_relevant(scores, relevant):
    """1-based rank of column relevant[i] in row i (ties count against it)."""
    target = scores[numpy.arange(len(scores)), relevant]
    return (scores > target[:, None]).sum(axis=1) + 1


def flores_part(args, embed, held_out, langs):
    en = flores_rows(args.flores, "eng_Latn")
    en_all = centred(embed(en, "query", "flores.eng_Latn"))
    result = {}
    for variant in langs:
        if variant == "eng_Latn":
            continue
        rows = flores_rows(args.flores, variant)
        if len(rows) != len(en):
            continue
        x = centred(embed([rows[i] for i in held_out], "query", f"flores.{variant}.held"))
        x_to_en = float((rank_of_relevant(x @ en_all.T, numpy.asarray(held_out)) == 1).mean())
        en_held = en_all[held_out]
        en_to_x = float((rank_of_relevant(en_held @ x.T, numpy.arange(len(held_out))) == 1).mean())
        result[variant] = {"x_to_en": x_to_en, "en_to_x": en_to_x, "accuracy": (x_to_en + en_to_x) / 2}
    return result


def pooled_part(args, embed, held_out, transform=None):
    transform = transform or (lambda lang, v: v)
    rows = held_out[:POOLED_ROWS]
    vectors, lang_of, row_of = [], [], []
    for variant in POOLED:
        texts = flores_rows(args.flores, variant)
        vectors.append(transform(variant, centred(embed([texts[i] for i in rows], "query", f"pooled.{variant}"))))
        lang_of += [variant] * len(rows)
        row_of += list(range(len(rows)))
    v = numpy.concatenate(vectors)
    lang_of, row_of = numpy.asarray(lang_of), numpy.asarray(row_of)
    scores = v @ v.T
    numpy.fill_diagonal(scores, -numpy.inf)  # a sentence is not its own candidate
    result = {}
    for variant in POOLED:
        aps, distances = [], []
        for q in numpy.flatnonzero(lang_of == variant):
            relevant = numpy.flatnonzero((row_of == row_of[q]) & (lang_of != variant))
            order = numpy.argsort(-scores[q], kind="stable")
            position = numpy.empty(len(order), dtype=int)
            position[order] = numpy.arange(1, len(order) + 1)
            ranks = numpy.sort(position[relevant])
            aps.append(float(numpy.mean(numpy.arange(1, len(ranks) + 1) / ranks)))
            distances.append(int(ranks[-1] - ranks[0]))
        result[variant] = {"multi_map": float(numpy.mean(aps)), "rank_distance": float(numpy.mean(distances))}
    return result


def mono_part(embed, valid, transform=None):
    """Query → its passage among the held-out passages of its language and source.
    `transform(lang, vectors)` is applied after centring (post-hoc maps)."""
    transform = transform or (lambda lang, v: v)
    groups = {}
    for r in valid:
        if r.get("cross_only"):
            continue
        source = r.get("source", "")
        if source == "qa" or (source in ("ntrex", "tico") and r["lang"] in MONO_LANGS):
            groups.setdefault((source, r["lang"]), []).append(r)
    result = {}
    for (source, lang), records in sorted(groups.items()):
        passages = sorted({r["passage"] for r in records})
        index = {p: i for i, p in enumerate(passages)}
        q = embed([r["query"] for r in records], "query", f"mono.{source}.{lang}")
        p = embed(passages, "passage", f"mono.{source}.{lang}")
        mean = p.mean(axis=0)  # queries are centred with the passages' mean, as in an index
        scores = transform(lang, centred(q, mean)) @ transform(lang, centred(p)).T
        # A neighbour's context holds the query sentence itself (NTREX, TICO): not a
        # candidate, or the copy would always win.
        for i, r in enumerate(records):
            for j, passage in enumerate(passages):
                if j != index[r["passage"]] and r["query"] in passage:
                    scores[i, j] = -numpy.inf
        ranks = rank_of_relevant(scores, numpy.asarray([index[r["passage"]] for r in records]))
        result[f"{source}.{lang}"] = {"mrr": float(numpy.mean(1.0 / ranks)), "r_at_1": float(numpy.mean(ranks == 1)),
                                      "queries": len(records), "candidates": len(passages)}
    return result


def cross_part(embed, valid, transform=None):
    """LAReQA on held-out training documents: each NTREX / TICO query sentence of language X
    searches the pooled held-out contexts of every language that has the source; the
    contexts of its translations (same id) are relevant. Multi mAP and rank distance as in
    XQuAD-R, and X→en MRR (English contexts only). A neighbour's context holds the query
    sentence's own translation: not a candidate. `transform(lang, vectors)` is applied after
    centring (post-hoc alignment)."""
    transform = transform or (lambda lang, v: v)
    result = {}
    for source in ("ntrex", "tico"):
        by_lang = {}
        for r in valid:
            if r.get("source") == source and r["lang"] in CROSS_LANGS and not r.get("cross_only"):
                by_lang.setdefault(r["lang"], {})[r["id"]] = r
        if "en" not in by_lang:
            continue
        ids = sorted(set.intersection(*(set(d) for d in by_lang.values())))
        langs = sorted(by_lang)
        queries, passages, sentences = {}, {}, {}
        for lang in langs:
            records = [by_lang[lang][i] for i in ids]
            # The same texts and names as mono_part, so both share the cache.
            all_records = [r for r in valid if r.get("source") == source and r["lang"] == lang and not r.get("cross_only")]
            texts = sorted({r["passage"] for r in all_records})
            where = {p: k for k, p in enumerate(texts)}
            q_all = embed([r["query"] for r in all_records], "query", f"mono.{source}.{lang}")
            p_all = embed(texts, "passage", f"mono.{source}.{lang}")
            row = {r["id"]: k for k, r in enumerate(all_records)}
            mean = p_all.mean(axis=0)
            queries[lang] = transform(lang, centred(q_all[[row[i] for i in ids]], mean))
            passages[lang] = transform(lang, centred(p_all[[where[r["passage"]] for r in records]], mean))
            sentences[lang] = [r["query"] for r in records]
        pool = numpy.concatenate([passages[l] for l in langs])
        lang_of = numpy.repeat(numpy.arange(len(langs)), len(ids))
        id_of = numpy.tile(numpy.arange(len(ids)), len(langs))
        texts = [by_lang[l][i]["passage"] for l in langs for i in ids]
        # holds[k, j]: candidate k holds the sentence of id j in its language (j ≠ its own id).
        holds = numpy.zeros((len(pool), len(ids)), dtype=bool)
        for k, text in enumerate(texts):
            l = langs[lang_of[k]]
            for j in range(len(ids)):
                if j != id_of[k] and sentences[l][j] in text:
                    holds[k, j] = True
        en = langs.index("en")
        for x, lang in enumerate(langs):
            scores = queries[lang] @ pool.T
            aps, distances, rr = [], [], []
            for i in range(len(ids)):
                s = scores[i].copy()
                s[holds[:, i]] = -numpy.inf
                relevant = numpy.flatnonzero(id_of == i)
                ranks = numpy.sort((s[None, :] > s[relevant][:, None]).sum(axis=1) + 1)
                aps.append(float(numpy.mean(numpy.arange(1, len(ranks) + 1) / ranks)))
                distances.append(int(ranks[-1] - ranks[0]))
                if lang != "en":
                    en_scores = s[lang_of == en]
                    rr.append(1.0 / ((en_scores > en_scores[i]).sum() + 1))
            result[f"{source}.{lang}"] = {"multi_map": float(numpy.mean(aps)), "rank_distance": float(numpy.mean(distances)),
                                          "x_to_en_mrr": float(numpy.mean(rr)) if rr else None,
                                          "queries": len(ids), "candidates": len(pool)}
    return result


QA_QUERIES = 1000


def qa_part(embed, qa_valid):
    """Question → paragraph on the QA training data's held-out split (`train prepare mix
    --sources squad2-fi,jaquad`: whole held-out squad2-fi articles, JaQuAD's dev split):
    each of the first QA_QUERIES questions of a direction searches all held-out passages of
    the passage's language; MRR and R@1. fi→fi, en→en, ja→ja are monolingual; fi→en and
    en→fi are the cross-lingual pairs the paper trained on."""
    by_lang = {}
    for r in qa_valid:
        by_lang.setdefault(r["lang"], []).append(r)
    passages, vectors = {}, {}
    for lang, records in by_lang.items():
        passages[lang] = sorted({r["passage"] for r in records})
        vectors[lang] = embed(passages[lang], "passage", f"qa.{lang}")
    result = {}
    directions = [(l, l) for l in sorted(by_lang)] + [(a, b) for a in ("fi", "en") for b in ("fi", "en") if a != b]
    for q_lang, p_lang in directions:
        if q_lang not in by_lang or p_lang not in by_lang:
            continue
        # One question a group (its translations share the id), first QA_QUERIES by id.
        records = sorted(by_lang[q_lang], key=lambda r: r["id"])[:QA_QUERIES]
        target = {r["id"]: r["passage"] for r in by_lang[p_lang]}
        records = [r for r in records if r["id"] in target]
        q = embed([r["query"] for r in records], "query", f"qa.{q_lang}.q")
        p = vectors[p_lang]
        mean = p.mean(axis=0)
        index = {t: i for i, t in enumerate(passages[p_lang])}
        scores = centred(q, mean) @ centred(p).T
        ranks = rank_of_relevant(scores, numpy.asarray([index[target[r["id"]]] for r in records]))
        result[f"{q_lang}-{p_lang}"] = {"mrr": float(numpy.mean(1.0 / ranks)), "r_at_1": float(numpy.mean(ranks == 1)),
                                        "queries": len(records), "candidates": len(p)}
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mix", required=True, help="folder of `train prepare mix --out`")
    ap.add_argument("--model", help="model file, or base for the untrained base (default: the built-in model)")
    ap.add_argument("--bin", default="target/release/mlsearch")
    ap.add_argument("--flores", default=os.path.join(os.environ.get("MLSEARCH_DATA", "../shared/data"), "flores-sib200"))
    ap.add_argument("--flores-langs", default=",".join(FLORES), help="comma-separated variants, or all")
    ap.add_argument("--cache", default="target/train-validation")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--qa", help="folder of `train prepare mix --sources squad2-fi,jaquad --out`: adds its held-out QA")
    args = ap.parse_args()

    trained = set()
    with open(os.path.join(args.mix, "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("source") == "flores":
                trained.add(int(r["id"].split(":")[1]))
    valid = [json.loads(l) for l in open(os.path.join(args.mix, "valid.jsonl"), encoding="utf-8")]
    held_out = [i for i in range(len(flores_rows(args.flores, "eng_Latn"))) if i not in trained]
    langs = sorted(os.listdir(args.flores)) if args.flores_langs == "all" else args.flores_langs.split(",")
    langs = [l for l in langs if os.path.isdir(os.path.join(args.flores, l))]

    embed = Embedder(args.bin, args.model, args.cache)
    report = {"model": args.model or "built-in", "flores_held_out": len(held_out),
              "flores": flores_part(args, embed, held_out, langs), "pooled": pooled_part(args, embed, held_out),
              "mono": mono_part(embed, valid), "cross": cross_part(embed, valid)}
    if args.qa:
        qa_valid = [json.loads(l) for l in open(os.path.join(args.qa, "valid.jsonl"), encoding="utf-8")]
        report["qa"] = qa_part(embed, qa_valid)
    mean = lambda d, k: float(numpy.mean([x[k] for x in d.values()]))
    report["summary"] = {"flores_accuracy": mean(report["flores"], "accuracy"),
                         "flores_worst": min((x["accuracy"], l) for l, x in report["flores"].items()),
                         "multi_map": mean(report["pooled"], "multi_map"),
                         "rank_distance": mean(report["pooled"], "rank_distance"),
                         "mono_mrr": mean(report["mono"], "mrr"),
                         "cross_multi_map": mean(report["cross"], "multi_map"),
                         "cross_rank_distance": mean(report["cross"], "rank_distance"),
                         "cross_x_to_en_mrr": float(numpy.mean([x["x_to_en_mrr"] for x in report["cross"].values()
                                                                if x["x_to_en_mrr"] is not None]))}
    if "qa" in report:
        qa = report["qa"]
        report["summary"]["qa_mono_mrr"] = float(numpy.mean([v["mrr"] for k, v in qa.items() if k[:2] == k[3:]]))
        report["summary"]["qa_cross_mrr"] = float(numpy.mean([v["mrr"] for k, v in qa.items() if k[:2] != k[3:]]))
    text = json.dumps(report, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    s = report["summary"]
    print(f"{report['model']}: mono MRR {s['mono_mrr']:.4f}  pooled multi mAP {s['multi_map']:.4f}  "
          f"rank distance {s['rank_distance']:.1f}  FLORES acc {s['flores_accuracy']:.4f} "
          f"(worst {s['flores_worst'][1]} {s['flores_worst'][0]:.4f}; {len(held_out)} held-out rows)")
    for k, v in report["mono"].items():
        print(f"  mono {k}: MRR {v['mrr']:.4f} R@1 {v['r_at_1']:.4f} ({v['queries']} q, {v['candidates']} passages)")
    print(f"  cross (held-out NTREX/TICO, pooled): multi mAP {s['cross_multi_map']:.4f} "
          f"rank distance {s['cross_rank_distance']:.1f} X→en MRR {s['cross_x_to_en_mrr']:.4f}")
    for k, v in report.get("qa", {}).items():
        print(f"  qa {k}: MRR {v['mrr']:.4f} R@1 {v['r_at_1']:.4f} ({v['queries']} q, {v['candidates']} passages)")
    for k, v in report["pooled"].items():
        print(f"  pooled {k}: multi mAP {v['multi_map']:.4f} rank distance {v['rank_distance']:.1f}")


if __name__ == "__main__":
    main()
