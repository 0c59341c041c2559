//! A character n-gram language model for texts of a few words (queries).
//!
//! `whatlang`'s trigram profiles (300 ranks a language) tell close relatives apart from
//! sentences, not from four words: on 67 NTREX languages it left Bokmål, Slovenian, Dutch
//! and Slovak queries mostly unidentified. This model is naive Bayes over the 1- to
//! 4-grams of a text's lower-cased words, with the 1,000 most frequent grams of each order
//! and language counted on FLORES training rows (`scripts/query_lang_ngrams.py` builds
//! `lang_ngrams.txt`, which `build.rs` compresses into the binary: 54 languages, 0.45 MB;
//! a language alone in its script needs no model, its script decides); a gram not kept
//! gets a share of the language's leftover mass ([`UNSEEN_GRAMS`]). It only ever chooses among the languages it is given, which the
//! caller has already narrowed to those of the index written in the text's script.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::analysis::language;

/// The highest n-gram order the model counts.
const MAX_ORDER: usize = 4;

/// The log-likelihood gap (nats) between the best and the second-best language that gives
/// confidence 1. Overlapping grams of four orders are far from independent, so gaps are
/// large: on held-out FLORES rows cut to 4-12 words, among the Latin- and Cyrillic-script
/// languages, about half the texts with a gap under 2 were right, 99% of those over 20.
/// How much of this confidence makes a full vote is the rule's text scale, chosen on
/// training data (`search/query_lang.rs`).
const CERTAIN_GAP: f64 = 50.0;

/// The model's text, decompressed on first use (about 1.3 MB).
static TEXT: LazyLock<String> = LazyLock::new(|| {
    let compressed: &[u8] = include_bytes!(env!("MLSEARCH_LANG_NGRAMS_PATH"));
    let bytes = zstd::stream::decode_all(compressed).expect("the built-in language model is zstd-compressed");
    String::from_utf8(bytes).expect("the built-in language model is UTF-8")
});

/// Every language's model; a language's gram table is read from the text the first time a
/// query needs it (a query among ten languages reads ten of the 54).
static MODEL: LazyLock<Vec<LanguageModel>> = LazyLock::new(|| LanguageModel::all(&TEXT));

struct LanguageModel {
    /// The static code of [`crate::analysis::LANGUAGES`].
    code: &'static str,
    /// Per order, the `gram:count` pairs of the text, the order's total count and its
    /// number of distinct grams.
    orders: [OrderCounts; MAX_ORDER],
    /// The log-probabilities, computed from `orders` the first time a query needs them.
    table: OnceLock<Table>,
}

#[derive(Clone, Copy, Default)]
struct OrderCounts {
    pairs: &'static str,
    total: f64,
    distinct: f64,
}

struct Table {
    /// Log-probability of each kept gram (all orders).
    kept: HashMap<&'static str, f64>,
    /// Per order, the log-probability of a gram not kept (see [`UNSEEN_GRAMS`]).
    not_kept: [f64; MAX_ORDER],
}

/// A gram outside a language's kept list gets that language's leftover mass (the counts of
/// the grams not kept) shared among its grams not kept and this many unseen ones. Add-one
/// smoothing over the total instead charged a pruned gram less the more text a language
/// was counted on; chosen on validation rows (held-out FLORES, NTREX rows 1100-1199):
/// docs/query-language.md, "The n-gram model".
const UNSEEN_GRAMS: f64 = 3000.0;

impl LanguageModel {
    /// The languages of the model's text (see `scripts/query_lang_ngrams.py`): per line a
    /// language, an order, the order's total count and number of distinct grams, then
    /// `gram:count` pairs. The text is built into the binary, so a malformed line is a build
    /// mistake; the tests read every line.
    fn all(text: &'static str) -> Vec<LanguageModel> {
        let mut models: Vec<LanguageModel> = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let fields: Vec<&str> = line.splitn(5, '\t').collect();
            let [code, order, total, distinct, pairs] = fields[..] else {
                panic!("language model line without five fields: {line:.60}")
            };
            let number = |s: &str| s.parse::<f64>().expect("language model counts are numbers");
            let code = language(code).code;
            if models.last().is_none_or(|m| m.code != code) {
                models.push(LanguageModel {
                    code,
                    orders: [OrderCounts::default(); MAX_ORDER],
                    table: OnceLock::new(),
                });
            }
            let order: usize = order.parse().expect("language model order is a number");
            assert!(
                (1..=MAX_ORDER).contains(&order),
                "language model order {order} out of range"
            );
            models.last_mut().expect("pushed above").orders[order - 1] = OrderCounts {
                pairs,
                total: number(total),
                distinct: number(distinct),
            };
        }
        models
    }

    /// Log-probability of `gram` (of `order`) in this language.
    fn log_p(&self, order: usize, gram: &str) -> f64 {
        let table = self.table.get_or_init(|| {
            let mut kept = HashMap::new();
            let mut not_kept = [0.0; MAX_ORDER];
            for (counts, not_kept) in self.orders.iter().zip(&mut not_kept) {
                let (mut kept_total, mut kept_grams) = (0.0, 0.0);
                for pair in counts.pairs.split(' ').filter(|p| !p.is_empty()) {
                    let (gram, count) = pair.rsplit_once(':').expect("language model pairs are gram:count");
                    let count: f64 = count.parse().expect("language model counts are numbers");
                    kept.insert(gram, count.ln() - counts.total.ln());
                    kept_total += count;
                    kept_grams += 1.0;
                }
                let leftover = (counts.total - kept_total).max(1.0);
                let sharing = (counts.distinct - kept_grams).max(0.0) + UNSEEN_GRAMS;
                *not_kept = leftover.ln() - counts.total.ln() - sharing.ln();
            }
            Table { kept, not_kept }
        });
        table.kept.get(gram).copied().unwrap_or(table.not_kept[order - 1])
    }
}

/// Latin letters and the Cyrillic ones drawn alike, position by position; upper case too,
/// since folding comes before lower-casing (Latin `K` looks like `К`, `k` not like `к`).
const LATIN_LOOKALIKES: &str = "AaBCcEeHiJjKMOoPpTXxYy";
const CYRILLIC_LOOKALIKES: &str = "АаВСсЕеНіЈјКМОоРрТХхУу";

fn is_cyrillic(c: char) -> bool {
    ('\u{400}'..='\u{4ff}').contains(&c)
}

/// Cyrillic letters less Latin ones, counting only letters with no look-alike in the other
/// script: which of the two scripts `text` is written in, whatever look-alikes it holds
/// ("Бajдeн je рeкao" is Cyrillic with Latin a, j, e, o typed in).
fn script_balance(text: &str) -> i64 {
    text.chars()
        .map(|c| {
            i64::from(is_cyrillic(c) && !CYRILLIC_LOOKALIKES.contains(c))
                - i64::from(c.is_ascii_alphabetic() && !LATIN_LOOKALIKES.contains(c))
        })
        .sum()
}

/// `word` with its Latin / Cyrillic look-alikes written in one script. A word that mixes
/// the two goes to the script most of its letters with no look-alike are in, or on a tie to the one most of
/// the text's letters are in (`text_balance`, see [`script_balance`]); a word made only of
/// the other script's look-alikes ("je" in Cyrillic text) goes to the text's script.
/// People and converters type a Latin `e` or `a` inside Cyrillic words ("Крeмљ", "дa");
/// unfolded, every gram around it is unseen in every language and the word says nothing.
fn fold_lookalikes(word: &str, text_balance: i64) -> String {
    let mixed = word.chars().any(is_cyrillic) && word.chars().any(|c| c.is_ascii_alphabetic());
    let target = match script_balance(word) {
        word_balance if mixed && word_balance != 0 => word_balance,
        _ => text_balance,
    };
    let (from, to) = match target.signum() {
        1 => (LATIN_LOOKALIKES, CYRILLIC_LOOKALIKES),
        -1 => (CYRILLIC_LOOKALIKES, LATIN_LOOKALIKES),
        _ => return word.to_string(),
    };
    if !mixed && !word.chars().all(|c| from.contains(c)) {
        return word.to_string();
    }
    word.chars()
        .map(|c| {
            from.chars()
                .position(|f| f == c)
                .and_then(|i| to.chars().nth(i))
                .unwrap_or(c)
        })
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || is_combining_mark(c)
}

/// `text` with the Latin / Cyrillic look-alikes of each word folded into one script (see
/// [`fold_lookalikes`]), borrowed when nothing changes. Script detection reads the folded
/// text too, so a Cyrillic text typed with Latin look-alikes is not taken for Latin.
pub(crate) fn fold_lookalikes_in(text: &str) -> Cow<'_, str> {
    if !(text.chars().any(is_cyrillic) && text.chars().any(|c| c.is_ascii_alphabetic())) {
        return Cow::Borrowed(text);
    }
    let balance = script_balance(text);
    let mut folded = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let word_len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_len);
        folded.push_str(&fold_lookalikes(word, balance));
        let gap_len = after.find(is_word_char).unwrap_or(after.len());
        folded.push_str(&after[..gap_len]);
        rest = &after[gap_len..];
    }
    if folded == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(folded)
    }
}

/// The words of `text` as the model counts them: NFC, runs of letters and combining marks
/// (digits and punctuation split words), look-alikes folded, lower-cased.
fn words(text: &str) -> Vec<String> {
    let text: String = text.nfc().collect();
    fold_lookalikes_in(&text)
        .split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Each gram of `text` with its order: every word padded with `_`, then its 1- to 4-grams
/// (the lone boundary `_` left out).
fn grams(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for word in words(text) {
        let chars: Vec<char> = std::iter::once('_')
            .chain(word.chars())
            .chain(std::iter::once('_'))
            .collect();
        for n in 1..=MAX_ORDER {
            for window in chars.windows(n) {
                if n > 1 || window[0] != '_' {
                    out.push((n, window.iter().collect()));
                }
            }
        }
    }
    out
}

/// Whether the model knows `code`.
pub fn knows(code: &str) -> bool {
    MODEL.iter().any(|m| m.code == code)
}

/// The language of `text` among `among` and how sure (0 to 1: the log-likelihood gap to
/// the runner-up over [`CERTAIN_GAP`]), among the languages of `among` the model knows (see
/// [`knows`]); `None` when the text has no letters or the model knows none of them. One
/// language alone gets confidence 1.
pub fn identify_among(text: &str, among: &[&str]) -> Option<(&'static str, f32)> {
    let models: Vec<&LanguageModel> = MODEL.iter().filter(|m| among.contains(&m.code)).collect();
    let grams = grams(text);
    if models.is_empty() || grams.is_empty() {
        return None;
    }
    let mut ranked: Vec<(&'static str, f64)> = models
        .iter()
        .map(|m| (m.code, grams.iter().map(|(n, g)| m.log_p(*n, g)).sum()))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let confidence = match ranked.as_slice() {
        [(_, first), (_, second), ..] => ((first - second) / CERTAIN_GAP).min(1.0),
        _ => 1.0,
    };
    Some((ranked[0].0, confidence as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_model_covers_the_languages_that_share_a_script() {
        assert_eq!(MODEL.len(), 54);
        for code in ["en", "nb", "da", "sw", "yo", "zh", "ja", "sr", "hi", "ur", "yi"] {
            assert!(knows(code), "{code}");
        }
        assert!(!knows("la"), "FLORES has no Latin");
        assert!(!knows("el"), "Greek is decided by its script");
        // Every line reads; probabilities are below one.
        for model in MODEL.iter() {
            assert!(
                model
                    .orders
                    .iter()
                    .all(|o| !o.pairs.is_empty() && o.total >= o.distinct && o.distinct > 0.0),
                "{}",
                model.code
            );
            let p = model.log_p(1, "a");
            assert!(p.is_finite() && p < 0.0);
            // A gram not kept is less likely than the rarest kept one of its order.
            let table = model.table.get().expect("log_p filled it");
            for order in 1..=MAX_ORDER {
                let rarest = table
                    .kept
                    .iter()
                    .filter(|(gram, _)| gram.chars().count() == order)
                    .map(|(_, log_p)| *log_p)
                    .fold(f64::INFINITY, f64::min);
                assert!(table.not_kept[order - 1] < rarest, "{} order {order}", model.code);
            }
        }
    }

    #[test]
    fn grams_pad_words_and_split_on_digits_and_punctuation() {
        let g: Vec<String> = grams("Ab1c!").into_iter().map(|(_, g)| g).collect();
        assert_eq!(
            g,
            ["a", "b", "_a", "ab", "b_", "_ab", "ab_", "_ab_", "c", "_c", "c_", "_c_"]
        );
        assert!(grams("2019 ?!").is_empty());
    }

    #[test]
    fn look_alike_letters_are_read_in_the_word_s_main_script() {
        // Latin e and a inside Cyrillic words; a Cyrillic о inside a Latin one.
        assert_eq!(words("Где Крeмљ? Дa, Mоscow"), ["где", "кремљ", "да", "moscow"]);
        // A tie goes to the text's main script, and so does a word made only of the other
        // script's look-alikes; any other word in one script stays as written.
        assert_eq!(words("Он дa"), ["он", "да"]);
        assert_eq!(words("the сa"), ["the", "ca"]);
        assert_eq!(words("Он je тoже"), ["он", "је", "тоже"]);
        assert_eq!(words("Кремљ у Москви Kremlin"), ["кремљ", "у", "москви", "kremlin"]);
        // Only letters with no look-alike say which script a text or word is in: here
        // Cyrillic, though most of its letters are typed in Latin.
        assert_eq!(words("Бajдeн je рeкao дa ћe"), ["бајден", "је", "рекао", "да", "ће"]);
        assert_eq!(fold_lookalikes_in("Кремљ, Moscow."), "Кремљ, Moscow.");
        assert_eq!(fold_lookalikes_in("Крeмљ, Mоscow."), "Кремљ, Moscow.");
        let among = ["sr", "ru", "bg", "mk", "uk", "be"];
        for text in ["Колико је људи живело у граду?", "Колико је људи живeлo у грaду?"]
        {
            assert_eq!(identify_among(text, &among).map(|(c, _)| c), Some("sr"), "{text}");
        }
    }

    #[test]
    fn close_relatives_are_told_apart_in_a_few_words() {
        let cases = [
            ("nb", "Hva koster en billett til toget i dag?", ["nb", "da", "sv"]),
            ("da", "Hvad koster en billet til toget i dag?", ["nb", "da", "sv"]),
            ("nl", "Waar kan ik het beste een fiets huren?", ["nl", "af", "de"]),
            ("af", "Waar kan ek die beste fiets huur?", ["nl", "af", "de"]),
            ("hr", "Koliko je ljudi živjelo u gradu?", ["hr", "sl", "cs"]),
            ("sl", "Koliko ljudi je živelo v mestu?", ["hr", "sl", "cs"]),
            ("sw", "Watu wangapi wanaishi katika mji huu?", ["sw", "sn", "zu"]),
        ];
        for (want, text, among) in cases {
            let (got, confidence) = identify_among(text, &among).unwrap();
            assert_eq!(got, want, "{text}");
            assert!(confidence > 0.0);
        }
    }

    #[test]
    fn no_letters_or_no_known_language_gives_nothing() {
        assert_eq!(identify_among("12:30 -", &["en", "de"]), None);
        assert_eq!(identify_among("Quo vadis", &["la"]), None);
        assert_eq!(identify_among("Where is it", &["en"]), Some(("en", 1.0)));
    }
}
