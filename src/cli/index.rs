//! `mlsearch index DIR`: progress on stderr (a bar on a terminal, else a line every 30 s),
//! summary on stdout; an interrupt commits what is embedded and says how to continue.

use std::io::{IsTerminal, Write};
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use mlsearch::engine::EncoderEmbedder;
use mlsearch::ingest::{index_folder, IndexOptions, IndexReport, Progress};
use mlsearch::store::PassageEmbedder;

use super::args::IndexArgs;
use super::EXIT_OK;

/// The encoder an `index` or `watch` run embeds with (none with `--no-vectors`).
pub(super) fn embedder(args: &IndexArgs) -> anyhow::Result<Option<EncoderEmbedder>> {
    if args.no_vectors {
        return Ok(None);
    }
    // An incremental run keeps the precision of the vectors already there.
    let recorded = if args.rebuild {
        None
    } else {
        super::embed::recorded_precision(&args.location.index)
    };
    let (encoder, identity) = super::embed::load_with_identity(&args.model, recorded)?;
    Ok(Some(EncoderEmbedder { encoder, identity }))
}

/// The library's options for `args`.
pub(super) fn options<'a>(args: &IndexArgs, embedder: Option<&'a EncoderEmbedder>) -> IndexOptions<'a> {
    IndexOptions {
        default_lang: args.default_lang.clone(),
        rebuild: args.rebuild,
        threads: args.threads,
        embedder: embedder.map(|e| e as &dyn PassageEmbedder),
        centre_languages: !args.no_centring,
        bm25_k1: args.bm25.bm25_k1,
        bm25_b: args.bm25.bm25_b,
        max_file_bytes: args.max_filesize,
        walk: args.walk.options(),
        stop: None,
        commit_every: (args.commit_every > 0.0).then(|| Duration::from_secs_f64(args.commit_every)),
    }
}

pub fn run(args: IndexArgs) -> anyhow::Result<u8> {
    let embedder = embedder(&args)?;
    // The first Ctrl-C or SIGTERM stops the run after the window being embedded, and what
    // is embedded is committed; a second one ends the process at once (commits are
    // atomic: nothing committed is lost).
    let stop = Arc::new(AtomicBool::new(false));
    super::stop_on_signals(
        stop.clone(),
        "stopping: finishing the passages being embedded, then committing what is embedded (Ctrl-C again to stop at once)",
    )?;
    let mut options = options(&args, embedder.as_ref());
    options.stop = Some(&stop);
    let bar = super::progress_bar(
        0,
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} ETA {eta}",
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    // Without a terminal, a line every `--progress-every` seconds instead of the bar.
    let state = Arc::new(Mutex::new(Counts::default()));
    let lines = (!std::io::stderr().is_terminal() && !args.quiet).then(|| {
        ProgressLines::start(
            state.clone(),
            Duration::from_secs_f64(args.progress_every.max(0.01)),
            embedder.is_some(),
        )
    });
    let mut warnings = 0usize;
    let (mut done_bytes, mut total_bytes) = (0u64, 0u64);
    let started = std::time::Instant::now();
    let mut embedding_started: Option<std::time::Instant> = None;
    let mut embedding_from: Option<usize> = None;
    let (mut files_done, mut files_total, mut embedded) = (0usize, 0usize, 0usize);
    let result = index_folder(&args.dir, &args.location.index, &options, &mut |event| {
        state.lock().expect("progress state").update(&event);
        match event {
            Progress::Start { files, bytes } => {
                bar.set_length(files as u64);
                total_bytes = bytes;
                files_total = files;
            }
            Progress::File { bytes, .. } => {
                done_bytes += bytes;
                files_done += 1;
                let rate = done_bytes as f64 / started.elapsed().as_secs_f64().max(1e-3) / 1e6;
                bar.set_message(format!(
                    "files, {:.1}/{:.1} MB, {rate:.1} MB/s, {embedded} passages embedded",
                    done_bytes as f64 / 1e6,
                    total_bytes as f64 / 1e6
                ));
                bar.inc(1);
            }
            Progress::Embedded { done, .. } if files_done < files_total => {
                // Embedding runs beside the reading: the bar still counts files.
                embedded = done;
            }
            Progress::Embedded { done, total } => {
                // Files are read; the bar now counts passages, so its ETA is the embedding's.
                let since = *embedding_started.get_or_insert_with(std::time::Instant::now);
                let from = *embedding_from.get_or_insert(done);
                if bar.length() != Some(total as u64) {
                    bar.set_length(total as u64);
                    bar.reset_eta();
                }
                bar.set_position(done as u64);
                let rate = (done - from.min(done)) as f64 / since.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("passages embedded, {rate:.0}/s"));
            }
            Progress::Warning(message) => {
                warnings += 1;
                bar.suspend(|| eprintln!("mlsearch: warning: {message}"));
            }
            Progress::Committed {
                files,
                passages,
                seconds,
                ..
            } if !args.quiet => {
                bar.suspend(|| {
                    eprintln!(
                        "mlsearch: committed: {files} files, {passages} passages are searchable now \
                         (a {seconds:.1} s commit); indexing goes on"
                    )
                });
            }
            Progress::Committed { .. } => {}
        }
    });
    drop(lines);
    bar.finish_and_clear();
    let report = result.with_context(|| format!("indexing {}", args.dir.display()))?;

    let mut out = std::io::stdout().lock();
    // An interrupted run that committed nothing has no summary to give: the index is as it was.
    if report.committed || !report.interrupted {
        write_summary(&mut out, &report, warnings, "")?;
    }
    if report.interrupted {
        out.flush()?;
        eprintln!("mlsearch: {}", interrupted_message(&report));
        eprintln!("mlsearch: to continue: {}", continue_command());
        return Ok(super::EXIT_INTERRUPTED);
    }
    Ok(EXIT_OK)
}

/// What an interrupted run left: what is searchable now and what is not indexed yet.
fn interrupted_message(report: &IndexReport) -> String {
    let searchable = if report.committed {
        format!(
            "interrupted; committed: {} files, {} passages are searchable now",
            report.files, report.passages
        )
    } else {
        "interrupted before a file was embedded whole: nothing committed, the index is as it was".to_string()
    };
    let left = match report.not_reached {
        1 => "1 file is".to_string(),
        n => format!("{n} files are"),
    };
    format!("{searchable}; {left} left to index")
}

/// This command line, as the shell would take it again, without `--rebuild` (the next
/// run continues; it must not start over).
fn continue_command() -> String {
    std::env::args_os()
        .enumerate()
        .filter(|(_, a)| a != "--rebuild")
        .map(|(i, a)| {
            let a = a.to_string_lossy();
            let a = if i == 0 {
                std::borrow::Cow::Borrowed("mlsearch")
            } else {
                a
            };
            let plain = !a.is_empty() && a.chars().all(|c| c.is_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a.into_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the progress lines say: counts from the run's events.
#[derive(Default)]
struct Counts {
    files: usize,
    files_done: usize,
    bytes: u64,
    bytes_done: u64,
    /// Passages read (queued for embedding).
    passages: usize,
    embedded: usize,
}

impl Counts {
    fn update(&mut self, event: &Progress) {
        match *event {
            Progress::Start { files, bytes } => (self.files, self.bytes) = (files, bytes),
            Progress::File { bytes, passages, .. } => {
                self.files_done += 1;
                self.bytes_done += bytes;
                self.passages += passages;
            }
            Progress::Embedded { done, total } => {
                self.embedded = done;
                self.passages = self.passages.max(total);
            }
            Progress::Warning(_) | Progress::Committed { .. } => {}
        }
    }

    /// `files 120/800, 1.2/9.6 MB, passages 4000 read, 1500 embedded (14.2 passages/s),
    /// ETA 9 min` (`started`: when the files were found).
    fn line(&self, started: Instant, embedding: bool) -> String {
        let elapsed = started.elapsed().as_secs_f64();
        let mut line = format!(
            "files {}/{}, {:.1}/{:.1} MB, passages {} read",
            self.files_done,
            self.files,
            self.bytes_done as f64 / 1e6,
            self.bytes as f64 / 1e6,
            self.passages
        );
        // Remaining work in passages: the passages still to come are estimated from the
        // bytes still to read.
        let share_read = self.bytes_done as f64 / (self.bytes as f64).max(1.0);
        let expected = if self.files_done >= self.files || share_read <= 0.0 {
            self.passages as f64
        } else {
            self.passages as f64 / share_read.min(1.0)
        };
        let eta = if embedding {
            // Embedding starts with the first window and is the slow part: the run's mean.
            let rate = self.embedded as f64 / elapsed.max(1e-3);
            line += &format!(", {} embedded ({rate:.1} passages/s)", self.embedded);
            (rate > 0.0).then(|| (expected - self.embedded as f64).max(0.0) / rate)
        } else {
            let rate = self.passages as f64 / elapsed.max(1e-3);
            line += &format!(" ({rate:.1} passages/s)");
            (share_read > 0.0).then(|| elapsed / share_read.min(1.0) - elapsed)
        };
        line += &match eta {
            Some(seconds) => format!(", ETA {}", duration(seconds)),
            None => ", ETA unknown yet".to_string(),
        };
        line
    }
}

/// `45 s`, `12 min`, `3 h 05 min`.
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=89 => format!("{s} s"),
        90..=5399 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600 + 30) / 60),
    }
}

/// A thread that prints a progress line every interval (stderr not a terminal); it stops
/// when dropped.
struct ProgressLines {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressLines {
    fn start(state: Arc<Mutex<Counts>>, every: Duration, embedding: bool) -> ProgressLines {
        let (stop, stopped) = mpsc::channel::<()>();
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let line = state.lock().expect("progress state").line(started, embedding);
                eprintln!("mlsearch: {line}");
            }
        });
        ProgressLines {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for ProgressLines {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The two summary lines of a run (`after`: appended to the second).
pub(super) fn write_summary(
    out: &mut impl Write,
    report: &IndexReport,
    warnings: usize,
    after: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "files: {} added, {} updated, {} removed, {} unchanged, {} skipped{}",
        report.added,
        report.updated,
        report.removed,
        report.unchanged,
        report.skipped,
        left_out(report),
    )?;
    let languages: Vec<String> = report.languages.iter().map(|(l, n)| format!("{l} {n}")).collect();
    writeln!(
        out,
        "{}: {} files, {} passages in {} languages ({}) in {:.2} s{}{after}",
        if report.committed { "indexed" } else { "up to date" },
        report.files,
        report.passages,
        report.languages.len(),
        languages.join(", "),
        report.seconds,
        if warnings > 0 {
            format!("; {warnings} warnings above")
        } else {
            String::new()
        },
    )
}

/// ` (12 of other types; ignored: .gitignore 2 folders + 30 files, hidden 4 files)`, or
/// nothing when no file was left out.
fn left_out(report: &IndexReport) -> String {
    let mut parts = Vec::new();
    if report.json_without_documents > 0 {
        let n = report.json_without_documents;
        parts.push(format!(
            "{n} JSON file{} without documents",
            if n == 1 { "" } else { "s" }
        ));
    }
    if report.unsupported > 0 {
        parts.push(format!("{} of other types", report.unsupported));
    }
    let rules: Vec<String> = report
        .ignored
        .iter()
        .map(|(rule, n)| {
            let mut count = Vec::new();
            if n.folders > 0 {
                count.push(format!("{} folder{}", n.folders, if n.folders == 1 { "" } else { "s" }));
            }
            if n.files > 0 {
                count.push(format!("{} file{}", n.files, if n.files == 1 { "" } else { "s" }));
            }
            format!("{} {}", rule.name(), count.join(" + "))
        })
        .collect();
    if !rules.is_empty() {
        parts.push(format!("ignored: {}", rules.join(", ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}
