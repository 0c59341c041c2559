//! Retrieval quality of bm25, dense and hybrid search on XQuAD (issue 4's measurement).
//!
//! `cargo bench --bench hybrid_quality` (needs `$MLSEARCH_DATA/xquad`, default
//! `../shared/data`, and the built-in model). The XQuAD folder is indexed with vectors
//! (centred per language, as `mlsearch index` does) into `target/xquad-hybrid-index` (kept:
//! a second run re-embeds nothing). Every question is
//! embedded once; then, for each query language X and passage language Y, questions run
//! with `--lang Y` (mono: X = Y; cross: X ≠ Y, every `BENCH_CROSS_STRIDE`-th question,
//! default 4), and with `--lang any` (multi: a hit counts if it is the parallel paragraph
//! in any language). Metrics at document level: MRR@10 and P@1; for multi also the mean rank
//! distance between the best and worst ranked of the 12 parallel paragraphs (ranks beyond
//! 200 count as 201, so it is a lower bound).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use mlsearch::encoder::{Encoder, ModelFile, TextKind};
use mlsearch::engine::EncoderEmbedder;
use mlsearch::ingest::{index_folder, IndexOptions};
use mlsearch::search::{Fusion, HybridOptions, LangFilter, Mode, SearchOptions, Searcher};
use mlsearch::store::ModelIdentity;

struct Question {
    text: String,
    paragraph: String, // "<article>-<paragraph>"
}

fn load(data: &Path, lang: &str) -> Vec<Question> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join(format!("xquad.{lang}.json"))).unwrap()).unwrap();
    let mut out = Vec::new();
    for (a, article) in json["data"].as_array().unwrap().iter().enumerate() {
        for (p, paragraph) in article["paragraphs"].as_array().unwrap().iter().enumerate() {
            for qa in paragraph["qas"].as_array().unwrap() {
                let text = qa["question"]
                    .as_str()
                    .unwrap()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push(Question {
                    text,
                    paragraph: format!("{a}-{p}"),
                });
            }
        }
    }
    out
}

fn main() {
    let data = std::env::var("MLSEARCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("xquad");
    let Some(model) = ModelFile::builtin() else {
        eprintln!("skipped: no built-in model");
        return;
    };
    if !data.exists() {
        eprintln!("skipped: {} not found", data.display());
        return;
    }
    let stride: usize = std::env::var("BENCH_CROSS_STRIDE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let index = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/xquad-hybrid-index");
    let encoder = Encoder::new(model.unwrap(), &Device::Cpu).unwrap();
    let embedder = EncoderEmbedder {
        encoder,
        identity: ModelIdentity::builtin(mlsearch::encoder::Precision::Int8).unwrap(),
    };
    let t = Instant::now();
    // An index from before per-language centring is embedded again (its means are missing).
    let uncentred = Searcher::open(&index)
        .ok()
        .and_then(|s| s.manifest().vectors.as_ref().map(|v| v.language_means.is_empty()))
        .unwrap_or(false);
    let report = index_folder(
        &data,
        &index,
        &IndexOptions {
            embedder: Some(&embedder),
            rebuild: uncentred,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    eprintln!(
        "index: {} passages, {} embedded, {:.1} s",
        report.passages,
        report.passages_embedded,
        t.elapsed().as_secs_f64()
    );

    let langs = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"];
    let questions: HashMap<&str, Vec<Question>> = langs.iter().map(|l| (*l, load(&data, l))).collect();
    let t = Instant::now();
    let mut vectors: HashMap<&str, Vec<Vec<f32>>> = HashMap::new();
    for l in langs {
        let texts: Vec<&str> = questions[l].iter().map(|q| q.text.as_str()).collect();
        vectors.insert(l, embedder.encoder.embed(&texts, TextKind::Query).unwrap());
    }
    eprintln!(
        "embedded {} questions in {:.1} s",
        langs.len() * 1190,
        t.elapsed().as_secs_f64()
    );
    let searcher = Searcher::open(&index).unwrap();
    searcher.check_model(&embedder.identity).unwrap();

    let default = HybridOptions::default();
    let with = |fusion: Fusion, cross_language_bm25: f32, fused_language_order: bool| HybridOptions {
        fusion,
        cross_language_bm25,
        fused_language_order,
        ..default
    };
    let rrf = |k: f32| Fusion::Rrf { k };
    let convex = |dense_weight: f32| Fusion::Convex { dense_weight };
    // (name, mode, hybrid options); the default is the last row.
    let configs: Vec<(String, Mode, HybridOptions)> = vec![
        ("bm25".into(), Mode::Bm25, default),
        ("dense".into(), Mode::Dense, default),
        ("hybrid rrf k=60".into(), Mode::Hybrid, with(rrf(60.0), 1.0, true)),
        (
            "hybrid rrf k=60, other-language BM25 ×0".into(),
            Mode::Hybrid,
            with(rrf(60.0), 0.0, false),
        ),
        ("hybrid convex w=0.5".into(), Mode::Hybrid, with(convex(0.5), 1.0, true)),
        ("hybrid convex w=0.7".into(), Mode::Hybrid, with(convex(0.7), 1.0, true)),
        (
            "hybrid convex w=0.5, other-language BM25 ×0".into(),
            Mode::Hybrid,
            with(convex(0.5), 0.0, false),
        ),
        (
            "hybrid convex w=0.6, other-language BM25 ×0".into(),
            Mode::Hybrid,
            with(convex(0.6), 0.0, false),
        ),
        (
            "hybrid convex w=0.8, other-language BM25 ×0".into(),
            Mode::Hybrid,
            with(convex(0.8), 0.0, false),
        ),
        (
            "hybrid convex w=0.7, other-language BM25 ×0, fused language order".into(),
            Mode::Hybrid,
            with(convex(0.7), 0.0, true),
        ),
        (format!("hybrid default ({:?})", default.fusion), Mode::Hybrid, default),
    ];
    println!(
        "| config | mono MRR@10 | mono P@1 | cross MRR@10 | cross P@1 | multi MRR@10 | multi P@1 | rank distance | s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let only: Option<String> = std::env::var("BENCH_CONFIGS").ok();
    for (name, mode, hybrid) in configs {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|c| name.starts_with(c)))
        {
            continue;
        }
        let t = Instant::now();
        // Documents ranked for one question, each once (its best passage stands for it).
        let ranked = |text: &str, vector: &[f32], query_lang: &str, langs: LangFilter, k: usize| -> Vec<String> {
            let options = SearchOptions {
                k,
                langs,
                query_lang: Some(query_lang.to_string()),
                snippets: false,
                mode: Some(mode),
                hybrid,
                ..Default::default()
            };
            let hits = searcher.search_with_vector(text, Some(vector), &options).unwrap().hits;
            let mut seen = std::collections::HashSet::new();
            hits.into_iter()
                .map(|h| h.doc)
                .filter(|d| seen.insert(d.clone()))
                .collect()
        };
        let (mut mono, mut cross) = ((0.0, 0.0, 0usize), (0.0, 0.0, 0usize));
        let mut multi = (0.0, 0.0, 0.0, 0usize);
        for x in langs {
            for y in langs {
                let mut stats = (0.0, 0.0, 0usize);
                for (i, q) in questions[x].iter().enumerate() {
                    if x != y && i % stride != 0 {
                        continue;
                    }
                    let docs = ranked(&q.text, &vectors[x][i], x, LangFilter::Only(vec![y.to_string()]), 10);
                    let relevant = format!("xquad.{y}.json#{}", q.paragraph);
                    if let Some(r) = docs.iter().position(|d| *d == relevant) {
                        stats.0 += 1.0 / (r as f64 + 1.0);
                        if r == 0 {
                            stats.1 += 1.0;
                        }
                    }
                    stats.2 += 1;
                }
                let (mrr, p1) = (stats.0 / stats.2 as f64, stats.1 / stats.2 as f64);
                let group = if x == y { &mut mono } else { &mut cross };
                group.0 += mrr;
                group.1 += p1;
                group.2 += 1;
            }
            // Multi: --lang any.
            for (i, q) in questions[x].iter().enumerate() {
                if i % stride != 0 {
                    continue;
                }
                let docs = ranked(&q.text, &vectors[x][i], x, LangFilter::Any, 400);
                let ranks: Vec<usize> = langs
                    .iter()
                    .map(|y| {
                        let relevant = format!("xquad.{y}.json#{}", q.paragraph);
                        docs.iter()
                            .position(|d| *d == relevant)
                            .map(|r| r + 1)
                            .unwrap_or(201)
                            .min(201)
                    })
                    .collect();
                let best = *ranks.iter().min().unwrap();
                if best <= 10 {
                    multi.0 += 1.0 / best as f64;
                }
                if best == 1 {
                    multi.1 += 1.0;
                }
                multi.2 += (ranks.iter().max().unwrap() - best) as f64;
                multi.3 += 1;
            }
        }
        let n = multi.3 as f64;
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:.0} |",
            mono.0 / mono.2 as f64,
            mono.1 / mono.2 as f64,
            cross.0 / cross.2 as f64,
            cross.1 / cross.2 as f64,
            multi.0 / n,
            multi.1 / n,
            multi.2 / n,
            t.elapsed().as_secs_f64()
        );
    }
}
