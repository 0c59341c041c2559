//! Dense and hybrid retrieval with the built-in model on the fixture corpus.

use std::sync::OnceLock;

use crate::util::{builtin_available, fixture, fixture_corpus, tiny_model, Workspace};

/// The fixture corpus indexed with vectors, shared by the read-only tests.
pub fn indexed() -> Option<&'static Workspace> {
    static WS: OnceLock<Option<Workspace>> = OnceLock::new();
    WS.get_or_init(|| {
        builtin_available().then(|| {
            let ws = Workspace::with_vectors();
            ws.index_ok(&fixture_corpus());
            ws
        })
    })
    .as_ref()
}

fn german_bakery_query() -> String {
    std::fs::read_to_string(fixture("bakery-queries.tsv"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("de\t"))
        .unwrap()
        .to_string()
}

#[test]
fn a_german_question_finds_the_answer_in_every_language_with_dense_search() {
    let Some(ws) = indexed() else { return };
    let query = german_bakery_query();
    let mut misses = Vec::new();
    for lang in [
        "en", "de", "es", "fr", "ru", "ar", "hi", "zh", "ja", "th", "sw", "ko", "el", "vi",
    ] {
        let hits = ws.hits(&[&query, "--mode", "dense", "--lang", lang, "-k", "1"]);
        assert_eq!(hits.len(), 1, "{lang}");
        assert_eq!(hits[0]["lang"], lang, "the filter applies inside the vector search");
        if hits[0]["doc"] != format!("parallel/bakery.{lang}.txt") {
            misses.push(format!("{lang}: {}", hits[0]["doc"]));
        }
    }
    // multilingual-e5-small is strong across these languages, not perfect.
    assert!(misses.len() <= 2, "cross-lingual misses: {misses:?}");
}

#[test]
fn bm25_finds_nothing_across_scripts_where_dense_does() {
    let Some(ws) = indexed() else { return };
    let query = german_bakery_query();
    assert!(ws.hits(&[&query, "--mode", "bm25", "--lang", "zh"]).is_empty());
    let hybrid = ws.hits(&[&query, "--lang", "zh", "-k", "1"]);
    assert_eq!(
        hybrid[0]["doc"], "parallel/bakery.zh.txt",
        "hybrid keeps the dense answer when BM25 has none"
    );
}

#[test]
fn explain_shows_both_lists() {
    let Some(ws) = indexed() else { return };
    let hits = ws.hits(&[&german_bakery_query(), "--explain", "-k", "3"]);
    let first = &hits[0];
    assert_eq!(first["doc"], "parallel/bakery.de.txt");
    let explain = &first["explain"];
    assert_eq!(explain["bm25_rank"], 1);
    assert_eq!(explain["dense_rank"], 1);
    assert!(explain["dense_score"].as_f64().unwrap() > 0.5);
    assert_eq!(explain["fused_score"], first["score"]);
}

#[test]
fn vectors_follow_incremental_updates() {
    if !builtin_available() {
        return;
    }
    let ws = Workspace::with_vectors();
    let corpus = ws.path().join("corpus");
    crate::util::copy_tree(&fixture_corpus().join("parallel"), &corpus);
    ws.index_ok(&corpus);
    std::fs::write(
        corpus.join("bakery.en.txt"),
        "Penguins of the southern colony dive for krill at dawn.",
    )
    .unwrap();
    std::fs::remove_file(corpus.join("bakery.fr.txt")).unwrap();
    ws.index_ok(&corpus);
    let info: serde_json::Value = serde_json::from_str(&ws.run(&["info", "--json"]).stdout).unwrap();
    assert_eq!(info["vectors"]["count"], info["passages"], "one vector per passage");
    let hits = ws.hits(&[
        "Pinguine tauchen nach Krill",
        "--mode",
        "dense",
        "--lang",
        "en",
        "-k",
        "1",
    ]);
    assert_eq!(hits[0]["doc"], "bakery.en.txt", "the changed text was re-embedded");
    let hits = ws.hits(&["boulanger pâte", "--mode", "dense", "--lang", "fr", "-k", "5"]);
    assert!(
        hits.iter().all(|h| h["doc"] != "bakery.fr.txt"),
        "the deleted file's vector is gone"
    );
}

#[test]
fn another_model_or_no_vectors_is_a_clear_error() {
    let Some(ws) = indexed() else { return };
    let tiny = tiny_model();
    let run = ws.run(&["query", "Bäcker", "--model", tiny.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("holds vectors of built-in"), "{run:?}");
    let bm25_only = Workspace::new();
    bm25_only.index_ok(&fixture_corpus().join("records"));
    let run = bm25_only.run(&["query", "lighthouse", "--mode", "dense"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no vectors"), "{run:?}");
}

/// An index made by the previous built-in model (the untrained base) says so in plain
/// words and how to re-embed, and is still searched with `--model base`.
#[test]
fn an_index_of_the_previous_builtin_model_says_how_to_re_embed() {
    if !builtin_available() {
        return;
    }
    let ws = Workspace::with_vectors();
    let corpus = fixture_corpus().join("records");
    let run = ws.run(&["index", corpus.to_str().unwrap(), "--model", "base"]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = ws.run(&["query", "lighthouse", "--mode", "dense", "--model", "base"]);
    assert_eq!(run.code, 0, "{run:?}");
    let trained = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights");
    if !trained.exists() {
        return; // a build that ships the base has nothing to tell apart
    }
    let run = ws.run(&["query", "lighthouse", "--mode", "dense"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("previous built-in model") && run.stderr.contains("--rebuild"),
        "{run:?}"
    );
    let run = ws.run(&["index", corpus.to_str().unwrap(), "--rebuild"]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = ws.run(&["query", "lighthouse", "--mode", "dense"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn a_damaged_vector_file_is_detected() {
    if !builtin_available() {
        return;
    }
    let ws = Workspace::with_vectors();
    ws.index_ok(&fixture_corpus().join("records"));
    let vectors = ws.index().join("vectors");
    let file = std::fs::read_dir(&vectors).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 100]).unwrap();
    let run = ws.run(&["query", "lighthouse"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("corrupt") && !run.stderr.contains("panicked"),
        "{run:?}"
    );
}

#[test]
fn the_index_records_its_precision_and_queries_follow_it() {
    let Some(ws) = indexed() else { return };
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.index().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["vectors"]["model"]["precision"], "int8",
        "the default on the CPU"
    );
    // A query without --precision uses the index's; asking for the other one is refused.
    let hits = ws.hits(&[&german_bakery_query(), "--mode", "dense", "--lang", "de", "-k", "1"]);
    assert_eq!(hits[0]["doc"], "parallel/bakery.de.txt");
    let run = ws.run(&["query", "Bäcker", "--mode", "dense", "--precision", "f32"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("at int8") && run.stderr.contains("at f32"),
        "{run:?}"
    );

    // An f32 index: an incremental run keeps f32 without being told, and its vectors find
    // the same passage.
    let f32_ws = Workspace::with_vectors();
    let corpus = tempfile::tempdir().unwrap();
    for lang in ["de", "en", "fr"] {
        let name = format!("bakery.{lang}.txt");
        std::fs::copy(fixture_corpus().join("parallel").join(&name), corpus.path().join(&name)).unwrap();
    }
    let run = f32_ws.run(&["index", corpus.path().to_str().unwrap(), "--precision", "f32"]);
    assert_eq!(run.code, 0, "{run:?}");
    std::fs::write(
        corpus.path().join("note.en.txt"),
        "A short note about the harbour and its boats.",
    )
    .unwrap();
    f32_ws.index_ok(corpus.path());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f32_ws.index().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["vectors"]["model"]["precision"], "f32");
    let hits = f32_ws.hits(&[&german_bakery_query(), "--mode", "dense", "--lang", "de", "-k", "1"]);
    assert_eq!(hits[0]["doc"], "bakery.de.txt");
}
