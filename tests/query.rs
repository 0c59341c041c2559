//! `mlsearch query`: per-language retrieval, language filters, output formats.

use std::sync::OnceLock;

use crate::util::{fixture, fixture_corpus, Workspace};

/// One index of the fixture corpus shared by the read-only tests.
fn indexed() -> &'static Workspace {
    static WS: OnceLock<Workspace> = OnceLock::new();
    WS.get_or_init(|| {
        let ws = Workspace::new();
        ws.index_ok(&fixture_corpus());
        ws
    })
}

fn bakery_queries() -> Vec<(String, String)> {
    std::fs::read_to_string(fixture("bakery-queries.tsv"))
        .unwrap()
        .lines()
        .map(|l| {
            let (lang, q) = l.split_once('\t').unwrap();
            (lang.to_string(), q.to_string())
        })
        .collect()
}

#[test]
fn a_query_in_each_language_finds_its_passage_first() {
    let ws = indexed();
    let queries = bakery_queries();
    assert!(queries.len() >= 12);
    for (lang, query) in queries {
        let hits = ws.hits(&[&query, "--lang", &lang, "-k", "3"]);
        assert!(!hits.is_empty(), "{lang}: no hits for {query}");
        assert_eq!(
            hits[0]["doc"],
            format!("parallel/bakery.{lang}.txt"),
            "{lang}: {query}: {hits:#?}"
        );
        assert_eq!(hits[0]["lang"], lang.as_str());
        assert!(
            hits.iter().all(|h| h["lang"] == lang.as_str()),
            "{lang}: filter leaked: {hits:#?}"
        );
    }
}

#[test]
fn the_same_queries_find_their_passage_with_lang_any() {
    let ws = indexed();
    for (lang, query) in bakery_queries() {
        let hits = ws.hits(&[&query, "-k", "1"]);
        assert_eq!(hits[0]["doc"], format!("parallel/bakery.{lang}.txt"), "{lang}: {query}");
    }
}

/// Issue 28: a `--lang` filter is where to look, not the query's language. Before, an
/// English question that detection could not call reliably was read as German here.
#[test]
fn issue_28_a_filter_language_is_not_taken_for_the_query_language() {
    let ws = indexed();
    let hits = ws.hits(&[
        "Which cities are Bratislava and Budapest in?",
        "--lang",
        "de",
        "-k",
        "1",
    ]);
    assert_eq!(hits[0]["doc"], "parallel/danube.de.txt", "{hits:#?}");
    assert_eq!(hits[0]["query_lang"], "en", "{hits:#?}");
    let confidence = hits[0]["query_lang_confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0, "{hits:#?}");
    // The script decides alone: Greek in an index whose only Greek-script language is Greek.
    let hits = ws.hits(&["Βουδαπέστη", "--lang", "el,de", "--explain"]);
    assert!(!hits.is_empty());
    for hit in &hits {
        assert_eq!(hit["query_lang"], "el");
        assert_eq!(hit["query_lang_source"], "script");
        assert_eq!(hit["query_lang_confidence"], 1.0);
    }
    // Text with no letters is not identified: each field reads it (and nothing is invented).
    let run = ws.run(&["query", "2019", "--lang", "de", "--explain"]);
    assert!(run.code == 0 || run.code == 1, "{run:?}");
    if run.code == 1 {
        assert!(run.stderr.contains("query read as und"), "{run:?}");
    }
}

#[test]
fn a_word_inside_unspaced_chinese_japanese_thai_text_is_found() {
    let ws = indexed();
    for (lang, word) in [("zh", "图书馆"), ("ja", "図書館"), ("th", "ห้องสมุด")] {
        for filter in [lang, "any"] {
            let hits = ws.hits(&[word, "--lang", filter, "-k", "1"]);
            assert_eq!(hits.len(), 1, "{lang}/{filter}: {word}");
            assert_eq!(hits[0]["doc"], format!("unique/library.{lang}.txt"), "{lang}/{filter}");
            let snippet = hits[0]["snippet"].as_str().unwrap();
            let [from, to] =
                [&hits[0]["highlights"][0][0], &hits[0]["highlights"][0][1]].map(|v| v.as_u64().unwrap() as usize);
            assert_eq!(&snippet[from..to], word, "{lang}: highlight marks the word");
        }
    }
}

#[test]
fn the_language_filter_applies_inside_the_search() {
    let ws = indexed();
    // Names shared by the Danube passages of every Latin-script language.
    let hits = ws.hits(&["Bratislava Budapest", "--lang", "de,fr", "-k", "10"]);
    let langs: Vec<&str> = hits.iter().map(|h| h["lang"].as_str().unwrap()).collect();
    assert_eq!(hits.len(), 2, "{langs:?}");
    assert!(langs.contains(&"de") && langs.contains(&"fr"));
    // Without a filter, k hits come back from many languages.
    let hits = ws.hits(&["Bratislava Budapest", "--lang", "any", "-k", "5"]);
    assert_eq!(hits.len(), 5);
    // A language whose only passages rank low with --lang any still returns them.
    let hits = ws.hits(&["Budapest", "--lang", "sw", "-k", "3"]);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["doc"], "parallel/danube.sw.txt");
}

#[test]
fn json_hits_have_the_documented_fields() {
    let ws = indexed();
    let hits = ws.hits(&["lighthouse keeper island Black Forest", "--lang", "en", "-k", "2"]);
    let hit = hits[0].as_object().unwrap();
    for key in [
        "rank",
        "score",
        "doc",
        "passage",
        "lang",
        "title",
        "file",
        "snippet",
        "highlights",
        "query_lang",
    ] {
        assert!(hit.contains_key(key), "missing {key}: {hit:?}");
    }
    assert_eq!(hit["doc"], "art-001");
    assert_eq!(hit["file"], "records/articles.jsonl");
    assert_eq!(hit["rank"], 1);
    assert_eq!(hits[1]["rank"], 2);
    assert!(hit["score"].as_f64().unwrap() > hits[1]["score"].as_f64().unwrap());
}

#[test]
fn jsonl_lang_field_squad_paragraphs_html_and_markdown_are_indexed() {
    let ws = indexed();
    let pt = ws.hits(&["faroleiro ilha", "--lang", "pt", "-k", "1"]);
    assert_eq!(pt[0]["doc"], "art-002");
    let sw = ws.hits(&["mlinzi kisiwa", "--lang", "sw", "-k", "1"]);
    assert_eq!(sw[0]["doc"], "art-004", "Swahili detected for a record without lang");
    let tides = ws.hits(&["Bay of Fundy tidal range", "-k", "1"]);
    assert_eq!(tides[0]["doc"], "records/tides.json#0-1");
    assert_eq!(tides[0]["title"], "Tides");
    let museum = ws.hits(&["fornace visite guidate", "--lang", "it", "-k", "1"]);
    assert_eq!(museum[0]["doc"], "web/museum.html");
    assert_eq!(museum[0]["title"], "Museo del vetro & della ceramica");
    assert!(
        ws.hits(&["trackingPixel nascosto"]).is_empty(),
        "script text must not be indexed"
    );
    let orchard = ws.hits(&["pruning february buds", "-k", "1"]);
    assert_eq!(orchard[0]["doc"], "notes/orchard.md");
}

#[test]
fn user_text_is_never_query_syntax() {
    let ws = indexed();
    for text in [
        "\"",
        ":",
        "(",
        "*",
        "AND",
        "-",
        "title:baker AND (dough",
        "\"unclosed phrase",
        "baker^2 ~ dough*",
        "+-!",
    ] {
        let run = ws.run(&["query", text]);
        assert!(run.code == 0 || run.code == 1, "{text:?}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{text:?}: {run:?}");
    }
    let hits = ws.hits(&["title:baker AND (dough", "--lang", "en", "-k", "1"]);
    assert_eq!(hits[0]["doc"], "parallel/bakery.en.txt");
}

#[test]
fn no_hits_exit_with_code_1() {
    let run = indexed().run(&["query", "zzqxjv"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("no hits"));
}

#[test]
fn batch_queries_write_jsonl_with_qids() {
    let ws = indexed();
    let file = fixture("bakery-queries.tsv");
    let run = ws.run(&["query", "--queries", file.to_str().unwrap(), "-k", "2"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let qids: std::collections::BTreeSet<&str> = lines.iter().map(|h| h["qid"].as_str().unwrap()).collect();
    assert_eq!(qids.len(), bakery_queries().len());
    assert!(lines.len() <= 2 * qids.len());
    for hit in &lines {
        let qid = hit["qid"].as_str().unwrap();
        if hit["rank"] == 1 {
            assert_eq!(hit["doc"], format!("parallel/bakery.{qid}.txt"));
        }
    }
}

#[test]
fn batch_queries_write_a_trec_run_one_line_per_document() {
    let ws = indexed();
    let file = fixture("bakery-queries.tsv");
    let run = ws.run(&[
        "query",
        "--queries",
        file.to_str().unwrap(),
        "--trec",
        "-k",
        "5",
        "--run-tag",
        "t1",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut per_query: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for line in run.stdout.lines() {
        let cols: Vec<&str> = line.split(' ').collect();
        assert_eq!(cols.len(), 6, "{line}");
        assert_eq!((cols[1], cols[5]), ("Q0", "t1"));
        let docs = per_query.entry(cols[0]).or_default();
        assert_eq!(cols[3].parse::<usize>().unwrap(), docs.len() + 1, "ranks count from 1");
        assert!(!docs.contains(&cols[2]), "duplicate document {line}");
        docs.push(cols[2]);
    }
    assert_eq!(per_query.len(), bakery_queries().len());
    assert_eq!(per_query["de"][0], "parallel/bakery.de.txt");
}

#[test]
fn a_malformed_queries_file_names_the_line() {
    let ws = indexed();
    let file = ws.path().join("bad.tsv");
    std::fs::write(&file, "q1\tgood query\nno tab here\n").unwrap();
    let run = ws.run(&["query", "--queries", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("bad.tsv:2"), "{run:?}");
}

#[test]
fn info_reports_the_index() {
    let run = indexed().run(&["info", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let info: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(info["format_version"], 2);
    assert_eq!(info["files"], 49);
    assert!(info["languages"]["th"].as_u64().unwrap() >= 4);
}
