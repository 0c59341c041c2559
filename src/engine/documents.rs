//! Documents added and removed through the library (and the server's `/documents`): each
//! is recorded as the "file" `/api/<id>` (see [`crate::store::api_document`]), split into
//! passages and embedded like a file's documents, and published by the same
//! [`StoreWriter`] commit as `mlsearch index` makes, under its lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::MutexGuard;

use serde::Serialize;

use super::Engine;
use crate::corpus::{record, split_passages, Document};
use crate::error::{Error, Result};
use crate::store::{api_document, is_api_document, FileEntry, StoreWriter, WriterOptions};

/// Longest document id accepted (ids become file names in the manifest and in hits).
pub const MAX_ID_BYTES: usize = 512;

/// What a [`DocumentWriter`] did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct WriteReport {
    /// Documents that were new.
    pub added: usize,
    /// Documents that replaced one with the same id.
    pub replaced: usize,
    /// Documents removed.
    pub removed: usize,
    /// Passages written.
    pub passages: usize,
    /// The commit that published them (0 when nothing was committed).
    pub generation: u64,
}

/// Adds and removes documents; nothing is visible until [`DocumentWriter::commit`], and a
/// writer dropped without a commit leaves the index as it was.
pub struct DocumentWriter<'a> {
    engine: &'a Engine,
    writer: StoreWriter,
    /// Raw vectors of the added passages, by document id (key, language, vector).
    embedded: HashMap<String, Vec<(u64, String, Vec<f32>)>>,
    report: WriteReport,
    _one_writer: MutexGuard<'a, ()>,
}

impl<'a> DocumentWriter<'a> {
    pub(super) fn open(engine: &'a Engine, one_writer: MutexGuard<'a, ()>) -> Result<DocumentWriter<'a>> {
        let searcher = engine.searcher();
        let manifest = searcher.manifest();
        let model = match (&manifest.vectors, engine.embedder()) {
            (None, _) => None,
            (Some(_), Some(embedder)) => Some((embedder.identity(), embedder.dim())),
            (Some(_), None) => {
                return Err(Error::InvalidSetting(format!(
                    "the index at {} has vectors: open it with the encoder to add documents",
                    engine.dir.display()
                )))
            }
        };
        let writer = StoreWriter::open(
            &engine.dir,
            WriterOptions {
                root: manifest.root.clone(),
                rebuild: false,
                threads: 1,
                model,
            },
        )?;
        Ok(DocumentWriter {
            engine,
            writer,
            embedded: HashMap::new(),
            report: WriteReport::default(),
            _one_writer: one_writer,
        })
    }

    /// Adds a document given as a JSON record with the fields the JSONL reader takes (an
    /// id from `docid`, `_id` or `id` is required here); returns its passage count.
    pub fn add_record(&mut self, value: &serde_json::Value) -> Result<usize> {
        let document = record(value, String::new()).map_err(|reason| Error::Document {
            id: String::new(),
            reason,
        })?;
        self.add(document)
    }

    /// Adds `document`, replacing an API document with the same id; returns its passage
    /// count. Its passages are embedded now (when the index has vectors).
    pub fn add(&mut self, document: Document) -> Result<usize> {
        let refuse = |reason: &str| Error::Document {
            id: document.id.clone(),
            reason: reason.to_string(),
        };
        if document.id.trim().is_empty() {
            return Err(refuse("a document needs an id (\"docid\", \"_id\" or \"id\")"));
        }
        if document.id.len() > MAX_ID_BYTES {
            return Err(refuse(&format!("ids are at most {MAX_ID_BYTES} bytes")));
        }
        let passages = split_passages(&document, None);
        if passages.is_empty() {
            return Err(refuse("no text"));
        }
        let file = api_document(&document.id);
        let vectors = match (self.writer.has_vectors(), self.engine.embedder()) {
            (true, Some(embedder)) => {
                let texts: Vec<String> = passages.iter().map(crate::corpus::Passage::embedding_text).collect();
                embedder.embed_passages(&texts.iter().map(String::as_str).collect::<Vec<_>>())?
            }
            _ => Vec::new(),
        };
        let mut languages = BTreeMap::new();
        for passage in &passages {
            *languages.entry(passage.lang.clone()).or_insert(0) += 1;
        }
        let bytes = serde_json::to_vec(&(&document.id, &document.title, &document.text, &document.lang))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let entry = FileEntry {
            blake3: blake3::hash(&bytes).to_hex().to_string(),
            bytes: bytes.len() as u64,
            documents: 1,
            passages: passages.len() as u32,
            languages,
            modified: None,
        };
        let existed = self.writer.manifest().files.contains_key(&file);
        let keys = self.writer.add_file(&file, entry, &passages)?;
        let raw = keys
            .into_iter()
            .zip(passages.iter().map(|p| p.lang.clone()))
            .zip(vectors)
            .map(|((key, lang), vector)| (key, lang, vector))
            .collect();
        // A second version in the same writer replaces the first one's vectors too.
        self.embedded.insert(document.id, raw);
        match existed {
            true => self.report.replaced += 1,
            false => self.report.added += 1,
        }
        self.report.passages += passages.len();
        Ok(passages.len())
    }

    /// Removes the API document `id`; false when there is none (documents read from
    /// files change with their files, not here).
    pub fn remove(&mut self, id: &str) -> Result<bool> {
        self.embedded.remove(id);
        let file = api_document(id);
        debug_assert!(is_api_document(&file));
        let removed = self.writer.remove_file(&file)?;
        self.report.removed += usize::from(removed);
        Ok(removed)
    }

    /// Publishes the changes in one commit (nothing when there are none) and has the
    /// engine pick it up.
    pub fn commit(mut self) -> Result<WriteReport> {
        if self.report.added + self.report.replaced + self.report.removed == 0 {
            return Ok(self.report);
        }
        let embedded = std::mem::take(&mut self.embedded);
        // Centred like the rest: an index made with --no-centring has no means.
        let centring = self.writer.centres_vectors();
        self.writer.add_raw_vectors(centring, &mut |sink| {
            for (key, lang, vector) in embedded.values().flatten() {
                sink(*key, lang, vector.clone())?;
            }
            Ok(())
        })?;
        let generation = self.writer.manifest().generation + 1;
        self.writer.commit()?;
        self.report.generation = generation;
        self.engine.refresh()?;
        Ok(self.report)
    }
}
