#!/usr/bin/env python3
"""Builds the character n-gram language model that identifies short queries (issue 28):
`src/analysis/lang_ngrams.txt`, which build.rs compresses into the binary for
`src/analysis/ngrams.rs`.

Training texts: FLORES (SIB-200 train split) rows of every language mlsearch analyses that
shares its script with another (54 languages),
except the rows whose `index_id` is a multiple of 4: those are held out, and the training
texts that choose the identification rule's constants (scripts/query_lang_data.py,
scripts/query_lang_ntrex.py) are cut from them only. XQuAD is never read; NTREX only with
`--sources flores,ntrex` or `--eval-on ntrex` (measuring, never for the model file), and
never its rows 0-99 (the evaluation index) or 1000-1099 (the evaluation queries).

A text's features are the character 1- to N-grams of its words, lower-cased (NFC), each
word padded with `_` on both sides; digits and punctuation split words. The model keeps,
per language and order, the TOP most frequent grams with their counts and the order's
total count and number of distinct grams (a gram not kept gets the leftover mass, see
`loglik`).

    python3 scripts/query_lang_ngrams.py                  # writes the model
    python3 scripts/query_lang_ngrams.py --eval           # accuracy on held-out rows (validation)
    python3 scripts/query_lang_ngrams.py --eval --eval-on ntrex --smoothing add-one   # and so on
"""
import argparse
import math
import os
import random
import unicodedata
from collections import Counter, defaultdict

# mlsearch code -> FLORES folder (every language of src/analysis/lang.rs that FLORES has;
# Latin is not in FLORES).
FOLDERS = {
    "af": "afr_Latn", "ak": "aka_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "az": "azj_Latn", "be": "bel_Cyrl",
    "bg": "bul_Cyrl", "bn": "ben_Beng", "ca": "cat_Latn", "cs": "ces_Latn", "cy": "cym_Latn", "da": "dan_Latn",
    "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn", "eo": "epo_Latn", "es": "spa_Latn", "et": "est_Latn",
    "fa": "pes_Arab", "fi": "fin_Latn", "fr": "fra_Latn", "gu": "guj_Gujr", "he": "heb_Hebr", "hi": "hin_Deva",
    "hr": "hrv_Latn", "hu": "hun_Latn", "hy": "hye_Armn", "id": "ind_Latn", "it": "ita_Latn", "ja": "jpn_Jpan",
    "jv": "jav_Latn", "ka": "kat_Geor", "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang", "lo": "lao_Laoo",
    "lt": "lit_Latn", "lv": "lvs_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mr": "mar_Deva", "my": "mya_Mymr",
    "nb": "nob_Latn", "ne": "npi_Deva", "nl": "nld_Latn", "or": "ory_Orya", "pa": "pan_Guru", "pl": "pol_Latn",
    "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "si": "sin_Sinh", "sk": "slk_Latn", "sl": "slv_Latn",
    "sn": "sna_Latn", "sr": "srp_Cyrl", "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu",
    "th": "tha_Thai", "tk": "tuk_Latn", "tl": "tgl_Latn", "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab",
    "uz": "uzn_Latn", "vi": "vie_Latn", "yi": "ydd_Hebr", "yo": "yor_Latn", "zh": "zho_Hans", "zu": "zul_Latn",
}
# Languages that are alone among mlsearch's in their script: the script decides for them
# (src/analysis/lang.rs, `script_languages`), so the model leaves them out.
OWN_SCRIPT = {"am", "bn", "el", "gu", "hy", "ka", "km", "kn", "ko", "lo", "ml", "my", "or", "pa", "si", "ta", "te", "th"}
HELD_OUT = 4  # rows with index_id % HELD_OUT == 0 are not trained on
# NTREX-128 file of each language that has one. Rows
# 0-99 (the evaluation index holds 0-59), 1000-1099 (the evaluation queries) and 1100-1199
# (validation) are never trained on.
# NTREX file code -> mlsearch code (languages with their own analyzer; one variant each).
CODES = {
    "afr": "af", "amh": "am", "arb": "ar", "aze-Latn": "az", "bel": "be", "bul": "bg", "ben": "bn",
    "cat": "ca", "ces": "cs", "cym": "cy", "dan": "da", "deu": "de", "ell": "el", "eng-US": "en",
    "est": "et", "fas": "fa", "fin": "fi", "fra": "fr", "guj": "gu", "heb": "he", "hin": "hi",
    "hrv": "hr", "hun": "hu", "hye": "hy", "ind": "id", "ita": "it", "jpn": "ja", "kat": "ka",
    "khm": "km", "kan": "kn", "kor": "ko", "lao": "lo", "lit": "lt", "lav": "lv", "mkd": "mk",
    "mal": "ml", "mar": "mr", "mya": "my", "nob": "nb", "nep": "ne", "nld": "nl", "pan": "pa",
    "pol": "pl", "por": "pt", "ron": "ro", "rus": "ru", "sin": "si", "slk": "sk", "slv": "sl",
    "sna-Latn": "sn", "srp-Cyrl": "sr", "swe": "sv", "swa": "sw", "tam": "ta", "tel": "te",
    "tha": "th", "tuk": "tk", "fil": "tl", "tur": "tr", "ukr": "uk", "urd": "ur", "uzb": "uz",
    "vie": "vi", "yor": "yo", "zho-CN": "zh", "zul": "zu", "spa": "es",
}
NTREX_FILES = {code: file_code for file_code, code in CODES.items()}
NTREX_VALIDATION = range(1100, 1200)


def ntrex_rows(data, code):
    """(row, text) of a language's NTREX-128 sentences, none if NTREX lacks the language."""
    if code not in NTREX_FILES:
        return []
    path = os.path.join(data, "ntrex-128", "NTREX-128", f"newstest2019-ref.{NTREX_FILES[code]}.txt")
    with open(path, encoding="utf-8") as f:
        return [(i, " ".join(l.split())) for i, l in enumerate(f.read().splitlines()) if l.strip()]


def ntrex_trained(row):
    return not (row < 100 or 1000 <= row < 1200)


def flores_rows(data, code):
    """(index_id, text) of a language's FLORES train rows."""
    path = os.path.join(data, "flores-sib200", FOLDERS[code], "train.tsv")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) >= 3:
                rows.append((int(parts[0]), parts[2]))
    return rows


def held_out(index_id):
    return index_id % HELD_OUT == 0


# Latin and Cyrillic letters drawn alike (upper case before lower-casing), as
# src/analysis/ngrams.rs folds them: people and converters type a Latin e inside Cyrillic
# words ("Крeмљ"), and the grams around it are unseen in every language.
LOOKALIKES = list(zip("AaBCcEeHiJjKMOoPpTXxYy", "АаВСсЕеНіЈјКМОоРрТХхУу"))
TO_CYRILLIC = {lat: cyr for lat, cyr in LOOKALIKES}
TO_LATIN = {cyr: lat for lat, cyr in LOOKALIKES}
# How look-alikes are folded (--fold, for measuring the choice on held-out rows): "none";
# "words": a word that mixes the scripts goes to the script of most of its letters
# with no look-alike;
# "ties": a tie goes to the text's script; "all" (the model's): also a word made only of
# the other script's look-alikes ("je" in Cyrillic text) goes to the text's script.
FOLD = "all"


def is_cyrillic(ch):
    return "\u0400" <= ch <= "\u04ff"


def script_balance(text):
    """Cyrillic letters less Latin ones, counting only letters with no look-alike in the other
    script: which of the two scripts `text` is written in, whatever look-alikes it holds."""
    return sum(is_cyrillic(ch) and ch not in TO_LATIN for ch in text) - sum(
        ch.isascii() and ch.isalpha() and ch not in TO_CYRILLIC for ch in text)


def fold_lookalikes(word, text_balance=0):
    """`word` with its Latin / Cyrillic look-alikes in one script (see FOLD)."""
    if FOLD == "none":
        return word
    mixed = any(is_cyrillic(ch) for ch in word) and any(ch.isascii() and ch.isalpha() for ch in word)
    if mixed:
        target = script_balance(word) or (text_balance if FOLD != "words" else 0)
    else:
        target = text_balance if FOLD == "all" else 0
    table = TO_CYRILLIC if target > 0 else TO_LATIN if target < 0 else {}
    if not table or (not mixed and not all(ch in table for ch in word)):
        return word
    return "".join(table.get(ch, ch) for ch in word)


def words(text):
    """Lower-cased words (letters and combining marks), as src/analysis/ngrams.rs splits them."""
    text = unicodedata.normalize("NFC", text)
    balance = script_balance(text)
    out, word = [], []
    for ch in text + " ":
        if ch.isalpha() or unicodedata.category(ch).startswith("M"):
            word.append(ch)
        elif word:
            out.append(fold_lookalikes("".join(word), balance).lower())
            word = []
    return out


def grams(text, max_n):
    for w in words(text):
        padded = "_" + w + "_"
        chars = list(padded)
        for n in range(1, max_n + 1):
            for i in range(len(chars) - n + 1):
                g = "".join(chars[i : i + n])
                if g != "_":
                    yield n, g


def training_texts(data, code, sources):
    texts = [t for i, t in flores_rows(data, code) if not held_out(i)] if "flores" in sources else []
    if "ntrex" in sources:
        texts += [t for i, t in ntrex_rows(data, code) if ntrex_trained(i)]
    return texts


def train(data, max_n, sources):
    counts = {}
    for code in sorted(set(FOLDERS) - OWN_SCRIPT):
        c = defaultdict(Counter)
        for text in training_texts(data, code, sources):
            for n, g in grams(text, max_n):
                c[n][g] += 1
        counts[code] = c
    return counts


def prune(counts, top):
    """Per language and order: total count, distinct grams, the TOP kept grams with their
    counts, and the kept grams' total (for the leftover mass of the rest)."""
    model = {}
    for code, by_n in counts.items():
        model[code] = {}
        for n, c in by_n.items():
            kept = dict(c.most_common(top))
            model[code][n] = (sum(c.values()), len(c), kept, sum(kept.values()))
    return model


# A gram not kept gets the language's leftover mass (the counts of its grams not kept) shared
# among its grams not kept and UNSEEN unseen ones, as src/analysis/ngrams.rs scores
# (`UNSEEN_GRAMS`); --smoothing add-one is the former rule, kept for measuring the choice.
UNSEEN = 3000
SMOOTHING = "leftover"


def loglik(model, code, feats, alpha):
    total = 0.0
    for n, g in feats:
        tot, distinct, kept, kept_total = model[code][n]
        count = kept.get(g)
        if SMOOTHING == "add-one":
            total += math.log(((count or 0) + alpha) / (tot + alpha * (distinct + 1)))
        elif count is not None:
            total += math.log(count / tot)
        else:
            total += math.log(max(tot - kept_total, 1) / tot / (max(distinct - len(kept), 0) + UNSEEN))
    return total


def write(model, path, max_n, top):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# mlsearch character n-gram language model: orders 1-{max_n}, top {top} grams a language and order,\n")
        f.write("# from FLORES (SIB-200) train rows, index_id % 4 != 0 (CC BY-SA 4.0); built by scripts/query_lang_ngrams.py.\n")
        f.write("# Line: language, order, total count, distinct grams, then gram:count pairs (`_` marks a word boundary).\n")
        for code in sorted(model):
            for n in sorted(model[code]):
                tot, distinct, kept, _ = model[code][n]
                pairs = " ".join(f"{g}:{c}" for g, c in sorted(kept.items(), key=lambda kv: (-kv[1], kv[0])))
                f.write(f"{code}\t{n}\t{tot}\t{distinct}\t{pairs}\n")


def prefix(text, rng):
    ws = text.split()
    if len(ws) <= 3:
        return text[: rng.randint(8, 24)]
    return " ".join(ws[: rng.randint(4, 12)])


def with_lookalikes(text, rate, rng):
    """`text` with each letter that has a look-alike in the other script (Latin / Cyrillic)
    swapped for it with probability `rate`: the mixed-script typing the folding is for."""
    table = {**TO_CYRILLIC, **TO_LATIN}
    return "".join(table[ch] if ch in table and rng.random() < rate else ch for ch in text)


def validation_texts(data, code, on):
    if on == "ntrex":
        return [t for i, t in ntrex_rows(data, code) if i in NTREX_VALIDATION]
    return [t for i, t in flores_rows(data, code) if held_out(i)]


def evaluate(data, model, alpha, groups, lookalikes=0.0, on="flores", margins=None):
    """Right share per language on held-out rows cut to query length, among the languages of
    each group (languages that share a script)."""
    rng = random.Random(4)
    swaps = random.Random(5)
    result = {}
    for group in groups:
        for code in group:
            rows = validation_texts(data, code, on)
            if not rows:
                continue
            right = 0
            for text in rows:
                q = prefix(text, rng)
                if lookalikes:
                    q = with_lookalikes(q, lookalikes, swaps)
                feats = list(grams(q, max(model[code])))
                scores = sorted(((loglik(model, c, feats, alpha), c) for c in group), reverse=True)
                best = scores[0][1]
                if margins is not None:
                    margins.append((code, best == code, scores[0][0] - scores[1][0]))
                right += best == code
            result[code] = right / len(rows)
    return result


LATIN = ["af", "ak", "az", "ca", "cs", "cy", "da", "de", "en", "eo", "es", "et", "fi", "fr", "hr", "hu", "id", "it",
         "jv", "lt", "lv", "nb", "nl", "pl", "pt", "ro", "sk", "sl", "sn", "sv", "sw", "tk", "tl", "tr", "uz", "vi",
         "yo", "zu"]
CYRILLIC = ["be", "bg", "mk", "ru", "sr", "uk"]
GROUPS = [LATIN, CYRILLIC, ["ar", "fa", "ur"], ["hi", "mr", "ne"], ["zh", "ja"], ["he", "yi"]]


def main():
    global FOLD, SMOOTHING, UNSEEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MLSEARCH_DATA", "../shared/data"))
    ap.add_argument("--out", default="src/analysis/lang_ngrams.txt")
    ap.add_argument("--max-n", type=int, default=4)
    ap.add_argument("--top", type=int, default=1000)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--lookalikes", type=float, default=0.0,
                    help="with --eval: swap this share of look-alike letters into the other script")
    ap.add_argument("--fold", choices=["none", "words", "ties", "all"], default="all",
                    help="how look-alike letters are folded (measuring the choice; the model uses all)")
    ap.add_argument("--smoothing", choices=["leftover", "add-one"], default="leftover",
                    help="how a gram not kept is scored (measuring the choice; the binary uses leftover)")
    ap.add_argument("--unseen", type=int, default=UNSEEN, help="with --smoothing leftover: unseen grams sharing the leftover")
    ap.add_argument("--sources", default="flores", help="training texts: flores, ntrex or both (comma-separated)")
    ap.add_argument("--eval-on", choices=["flores", "ntrex"], default="flores",
                    help="with --eval: held-out FLORES rows, or NTREX's validation rows 1100-1199")
    args = ap.parse_args()
    FOLD, SMOOTHING, UNSEEN = args.fold, args.smoothing, args.unseen
    sources = args.sources.split(",")
    counts = train(args.data, args.max_n, sources)
    model = prune(counts, args.top)
    if args.eval:
        margins = []
        r = evaluate(args.data, model, args.alpha, GROUPS, args.lookalikes, args.eval_on, margins)
        # At the rule's operating point: a gap of 8 nats is the least that gives a query a
        # language on its own (confidence 8/50 over text scale 0.4 = 0.4, the minimum).
        by_lang = defaultdict(lambda: [0, 0])
        wrong = 0
        for code, right, gap in margins:
            by_lang[code][1] += 1
            by_lang[code][0] += right and gap >= 8
            wrong += not right and gap >= 8
        sure = sum(r / t for r, t in by_lang.values()) / len(by_lang)
        worst = sorted(r.items(), key=lambda kv: kv[1])[:10]
        print(f"n<={args.max_n} top {args.top} {SMOOTHING} {UNSEEN if SMOOTHING == 'leftover' else args.alpha}: "
              f"mean {sum(r.values()) / len(r):.4f}, with a gap >= 8 nats {sure:.4f} (wrong {wrong / len(margins):.4f});",
              " ".join(f"{c} {v:.2f}" for c, v in worst))
        return
    write(model, args.out, args.max_n, args.top)
    print(args.out, os.path.getsize(args.out), "bytes")


if __name__ == "__main__":
    main()
