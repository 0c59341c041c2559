//! Training data: JSONL records `{"id", "lang", "query", "passage"}` (optionally `"doc"`),
//! where records sharing an `id` are translations of each other, and the builder that makes
//! them from parallel corpora (the readers of each corpus are in [`super::sources`]).
//!
//! The pairs built from NTREX-128 and FLORES (SIB-200): the query is one sentence, the
//! passage is its context in the same document, without the sentence itself: the sentence
//! before and the sentence after it (at a document's edges, the two nearest on the one
//! side). A question-like query and the passage that continues its topic, with no copied
//! words to match trivially; translations share an id, so one group gives an X-X pair in
//! every language and an X-Y pair for every two languages. A record's `doc` (the source
//! document) lets the sampler keep pairs of one document out of the same batch: their
//! passages overlap, which would make false negatives.
//!
//! Validation: whole documents are held out (every `valid_every`-th), never single
//! sentences of a document that is also trained on.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analysis::two_letter;
use crate::error::{Error, Result};

/// One training pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Translation group: records with one id say the same thing in different languages.
    pub id: String,
    /// Language of query and passage.
    pub lang: String,
    /// The query text (no prefix: the model's prefix is added when encoding).
    pub query: String,
    /// The passage text.
    pub passage: String,
    /// Source document, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The article its paragraph comes from (squad2-fi), for batches in which an article's
    /// paragraphs are one another's hard negatives (`train --same-article`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// The corpus it came from (`ntrex`, `flores`, `tico`, `mgsm`, `qa`), in a mix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Gives X-Y pairs only: its query and passage are one text (MGSM's questions), so
    /// its X-X pair would be a copy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cross_only: bool,
}

/// Reads a JSONL file of records; a bad line is an error naming it.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut records = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line).map_err(|e| Error::QueriesFile {
            path: path.to_path_buf(),
            line: n + 1,
            reason: format!("expected {{\"id\", \"lang\", \"query\", \"passage\"}}: {e}"),
        })?;
        records.push(record);
    }
    Ok(records)
}

/// Writes records as JSONL.
pub fn write_records(path: &Path, records: &[Record]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = std::io::BufWriter::new(file);
    for r in records {
        let line = serde_json::to_string(r).expect("records serialise");
        writeln!(out, "{line}").map_err(|e| Error::io(path, e))?;
    }
    out.flush().map_err(|e| Error::io(path, e))
}

/// Options of the builders.
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// Hold out every n-th document for validation.
    pub valid_every: usize,
    /// Languages left out (ISO 639-3 or 639-1 primary subtags; the paper left out Greek and
    /// Vietnamese to test unseen languages).
    pub exclude: Vec<String>,
    /// Only these languages (primary subtags), when not empty.
    pub only: Vec<String>,
}

impl PrepareOptions {
    /// Whether the language `primary` is to be read: codes compare in their two-letter
    /// form where one exists, so `--exclude ell,vie` leaves Greek and Vietnamese out of
    /// every source (NTREX and FLORES write `ell`, TICO and MGSM `el`).
    pub(super) fn wanted(&self, primary: &str) -> bool {
        let code = two_letter(primary);
        let named = |list: &[String]| list.iter().any(|c| two_letter(c) == code);
        !named(&self.exclude) && (self.only.is_empty() || named(&self.only))
    }
}

/// Training and validation records.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Records to train on.
    pub train: Vec<Record>,
    /// Held-out records.
    pub valid: Vec<Record>,
    /// Languages used.
    pub languages: Vec<String>,
    /// Languages skipped, with why.
    pub skipped: Vec<(String, String)>,
}

/// The primary subtag of a corpus's language tag (`pt-BR` → `pt`, `deu_Latn` → `deu`).
pub(super) fn primary(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase()
}

/// Whether the `n`-th document (0-based) is held out: every `every`-th (0: none).
pub(super) fn held_out(n: usize, every: usize) -> bool {
    every > 0 && n % every == every - 1
}

impl Prepared {
    /// Adds a record to the validation or the training records.
    pub(super) fn push(&mut self, record: Record, valid: bool) {
        if valid {
            self.valid.push(record);
        } else {
            self.train.push(record);
        }
    }

    /// Whether the corpus's language `tag` (primary subtag `code`) is read: not when the
    /// options leave it out, nor when another variant of it was taken already (`taken`);
    /// a language passed over is recorded in `skipped` with why.
    pub(super) fn takes(
        &mut self,
        tag: &str,
        code: &str,
        options: &PrepareOptions,
        taken: &mut HashSet<String>,
    ) -> bool {
        let why = if !options.wanted(code) {
            "excluded".to_string()
        } else if !taken.insert(code.to_string()) {
            format!("another variant of {code} is used")
        } else {
            return true;
        };
        self.skipped.push((tag.to_string(), why));
        false
    }
}

/// The sentences of one language, in corpus order, with their document.
pub(super) struct Sentences<'a> {
    /// The language.
    pub lang: String,
    /// (document, sentence), aligned across languages; "" where a language lacks one.
    pub items: Vec<(&'a str, String)>,
}

/// Makes the (sentence, context) records of every language; documents with fewer than
/// three sentences give none (no context without the sentence itself).
pub(super) fn build(prepared: &mut Prepared, corpus: &str, all: &[Sentences], valid_every: usize) {
    let Some(first) = all.first() else {
        return;
    };
    // Document spans, from the first language (all are aligned).
    let mut spans: Vec<(String, usize, usize)> = Vec::new();
    for (i, (doc, _)) in first.items.iter().enumerate() {
        match spans.last_mut() {
            Some((d, _, end)) if d == doc => *end = i + 1,
            _ => spans.push((doc.to_string(), i, i + 1)),
        }
    }
    for (n, (doc, start, end)) in spans.iter().enumerate() {
        if end - start < 3 {
            continue;
        }
        let valid = held_out(n, valid_every);
        for i in *start..*end {
            let context: Vec<usize> = if i == *start {
                vec![i + 1, i + 2]
            } else if i + 1 == *end {
                vec![i - 2, i - 1]
            } else {
                vec![i - 1, i + 1]
            };
            for sentences in all {
                let text = |j: usize| sentences.items[j].1.as_str();
                if text(i).is_empty() || context.iter().any(|&j| text(j).is_empty()) {
                    continue;
                }
                let record = Record {
                    id: format!("{corpus}:{i}"),
                    lang: sentences.lang.clone(),
                    query: text(i).to_string(),
                    passage: context.iter().map(|&j| text(j)).collect::<Vec<_>>().join(" "),
                    doc: Some(format!("{corpus}:{doc}")),
                    article: None,
                    source: None,
                    cross_only: false,
                };
                prepared.push(record, valid);
            }
        }
    }
    prepared.languages = all.iter().map(|s| s.lang.clone()).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let records = vec![Record {
            id: "1".into(),
            lang: "de".into(),
            query: "q".into(),
            passage: "p".into(),
            doc: None,
            article: None,
            source: Some("qa".into()),
            cross_only: true,
        }];
        write_records(&path, &records).unwrap();
        assert_eq!(read_records(&path).unwrap(), records);
        std::fs::write(&path, "{\"id\":\"1\"}\n").unwrap();
        assert!(read_records(&path).unwrap_err().to_string().contains("r.jsonl:1"));
    }
}
