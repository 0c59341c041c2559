//! Training data: JSONL records `{"id", "lang", "query", "passage"}` (optionally `"doc"`),
//! where records sharing an `id` are translations of each other, and the builders that make
//! them from parallel corpora.
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

use std::collections::{BTreeMap, HashSet};
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

/// NTREX-128: `NTREX-128/newstest2019-ref.<lang>.txt`, line-aligned, with the document of
/// each line in `DOCUMENT_IDS.tsv`. Regional variants (eng-GB/IN/US, fra-CA, …) and the
/// second Spanish reference are skipped: one text per language.
pub fn prepare_ntrex(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let ids_path = dir.join("DOCUMENT_IDS.tsv");
    let doc_ids: Vec<String> = std::fs::read_to_string(&ids_path)
        .map_err(|e| Error::io(&ids_path, e))?
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    let texts = dir.join("NTREX-128");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&texts)
        .map_err(|e| Error::io(&texts, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("newstest2019-ref.") && name.ends_with(".txt")
        })
        .collect();
    // Plain codes before regional variants (spa before spa-MX), so the variant skipped is
    // the regional one where both exist.
    let tag_of = |p: &std::path::PathBuf| {
        let name = p.file_name().unwrap_or_default().to_string_lossy().to_string();
        name.trim_start_matches("newstest2019-ref.")
            .trim_end_matches(".txt")
            .to_string()
    };
    files.sort_by_key(|p| (tag_of(p).contains('-'), tag_of(p)));
    let mut contents = Vec::new();
    let mut prepared = Prepared::default();
    let mut primaries = HashSet::new();
    for file in &files {
        let tag = tag_of(file);
        let primary = primary(&tag);
        if !prepared.takes(&tag, &primary, options, &mut primaries) {
            continue;
        }
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() != doc_ids.len() {
            prepared
                .skipped
                .push((tag, format!("{} lines, not {}", lines.len(), doc_ids.len())));
            continue;
        }
        contents.push((primary, lines));
    }
    let all: Vec<Sentences> = contents
        .iter()
        .map(|(lang, lines)| Sentences {
            lang: lang.clone(),
            items: doc_ids.iter().map(String::as_str).zip(lines.iter().cloned()).collect(),
        })
        .collect();
    build(&mut prepared, "ntrex", &all, options.valid_every);
    Ok(prepared)
}

/// FLORES-200 as in SIB-200: `<lang_Script>/train.tsv` with `index_id`, `category`, `text`,
/// rows aligned by `index_id`. FLORES keeps consecutive sentences of an article at
/// consecutive ids, so the document of a sentence is approximated by its category and the
/// run of consecutive ids it sits in.
pub fn prepare_flores(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let mut prepared = Prepared::default();
    let mut folders: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("train.tsv").exists())
        .collect();
    folders.sort();
    // Per language: index_id → (category, sentence).
    type Rows = BTreeMap<u64, (String, String)>;
    let mut per_lang: Vec<(String, Rows)> = Vec::new();
    for folder in folders {
        let tag = folder.file_name().unwrap_or_default().to_string_lossy().to_string();
        let primary = primary(&tag);
        if !options.wanted(&primary) {
            prepared.skipped.push((tag, "excluded".into()));
            continue;
        }
        let path = folder.join("train.tsv");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut rows = BTreeMap::new();
        for line in text.lines().skip(1) {
            let mut fields = line.splitn(3, '\t');
            if let (Some(id), Some(category), Some(sentence)) = (fields.next(), fields.next(), fields.next()) {
                if let Ok(id) = id.trim().parse::<u64>() {
                    rows.insert(id, (category.to_string(), sentence.trim().to_string()));
                }
            }
        }
        per_lang.push((primary, rows));
    }
    // Documents: runs of consecutive ids with one category (from the first language).
    let Some((_, first)) = per_lang.first() else {
        return Err(Error::Data {
            path: dir.to_path_buf(),
            reason: "no <lang>/train.tsv folders".into(),
        });
    };
    let mut doc_of: BTreeMap<u64, String> = BTreeMap::new();
    let mut previous: Option<(u64, String)> = None;
    let mut doc = 0;
    for (&id, (category, _)) in first {
        if previous.as_ref().is_none_or(|(p, c)| id != p + 1 || c != category) {
            doc += 1;
        }
        doc_of.insert(id, format!("{category}.{doc}"));
        previous = Some((id, category.clone()));
    }
    let doc_names: Vec<String> = doc_of.values().cloned().collect();
    let all: Vec<Sentences> = per_lang
        .iter()
        .filter(|(_, rows)| rows.keys().eq(doc_of.keys()))
        .map(|(lang, rows)| Sentences {
            lang: lang.clone(),
            items: doc_names
                .iter()
                .map(String::as_str)
                .zip(rows.values().map(|(_, s)| s.clone()))
                .collect(),
        })
        .collect();
    for (lang, rows) in &per_lang {
        if !rows.keys().eq(doc_of.keys()) {
            prepared
                .skipped
                .push((lang.clone(), "rows not aligned with the first language".into()));
        }
    }
    build(&mut prepared, "flores", &all, options.valid_every);
    Ok(prepared)
}

/// The training sources, with their folders under the data root; `train prepare mix`
/// reads all of them unless `--sources` names some.
pub const SOURCES: [(&str, &str); 7] = [
    ("ntrex", "ntrex-128"),
    ("flores", "flores-sib200"),
    ("tico", "tico-19"),
    ("mgsm", "mgsm"),
    ("qa", "qa-native"),
    ("squad2-fi", "squad2-fi"),
    ("jaquad", "jaquad"),
];

/// Records of one source in a mix.
#[derive(Debug, Clone, Copy)]
pub struct SourceCount {
    /// The source.
    pub source: &'static str,
    /// Training records.
    pub train: usize,
    /// Validation records.
    pub valid: usize,
}

/// Reads one source from its folder.
pub fn prepare_source(source: &str, dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    match source {
        "ntrex" => prepare_ntrex(dir, options),
        "flores" => prepare_flores(dir, options),
        "tico" => super::sources::prepare_tico(dir, options),
        "mgsm" => super::sources::prepare_mgsm(dir, options),
        "qa" => super::sources::prepare_qa(dir, options),
        "squad2-fi" => super::sources::prepare_squad2_fi(dir, options),
        "jaquad" => super::sources::prepare_jaquad(dir, options),
        other => Err(Error::InvalidSetting(format!("unknown training source {other:?}"))),
    }
}

/// Every source under `root` (its [`SOURCES`] folders; only `sources` when not empty) in
/// one set of records, each with
/// its `source`; each source keeps its own validation split (whole documents held out).
/// Returns the mix and the records of each source.
pub fn prepare_mix(root: &Path, options: &PrepareOptions, sources: &[String]) -> Result<(Prepared, Vec<SourceCount>)> {
    if let Some(unknown) = sources.iter().find(|s| !SOURCES.iter().any(|(name, _)| name == s)) {
        return Err(Error::InvalidSetting(format!(
            "unknown training source {unknown:?}: {}",
            SOURCES.map(|(name, _)| name).join(", ")
        )));
    }
    let mut mix = Prepared::default();
    let mut counts = Vec::new();
    let mut languages = std::collections::BTreeSet::new();
    let wanted = SOURCES
        .into_iter()
        .filter(|(name, _)| sources.is_empty() || sources.iter().any(|s| s == name));
    for (source, folder) in wanted {
        let dir = root.join(folder);
        let mut prepared = prepare_source(source, &dir, options)?;
        // One code per language across sources (`deu` and `de` → `de`).
        for r in prepared.train.iter_mut().chain(prepared.valid.iter_mut()) {
            r.source = Some(source.to_string());
            r.lang = two_letter(&r.lang);
        }
        prepared.languages = prepared.languages.iter().map(|l| two_letter(l)).collect();
        counts.push(SourceCount {
            source,
            train: prepared.train.len(),
            valid: prepared.valid.len(),
        });
        languages.extend(prepared.languages.iter().cloned());
        mix.train.append(&mut prepared.train);
        mix.valid.append(&mut prepared.valid);
        mix.skipped.extend(
            prepared
                .skipped
                .into_iter()
                .map(|(l, why)| (format!("{source} {l}"), why)),
        );
    }
    mix.languages = languages.into_iter().collect();
    Ok((mix, counts))
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

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn ntrex_records_pair_a_sentence_with_its_context() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "DOCUMENT_IDS.tsv", "a\na\na\na\nb\nb\nc\nc\nc\n");
        write(
            d,
            "NTREX-128/newstest2019-ref.deu.txt",
            "d0\nd1\nd2\nd3\nd4\nd5\nd6\nd7\nd8\n",
        );
        write(
            d,
            "NTREX-128/newstest2019-ref.eng-GB.txt",
            "e0\ne1\ne2\ne3\ne4\ne5\ne6\ne7\ne8\n",
        );
        write(
            d,
            "NTREX-128/newstest2019-ref.eng-US.txt",
            "u0\nu1\nu2\nu3\nu4\nu5\nu6\nu7\nu8\n",
        );
        write(
            d,
            "NTREX-128/newstest2019-ref.ell.txt",
            "g0\ng1\ng2\ng3\ng4\ng5\ng6\ng7\ng8\n",
        );
        let options = PrepareOptions {
            valid_every: 2,
            exclude: vec!["ell".into()],
            only: Vec::new(),
        };
        let p = prepare_ntrex(d, &options).unwrap();
        assert_eq!(p.languages, ["deu", "eng"]);
        assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
        // Document a (4 sentences) trains; b has 2 (none); c (3) is the 2nd kept span... the
        // spans are a, b, c: b is held out (n = 1) but too short, c trains.
        let first = &p.train[0];
        assert_eq!(
            (first.lang.as_str(), first.query.as_str(), first.passage.as_str()),
            ("deu", "d0", "d1 d2")
        );
        let middle = p.train.iter().find(|r| r.query == "e2").unwrap();
        assert_eq!(middle.passage, "e1 e3");
        let last = p.train.iter().find(|r| r.query == "d3").unwrap();
        assert_eq!(last.passage, "d1 d2");
        assert_eq!(last.id, p.train.iter().find(|r| r.query == "e3").unwrap().id);
        assert_eq!(p.train.len(), 2 * (4 + 3));
        assert!(p.valid.is_empty());
    }

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
            source: Some("qa".into()),
            cross_only: true,
        }];
        write_records(&path, &records).unwrap();
        assert_eq!(read_records(&path).unwrap(), records);
        std::fs::write(&path, "{\"id\":\"1\"}\n").unwrap();
        assert!(read_records(&path).unwrap_err().to_string().contains("r.jsonl:1"));
    }
}
