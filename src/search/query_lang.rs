//! Query language identification among the index's languages.
//!
//! A query is short: a trigram detector alone leaves most questions undetermined (XQuAD,
//! unrestricted `whatlang`: 25 of 60 English questions reliable). But the index knows
//! which languages it holds, and the encoder puts every text near its language's mean
//! (the direction per-language centring removes). Three pieces of evidence, cheapest
//! first:
//!
//! 1. **The script.** Only the index's languages written in the query's script are
//!    candidates: Devanagari in an index whose only Devanagari language is Hindi is Hindi,
//!    with confidence 1.
//! 2. **A text detector restricted to the candidates** (a character n-gram model trained
//!    on FLORES rows, see [`crate::analysis::detect_among`]), with its confidence.
//! 3. **The query vector's nearest language mean** among the candidates (one dot product
//!    per language; only when the search has a query vector and the index has means).
//!
//! How they combine is [`decide`]; its three constants were chosen on training data with
//! the shipped model (`scripts/query_lang_fit.py`: on the 12-language XQuAD index, MGSM
//! questions, FLORES rows cut to query length and native QA questions, 4,822 texts; on a
//! 67-language NTREX index, 6,700 FLORES rows cut the same way; the FLORES rows are those
//! the n-gram model was not trained on; a grid over the text
//! detector's scale, the vector margin and the minimum confidence, scoring an unknown
//! language half as good as a right one, names-only queries required to stay unknown),
//! never on XQuAD or the NTREX queries, which is where it is measured
//! (docs/query-language.md).
//!
//! This module never reads a `--lang` filter: a filter says where to look, not what
//! language the question is in.

use serde::Serialize;

use crate::analysis::{detect, detect_among, is_known, normalize_tag, script_languages};
use crate::error::{Error, Result};
use crate::store::vectors::Centring;

/// The text detector's confidence that counts as full confidence for its vote (chosen on
/// training data, see the module docs; 0.4 of the n-gram model's scale is a log-likelihood
/// gap of 20 nats to the runner-up).
pub const TEXT_SCALE: f32 = 0.4;

/// A cosine margin between the nearest and the second-nearest language mean that counts
/// as full confidence for the vector's vote (chosen on training data; 0.07 with the n-gram
/// model's add-one smoothing, 0.03 since a gram not kept gets its language's leftover mass).
pub const VECTOR_MARGIN: f32 = 0.03;

/// The confidence below which the query's language stays unknown: the query is then read
/// by each field's analyzer and centred with the nearest mean, as with `--lang any`. Chosen
/// by the same grid, among the settings under which queries of names alone ("Bratislava
/// Budapest", "Budapest" on the test suite's fixture index) stay unknown, as they should:
/// no analyzer of one language suits them (docs/query-language.md, the selection rule).
pub const MIN_CONFIDENCE: f32 = 0.3;

/// How the query's language was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueryLangSource {
    /// Given by the caller (`--query-lang`).
    Given,
    /// The script admits one language of the index.
    Script,
    /// The text detector among the index's languages and / or the nearest language mean.
    Detected,
    /// Unsure: each field analysed the query with its own analyzer.
    PerField,
}

/// The language a search reads its query in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryLanguage {
    /// The language (`None`: unsure).
    pub lang: Option<String>,
    /// How sure, 0 to 1 (1 for a given language or a script that decides).
    pub confidence: f32,
    /// How it was found.
    pub source: QueryLangSource,
}

/// What identification saw (for measurement: `mlsearch bench query-lang --evidence`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The index's languages the query's script admits (`None`: the query has no letters,
    /// every language of the index is a candidate).
    pub script: Option<Vec<String>>,
    /// The candidates (the script's, or every language of the index).
    pub candidates: Vec<String>,
    /// The text detector's language among the candidates, with its confidence.
    pub text: Option<(String, f32)>,
    /// Cosine of the query vector with each candidate's mean, highest first.
    pub vector: Vec<(String, f32)>,
    /// Unrestricted detection, when no language of the index fits the script (reliable
    /// only).
    pub outside: Option<String>,
}

/// Identifies the language of `text` among `index_langs` (see the module docs); `given`
/// (the caller's `--query-lang`) wins. `vector` is the raw (uncentred) query vector and
/// `means` the index's per-language means, when the search has them.
pub fn identify(
    text: &str,
    given: Option<&str>,
    index_langs: &[&str],
    means: Option<&Centring>,
    vector: Option<&[f32]>,
) -> Result<QueryLanguage> {
    if let Some(tag) = given {
        let code = normalize_tag(tag).ok_or_else(|| Error::InvalidLanguage(tag.to_string()))?;
        return Ok(QueryLanguage {
            lang: Some(code),
            confidence: 1.0,
            source: QueryLangSource::Given,
        });
    }
    Ok(decide(&evidence(text, index_langs, means, vector)))
}

/// Gathers the evidence on `text`'s language among `index_langs` (languages mlsearch does
/// not know, and `und`, are ignored).
pub fn evidence(text: &str, index_langs: &[&str], means: Option<&Centring>, vector: Option<&[f32]>) -> Evidence {
    let known: Vec<&str> = index_langs.iter().copied().filter(|c| is_known(c)).collect();
    let script = script_languages(text, &known);
    let candidates: Vec<&str> = script.clone().unwrap_or_else(|| known.clone());
    let mut evidence = Evidence {
        script: script.map(|s| s.iter().map(|c| c.to_string()).collect()),
        candidates: candidates.iter().map(|c| c.to_string()).collect(),
        ..Evidence::default()
    };
    if candidates.is_empty() {
        let detection = detect(text);
        if detection.reliable && is_known(detection.code) {
            evidence.outside = Some(detection.code.to_string());
        }
        return evidence;
    }
    if candidates.len() > 1 {
        // Without letters (numbers, codes) the text detector has nothing to go on.
        if evidence.script.is_some() {
            evidence.text = detect_among(text, &candidates).map(|(c, p)| (c.to_string(), p));
        }
        if let (Some(means), Some(vector)) = (means, vector) {
            evidence.vector = nearest_means(means, &candidates, vector);
        }
    }
    evidence
}

/// Cosine of `vector` with the mean of each of `candidates` that has one, highest first.
pub fn nearest_means(means: &Centring, candidates: &[&str], vector: &[f32]) -> Vec<(String, f32)> {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    let query_norm = norm(vector);
    let mut scored: Vec<(String, f32)> = candidates
        .iter()
        .filter_map(|c| means.get(*c).map(|m| (c, m)))
        .map(|(c, m)| {
            let dot: f32 = m.iter().zip(vector).map(|(a, b)| a * b).sum();
            (c.to_string(), dot / (norm(m) * query_norm))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}

/// The rule: one candidate decides alone (confidence 1). Otherwise the text detector votes
/// with `confidence / TEXT_SCALE` and the nearest mean with `margin / VECTOR_MARGIN` (each capped at 1,
/// `margin` the cosine gap to the second-nearest mean); agreeing votes add up (`1 − (1 −
/// a)(1 − b)`), disagreeing ones cancel (the stronger wins by the difference). Below
/// [`MIN_CONFIDENCE`] the language stays unknown.
pub fn decide(evidence: &Evidence) -> QueryLanguage {
    let unsure = |confidence: f32| QueryLanguage {
        lang: None,
        confidence,
        source: QueryLangSource::PerField,
    };
    if evidence.candidates.is_empty() {
        return match &evidence.outside {
            Some(code) => QueryLanguage {
                lang: Some(code.clone()),
                confidence: 1.0,
                source: QueryLangSource::Detected,
            },
            None => unsure(0.0),
        };
    }
    if let [only] = evidence.candidates.as_slice() {
        return QueryLanguage {
            lang: Some(only.clone()),
            confidence: 1.0,
            source: if evidence.script.is_some() {
                QueryLangSource::Script
            } else {
                QueryLangSource::Detected
            },
        };
    }
    let text = evidence.text.clone().map(|(code, p)| (code, (p / TEXT_SCALE).min(1.0)));
    let vector = match evidence.vector.as_slice() {
        [] => None,
        [(code, _)] => Some((code.clone(), 1.0)),
        [(code, first), (_, second), ..] => Some((code.clone(), ((first - second) / VECTOR_MARGIN).min(1.0))),
    };
    let (lang, confidence) = match (text, vector) {
        (None, None) => return unsure(0.0),
        (Some(one), None) | (None, Some(one)) => one,
        (Some((t, a)), Some((v, b))) if t == v => (t, 1.0 - (1.0 - a) * (1.0 - b)),
        (Some((t, a)), Some((v, b))) => {
            if a >= b {
                (t, a - b)
            } else {
                (v, b - a)
            }
        }
    };
    let confidence = confidence.clamp(0.0, 1.0);
    if confidence < MIN_CONFIDENCE {
        return unsure(confidence);
    }
    QueryLanguage {
        lang: Some(lang),
        confidence,
        source: QueryLangSource::Detected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XQUAD: [&str; 12] = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"];

    #[test]
    fn the_script_decides_when_it_admits_one_language() {
        let q = identify("कितने अंक दिए गए?", None, &XQUAD, None, None).unwrap();
        assert_eq!(q.lang.as_deref(), Some("hi"));
        assert_eq!(q.source, QueryLangSource::Script);
        assert_eq!(q.confidence, 1.0);
        let q = identify("Πόσους πόντους έδωσε η άμυνα των Panthers;", None, &XQUAD, None, None).unwrap();
        assert_eq!(q.lang.as_deref(), Some("el"));
    }

    #[test]
    fn a_given_language_wins_and_is_checked() {
        let q = identify("कितने अंक?", Some("en-GB"), &XQUAD, None, None).unwrap();
        assert_eq!((q.lang.as_deref(), q.source), (Some("en"), QueryLangSource::Given));
        assert!(identify("x", Some("english!"), &XQUAD, None, None).is_err());
    }

    #[test]
    fn a_short_question_is_identified_among_the_index_languages() {
        let q = identify(
            "How many points did the defense give up?",
            None,
            &["de", "en"],
            None,
            None,
        )
        .unwrap();
        assert_eq!(q.lang.as_deref(), Some("en"), "{q:?}");
        assert_eq!(q.source, QueryLangSource::Detected);
        assert!(q.confidence >= MIN_CONFIDENCE);
    }

    #[test]
    fn the_nearest_mean_votes_and_disagreement_is_unsure() {
        let means: Centring = [("de".to_string(), vec![1.0, 0.0]), ("en".to_string(), vec![0.0, 1.0])].into();
        // No text evidence worth anything: the vector decides.
        let mut e = Evidence {
            script: Some(vec!["de".into(), "en".into()]),
            candidates: vec!["de".into(), "en".into()],
            text: None,
            vector: nearest_means(&means, &["de", "en"], &[0.2, 0.9]),
            outside: None,
        };
        assert_eq!(e.vector[0].0, "en");
        assert_eq!(decide(&e).lang.as_deref(), Some("en"));
        // Equally sure and opposed: unknown.
        e.text = Some(("de".into(), 1.0));
        let q = decide(&e);
        assert_eq!((q.lang, q.source), (None, QueryLangSource::PerField));
        // Agreeing: sure.
        e.text = Some(("en".into(), 0.3));
        assert_eq!(decide(&e).lang.as_deref(), Some("en"));
    }

    #[test]
    fn a_script_outside_the_index_falls_back_to_unrestricted_detection() {
        let e = evidence(
            "Защита команды пропустила в финальной игре сезона очень много очков, и тренер сказал, что \
             это случилось потому, что игроки устали после долгого перелёта из другого города.",
            &["de", "en"],
            None,
            None,
        );
        assert!(e.candidates.is_empty());
        assert_eq!(decide(&e).lang.as_deref(), Some("ru"));
        // Without letters and without a vector: unknown.
        assert_eq!(identify("2019?", None, &["de", "en"], None, None).unwrap().lang, None);
    }
}
