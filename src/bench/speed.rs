//! Speed: indexing and encoder throughput, query latency per mode, ANN recall against
//! exact search, and the query process's memory, as one table.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::encoder::TextKind;
use crate::error::Result;
use crate::search::{LangFilter, Mode, SearchOptions, Searcher};
use crate::store::{index_folder, EncoderEmbedder, IndexOptions};

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
        let pick = |p: f64| millis[((millis.len() - 1) as f64 * p).round() as usize];
        SpeedRow {
            p50_ms: Some(pick(0.5)),
            p99_ms: Some(pick(0.99)),
            ..SpeedRow::throughput(what, millis.len(), seconds)
        }
    }
}

/// Everything `bench speed` reports.
#[derive(Debug, Clone, Serialize)]
pub struct SpeedReport {
    /// Passages in the queried index.
    pub passages: u64,
    /// Measured lines.
    pub rows: Vec<SpeedRow>,
    /// Mean recall@10 of the HNSW search against exact search over the stored vectors.
    pub ann_recall_at_10: Option<f64>,
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
    let mut searcher = Searcher::open(index)?;
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

    let mut query_vectors = None;
    let mut ann_recall = None;
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
            ann_recall = Some(ann_recall_at_10(&searcher, &vectors)?);
            searcher.set_encoder(encoder, &identity)?;
            query_vectors = Some(vectors);
        }
    }

    let modes: &[Mode] = if query_vectors.is_some() {
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
                searcher.search(text, &options)?;
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
        ann_recall_at_10: ann_recall,
        rss_mib: mib("VmRSS:"),
        peak_rss_mib: mib("VmHWM:"),
    })
}

/// Mean share of the exact top 10 (by cosine over every stored vector) that the HNSW
/// search returns.
fn ann_recall_at_10(searcher: &Searcher, queries: &[Vec<f32>]) -> Result<f64> {
    let Some(vectors) = searcher.vectors() else {
        return Ok(0.0);
    };
    let mut stored: Vec<(u64, Vec<f32>)> = Vec::new();
    for key in searcher.passage_keys()?.into_keys() {
        if let Some(v) = vectors.get(key)? {
            stored.push((key, v));
        }
    }
    let mut total = 0.0;
    for q in queries {
        let mut exact: Vec<(u64, f32)> = stored
            .iter()
            .map(|(k, v)| (*k, v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>()))
            .collect();
        let k = 10.min(exact.len());
        if k == 0 {
            continue;
        }
        exact.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        let truth: std::collections::HashSet<u64> = exact[..k].iter().map(|(key, _)| *key).collect();
        let found = vectors.search(q, k, |_| true)?;
        total += found.iter().filter(|(key, _)| truth.contains(key)).count() as f64 / k as f64;
    }
    Ok(total / queries.len().max(1) as f64)
}
