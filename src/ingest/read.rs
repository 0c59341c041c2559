//! Reading one file on a worker thread: size limit, bytes, BLAKE3 (an unchanged file is
//! not parsed), documents, passages with their languages. A panic while parsing (a bug
//! meeting an odd file) fails that file only.

use std::collections::BTreeMap;
use std::fs;

use crate::corpus::{read_documents, split_passages, Passage, ReadError, SourceFile};
use crate::store::FileEntry;

/// A file after the worker threads' part of the work.
pub(super) enum Prepared {
    /// Same hash as in the manifest.
    Unchanged { bytes: u64 },
    /// Could not be read or parsed.
    Failed { reason: String, bytes: u64 },
    /// JSON that holds no documents and names no text field (a `package.json`): not a
    /// document file, counted rather than reported.
    NotDocuments { reason: String, bytes: u64 },
    /// New or changed: its manifest entry and passages.
    Read {
        entry: FileEntry,
        passages: Vec<Passage>,
        warnings: Vec<String>,
    },
}

/// The default of [`IndexOptions::max_file_bytes`]: 256 MiB.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Reads, hashes, parses and splits one file (on a worker thread); a file whose size and
/// modification time are those of its `previous` entry is not read. A panic while parsing
/// (a bug meeting an odd file) fails that file only, with its message.
pub(super) fn prepare(
    file: &SourceFile,
    previous: Option<&FileEntry>,
    default_lang: Option<&str>,
    max_bytes: u64,
) -> Prepared {
    match std::panic::catch_unwind(|| prepare_file(file, previous, default_lang, max_bytes)) {
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
    previous: Option<&FileEntry>,
    default_lang: Option<&str>,
    max_bytes: u64,
) -> Prepared {
    let metadata = fs::metadata(&file.path);
    if let (Ok(m), Some(entry)) = (&metadata, previous) {
        if entry.same_version(m) {
            return Prepared::Unchanged { bytes: m.len() };
        }
    }
    // Taken before reading: a change during the read makes the next run read it again.
    let modified = metadata.as_ref().ok().and_then(FileEntry::settled_mtime);
    match metadata {
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
    if previous.is_some_and(|p| p.blake3 == hash) {
        return Prepared::Unchanged { bytes: size };
    }
    let outcome = match read_documents(file, &bytes, max_bytes) {
        Ok(outcome) => outcome,
        Err(e @ ReadError::NotDocuments) => {
            return Prepared::NotDocuments {
                reason: e.to_string(),
                bytes: size,
            }
        }
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
        modified,
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

/// The message for a file that is skipped (`kept`: it was indexed before).
pub(super) fn skip_message(rel_path: &str, reason: &str, kept: bool) -> String {
    let kept = if kept {
        "; its previously indexed passages are kept"
    } else {
        ""
    };
    format!("{rel_path}: skipped: {reason}{kept}")
}
