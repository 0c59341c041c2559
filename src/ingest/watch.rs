//! Keeping an index current while its folder changes (`mlsearch watch`).
//!
//! File system events (the `notify` crate: inotify, FSEvents, ReadDirectoryChangesW) only
//! say *that* something changed; what changed is found by an ordinary incremental run of
//! [`index_folder`], which walks the folder and skips files whose size and modification
//! time are those it recorded. So renames, deletions, a burst of thousands of changes, an
//! overflowing event queue or a changed `.gitignore` need no special handling: each is
//! one more run. Events are debounced (a run starts once the folder has been quiet for
//! [`WatchOptions::debounce`], or [`WatchOptions::max_delay`] after the first change, so a
//! steady stream of changes is still committed), and changes during a run start the next.
//!
//! The folder may go away: the index is left as it is (nothing is removed), and watching
//! starts again when the folder is back. Another writer holding the index's lock makes a
//! run wait and retry. Readers (`mlsearch serve`, queries) see each commit as it lands.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::{absolute, index_folder, IndexOptions, IndexReport, Progress};
use crate::error::{Error, Result};

/// When a run starts after changes.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Quiet time after the last change.
    pub debounce: Duration,
    /// Longest wait after the first change, however busy the folder.
    pub max_delay: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// What the watcher reports.
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// A run finished (the first one, or one after changes).
    Indexed {
        /// What it did.
        report: &'a IndexReport,
        /// From the first change it took in to its commit (zero for the first run).
        latency: Duration,
    },
    /// Watching paused: the folder is gone, or another run holds the index.
    Waiting(String),
    /// Watching again after a pause.
    Resumed,
    /// A file skipped or repaired during a run (as `index` reports them).
    Warning(String),
}

/// How often a paused watcher looks again, and an idle one checks `stop`.
const POLL: Duration = Duration::from_millis(250);

/// Indexes `root` into `index_dir`, then again after every change, until `stop` is set.
/// Returns the first error that another run would not cure (a damaged index, a refused
/// setting).
pub fn watch(
    root: &Path,
    index_dir: &Path,
    options: &IndexOptions,
    timing: &WatchOptions,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(WatchEvent),
) -> Result<()> {
    let index_dir = absolute(index_dir);
    let (sender, events) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher: Option<notify::RecommendedWatcher> = None;
    let mut paused = false;
    // The first run takes in whatever changed while nobody watched.
    let mut changed_since: Option<Instant> = Some(Instant::now());
    let mut first_run = true;
    let mut run_options = options.clone();
    while !stop.load(Ordering::Relaxed) {
        if watcher.is_none() {
            match start_watching(root, sender.clone()) {
                Ok(w) => {
                    watcher = Some(w);
                    if paused {
                        paused = false;
                        on_event(WatchEvent::Resumed);
                    }
                    // Whatever happened while it was not watched.
                    changed_since.get_or_insert_with(Instant::now);
                }
                Err(reason) => {
                    if !paused {
                        paused = true;
                        on_event(WatchEvent::Waiting(reason));
                    }
                    std::thread::sleep(POLL);
                    continue;
                }
            }
        }
        let Some(first_change) = changed_since else {
            match events.recv_timeout(POLL) {
                Ok(event) if relevant(&event, root, &index_dir, options.walk.hidden) => {
                    changed_since = Some(Instant::now());
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if !root.is_dir() {
                        watcher = None;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => watcher = None,
            }
            continue;
        };
        settle(
            &events,
            first_change,
            timing,
            stop,
            root,
            &index_dir,
            options.walk.hidden,
        );
        run_options.rebuild = options.rebuild && first_run;
        let report = index_folder(root, &index_dir, &run_options, &mut |progress| {
            if let Progress::Warning(message) = progress {
                on_event(WatchEvent::Warning(message));
            }
        });
        match report {
            Ok(report) => {
                let latency = if first_run {
                    Duration::ZERO
                } else {
                    first_change.elapsed()
                };
                first_run = false;
                changed_since = None;
                on_event(WatchEvent::Indexed {
                    report: &report,
                    latency,
                });
            }
            Err(Error::Locked { path, holder }) => {
                if !paused {
                    paused = true;
                    on_event(WatchEvent::Waiting(format!(
                        "{} is held by {holder}; retrying",
                        path.display()
                    )));
                }
                std::thread::sleep(POLL);
            }
            Err(e) if !root.is_dir() => {
                // The folder went away during the run: nothing was committed.
                watcher = None;
                paused = true;
                let _ = e;
                on_event(WatchEvent::Waiting(format!(
                    "{}: folder gone; waiting for it",
                    root.display()
                )));
            }
            Err(e) => return Err(e),
        }
        if paused && watcher.is_some() && changed_since.is_none() {
            paused = false;
            on_event(WatchEvent::Resumed);
        }
    }
    Ok(())
}

fn start_watching(
    root: &Path,
    sender: mpsc::Sender<notify::Result<notify::Event>>,
) -> std::result::Result<notify::RecommendedWatcher, String> {
    if !root.is_dir() {
        return Err(format!("{}: folder gone; waiting for it", root.display()));
    }
    let mut watcher = notify::recommended_watcher(sender).map_err(|e| format!("cannot watch: {e}"))?;
    watcher
        .watch(root, RecursiveMode::Recursive)
        .map_err(|e| format!("{}: cannot watch: {e}", root.display()))?;
    Ok(watcher)
}

/// Waits until the folder has been quiet for `debounce`, or `max_delay` after the first
/// change.
fn settle(
    events: &mpsc::Receiver<notify::Result<notify::Event>>,
    first_change: Instant,
    timing: &WatchOptions,
    stop: &AtomicBool,
    root: &Path,
    index_dir: &Path,
    hidden: bool,
) {
    let mut last_change = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let quiet_left = timing.debounce.saturating_sub(last_change.elapsed());
        let delay_left = timing.max_delay.saturating_sub(first_change.elapsed());
        let wait = quiet_left.min(delay_left);
        if wait.is_zero() {
            return;
        }
        match events.recv_timeout(wait) {
            Ok(event) if relevant(&event, root, index_dir, hidden) => last_change = Instant::now(),
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// Whether an event may change what is indexed: not reads, not the index's own files, not
/// hidden files (unless taken) other than ignore files. A watcher error (an overflowing
/// queue) may hide anything, so it counts.
fn relevant(event: &notify::Result<notify::Event>, root: &Path, index_dir: &Path, hidden: bool) -> bool {
    let Ok(event) = event else {
        return true;
    };
    if let EventKind::Access(kind) = event.kind {
        if !matches!(kind, notify::event::AccessKind::Close(notify::event::AccessMode::Write)) {
            return false;
        }
    }
    if event.paths.is_empty() {
        return true;
    }
    event.paths.iter().any(|path| {
        if path.starts_with(index_dir) {
            return false;
        }
        if hidden {
            return true;
        }
        let rel = path.strip_prefix(root).unwrap_or(path);
        let has_hidden = |p: &Path| p.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        let name = rel.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let ignore_file = [".gitignore", ".ignore", ".mlsearchignore"].contains(&name.as_ref());
        !has_hidden(rel) || (ignore_file && !rel.parent().is_some_and(has_hidden))
    })
}
