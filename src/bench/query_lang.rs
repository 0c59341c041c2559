//! Query language identification on labelled short texts (`mlsearch bench query-lang`):
//! per language, the share identified right, left unsure and identified wrong, with and
//! without the query vector's vote, and the time identification adds to a query.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::search::query_lang::decide;
use crate::search::Searcher;

/// A short text with its language.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// Its language.
    pub lang: String,
    /// Where it comes from (an optional middle column), for reports per source.
    pub group: String,
    /// The text.
    pub text: String,
}

/// Reads `lang<TAB>text` or `lang<TAB>group<TAB>text` lines.
pub fn read_labelled(path: &Path) -> Result<Vec<Labelled>> {
    let content = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (n, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (lang, group, text) = match fields.as_slice() {
            [lang, text] => (*lang, "", *text),
            [lang, group, text] => (*lang, *group, *text),
            _ => {
                return Err(Error::QueriesFile {
                    path: path.to_path_buf(),
                    line: n + 1,
                    reason: "expected `lang<TAB>text` or `lang<TAB>group<TAB>text`".into(),
                })
            }
        };
        out.push(Labelled {
            lang: lang.trim().to_string(),
            group: group.trim().to_string(),
            text: text.to_string(),
        });
    }
    Ok(out)
}

/// Counts for one language.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LanguageScore {
    /// Texts.
    pub n: usize,
    /// Identified as their language.
    pub right: usize,
    /// Left unsure (read per field).
    pub unsure: usize,
    /// Identified as another language, by language.
    pub wrong: BTreeMap<String, usize>,
}

impl LanguageScore {
    /// Share identified right.
    pub fn accuracy(&self) -> f64 {
        self.right as f64 / self.n.max(1) as f64
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Whether the query vectors voted.
    pub vectors: bool,
    /// Per language.
    pub languages: BTreeMap<String, LanguageScore>,
    /// Mean time of one identification (script, detector, nearest mean), in microseconds.
    pub micros_per_query: f64,
}

impl Report {
    /// Mean accuracy over languages.
    pub fn mean_accuracy(&self) -> f64 {
        let n = self.languages.len().max(1) as f64;
        self.languages.values().map(LanguageScore::accuracy).sum::<f64>() / n
    }
}

/// Identifies every text on `searcher`'s index (with `vectors[i]` as the raw query vector
/// of text `i`, when given) and scores it against its label; writes each text's evidence
/// and decision as a JSON line to `evidence` when given.
pub fn run(
    searcher: &Searcher,
    texts: &[Labelled],
    vectors: Option<&[Vec<f32>]>,
    mut evidence: Option<&mut dyn Write>,
) -> Result<Report> {
    let mut languages: BTreeMap<String, LanguageScore> = BTreeMap::new();
    let started = Instant::now();
    for (i, t) in texts.iter().enumerate() {
        let vector = vectors.map(|v| v[i].as_slice());
        let found = searcher.identify_query(&t.text, None, vector)?;
        let score = languages.entry(t.lang.clone()).or_default();
        score.n += 1;
        match found.lang.as_deref() {
            Some(l) if l == t.lang => score.right += 1,
            Some(l) => *score.wrong.entry(l.to_string()).or_default() += 1,
            None => score.unsure += 1,
        }
    }
    let micros_per_query = started.elapsed().as_secs_f64() * 1e6 / texts.len().max(1) as f64;
    if let Some(out) = evidence.as_mut() {
        for (i, t) in texts.iter().enumerate() {
            let e = searcher.query_lang_evidence(&t.text, vectors.map(|v| v[i].as_slice()));
            let decided = decide(&e);
            let line = serde_json::json!({
                "lang": t.lang, "group": t.group, "text": t.text,
                "evidence": e, "decided": decided,
            });
            writeln!(out, "{line}").map_err(|e| Error::Internal(format!("writing evidence: {e}")))?;
        }
    }
    Ok(Report {
        vectors: vectors.is_some(),
        languages,
        micros_per_query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_lines_take_an_optional_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.tsv");
        std::fs::write(&path, "en\tHow many?\n\nde\tmgsm\tWie viele?\n").unwrap();
        let read = read_labelled(&path).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!((read[1].lang.as_str(), read[1].group.as_str()), ("de", "mgsm"));
        std::fs::write(&path, "en\n").unwrap();
        assert!(read_labelled(&path).is_err());
    }

    #[test]
    fn accuracy_is_the_share_right() {
        let s = LanguageScore {
            n: 4,
            right: 3,
            unsure: 1,
            wrong: BTreeMap::new(),
        };
        assert_eq!(s.accuracy(), 0.75);
        let r = Report {
            vectors: false,
            languages: [
                ("a".to_string(), s),
                (
                    "b".to_string(),
                    LanguageScore {
                        n: 2,
                        right: 2,
                        ..Default::default()
                    },
                ),
            ]
            .into(),
            micros_per_query: 0.0,
        };
        assert_eq!(r.mean_accuracy(), 0.875);
    }
}
