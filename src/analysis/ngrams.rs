//! A character n-gram language model for texts of a few words (queries).
//!
//! `whatlang`'s trigram profiles (300 ranks a language) tell close relatives apart from
//! sentences, not from four words: on 67 NTREX languages it left Bokmål, Slovenian, Dutch
//! and Slovak queries mostly unidentified. This model is naive Bayes over the 1- to
//! 4-grams of a text's lower-cased words, with the 1,000 most frequent grams of each order
//! and language counted on FLORES training rows (`scripts/query_lang_ngrams.py` builds
//! `lang_ngrams.txt.gz`; 72 languages, 0.8 MB) and add-one smoothing for the rest. It only
//! ever chooses among the languages it is given, which the caller has already narrowed to
//! those of the index written in the text's script.

use std::collections::HashMap;
use std::io::Read;
use std::sync::LazyLock;

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
/// training data (`crate::search::query_lang`).
const CERTAIN_GAP: f64 = 50.0;

struct Model {
    /// Language codes, in the order of the `scores` below (the static codes of
    /// [`crate::analysis::LANGUAGES`]).
    languages: Vec<&'static str>,
    /// Per language and order, the log-probability of a gram the model did not keep.
    unseen: Vec<[f64; MAX_ORDER]>,
    /// Per kept gram, the languages that kept it and its log-probability there.
    grams: HashMap<String, Vec<(u16, f64)>>,
}

static MODEL: LazyLock<Model> = LazyLock::new(|| {
    let mut text = String::new();
    flate2::read::GzDecoder::new(&include_bytes!("lang_ngrams.txt.gz")[..])
        .read_to_string(&mut text)
        .expect("the n-gram model built into the binary is gzip-compressed UTF-8");
    Model::parse(&text)
});

impl Model {
    /// Reads the model's text format (see `scripts/query_lang_ngrams.py`): per line a
    /// language, an order, the order's total count and number of distinct grams, then
    /// `gram:count` pairs. The file is built into the binary, so a malformed line is a build
    /// mistake and panics in the tests.
    fn parse(text: &str) -> Model {
        let mut model = Model {
            languages: Vec::new(),
            unseen: Vec::new(),
            grams: HashMap::new(),
        };
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let fields: Vec<&str> = line.splitn(5, '\t').collect();
            let [code, order, total, distinct, pairs] = fields[..] else {
                panic!("n-gram model line without five fields: {line:.60}")
            };
            let number = |s: &str| s.parse::<f64>().expect("n-gram model counts are numbers");
            let code = language(code).code;
            let slot = match model.languages.iter().position(|c| *c == code) {
                Some(slot) => slot,
                None => {
                    model.languages.push(code);
                    model.unseen.push([0.0; MAX_ORDER]);
                    model.languages.len() - 1
                }
            };
            let order: usize = order.parse().expect("n-gram order is a number");
            assert!((1..=MAX_ORDER).contains(&order), "n-gram order {order} out of range");
            // Add-one smoothing over the order's distinct grams and one unseen one.
            let denominator = number(total) + number(distinct) + 1.0;
            model.unseen[slot][order - 1] = (1.0 / denominator).ln();
            for pair in pairs.split(' ') {
                let (gram, count) = pair.rsplit_once(':').expect("n-gram pairs are gram:count");
                let log_p = ((number(count) + 1.0) / denominator).ln();
                model
                    .grams
                    .entry(gram.to_string())
                    .or_default()
                    .push((slot as u16, log_p));
            }
        }
        model
    }
}

/// The words of `text` as the model counts them: NFC, lower-cased, runs of letters and
/// combining marks (digits and punctuation split words).
fn words(text: &str) -> Vec<String> {
    let text: String = text.nfc().collect::<String>().to_lowercase();
    text.split(|c: char| !(c.is_alphabetic() || is_combining_mark(c)))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Each gram of `text` with its order: every word padded with `_`, then its 1- to 4-grams
/// (the lone boundary `_` left out).
fn grams(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for word in words(text) {
        let chars: Vec<char> = std::iter::once('_').chain(word.chars()).chain(std::iter::once('_')).collect();
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
    MODEL.languages.contains(&code)
}

/// The language of `text` among `among` (all known to the model, see [`knows`]) and how sure
/// (0 to 1: the log-likelihood gap to the runner-up over [`CERTAIN_GAP`]); `None` when the
/// text has no letters or `among` holds no language the model knows. One language alone
/// gets confidence 1.
pub fn identify_among(text: &str, among: &[&str]) -> Option<(&'static str, f32)> {
    let model = &*MODEL;
    let slots: Vec<usize> = among
        .iter()
        .filter_map(|c| model.languages.iter().position(|l| l == c))
        .collect();
    let grams = grams(text);
    if slots.is_empty() || grams.is_empty() {
        return None;
    }
    // Start from "no gram kept", then correct for the grams each language did keep.
    let mut scores: Vec<f64> = slots
        .iter()
        .map(|&s| grams.iter().map(|(n, _)| model.unseen[s][n - 1]).sum())
        .collect();
    for (n, gram) in &grams {
        for &(slot, log_p) in model.grams.get(gram).map(Vec::as_slice).unwrap_or_default() {
            if let Some(i) = slots.iter().position(|&s| s == slot as usize) {
                scores[i] += log_p - model.unseen[slot as usize][n - 1];
            }
        }
    }
    let mut ranked: Vec<(usize, f64)> = slots.iter().copied().zip(scores).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let confidence = match ranked.as_slice() {
        [_] => 1.0,
        [(_, first), (_, second), ..] => ((first - second) / CERTAIN_GAP).min(1.0),
        [] => unreachable!("slots is not empty"),
    };
    Some((model.languages[ranked[0].0], confidence as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_model_covers_the_analysed_languages() {
        assert_eq!(MODEL.languages.len(), 72);
        for code in ["en", "nb", "da", "sw", "yo", "zh", "ja", "sr"] {
            assert!(knows(code), "{code}");
        }
        assert!(!knows("la"), "FLORES has no Latin");
        assert!(MODEL.unseen.iter().flatten().all(|p| p.is_finite() && *p < 0.0));
    }

    #[test]
    fn grams_pad_words_and_split_on_digits_and_punctuation() {
        let g: Vec<String> = grams("Ab1c!").into_iter().map(|(_, g)| g).collect();
        assert_eq!(g, ["a", "b", "_a", "ab", "b_", "_ab", "ab_", "_ab_", "c", "_c", "c_", "_c_"]);
        assert!(grams("2019 ?!").is_empty());
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
