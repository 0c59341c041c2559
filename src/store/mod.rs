//! Store: the index on disk. A folder holding `manifest.json`, the Tantivy index in
//! `bm25/`, and (from format 2 on) the vectors in `vectors/`; see `index-format/`.
//!
//! Commits are atomic: the new manifest is written beside the old one, Tantivy commits
//! with the new manifest's BLAKE3 as its payload, then the manifest is renamed into place.
//! Opening checks that the manifest and Tantivy's last commit agree, finishing an
//! interrupted rename, so a crash at any point leaves the last good index usable.
//! The store is the on-disk format alone: [`Store`] reads an index, [`StoreWriter`] is the
//! one code that writes one. It never runs the encoder; it records what made the data.

mod lock;
mod manifest;
pub mod vectors;
mod writer;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::Index;

pub use lock::{WriterLock, LOCK_FILE};
pub use manifest::{AnalysisSettings, AnalyzerSettings, Bm25Params, FileEntry, Manifest, FORMAT_VERSION};
pub use vectors::{
    LanguageSums, ModelIdentity, PassageEmbedder, VectorFile, Vectors, VectorsInfo, EXACT_SCAN_MAX, EXPANSION_SEARCH,
};
#[cfg(test)]
pub(crate) use writer::FAIL_AFTER;
pub use writer::{CommitStep, EachVector, StoreWriter, VectorSink, WriterOptions};

use crate::analysis::{self, is_known, register_analyzers, LANGUAGES, UNDETERMINED};
use crate::error::{Error, Result};

const MANIFEST: &str = "manifest.json";
const MANIFEST_NEXT: &str = "manifest.json.next";
const BM25_DIR: &str = "bm25";
pub(crate) const VECTORS_DIR: &str = "vectors";

/// Where a document added through the API (not read from a file of the folder) is
/// recorded: under `/api/<id>` in the manifest's files and the passages' `file` field. A
/// file's name relative to the folder never starts with `/`, so the two never meet, and
/// `mlsearch index` leaves these alone (see index-format/).
pub const API_DOCUMENTS: &str = "/api/";

/// The file name under which the API document `id` is recorded.
pub fn api_document(id: &str) -> String {
    format!("{API_DOCUMENTS}{id}")
}

/// Whether a manifest file name is that of an API document.
pub fn is_api_document(file: &str) -> bool {
    file.starts_with(API_DOCUMENTS)
}

/// The Tantivy fields of a passage.
#[derive(Debug, Clone)]
pub struct Fields {
    /// Source file, relative to the indexed folder (for incremental updates).
    pub file: Field,
    /// Document id.
    pub doc: Field,
    /// Passage number within the document.
    pub passage: Field,
    /// Passage key, shared with the vector index.
    pub key: Field,
    /// Language code.
    pub lang: Field,
    /// Document title (stored).
    pub title: Field,
    /// Passage text (stored).
    pub text: Field,
    /// Page of a paged document (PDF), where known; absent in indexes made before pages
    /// were recorded.
    pub page: Option<Field>,
    /// BM25 field of each analyzer (`bm25_<code>`), keyed by language code.
    bm25: BTreeMap<&'static str, Field>,
}

impl Fields {
    fn schema() -> Schema {
        let mut builder = Schema::builder();
        builder.add_text_field("file", STRING | STORED);
        builder.add_text_field("doc", STRING | STORED);
        builder.add_u64_field("passage", STORED);
        builder.add_u64_field("key", INDEXED | STORED | FAST);
        builder.add_text_field("lang", STRING | STORED | FAST);
        builder.add_text_field("title", STORED);
        builder.add_text_field("text", STORED);
        builder.add_u64_field("page", STORED);
        for l in LANGUAGES {
            // Term frequencies are enough for BM25; user text is never a phrase query.
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(&analysis::analyzer_name(l.code))
                .set_index_option(IndexRecordOption::WithFreqs);
            builder.add_text_field(
                &format!("bm25_{}", l.code),
                TextOptions::default().set_indexing_options(indexing),
            );
        }
        builder.build()
    }

    fn from_schema(schema: &Schema) -> tantivy::Result<Fields> {
        let mut bm25 = BTreeMap::new();
        for l in LANGUAGES {
            bm25.insert(l.code, schema.get_field(&format!("bm25_{}", l.code))?);
        }
        Ok(Fields {
            file: schema.get_field("file")?,
            doc: schema.get_field("doc")?,
            passage: schema.get_field("passage")?,
            key: schema.get_field("key")?,
            lang: schema.get_field("lang")?,
            title: schema.get_field("title")?,
            text: schema.get_field("text")?,
            page: schema.get_field("page").ok(),
            bm25,
        })
    }

    /// The BM25 field holding passages of `lang`: its own, or the shared `und` field.
    pub fn bm25(&self, lang: &str) -> Field {
        let code = if is_known(lang) { lang } else { UNDETERMINED };
        self.bm25[code]
    }

    /// Whether passages of `lang` share the `und` field (and need a `lang` filter).
    pub fn shares_field(lang: &str) -> bool {
        !is_known(lang)
    }
}

/// An open index.
pub struct Store {
    /// The index folder.
    pub dir: PathBuf,
    /// The Tantivy index.
    pub index: Index,
    /// Its fields.
    pub fields: Fields,
    /// The manifest of the last commit (or of the one being prepared).
    pub manifest: Manifest,
}

impl Store {
    /// Opens the index in `dir` for reading, checking its format version and that the
    /// manifest and the BM25 index belong to the same commit. Writes nothing: a commit
    /// whose manifest rename was interrupted (or is under way) is read from
    /// `manifest.json.next`.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with(dir, None)
    }

    /// Opens the index in `dir` for the holder of its writer lock, who also finishes an
    /// interrupted manifest rename.
    pub fn open_to_write(dir: &Path, lock: &WriterLock) -> Result<Store> {
        Store::open_with(dir, Some(lock))
    }

    fn open_with(dir: &Path, lock: Option<&WriterLock>) -> Result<Store> {
        damage_as_error(dir, || Store::open_unguarded(dir, lock))
    }

    fn open_unguarded(dir: &Path, lock: Option<&WriterLock>) -> Result<Store> {
        let bm25_dir = dir.join(BM25_DIR);
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.exists() && !dir.join(MANIFEST_NEXT).exists() {
            return Err(Error::IndexMissing {
                path: dir.to_path_buf(),
            });
        }
        if manifest_path.exists() {
            check_version(dir, &read(&manifest_path)?)?;
        }
        if !bm25_dir.join("meta.json").exists() {
            return Err(corrupt(dir, "the bm25/ folder or its meta.json is missing"));
        }
        let index = Index::open_in_dir(&bm25_dir).map_err(|e| corrupt(dir, &format!("cannot open bm25/: {e}")))?;
        let payload = index
            .load_metas()
            .map_err(|e| corrupt(dir, &format!("cannot read bm25/meta.json: {e}")))?
            .payload;
        let committed = payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok());
        let committed_hash = committed
            .as_ref()
            .and_then(|v| v["manifest_blake3"].as_str())
            .map(str::to_string);
        let Some(committed_hash) = committed_hash else {
            return Err(corrupt(dir, "the BM25 index has no commit from mlsearch"));
        };
        let bytes = committed_manifest(dir, &committed_hash, lock.is_some())?;
        check_version(dir, &bytes)?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(dir, &format!("manifest.json: {e}")))?;
        register_analyzers(&index);
        let fields = Fields::from_schema(&index.schema()).map_err(|e| corrupt(dir, &format!("schema: {e}")))?;
        let store = Store {
            dir: dir.to_path_buf(),
            index,
            fields,
            manifest,
        };
        // Tantivy trusts its files' bytes when it reads them (damage can make it panic):
        // a small index has every checksum checked here, a few ms; a large one only by
        // `info --verify`, so opening costs the same at any size.
        if bm25_bytes(&bm25_dir) <= vectors::FULL_CHECK_MAX {
            store.verify_bm25()?;
        }
        Ok(store)
    }

    /// Creates an empty index of `root` in `dir` for the holder of its writer lock,
    /// replacing whatever is in `dir/bm25`. Nothing is visible to readers until the first
    /// commit.
    fn create(dir: &Path, root: PathBuf, _lock: &WriterLock) -> Result<Store> {
        let bm25_dir = dir.join(BM25_DIR);
        if bm25_dir.exists() {
            fs::remove_dir_all(&bm25_dir).map_err(|e| Error::io(&bm25_dir, e))?;
        }
        fs::create_dir_all(&bm25_dir).map_err(|e| Error::io(&bm25_dir, e))?;
        let index = Index::create_in_dir(&bm25_dir, Fields::schema()).at(dir)?;
        register_analyzers(&index);
        let fields = Fields::from_schema(&index.schema()).at(dir)?;
        Ok(Store {
            dir: dir.to_path_buf(),
            index,
            fields,
            manifest: Manifest::new(root),
        })
    }

    /// Checks every byte of the committed index (`mlsearch info --verify`): Tantivy's
    /// checksum of each BM25 file, the vector file's BLAKE3, and that the vector index
    /// opens with the manifest's count and dimension.
    pub fn verify(&self) -> Result<()> {
        self.verify_bm25()?;
        if let Some(info) = &self.manifest.vectors {
            vectors::verify_file(&self.vectors_dir(), info)?;
            Vectors::view(&self.vectors_dir(), info)?;
        }
        Ok(())
    }

    /// Tantivy's checksum of every BM25 file of the commit.
    fn verify_bm25(&self) -> Result<()> {
        damage_as_error(&self.dir, || self.verify_bm25_unguarded())
    }

    fn verify_bm25_unguarded(&self) -> Result<()> {
        let damaged = self
            .index
            .validate_checksum()
            .map_err(|e| corrupt(&self.dir, &format!("cannot check bm25/: {e}")))?;
        if let Some(file) = damaged.iter().min() {
            return Err(Error::Corrupt {
                path: self.dir.join(BM25_DIR).join(file),
                reason: format!("checksum mismatch ({} damaged BM25 files)", damaged.len()),
            });
        }
        Ok(())
    }

    /// The folder of the vector files.
    pub fn vectors_dir(&self) -> PathBuf {
        self.dir.join(VECTORS_DIR)
    }
}

/// Runs `open` on the index in `dir`, again (up to three times) when it fails while a
/// commit (or a merge) replaces the manifest or Tantivy's meta.json: a reader that read
/// the old ones may find a file that the commit after it removed, and then opens the new
/// commit instead.
pub fn open_retrying<T>(dir: &Path, mut open: impl FnMut() -> Result<T>) -> Result<T> {
    // Tantivy's meta.json changes without the manifest too: a background merge commits
    // and then removes the merged segments' files.
    let stamp = || {
        [dir.join(MANIFEST), dir.join(BM25_DIR).join("meta.json")]
            .map(|path| fs::metadata(path).ok().map(|m| (m.len(), m.modified().ok(), inode(&m))))
    };
    let mut tries = 0;
    loop {
        let before = stamp();
        match open() {
            Err(Error::Corrupt { .. } | Error::Io { .. } | Error::Tantivy { .. }) if tries < 3 && stamp() != before => {
                tries += 1;
            }
            result => return result,
        }
    }
}

#[cfg(unix)]
fn inode(metadata: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(metadata)
}

#[cfg(not(unix))]
fn inode(_metadata: &fs::Metadata) -> u64 {
    0
}

/// The manifest bytes that match the BM25 commit: `manifest.json`, or a
/// `manifest.json.next` whose rename was interrupted (or is about to happen). The writer
/// (`finish_rename`) finishes the rename; a reader must not: it would race the writer's
/// own rename.
fn committed_manifest(dir: &Path, committed_hash: &str, finish_rename: bool) -> Result<Vec<u8>> {
    let path = dir.join(MANIFEST);
    let next = dir.join(MANIFEST_NEXT);
    let hash = |bytes: &[u8]| blake3::hash(bytes).to_hex().to_string();
    if path.exists() {
        let bytes = read(&path)?;
        if hash(&bytes) == committed_hash {
            return Ok(bytes);
        }
    }
    if next.exists() {
        let bytes = read(&next)?;
        if hash(&bytes) == committed_hash {
            if finish_rename {
                fs::rename(&next, &path).map_err(|e| Error::io(&path, e))?;
                sync_dir(dir);
            }
            return Ok(bytes);
        }
    }
    Err(corrupt(
        dir,
        "manifest.json does not belong to the BM25 index's last commit",
    ))
}

/// Runs `read` over the index in `dir`, turning a panic inside it into a damage error:
/// Tantivy reads its files (fast fields, term dictionaries) without checking them all
/// first, and some damaged bytes make it panic. Opening checks every byte of indexes up
/// to `FULL_CHECK_MAX`, so this is for damage in larger ones.
pub(crate) fn damage_as_error<T>(dir: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let message = crate::error::panic_message(&*panic);
        Err(Error::Corrupt {
            path: dir.to_path_buf(),
            reason: format!(
                "reading it failed ({message}): a file is damaged; `mlsearch info --verify` names it, `index --rebuild` makes the index again"
            ),
        })
    })
}

/// Bytes of the files in `bm25/` (one directory listing).
fn bm25_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn check_version(dir: &Path, bytes: &[u8]) -> Result<()> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(dir, &format!("manifest.json is not valid JSON: {e}")))?;
    let found = value["format_version"]
        .as_u64()
        .ok_or_else(|| corrupt(dir, "manifest.json has no format_version"))?;
    if found != u64::from(FORMAT_VERSION) {
        return Err(Error::UnsupportedFormat {
            path: dir.to_path_buf(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}

/// Tantivy results with the index folder attached to their errors.
pub(crate) trait AtIndex<T> {
    /// The result, its error naming the index in `dir`.
    fn at(self, dir: &Path) -> Result<T>;
}

impl<T> AtIndex<T> for tantivy::Result<T> {
    fn at(self, dir: &Path) -> Result<T> {
        self.map_err(|e| tantivy_error(dir, e))
    }
}

/// A Tantivy failure on the index in `dir`.
pub(crate) fn tantivy_error(dir: &Path, source: tantivy::TantivyError) -> Error {
    Error::Tantivy {
        path: dir.to_path_buf(),
        source,
    }
}

fn corrupt(dir: &Path, reason: &str) -> Error {
    Error::Corrupt {
        path: dir.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(path, e))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = fs::File::create(path).map_err(|e| Error::io(path, e))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Makes a rename durable. Failure is harmless for correctness (only durability), so ignored.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
