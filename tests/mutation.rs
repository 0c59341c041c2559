//! Mutation testing: model files and index files truncated, bit-flipped, spliced and given
//! huge counts, then opened and used through the library. Each must give an answer or an
//! error, never a panic (caught here and counted), an abort or a signal (either would end
//! this test process), or a hang (each trial's time is checked).
//!
//! A short run is part of `cargo test`; the full one is ignored:
//! `MLSEARCH_MUTATIONS=100000 cargo test --release --test integration mutation -- --ignored`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::Device;
use mlsearch::encoder::{Encoder, ModelFile, TextKind};
use mlsearch::search::{Mode, SearchOptions, Searcher};

use crate::util::{fixture_corpus, mlsearch_in, tiny_model};

/// A small deterministic generator (xorshift).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `bytes`: truncation, bit flips, a huge 32-bit count, a splice of the
/// file's own bytes, or zeroed bytes.
fn mutate(bytes: &[u8], rng: &mut Random) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return out;
    }
    let len = out.len();
    match rng.below(5) {
        0 => out.truncate(rng.below(len)),
        1 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(len.min(out.len()));
                out[at] ^= 1 << rng.below(8);
            }
        }
        2 => {
            // Mostly in the header, where counts and offsets are.
            let range = if rng.below(2) == 0 { 256.min(len) } else { len };
            let at = rng.below(range).min(len.saturating_sub(4));
            if out.len() < 4 {
                return out;
            }
            let value: [u8; 4] = [0x7fff_ffffu32, 0xffff_ffff, 0x8000_0000, 0x0100_0000][rng.below(4)].to_le_bytes();
            out[at..at + 4].copy_from_slice(&value);
        }
        3 => {
            let (from, to) = (rng.below(len), rng.below(len));
            let n = rng.below(64).min(len - from).min(len - to);
            let chunk = bytes[from..from + n].to_vec();
            out[to..to + n].copy_from_slice(&chunk);
        }
        _ => {
            let at = rng.below(len);
            let n = rng.below(32).min(len - at);
            out[at..at + n].iter_mut().for_each(|b| *b = 0);
        }
    }
    out
}

fn trials(default: usize) -> usize {
    std::env::var("MLSEARCH_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `trial` on `count` mutations of `original`, failing on a panic or a slow trial.
fn run_mutations(what: &str, original: &[u8], count: usize, seed: u64, mut trial: impl FnMut(&[u8])) {
    let mut rng = Random(seed);
    let (mut panics, mut slowest) = (Vec::new(), Duration::ZERO);
    for i in 0..count {
        let mutated = mutate(original, &mut rng);
        let started = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| trial(&mutated))).is_err() {
            panics.push(i);
        }
        slowest = slowest.max(started.elapsed());
    }
    eprintln!(
        "{what}: {count} mutations, slowest {slowest:?}, {} panics",
        panics.len()
    );
    assert!(
        panics.is_empty(),
        "{what}: panics at mutations {panics:?} (seed {seed})"
    );
    assert!(slowest < Duration::from_secs(10), "{what}: a mutation took {slowest:?}");
}

/// Loads a mutated model and, when it loads, embeds a text with it.
fn use_model(bytes: &[u8]) {
    if let Ok(model) = ModelFile::from_bytes(bytes) {
        if let Ok(encoder) = Encoder::new(model, &Device::Cpu) {
            let _ = encoder.embed(&["Der Bäcker knetet den Teig."], TextKind::Query);
        }
    }
}

fn model_files(count: usize) {
    let e5 = std::fs::read(tiny_model()).unwrap();
    run_mutations("E5S1 model", &e5, count, 0x5EED_0001, use_model);
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("tiny.gguf");
    ModelFile::from_bytes(&e5).unwrap().write_gguf(&gguf).unwrap();
    let gguf = std::fs::read(&gguf).unwrap();
    run_mutations("GGUF model", &gguf, count, 0x5EED_0002, use_model);
}

/// Opens the (mutated) index and runs a BM25 and a dense search.
fn use_index(dir: &Path, query: &[f32]) {
    if let Ok(searcher) = Searcher::open(dir) {
        let bm25 = SearchOptions {
            mode: Some(Mode::Bm25),
            ..SearchOptions::default()
        };
        let _ = searcher.search("Bäcker Teig", &bm25);
        let dense = SearchOptions {
            mode: Some(Mode::Dense),
            ..SearchOptions::default()
        };
        let _ = searcher.search_with_vector("Bäcker Teig", Some(query), &dense);
    }
}

/// Every file of an index with vectors (made by the binary from the fixture corpus).
fn index_files(count: usize) {
    let work = tempfile::tempdir().unwrap();
    let index = work.path().join("idx");
    let tiny = tiny_model();
    let corpus = fixture_corpus();
    let run = mlsearch_in(
        work.path(),
        &[
            "index",
            corpus.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--model",
            tiny.to_str().unwrap(),
        ],
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let files: Vec<PathBuf> = walkdir::WalkDir::new(&index)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && !e.path().to_string_lossy().contains("embed-cache"))
        .map(|e| e.into_path())
        .collect();
    let dim = Searcher::open(&index).unwrap().vectors().unwrap().unwrap().dim();
    let query: Vec<f32> = (0..dim).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
    let per_file = count.div_ceil(files.len());
    for (n, file) in files.iter().enumerate() {
        let original = std::fs::read(file).unwrap();
        let name = file.strip_prefix(&index).unwrap().display().to_string();
        run_mutations(&name, &original, per_file, 0x5EED_1000 + n as u64, |mutated| {
            std::fs::write(file, mutated).unwrap();
            use_index(&index, &query);
        });
        std::fs::write(file, &original).unwrap();
    }
    // Restored, the index answers again.
    assert!(Searcher::open(&index).is_ok());
}

#[test]
fn a_few_hundred_mutated_model_and_index_files_give_errors_not_panics() {
    model_files(trials(300));
    index_files(trials(300));
}

#[test]
#[ignore = "the full run: about 100k mutated files, minutes"]
fn a_hundred_thousand_mutated_model_and_index_files_give_errors_not_panics() {
    let count = trials(100_000);
    model_files(count / 2);
    index_files(count / 2);
}
