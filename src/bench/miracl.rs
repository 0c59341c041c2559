//! MIRACL (Zhang et al. 2023): monolingual retrieval in 18 languages, judged at passage
//! level; nDCG@10 and Recall@100 as `trec_eval -c -M 100` computes them.
//!
//! Each language's corpus (JSONL or JSONL.gz: `docid`, `title`, `text`) is indexed into its
//! own mlsearch index under the work folder, every passage marked with the topic language
//! (no detection: MIRACL corpora are monolingual), then every topic runs as an ordinary
//! query (`k` 100, the query analysed in its language) and the first passage of each
//! document stands for it in the run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::metrics::{self, Qrels, Run};
use crate::analysis::normalize_tag;
use crate::encoder::TextKind;
use crate::engine::EncoderEmbedder;
use crate::error::{Error, Result};
use crate::ingest::{index_folder, IndexOptions};
use crate::search::{LangFilter, Mode, SearchOptions, Searcher};

/// The files of one language.
#[derive(Debug, Clone)]
pub struct LanguageFiles {
    /// ISO 639-1 code.
    pub lang: String,
    /// Corpus: a folder of JSONL(.gz) files or one such file.
    pub corpus: PathBuf,
    /// `qid<TAB>query` per line.
    pub topics: PathBuf,
    /// TREC qrels.
    pub qrels: PathBuf,
}

/// A language that cannot run, and why.
pub type Missing = (String, String);

/// Finds, in a MIRACL folder, each language's topics (`topics/*-<lang>-*.tsv`), qrels
/// (`qrels/*-<lang>-*.tsv`) and corpus (`corpus/<lang>/` or `miracl-corpus-v1.0-<lang>/`).
/// Returns the complete languages and, for the others, what is missing.
pub fn find_languages(data: &Path, only: Option<&[String]>) -> Result<(Vec<LanguageFiles>, Vec<Missing>)> {
    let topics_dir = data.join("topics");
    let entries = std::fs::read_dir(&topics_dir).map_err(|e| Error::io(&topics_dir, e))?;
    let mut langs: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(&topics_dir, e))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
        if let Some(lang) = language_in_name(&name) {
            langs.push((lang, path));
        }
    }
    langs.sort();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (lang, topics) in langs {
        if only.is_some_and(|o| !o.contains(&lang)) {
            continue;
        }
        let qrels_name = topics
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .replacen("topics", "qrels", 1);
        let qrels = data.join("qrels").join(qrels_name);
        let corpus = [
            data.join("corpus").join(&lang),
            data.join(format!("miracl-corpus-v1.0-{lang}")),
        ]
        .into_iter()
        .find(|p| p.exists());
        match (qrels.exists(), corpus) {
            (true, Some(corpus)) => found.push(LanguageFiles {
                lang,
                corpus,
                topics,
                qrels,
            }),
            (false, _) => missing.push((lang, format!("no qrels file {}", qrels.display()))),
            (true, None) => missing.push((
                lang.clone(),
                format!("no corpus (corpus/{lang}/ or miracl-corpus-v1.0-{lang}/)"),
            )),
        }
    }
    Ok((found, missing))
}

/// The language code in a MIRACL file name (`topics.miracl-v1.0-ar-dev.tsv` → `ar`).
fn language_in_name(name: &str) -> Option<String> {
    name.split(['-', '.', '_'])
        .filter(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_lowercase()))
        .find_map(normalize_tag)
}

/// One language's result in one mode.
#[derive(Debug, Clone, Serialize)]
pub struct LanguageScores {
    /// Language.
    pub lang: String,
    /// Retrieval mode.
    pub mode: Mode,
    /// Topics run.
    pub topics: usize,
    /// Queries with at least one relevant judgement (the mean is over these).
    pub judged: usize,
    /// Mean nDCG@10.
    pub ndcg10: f64,
    /// Mean Recall@100.
    pub recall100: f64,
    /// Passages in the index.
    pub passages: u64,
    /// Passages embedded by this run (0 when the index was reused).
    pub embedded: u64,
    /// Seconds spent indexing (and embedding).
    pub index_seconds: f64,
    /// Seconds spent running the topics (queries embedded in one batch beforehand).
    pub query_seconds: f64,
}

/// How the topics run.
pub struct MiraclOptions<'a> {
    /// Retrieval modes (one index serves all: with vectors if any mode needs them).
    pub modes: Vec<Mode>,
    /// The rest of the search settings (`k` is raised to 100).
    pub search: SearchOptions,
    /// Encoder for dense and hybrid mode (it moves into the searcher and back).
    pub model: Option<&'a mut Option<EncoderEmbedder>>,
    /// Indexing threads.
    pub threads: usize,
}

/// Indexes `files.corpus` into `work/<lang>-<hash of its path>/` (reusing what is unchanged), runs the
/// topics in each mode and scores the runs; returns each mode's scores and run.
pub fn run_language(
    files: &LanguageFiles,
    work: &Path,
    options: &mut MiraclOptions,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Vec<(LanguageScores, Run)>> {
    let topics = metrics::read_topics(&files.topics)?;
    let qrels: Qrels = metrics::read_qrels(&files.qrels)?;
    let dense = options.modes.iter().any(|&m| m != Mode::Bm25);
    // One work folder per corpus location: an index belongs to the folder it was built from.
    let location = std::fs::canonicalize(&files.corpus).map_err(|e| Error::io(&files.corpus, e))?;
    let location = blake3::hash(location.to_string_lossy().as_bytes()).to_hex();
    let lang_work = work.join(format!("{}-{}", files.lang, &location[..12]));
    let corpus = corpus_folder(&files.corpus, &lang_work)?;

    let start = Instant::now();
    let embedder = match (dense, options.model.as_deref()) {
        (false, _) => None,
        (true, Some(Some(embedder))) => Some(embedder),
        (true, _) => {
            return Err(Error::Data {
                path: files.corpus.clone(),
                reason: "dense and hybrid runs need a model".into(),
            })
        }
    };
    // BM25-only runs use their own index, so they never drop a vector index's vectors.
    let index = lang_work.join(if dense { "index" } else { "index-bm25" });
    let report = index_folder(
        &corpus,
        &index,
        &IndexOptions {
            default_lang: Some(files.lang.clone()),
            rebuild: false,
            threads: options.threads,
            embedder: embedder.map(|e| e as &dyn crate::store::PassageEmbedder),
            ..Default::default()
        },
        &mut |event| {
            if let crate::ingest::Progress::Embedded { done, total } = event {
                progress("embedding", done, total);
            }
        },
    )?;
    let index_seconds = start.elapsed().as_secs_f64();

    let searcher = Searcher::open(&index)?;
    let texts: Vec<&str> = topics.iter().map(|(_, t)| t.as_str()).collect();
    // Queries are embedded in one batch, by the model that made the index's vectors.
    let mut vectors = None;
    if dense {
        if let Some(EncoderEmbedder { encoder, identity }) = options.model.as_deref().and_then(Option::as_ref) {
            searcher.check_model(identity)?;
            vectors = Some(encoder.embed(&texts, TextKind::Query)?);
        }
    }
    let mut results = Vec::new();
    for &mode in &options.modes {
        let start = Instant::now();
        let search = SearchOptions {
            k: options.search.k.max(100),
            langs: LangFilter::Any,
            query_lang: Some(files.lang.clone()),
            snippets: false,
            mode: Some(mode),
            ..options.search.clone()
        };
        let mut run = Run::new();
        for (i, (qid, text)) in topics.iter().enumerate() {
            let vector = vectors.as_ref().map(|v| v[i].as_slice());
            let hits = searcher.search_with_vector(text, vector, &search)?.hits;
            // The best passage of a document stands for it.
            let mut docs: Vec<(String, f64)> = Vec::new();
            for hit in hits {
                if !docs.iter().any(|(d, _)| *d == hit.doc) {
                    docs.push((hit.doc, hit.score as f64));
                }
            }
            run.insert(qid.clone(), docs);
            if (i + 1) % 100 == 0 || i + 1 == topics.len() {
                progress("topics", i + 1, topics.len());
            }
        }
        let scores = metrics::evaluate(&run, &qrels, 100);
        let scores = LanguageScores {
            lang: files.lang.clone(),
            mode,
            topics: topics.len(),
            judged: scores.len(),
            ndcg10: metrics::mean(scores.values().map(|s| &s.ndcg10)),
            recall100: metrics::mean(scores.values().map(|s| &s.recall100)),
            passages: report.passages,
            embedded: report.passages_embedded,
            index_seconds,
            query_seconds: start.elapsed().as_secs_f64(),
        };
        results.push((scores, run));
    }
    Ok(results)
}

/// `index_folder` takes a folder: a single corpus file is linked into one under `work`.
fn corpus_folder(corpus: &Path, work: &Path) -> Result<PathBuf> {
    if corpus.is_dir() {
        return Ok(corpus.to_path_buf());
    }
    if !corpus.is_file() {
        return Err(Error::Data {
            path: corpus.to_path_buf(),
            reason: "no such corpus file or folder".into(),
        });
    }
    let folder = work.join("corpus");
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
    let link = folder.join(corpus.file_name().unwrap_or_default());
    let target = std::fs::canonicalize(corpus).map_err(|e| Error::io(corpus, e))?;
    if std::fs::read_link(&link).ok().as_deref() != Some(target.as_path()) {
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &link).map_err(|e| Error::io(&link, e))?;
        #[cfg(not(unix))]
        std::fs::copy(&target, &link).map_err(|e| Error::io(&link, e))?;
    }
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_come_from_file_names() {
        assert_eq!(language_in_name("topics.miracl-v1.0-ar-dev.tsv").as_deref(), Some("ar"));
        assert_eq!(language_in_name("qrels.miracl-v1.0-zh-dev.tsv").as_deref(), Some("zh"));
        assert_eq!(language_in_name("topics.tsv"), None);
    }
}
