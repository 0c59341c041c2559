//! The index under concurrent runs and readers during commits; damaged model and index
//! files. Every run is the real binary on real files.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{mlsearch_in, tiny_model, Run};

/// A folder of `n` small text files in two languages.
fn corpus(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let text = if i % 2 == 0 {
            format!("The baker kneads the dough for loaf number {i} before dawn, every single morning.")
        } else {
            format!("Der Bäcker knetet den Teig für das Brot Nummer {i} jeden Morgen vor Sonnenaufgang.")
        };
        std::fs::write(dir.join(format!("f{i:04}.txt")), text).unwrap();
    }
}

fn index_args<'a>(corpus: &'a str, index: &'a str) -> Vec<&'a str> {
    vec!["index", corpus, "--index", index, "--no-vectors"]
}

#[test]
fn a_run_that_finds_the_lock_held_exits_3_naming_it_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (docs, index) = (dir.path().join("docs"), dir.path().join("idx"));
    corpus(&docs, 20);
    let (d, i) = (docs.to_str().unwrap(), index.to_str().unwrap());
    // The kernel's lock, taken by this process as another writer would.
    let lock = mlsearch::store::WriterLock::acquire(&index).unwrap();
    let fresh = Run::from(mlsearch_in(dir.path(), &index_args(d, i)));
    assert_eq!(fresh.code, 3, "{fresh:?}");
    assert!(fresh.stderr.contains("writer.lock"), "{fresh:?}");
    assert!(!index.join("bm25").exists(), "a refused run created bm25/");
    drop(lock);
    let first = Run::from(mlsearch_in(dir.path(), &index_args(d, i)));
    assert_eq!(first.code, 0, "{first:?}");
    // An existing index: a refused run (even --rebuild) leaves every file as it was.
    let before = listing(&index);
    let lock = mlsearch::store::WriterLock::acquire(&index).unwrap();
    let mut args = index_args(d, i);
    args.push("--rebuild");
    let refused = Run::from(mlsearch_in(dir.path(), &args));
    assert_eq!(refused.code, 3, "{refused:?}");
    drop(lock);
    assert_eq!(listing(&index), before);
    let query = Run::from(mlsearch_in(
        dir.path(),
        &["query", "Bäcker Teig", "--index", i, "--mode", "bm25"],
    ));
    assert_eq!(query.code, 0, "{query:?}");
}

/// Every file under `dir` (but the lock) with its size and modification time.
fn listing(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut files: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && e.file_name() != "writer.lock")
        .map(|e| {
            let m = e.metadata().unwrap();
            (e.path().display().to_string(), m.len(), m.modified().unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn two_runs_started_together_never_both_write() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    corpus(&docs, 300);
    for trial in 0..4 {
        let index = dir.path().join(format!("idx{trial}"));
        let (d, i) = (docs.to_str().unwrap(), index.to_str().unwrap());
        // Trials 2 and 3 race on an existing index, with --rebuild.
        if trial >= 2 {
            assert_eq!(Run::from(mlsearch_in(dir.path(), &index_args(d, i))).code, 0);
        }
        let mut args = index_args(d, i);
        if trial >= 2 {
            args.push("--rebuild");
        }
        let spawn = || {
            Command::new(env!("CARGO_BIN_EXE_mlsearch"))
                .args(&args)
                .env_remove("MLSEARCH_INDEX")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let runs = [
            Run::from(a.wait_with_output().unwrap()),
            Run::from(b.wait_with_output().unwrap()),
        ];
        for run in &runs {
            // 0: it wrote (or found nothing to do after the other); 3: it found the lock.
            assert!(run.code == 0 || run.code == 3, "trial {trial}: {run:?}");
            if run.code == 3 {
                assert!(run.stderr.contains("writer.lock"), "{run:?}");
            }
        }
        assert!(runs.iter().any(|r| r.code == 0), "trial {trial}: nobody wrote");
        let info = Run::from(mlsearch_in(dir.path(), &["info", "--index", i, "--json", "--verify"]));
        assert_eq!(info.code, 0, "trial {trial}: {info:?}");
        let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
        assert_eq!(info["passages"], 300, "trial {trial}");
    }
}

#[test]
fn queries_during_commits_never_fail() {
    let dir = tempfile::tempdir().unwrap();
    let (docs, index) = (dir.path().join("docs"), dir.path().join("idx"));
    corpus(&docs, 40);
    let tiny = tiny_model();
    let (d, i, m) = (docs.to_str().unwrap(), index.to_str().unwrap(), tiny.to_str().unwrap());
    let index_run: Vec<String> = ["index", d, "--index", i, "--model", m].map(String::from).to_vec();
    assert_eq!(
        Run::from(mlsearch_in(dir.path(), &["index", d, "--index", i, "--model", m])).code,
        0
    );
    // A writer that commits again and again (each run changes a file, so each commits
    // new BM25 segments and a new vector file), while queries open the index.
    let writer_docs = docs.clone();
    let writer_dir = dir.path().to_path_buf();
    let stop_at = Instant::now() + Duration::from_secs(20);
    let writer = std::thread::spawn(move || {
        let mut commits = 0;
        while Instant::now() < stop_at && commits < 40 {
            let text = format!("Brot Nummer {commits} wird heute früh gebacken und verkauft.");
            std::fs::write(writer_docs.join(format!("new{}.txt", commits % 3)), text).unwrap();
            let args: Vec<&str> = index_run.iter().map(String::as_str).collect();
            let run = Run::from(mlsearch_in(&writer_dir, &args));
            assert_eq!(run.code, 0, "{run:?}");
            commits += 1;
        }
        commits
    });
    let mut queries = 0;
    while !writer.is_finished() {
        let run = Run::from(mlsearch_in(
            dir.path(),
            &[
                "query",
                "Bäcker Brot",
                "--index",
                i,
                "--model",
                m,
                "--mode",
                "hybrid",
                "--json",
            ],
        ));
        assert_eq!(run.code, 0, "query {queries} during commits: {run:?}");
        queries += 1;
    }
    let commits = writer.join().unwrap();
    assert!(commits >= 3 && queries >= 3, "{commits} commits, {queries} queries");
    eprintln!("{commits} commits, {queries} queries");
}

#[test]
fn info_verify_finds_damage_that_opening_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let (docs, index) = (dir.path().join("docs"), dir.path().join("idx"));
    corpus(&docs, 30);
    let (d, i) = (docs.to_str().unwrap(), index.to_str().unwrap());
    assert_eq!(Run::from(mlsearch_in(dir.path(), &index_args(d, i))).code, 0);
    let verified = Run::from(mlsearch_in(dir.path(), &["info", "--index", i, "--verify"]));
    assert_eq!(verified.code, 0, "{verified:?}");
    // Flip one byte in the middle of the largest BM25 file.
    let largest = walkdir::WalkDir::new(index.join("bm25"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && !e.file_name().to_string_lossy().ends_with(".json"))
        .max_by_key(|e| e.metadata().unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(largest.path()).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(largest.path(), &bytes).unwrap();
    let damaged = Run::from(mlsearch_in(dir.path(), &["info", "--index", i, "--verify"]));
    assert_eq!(damaged.code, 3, "{damaged:?}");
    assert!(damaged.stderr.contains("checksum"), "{damaged:?}");
}

#[test]
fn a_model_file_with_a_corrupt_layer_count_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(tiny_model()).unwrap();
    // Offset 12: the layer count of an E5S1 header.
    bytes[12..16].copy_from_slice(&0x7fff_ffffi32.to_le_bytes());
    let bad = dir.path().join("bad.e5s1.bin");
    std::fs::write(&bad, &bytes).unwrap();
    let started = Instant::now();
    let run = Run::from(mlsearch_in(dir.path(), &["embed", "--model", bad.to_str().unwrap()]));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("bad.e5s1.bin") && run.stderr.contains("layers"),
        "{run:?}"
    );
}

/// Kills `index` runs at random moments (`kill -9`): after each, the index answers, every
/// byte checks out, and a new run completes with every passage.
fn kill_trials(trials: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (docs, index) = (dir.path().join("docs"), dir.path().join("idx"));
    corpus(&docs, 400);
    let tiny = tiny_model();
    let (d, i, m) = (docs.to_str().unwrap(), index.to_str().unwrap(), tiny.to_str().unwrap());
    assert_eq!(
        Run::from(mlsearch_in(dir.path(), &["index", d, "--index", i, "--model", m])).code,
        0
    );
    // Change a tenth of the files, so the run has work to interrupt.
    let change = |seed: u64, trial: usize| {
        for f in 0..40 {
            let n = (seed as usize + f * 7) % 400;
            std::fs::write(
                docs.join(format!("f{n:04}.txt")),
                format!("Geändert {trial} {f}: Brot und Teig."),
            )
            .unwrap();
        }
    };
    // Kill moments spread over the time of one such update run, timed here: a release
    // build finishes it far sooner than a debug build, and far sooner than the first full
    // run, and either must be caught mid-run.
    change(1, usize::MAX);
    let update = std::time::Instant::now();
    assert_eq!(
        Run::from(mlsearch_in(dir.path(), &["index", d, "--index", i, "--model", m])).code,
        0
    );
    let window_ms = (update.elapsed().as_millis() as u64).clamp(5, 400);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut killed = 0;
    for trial in 0..trials {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        change(seed, trial);
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
            .args(["index", d, "--index", i, "--model", m])
            .env_remove("MLSEARCH_INDEX")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(seed % window_ms));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let info = Run::from(mlsearch_in(dir.path(), &["info", "--index", i, "--verify"]));
        assert_eq!(info.code, 0, "trial {trial}: {info:?}");
        let query = Run::from(mlsearch_in(
            dir.path(),
            &["query", "Brot Teig", "--index", i, "--model", m, "--json"],
        ));
        assert_eq!(query.code, 0, "trial {trial}: {query:?}");
    }
    eprintln!("{trials} trials, {killed} runs killed before they finished");
    assert!(killed > 0, "no run was interrupted");
    assert_eq!(
        Run::from(mlsearch_in(dir.path(), &["index", d, "--index", i, "--model", m])).code,
        0
    );
    let info = Run::from(mlsearch_in(dir.path(), &["info", "--index", i, "--json", "--verify"]));
    let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
    assert_eq!(info["passages"], 400);
}

#[test]
fn runs_killed_at_random_moments_leave_a_whole_index() {
    kill_trials(3);
}

#[test]
#[ignore = "many kill -9 trials: a minute or more"]
fn many_runs_killed_at_random_moments_leave_a_whole_index() {
    kill_trials(
        std::env::var("MLSEARCH_KILL_TRIALS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50),
    );
}

/// An index folder whose name is not UTF-8 is an ordinary index: indexed with vectors,
/// queried in hybrid mode, verified.
#[cfg(unix)]
#[test]
fn an_index_whose_path_is_not_utf8_works() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    corpus(&docs, 6);
    let index = dir.path().join(OsStr::from_bytes(b"index-\xff\xfe"));
    let tiny = tiny_model();
    let run = |args: &[&OsStr]| {
        Run::from(
            Command::new(env!("CARGO_BIN_EXE_mlsearch"))
                .args(args)
                .current_dir(dir.path())
                .env_remove("MLSEARCH_INDEX")
                .output()
                .unwrap(),
        )
    };
    let (d, i, m) = (docs.as_os_str(), index.as_os_str(), tiny.as_os_str());
    let os = OsStr::new;
    let indexed = run(&[os("index"), d, os("--index"), i, os("--model"), m]);
    assert_eq!(indexed.code, 0, "{indexed:?}");
    let query = run(&[
        os("query"),
        os("Bäcker Brot"),
        os("--index"),
        i,
        os("--model"),
        m,
        os("--mode"),
        os("hybrid"),
        os("--json"),
    ]);
    assert_eq!(query.code, 0, "{query:?}");
    assert!(query.stdout.contains("f0001.txt"), "{query:?}");
    let verified = run(&[os("info"), os("--index"), i, os("--verify")]);
    assert_eq!(verified.code, 0, "{verified:?}");
}
