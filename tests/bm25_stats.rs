//! BM25 scores each language with its own statistics: adding passages of one language
//! never changes how another language's passages are scored; k1 and b are index settings.

use std::path::Path;

use crate::util::Workspace;

const FILLER_EN: &[&str] = &[
    "river", "stone", "cloud", "lamp", "garden", "window", "letter", "winter", "market", "bridge", "candle", "forest",
];
const FILLER_DE: &[&str] = &[
    "Hund", "Brücke", "Fenster", "Sommer", "Garten", "Zeitung", "Wolke", "Kerze", "Markt", "Wald",
];

/// `n` words cycling through `words`, starting at `offset`.
fn words(words: &[&str], n: usize, offset: usize) -> String {
    (0..n)
        .map(|i| words[(i + offset) % words.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// English records: a long passage with "orchard" five times, a short one with it once,
/// and four of average length without it.
fn write_english(dir: &Path) {
    let mut lines = Vec::new();
    let mut record = |id: &str, text: String| {
        lines.push(serde_json::json!({"docid": id, "lang": "en", "text": text}).to_string());
    };
    record(
        "long",
        format!("{} {}", "orchard ".repeat(5).trim(), words(FILLER_EN, 95, 0)),
    );
    record("short", format!("orchard {}", words(FILLER_EN, 9, 3)));
    for i in 0..4 {
        record(&format!("other{i}"), words(FILLER_EN, 55, i));
    }
    std::fs::write(dir.join("en.jsonl"), lines.join("\n") + "\n").unwrap();
}

/// `n` German records of 30 words.
fn write_german(dir: &Path, n: usize) {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({"docid": format!("de{i}"), "lang": "de", "text": words(FILLER_DE, 30, i)}).to_string()
        })
        .collect();
    std::fs::write(dir.join("de.jsonl"), lines.join("\n") + "\n").unwrap();
}

/// (doc, score) of each hit.
fn ranking(ws: &Workspace, args: &[&str]) -> Vec<(String, f64)> {
    ws.hits(args)
        .iter()
        .map(|h| (h["doc"].as_str().unwrap().to_string(), h["score"].as_f64().unwrap()))
        .collect()
}

/// Same documents in the same order, scores within `relative` of each other.
fn assert_close(a: &[(String, f64)], b: &[(String, f64)], relative: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: {a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.0, y.0, "{what}: {a:?} vs {b:?}");
        assert!(
            (x.1 - y.1).abs() <= relative * x.1.abs() + 1e-5,
            "{what}: {a:?} vs {b:?}"
        );
    }
}

fn assert_same(a: &[(String, f64)], b: &[(String, f64)], what: &str) {
    assert_close(a, b, 0.0, what);
}

#[test]
fn adding_another_languages_passages_changes_no_ranking_or_score() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    write_english(&corpus);
    write_german(&corpus, 2);
    ws.index_ok(&corpus);
    let query = ["orchard", "--query-lang", "en", "--mode", "bm25"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&query[..], extra].concat() };
    let before = ranking(&ws, &with(&["--lang", "en"]));
    // Within English, the long passage with five matches beats the short one with one.
    assert_eq!(
        before.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(),
        ["long", "short"],
        "{before:?}"
    );

    // 300 German passages: twelve times the English ones, as in a multilingual index.
    write_german(&corpus, 300);
    ws.index_ok(&corpus);
    let after = ranking(&ws, &with(&["--lang", "en"]));
    // Not to the last digit: the run merges segments with deletes, and Tantivy's merge
    // re-estimates a field's token count from its lossy length codes (0.3% here). Before
    // per-language statistics the ranking itself flipped.
    assert_close(&before, &after, 0.01, "--lang en after adding German");
    // Every query shape scores English passages the same way.
    for shape in [vec!["--lang", "any"], vec!["--lang", "en,de"], vec!["--lang", "de,en"]] {
        let hits = ranking(&ws, &with(&shape));
        assert_same(&after, &hits, &format!("{shape:?}"));
    }
    // Batch mode (TREC run) too.
    let queries = ws.path().join("q.tsv");
    std::fs::write(&queries, "q1\torchard\n").unwrap();
    let run = ws.run(&[
        "query",
        "--queries",
        queries.to_str().unwrap(),
        "--trec",
        "--lang",
        "any",
        "--query-lang",
        "en",
        "--mode",
        "bm25",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let trec: Vec<(String, f64)> = run
        .stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[2].to_string(), f[4].parse().unwrap())
        })
        .collect();
    assert_close(&after, &trec, 1e-6, "batch mode");
}

#[test]
fn k1_and_b_are_index_settings_a_query_can_override() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    write_english(&corpus);
    ws.index_ok(&corpus);
    let manifest = |ws: &Workspace| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(ws.index().join("manifest.json")).unwrap()).unwrap()
    };
    let params = |m: &serde_json::Value| {
        let rounded = |v: &serde_json::Value| (v.as_f64().unwrap() * 1000.0).round() / 1000.0;
        (rounded(&m["bm25"]["k1"]), rounded(&m["bm25"]["b"]))
    };
    assert_eq!(params(&manifest(&ws)), (0.9, 0.4), "defaults recorded");
    let query = ["orchard", "--lang", "en", "--query-lang", "en", "--mode", "bm25"];
    let default = ranking(&ws, &query);

    // b = 0: no length normalisation, so the five matches of the long passage win by more.
    let run = ws.run(&["index", corpus.to_str().unwrap(), "--bm25-k1", "1.2", "--bm25-b", "0"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(params(&manifest(&ws)), (1.2, 0.0));
    let flat = ranking(&ws, &query);
    assert_eq!(flat[0].0, "long");
    assert!(
        flat[0].1 / flat[1].1 > default[0].1 / default[1].1,
        "{flat:?} vs {default:?}"
    );

    // A query's own parameters override the index's, without changing it.
    let mut overridden = query.to_vec();
    overridden.extend(["--bm25-k1", "0.9", "--bm25-b", "0.4"]);
    assert_same(&default, &ranking(&ws, &overridden), "query override");
    assert_eq!(params(&manifest(&ws)), (1.2, 0.0));

    // Values out of range are refused with a message naming them.
    let run = ws.run(&["index", corpus.to_str().unwrap(), "--bm25-b", "1.5"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("BM25 b"), "{run:?}");
    let run = ws.run(&["query", "orchard", "--bm25-k1=-1"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("BM25 k1"), "{run:?}");
}
