//! Ingestion: a folder's files become an index's passages (walk → read → passages →
//! analysis and embedding → the store's writer). Incremental: new and changed files (by
//! BLAKE3 of their bytes) are read and indexed, passages of deleted files are removed,
//! unchanged files are not read beyond hashing. A file that cannot be read keeps its
//! previous passages.

pub mod embed_cache;
mod embed_stream;
mod progressive;
mod read;
mod shard;
mod watch;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use embed_stream::{embed_windows, Embedded, Pending, Window, WINDOW};
use progressive::CommitClock;
pub use progressive::COMMIT_EVERY;
pub use read::MAX_FILE_BYTES;
use read::{prepare, skip_message, Prepared};
pub use shard::{embed_shard, read_shards, EmbeddedPassage, Shard, ShardReport};
pub use watch::{watch, WatchEvent, WatchOptions};

use crate::analysis::normalize_tag;
use crate::corpus::{discover, IgnoreRule, Ignored, Passage, SourceFile, WalkOptions};
use crate::error::{Error, Result};
use crate::store::{is_api_document, Bm25Params, FileEntry, PassageEmbedder, StoreWriter, VectorSink, WriterOptions};

/// How to index.
#[derive(Clone)]
pub struct IndexOptions<'a> {
    /// Language of passages whose source does not give one (instead of detection).
    pub default_lang: Option<String>,
    /// Drop the existing index and index everything again.
    pub rebuild: bool,
    /// Tantivy indexing threads (0: one per core).
    pub threads: usize,
    /// Embeds passages for the vector index; `None` makes a BM25-only index.
    pub embedder: Option<&'a dyn PassageEmbedder>,
    /// Centre vectors per language (see [`crate::store::vectors::Centring`]); applies to languages
    /// that have no mean yet.
    pub centre_languages: bool,
    /// BM25 k1 to record in the manifest (`None`: keep the index's).
    pub bm25_k1: Option<f32>,
    /// BM25 b to record in the manifest (`None`: keep the index's).
    pub bm25_b: Option<f32>,
    /// Files larger than this are skipped (and a `.gz` file stopped when it inflates past
    /// it), with a message.
    pub max_file_bytes: u64,
    /// Which files of the folder to take (hidden files, ignore files, globs).
    pub walk: WalkOptions,
    /// Set by an interrupt (Ctrl-C): the run reads no further file, finishes the window
    /// being embedded, and commits the files whose passages are all embedded
    /// ([`IndexReport::interrupted`]); the next run indexes the rest.
    pub stop: Option<&'a AtomicBool>,
    /// Commit every so often while the run goes on (the files whose passages are all
    /// embedded), so they are searchable before the run ends; `None`: one commit at the
    /// end. See [`COMMIT_EVERY`] and index-format/commit.md.
    pub commit_every: Option<Duration>,
}

impl Default for IndexOptions<'_> {
    fn default() -> Self {
        IndexOptions {
            default_lang: None,
            rebuild: false,
            threads: 0,
            embedder: None,
            centre_languages: true,
            bm25_k1: None,
            bm25_b: None,
            max_file_bytes: MAX_FILE_BYTES,
            walk: WalkOptions::default(),
            stop: None,
            commit_every: None,
        }
    }
}

/// Folder in the index of the embeddings of a run not yet committed.
const EMBED_CACHE_DIR: &str = "embed-cache";

/// Events for a progress display.
#[derive(Debug)]
pub enum Progress<'a> {
    /// Files found, with their total size.
    Start {
        /// Number of files to look at.
        files: usize,
        /// Their total size in bytes.
        bytes: u64,
    },
    /// One file done.
    File {
        /// Its path relative to the folder.
        rel_path: &'a str,
        /// Its size.
        bytes: u64,
        /// Its passages added by this run (0 when unchanged or skipped).
        passages: usize,
    },
    /// Something the user should know (a skipped file, a repaired one).
    Warning(String),
    /// Passages embedded so far, of all to embed.
    Embedded {
        /// Done.
        done: usize,
        /// To do.
        total: usize,
    },
    /// A progressive commit ([`IndexOptions::commit_every`]): what is searchable now.
    Committed {
        /// The index's generation after it.
        generation: u64,
        /// Files in the index.
        files: usize,
        /// Passages in the index.
        passages: u64,
        /// How long the commit took.
        seconds: f64,
    },
}

/// What an indexing run did.
#[derive(Debug, Default, Clone)]
pub struct IndexReport {
    /// New files indexed.
    pub added: usize,
    /// Changed files re-indexed.
    pub updated: usize,
    /// Files gone from the folder whose passages were removed.
    pub removed: usize,
    /// Files with the same content as last time.
    pub unchanged: usize,
    /// Files that could not be read (reported through [`Progress::Warning`]).
    pub skipped: usize,
    /// Files ignored for their type.
    pub unsupported: usize,
    /// JSON files that hold no documents and name no text field (`package.json`): not
    /// document files, counted here rather than reported one by one.
    pub json_without_documents: usize,
    /// Files and folders left out, by rule (hidden, ignore files, `--glob`).
    pub ignored: BTreeMap<IgnoreRule, Ignored>,
    /// Passages written by this run.
    pub passages_written: u64,
    /// Passages embedded by this run.
    pub passages_embedded: u64,
    /// Files in the index after the run.
    pub files: usize,
    /// Passages in the index after the run.
    pub passages: u64,
    /// Passages per language after the run.
    pub languages: BTreeMap<String, u64>,
    /// Whether a commit was made (false when nothing changed).
    pub committed: bool,
    /// Progressive commits made before the run's last one.
    pub progressive_commits: usize,
    /// The run was stopped ([`IndexOptions::stop`]): what it had embedded is committed
    /// (when anything), the rest is left to the next run.
    pub interrupted: bool,
    /// Files of the folder an interrupted run left to the next one: not read yet, or read
    /// but with passages not embedded yet (a changed one of these is out of the index
    /// until then).
    pub not_reached: usize,
    /// Wall time.
    pub seconds: f64,
}

/// Indexes the folder `root` into the index at `index_dir` (created if absent).
pub fn index_folder(
    root: &Path,
    index_dir: &Path,
    options: &IndexOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<IndexReport> {
    let started = Instant::now();
    let root = root.canonicalize().map_err(|e| Error::io(root, e))?;
    if !root.is_dir() {
        return Err(Error::NothingToIndex {
            path: root,
            reason: "not a folder".into(),
        });
    }
    // The manifest records the folder as JSON text, which must be UTF-8 (the index's own
    // path and the files' names need not be).
    if root.to_str().is_none() {
        return Err(Error::NothingToIndex {
            path: root,
            reason: "its path is not UTF-8 (the names of the files in it may be); index it under another name".into(),
        });
    }
    let default_lang = match &options.default_lang {
        Some(tag) => Some(normalize_tag(tag).ok_or_else(|| Error::InvalidLanguage(tag.clone()))?),
        None => None,
    };
    // Bad BM25 parameters are refused before any work.
    Bm25Params::default()
        .overridden(options.bm25_k1, options.bm25_b)
        .map_err(Error::InvalidSetting)?;
    let mut walk = options.walk.clone();
    walk.exclude.push(absolute(index_dir));
    let found = discover(&root, &walk);
    for error in &found.errors {
        progress(Progress::Warning(format!("skipped: {error}")));
    }
    for name in &found.renamed {
        progress(Progress::Warning(format!(
            "{name}: the file name is not UTF-8; indexed under this name (bytes that are not UTF-8 as \\xNN)"
        )));
    }
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
    } else {
        options.threads
    };
    let mut writer = StoreWriter::open(
        index_dir,
        WriterOptions {
            root: root.clone(),
            rebuild: options.rebuild,
            threads,
            model: options.embedder.map(|e| (e.identity(), e.dim())),
        },
    )?;
    if writer.is_fresh() && found.files.is_empty() {
        writer.abandon();
        let ignored = found.ignored_total();
        let reason = if found.unsupported > 0 || ignored != Ignored::default() {
            format!(
                "no files in a format mlsearch reads ({}); {} files of other types, {} files and {} folders ignored",
                crate::corpus::Format::EXTENSIONS,
                found.unsupported,
                ignored.files,
                ignored.folders
            )
        } else {
            "the folder is empty".to_string()
        };
        return Err(Error::NothingToIndex { path: root, reason });
    }
    let mut report = IndexReport {
        unsupported: found.unsupported,
        ignored: found.ignored.clone(),
        skipped: found.errors.len(),
        ..Default::default()
    };
    let total_bytes = found
        .files
        .iter()
        .filter_map(|f| f.path.metadata().ok())
        .map(|m| m.len())
        .sum();
    progress(Progress::Start {
        files: found.files.len(),
        bytes: total_bytes,
    });
    let cache_dir = index_dir.join(EMBED_CACHE_DIR);
    let embedder = options.embedder.filter(|_| writer.has_vectors());
    let reading = Reading {
        files: &found.files,
        default_lang: default_lang.as_deref(),
        max_bytes: options.max_file_bytes,
        threads,
        embedder,
        cache_dir: &cache_dir,
        stop: options.stop,
        // A rebuild of an index that exists commits once: the old index stays whole and
        // searchable until the new one is.
        commit_every: options.commit_every.filter(|_| !options.rebuild || writer.is_fresh()),
        centre_languages: options.centre_languages,
    };
    let read = reading.run(&mut writer, &mut report, progress)?;
    report.progressive_commits = read.commits;
    let windows = read.windows;
    if read.stopped {
        report.interrupted = true;
        // The files read whose passages were not all embedded were not handed to the
        // writer: they go to the next run, as the files not read.
        report.not_reached = found.files.len() - read.handled + read.left;
        if writer.manifest().files.values().all(|e| e.passages == 0) {
            // Nothing to publish (a new index, or a `--rebuild`, stopped before a file was
            // embedded whole): the index stays as it was, and the embedded windows stay in
            // the cache for the next run.
            report.not_reached += report.added + report.updated;
            (report.added, report.updated, report.passages_written) = (0, 0, 0);
            writer.abandon();
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
    }

    let seen: BTreeSet<&str> = found.files.iter().map(|f| f.rel_path.as_str()).collect();
    let gone: Vec<String> = writer
        .manifest()
        .files
        .keys()
        .filter(|k| !seen.contains(k.as_str()) && !is_api_document(k))
        .cloned()
        .collect();
    for rel_path in gone {
        writer.remove_file(&rel_path)?;
        report.removed += 1;
    }
    if writer.is_fresh() && writer.manifest().files.values().all(|e| e.passages == 0) {
        writer.abandon();
        return Err(Error::NothingToIndex {
            path: root,
            reason: format!("no text in {} files ({} skipped)", found.files.len(), report.skipped),
        });
    }
    if let (true, Some(windows), Some(embedder)) = (writer.has_vectors(), windows, embedder) {
        let mut added = 0;
        writer.add_raw_vectors(
            options.centre_languages,
            &mut run_vectors(&windows, read.added_until, embedder.dim(), &mut added),
        )?;
        report.passages_embedded = added as u64;
    }
    // BM25 parameters are read at query time: a change needs a commit, not a re-index.
    let bm25 = writer
        .manifest()
        .bm25
        .overridden(options.bm25_k1, options.bm25_b)
        .map_err(Error::InvalidSetting)?;
    let bm25_changed = writer.set_bm25(bm25);
    let changed =
        report.added + report.updated + report.removed > 0 || options.rebuild || writer.is_fresh() || bm25_changed;
    // The manifest the commit publishes (or the one in force) is the writer's.
    let manifest = writer.manifest();
    report.files = manifest.files.len();
    report.passages = manifest.passages();
    report.languages = manifest.languages();
    if changed {
        // After progressive commits too: this one learns the means from all the run's
        // vectors (progressive.rs).
        writer.commit()?;
        report.committed = true;
        let _ = fs::remove_dir_all(&cache_dir);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The reading part of a run: files are read, hashed, parsed, split and language-tagged
/// on worker threads, embedded beside (see embed_stream), and handed to the writer in
/// file order, so the index is the same on every run. When embedding, a file goes to the
/// writer only once its passages are all embedded, so whatever the writer holds can be
/// committed (progressively, or when the run is stopped) with every vector.
struct Reading<'a> {
    files: &'a [SourceFile],
    default_lang: Option<&'a str>,
    max_bytes: u64,
    threads: usize,
    /// The encoder, when this run embeds.
    embedder: Option<&'a dyn PassageEmbedder>,
    cache_dir: &'a Path,
    /// Set by an interrupt.
    stop: Option<&'a AtomicBool>,
    /// Progressive commits: how often, and whether they centre vectors.
    commit_every: Option<Duration>,
    centre_languages: bool,
}

/// What [`Reading::run`] did.
struct Read {
    /// The embedded windows (when embedding).
    windows: Option<Vec<Window>>,
    /// Passages (in the run's embedding order) of the files handed to the writer: those
    /// whose vectors the run's last commit adds.
    added_until: usize,
    /// Files handed to the writer or counted (read, unchanged, failed), or read and left
    /// out (`left`).
    handled: usize,
    /// Files read whose passages were not all embedded when the run stopped: not handed
    /// to the writer, left to the next run.
    left: usize,
    /// The run was stopped before the last file was embedded.
    stopped: bool,
    /// Progressive commits made.
    commits: usize,
}

/// A file read whose passages are not all embedded yet.
struct Unembedded {
    rel_path: String,
    known: bool,
    entry: FileEntry,
    passages: Vec<Passage>,
    /// The end of its passages in the run's embedding order.
    end: usize,
}

/// The files a run has read, on their way to the writer, and its progressive commits.
struct Handover {
    /// The key of the run's first passage.
    first_key: u64,
    /// Files read, waiting for their vectors, in order.
    unembedded: VecDeque<Unembedded>,
    /// Windows embedded whole, in order.
    windows: Vec<Window>,
    /// Their vectors' dimension.
    dim: usize,
    /// Passages in `windows`.
    embedded: usize,
    /// Passages of the files handed to the writer.
    added_until: usize,
    /// Files handed to the writer, and how many of them the last commit had.
    added_files: usize,
    committed_files: usize,
    clock: CommitClock,
    commits: usize,
}

impl Handover {
    /// Takes what the embedding thread reports; returns the count of passages embedded,
    /// when it said.
    fn receive(&mut self, event: Embedded) -> Option<usize> {
        match event {
            Embedded::Passages(done) => return Some(done),
            Embedded::Window(window) => {
                self.embedded += window.keys.len();
                self.windows.push(window);
            }
        }
        None
    }

    /// Hands a file to the writer and counts it.
    fn add(
        &mut self,
        writer: &mut StoreWriter,
        report: &mut IndexReport,
        rel_path: &str,
        known: bool,
        entry: FileEntry,
        passages: &[Passage],
    ) -> Result<Vec<u64>> {
        if known {
            report.updated += 1;
        } else {
            report.added += 1;
        }
        report.passages_written += u64::from(entry.passages);
        self.added_files += 1;
        writer.add_file(rel_path, entry, passages)
    }

    /// Hands the files whose passages are all embedded to the writer, in order.
    fn add_embedded(&mut self, writer: &mut StoreWriter, report: &mut IndexReport) -> Result<()> {
        while self.unembedded.front().is_some_and(|f| f.end <= self.embedded) {
            let file = self.unembedded.pop_front().expect("checked above");
            let keys = self.add(writer, report, &file.rel_path, file.known, file.entry, &file.passages)?;
            // The keys the embedding was given (see `Reading::run`).
            let first = self.first_key + (file.end - keys.len()) as u64;
            debug_assert!(keys.iter().copied().eq(first..first + keys.len() as u64));
            self.added_until = file.end;
        }
        Ok(())
    }

    /// Commits what the writer holds when a commit is due and there is something new.
    fn commit_if_due(
        &mut self,
        writer: &mut StoreWriter,
        centre_languages: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()> {
        if self.added_files == self.committed_files || !self.clock.due() {
            return Ok(());
        }
        let started = Instant::now();
        progressive::commit_so_far(
            writer,
            &self.windows,
            self.added_until,
            self.dim,
            centre_languages,
            &mut self.clock,
        )?;
        self.committed_files = self.added_files;
        self.commits += 1;
        let manifest = writer.manifest();
        progress(Progress::Committed {
            generation: manifest.generation,
            files: manifest.files.len(),
            passages: manifest.passages(),
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(())
    }
}

impl Reading<'_> {
    /// Reads every file into `writer` (up to an interrupt), committing as it goes when
    /// asked; returns the embedded windows (when embedding) and what was added.
    fn run(
        &self,
        writer: &mut StoreWriter,
        report: &mut IndexReport,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Read> {
        let previous: HashMap<String, FileEntry> = writer.manifest().files.clone().into_iter().collect();
        // The writer gives keys in order from here, and files reach it in reading order, so
        // a passage's key is known before its file is handed over.
        let first_key = writer.manifest().next_key;
        let next = AtomicUsize::new(0);
        let (sender, receiver) = mpsc::sync_channel::<(usize, Prepared)>(self.threads * 4);
        let mut queued = 0usize;
        let stopped = || self.stop.is_some_and(|s| s.load(Ordering::Relaxed));
        let mut stopping = false;
        let mut expected = 0;
        let mut handover = Handover {
            first_key,
            unembedded: VecDeque::new(),
            windows: Vec::new(),
            dim: self.embedder.map_or(0, |e| e.dim()),
            embedded: 0,
            added_until: 0,
            added_files: 0,
            committed_files: 0,
            clock: CommitClock::new(self.commit_every),
            commits: 0,
        };
        let centre = self.centre_languages;
        std::thread::scope(|scope| -> Result<()> {
            let mut stream = self.embedder.map(|embedder| {
                let (to_embed, windows) = mpsc::sync_channel::<Pending>(1);
                let (done_sender, done) = mpsc::channel::<Embedded>();
                let (cache_dir, stop) = (self.cache_dir, self.stop);
                let thread = scope.spawn(move || embed_windows(embedder, cache_dir, windows, done_sender, stop));
                (to_embed, done, thread, Pending::default())
            });
            for _ in 0..self.threads {
                let (sender, next, previous) = (sender.clone(), &next, &previous);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = self.files.get(i) else { break };
                    let prepared = prepare(file, previous.get(&file.rel_path), self.default_lang, self.max_bytes);
                    if sender.send((i, prepared)).is_err() {
                        break;
                    }
                });
            }
            drop(sender);
            let mut waiting = BTreeMap::new();
            'files: for (i, prepared) in receiver {
                waiting.insert(i, prepared);
                while let Some(prepared) = waiting.remove(&expected) {
                    if stopped() {
                        // The workers stop when the receiver goes.
                        stopping = true;
                        break 'files;
                    }
                    let file = &self.files[expected];
                    expected += 1;
                    let known = previous.contains_key(&file.rel_path);
                    let mut passages_read = 0;
                    let bytes = match prepared {
                        Prepared::Unchanged { bytes } => {
                            report.unchanged += 1;
                            bytes
                        }
                        Prepared::NotDocuments { bytes, .. } if !known => {
                            report.json_without_documents += 1;
                            bytes
                        }
                        // A file that held documents before is reported as any failure.
                        Prepared::Failed { reason, bytes } | Prepared::NotDocuments { reason, bytes } => {
                            report.skipped += 1;
                            progress(Progress::Warning(skip_message(&file.rel_path, &reason, known)));
                            bytes
                        }
                        Prepared::Read {
                            entry,
                            passages,
                            warnings,
                        } => {
                            for warning in &warnings {
                                progress(Progress::Warning(format!("{}: {warning}", file.rel_path)));
                            }
                            let bytes = entry.bytes;
                            passages_read = passages.len();
                            match stream.as_mut() {
                                // BM25 only: the file goes to the writer at once.
                                None => {
                                    handover.add(writer, report, &file.rel_path, known, entry, &passages)?;
                                }
                                Some((to_embed, _, _, pending)) => {
                                    for passage in &passages {
                                        pending.keys.push(first_key + queued as u64);
                                        pending.langs.push(passage.lang.clone());
                                        pending.texts.push(passage.embedding_text());
                                        queued += 1;
                                        // A failed send means the embedder stopped on an
                                        // error, which its join below returns.
                                        if pending.len() >= WINDOW && to_embed.send(std::mem::take(pending)).is_err() {
                                            break 'files;
                                        }
                                    }
                                    handover.unembedded.push_back(Unembedded {
                                        rel_path: file.rel_path.clone(),
                                        known,
                                        entry,
                                        passages,
                                        end: queued,
                                    });
                                }
                            }
                            bytes
                        }
                    };
                    progress(Progress::File {
                        rel_path: &file.rel_path,
                        bytes,
                        passages: passages_read,
                    });
                    if let Some((_, done, _, _)) = stream.as_ref() {
                        let events: Vec<Embedded> = done.try_iter().collect();
                        if let Some(done) = events.into_iter().filter_map(|e| handover.receive(e)).last() {
                            progress(Progress::Embedded { done, total: queued });
                        }
                        handover.add_embedded(writer, report)?;
                    }
                    handover.commit_if_due(writer, centre, progress)?;
                }
            }
            let Some((to_embed, done, thread, pending)) = stream else {
                return Ok(());
            };
            // After an interrupt the window being filled is not embedded.
            if !pending.is_empty() && !stopping {
                let _ = to_embed.send(pending);
            }
            drop(to_embed);
            for event in done {
                if let Some(count) = handover.receive(event) {
                    progress(Progress::Embedded {
                        done: count,
                        total: queued,
                    });
                }
                handover.add_embedded(writer, report)?;
                // Once all is embedded the run's last commit comes at once.
                if handover.embedded < queued {
                    handover.commit_if_due(writer, centre, progress)?;
                }
            }
            thread.join().expect("the embedding thread does not panic")
        })?;
        // Files read whose passages were not all embedded (the run was stopped while the
        // last windows were embedded) are left to the next run.
        let left = handover.unembedded.len();
        Ok(Read {
            windows: self.embedder.map(|_| handover.windows),
            added_until: handover.added_until,
            handled: expected,
            left,
            stopped: stopping || left > 0,
            commits: handover.commits,
        })
    }
}

/// The raw vectors of a run's first `limit` passages, one window in memory at a time,
/// for [`StoreWriter::add_raw_vectors`] and [`StoreWriter::commit_progress`]; `added`
/// says how many.
fn run_vectors<'a>(
    windows: &'a [Window],
    limit: usize,
    dim: usize,
    added: &'a mut usize,
) -> impl FnMut(&mut VectorSink<'_>) -> Result<()> + 'a {
    move |sink| {
        *added = 0;
        for window in windows {
            let take = window.keys.len().min(limit - *added);
            if take == 0 {
                break;
            }
            let raw = window.vectors(dim)?;
            for ((key, lang), vector) in window.keys.iter().zip(&window.langs).zip(raw).take(take) {
                sink(*key, lang, vector)?;
            }
            *added += take;
        }
        Ok(())
    }
}

/// `path` made absolute without requiring it to exist (the index may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;
    use crate::encoder::{Encoder, ModelFile};
    use crate::engine::EncoderEmbedder;
    use crate::ingest::embed_stream::CHUNK;
    use crate::store::{ModelIdentity, Store, Vectors, VECTORS_DIR};

    /// The tiny model, failing (as an interrupted run stops) after `fail_after` batches.
    struct Interrupted {
        inner: EncoderEmbedder,
        fail_after: usize,
        batches: AtomicUsize,
        texts: AtomicUsize,
    }

    impl PassageEmbedder for Interrupted {
        fn identity(&self) -> &ModelIdentity {
            self.inner.identity()
        }
        fn dim(&self) -> usize {
            self.inner.dim()
        }
        fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            if self.batches.fetch_add(1, Ordering::SeqCst) >= self.fail_after {
                return Err(Error::io("embedder", std::io::Error::other("interrupted")));
            }
            self.texts.fetch_add(texts.len(), Ordering::SeqCst);
            self.inner.embed_passages(texts)
        }
    }

    fn tiny(fail_after: usize) -> Interrupted {
        let bytes = fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/models/tiny.e5s1.bin")).unwrap();
        Interrupted {
            inner: EncoderEmbedder {
                encoder: Encoder::new(ModelFile::from_bytes(&bytes).unwrap(), &candle_core::Device::Cpu).unwrap(),
                identity: ModelIdentity {
                    name: "tiny".into(),
                    blake3: "00".into(),
                    precision: crate::encoder::Precision::Int8,
                },
            },
            fail_after,
            batches: AtomicUsize::new(0),
            texts: AtomicUsize::new(0),
        }
    }

    fn index_with(corpus: &Path, index: &Path, embedder: &Interrupted) -> Result<IndexReport> {
        let options = IndexOptions {
            embedder: Some(embedder),
            ..Default::default()
        };
        index_folder(corpus, index, &options, &mut |_| {})
    }

    fn stored_vectors(index: &Path) -> Vec<(u64, Vec<f32>)> {
        let store = Store::open(index).unwrap();
        let info = store.manifest.vectors.clone().unwrap();
        let vectors = Vectors::view(&index.join(VECTORS_DIR), &info).unwrap();
        (0..info.count + 10)
            .filter_map(|key| vectors.get(key).unwrap().map(|v| (key, v)))
            .collect()
    }

    #[test]
    fn an_interrupted_embedding_is_continued_not_redone() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        fs::create_dir(&corpus).unwrap();
        // Three windows of the embedding stream (512, 512, 176 passages).
        let records: String = (0..1200)
            .map(|i| {
                let text = format!("passage {i} tells of the river, the mill and the baker number {i}");
                serde_json::json!({"id": format!("d{i}"), "lang": "en", "text": text}).to_string() + "\n"
            })
            .collect();
        fs::write(corpus.join("docs.jsonl"), records).unwrap();

        // Interrupted after five batches (the first window and a part of the second): an
        // error, and no index (there was none before).
        let index = dir.path().join("index");
        let stopped = tiny(5);
        assert!(index_with(&corpus, &index, &stopped).is_err());
        assert!(matches!(Store::open(&index), Err(Error::IndexMissing { .. })));
        // The next run embeds only the rest, and ends with the vectors of a run never stopped.
        let resumed = tiny(usize::MAX);
        let report = index_with(&corpus, &index, &resumed).unwrap();
        assert_eq!(report.passages, 1200);
        assert_eq!(resumed.texts.load(Ordering::SeqCst), 1200 - 5 * CHUNK);
        assert!(!index.join(EMBED_CACHE_DIR).exists(), "the cache goes with the commit");
        let clean = dir.path().join("clean");
        index_with(&corpus, &clean, &tiny(usize::MAX)).unwrap();
        let (a, b) = (stored_vectors(&index), stored_vectors(&clean));
        assert_eq!(a.len(), 1200);
        assert_eq!(a, b);
    }

    /// The tiny model, setting `stop` (as Ctrl-C does) when it is first asked to embed.
    struct Stopping<'a> {
        inner: Interrupted,
        stop: &'a AtomicBool,
    }

    impl PassageEmbedder for Stopping<'_> {
        fn identity(&self) -> &ModelIdentity {
            self.inner.identity()
        }
        fn dim(&self) -> usize {
            self.inner.dim()
        }
        fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.stop.store(true, Ordering::SeqCst);
            self.inner.embed_passages(texts)
        }
    }

    /// Issue 29: a run stopped while its first window is embedded finishes that window,
    /// commits the files whose passages are all in it (not the one it cuts), and the next
    /// run indexes the rest.
    #[test]
    fn a_stopped_run_commits_the_files_it_embedded_and_the_next_run_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        fs::create_dir(&corpus).unwrap();
        // 30 files of 40 passages: the first window (512) ends inside the 13th file.
        for f in 0..30 {
            let records: String = (0..40)
                .map(|i| {
                    let text = format!("file {f} passage {i} tells of the river, the mill and the baker");
                    serde_json::json!({"id": format!("f{f}-{i}"), "lang": "en", "text": text}).to_string() + "\n"
                })
                .collect();
            fs::write(corpus.join(format!("f{f:02}.jsonl")), records).unwrap();
        }
        let index = dir.path().join("index");
        let stop = AtomicBool::new(false);
        let embedder = Stopping {
            inner: tiny(usize::MAX),
            stop: &stop,
        };
        let options = IndexOptions {
            embedder: Some(&embedder),
            stop: Some(&stop),
            ..Default::default()
        };
        let report = index_folder(&corpus, &index, &options, &mut |_| {}).unwrap();
        assert!(report.interrupted && report.committed, "{report:?}");
        assert_eq!((report.files, report.passages), (12, 480), "{report:?}");
        assert_eq!((report.added, report.not_reached), (12, 18), "{report:?}");
        assert_eq!(
            embedder.inner.texts.load(Ordering::SeqCst),
            WINDOW,
            "one window, finished"
        );
        let store = Store::open(&index).unwrap();
        store.verify().unwrap();
        assert!(store.manifest.files.contains_key("f11.jsonl") && !store.manifest.files.contains_key("f12.jsonl"));
        assert_eq!(stored_vectors(&index).len(), 480);
        assert!(!bm25_hits(&index, "baker").is_empty());

        let rest = tiny(usize::MAX);
        let report = index_with(&corpus, &index, &rest).unwrap();
        assert!(!report.interrupted);
        assert_eq!((report.added, report.unchanged, report.passages), (18, 12, 1200));
        let store = Store::open(&index).unwrap();
        store.verify().unwrap();
        // Keys are not reused: the left-out files' passages had keys of their own.
        assert_eq!(store.manifest.vectors.as_ref().map(|v| v.count), Some(1200));
    }

    /// A `--rebuild` stopped before any file was embedded whole publishes nothing: the
    /// index stays as it was.
    #[test]
    fn a_rebuild_stopped_before_a_file_is_embedded_keeps_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let (corpus, index) = (dir.path().join("corpus"), dir.path().join("index"));
        write_corpus(
            &corpus,
            &[(
                "mill.txt",
                "The old mill by the river grinds wheat for the village baker.",
            )],
        );
        index_with(&corpus, &index, &tiny(usize::MAX)).unwrap();
        // One file of 1200 passages: the first window (512) ends inside it.
        let records: String = (0..1200)
            .map(|i| {
                serde_json::json!({"id": format!("d{i}"), "lang": "en", "text": format!("comet {i}")}).to_string()
                    + "\n"
            })
            .collect();
        fs::write(corpus.join("comets.jsonl"), records).unwrap();
        let stop = AtomicBool::new(false);
        let embedder = Stopping {
            inner: tiny(usize::MAX),
            stop: &stop,
        };
        let options = IndexOptions {
            embedder: Some(&embedder),
            stop: Some(&stop),
            rebuild: true,
            ..Default::default()
        };
        let report = index_folder(&corpus, &index, &options, &mut |_| {}).unwrap();
        assert!(report.interrupted && !report.committed, "{report:?}");
        assert_eq!((report.added, report.not_reached), (0, 2), "{report:?}");
        let store = Store::open(&index).unwrap();
        assert_eq!(store.manifest.generation, 1);
        let files: Vec<&str> = store.manifest.files.keys().map(String::as_str).collect();
        assert_eq!(files, ["mill.txt"]);
        assert_eq!(bm25_hits(&index, "mill").len(), 1);
    }

    /// The tiny model, slowed down (as the real one is against a commit) so that a run
    /// with commits due at once makes several.
    struct Slow(Interrupted);

    impl PassageEmbedder for Slow {
        fn identity(&self) -> &ModelIdentity {
            self.0.identity()
        }
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            std::thread::sleep(Duration::from_millis(150));
            self.0.embed_passages(texts)
        }
    }

    /// 2,113 passages: Spanish (12), French (10), 32 English files of 64 (four windows),
    /// German (30), Spanish (13), each file with words of its own.
    fn mixed_corpus(dir: &Path) -> PathBuf {
        let corpus = dir.join("corpus");
        fs::create_dir(&corpus).unwrap();
        let jsonl = |name: &str, lang: &str, n: usize, words: &str| {
            let records: String = (0..n)
                .map(|i| {
                    let text = format!("{words} {i} {words}");
                    serde_json::json!({"id": format!("{name}-{i}"), "lang": lang, "text": text}).to_string() + "\n"
                })
                .collect();
            fs::write(corpus.join(name), records).unwrap();
        };
        jsonl("a-es.jsonl", "es", 12, "el molino junto al río muele trigo");
        jsonl("a-fr.jsonl", "fr", 10, "le moulin au bord de la rivière");
        // 32 English files of 64 passages: four windows.
        for f in 0..32 {
            jsonl(
                &format!("b{f:02}.jsonl"),
                "en",
                64,
                &format!("file{f} the mill grinds wheat"),
            );
        }
        jsonl("c-de.jsonl", "de", 30, "die Mühle am Fluss mahlt Weizen");
        jsonl("c-es.jsonl", "es", 13, "el panadero amasa la masa");
        corpus
    }

    /// Issue 29: a run that commits as it goes makes several commits, the first of which
    /// finds the first files (and not the last), and ends with the index a run that
    /// commits once makes: the same vectors, means, graph and BM25 hits. Spanish has
    /// fewer than 20 passages at the first commits (no mean yet, uncentred there) and 25 in
    /// all; French has 10 (never a mean).
    #[test]
    fn progressive_commits_end_with_the_index_of_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = mixed_corpus(dir.path());
        let index = dir.path().join("index");
        let embedder = Slow(tiny(usize::MAX));
        let options = IndexOptions {
            embedder: Some(&embedder),
            commit_every: Some(Duration::ZERO),
            ..Default::default()
        };
        let mut commits = Vec::new();
        let report = index_folder(&corpus, &index, &options, &mut |event| {
            if let Progress::Committed {
                generation, passages, ..
            } = event
            {
                // A query between two commits, while the run goes on.
                let early = bm25_hits(&index, "file0").len();
                let late = bm25_hits(&index, "panadero").len();
                let means = Store::open(&index).unwrap().manifest.vectors.unwrap().language_means;
                commits.push((generation, passages, early, late, means));
            }
        })
        .unwrap();
        assert!(report.committed && !report.interrupted);
        assert!(commits.len() >= 2, "{} progressive commits", commits.len());
        assert_eq!(report.progressive_commits, commits.len());
        let generations: Vec<u64> = commits.iter().map(|c| c.0).collect();
        assert_eq!(generations, (1..=commits.len() as u64).collect::<Vec<_>>());
        let (_, passages, early, late, means) = &commits[0];
        assert!(
            *passages < 2048,
            "the first commit has the first files only: {passages}"
        );
        assert_eq!((*early, *late), (10, 0), "file0 is searchable, the last file not yet");
        assert!(means.contains_key("en") && !means.contains_key("es") && !means.contains_key("fr"));
        let store = Store::open(&index).unwrap();
        store.verify().unwrap();
        assert_eq!(store.manifest.generation, commits.len() as u64 + 1);
        assert_eq!(report.passages, 2113);

        let once = dir.path().join("once");
        let report = index_with(&corpus, &once, &tiny(usize::MAX)).unwrap();
        assert_eq!((report.progressive_commits, report.passages), (0, 2113));
        let other = Store::open(&once).unwrap();
        let (a, b) = (
            store.manifest.vectors.clone().unwrap(),
            other.manifest.vectors.clone().unwrap(),
        );
        let langs: Vec<&str> = a.language_means.keys().map(String::as_str).collect();
        assert_eq!(langs, ["de", "en", "es"]);
        assert_eq!(a.language_means, b.language_means);
        assert_eq!(
            (a.count, a.blake3.clone()),
            (b.count, b.blake3.clone()),
            "the same vector file"
        );
        assert_eq!(stored_vectors(&index), stored_vectors(&once));
        // Every hit with its score (equal scores come in the order of the segments, which
        // Tantivy's indexing threads fill in no fixed order, even between two runs alike).
        let scored = |index: &Path, query: &str| {
            let options = crate::search::SearchOptions {
                mode: Some(crate::search::Mode::Bm25),
                k: 5000,
                ..Default::default()
            };
            let results = crate::search::Searcher::open(index)
                .unwrap()
                .search(query, &options)
                .unwrap();
            let mut hits: Vec<(String, u32)> = results.hits.into_iter().map(|h| (h.doc, h.score.to_bits())).collect();
            hits.sort();
            hits
        };
        for query in ["file0", "panadero", "moulin", "Mühle", "wheat 7"] {
            let hits = scored(&index, query);
            assert!(!hits.is_empty(), "{query}");
            assert_eq!(hits, scored(&once, query), "{query}");
        }

        // A rebuild of an index that exists commits once (the first commit would be due as
        // soon as a file is embedded).
        let tiny = tiny(usize::MAX);
        let rebuild = IndexOptions {
            embedder: Some(&tiny),
            commit_every: Some(Duration::ZERO),
            rebuild: true,
            ..Default::default()
        };
        let report = index_folder(&corpus, &index, &rebuild, &mut |_| {}).unwrap();
        assert_eq!((report.progressive_commits, report.passages), (0, 2113));
        assert_eq!(
            Store::open(&index).unwrap().manifest.generation,
            commits.len() as u64 + 2
        );
    }

    /// A run that fails (as a killed one stops) after a progressive commit leaves that
    /// commit, whole, with its means; the next run indexes the rest and keeps those means.
    #[test]
    fn a_run_stopped_after_a_progressive_commit_leaves_it_and_the_next_run_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = mixed_corpus(dir.path());
        let index = dir.path().join("index");
        // Fails in its fourth window, after the first one's commit.
        let failing = Slow(tiny(3 * WINDOW / CHUNK));
        let options = IndexOptions {
            embedder: Some(&failing),
            commit_every: Some(Duration::ZERO),
            ..Default::default()
        };
        assert!(index_folder(&corpus, &index, &options, &mut |_| {}).is_err());
        let store = Store::open(&index).unwrap();
        store.verify().unwrap();
        let committed = store.manifest.passages();
        assert!(0 < committed && committed < 2113, "{committed}");
        assert_eq!(stored_vectors(&index).len() as u64, committed);
        let means = store.manifest.vectors.clone().unwrap().language_means;
        assert!(means.contains_key("en"));

        let report = index_with(&corpus, &index, &tiny(usize::MAX)).unwrap();
        assert_eq!(report.passages, 2113);
        let store = Store::open(&index).unwrap();
        store.verify().unwrap();
        assert_eq!(stored_vectors(&index).len(), 2113);
        let after = store.manifest.vectors.clone().unwrap().language_means;
        assert_eq!(after["en"], means["en"], "a mean once committed is kept");
        assert!(!bm25_hits(&index, "panadero").is_empty());
    }

    fn write_corpus(corpus: &Path, files: &[(&str, &str)]) {
        let _ = fs::remove_dir_all(corpus);
        fs::create_dir_all(corpus).unwrap();
        for (name, text) in files {
            fs::write(corpus.join(name), text).unwrap();
        }
    }

    fn bm25_hits(index: &Path, query: &str) -> Vec<String> {
        let searcher = crate::search::Searcher::open(index).unwrap();
        let options = crate::search::SearchOptions {
            mode: Some(crate::search::Mode::Bm25),
            ..Default::default()
        };
        let results = searcher.search(query, &options).unwrap();
        results.hits.into_iter().map(|hit| hit.doc).collect()
    }

    /// Fault injection: a commit that fails after any of its steps leaves an index that
    /// opens (at the old generation before Tantivy's commit, at the new one after), passes
    /// the full check, answers queries, and is brought up to date by the next run.
    #[test]
    fn a_commit_that_fails_after_any_step_leaves_an_index_that_opens_and_updates() {
        use crate::store::{CommitStep, FAIL_AFTER};
        let old_corpus: [(&str, &str); 3] = [
            (
                "mill.txt",
                "The old mill by the river grinds wheat for the village baker every morning.",
            ),
            (
                "harbour.txt",
                "Fishing boats leave the harbour before dawn and return with herring.",
            ),
            (
                "garten.txt",
                "Im Garten blühen im Frühling die Apfelbäume und die Kirschbäume.",
            ),
        ];
        let new_corpus: [(&str, &str); 3] = [
            (
                "mill.txt",
                "The old mill by the river was turned into a museum of bread and flour.",
            ),
            (
                "harbour.txt",
                "Fishing boats leave the harbour before dawn and return with herring.",
            ),
            (
                "observatory.txt",
                "Astronomers at the observatory count comets through the winter nights.",
            ),
        ];
        for step in CommitStep::ALL {
            let dir = tempfile::tempdir().unwrap();
            let (corpus, index) = (dir.path().join("corpus"), dir.path().join("index"));
            write_corpus(&corpus, &old_corpus);
            index_with(&corpus, &index, &tiny(usize::MAX)).unwrap();
            write_corpus(&corpus, &new_corpus);

            FAIL_AFTER.with(|f| f.set(Some(step)));
            let failed = index_with(&corpus, &index, &tiny(usize::MAX));
            FAIL_AFTER.with(|f| f.set(None));
            assert!(matches!(failed, Err(Error::Internal(_))), "{step:?}: {failed:?}");

            let store = Store::open(&index).unwrap_or_else(|e| panic!("{step:?}: {e}"));
            store.verify().unwrap_or_else(|e| panic!("{step:?}: {e}"));
            let published = !matches!(step, CommitStep::VectorsWritten | CommitStep::ManifestStaged);
            assert_eq!(store.manifest.generation, if published { 2 } else { 1 }, "{step:?}");
            let expected = if published { "observatory" } else { "garten" };
            assert!(
                store.manifest.files.contains_key(&format!("{expected}.txt")),
                "{step:?}"
            );
            assert_eq!(stored_vectors(&index).len(), 3, "{step:?}");
            let hits = bm25_hits(&index, if published { "comets" } else { "Apfelbäume" });
            assert_eq!(hits.len(), 1, "{step:?}: {hits:?}");

            // The next run completes and leaves the new corpus, whatever the step.
            let report = index_with(&corpus, &index, &tiny(usize::MAX)).unwrap();
            assert_eq!(report.passages, 3, "{step:?}");
            let store = Store::open(&index).unwrap();
            store.verify().unwrap();
            let files: Vec<&str> = store.manifest.files.keys().map(String::as_str).collect();
            assert_eq!(files, ["harbour.txt", "mill.txt", "observatory.txt"], "{step:?}");
            assert_eq!(bm25_hits(&index, "museum").len(), 1, "{step:?}");
            assert!(bm25_hits(&index, "Apfelbäume").is_empty(), "{step:?}");
            assert_eq!(stored_vectors(&index).len(), 3, "{step:?}");
        }
    }

    /// A file whose name is not UTF-8 is indexed under an escaped name and reported, and
    /// two such names stay two files.
    #[cfg(unix)]
    #[test]
    fn file_names_that_are_not_utf8_are_reported_and_kept_apart() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        fs::create_dir(&corpus).unwrap();
        let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        let other = std::ffi::OsStr::from_bytes(b"caf\xe8.txt");
        fs::write(corpus.join(latin1), "Espresso and croissants at the corner table.").unwrap();
        fs::write(corpus.join(other), "Tea and scones by the window in the afternoon.").unwrap();
        let index = dir.path().join("index");
        let mut warnings = Vec::new();
        let report = index_folder(&corpus, &index, &IndexOptions::default(), &mut |event| {
            if let Progress::Warning(w) = event {
                warnings.push(w);
            }
        })
        .unwrap();
        assert_eq!(report.files, 2);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with(r"caf\xE8.txt: the file name is not UTF-8"),
            "{warnings:?}"
        );
        let store = Store::open(&index).unwrap();
        let files: Vec<&str> = store.manifest.files.keys().map(String::as_str).collect();
        assert_eq!(files, [r"caf\xE8.txt", r"caf\xE9.txt"]);
        assert_eq!(bm25_hits(&index, "croissants").len(), 1);
    }
}
