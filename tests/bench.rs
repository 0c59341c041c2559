//! `mlsearch bench`: the LAReQA protocol on an MLQA-R-layout fixture, MIRACL on a
//! MIRACL-layout fixture (and the real topic and qrels files when `../shared` is there),
//! speed on the fixture corpus, and `bench eval`.

use std::path::Path;

use crate::util::{fixture, fixture_corpus, tiny_model, Workspace};

fn json(run: &crate::util::Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(run.stdout.trim()).expect("one JSON object")
}

fn bench(ws: &Workspace, args: &[&str]) -> crate::util::Run {
    let work = ws.path().join("work");
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.extend(["--work", work.to_str().unwrap()]);
    crate::util::mlsearch_in(ws.path(), &all).into()
}

#[test]
fn lareqa_reads_the_layout_and_counts_edge_cases() {
    let ws = Workspace::new();
    let data = fixture("lareqa");
    let out = json(&bench(
        &ws,
        &["mlqa-r", "--data", data.to_str().unwrap(), "--mode", "bm25", "--json"],
    ));
    assert_eq!(out["candidates"], serde_json::json!({"de": 6, "en": 6, "es": 6}));
    assert_eq!(out["questions"], serde_json::json!({"de": 3, "en": 4, "es": 3}));
    // q2 lacks es, q4 lacks de (each asked in two languages); es q4's answer starts on a break.
    assert_eq!(out["edge_cases"]["missing_in_language"], 4);
    assert_eq!(out["edge_cases"]["answer_between_sentences"], 1);
    let report = &out["reports"][0];
    // Every question shares its key words with its answer sentence in its own language.
    assert_eq!(report["mono_r1"], 1.0, "{report}");
    assert_eq!(report["mono_map"], 1.0, "{report}");
    let cross = report["cross_map"].as_f64().unwrap();
    assert!(cross > 0.0 && cross < 1.0, "{report}");
    // 3 × 2 cross pairs, each with questions that exist in both languages.
    assert_eq!(report["pairs"].as_array().unwrap().len(), 9);
    let rank_distance = report["rank_distance"].as_f64().unwrap();
    assert!(rank_distance > 0.0, "BM25 ranks other languages' answers low: {report}");
}

#[test]
fn lareqa_dense_and_hybrid_run_and_write_trec_files() {
    let ws = Workspace::new();
    let data = fixture("lareqa");
    let model = tiny_model();
    let run_file = ws.path().join("run");
    let args = [
        "mlqa-r",
        "--data",
        data.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--run",
        run_file.to_str().unwrap(),
        "--json",
    ];
    let out = json(&bench(&ws, &args));
    let reports = out["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 3);
    for r in reports {
        for key in ["mono_map", "cross_map", "multi_map", "multi_r10"] {
            let v = r[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v) && v > 0.0, "{key}: {r}");
        }
    }
    let runs = std::fs::read_to_string(ws.path().join("run.dense")).unwrap();
    // Per setting (X-Y and X-any) and question, every candidate of the pool (≤ depth 100).
    let en_any = runs.lines().filter(|l| l.starts_with("en-any:q1 ")).count();
    assert_eq!(en_any, 18);
    let qrels = std::fs::read_to_string(ws.path().join("run.qrels")).unwrap();
    assert!(qrels.contains("de-any:q1 0 es:0-0-0 1"), "{qrels}");
    // The run files score with bench eval like the bench did: multi mAP from the file.
    let eval = crate::util::mlsearch_in(ws.path(), &["bench", "eval", "run.dense", "run.qrels", "--per-query"]);
    assert!(eval.status.success());
    let text = String::from_utf8(eval.stdout).unwrap();
    let any_aps: Vec<f64> = text
        .lines()
        .filter(|l| l.contains("-any:"))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["map"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(any_aps.len(), 10);
    let dense = &reports[1];
    assert_eq!(dense["mode"], "dense");
    // Macro over query languages equals the mean over questions only when every language
    // has as many questions; compare per language instead.
    let de_multi = dense["multi"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["query_lang"] == "de")
        .unwrap();
    let de_aps: Vec<f64> = text
        .lines()
        .filter(|l| l.contains("\"de-any:"))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["map"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let mean = de_aps.iter().sum::<f64>() / de_aps.len() as f64;
    assert!(
        (mean - de_multi["map"].as_f64().unwrap()).abs() < 1e-6,
        "{mean} vs {de_multi}"
    );
    // A second run reuses the embeddings (nothing to embed) and gives the same numbers.
    let again = json(&bench(&ws, &args));
    assert_eq!(again["reports"], out["reports"]);
}

#[test]
fn miracl_scores_by_hand_computed_cases() {
    let ws = Workspace::new();
    let data = fixture("topic-runs");
    let run_file = ws.path().join("run");
    let out = json(&bench(
        &ws,
        &[
            "miracl",
            "--data",
            data.to_str().unwrap(),
            "--mode",
            "bm25",
            "--json",
            "--run",
            run_file.to_str().unwrap(),
        ],
    ));
    let langs = out["languages"].as_array().unwrap();
    assert_eq!(langs.len(), 2);
    let de = &langs[0];
    assert_eq!(de["lang"], "de");
    // Topic 0 finds its passage first (1.0), topic 1's passage shares no word with it (0),
    // topic 2 has no relevant passage (not scored).
    assert_eq!((de["topics"].as_u64(), de["judged"].as_u64()), (Some(3), Some(2)));
    assert_eq!(de["ndcg10"], 0.5);
    assert_eq!(de["recall100"], 0.5);
    assert_eq!(langs[1]["ndcg10"], 1.0);
    let run = std::fs::read_to_string(ws.path().join("run.de.bm25")).unwrap();
    assert!(run.starts_with("0 Q0 1#0 1 "), "{run}");
    // One language from explicit files.
    let out = json(&bench(
        &ws,
        &[
            "miracl",
            "--corpus",
            data.join("corpus/en/docs.jsonl").to_str().unwrap(),
            "--topics",
            data.join("topics/topics.fixture-en.tsv").to_str().unwrap(),
            "--qrels",
            data.join("qrels/qrels.fixture-en.tsv").to_str().unwrap(),
            "--lang",
            "en",
            "--mode",
            "bm25",
            "--json",
        ],
    ));
    assert_eq!(out["languages"][0]["ndcg10"], 1.0);
}

#[test]
fn miracl_without_a_corpus_says_what_is_missing() {
    let ws = Workspace::new();
    let data = ws.path().join("miracl");
    crate::util::copy_tree(&fixture("topic-runs"), &data);
    std::fs::remove_dir_all(data.join("corpus")).unwrap();
    let run = bench(&ws, &["miracl", "--data", data.to_str().unwrap(), "--mode", "bm25"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("skipping de: no corpus"), "{run:?}");
}

#[test]
fn a_benchmark_without_data_names_both_ways_to_give_it() {
    let ws = Workspace::new();
    for args in [
        &["bench", "xquad-r", "--mode", "bm25"][..],
        &["train", "prepare", "squad2-fi", "--out", "x"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mlsearch"))
            .args(args)
            .current_dir(ws.path())
            .env_remove("MLSEARCH_DATA")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("--data DIR") && stderr.contains("MLSEARCH_DATA"),
            "{stderr}"
        );
    }
}

/// The official MIRACL dev topics and qrels (all 18 languages) parse, with the query counts
/// of the data's README; skipped without `../shared/data`.
#[test]
fn real_miracl_topics_and_qrels_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/miracl-dev");
    if !dir.exists() {
        eprintln!("skipped: {} not found", dir.display());
        return;
    }
    let expected = [
        ("ar", 2896),
        ("bn", 411),
        ("de", 305),
        ("en", 799),
        ("es", 648),
        ("fa", 632),
        ("fi", 1271),
        ("fr", 343),
        ("hi", 350),
        ("id", 960),
        ("ja", 860),
        ("ko", 213),
        ("ru", 1252),
        ("sw", 482),
        ("te", 828),
        ("th", 733),
        ("yo", 119),
        ("zh", 393),
    ];
    for (lang, count) in expected {
        let topics = dir.join(format!("topics/topics.miracl-v1.0-{lang}-dev.tsv"));
        let qrels = dir.join(format!("qrels/qrels.miracl-v1.0-{lang}-dev.tsv"));
        // An empty run scored against the qrels: every judged query counts (and scores 0).
        let ws = Workspace::new();
        let empty = ws.path().join("empty.run");
        std::fs::write(&empty, "").unwrap();
        let eval = crate::util::mlsearch_in(
            ws.path(),
            &["bench", "eval", empty.to_str().unwrap(), qrels.to_str().unwrap()],
        );
        let text = String::from_utf8_lossy(&eval.stdout).into_owned();
        assert!(eval.status.success(), "{lang}: {text}");
        assert!(text.contains(&format!("queries\t{count}\n")), "{lang}: {text}");
        let lines = std::fs::read_to_string(&topics).unwrap();
        assert_eq!(lines.lines().filter(|l| l.contains('\t')).count(), count, "{lang}");
    }
}

#[test]
fn speed_reports_latency_per_mode() {
    let ws = Workspace::new();
    ws.index_ok(&fixture_corpus());
    let index = ws.index();
    let run = crate::util::mlsearch_in(
        ws.path(),
        &[
            "bench",
            "speed",
            "--index",
            index.to_str().unwrap(),
            "--corpus",
            fixture_corpus().to_str().unwrap(),
            "--no-vectors",
            "--queries",
            "20",
            "--json",
        ],
    );
    let out: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let rows = out["rows"].as_array().unwrap();
    assert!(rows[0]["what"].as_str().unwrap().starts_with("index"), "{out}");
    assert!(rows[0]["per_second"].as_f64().unwrap() > 0.0);
    let queries: Vec<&serde_json::Value> = rows.iter().filter(|r| r["p50_ms"].is_number()).collect();
    assert_eq!(queries.len(), 2, "bm25 with --lang any and one language: {out}");
    assert!(queries
        .iter()
        .all(|r| r["count"] == 20 && r["p99_ms"].as_f64() >= r["p50_ms"].as_f64()));
    assert!(out["rss_mib"].as_f64().unwrap() > 1.0);
}

#[test]
fn eval_names_a_bad_line() {
    let ws = Workspace::new();
    let run_file = ws.path().join("bad.run");
    std::fs::write(&run_file, "q1 Q0 d1 1 0.5 tag\nq1 Q0 d2\n").unwrap();
    let qrels = ws.path().join("qrels");
    std::fs::write(&qrels, "q1 0 d1 1\n").unwrap();
    let run: crate::util::Run = crate::util::mlsearch_in(
        ws.path(),
        &["bench", "eval", run_file.to_str().unwrap(), qrels.to_str().unwrap()],
    )
    .into();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.run:2"), "{run:?}");
}
