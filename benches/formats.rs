//! Indexing throughput of office documents and PDFs, and the share of it spent extracting
//! text. The folder: `python3 scripts/make_format_fixtures.py --copies 120 --bulk
//! target/format-bulk` (1,080 files: PDF, DOCX, EPUB in English, German and Chinese), or
//! `MLSEARCH_BENCH_FORMATS=DIR`.
//!
//! One thread throughout, so the ratios hold on a busy machine: (1) extraction alone (read
//! the file, parse it, split passages: what a worker thread does), per format; (2) a whole
//! BM25 `index_folder` run with one thread (walk, hash, extract, analyse, Tantivy, commit).
//! Extraction's share of the index run is (1) / (2). Embedding, when vectors are on,
//! comes on top of (2): see docs/encoder.md ("Indexing") for the `mlsearch index` wall time with vectors.
//!
//! `cargo bench --bench formats`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use mlsearch::corpus::{discover, read_documents, split_passages, WalkOptions};
use mlsearch::ingest::{index_folder, IndexOptions};

fn main() {
    let folder = std::env::var("MLSEARCH_BENCH_FORMATS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("target/format-bulk"));
    let found = discover(&folder, &WalkOptions::default());
    assert!(
        found.files.len() >= 100,
        "{}: {} files; make them with scripts/make_format_fixtures.py --copies 120 --bulk {}",
        folder.display(),
        found.files.len(),
        folder.display()
    );
    let bytes: u64 = found
        .files
        .iter()
        .filter_map(|f| f.path.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{}: {} files, {:.1} MB",
        folder.display(),
        found.files.len(),
        bytes as f64 / 1e6
    );

    // (1) Extraction alone, per format.
    let mut per_format: BTreeMap<String, (usize, usize, f64)> = BTreeMap::new();
    let started = Instant::now();
    let mut passages_total = 0;
    for file in &found.files {
        let t = Instant::now();
        let data = std::fs::read(&file.path).expect("read");
        let outcome = read_documents(file, &data, 256 << 20).expect("fixture reads");
        let passages: usize = outcome.documents.iter().map(|d| split_passages(d, None).len()).sum();
        let ext = file.path.extension().unwrap_or_default().to_string_lossy().to_string();
        let entry = per_format.entry(ext).or_default();
        entry.0 += 1;
        entry.1 += passages;
        entry.2 += t.elapsed().as_secs_f64();
        passages_total += passages;
    }
    let extraction = started.elapsed().as_secs_f64();
    println!(
        "extraction alone (1 thread): {extraction:.2} s, {:.0} files/s, {:.0} passages/s",
        found.files.len() as f64 / extraction,
        passages_total as f64 / extraction
    );
    println!("| format | files | passages | ms/file | files/s |");
    println!("|---|---|---|---|---|");
    for (ext, (files, passages, seconds)) in &per_format {
        println!(
            "| {ext} | {files} | {passages} | {:.2} | {:.0} |",
            1e3 * seconds / *files as f64,
            *files as f64 / seconds
        );
    }

    // (2) A whole BM25 index run, one thread.
    let index = tempfile::tempdir().expect("temp dir");
    let options = IndexOptions {
        threads: 1,
        ..Default::default()
    };
    let report = index_folder(&folder, index.path(), &options, &mut |_| {}).expect("index");
    println!(
        "index_folder, BM25, 1 thread: {:.2} s, {:.0} files/s, {:.0} passages/s; extraction {:.0}% of it",
        report.seconds,
        report.files as f64 / report.seconds,
        report.passages as f64 / report.seconds,
        100.0 * extraction / report.seconds
    );
}
