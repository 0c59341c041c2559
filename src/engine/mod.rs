//! The library's front door: an open index with its encoder, loaded once, for searching
//! (one query or many embedded together), for adding and removing documents, and for
//! picking up commits that another process (`mlsearch index`) made. The CLI's `query`,
//! `mlsearch serve` and `mlsearch mcp` all go through it.
//!
//! ```no_run
//! use mlsearch::engine::{Engine, EngineOptions};
//! use mlsearch::search::SearchOptions;
//! # fn main() -> mlsearch::Result<()> {
//! let engine = Engine::open("my-index".as_ref(), &EngineOptions::default())?;
//! let results = engine.search("Wo liegt Berlin?", &SearchOptions::default())?;
//! for hit in &results.hits {
//!     println!("{} [{}] {:.3} {}", hit.doc, hit.lang, hit.score, hit.snippet);
//! }
//! # Ok(())
//! # }
//! ```

mod documents;
mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde::Serialize;

pub use documents::{DocumentWriter, WriteReport};
pub use model::{device, load_model, load_model_file, EncoderEmbedder, ModelSpec};

use crate::encoder::TextKind;
use crate::error::{Error, Result};
use crate::ingest::{IndexOptions, IndexReport, Progress};
use crate::search::{Mode, SearchOptions, SearchResults, Searcher};
use crate::store::{Manifest, PassageEmbedder, Store, StoreWriter, VectorsInfo, WriterOptions};

/// How to open an index.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The encoder for dense and hybrid search (it must be the model of the index's
    /// vectors).
    pub model: ModelSpec,
    /// Load the encoder when the index has vectors (false: BM25 only, nothing loaded).
    pub dense: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            model: ModelSpec::default(),
            dense: true,
        }
    }
}

/// An open index and its encoder. `Sync`: share it between threads (in an `Arc`); each
/// search uses the last commit it has picked up, and a commit in flight never fails one.
pub struct Engine {
    dir: PathBuf,
    /// The searcher of the last picked-up commit; swapped whole by [`Engine::refresh`].
    current: RwLock<Arc<Searcher>>,
    /// What `manifest.json` looked like when `current` was opened.
    stamp: Mutex<Option<FileStamp>>,
    encoder: Option<Arc<EncoderEmbedder>>,
    /// One document writer at a time in this process (other processes: the writer lock).
    writing: Mutex<()>,
}

impl Engine {
    /// Opens the index in `dir`, and loads the encoder when the index has vectors (and
    /// `options.dense`). Fails with [`Error::OtherModel`] when the encoder is not the
    /// model that made the vectors.
    pub fn open(dir: &Path, options: &EngineOptions) -> Result<Engine> {
        let searcher = Searcher::open(dir)?;
        let encoder = match &searcher.manifest().vectors {
            Some(info) if options.dense => {
                let encoder = load_model(&options.model, Some(info.model.precision))?;
                searcher.check_model(&encoder.identity)?;
                Some(encoder)
            }
            _ => None,
        };
        Ok(Engine::with(dir, searcher, encoder))
    }

    /// Creates an empty index in `dir` (with vectors of `options.model` when
    /// `options.dense`) and opens it: for documents added from code, or a folder indexed
    /// with [`Engine::index_folder`]. An index already there is an error, not replaced.
    pub fn create(dir: &Path, options: &EngineOptions) -> Result<Engine> {
        if Store::open(dir).is_ok() {
            return Err(Error::IndexExists {
                path: dir.to_path_buf(),
            });
        }
        let encoder = match options.dense {
            true => Some(load_model(&options.model, None)?),
            false => None,
        };
        let writer = StoreWriter::open(
            dir,
            WriterOptions {
                root: PathBuf::new(),
                rebuild: false,
                threads: 1,
                model: encoder.as_ref().map(|e| (&e.identity, e.encoder.dim())),
            },
        )?;
        writer.commit()?;
        Ok(Engine::with(dir, Searcher::open(dir)?, encoder))
    }

    fn with(dir: &Path, searcher: Searcher, encoder: Option<EncoderEmbedder>) -> Engine {
        Engine {
            dir: dir.to_path_buf(),
            current: RwLock::new(Arc::new(searcher)),
            stamp: Mutex::new(FileStamp::of(dir)),
            encoder: encoder.map(Arc::new),
            writing: Mutex::new(()),
        }
    }

    /// Indexes (or updates) the folder `root` into this index with this engine's encoder,
    /// as `mlsearch index` does, then searches its commit. `options.embedder` is ignored.
    pub fn index_folder(
        &self,
        root: &Path,
        options: &IndexOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IndexReport> {
        let _one_writer = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let options = IndexOptions {
            embedder: self.embedder(),
            ..options.clone()
        };
        let report = crate::ingest::index_folder(root, &self.dir, &options, progress)?;
        self.refresh()?;
        Ok(report)
    }

    /// The index folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The searcher of the last picked-up commit (it stays valid while held, also after
    /// later commits).
    pub fn searcher(&self) -> Arc<Searcher> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The encoder, when dense search is on.
    pub fn encoder(&self) -> Option<&EncoderEmbedder> {
        self.encoder.as_deref()
    }

    /// Runs one query.
    pub fn search(&self, text: &str, options: &SearchOptions) -> Result<SearchResults> {
        let searcher = self.searcher();
        let vector = match self.wants_vector(&searcher, options) {
            true => Some(self.embed_queries(&[text])?.remove(0)),
            false => None,
        };
        searcher.search_with_vector(text, vector.as_deref(), options)
    }

    /// Runs many queries, embedding those that need a vector in one batch (faster per
    /// query than one at a time); one result per query, in order.
    pub fn search_many(&self, queries: &[(&str, &SearchOptions)]) -> Vec<Result<SearchResults>> {
        let searcher = self.searcher();
        let embedded: Vec<usize> = (0..queries.len())
            .filter(|&i| self.wants_vector(&searcher, queries[i].1))
            .collect();
        let texts: Vec<&str> = embedded.iter().map(|&i| queries[i].0).collect();
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; queries.len()];
        if !texts.is_empty() {
            match self.embed_queries(&texts) {
                Ok(made) => embedded.iter().zip(made).for_each(|(&i, v)| vectors[i] = Some(v)),
                Err(e) => {
                    let message = e.to_string();
                    return queries
                        .iter()
                        .enumerate()
                        .map(|(i, (text, options))| match embedded.contains(&i) {
                            true => Err(Error::Internal(format!("embedding the query: {message}"))),
                            false => searcher.search_with_vector(text, None, options),
                        })
                        .collect();
                }
            }
        }
        queries
            .iter()
            .zip(&vectors)
            .map(|((text, options), vector)| searcher.search_with_vector(text, vector.as_deref(), options))
            .collect()
    }

    /// Query vectors for `texts`, in one batch (for callers that batch themselves, such
    /// as the server; then [`Searcher::search_with_vector`]).
    pub fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encoder = self
            .encoder
            .as_ref()
            .ok_or_else(|| Error::NoVectors { path: self.dir.clone() })?;
        Ok(encoder.encoder.embed(texts, TextKind::Query)?)
    }

    /// Whether a search with `options` needs a query vector.
    pub fn wants_vector(&self, searcher: &Searcher, options: &SearchOptions) -> bool {
        self.encoder.is_some() && searcher.has_vectors() && options.mode != Some(Mode::Bm25)
    }

    /// Picks up the index's last commit when it is newer than the one in use; returns
    /// whether it did. Searches under way finish on the commit they started with. A commit
    /// whose vectors are of another model is refused (the one in use stays).
    pub fn refresh(&self) -> Result<bool> {
        let stamp = FileStamp::of(&self.dir);
        let mut seen = self.stamp.lock().unwrap_or_else(|e| e.into_inner());
        if stamp == *seen {
            return Ok(false);
        }
        let searcher = Searcher::open(&self.dir)?;
        if searcher.manifest().generation == self.searcher().manifest().generation {
            *seen = stamp;
            return Ok(false);
        }
        if let Some(encoder) = &self.encoder {
            searcher.check_model(&encoder.identity)?;
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(searcher);
        *seen = stamp;
        Ok(true)
    }

    /// A writer for documents added and removed through the library (and the server's
    /// `POST /documents`): it takes the index's writer lock, as `mlsearch index` does, so
    /// [`Error::Locked`] while another process writes.
    pub fn writer(&self) -> Result<DocumentWriter<'_>> {
        let guard = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        DocumentWriter::open(self, guard)
    }

    /// What the index holds (the fields of `mlsearch info --json`).
    pub fn stats(&self) -> Stats {
        Stats::of(&self.dir, self.searcher().manifest(), false)
    }

    fn embedder(&self) -> Option<&dyn PassageEmbedder> {
        self.encoder.as_deref().map(|e| e as &dyn PassageEmbedder)
    }
}

/// What an index holds: the answer of `mlsearch info --json` and of `GET /stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// The index folder (lossy where its name is not UTF-8: JSON strings are).
    pub index: String,
    /// On-disk format version.
    pub format_version: u32,
    /// The mlsearch version of the last commit.
    pub mlsearch_version: String,
    /// Commit number.
    pub generation: u64,
    /// The indexed folder.
    pub root: String,
    /// Files (and documents added through the API).
    pub files: usize,
    /// Documents.
    pub documents: u64,
    /// Passages.
    pub passages: u64,
    /// Passages per language.
    pub languages: BTreeMap<String, u64>,
    /// Size of the index folder.
    pub bytes_on_disk: u64,
    /// The vectors and the model that made them.
    pub vectors: Option<VectorsInfo>,
    /// Whether every byte was checked (`info --verify`).
    pub verified: bool,
}

impl Stats {
    /// The stats of the index in `dir` whose manifest is `manifest`.
    pub fn of(dir: &Path, manifest: &Manifest, verified: bool) -> Stats {
        let bytes_on_disk = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(|e| e.ok()?.metadata().ok())
            .filter(|md| md.is_file())
            .map(|md| md.len())
            .sum();
        Stats {
            index: dir.to_string_lossy().into_owned(),
            format_version: manifest.format_version,
            mlsearch_version: manifest.mlsearch_version.clone(),
            generation: manifest.generation,
            root: manifest.root.to_string_lossy().into_owned(),
            files: manifest.files.len(),
            documents: manifest.files.values().map(|f| u64::from(f.documents)).sum(),
            passages: manifest.passages(),
            languages: manifest.languages(),
            bytes_on_disk,
            vectors: manifest.vectors.clone(),
            verified,
        }
    }

    /// The stats of the index in `dir`, opened for it (with `verify`, every byte checked).
    pub fn read(dir: &Path, verify: bool) -> Result<Stats> {
        let store = Store::open(dir)?;
        if verify {
            store.verify()?;
        }
        Ok(Stats::of(dir, &store.manifest, verify))
    }
}

/// What identifies one version of `manifest.json`: a commit renames a new file into
/// place, so its inode (and size and time) change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    bytes: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(dir: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(dir.join("manifest.json")).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            inode,
            bytes: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A created index takes documents from code, then the first folder indexed into it;
    /// creating it again is refused and leaves it as it was.
    #[test]
    fn a_created_index_takes_documents_then_a_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("index");
        let bm25_only = EngineOptions {
            dense: false,
            ..EngineOptions::default()
        };
        let engine = Engine::create(&dir, &bm25_only).unwrap();
        assert_eq!(engine.stats().passages, 0);
        let mut writer = engine.writer().unwrap();
        let note = serde_json::json!({"id": "note-1", "text": "Der Bäcker knetet den Teig.", "lang": "de"});
        writer.add_record(&note).unwrap();
        writer.commit().unwrap();
        assert_eq!(
            engine.search("Bäcker", &SearchOptions::default()).unwrap().hits[0].doc,
            "note-1"
        );

        let folder = tmp.path().join("docs");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(
            folder.join("bread.txt"),
            "The baker kneads the dough early in the morning.",
        )
        .unwrap();
        let report = engine
            .index_folder(&folder, &IndexOptions::default(), &mut |_| {})
            .unwrap();
        assert!(report.committed && report.added == 1, "{report:?}");
        assert_eq!(
            engine.search("baker", &SearchOptions::default()).unwrap().hits[0].doc,
            "bread.txt"
        );
        assert_eq!(engine.stats().root, folder.canonicalize().unwrap().to_string_lossy());
        assert_eq!(
            engine.search("Bäcker", &SearchOptions::default()).unwrap().hits[0].doc,
            "note-1"
        );

        let again = Engine::create(&dir, &bm25_only);
        assert!(matches!(again, Err(Error::IndexExists { .. })), "{:?}", again.err());
        assert_eq!(Engine::open(&dir, &bm25_only).unwrap().stats().passages, 2);
    }
}
