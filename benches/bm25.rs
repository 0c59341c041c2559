//! BM25 benchmark: indexing throughput and query latency on a corpus of 100k+ real
//! passages in 128 languages (NTREX-128: every sentence of every language a passage).
//!
//! `cargo bench --bench bm25` (reads `$MLSEARCH_DATA/ntrex-128`, default `../shared/data`).
//! The reference run, in the same process on the same passages and threads, indexes them
//! with Tantivy's default analyzer into one field: the ratio is what per-language analysis
//! (language detection, ICU segmentation, normalisation, stemming) costs.
//! Set `BENCH_QUERIES` (default 2000) to change the number of timed queries.

use std::path::{Path, PathBuf};
use std::time::Instant;

mod common;

use common::percentile;
use mlsearch::ingest::{index_folder, IndexOptions};
use mlsearch::search::{LangFilter, SearchOptions, Searcher};
use tantivy::schema::{Schema, TEXT};

fn data_dir() -> PathBuf {
    let root = std::env::var("MLSEARCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    root.join("ntrex-128/NTREX-128")
}

/// Writes one JSONL file per NTREX language (no `lang` field: detection is measured too).
fn build_corpus(dir: &Path) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("NTREX-128 folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    for file in files {
        let name = file
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace("newstest2019-ref", "ntrex");
        let text = std::fs::read_to_string(&file).expect("utf-8 NTREX file");
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            out.push_str(&serde_json::json!({"docid": format!("{name}:{i}"), "text": line}).to_string());
            out.push('\n');
            sentences.push(line.to_string());
        }
        std::fs::write(dir.join(format!("{name}.jsonl")), out).unwrap();
    }
    sentences
}

fn main() {
    if !data_dir().exists() {
        eprintln!(
            "bm25 bench skipped: {} not found (set MLSEARCH_DATA)",
            data_dir().display()
        );
        return;
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let work = tempfile::tempdir().unwrap();
    let corpus = work.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let sentences = build_corpus(&corpus);
    let bytes: usize = sentences.iter().map(|s| s.len()).sum();

    // mlsearch: read, split, detect, analyse per language, index, commit.
    let index = work.path().join("index");
    let start = Instant::now();
    let report = index_folder(
        &corpus,
        &index,
        &IndexOptions {
            threads,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    let ours = start.elapsed().as_secs_f64();
    let passages = report.passages as f64;

    // Reference: Tantivy's default analyzer, one field, same passages and threads.
    let mut builder = Schema::builder();
    let body = builder.add_text_field("body", TEXT);
    let reference = tantivy::Index::create_in_dir(
        {
            let d = work.path().join("reference");
            std::fs::create_dir_all(&d).unwrap();
            d
        },
        builder.build(),
    )
    .unwrap();
    let start = Instant::now();
    let mut writer = reference
        .writer_with_num_threads(threads, threads * 64_000_000)
        .unwrap();
    for s in &sentences {
        writer.add_document(tantivy::doc!(body => s.as_str())).unwrap();
    }
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
    let theirs = start.elapsed().as_secs_f64();

    println!(
        "corpus: NTREX-128, {} passages, {} languages detected, {:.1} MB",
        report.passages,
        report.languages.len(),
        bytes as f64 / 1e6
    );
    println!("| indexing ({threads} threads) | seconds | passages/s | MB/s |");
    println!("|---|---|---|---|");
    println!(
        "| mlsearch (per-language analysis) | {ours:.1} | {:.0} | {:.2} |",
        passages / ours,
        bytes as f64 / 1e6 / ours
    );
    println!(
        "| Tantivy default analyzer (reference) | {theirs:.1} | {:.0} | {:.2} |",
        sentences.len() as f64 / theirs,
        bytes as f64 / 1e6 / theirs
    );
    println!(
        "ratio: mlsearch indexes at {:.2}x the reference's rate\n",
        (passages / ours) / (sentences.len() as f64 / theirs)
    );

    // Query latency, end to end in process: language detection, analysis, BM25 over the
    // language fields, top-10 fetch and snippets. Queries: the first 8 words of sentences.
    let searcher = Searcher::open(&index).unwrap();
    let n: usize = std::env::var("BENCH_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let step = sentences.len() / n;
    let queries: Vec<String> = (0..n)
        .map(|i| {
            sentences[i * step + 7]
                .split_whitespace()
                .take(8)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    println!("| query latency ({n} queries, 1 thread, k=10) | p50 ms | p99 ms | mean ms | QPS |");
    println!("|---|---|---|---|---|");
    let cases = [
        ("--lang any", None, true),
        ("--lang any, no snippets (TREC)", None, false),
        ("--lang <detected language>", Some(()), true),
    ];
    for (label, filter, snippets) in cases {
        let mut times = Vec::with_capacity(n);
        for q in &queries {
            let langs = match filter {
                None => LangFilter::Any,
                Some(()) => LangFilter::Only(vec![mlsearch::analysis::detect(q).code.to_string()]),
            };
            let options = SearchOptions {
                k: 10,
                langs,
                snippets,
                ..Default::default()
            };
            let t = Instant::now();
            let results = searcher.search(q, &options).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(results);
        }
        let total: f64 = times.iter().sum();
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} | {:.0} |",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            total / n as f64,
            n as f64 / (total / 1e3)
        );
    }
}
