//! Bad input gets a clear message and an exit code, and loses nothing.

use std::fs;

use crate::util::{copy_tree, fixture_corpus, Workspace};

#[test]
fn unreadable_binary_and_non_utf8_files_are_reported_and_skipped() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    fs::write(
        corpus.join("good.txt"),
        "Otters hold hands while they sleep so that they do not drift apart.",
    )
    .unwrap();
    fs::write(corpus.join("image.txt"), b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").unwrap();
    fs::write(
        corpus.join("latin1.txt"),
        b"Gr\xfc\xdfe aus M\xfcnchen, sch\xf6ne Stra\xdfe",
    )
    .unwrap();
    let mut mostly_utf8 = "Beavers build dams from branches and mud. ".repeat(20).into_bytes();
    mostly_utf8.push(0xE9);
    fs::write(corpus.join("stray.txt"), mostly_utf8).unwrap();
    fs::write(corpus.join("broken.jsonl"), "{not json\n").unwrap();
    fs::write(corpus.join("utf16.txt"), b"\xFF\xFEh\x00i\x00").unwrap();
    fs::write(corpus.join("photo.png"), b"\x89PNG").unwrap();
    std::os::unix::fs::symlink(corpus.join("missing-target.txt"), corpus.join("dangling.txt")).unwrap();
    let run = ws.run(&["index", corpus.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("image.txt: skipped: binary file"), "{run:?}");
    assert!(run.stderr.contains("latin1.txt: skipped: not UTF-8 text"), "{run:?}");
    assert!(run.stderr.contains("utf16.txt: skipped: UTF-16"), "{run:?}");
    assert!(run.stderr.contains("broken.jsonl: skipped"), "{run:?}");
    assert!(
        run.stderr
            .contains("stray.txt: not valid UTF-8: 1 invalid byte sequences replaced"),
        "{run:?}"
    );
    assert!(run.stderr.contains("dangling.txt"), "{run:?}");
    assert!(
        run.stdout.contains("2 added") && run.stdout.contains("5 skipped"),
        "{run:?}"
    );
    assert!(run.stdout.contains("(1 of other types)"), "{run:?}");
    assert_eq!(ws.hits(&["otters sleep"])[0]["doc"], "good.txt");
    assert_eq!(ws.hits(&["beavers dams"])[0]["doc"], "stray.txt");
}

#[test]
fn a_file_that_turns_bad_keeps_its_previous_passages() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    fs::write(
        corpus.join("a.txt"),
        "Hedgehogs hibernate from November to March under leaf piles.",
    )
    .unwrap();
    ws.index_ok(&corpus);
    fs::write(corpus.join("a.txt"), b"\x00\x01binary now").unwrap();
    let run = ws.run(&["index", corpus.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("previously indexed passages are kept"), "{run:?}");
    assert_eq!(ws.hits(&["hedgehogs hibernate"])[0]["doc"], "a.txt");
}

#[test]
fn an_empty_folder_has_a_clear_message() {
    let ws = Workspace::new();
    let empty = ws.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let run = ws.run(&["index", empty.to_str().unwrap()]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("nothing to index") && run.stderr.contains("empty"),
        "{run:?}"
    );
    fs::write(empty.join("only.png"), b"\x89PNG").unwrap();
    let run = ws.run(&["index", empty.to_str().unwrap()]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("1 files of other types"), "{run:?}");
    assert_eq!(ws.run(&["query", "anything"]).code, 3, "no index was left behind");
}

#[test]
fn a_missing_folder_is_an_error() {
    let ws = Workspace::new();
    let run = ws.run(&["index", "/no/such/folder"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("/no/such/folder"), "{run:?}");
}

#[test]
fn a_missing_index_names_the_command_that_creates_it() {
    let ws = Workspace::new();
    let run = ws.run(&["query", "hello"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("no index at") && run.stderr.contains("mlsearch index"),
        "{run:?}"
    );
}

fn indexed_copy() -> Workspace {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    copy_tree(&fixture_corpus().join("parallel"), &corpus);
    ws.index_ok(&corpus);
    ws
}

#[test]
fn another_format_version_is_refused_naming_both_versions() {
    let ws = indexed_copy();
    let manifest = ws.index().join("manifest.json");
    let text = fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"format_version\": 2", "\"format_version\": 99");
    fs::write(&manifest, text).unwrap();
    let run = ws.run(&["query", "baker"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("format version 99") && run.stderr.contains("format version 2"),
        "{run:?}"
    );
    let corpus = ws.path().join("corpus");
    let run = ws.run(&["index", corpus.to_str().unwrap(), "--rebuild"]);
    assert_eq!(run.code, 0, "--rebuild replaces it: {run:?}");
    assert_eq!(ws.run(&["query", "baker"]).code, 0);
}

#[test]
fn a_tampered_manifest_is_detected() {
    let ws = indexed_copy();
    let manifest = ws.index().join("manifest.json");
    let text = fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"generation\": 1", "\"generation\": 7");
    fs::write(&manifest, text).unwrap();
    let run = ws.run(&["query", "baker"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("corrupt"), "{run:?}");
}

#[test]
fn truncated_or_garbled_index_files_give_an_error_not_a_crash() {
    for damage in ["truncate", "garble", "remove-meta"] {
        let ws = indexed_copy();
        let bm25 = ws.index().join("bm25");
        if damage == "remove-meta" {
            fs::remove_file(bm25.join("meta.json")).unwrap();
        } else {
            for entry in fs::read_dir(&bm25).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if name.ends_with(".store") || name.ends_with(".term") || name.ends_with(".idx") {
                    let bytes = fs::read(&path).unwrap();
                    let damaged = if damage == "truncate" {
                        bytes[..bytes.len() / 2].to_vec()
                    } else {
                        bytes.iter().map(|b| b ^ 0x5A).collect()
                    };
                    fs::write(&path, damaged).unwrap();
                }
            }
        }
        let run = ws.run(&["query", "Bäcker Teig"]);
        assert!(!run.stderr.contains("panicked"), "{damage}: {run:?}");
        assert!(run.code == 3 || run.code == 2, "{damage}: {run:?}");
        assert!(
            run.stderr.contains("corrupt") || run.stderr.contains("error"),
            "{damage}: {run:?}"
        );
    }
}
