//! Opening cost against index size: synthetic indexes of 10k, 100k (and, with
//! `OPEN_SIZES=10000,100000,1000000`, 1M) passages with vectors, written through the
//! store's writer (synthetic text in two languages, random unit vectors: the sizes are
//! real, the contents need not be). Each size is opened and queried 20 times in this
//! process: `Searcher::open` + a BM25 query, and `Searcher::open` + an HNSW search for
//! a given vector; medians. Then `verify` (every byte) once, for scale.
//!
//! `cargo bench --bench open_time`

use std::path::Path;
use std::time::Instant;

use mlsearch::corpus::Passage;
use mlsearch::search::{Mode, SearchOptions, Searcher};
use mlsearch::store::{FileEntry, ModelIdentity, Store, StoreWriter, WriterOptions};

const DIM: usize = 384;
const PASSAGES_PER_FILE: usize = 1000;
const REPEATS: usize = 20;

/// A deterministic unit vector for `seed` (xorshift).
fn unit_vector(seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v: Vec<f32> = (0..DIM)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn build(dir: &Path, passages: usize) {
    let model = ModelIdentity {
        name: "synthetic".into(),
        blake3: "00".into(),
        precision: mlsearch::encoder::Precision::Int8,
    };
    let mut writer = StoreWriter::open(
        dir,
        WriterOptions {
            root: dir.to_path_buf(),
            rebuild: false,
            threads: 2,
            model: Some((&model, DIM)),
        },
    )
    .unwrap();
    for file in 0..passages.div_ceil(PASSAGES_PER_FILE) {
        let lang = if file % 2 == 0 { "en" } else { "de" };
        let batch: Vec<Passage> = (0..PASSAGES_PER_FILE)
            .map(|i| {
                let n = file * PASSAGES_PER_FILE + i;
                let text = format!(
                    "item{n} passage {i} of file {file}: the river, the mill and the baker of village {} count {} sacks",
                    n % 997,
                    n % 31
                );
                Passage {
                    doc: format!("f{file}-{i}"),
                    number: 0,
                    title: String::new(),
                    text,
                    lang: lang.into(),
                    page: None,
                }
            })
            .collect();
        let entry = FileEntry {
            blake3: format!("{file:064}"),
            bytes: 0,
            documents: PASSAGES_PER_FILE as u32,
            passages: PASSAGES_PER_FILE as u32,
            languages: [(lang.to_string(), PASSAGES_PER_FILE as u32)].into(),
            modified: None,
        };
        let keys = writer.add_file(&format!("f{file}.jsonl"), entry, &batch).unwrap();
        writer
            .add_raw_vectors(false, &mut |sink| {
                for &key in &keys {
                    sink(key, lang, unit_vector(key))?;
                }
                Ok(())
            })
            .unwrap();
    }
    writer.commit().unwrap();
}

fn median_ms(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2] * 1e3
}

fn main() {
    let sizes: Vec<usize> = std::env::var("OPEN_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("OPEN_SIZES: numbers"))
        .collect();
    println!("| passages | index size | build, s | open + BM25 query, ms | open + dense search, ms | verify, ms |");
    println!("|---|---|---|---|---|---|");
    for passages in sizes {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("index");
        let started = Instant::now();
        build(&dir, passages);
        let build_s = started.elapsed().as_secs_f64();
        let bytes: u64 = walkdir_size(&dir);
        let bm25 = SearchOptions {
            mode: Some(Mode::Bm25),
            ..Default::default()
        };
        let query = unit_vector(777);
        let (mut bm25_times, mut dense_times) = (Vec::new(), Vec::new());
        for _ in 0..REPEATS {
            let t = Instant::now();
            let searcher = Searcher::open(&dir).unwrap();
            let hits = searcher.search("item777", &bm25).unwrap().hits;
            bm25_times.push(t.elapsed().as_secs_f64());
            assert_eq!(hits.first().map(|h| h.doc.as_str()), Some("f0-777"));
            let t = Instant::now();
            let searcher = Searcher::open(&dir).unwrap();
            let nearest = searcher
                .vectors()
                .unwrap()
                .unwrap()
                .search(&query, 10, |_| true)
                .unwrap();
            dense_times.push(t.elapsed().as_secs_f64());
            assert_eq!(nearest.first().map(|hit| hit.0), Some(777));
        }
        let t = Instant::now();
        Store::open(&dir).unwrap().verify().unwrap();
        let verify_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "| {passages} | {:.0} MB | {build_s:.1} | {:.1} | {:.1} | {verify_ms:.0} |",
            bytes as f64 / 1e6,
            median_ms(bm25_times),
            median_ms(dense_times)
        );
    }
}

fn walkdir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            walkdir_size(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}
