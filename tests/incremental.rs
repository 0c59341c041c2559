//! Incremental indexing: adds, changes and deletions are applied and counted; nothing
//! unchanged is re-read; an interrupted run leaves the last good index usable.

use std::fs;

use crate::util::{copy_tree, fixture_corpus, Workspace};

fn counts(run: &crate::util::Run) -> String {
    run.stdout.lines().next().unwrap_or_default().to_string()
}

#[test]
fn add_change_delete_are_counted_and_applied() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    copy_tree(&fixture_corpus().join("parallel"), &corpus);
    let first = ws.index_ok(&corpus);
    assert_eq!(
        counts(&first),
        "files: 42 added, 0 updated, 0 removed, 0 unchanged, 0 skipped"
    );

    let again = ws.index_ok(&corpus);
    assert_eq!(
        counts(&again),
        "files: 0 added, 0 updated, 0 removed, 42 unchanged, 0 skipped"
    );
    assert!(again.stdout.contains("up to date"), "{again:?}");

    fs::write(
        corpus.join("new.en.txt"),
        "Penguins of the southern colony dive for krill at dawn.",
    )
    .unwrap();
    fs::write(
        corpus.join("bakery.en.txt"),
        "The village bakery closed; the baker moved to the harbour market.",
    )
    .unwrap();
    fs::remove_file(corpus.join("danube.en.txt")).unwrap();
    let third = ws.index_ok(&corpus);
    assert_eq!(
        counts(&third),
        "files: 1 added, 1 updated, 1 removed, 40 unchanged, 0 skipped"
    );
    assert!(third.stdout.contains("42 files, 42 passages"), "{third:?}");

    assert_eq!(ws.hits(&["penguins krill", "-k", "1"])[0]["doc"], "new.en.txt");
    assert_eq!(ws.hits(&["harbour market", "-k", "1"])[0]["doc"], "bakery.en.txt");
    assert!(
        ws.hits(&["kneading dough", "--lang", "en"]).is_empty(),
        "old text of the changed file is gone"
    );
    assert!(
        ws.hits(&["Danube Black Forest", "--lang", "en"]).is_empty(),
        "the deleted file is gone"
    );
}

#[test]
fn a_folder_indexed_into_another_folders_index_is_refused() {
    let ws = Workspace::new();
    let (a, b) = (ws.path().join("a"), ws.path().join("b"));
    fs::create_dir_all(&a).unwrap();
    fs::create_dir_all(&b).unwrap();
    fs::write(
        a.join("x.txt"),
        "Alpha text about glaciers and moraines in the high valleys.",
    )
    .unwrap();
    fs::write(b.join("y.txt"), "Beta text about coral reefs and lagoons.").unwrap();
    ws.index_ok(&a);
    let run = ws.run(&["index", b.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("--rebuild"), "{run:?}");
    let run = ws.run(&["index", b.to_str().unwrap(), "--rebuild"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(ws.hits(&["coral reefs"])[0]["doc"], "y.txt");
    assert!(ws.hits(&["glaciers"]).is_empty());
}

#[test]
fn an_interrupted_index_run_leaves_the_last_good_index_usable() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    copy_tree(&fixture_corpus().join("parallel"), &corpus);
    ws.index_ok(&corpus);
    // A big change, killed part-way through.
    let big = corpus.join("big");
    fs::create_dir_all(&big).unwrap();
    let paragraph = "Walruses haul out on the ice floes of the northern sea every summer. ".repeat(20);
    for i in 0..3000 {
        fs::write(big.join(format!("f{i}.txt")), format!("{paragraph}\n\nNumber {i}.")).unwrap();
    }
    let index = ws.index();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args([
            "index",
            corpus.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--no-vectors",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    // Whether the kill landed before or after the commit, the index opens and answers.
    let hits = ws.hits(&["Wann knetet der Bäcker den Teig?", "--lang", "de", "-k", "1"]);
    assert_eq!(hits[0]["doc"], "bakery.de.txt");
    // And the next run completes the work.
    let run = ws.index_ok(&corpus);
    assert!(run.stdout.contains("3042 files"), "{run:?}");
}

#[test]
fn a_commit_whose_manifest_rename_was_interrupted_is_read_and_then_finished_by_the_next_writer() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    copy_tree(&fixture_corpus().join("parallel"), &corpus);
    ws.index_ok(&corpus);
    let index = ws.index();
    fs::rename(index.join("manifest.json"), index.join("manifest.json.next")).unwrap();
    assert_eq!(
        ws.hits(&["Bäcker Teig", "--lang", "de", "-k", "1"])[0]["doc"],
        "bakery.de.txt"
    );
    // A reader writes nothing (it would race a live writer's own rename)...
    assert!(!index.join("manifest.json").exists(), "a reader renamed the manifest");
    // ...the next writer, holding the lock, finishes it.
    ws.index_ok(&corpus);
    assert!(index.join("manifest.json").exists(), "the rename was finished");
    // A stale .next from a run that never committed is ignored.
    fs::write(index.join("manifest.json.next"), "{\"format_version\": 1}").unwrap();
    assert_eq!(ws.run(&["info"]).code, 0);
}
