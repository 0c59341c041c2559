//! `mlsearch watch`: the real binary on a real folder, with `mlsearch serve` reading the
//! commits as they land.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::util::server::Server;
use crate::util::Workspace;

/// A running `mlsearch watch`, its stdout and stderr lines on channels.
struct Watch {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Watch {
    fn start(dir: &Path, index: &Path) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
            .args([
                "watch",
                dir.to_str().unwrap(),
                "--index",
                index.to_str().unwrap(),
                "--no-vectors",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mlsearch watch starts");
        let lines = |stream: Box<dyn std::io::Read + Send>| {
            let (sender, receiver) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = sender.send(line);
                }
            });
            receiver
        };
        let stdout = lines(Box::new(child.stdout.take().unwrap()));
        let stderr = lines(Box::new(child.stderr.take().unwrap()));
        Watch { child, stdout, stderr }
    }

    /// The next line of `stream` that contains `text`, within 30 s.
    fn wait_for(stream: &mpsc::Receiver<String>, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match stream.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no line with {text:?} within 30 s");
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `done` every 20 ms for up to 30 s.
fn eventually(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if done() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("not within 30 s: {what}");
}

#[test]
fn watch_keeps_the_index_current_through_bursts_renames_and_a_vanishing_folder() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    fs::write(corpus.join("otters.txt"), "Otters hold hands while they sleep.").unwrap();
    let watch = Watch::start(&corpus, &ws.index());
    Watch::wait_for(&watch.stdout, "indexed: 1 files");
    let server = Server::start(&ws.index(), &[]);
    let search = |q: &str| {
        let (status, body) = server.get(&format!("/search?q={q}&mode=bm25&k=1"));
        assert_eq!(status, 200, "{body}");
        body["hits"].as_array().cloned().unwrap_or_default()
    };
    let total = |server: &Server| server.get("/stats").1["passages"].as_u64().unwrap_or(0);
    assert_eq!(search("otters").len(), 1);

    // A new file is found through the running server.
    fs::write(
        corpus.join("walrus.txt"),
        "Walruses climb onto the ice with their tusks.",
    )
    .unwrap();
    eventually("walrus.txt searchable", || search("walruses").len() == 1);

    // A burst of 1,000 new files, some renamed and deleted while it goes on.
    fs::create_dir_all(corpus.join("burst")).unwrap();
    for i in 0..1000 {
        fs::write(
            corpus.join(format!("burst/note{i:04}.txt")),
            format!("Note number word{i:04} of the burst."),
        )
        .unwrap();
        if i % 100 == 50 {
            fs::rename(
                corpus.join(format!("burst/note{:04}.txt", i - 1)),
                corpus.join(format!("burst/moved{i:04}.txt")),
            )
            .unwrap();
            fs::remove_file(corpus.join(format!("burst/note{:04}.txt", i - 2))).unwrap();
        }
    }
    eventually("the burst indexed", || total(&server) == 2 + 1000 - 10);
    assert_eq!(search("word0999").len(), 1);
    assert_eq!(search("word0049")[0]["file"], "burst/moved0050.txt");
    assert!(search("word0048").is_empty());

    // The folder goes away: the index keeps what it had, and the watch resumes when it is
    // back; then the folder's new content replaces the old.
    let aside = ws.path().join("aside");
    fs::rename(&corpus, &aside).unwrap();
    Watch::wait_for(&watch.stderr, "folder gone");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(search("otters").len(), 1, "nothing removed while the folder is gone");
    fs::create_dir_all(&corpus).unwrap();
    fs::write(corpus.join("narwhal.txt"), "Narwhals are toothed whales of the Arctic.").unwrap();
    Watch::wait_for(&watch.stderr, "watching again");
    eventually("narwhal.txt searchable", || search("narwhals").len() == 1);
    eventually("the old files removed", || total(&server) == 1);

    // Ctrl-C stops it cleanly.
    let mut watch = watch;
    let pid = watch.child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = watch.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    Watch::wait_for(&watch.stderr, "stopped");
}
