//! Corpus: finding the files of a folder, reading them into [`Document`]s and splitting
//! documents into [`Passage`]s.
//!
//! Readers never panic on input: a file that cannot be read, is binary, or is not text
//! comes back as a [`ReadError`] that the caller reports and skips. Corpus knows nothing
//! about the index.

mod formats;
mod passages;

use std::path::{Path, PathBuf};

pub use formats::{read_documents, record, ReadError, ReadOutcome};
pub use passages::{split_passages, MAX_PASSAGE_WORDS, MIN_PASSAGE_WORDS};

/// One document of the corpus, as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Stable id: the file's path relative to the indexed folder for plain files, the
    /// record's `docid` / `_id` / `id` for JSON(L) records.
    pub id: String,
    /// Title, if the format has one (JSONL `title`, HTML `<title>`, SQuAD article title).
    pub title: String,
    /// Body text.
    pub text: String,
    /// Language given by the source (JSONL `lang` / `language`), ISO 639-1.
    pub lang: Option<String>,
}

/// A bounded piece of a document: the unit that is indexed and returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// Id of the document it belongs to.
    pub doc: String,
    /// 0-based number of the passage within its document.
    pub number: u32,
    /// Title of the document.
    pub title: String,
    /// Passage text (a slice of the document text, whole paragraphs where possible).
    pub text: String,
    /// ISO 639-1 language code (or `und`).
    pub lang: String,
}

/// How a file is read, chosen by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.txt`: plain text, paragraphs separated by blank lines.
    Text,
    /// `.md` / `.markdown`: as text; the first `# ` heading is the title.
    Markdown,
    /// `.html` / `.htm`: tags, scripts and styles removed; `<title>` is the title.
    Html,
    /// `.jsonl`: one JSON record a line.
    Jsonl,
    /// `.jsonl.gz`: gzipped JSONL.
    JsonlGz,
    /// `.json`: SQuAD (`data[].paragraphs[].context`), an array of records, or one record.
    Json,
}

impl Format {
    /// The format of a file name, or `None` if mlsearch does not read it.
    pub fn of(path: &Path) -> Option<Format> {
        // Lossy: a name that is not UTF-8 still has its (ASCII) extension.
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let format = if name.ends_with(".jsonl.gz") {
            Format::JsonlGz
        } else {
            match name.rsplit_once('.')?.1 {
                "txt" => Format::Text,
                "md" | "markdown" => Format::Markdown,
                "html" | "htm" => Format::Html,
                "jsonl" => Format::Jsonl,
                "json" => Format::Json,
                _ => return None,
            }
        };
        Some(format)
    }
}

/// A file to read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the indexed folder, with `/` separators (the manifest key).
    pub rel_path: String,
    /// Path to open.
    pub path: PathBuf,
    /// How to read it.
    pub format: Format,
}

/// The files of a folder, in a stable order.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files in a format mlsearch reads.
    pub files: Vec<SourceFile>,
    /// Files skipped for their type (count only: images, archives, ...).
    pub unsupported: usize,
    /// Entries that could not be listed (permission denied, broken links).
    pub errors: Vec<String>,
    /// Files whose names are not UTF-8, by the name they are indexed under (see
    /// [`relative_name`]).
    pub renamed: Vec<String>,
}

/// The name a file is indexed under: its path relative to the folder, with `/` between
/// components, and whether that is exactly its name. A component that is not UTF-8 has
/// each byte that is not part of a UTF-8 character written as `\xNN`, so two such names
/// never become one (a lossy conversion would make both `\u{fffd}`).
pub fn relative_name(rel: &Path) -> (String, bool) {
    let mut exact = true;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c.as_os_str().to_str() {
            Some(s) => s.to_string(),
            None => {
                exact = false;
                escape_non_utf8(c.as_os_str())
            }
        })
        .collect();
    (parts.join("/"), exact)
}

#[cfg(unix)]
fn escape_non_utf8(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}

#[cfg(not(unix))]
fn escape_non_utf8(name: &std::ffi::OsStr) -> String {
    name.to_string_lossy().into_owned()
}

/// Walks `root` recursively. Hidden files and folders (`.git`, `.mlsearch`) and the
/// folders in `exclude` (the index itself, when it lies inside `root`) are not entered.
pub fn discover(root: &Path, exclude: &[PathBuf]) -> Discovery {
    let mut found = Discovery::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let hidden = e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
            !hidden && !exclude.iter().any(|x| e.path() == x)
        });
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                found.errors.push(err.to_string());
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(format) = Format::of(entry.path()) else {
            found.unsupported += 1;
            continue;
        };
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let (rel_path, exact) = relative_name(rel);
        if !exact {
            found.renamed.push(rel_path.clone());
        }
        found.files.push(SourceFile {
            rel_path,
            path: entry.path().to_path_buf(),
            format,
        });
    }
    found
}
