//! Helpers for driving the built `mlsearch` binary against temporary folders.

pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the fixture corpus.
pub fn fixture_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

/// The tiny random model of `fixtures/models` (scripts/make_tiny_model.py).
pub fn tiny_model() -> PathBuf {
    fixture("models/tiny.e5s1.bin")
}

/// Whether this build has the built-in model (CI must: MLSEARCH_REQUIRE_BUILTIN).
pub fn builtin_available() -> bool {
    let probe: Run = std::process::Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args(["embed", "--token-ids"])
        .env_remove("MLSEARCH_MODEL")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into();
    if probe.code != 0 && probe.stderr.contains("without a built-in model") {
        assert!(
            std::env::var_os("MLSEARCH_REQUIRE_BUILTIN").is_none(),
            "CI must build with the model"
        );
        eprintln!("skipped: this build has no built-in model (scripts/fetch-model.sh)");
        return false;
    }
    true
}

/// Path of a file under `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// Runs `mlsearch` with `args` in `cwd`, without any MLSEARCH_INDEX from the caller.
pub fn mlsearch_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args(args)
        .current_dir(cwd)
        .env_remove("MLSEARCH_INDEX")
        .output()
        .expect("the mlsearch binary runs")
}

/// A finished run's code, stdout and stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().expect("exited, not killed"),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A temporary workspace holding an index (and, optionally, a corpus copy).
pub struct Workspace {
    pub dir: tempfile::TempDir,
    /// Whether `index` embeds passages; BM25 tests leave it off (`--no-vectors`): fast.
    pub vectors: bool,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
            vectors: false,
        }
    }

    /// A workspace whose `index` runs embed passages with the built-in model.
    pub fn with_vectors() -> Workspace {
        Workspace {
            vectors: true,
            ..Workspace::new()
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn index(&self) -> PathBuf {
        self.path().join("index")
    }

    /// Runs mlsearch in the workspace, with `--index <workspace>/index` appended.
    pub fn run(&self, args: &[&str]) -> Run {
        let index = self.index();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--index", index.to_str().expect("utf-8 temp path")]);
        if args.first() == Some(&"index") && !self.vectors {
            all.push("--no-vectors");
        }
        mlsearch_in(self.path(), &all).into()
    }

    /// Indexes `dir` and asserts success.
    pub fn index_ok(&self, dir: &Path) -> Run {
        let run = self.run(&["index", dir.to_str().expect("utf-8 path")]);
        assert_eq!(run.code, 0, "{run:?}");
        run
    }

    /// A query's JSON hits.
    pub fn hits(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["query", "--json"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        assert!(run.code == 0 || run.code == 1, "{run:?}");
        run.stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk fixtures");
        let target = to.join(entry.path().strip_prefix(from).expect("inside"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
