//! Incremental indexing of a folder: new and changed files (by BLAKE3 of their bytes)
//! are read and indexed, passages of deleted files are removed, unchanged files are not
//! read beyond hashing. A file that cannot be read keeps its previous passages.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use tantivy::{TantivyDocument, Term};

use super::embed_stream::{embed_windows, Pending, Window, WINDOW};
use super::vectors::LanguageSums;
use super::vectors::{PassageEmbedder, Vectors};
use super::{Bm25Params, FileEntry, Store, WriterLock};
use crate::analysis::normalize_tag;
use crate::corpus::{discover, read_documents, split_passages, Passage, SourceFile};
use crate::error::{Error, Result};

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
    /// Centre vectors per language (see [`super::vectors::Centring`]); applies to languages
    /// that have no mean yet.
    pub centre_languages: bool,
    /// BM25 k1 to record in the manifest (`None`: keep the index's).
    pub bm25_k1: Option<f32>,
    /// BM25 b to record in the manifest (`None`: keep the index's).
    pub bm25_b: Option<f32>,
    /// Files larger than this are skipped (and a `.gz` file stopped when it inflates past
    /// it), with a message.
    pub max_file_bytes: u64,
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
    let default_lang = match &options.default_lang {
        Some(tag) => Some(normalize_tag(tag).ok_or_else(|| Error::InvalidLanguage(tag.clone()))?),
        None => None,
    };
    // Bad BM25 parameters are refused before any work.
    Bm25Params::default()
        .overridden(options.bm25_k1, options.bm25_b)
        .map_err(Error::InvalidSetting)?;
    let index_abs = absolute(index_dir);
    let found = discover(&root, std::slice::from_ref(&index_abs));
    for error in &found.errors {
        progress(Progress::Warning(format!("skipped: {error}")));
    }

    // The lock comes first: nothing on disk is touched (not even a fresh index's bm25/
    // cleared) by a run that does not hold it.
    let lock = WriterLock::acquire(index_dir)?;
    let (mut store, fresh) = open_for_update(index_dir, &root, options.rebuild, &lock)?;
    if fresh && found.files.is_empty() {
        let _ = fs::remove_dir_all(index_dir.join(super::BM25_DIR));
        let _ = fs::remove_file(lock.path());
        drop(lock);
        let reason = if found.unsupported > 0 {
            format!(
                "no .txt, .md, .html, .json, .jsonl or .jsonl.gz files ({} files of other types)",
                found.unsupported
            )
        } else {
            "the folder is empty".to_string()
        };
        let _ = fs::remove_dir(index_dir);
        return Err(Error::NothingToIndex { path: root, reason });
    }
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
    } else {
        options.threads
    };
    // Vectors: the index keeps one model's vectors or none; switching needs --rebuild.
    let mut vectors = match (options.embedder, &store.manifest.vectors) {
        (None, None) => None,
        (Some(e), None) if fresh || options.rebuild || store.manifest.files.is_empty() => Some(Vectors::new(e.dim())?),
        (Some(e), Some(_)) if options.rebuild => Some(Vectors::new(e.dim())?),
        (Some(e), Some(info)) if &info.model == e.identity() => Some(Vectors::load(&store.vectors_dir(), info)?),
        (None, Some(_)) if options.rebuild => {
            store.manifest.vectors = None;
            None
        }
        (Some(e), Some(info)) => {
            return Err(Error::OtherModel {
                path: index_dir.to_path_buf(),
                indexed: info.model.label(),
                requested: e.identity().label(),
            })
        }
        (Some(_), None) => {
            return Err(Error::OtherModel {
                path: index_dir.to_path_buf(),
                indexed: "none (BM25 only)".into(),
                requested: "vectors".into(),
            })
        }
        (None, Some(info)) => {
            return Err(Error::OtherModel {
                path: index_dir.to_path_buf(),
                indexed: info.model.label(),
                requested: "none (--no-vectors)".into(),
            })
        }
    };
    // Keys of the passages of each indexed file, from the last commit (to remove vectors).
    let committed = store.index.reader()?.searcher();
    let mut writer = store.writer(threads)?;
    let mut report = IndexReport {
        unsupported: found.unsupported,
        skipped: found.errors.len(),
        ..Default::default()
    };
    if options.rebuild && !fresh {
        writer.delete_all_documents()?;
        store.manifest.files.clear();
        store.manifest.root = root.clone();
        store.manifest.vectors = None;
    }

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
    let seen: BTreeSet<String> = found.files.iter().map(|f| f.rel_path.clone()).collect();
    let previous: HashMap<String, String> = store
        .manifest
        .files
        .iter()
        .map(|(path, entry)| (path.clone(), entry.blake3.clone()))
        .collect();
    // Files are read, hashed, parsed, split and language-tagged on worker threads; this
    // thread applies the results in file order, so the index is the same on every run.
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::sync_channel::<(usize, Prepared)>(threads * 4);
    let cache_dir = index_dir.join(EMBED_CACHE_DIR);
    let mut queued = 0usize;
    let windows = std::thread::scope(|scope| -> Result<Option<Vec<Window>>> {
        // Embedding runs beside the reading (see embed_stream), when this run embeds.
        let mut stream = match (&vectors, options.embedder) {
            (Some(_), Some(embedder)) => {
                let (to_embed, windows) = mpsc::sync_channel::<Pending>(1);
                let (done_sender, done) = mpsc::channel::<usize>();
                let cache_dir = &cache_dir;
                let thread = scope.spawn(move || embed_windows(embedder, cache_dir, windows, done_sender));
                Some((to_embed, done, thread, Pending::default()))
            }
            _ => None,
        };
        for _ in 0..threads {
            let (sender, next, files, previous) = (sender.clone(), &next, &found.files, &previous);
            let default_lang = default_lang.as_deref();
            let max_bytes = options.max_file_bytes;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let previous_hash = previous.get(&file.rel_path).map(String::as_str);
                let prepared = prepare(file, previous_hash, default_lang, max_bytes);
                if sender.send((i, prepared)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        let mut waiting = BTreeMap::new();
        let mut expected = 0;
        'files: for (i, prepared) in receiver {
            waiting.insert(i, prepared);
            while let Some(prepared) = waiting.remove(&expected) {
                let file = &found.files[expected];
                expected += 1;
                let known = previous.contains_key(&file.rel_path);
                let bytes = match prepared {
                    Prepared::Unchanged { bytes } => {
                        report.unchanged += 1;
                        bytes
                    }
                    Prepared::Failed { reason, bytes } => {
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
                        if known {
                            if let Some(v) = vectors.as_mut() {
                                v.remove(&keys_of(&committed, &store.fields, &file.rel_path)?)?;
                            }
                            writer.delete_term(Term::from_field_text(store.fields.file, &file.rel_path));
                            report.updated += 1;
                        } else {
                            report.added += 1;
                        }
                        for passage in &passages {
                            let key = store.manifest.next_key;
                            store.manifest.next_key += 1;
                            writer.add_document(passage_document(&store, &file.rel_path, passage, key))?;
                            if let Some((to_embed, _, _, pending)) = stream.as_mut() {
                                pending.keys.push(key);
                                pending.langs.push(passage.lang.clone());
                                pending.texts.push(embedding_text(passage));
                                queued += 1;
                                // A failed send means the embedder stopped on an error,
                                // which its join below returns.
                                if pending.len() >= WINDOW && to_embed.send(std::mem::take(pending)).is_err() {
                                    break 'files;
                                }
                            }
                        }
                        report.passages_written += u64::from(entry.passages);
                        let bytes = entry.bytes;
                        store.manifest.files.insert(file.rel_path.clone(), entry);
                        bytes
                    }
                };
                progress(Progress::File {
                    rel_path: &file.rel_path,
                    bytes,
                });
                if let Some(done) = stream.as_ref().and_then(|(_, done, _, _)| done.try_iter().last()) {
                    progress(Progress::Embedded { done, total: queued });
                }
            }
        }
        let Some((to_embed, done, thread, pending)) = stream else {
            return Ok(None);
        };
        if !pending.is_empty() {
            let _ = to_embed.send(pending);
        }
        drop(to_embed);
        for count in done {
            progress(Progress::Embedded {
                done: count,
                total: queued,
            });
        }
        thread.join().expect("the embedding thread does not panic").map(Some)
    })?;

    let gone: Vec<String> = store
        .manifest
        .files
        .keys()
        .filter(|k| !seen.contains(*k))
        .cloned()
        .collect();
    for rel_path in gone {
        if let Some(v) = vectors.as_mut() {
            v.remove(&keys_of(&committed, &store.fields, &rel_path)?)?;
        }
        writer.delete_term(Term::from_field_text(store.fields.file, &rel_path));
        store.manifest.files.remove(&rel_path);
        report.removed += 1;
    }

    if fresh && store.manifest.files.values().all(|e| e.passages == 0) {
        drop(writer);
        let _ = fs::remove_dir_all(index_dir.join(super::BM25_DIR));
        return Err(Error::NothingToIndex {
            path: root,
            reason: format!("no text in {} files ({} skipped)", found.files.len(), report.skipped),
        });
    }
    if let (Some(v), Some(windows)) = (vectors.as_mut(), windows) {
        // Means from this run's raw vectors, then the centred vectors into the store; one
        // window in memory at a time.
        if options.centre_languages {
            let mut sums = LanguageSums::default();
            for window in &windows {
                for (lang, vector) in window.langs.iter().zip(window.vectors(v.dim())?) {
                    sums.add(v, lang, &vector);
                }
            }
            sums.finish(v);
        }
        for window in &windows {
            let items: Vec<(u64, Vec<f32>)> = window
                .keys
                .iter()
                .zip(&window.langs)
                .zip(window.vectors(v.dim())?)
                .map(|((key, lang), mut vector)| {
                    v.centre_passage(lang, &mut vector);
                    (*key, vector)
                })
                .collect();
            v.add(&items)?;
        }
        report.passages_embedded = queued as u64;
    }
    // BM25 parameters are read at query time: a change needs a commit, not a re-index.
    let bm25 = store
        .manifest
        .bm25
        .overridden(options.bm25_k1, options.bm25_b)
        .map_err(Error::InvalidSetting)?;
    let bm25_changed = bm25 != store.manifest.bm25;
    store.manifest.bm25 = bm25;
    let changed = report.added + report.updated + report.removed > 0 || options.rebuild || fresh || bm25_changed;
    if changed {
        let with_vectors = vectors.as_ref().zip(options.embedder.map(|e| e.identity()));
        store.commit(&mut writer, with_vectors)?;
        report.committed = true;
        let _ = fs::remove_dir_all(index_dir.join(EMBED_CACHE_DIR));
        // One segment makes queries several times faster: each query looks its terms up
        // in every language field of every segment. The merge keeps the commit payload.
        let segments = store.index.searchable_segment_ids()?;
        if segments.len() > 1 {
            writer.merge(&segments).wait()?;
        }
    }
    writer.wait_merging_threads()?;
    report.files = store.manifest.files.len();
    report.passages = store.manifest.passages();
    report.languages = store.manifest.languages();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Opens the index for an update of `root`, or creates it. Returns whether it is new.
fn open_for_update(index_dir: &Path, root: &Path, rebuild: bool, lock: &WriterLock) -> Result<(Store, bool)> {
    match Store::open_to_write(index_dir, lock) {
        Ok(store) if store.manifest.root != root && !rebuild => Err(Error::OtherRoot {
            path: index_dir.to_path_buf(),
            indexed: store.manifest.root.clone(),
            requested: root.to_path_buf(),
        }),
        Ok(store) => Ok((store, false)),
        Err(Error::IndexMissing { .. }) => Ok((Store::create(index_dir, root.to_path_buf())?, true)),
        Err(Error::UnsupportedFormat { .. } | Error::Corrupt { .. }) if rebuild => {
            for name in [super::MANIFEST, super::MANIFEST_NEXT] {
                let _ = fs::remove_file(index_dir.join(name));
            }
            Ok((Store::create(index_dir, root.to_path_buf())?, true))
        }
        Err(e) => Err(e),
    }
}

/// A file after the worker threads' part of the work.
enum Prepared {
    /// Same hash as in the manifest.
    Unchanged { bytes: u64 },
    /// Could not be read or parsed.
    Failed { reason: String, bytes: u64 },
    /// New or changed: its manifest entry and passages.
    Read {
        entry: FileEntry,
        passages: Vec<Passage>,
        warnings: Vec<String>,
    },
}

/// The default of [`IndexOptions::max_file_bytes`]: 256 MiB.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Reads, hashes, parses and splits one file (on a worker thread). A panic while parsing
/// (a bug meeting an odd file) fails that file only, with its message.
fn prepare(file: &SourceFile, previous_hash: Option<&str>, default_lang: Option<&str>, max_bytes: u64) -> Prepared {
    match std::panic::catch_unwind(|| prepare_file(file, previous_hash, default_lang, max_bytes)) {
        Ok(prepared) => prepared,
        Err(panic) => {
            let message = crate::error::panic_message(&*panic);
            Prepared::Failed {
                reason: format!("internal error while reading it (please report): {message}"),
                bytes: 0,
            }
        }
    }
}

fn prepare_file(
    file: &SourceFile,
    previous_hash: Option<&str>,
    default_lang: Option<&str>,
    max_bytes: u64,
) -> Prepared {
    match fs::metadata(&file.path) {
        Ok(m) if m.len() > max_bytes => {
            return Prepared::Failed {
                reason: format!(
                    "{} bytes, above the size limit of {max_bytes} (--max-filesize)",
                    m.len()
                ),
                bytes: 0,
            }
        }
        _ => {}
    }
    let bytes = match fs::read(&file.path) {
        Ok(bytes) => bytes,
        Err(e) => {
            return Prepared::Failed {
                reason: e.to_string(),
                bytes: 0,
            }
        }
    };
    let size = bytes.len() as u64;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if previous_hash == Some(hash.as_str()) {
        return Prepared::Unchanged { bytes: size };
    }
    let outcome = match read_documents(file, &bytes, max_bytes) {
        Ok(outcome) => outcome,
        Err(e) => {
            return Prepared::Failed {
                reason: e.to_string(),
                bytes: size,
            }
        }
    };
    let mut entry = FileEntry {
        blake3: hash,
        bytes: size,
        documents: outcome.documents.len() as u32,
        passages: 0,
        languages: BTreeMap::new(),
    };
    let mut passages = Vec::new();
    for document in &outcome.documents {
        for passage in split_passages(document, default_lang) {
            entry.passages += 1;
            *entry.languages.entry(passage.lang.clone()).or_insert(0) += 1;
            passages.push(passage);
        }
    }
    Prepared::Read {
        entry,
        passages,
        warnings: outcome.warnings,
    }
}

/// What the encoder reads of a passage: its document's title, then its text.
fn embedding_text(passage: &Passage) -> String {
    if passage.title.is_empty() {
        passage.text.clone()
    } else {
        format!("{}\n{}", passage.title, passage.text)
    }
}

/// Keys of the committed passages of `rel_path`.
fn keys_of(searcher: &tantivy::Searcher, fields: &super::Fields, rel_path: &str) -> Result<Vec<u64>> {
    use tantivy::schema::Value;
    let query = tantivy::query::TermQuery::new(
        Term::from_field_text(fields.file, rel_path),
        tantivy::schema::IndexRecordOption::Basic,
    );
    let mut keys = Vec::new();
    for address in searcher.search(&query, &tantivy::collector::DocSetCollector)? {
        let doc: TantivyDocument = searcher.doc(address)?;
        keys.extend(doc.get_first(fields.key).and_then(|v| v.as_u64()));
    }
    Ok(keys)
}

fn passage_document(store: &Store, rel_path: &str, passage: &Passage, key: u64) -> TantivyDocument {
    let f = &store.fields;
    let mut doc = TantivyDocument::new();
    doc.add_u64(f.key, key);
    doc.add_text(f.file, rel_path);
    doc.add_text(f.doc, &passage.doc);
    doc.add_u64(f.passage, u64::from(passage.number));
    doc.add_text(f.lang, &passage.lang);
    doc.add_text(f.title, &passage.title);
    doc.add_text(f.text, &passage.text);
    let bm25 = f.bm25(&passage.lang);
    if !passage.title.is_empty() {
        doc.add_text(bm25, &passage.title);
    }
    doc.add_text(bm25, &passage.text);
    doc
}

fn skip_message(rel_path: &str, reason: &str, kept: bool) -> String {
    let kept = if kept {
        "; its previously indexed passages are kept"
    } else {
        ""
    };
    format!("{rel_path}: skipped: {reason}{kept}")
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

    use super::*;
    use crate::encoder::{Encoder, ModelFile};
    use crate::store::embed_stream::CHUNK;
    use crate::store::{EncoderEmbedder, ModelIdentity, VECTORS_DIR};

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
}
