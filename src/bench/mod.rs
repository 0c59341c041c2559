//! Benchmarks with the literature's protocols: LAReQA (XQuAD-R, MLQA-R) and MIRACL, the
//! metrics they use (trec_eval semantics), and a speed table.
//!
//! Work that costs minutes is kept between runs: embeddings in a cache (see [`cache`]),
//! BM25 and vector indexes in ordinary mlsearch indexes that `index_folder` updates
//! incrementally, so a repeated or interrupted run redoes nothing that is unchanged.

pub mod lareqa;
pub mod metrics;
pub mod miracl;
pub mod query_lang;
pub mod speed;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::encoder::TextKind;
use crate::engine::EncoderEmbedder;
use crate::error::{Error, Result};
use crate::ingest::embed_cache::{embed_cached, CachedEmbedding};
use crate::ingest::{index_folder, IndexOptions};
use crate::search::{HybridOptions, LangFilter, Mode, SearchOptions, Searcher};
use crate::store::{Bm25Params, Vectors};
use lareqa::Dataset;

/// BM25 evidence for LAReQA: indexes the candidates (one JSONL file per language, `lang`
/// given) into `work/index` and returns, per question, every matched candidate and its
/// score, the question analysed in its own language.
pub fn lareqa_bm25(
    data: &Dataset,
    work: &Path,
    threads: usize,
    bm25: Option<Bm25Params>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Vec<(usize, f32)>>> {
    let corpus = work.join("corpus");
    std::fs::create_dir_all(&corpus).map_err(|e| Error::io(&corpus, e))?;
    for lang in &data.langs {
        let mut jsonl = String::new();
        for c in data.candidates.iter().filter(|c| c.lang == *lang) {
            let record = serde_json::json!({"docid": c.id, "lang": c.lang, "text": c.text});
            jsonl.push_str(&record.to_string());
            jsonl.push('\n');
        }
        let path = corpus.join(format!("{lang}.jsonl"));
        if std::fs::read_to_string(&path).ok().as_deref() != Some(jsonl.as_str()) {
            std::fs::write(&path, jsonl).map_err(|e| Error::io(&path, e))?;
        }
    }
    let index = work.join("index");
    index_folder(
        &corpus,
        &index,
        &IndexOptions {
            threads,
            ..Default::default()
        },
        &mut |_| {},
    )?;
    let searcher = Searcher::open(&index)?;
    let by_id: HashMap<&str, usize> = data
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let candidate_of: HashMap<u64, usize> = searcher
        .passage_keys()?
        .into_iter()
        .filter_map(|(key, (doc, _, _))| by_id.get(doc.as_str()).map(|&c| (key, c)))
        .collect();
    let mut lists = Vec::with_capacity(data.questions.len());
    for (i, q) in data.questions.iter().enumerate() {
        let options = SearchOptions {
            k: data.candidates.len(),
            langs: LangFilter::Any,
            query_lang: q.read_as.clone(),
            snippets: false,
            mode: Some(Mode::Bm25),
            bm25,
            ..Default::default()
        };
        let hits = searcher.bm25(&q.text, &options)?;
        lists.push(
            hits.into_iter()
                .filter_map(|(k, s)| candidate_of.get(&k).map(|&c| (c, s)))
                .collect(),
        );
        if (i + 1) % 500 == 0 || i + 1 == data.questions.len() {
            progress(i + 1, data.questions.len());
        }
    }
    Ok(lists)
}

/// Dense evidence for LAReQA: question and candidate vectors, through the cache in
/// `work/embeddings`.
pub fn lareqa_dense(
    data: &Dataset,
    model: &EncoderEmbedder,
    work: &Path,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<(lareqa::VectorList, lareqa::VectorList)> {
    let cache = work.join("embeddings");
    let mut embed = |what: &str, kind: TextKind, texts: &[&str]| {
        let mut report = |d, t| progress(what, d, t);
        let embed = |chunk: &[&str]| Ok(model.encoder.embed(chunk, kind)?);
        let how = CachedEmbedding {
            model: &model.identity,
            kind,
            dim: model.encoder.dim(),
            chunk: 512,
            embed: &embed,
        };
        embed_cached(&how, texts, &cache, &mut report)
    };
    let candidates: Vec<&str> = data.candidates.iter().map(|c| c.text.as_str()).collect();
    let candidates = embed("candidates", TextKind::Passage, &candidates)?;
    let questions: Vec<&str> = data.questions.iter().map(|q| q.text.as_str()).collect();
    let questions = embed("questions", TextKind::Query, &questions)?;
    Ok((questions, candidates))
}

/// Per-language centring as an index applies it (see [`crate::store::Centring`]): means
/// from the candidates of each language, candidates centred with their language's mean,
/// questions with the mean of theirs.
pub fn centre_by_language(data: &Dataset, questions: &mut [Vec<f32>], candidates: &mut [Vec<f32>]) -> Result<()> {
    let Some(dim) = candidates.first().map(Vec::len) else {
        return Ok(());
    };
    let mut centring = Vectors::new(dim)?;
    let raw: Vec<(&str, &[f32])> = data
        .candidates
        .iter()
        .zip(candidates.iter())
        .map(|(c, v)| (c.lang.as_str(), v.as_slice()))
        .collect();
    centring.learn_means(&raw);
    for (c, v) in data.candidates.iter().zip(candidates.iter_mut()) {
        centring.centre_passage(&c.lang, v);
    }
    for (q, v) in data.questions.iter().zip(questions.iter_mut()) {
        centring.centre_query(q.read_as.as_deref(), v);
    }
    Ok(())
}

/// Raw vectors of a dataset's questions and of its candidates, in their order.
pub type RawVectors<'a> = (&'a [Vec<f32>], &'a [Vec<f32>]);

/// Reads every question as a user's search would (`bench --detect-query-lang`): its
/// language identified among the data's languages ([`crate::search::query_lang`]), with
/// the raw question vectors and the candidates' per-language means when `dense` is given.
/// Returns the share identified right per language.
pub fn identify_questions(
    data: &mut Dataset,
    dense: Option<RawVectors<'_>>,
) -> Result<std::collections::BTreeMap<String, f64>> {
    let means = match dense {
        Some((_, candidates)) if !candidates.is_empty() => {
            let mut centring = Vectors::new(candidates[0].len())?;
            let raw: Vec<(&str, &[f32])> = data
                .candidates
                .iter()
                .zip(candidates)
                .map(|(c, v)| (c.lang.as_str(), v.as_slice()))
                .collect();
            centring.learn_means(&raw);
            Some(centring.means().clone())
        }
        _ => None,
    };
    let langs: Vec<&str> = data.langs.iter().map(String::as_str).collect();
    let mut right: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut read_as = Vec::with_capacity(data.questions.len());
    for (i, q) in data.questions.iter().enumerate() {
        let vector = dense.map(|(questions, _)| questions[i].as_slice());
        let found = crate::search::query_lang::identify(&q.text, None, &langs, means.as_ref(), vector)?.lang;
        let entry = right.entry(q.lang.clone()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(found.as_deref() == Some(q.lang.as_str()));
        read_as.push(found);
    }
    for (q, lang) in data.questions.iter_mut().zip(read_as) {
        q.read_as = lang;
    }
    Ok(right.into_iter().map(|(l, (n, r))| (l, r as f64 / n as f64)).collect())
}

/// The folder of a benchmark or training data set: `given` (`--data`), else
/// `$MLSEARCH_DATA/<name>`; neither is an error that names both. The one place data paths
/// are resolved (benchmarks, `train prepare`, the Python package).
pub fn data_dir(given: Option<&Path>, name: &str) -> Result<PathBuf> {
    match (given, std::env::var_os("MLSEARCH_DATA")) {
        (Some(dir), _) => Ok(dir.to_path_buf()),
        (None, Some(root)) if !root.is_empty() => Ok(PathBuf::from(root).join(name)),
        _ => Err(Error::DataNotGiven { name: name.to_string() }),
    }
}

/// Where benchmarks keep their embedding caches and indexes between runs:
/// `$XDG_CACHE_HOME/mlsearch/bench`, else `~/.cache/mlsearch/bench`.
pub fn default_work_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("mlsearch/bench")
}

/// Worker threads for a benchmark: `requested`, or one per core when 0.
pub fn threads(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// How a LAReQA benchmark (XQuAD-R, MLQA-R) runs: what `mlsearch bench xquad-r` and the
/// Python package's `bench.xquad_r` both call.
pub struct LareqaOptions<'a> {
    /// The retrievals to score, in order.
    pub modes: Vec<Mode>,
    /// The encoder (needed unless every mode is BM25).
    pub model: Option<&'a EncoderEmbedder>,
    /// Folder for the embedding cache and the BM25 index (kept between runs).
    pub work: PathBuf,
    /// Worker threads.
    pub threads: usize,
    /// BM25 parameters (`None`: the defaults).
    pub bm25: Option<Bm25Params>,
    /// Fusion settings for hybrid mode.
    pub hybrid: HybridOptions,
    /// Centre vectors per language, as an index does.
    pub centring: bool,
    /// Identify each question's language instead of taking it as given.
    pub detect_query_lang: bool,
    /// Candidates per setting handed to the run sink (0: none).
    pub run_depth: usize,
}

/// Receives each mode's run lines: mode, setting (`de-en`, `de-any`), question id, ranked
/// candidates.
pub type ModeRunSink<'a> = &'a mut dyn FnMut(Mode, &str, &str, &[(usize, f64)]);

/// What [`run_lareqa`] measured.
pub struct LareqaOutcome {
    /// One report per mode, in the order asked.
    pub reports: Vec<lareqa::Report>,
    /// With `detect_query_lang`: the share of questions identified right, per language.
    pub identified: Option<BTreeMap<String, f64>>,
}

impl LareqaOutcome {
    /// The run as one JSON object (`bench xquad-r --json`, the Python package's result).
    pub fn summary(
        &self,
        name: &str,
        data_dir: &Path,
        model: Option<&str>,
        data: &Dataset,
        seconds: f64,
    ) -> serde_json::Value {
        serde_json::json!({
            "benchmark": name,
            "data": data_dir,
            "model": model,
            "candidates": data.candidates_per_language(),
            "questions": data.questions_per_language(),
            "edge_cases": data.edge_cases,
            "query_lang": if self.identified.is_some() { "identified" } else { "given" },
            "query_lang_identified_right": self.identified,
            "reports": self.reports,
            "seconds": seconds,
        })
    }
}

/// Runs a LAReQA benchmark on `data`: embeds (through the cache), identifies the question
/// languages when asked, searches BM25, centres, and scores every mode. `sink` receives
/// each mode's run lines; `progress` gets a stage name with done and total counts.
pub fn run_lareqa(
    data: &mut Dataset,
    options: &LareqaOptions,
    mut sink: Option<ModeRunSink>,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<LareqaOutcome> {
    let needs_dense = options.modes.iter().any(|&m| m != Mode::Bm25);
    // Raw vectors first: identifying the question language uses them.
    let raw = match (needs_dense, options.model) {
        (false, _) => None,
        (true, Some(model)) => Some(lareqa_dense(data, model, &options.work, &mut |what, d, t| {
            progress(&format!("embedding {what}"), d, t)
        })?),
        (true, None) => return Err(Error::InvalidSetting("dense and hybrid modes need an encoder".into())),
    };
    let identified = match options.detect_query_lang {
        true => Some(identify_questions(
            data,
            raw.as_ref().map(|(q, c)| (q.as_slice(), c.as_slice())),
        )?),
        false => None,
    };
    let bm25 = match options.modes.iter().any(|&m| m != Mode::Dense) {
        true => Some(lareqa_bm25(
            data,
            &options.work,
            options.threads,
            options.bm25,
            &mut |d, t| progress("BM25 questions", d, t),
        )?),
        false => None,
    };
    let dense = match raw {
        Some((mut questions, mut candidates)) => {
            if options.centring {
                centre_by_language(data, &mut questions, &mut candidates)?;
            }
            Some((questions, candidates))
        }
        None => None,
    };
    let evidence = lareqa::Evidence {
        dense: dense.as_ref().map(|(q, c)| (q.as_slice(), c.as_slice())),
        bm25: bm25.as_deref(),
    };
    let mut reports = Vec::with_capacity(options.modes.len());
    for &mode in &options.modes {
        let scoring = lareqa::Scoring {
            mode,
            hybrid: options.hybrid,
            threads: options.threads,
            run_depth: if sink.is_some() { options.run_depth } else { 0 },
        };
        let mut mode_sink = |setting: &str, qid: &str, ranked: &[(usize, f64)]| {
            if let Some(sink) = sink.as_mut() {
                sink(mode, setting, qid, ranked)
            }
        };
        let stage = format!("scoring {}", mode.name());
        reports.push(lareqa::evaluate(
            data,
            &evidence,
            scoring,
            Some(&mut mode_sink),
            &mut |d, t| progress(&stage, d, t),
        )?);
    }
    Ok(LareqaOutcome { reports, identified })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detected_questions_are_read_in_their_identified_language() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/lareqa");
        let mut data = Dataset::load(Path::new(dir)).unwrap();
        assert!(data
            .questions
            .iter()
            .all(|q| q.read_as.as_deref() == Some(q.lang.as_str())));
        let right = identify_questions(&mut data, None).unwrap();
        assert_eq!(right.keys().collect::<Vec<_>>(), ["de", "en", "es"]);
        // Whatever was found is one of the data's languages, or unknown.
        for q in &data.questions {
            assert!(q.read_as.as_ref().is_none_or(|l| data.langs.contains(l)), "{q:?}");
        }
        let mean = right.values().sum::<f64>() / right.len() as f64;
        assert!(mean >= 0.5, "{right:?}");
    }
}
