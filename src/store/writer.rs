//! The one writer of an index. [`StoreWriter`] holds the writer lock, the pending BM25
//! changes, the pending vectors and the next manifest, and publishes them together in one
//! commit (index-format/commit.md). No other code writes an index.

use std::fs;
use std::path::{Path, PathBuf};

use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{IndexWriter, TantivyDocument, Term};

use super::vectors::{LanguageSums, ModelIdentity, Vectors};
use super::{
    sync_dir, tantivy_error, write_synced, AtIndex, Bm25Params, FileEntry, Manifest, Store, WriterLock, BM25_DIR,
    MANIFEST, MANIFEST_NEXT,
};
use crate::corpus::Passage;
use crate::error::{Error, Result};

/// What the writer is to hold.
pub struct WriterOptions<'a> {
    /// The folder the index is of (an existing index of another folder is refused unless
    /// `rebuild`).
    pub root: PathBuf,
    /// Start from an empty index (a damaged or old-format one is replaced).
    pub rebuild: bool,
    /// Tantivy indexing threads (clamped to 1–8).
    pub threads: usize,
    /// The model of the vectors to add and its dimension; `None` for a BM25-only index.
    pub model: Option<(&'a ModelIdentity, usize)>,
}

/// The steps of a commit, in order: a failure (or a stop) after any of them leaves an
/// index that opens at the previous or the new generation (tests fail at each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitStep {
    /// The new vector file is written and synced.
    VectorsWritten,
    /// `manifest.json.next` is written and synced.
    ManifestStaged,
    /// Tantivy has committed (with the new manifest's hash as payload).
    Bm25Committed,
    /// `manifest.json.next` is renamed to `manifest.json`.
    ManifestRenamed,
    /// Vector files no reader can need are removed.
    OldFilesRemoved,
    /// The segments are merged into one.
    Merged,
}

impl CommitStep {
    /// Every step, in commit order.
    pub const ALL: [CommitStep; 6] = [
        CommitStep::VectorsWritten,
        CommitStep::ManifestStaged,
        CommitStep::Bm25Committed,
        CommitStep::ManifestRenamed,
        CommitStep::OldFilesRemoved,
        CommitStep::Merged,
    ];
}

#[cfg(test)]
thread_local! {
    /// The commit step after which the writer fails on this thread (tests only).
    pub(crate) static FAIL_AFTER: std::cell::Cell<Option<CommitStep>> = const { std::cell::Cell::new(None) };
}

/// Fails when a test asked for a failure after `step` (compiled only into tests).
fn failpoint(step: CommitStep) -> Result<()> {
    #[cfg(test)]
    if FAIL_AFTER.with(|f| f.get()) == Some(step) {
        return Err(Error::Internal(format!("failpoint after {step:?}")));
    }
    let _ = step;
    Ok(())
}

/// The writer of an index: changes are collected and become visible only at
/// [`StoreWriter::commit`]; dropped without a commit, it leaves the index as it was.
pub struct StoreWriter {
    /// The index with the next manifest (what the commit will publish).
    store: Store,
    bm25: IndexWriter,
    /// The last commit's passages, to find the keys of a file's passages.
    committed: tantivy::Searcher,
    vectors: Option<Vectors>,
    model: Option<ModelIdentity>,
    /// The index did not exist (or was replaced): nothing of it is visible yet.
    fresh: bool,
    // Dropped last: everything above is released before another writer may start.
    lock: WriterLock,
}

impl StoreWriter {
    /// Takes the writer lock of the index in `dir`, before anything on disk is touched,
    /// then opens the index for an update, or creates it. A second writer gets
    /// [`Error::Locked`] at once.
    pub fn open(dir: &Path, options: WriterOptions) -> Result<StoreWriter> {
        let lock = WriterLock::acquire(dir)?;
        let (mut store, fresh) = open_or_create(dir, &options.root, options.rebuild, &lock)?;
        let vectors = match (options.model, &store.manifest.vectors) {
            (None, None) => None,
            (Some((_, dim)), None) if fresh || options.rebuild || store.manifest.files.is_empty() => {
                Some(Vectors::new(dim)?)
            }
            (Some((_, dim)), Some(_)) if options.rebuild => Some(Vectors::new(dim)?),
            (Some((model, _)), Some(info)) if &info.model == model => Some(Vectors::load(&store.vectors_dir(), info)?),
            (None, Some(_)) if options.rebuild => None,
            (model, indexed) => {
                return Err(ModelIdentity::mismatch(
                    dir,
                    indexed.as_ref().map(|v| &v.model),
                    model.map(|(m, _)| m),
                ));
            }
        };
        let committed = store.index.reader().at(dir)?.searcher();
        let threads = options.threads.clamp(1, 8);
        let bm25 = store
            .index
            .writer_with_num_threads(threads, threads * 64_000_000)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => Error::Locked {
                    path: dir.join(BM25_DIR).join(".tantivy-writer.lock"),
                    holder: String::new(),
                },
                e => tantivy_error(dir, e),
            })?;
        if options.rebuild && !fresh {
            bm25.delete_all_documents().at(dir)?;
            store.manifest.files.clear();
            store.manifest.root = options.root.clone();
            store.manifest.vectors = None;
        }
        Ok(StoreWriter {
            store,
            bm25,
            committed,
            vectors,
            model: options.model.map(|(m, _)| m.clone()),
            fresh,
            lock,
        })
    }

    /// The manifest the next commit will publish.
    pub fn manifest(&self) -> &Manifest {
        &self.store.manifest
    }

    /// Whether the index is new (or replaced by `rebuild`): nothing of it is visible yet.
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Whether the index holds vectors (new passages need theirs).
    pub fn has_vectors(&self) -> bool {
        self.vectors.is_some()
    }

    /// Whether the index centres its vectors per language: it has means, or it is empty
    /// (a new index centres unless told otherwise).
    pub fn centres_vectors(&self) -> bool {
        self.vectors
            .as_ref()
            .is_some_and(|v| v.is_empty() || !v.means().is_empty())
    }

    /// Adds the raw (uncentred) vectors of added passages, by passage key. With
    /// `centre_languages`, a language without a mean yet gets one from its raw vectors
    /// first; then every vector is centred with its language's mean. `each` streams them
    /// (called twice, so a caller can read them from disk a window at a time).
    pub fn add_raw_vectors(&mut self, centre_languages: bool, each: &mut EachVector) -> Result<()> {
        match self.vectors.as_mut() {
            Some(vectors) => add_raw_vectors(vectors, centre_languages, each),
            None => Ok(()),
        }
    }

    /// Adds the passages of the file `rel_path` (replacing those of its previous version)
    /// and returns their keys, in order, for their vectors.
    pub fn add_file(&mut self, rel_path: &str, entry: FileEntry, passages: &[Passage]) -> Result<Vec<u64>> {
        self.remove_file(rel_path)?;
        let mut keys = Vec::with_capacity(passages.len());
        for passage in passages {
            let key = self.store.manifest.next_key;
            self.store.manifest.next_key += 1;
            let document = self.passage_document(rel_path, passage, key);
            self.bm25.add_document(document).at(&self.store.dir)?;
            keys.push(key);
        }
        self.store.manifest.files.insert(rel_path.to_string(), entry);
        Ok(keys)
    }

    /// Removes the passages (and vectors) of the file `rel_path`; false when it had none.
    pub fn remove_file(&mut self, rel_path: &str) -> Result<bool> {
        if self.store.manifest.files.remove(rel_path).is_none() {
            return Ok(false);
        }
        if self.vectors.is_some() {
            let keys = self.committed_keys(rel_path)?;
            if let Some(v) = self.vectors.as_mut() {
                v.remove(&keys)?;
            }
        }
        self.bm25
            .delete_term(Term::from_field_text(self.store.fields.file, rel_path));
        Ok(true)
    }

    /// Records BM25 parameters (read at query time); returns whether they changed.
    pub fn set_bm25(&mut self, params: Bm25Params) -> bool {
        let changed = params != self.store.manifest.bm25;
        self.store.manifest.bm25 = params;
        changed
    }

    /// Publishes everything added and removed, atomically (index-format/commit.md): the
    /// vector file is new, the manifest is staged, Tantivy commits with the manifest's hash
    /// as its payload, the manifest is renamed into place. Vector files older than the
    /// previous commit's are then removed (the previous one stays for readers that opened
    /// its manifest a moment before), and the segments are merged into one.
    pub fn commit(mut self) -> Result<()> {
        let vectors = self.vectors.take();
        self.publish(vectors.as_ref())?;
        let dir = self.store.dir.clone();
        // The lock goes after Tantivy's writer (and its own lock).
        let StoreWriter { bm25, lock, .. } = self;
        bm25.wait_merging_threads().at(&dir)?;
        failpoint(CommitStep::Merged)?;
        drop(lock);
        Ok(())
    }

    /// Publishes what is added and removed so far through the same steps as
    /// [`StoreWriter::commit`], and stays the writer: a long run commits as it goes
    /// (index-format/commit.md, "Progressive commits"). The commit's vectors are the
    /// pending ones plus the raw vectors `each` streams (centred as in
    /// [`StoreWriter::add_raw_vectors`]), added to a copy: the pending vectors stay as they
    /// are, so the run's own vectors and means are all learnt again at its last commit.
    pub fn commit_progress(&mut self, centre_languages: bool, each: &mut EachVector) -> Result<()> {
        let vectors = match &self.vectors {
            Some(pending) => {
                let mut vectors = pending.duplicate()?;
                add_raw_vectors(&mut vectors, centre_languages, each)?;
                Some(vectors)
            }
            None => None,
        };
        self.publish(vectors.as_ref())?;
        self.fresh = false;
        Ok(())
    }

    /// The steps of a commit, up to the merge (see [`StoreWriter::commit`]).
    fn publish(&mut self, vectors: Option<&Vectors>) -> Result<()> {
        let dir = self.store.dir.clone();
        let manifest = &mut self.store.manifest;
        let previous = manifest.vectors.as_ref().map(|v| v.file.clone());
        if let (Some(vectors), Some(model)) = (vectors, &self.model) {
            manifest.vectors =
                Some(vectors.save(&dir.join(super::VECTORS_DIR), manifest.generation + 1, model.clone())?);
            failpoint(CommitStep::VectorsWritten)?;
        }
        manifest.generation += 1;
        manifest.mlsearch_version = env!("CARGO_PKG_VERSION").to_string();
        let bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::Internal(format!("the manifest does not serialise: {e}")))?;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        write_synced(&dir.join(MANIFEST_NEXT), &bytes)?;
        failpoint(CommitStep::ManifestStaged)?;
        let mut prepared = self.bm25.prepare_commit().at(&dir)?;
        prepared.set_payload(&serde_json::json!({ "manifest_blake3": hash }).to_string());
        prepared.commit().at(&dir)?;
        failpoint(CommitStep::Bm25Committed)?;
        let path = dir.join(MANIFEST);
        fs::rename(dir.join(MANIFEST_NEXT), &path).map_err(|e| Error::io(&path, e))?;
        sync_dir(&dir);
        failpoint(CommitStep::ManifestRenamed)?;
        let current = manifest.vectors.as_ref().map(|v| v.file.clone());
        if let Ok(entries) = fs::read_dir(dir.join(super::VECTORS_DIR)) {
            for entry in entries.flatten() {
                let name = Some(entry.file_name().to_string_lossy().into_owned());
                if name != current && name != previous {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        failpoint(CommitStep::OldFilesRemoved)?;
        // One segment makes queries several times faster: each query looks its terms up in
        // every language field of every segment. The merge keeps the commit payload.
        let segments = self.store.index.searchable_segment_ids().at(&dir)?;
        if segments.len() > 1 {
            self.bm25.merge(&segments).wait().at(&dir)?;
        }
        Ok(())
    }

    /// Gives up a fresh index without a commit: its folder is removed again (when it holds
    /// nothing else), so a run that found nothing to index leaves nothing behind.
    pub fn abandon(self) {
        if !self.fresh {
            return;
        }
        let dir = self.store.dir.clone();
        drop(self.bm25);
        let _ = fs::remove_dir_all(dir.join(BM25_DIR));
        let _ = fs::remove_file(self.lock.path());
        drop(self.lock);
        let _ = fs::remove_dir(&dir);
    }

    /// Keys of the committed passages of `rel_path`.
    fn committed_keys(&self, rel_path: &str) -> Result<Vec<u64>> {
        let fields = &self.store.fields;
        let query =
            tantivy::query::TermQuery::new(Term::from_field_text(fields.file, rel_path), IndexRecordOption::Basic);
        let dir = &self.store.dir;
        let mut keys = Vec::new();
        let found = self
            .committed
            .search(&query, &tantivy::collector::DocSetCollector)
            .at(dir)?;
        for address in found {
            let doc: TantivyDocument = self.committed.doc(address).at(dir)?;
            keys.extend(doc.get_first(fields.key).and_then(|v| v.as_u64()));
        }
        Ok(keys)
    }

    fn passage_document(&self, rel_path: &str, passage: &Passage, key: u64) -> TantivyDocument {
        let f = &self.store.fields;
        let mut doc = TantivyDocument::new();
        doc.add_u64(f.key, key);
        doc.add_text(f.file, rel_path);
        doc.add_text(f.doc, &passage.doc);
        doc.add_u64(f.passage, u64::from(passage.number));
        doc.add_text(f.lang, &passage.lang);
        doc.add_text(f.title, &passage.title);
        doc.add_text(f.text, &passage.text);
        if let (Some(field), Some(page)) = (f.page, passage.page) {
            doc.add_u64(field, u64::from(page));
        }
        let bm25 = f.bm25(&passage.lang);
        if !passage.title.is_empty() {
            doc.add_text(bm25, &passage.title);
        }
        doc.add_text(bm25, &passage.text);
        doc
    }
}

/// Opens the index for an update of `root`, or creates it (also in place of a damaged or
/// old-format one when `rebuild`). Returns whether it is new.
fn open_or_create(dir: &Path, root: &Path, rebuild: bool, lock: &WriterLock) -> Result<(Store, bool)> {
    match Store::open_to_write(dir, lock) {
        // An index created for documents from code (`Engine::create`) is of no folder yet:
        // the first folder indexed into it becomes its own.
        Ok(mut store) if store.manifest.root.as_os_str().is_empty() => {
            store.manifest.root = root.to_path_buf();
            Ok((store, false))
        }
        Ok(store) if store.manifest.root != root && !rebuild => Err(Error::OtherRoot {
            path: dir.to_path_buf(),
            indexed: store.manifest.root.clone(),
            requested: root.to_path_buf(),
        }),
        Ok(store) => Ok((store, false)),
        Err(Error::IndexMissing { .. }) => Ok((Store::create(dir, root.to_path_buf(), lock)?, true)),
        Err(Error::UnsupportedFormat { .. } | Error::Corrupt { .. }) if rebuild => {
            for name in [MANIFEST, MANIFEST_NEXT] {
                let _ = fs::remove_file(dir.join(name));
            }
            Ok((Store::create(dir, root.to_path_buf(), lock)?, true))
        }
        Err(e) => Err(e),
    }
}

/// Takes raw passage vectors: (key, language, vector).
pub type VectorSink<'a> = dyn FnMut(u64, &str, Vec<f32>) -> Result<()> + 'a;

/// A visitor of raw passage vectors: called with a sink for them.
pub type EachVector<'a> = dyn FnMut(&mut VectorSink<'_>) -> Result<()> + 'a;

/// Passages' vectors added in batches of this many.
const ADD_BATCH: usize = 512;

/// See [`StoreWriter::add_raw_vectors`].
fn add_raw_vectors(vectors: &mut Vectors, centre_languages: bool, each: &mut EachVector) -> Result<()> {
    if centre_languages {
        let mut sums = LanguageSums::default();
        each(&mut |_, lang, vector| {
            sums.add(vectors, lang, &vector);
            Ok(())
        })?;
        sums.finish(vectors);
    }
    let mut items: Vec<(u64, Vec<f32>)> = Vec::with_capacity(ADD_BATCH);
    each(&mut |key, lang, mut vector| {
        vectors.centre_passage(lang, &mut vector);
        items.push((key, vector));
        if items.len() == ADD_BATCH {
            vectors.add(&items)?;
            items.clear();
        }
        Ok(())
    })?;
    vectors.add(&items)
}
