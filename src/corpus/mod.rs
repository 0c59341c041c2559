//! Corpus: finding the files of a folder, reading them into [`Document`]s and splitting
//! documents into [`Passage`]s.
//!
//! Readers never panic on input: a file that cannot be read, is binary, or is not text
//! comes back as a [`ReadError`] that the caller reports and skips. Corpus knows nothing
//! about the index.

mod formats;
mod html;
mod office;
mod passages;
mod pdf;
mod walk;

use std::path::{Path, PathBuf};

pub use formats::{read_documents, record, ReadError, ReadOutcome};
pub use passages::{split_passages, MAX_PASSAGE_WORDS, MIN_PASSAGE_WORDS};
pub use walk::{discover, relative_name, Discovery, IgnoreRule, Ignored, WalkOptions};

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
    /// Paged formats (PDF): the byte offset in `text` where each page starts, page 1
    /// first; empty for formats without pages.
    pub pages: Vec<usize>,
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
    /// 1-based page of a paged document (PDF) the passage is on.
    pub page: Option<u32>,
}

impl Passage {
    /// What the encoder reads of a passage: its document's title, then its text.
    pub fn embedding_text(&self) -> String {
        if self.title.is_empty() {
            self.text.clone()
        } else {
            format!("{}\n{}", self.title, self.text)
        }
    }
}

/// The text of a binary format (PDF, DOCX, ODT, EPUB).
#[derive(Debug)]
pub(super) struct Extracted {
    /// Title from the file's metadata, or empty.
    pub title: String,
    /// Paragraphs separated by blank lines.
    pub text: String,
    /// Byte offsets of page starts (PDF), else empty.
    pub pages: Vec<usize>,
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
    /// `.pdf`: the text layer, page by page (a scanned PDF without one is refused).
    Pdf,
    /// `.docx`: Word (Office Open XML) paragraphs; the document title from its properties.
    Docx,
    /// `.odt`: OpenDocument text paragraphs and headings; the title from its metadata.
    Odt,
    /// `.epub`: the chapters in reading (spine) order; the book's title.
    Epub,
}

impl Format {
    /// The file types read, for messages.
    pub const EXTENSIONS: &'static str = ".txt, .md, .html, .json, .jsonl, .jsonl.gz, .pdf, .docx, .odt, .epub";

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
                "pdf" => Format::Pdf,
                "docx" => Format::Docx,
                "odt" => Format::Odt,
                "epub" => Format::Epub,
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
