//! In-process search latency, the reference for the Python package's overhead
//! (`scripts/python_overhead.py` runs the same queries through `mlsearch.Engine`):
//!
//! ```sh
//! cargo run --release --example search_latency -- INDEX QUERIES.txt [hybrid|bm25|dense]
//! ```
//!
//! Prints one JSON line: milliseconds per query one at a time and through `search_many`
//! in batches of 32, after one warm-up pass.

use std::path::Path;
use std::time::Instant;

use mlsearch::engine::{Engine, EngineOptions};
use mlsearch::search::{Mode, SearchOptions};

/// Queries per `search_many` call (the Python script uses the same).
const BATCH: usize = 32;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [index, queries, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: search_latency INDEX QUERIES.txt [hybrid|bm25|dense]");
    };
    let mode: Mode = rest.first().map_or("hybrid", String::as_str).parse()?;
    let engine = Engine::open(Path::new(index), &EngineOptions::default())?;
    let queries: Vec<String> = std::fs::read_to_string(queries)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let options = SearchOptions {
        mode: Some(mode),
        ..SearchOptions::default()
    };
    let n = queries.len() as f64;
    for q in &queries {
        engine.search(q, &options)?;
    }
    let start = Instant::now();
    for q in &queries {
        engine.search(q, &options)?;
    }
    let single_ms = start.elapsed().as_secs_f64() * 1e3 / n;
    let start = Instant::now();
    for chunk in queries.chunks(BATCH) {
        let batch: Vec<(&str, &SearchOptions)> = chunk.iter().map(|q| (q.as_str(), &options)).collect();
        for result in engine.search_many(&batch) {
            result?;
        }
    }
    let many_ms = start.elapsed().as_secs_f64() * 1e3 / n;
    let line =
        serde_json::json!({"mode": mode.name(), "queries": queries.len(), "single_ms": single_ms, "many_ms": many_ms});
    println!("{line}");
    Ok(())
}
