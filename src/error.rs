//! The library's error type. Errors the user can fix (no index, wrong format version,
//! bad language tag) carry the path or value and say what to do; the CLI maps them to
//! exit codes.

use std::path::PathBuf;

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in mlsearch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No index where one was expected.
    #[error("no index at {}: create one with `mlsearch index <DIR> --index {}`", path.display(), path.display())]
    IndexMissing {
        /// Where the index was looked for.
        path: PathBuf,
    },
    /// A benchmark or training corpus asked for without saying where it is.
    #[error(
        "where is {name}? Pass --data DIR (the folder holding it), or set MLSEARCH_DATA to the \
         folder that holds {name}/"
    )]
    DataNotGiven {
        /// The data set's folder name (`xquad-r`, `miracl-dev`, `squad2-fi`, …).
        name: String,
    },
    /// An index where a new one was to be created ([`crate::engine::Engine::create`]).
    #[error("an index already exists at {}: open it, or remove it first", path.display())]
    IndexExists {
        /// The index folder.
        path: PathBuf,
    },
    /// An index written by another format version.
    #[error(
        "index at {} has format version {found}, but this mlsearch reads format version {supported}; \
         rebuild it with `mlsearch index <DIR> --index {} --rebuild`",
        path.display(), path.display()
    )]
    UnsupportedFormat {
        /// The index folder.
        path: PathBuf,
        /// Version found in its manifest.
        found: u32,
        /// Version this build reads and writes.
        supported: u32,
    },
    /// An index whose files are damaged or inconsistent.
    #[error("index at {} is corrupt: {reason}; rebuild it with `mlsearch index <DIR> --index {} --rebuild`", path.display(), path.display())]
    Corrupt {
        /// The index folder or the damaged file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The index was built from another folder; updating it would delete that folder's passages.
    #[error(
        "index at {} was built from {}, not {}; use --rebuild to replace it, or --index to choose another location",
        path.display(), indexed.display(), requested.display()
    )]
    OtherRoot {
        /// The index folder.
        path: PathBuf,
        /// The folder it was built from.
        indexed: PathBuf,
        /// The folder given now.
        requested: PathBuf,
    },
    /// The index holds another model's vectors (or none, or some where none were asked for).
    #[error("index at {} holds vectors of {indexed}, not {requested}; {advice}", path.display())]
    OtherModel {
        /// The index folder.
        path: PathBuf,
        /// The vectors in the index.
        indexed: String,
        /// What this run asked for.
        requested: String,
        /// What to do about it (see `ModelIdentity::mismatch`).
        advice: String,
    },
    /// Dense or hybrid search on an index without vectors (or without the encoder).
    #[error("index at {} has no vectors (it was built with --no-vectors): use --mode bm25, or rebuild it with vectors", path.display())]
    NoVectors {
        /// The index folder.
        path: PathBuf,
    },
    /// Another process is writing this index.
    #[error("index is being written by another process ({} is held{}); wait for it to finish", path.display(), if holder.is_empty() { String::new() } else { format!(" by {holder}") })]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as the holder wrote it (`pid N`), if readable.
        holder: String,
    },
    /// A folder that yields no passages.
    #[error("nothing to index in {}: {reason}", path.display())]
    NothingToIndex {
        /// The folder given.
        path: PathBuf,
        /// Why nothing was found.
        reason: String,
    },
    /// A language tag that is not ISO 639-1 / 639-3 shaped.
    #[error("invalid language {0:?}: use ISO 639-1 codes such as en, de, zh (or `any`)")]
    InvalidLanguage(String),
    /// A setting outside its range (the message names it).
    #[error("{0}")]
    InvalidSetting(String),
    /// A document given to the library or the server that cannot be indexed.
    #[error("document {id:?}: {reason}")]
    Document {
        /// Its id (empty when it has none).
        id: String,
        /// Why.
        reason: String,
    },
    /// A malformed line in a queries, topics, qrels or training file.
    #[error("{}:{line}: {reason}", path.display())]
    QueriesFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A benchmark or training data set that cannot be used as it is.
    #[error("{}: {reason}", path.display())]
    Data {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An I/O error on a named file.
    #[error("{}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error of the encoder (model file, tokenizer, tensor computation).
    #[error(transparent)]
    Encoder(#[from] crate::encoder::EncoderError),
    /// A failure of mlsearch itself (a bug): not the user's input, not damage.
    #[error("internal error (please report it): {0}")]
    Internal(String),
    /// An error inside Tantivy, on the index it names.
    #[error("BM25 index at {}: {source}", path.display())]
    Tantivy {
        /// The index folder.
        path: PathBuf,
        /// Tantivy's error.
        source: tantivy::TantivyError,
    },
}

/// Tensor errors (training's arithmetic) are the encoder's.
impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Error {
        Error::Encoder(e.into())
    }
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The message of a caught panic (`catch_unwind`'s payload), or "" when it has none.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, a third-party parser that may panic on damaged input, and returns its panic
/// as an error message (at most 200 characters) instead of unwinding; the panic is not
/// printed (other threads' panics still are).
pub fn catch_quietly<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|panic| {
        let message = panic_message(&*panic);
        match message.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message,
        }
    })
}
