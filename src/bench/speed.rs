//! Speed: indexing and encoder throughput, query latency per mode, ANN recall against
//! exact search, and the query process's memory, as one table.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::encoder::TextKind;
use crate::engine::EncoderEmbedder;
use crate::error::Result;
use crate::ingest::{index_folder, IndexOptions};
use crate::search::{LangFilter, Mode, SearchOptions, Searcher};
use crate::store::vectors::dot;
use crate::store::EXPANSION_SEARCH;

/// One measured line.
#[derive(Debug, Clone, Serialize)]
pub struct SpeedRow {
    /// What was measured.
    pub what: String,
    /// Items processed.
    pub count: usize,
    /// Wall seconds.
    pub seconds: f64,
    /// Items per second.
    pub per_second: f64,
    /// Median latency, ms (queries).
    pub p50_ms: Option<f64>,
    /// 99th percentile latency, ms (queries).
    pub p99_ms: Option<f64>,
}

impl SpeedRow {
    fn throughput(what: String, count: usize, seconds: f64) -> SpeedRow {
        SpeedRow {
            what,
            count,
            seconds,
            per_second: count as f64 / seconds.max(1e-9),
            p50_ms: None,
            p99_ms: None,
        }
    }

    fn latency(what: String, mut millis: Vec<f64>) -> SpeedRow {
        millis.sort_by(f64::total_cmp);
        let seconds = millis.iter().sum::<f64>() / 1000.0;
        let pick = |p: f64| {
            let last = millis.len().checked_sub(1)?;
            Some(millis[(last as f64 * p).round() as usize])
        };
        SpeedRow {
            p50_ms: pick(0.5),
            p99_ms: pick(0.99),
            ..SpeedRow::throughput(what, millis.len(), seconds)
        }
    }
}

/// One point of the HNSW recall sweep.
#[derive(Debug, Clone, Serialize)]
pub struct AnnRow {
    /// `any` or the language filtered to.
    pub lang: String,
    /// How many neighbours were asked for (recall counts the first 10).
    pub depth: usize,
    /// HNSW candidate list size while searching (`None`: an exact scan).
    pub expansion: Option<usize>,
    /// Mean share of the exact top 10 found in the first 10.
    pub recall_at_10: f64,
    /// Mean time of one vector search, ms.
    pub mean_ms: f64,
}

/// Everything `bench speed` reports.
#[derive(Debug, Clone, Serialize)]
pub struct SpeedReport {
    /// Passages in the queried index.
    pub passages: u64,
    /// Measured lines.
    pub rows: Vec<SpeedRow>,
    /// Recall@10 of the HNSW search against exact search, per filter, depth and expansion.
    pub ann: Vec<AnnRow>,
    /// Resident memory of this process after the queries, MiB (VmRSS).
    pub rss_mib: Option<f64>,
    /// Peak resident memory, MiB (VmHWM).
    pub peak_rss_mib: Option<f64>,
}

/// Measures indexing of `corpus` (BM25 only, into a fresh temporary index) when given,
/// the encoder on up to 512 of the index's passages, and `queries` queries per mode on
/// `index` (each the first words of a passage spread over the index), with `--lang any`
/// and with the index's most common language.
pub fn measure(
    index: &Path,
    corpus: Option<&Path>,
    model: Option<EncoderEmbedder>,
    queries: usize,
    threads: usize,
) -> Result<SpeedReport> {
    let mut rows = Vec::new();
    if let Some(corpus) = corpus {
        let scratch = tempfile::tempdir().map_err(|e| crate::Error::io(std::env::temp_dir(), e))?;
        let start = Instant::now();
        let report = index_folder(
            corpus,
            &scratch.path().join("index"),
            &IndexOptions {
                threads,
                ..Default::default()
            },
            &mut |_| {},
        )?;
        rows.push(SpeedRow::throughput(
            "index, BM25 only (passages)".into(),
            report.passages as usize,
            start.elapsed().as_secs_f64(),
        ));
    }
    let searcher = Searcher::open(index)?;
    let passages = searcher.manifest().passages();
    let sample = searcher.sample_passages(queries.max(512))?;
    let query_texts: Vec<String> = sample
        .iter()
        .take(queries)
        .map(|(_, _, text)| text.split_whitespace().take(8).collect::<Vec<_>>().join(" "))
        .collect();
    let top_lang = searcher
        .manifest()
        .languages()
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(l, _)| l)
        .unwrap_or_default();

    // The encoder for end-to-end query timings, once the index's vectors are its own.
    let mut query_encoder = None;
    let mut ann = Vec::new();
    if let Some(EncoderEmbedder { encoder, identity }) = model {
        let texts: Vec<&str> = sample.iter().take(512).map(|(_, _, t)| t.as_str()).collect();
        let start = Instant::now();
        encoder.embed(&texts, TextKind::Passage)?;
        rows.push(SpeedRow::throughput(
            "encoder, passages (batched)".into(),
            texts.len(),
            start.elapsed().as_secs_f64(),
        ));
        let mut millis = Vec::new();
        let mut vectors = Vec::new();
        for text in &query_texts {
            let start = Instant::now();
            vectors.push(encoder.embed(&[text.as_str()], TextKind::Query)?.remove(0));
            millis.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        rows.push(SpeedRow::latency("encoder, one query".into(), millis));
        if searcher.has_vectors() {
            ann = ann_sweep(&searcher, &vectors, &top_lang)?;
            searcher.check_model(&identity)?;
            query_encoder = Some(encoder);
        }
    }

    let modes: &[Mode] = if query_encoder.is_some() {
        &[Mode::Bm25, Mode::Dense, Mode::Hybrid]
    } else {
        &[Mode::Bm25]
    };
    for &mode in modes {
        for langs in [LangFilter::Any, LangFilter::Only(vec![top_lang.clone()])] {
            let label = match &langs {
                LangFilter::Any => "any".to_string(),
                LangFilter::Only(l) => l.join(","),
            };
            let options = SearchOptions {
                mode: Some(mode),
                langs,
                ..Default::default()
            };
            let mut millis = Vec::new();
            for text in &query_texts {
                let start = Instant::now();
                // End to end: encode the query (dense, hybrid), search, fuse, snippets.
                let vector = match (&query_encoder, mode) {
                    (Some(encoder), Mode::Dense | Mode::Hybrid) => {
                        Some(encoder.embed(&[text], TextKind::Query)?.remove(0))
                    }
                    _ => None,
                };
                searcher.search_with_vector(text, vector.as_deref(), &options)?;
                millis.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            let mode_name = format!("{mode:?}").to_lowercase();
            rows.push(SpeedRow::latency(format!("query {mode_name}, --lang {label}"), millis));
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mib = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Ok(SpeedReport {
        passages,
        rows,
        ann,
        rss_mib: mib("VmRSS:"),
        peak_rss_mib: mib("VmHWM:"),
    })
}

/// One way to find the `depth` nearest stored vectors of a query.
type VectorSearch<'a> = dyn Fn(&[f32], usize) -> Result<Vec<(u64, f32)>> + 'a;

/// Expansions (HNSW candidate list sizes while searching) the recall sweep tries.
const SWEEP_EXPANSIONS: [usize; 4] = [64, 128, 256, 512];

/// The HNSW search's recall@10 against exact search over every stored vector (within the
/// filter's languages), and its time alone, for each search expansion and for the depths
/// `query` searches to (k = 10 in dense mode, 100 candidates in hybrid).
fn ann_sweep(searcher: &Searcher, queries: &[Vec<f32>], top_lang: &str) -> Result<Vec<AnnRow>> {
    let Some(vectors) = searcher.vectors()? else {
        return Ok(Vec::new());
    };
    let mut stored: Vec<(u64, String, Vec<f32>)> = Vec::new();
    for (key, (_, _, lang)) in searcher.passage_keys()? {
        if let Some(v) = vectors.get(key)? {
            stored.push((key, lang, v));
        }
    }
    // Queries are centred as `query` centres them (nearest mean: the language is unknown).
    let queries: Vec<Vec<f32>> = queries
        .iter()
        .map(|q| {
            let mut q = q.clone();
            vectors.centre_query(None, &mut q);
            q
        })
        .collect();
    let mut rows = Vec::new();
    for filter in [None, Some(top_lang)] {
        // The passages the filter admits, with their vectors.
        let vector_of: HashMap<u64, &[f32]> = stored
            .iter()
            .filter(|(_, lang, _)| filter.is_none_or(|f| f == lang))
            .map(|(key, _, v)| (*key, v.as_slice()))
            .collect();
        let cosine = |q: &[f32], key: u64| -> f32 { vector_of.get(&key).map_or(f32::NEG_INFINITY, |v| dot(v, q)) };
        // The exact 10th best cosine per query: a hit at least as close counts as found,
        // so passages with identical vectors (the same sentence twice) do not count as misses.
        let thresholds: Vec<f32> = queries
            .iter()
            .map(|q| {
                let mut exact: Vec<f32> = vector_of.keys().map(|key| cosine(q, *key)).collect();
                let k = 10.min(exact.len());
                if k == 0 {
                    return f32::INFINITY;
                }
                exact.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
                exact[k - 1]
            })
            .collect();
        let recall = |q: &[f32], threshold: f32, found: &[(u64, f32)]| -> f64 {
            let wanted = 10.min(vector_of.len()).max(1);
            let hits = found
                .iter()
                .take(10)
                .filter(|(key, _)| cosine(q, *key) >= threshold - 1e-6)
                .count();
            hits as f64 / wanted as f64
        };
        let mut sweep = |depth: usize, expansion: Option<usize>, search: &VectorSearch| -> Result<()> {
            let mut found_share = 0.0;
            let start = Instant::now();
            for (q, threshold) in queries.iter().zip(&thresholds) {
                found_share += recall(q, *threshold, &search(q, depth)?);
            }
            let seconds = start.elapsed().as_secs_f64();
            rows.push(AnnRow {
                lang: filter.unwrap_or("any").to_string(),
                depth,
                expansion,
                recall_at_10: found_share / queries.len().max(1) as f64,
                mean_ms: seconds * 1000.0 / queries.len().max(1) as f64,
            });
            Ok(())
        };
        for depth in [10, 100] {
            for expansion in SWEEP_EXPANSIONS {
                vectors.set_expansion_search(expansion);
                sweep(depth, Some(expansion), &|q, depth| match filter {
                    None => vectors.search(q, depth, |_| true),
                    Some(_) => vectors.search(q, depth, |key| vector_of.contains_key(&key)),
                })?;
            }
        }
        if filter.is_some() {
            sweep(10, None, &|q, depth| {
                vectors.exact_search(q, depth, vector_of.keys().copied())
            })?;
        }
    }
    vectors.set_expansion_search(EXPANSION_SEARCH);
    Ok(rows)
}
