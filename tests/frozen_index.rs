//! An index written by format 2 (`fixtures/index-format-2/index`, made from the three
//! files beside it with `mlsearch index --no-vectors`) must keep opening and answering,
//! or be refused with the version message, in every later version.

use crate::util::{copy_tree, fixture, Workspace};

#[test]
fn the_frozen_format_2_index_opens_and_answers() {
    let ws = Workspace::new();
    // A copy: opening may finish an interrupted commit, and the fixture stays as made.
    copy_tree(&fixture("index-format-2/index"), &ws.index());
    for (query, lang, doc) in [
        ("Teig", "de", "bakery.de.txt"),
        ("dough", "en", "bakery.en.txt"),
        ("面团", "zh", "bakery.zh.txt"),
    ] {
        let hits = ws.hits(&[query, "--lang", lang, "--query-lang", lang, "--mode", "bm25"]);
        assert_eq!(
            hits.first().map(|h| h["doc"].as_str().unwrap()),
            Some(doc),
            "{query}: {hits:?}"
        );
    }
    let info = ws.run(&["info", "--json"]);
    assert_eq!(info.code, 0, "{info:?}");
    let info: serde_json::Value = serde_json::from_str(&info.stdout).expect("info --json");
    assert_eq!(info["format_version"], 2);
    assert_eq!(info["passages"], 3);
}
