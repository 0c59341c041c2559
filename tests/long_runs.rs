//! A long `index` run as a user lives it (issue 29): progress lines when stderr is not a
//! terminal, an interrupt (a real SIGINT to the real process) that commits what is
//! embedded and says how to continue, a second one that stops at once, and JSON files that
//! are not documents counted rather than warned about.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::util::{tiny_model, Run, Workspace};

/// `files` text files of 8 passages of 120 words each (paragraphs long enough to stay
/// apart), every file with its own word `markNNN`.
fn corpus(dir: &Path, files: usize) -> PathBuf {
    let corpus = dir.join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    let words = [
        "river", "mill", "baker", "bread", "flour", "wheat", "harbour", "boat", "herring", "dawn", "garden", "apple",
        "cherry", "spring", "winter", "comet", "star", "night", "lamp", "road", "town", "castle", "song", "stone",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for f in 0..files {
        let paragraphs: Vec<String> = (0..8)
            .map(|p| {
                let text: Vec<&str> = (0..120)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        words[(state % words.len() as u64) as usize]
                    })
                    .collect();
                format!("mark{f:03} part {p} {}", text.join(" "))
            })
            .collect();
        fs::write(corpus.join(format!("note{f:03}.txt")), paragraphs.join("\n\n")).unwrap();
    }
    corpus
}

/// A running `mlsearch index` with its stderr lines on a channel.
struct Indexing {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Indexing {
    fn start(ws: &Workspace, args: &[&str]) -> Indexing {
        let tiny = tiny_model();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
            .args(args)
            .args([
                "--index",
                ws.index().to_str().unwrap(),
                "--model",
                tiny.to_str().unwrap(),
            ])
            .current_dir(ws.path())
            .env_remove("MLSEARCH_INDEX")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Indexing {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Waits for a progress line saying some passages are embedded; false if the run ended
    /// first.
    fn wait_for_embedded(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(120);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            let embedded = line
                .split(", ")
                .find_map(|part| part.strip_suffix(" passages/s)"))
                .and_then(|part| part.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok());
            self.stderr.push(line);
            if embedded.is_some_and(|n| n > 0) {
                return true;
            }
        }
        false
    }

    fn interrupt(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    }

    fn finish(mut self) -> Run {
        let mut stdout = String::new();
        std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        let status = self.child.wait().unwrap();
        self.stderr.extend(self.lines.iter());
        Run {
            code: status.code().expect("exited, not killed"),
            stdout,
            stderr: self.stderr.join("\n") + "\n",
        }
    }
}

/// `passages` and vector count of the index, from `info --json`.
fn counts(ws: &Workspace) -> (u64, u64, u64) {
    let run = ws.run(&["info", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let info: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    (
        info["files"].as_u64().unwrap(),
        info["passages"].as_u64().unwrap(),
        info["vectors"]["count"].as_u64().unwrap(),
    )
}

#[test]
fn issue_29_an_interrupt_commits_what_is_embedded_and_says_how_to_continue() {
    let ws = Workspace::new();
    let corpus = corpus(ws.path(), 300);
    let mut run = Indexing::start(&ws, &["index", corpus.to_str().unwrap(), "--progress-every", "0.05"]);
    assert!(run.wait_for_embedded(), "the run ended before a window was embedded");
    run.interrupt();
    let run = run.finish();
    assert_eq!(run.code, 130, "{run:?}");
    assert!(run.stderr.contains("mlsearch: stopping: finishing"), "{run:?}");
    let committed = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("mlsearch: interrupted; committed: "))
        .unwrap_or_else(|| panic!("no commit reported: {run:?}"));
    let files: u64 = committed.split(' ').next().unwrap().parse().unwrap();
    assert!(0 < files && files < 300, "{run:?}");
    assert!(
        committed.ends_with(&format!("are searchable now; {} files are left to index", 300 - files)),
        "{run:?}"
    );
    // What is committed is whole: every passage of a committed file has its vector.
    assert_eq!(counts(&ws), (files, files * 8, files * 8), "{run:?}");
    assert_eq!(ws.hits(&["mark000", "--mode", "bm25"])[0]["file"], "note000.txt");
    assert!(ws.hits(&["mark299", "--mode", "bm25"]).is_empty());

    // The command it prints continues the run.
    let again = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("mlsearch: to continue: mlsearch "))
        .unwrap_or_else(|| panic!("no command to continue: {run:?}"));
    assert!(again.starts_with("index ") && !again.contains("--rebuild"), "{again}");
    let args: Vec<&str> = again.split(' ').collect();
    let done: Run = crate::util::mlsearch_in(ws.path(), &args).into();
    assert_eq!(done.code, 0, "{done:?}");
    assert!(
        done.stdout.starts_with(&format!(
            "files: {} added, 0 updated, 0 removed, {files} unchanged",
            300 - files
        )),
        "{done:?}"
    );
    assert_eq!(counts(&ws), (300, 2400, 2400));
    assert_eq!(ws.hits(&["mark299", "--mode", "bm25"])[0]["file"], "note299.txt");
}

/// Issue 29: a long run commits as it goes, and what it committed is searchable (and
/// whole) while it goes on; it ends with everything.
#[test]
fn issue_29_a_long_run_is_searchable_while_it_indexes() {
    let ws = Workspace::new();
    let corpus = corpus(ws.path(), 300);
    let mut run = Indexing::start(&ws, &["index", corpus.to_str().unwrap(), "--commit-every", "0.01"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let committed = loop {
        let line = run
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no progressive commit: {:?}", run.stderr));
        run.stderr.push(line.clone());
        // `mlsearch: committed: 64 files, 512 passages are searchable now (a 0.1 s commit);
        // indexing goes on`
        if let Some(rest) = line.strip_prefix("mlsearch: committed: ") {
            assert!(rest.contains(" passages are searchable now (a "), "{line}");
            assert!(rest.ends_with(" s commit); indexing goes on"), "{line}");
            break rest.split(' ').next().unwrap().parse::<u64>().unwrap();
        }
    };
    assert!(0 < committed && committed < 300, "{:?}", run.stderr);
    // Queried while the run goes on (or just after it ended): the first file is there.
    assert_eq!(ws.hits(&["mark000", "--mode", "bm25"])[0]["file"], "note000.txt");
    let (files, passages, vectors) = counts(&ws);
    assert!(files >= committed && passages == files * 8 && vectors == passages);
    let run = run.finish();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&ws), (300, 2400, 2400));
    let verify = ws.run(&["info", "--verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
    assert_eq!(ws.hits(&["mark299", "--mode", "bm25"])[0]["file"], "note299.txt");
}

#[test]
fn issue_29_a_second_interrupt_stops_at_once_and_loses_nothing_committed() {
    let ws = Workspace::new();
    let corpus = corpus(ws.path(), 300);
    // A first commit of 20 files.
    let first = Indexing::start(
        &ws,
        &[
            "index",
            corpus.to_str().unwrap(),
            "--glob",
            "note00*.txt",
            "--glob",
            "note01*.txt",
        ],
    );
    let first = first.finish();
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(counts(&ws), (20, 160, 160));

    let mut run = Indexing::start(&ws, &["index", corpus.to_str().unwrap(), "--progress-every", "0.05"]);
    assert!(run.wait_for_embedded(), "the run ended before a window was embedded");
    run.interrupt();
    std::thread::sleep(Duration::from_millis(100));
    run.interrupt();
    let run = run.finish();
    assert_eq!(run.code, 130, "{run:?}");
    assert!(run.stderr.contains("mlsearch: stopped at once"), "{run:?}");
    assert!(!run.stderr.contains("committed:"), "{run:?}");
    // The index is its last commit, whole.
    assert_eq!(counts(&ws), (20, 160, 160));
    let verify = ws.run(&["info", "--verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
    assert_eq!(ws.hits(&["mark019", "--mode", "bm25"])[0]["file"], "note019.txt");
}

#[test]
fn issue_29_progress_lines_without_a_terminal_and_quiet_silences_them() {
    let ws = Workspace::new();
    let corpus = corpus(ws.path(), 300);
    let run = ws.run(&[
        "index",
        corpus.to_str().unwrap(),
        "--progress-every",
        "0.01",
        "--rebuild",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("mlsearch: files ") && l.contains("/300, "))
        .unwrap_or_else(|| panic!("no progress line: {run:?}"));
    // `mlsearch: files 120/300, 0.3/0.9 MB, passages 960 read (2400.0 passages/s), ETA 1 s`
    assert!(line.contains(" MB, passages ") && line.contains(" read"), "{line}");
    assert!(line.contains(" passages/s)") && line.contains(", ETA "), "{line}");

    let quiet = ws.run(&[
        "index",
        corpus.to_str().unwrap(),
        "--progress-every",
        "0.01",
        "--rebuild",
        "--quiet",
    ]);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(!quiet.stderr.contains("mlsearch: files "), "{quiet:?}");
    // The default is a line every 30 s: none in a short run.
    let plain = ws.run(&["index", corpus.to_str().unwrap(), "--rebuild"]);
    assert!(!plain.stderr.contains("mlsearch: files "), "{plain:?}");
}

#[test]
fn issue_29_json_files_without_documents_are_counted_not_warned_about() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    fs::create_dir_all(corpus.join("web")).unwrap();
    fs::write(
        corpus.join("otters.txt"),
        "Otters hold hands while they sleep so that they do not drift apart.",
    )
    .unwrap();
    fs::write(
        corpus.join("web/package.json"),
        r#"{"name": "web", "version": "1.0.0", "scripts": {"test": "jest"}, "dependencies": {"react": "^18"}}"#,
    )
    .unwrap();
    fs::write(corpus.join("renovate.json"), r#"{"extends": ["config:base"]}"#).unwrap();
    fs::write(
        corpus.join("web/tsconfig.json"),
        "{\n  // comments: not JSON\n  \"compilerOptions\": {\"strict\": true}\n}\n",
    )
    .unwrap();
    // Looks like documents, fails: still reported.
    fs::write(corpus.join("notes.json"), r#"[{"title": "Beavers", "text": 42}]"#).unwrap();
    let run = ws.index_ok(&corpus);
    assert!(!run.stderr.contains("package.json"), "{run:?}");
    assert!(!run.stderr.contains("renovate.json"), "{run:?}");
    assert!(!run.stderr.contains("tsconfig.json"), "{run:?}");
    assert!(run.stderr.contains("notes.json: skipped: no documents"), "{run:?}");
    assert!(
        run.stdout.starts_with(
            "files: 1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped (3 JSON files without documents)"
        ),
        "{run:?}"
    );
    assert_eq!(ws.hits(&["otters"])[0]["doc"], "otters.txt");
}
