//! Readers for the file formats mlsearch indexes. Each takes the file's bytes and returns
//! its documents, or a [`ReadError`] saying why the file is skipped.

use std::borrow::Cow;
use std::io::Read;

use serde_json::Value;

use super::html::html_to_text;
use super::{Document, Extracted, Format, SourceFile};
use crate::analysis::normalize_tag;

/// Why a file could not be read. The indexer reports it and skips the file.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReadError {
    /// NUL bytes: an image, an archive, a binary.
    #[error("binary file (contains NUL bytes)")]
    Binary,
    /// UTF-16 text (byte-order mark): mlsearch reads UTF-8.
    #[error("UTF-16 text; convert it to UTF-8")]
    Utf16,
    /// Too many invalid UTF-8 sequences to be text in another encoding worth guessing at.
    #[error("not UTF-8 text ({invalid} invalid byte sequences)")]
    NotUtf8 {
        /// Number of invalid sequences.
        invalid: usize,
    },
    /// A `.gz` file that does not decompress.
    #[error("cannot decompress: {0}")]
    Gzip(String),
    /// A `.gz` file that inflates past the size limit.
    #[error("inflates past the size limit of {0} bytes (--max-filesize)")]
    Inflates(u64),
    /// JSON that does not parse or has no documents in a layout mlsearch knows, though
    /// it looks like a document file (it names a text field).
    #[error("{0}")]
    Json(String),
    /// JSON that is not a document file (a `package.json`, `renovate.json`, a test
    /// fixture): no record names a text field, so nothing was meant to be indexed. The
    /// indexer counts such files in its summary instead of warning about each.
    #[error("no documents: expected SQuAD (`data[].paragraphs[].context`) or records with a \"text\" field")]
    NotDocuments,
    /// A DOCX, ODT or EPUB file whose zip container or XML cannot be read.
    #[error("not a readable {format} file: {reason}")]
    Container {
        /// `DOCX`, `ODT`, `EPUB`.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A PDF that cannot be parsed (damaged, encrypted, or beyond the PDF reader).
    #[error("cannot read the PDF: {0}")]
    Pdf(String),
    /// A PDF whose pages carry no text (a scan): nothing to index without OCR.
    #[error("PDF without a text layer ({pages} page{}, no text: a scan?); run OCR on it first", plural(.pages))]
    NoTextLayer {
        /// Its pages.
        pages: usize,
    },
}

/// `s` unless one.
fn plural(n: &usize) -> &'static str {
    if *n == 1 {
        ""
    } else {
        "s"
    }
}

/// The documents of a file plus warnings about parts that were skipped or repaired.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// Documents in file order.
    pub documents: Vec<Document>,
    /// Human-readable notes (lossy decoding, skipped JSONL lines).
    pub warnings: Vec<String>,
}

/// Lossy decoding is allowed when at most 1 byte in this many is part of an invalid
/// sequence: a stray Latin-1 character in otherwise UTF-8 text, not a different encoding.
const LOSSY_BYTES_PER_INVALID: usize = 200;

/// Reads the documents of `file` from its `bytes`.
pub fn read_documents(file: &SourceFile, bytes: &[u8], max_bytes: u64) -> Result<ReadOutcome, ReadError> {
    let mut outcome = ReadOutcome::default();
    let rel = &file.rel_path;
    // The zip and XML readers are third-party parsers too: a panic of theirs on a damaged
    // file is that file's damage (the PDF reader catches its own, to say so).
    let zipped = |format: &'static str, read: fn(&[u8], u64) -> Result<Extracted, ReadError>| {
        crate::error::catch_quietly(|| read(bytes, max_bytes)).unwrap_or_else(|panic| {
            Err(ReadError::Container {
                format,
                reason: format!("damaged ({panic})"),
            })
        })
    };
    let binary = match file.format {
        Format::Pdf => Some(super::pdf::read(bytes)?),
        Format::Docx => Some(zipped("DOCX", super::office::read_docx)?),
        Format::Odt => Some(zipped("ODT", super::office::read_odt)?),
        Format::Epub => Some(zipped("EPUB", super::office::read_epub)?),
        _ => None,
    };
    if let Some(extracted) = binary {
        outcome.documents.push(Document {
            id: rel.clone(),
            title: extracted.title,
            text: extracted.text,
            lang: None,
            pages: extracted.pages,
        });
        return Ok(outcome);
    }
    let decompressed;
    let bytes = if file.format == Format::JsonlGz {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| ReadError::Gzip(e.to_string()))?;
        if out.len() as u64 > max_bytes {
            return Err(ReadError::Inflates(max_bytes));
        }
        decompressed = out;
        &decompressed[..]
    } else {
        bytes
    };
    let text = decode(bytes, &mut outcome.warnings)?;
    match file.format {
        Format::Text => outcome
            .documents
            .push(Document::plain(rel, String::new(), text.into_owned())),
        Format::Markdown => {
            let title = text
                .lines()
                .find_map(|l| l.strip_prefix("# "))
                .map(|t| t.trim().to_string())
                .unwrap_or_default();
            outcome.documents.push(Document::plain(rel, title, text.into_owned()));
        }
        Format::Html => {
            let (title, body) = html_to_text(&text);
            outcome.documents.push(Document::plain(rel, title, body));
        }
        Format::Jsonl | Format::JsonlGz => read_jsonl(rel, &text, &mut outcome)?,
        Format::Json => read_json(rel, &text, &mut outcome)?,
        Format::Pdf | Format::Docx | Format::Odt | Format::Epub => {} // returned above
    }
    Ok(outcome)
}

impl Document {
    fn plain(id: &str, title: String, text: String) -> Document {
        Document {
            id: id.to_string(),
            title,
            text,
            lang: None,
            pages: Vec::new(),
        }
    }
}

/// UTF-8 (with or without BOM); lossy only for text with rare invalid bytes.
fn decode<'a>(bytes: &'a [u8], warnings: &mut Vec<String>) -> Result<Cow<'a, str>, ReadError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(ReadError::Utf16);
    }
    if bytes.contains(&0) {
        return Err(ReadError::Binary);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    let invalid = invalid_utf8_sequences(bytes);
    if invalid * LOSSY_BYTES_PER_INVALID > bytes.len() {
        return Err(ReadError::NotUtf8 { invalid });
    }
    warnings.push(format!(
        "not valid UTF-8: {invalid} invalid byte sequences replaced with U+FFFD"
    ));
    Ok(String::from_utf8_lossy(bytes))
}

fn invalid_utf8_sequences(mut bytes: &[u8]) -> usize {
    let mut count = 0;
    loop {
        match std::str::from_utf8(bytes) {
            Ok(_) => return count,
            Err(e) => {
                count += 1;
                let skip = e.valid_up_to() + e.error_len().unwrap_or(bytes.len() - e.valid_up_to()).max(1);
                bytes = &bytes[skip.min(bytes.len())..];
            }
        }
    }
}

/// Reads one JSON record (`docid`|`_id`|`id`, `title`, `text`|`contents`|`body`,
/// `lang`|`language`), as the JSONL reader does; `fallback_id` when it has no id.
pub fn record(value: &Value, fallback_id: String) -> Result<Document, String> {
    let obj = value.as_object().ok_or("not a JSON object")?;
    let field = |names: &[&str]| names.iter().find_map(|n| obj.get(*n)).filter(|v| !v.is_null());
    let text = field(&["text", "contents", "body"])
        .and_then(Value::as_str)
        .ok_or("no \"text\" field")?;
    let id = match field(&["docid", "_id", "id"]) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => fallback_id,
    };
    let title = field(&["title"])
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let lang = match field(&["lang", "language"]).and_then(Value::as_str) {
        Some(tag) => Some(normalize_tag(tag).ok_or_else(|| format!("invalid language tag {tag:?}"))?),
        None => None,
    };
    Ok(Document {
        id,
        title,
        text: text.to_string(),
        lang,
        pages: Vec::new(),
    })
}

fn read_jsonl(rel: &str, text: &str, outcome: &mut ReadOutcome) -> Result<(), ReadError> {
    let mut bad = 0;
    let mut lines = 0;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        let parsed = serde_json::from_str::<Value>(line)
            .map_err(|e| format!("invalid JSON: {e}"))
            .and_then(|v| record(&v, format!("{rel}#{}", n + 1)));
        match parsed {
            Ok(doc) => outcome.documents.push(doc),
            Err(reason) => {
                bad += 1;
                if bad <= 5 {
                    outcome.warnings.push(format!("line {}: {reason}; line skipped", n + 1));
                }
            }
        }
    }
    if bad > 5 {
        outcome.warnings.push(format!("{bad} lines skipped in all"));
    }
    if lines > 0 && bad == lines {
        return Err(ReadError::Json(format!(
            "none of its {lines} lines is a JSON record with a \"text\" field"
        )));
    }
    Ok(())
}

/// The keys of a record's text (and of a SQuAD paragraph's): a JSON file that names
/// none of them is not a document file.
const TEXT_KEYS: [&str; 4] = ["text", "contents", "body", "context"];

fn read_json(rel: &str, text: &str, outcome: &mut ReadOutcome) -> Result<(), ReadError> {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        // A file that never names a text field (JSON with comments such as a
        // `tsconfig.json`, a template) was not meant to be indexed; damage to a document
        // file is reported.
        Err(_) if !TEXT_KEYS.iter().any(|key| text.contains(&format!("\"{key}\""))) => {
            return Err(ReadError::NotDocuments)
        }
        Err(e) => return Err(ReadError::Json(format!("invalid JSON: {e}"))),
    };
    if let Some(articles) = value.get("data").and_then(Value::as_array) {
        // SQuAD layout: every paragraph's context is a document `<file>#<article>-<paragraph>`.
        for (a, article) in articles.iter().enumerate() {
            let title = article.get("title").and_then(Value::as_str).unwrap_or_default();
            let paragraphs = article.get("paragraphs").and_then(Value::as_array);
            for (p, paragraph) in paragraphs.into_iter().flatten().enumerate() {
                if let Some(context) = paragraph.get("context").and_then(Value::as_str) {
                    outcome.documents.push(Document {
                        id: format!("{rel}#{a}-{p}"),
                        title: title.replace('_', " "),
                        text: context.to_string(),
                        lang: None,
                        pages: Vec::new(),
                    });
                }
            }
        }
        if outcome.documents.is_empty() {
            return Err(ReadError::Json("SQuAD layout without paragraph contexts".into()));
        }
        return Ok(());
    }
    let records: Vec<&Value> = match &value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for (i, item) in records.iter().enumerate() {
        match record(item, format!("{rel}#{}", i + 1)) {
            Ok(doc) => outcome.documents.push(doc),
            Err(reason) => outcome.warnings.push(format!("record {}: {reason}; skipped", i + 1)),
        }
    }
    if outcome.documents.is_empty() {
        // Records that name a text field but fail (an invalid language tag, a text that is
        // not a string) look like documents: that is reported.
        let named = records.iter().any(|r| {
            r.as_object()
                .is_some_and(|o| TEXT_KEYS[..3].iter().any(|k| o.contains_key(*k)))
        });
        if !named {
            return Err(ReadError::NotDocuments);
        }
        return Err(ReadError::Json(
            "no documents: expected SQuAD (`data[].paragraphs[].context`) or records with a \"text\" field".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(name: &str) -> SourceFile {
        let path = PathBuf::from(name);
        SourceFile {
            rel_path: name.to_string(),
            format: Format::of(&path).unwrap(),
            path,
        }
    }

    #[test]
    fn jsonl_records_and_bad_lines() {
        let data = "{\"docid\":\"a#1\",\"title\":\"T\",\"text\":\"hello\",\"lang\":\"en-GB\"}\nnot json\n{\"_id\":7,\"contents\":\"x\"}\n";
        let out = read_documents(&file("c.jsonl"), data.as_bytes(), 1 << 20).unwrap();
        assert_eq!(out.documents.len(), 2);
        assert_eq!(out.documents[0].id, "a#1");
        assert_eq!(out.documents[0].lang.as_deref(), Some("en"));
        assert_eq!(out.documents[1].id, "7");
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn squad_paragraphs_are_documents() {
        let data =
            r#"{"data":[{"title":"Super_Bowl","paragraphs":[{"context":"A","qas":[]},{"context":"B","qas":[]}]}]}"#;
        let out = read_documents(&file("squad.json"), data.as_bytes(), 1 << 20).unwrap();
        assert_eq!(out.documents.len(), 2);
        assert_eq!(out.documents[1].id, "squad.json#0-1");
        assert_eq!(out.documents[1].title, "Super Bowl");
    }

    /// Issue 29: JSON that never names a text field is not a document file (counted, not
    /// warned about); JSON that does and fails is reported.
    #[test]
    fn json_without_text_fields_is_not_a_document_file() {
        let read = |name: &str, data: &str| read_documents(&file(name), data.as_bytes(), 1 << 20);
        let quiet = [
            (
                "package.json",
                r#"{"name":"left-pad","version":"1.3.0","scripts":{"test":"node test"}}"#,
            ),
            ("renovate.json", r#"{"extends":["config:base"]}"#),
            ("fixture.json", r#"[1, 2, {"a": null}]"#),
            (
                "tsconfig.json",
                "{\n  // comments are not JSON\n  \"compilerOptions\": {}\n}",
            ),
        ];
        for (name, data) in quiet {
            assert_eq!(read(name, data).unwrap_err(), ReadError::NotDocuments, "{name}");
        }
        let reported = [
            ("broken.json", r#"[{"text": "An unfinished record"#),
            ("numbers.json", r#"[{"id": 1, "text": 42}]"#),
            ("tags.json", r#"{"text": "Hallo", "lang": "not a tag!"}"#),
            ("empty-squad.json", r#"{"data": []}"#),
        ];
        for (name, data) in reported {
            assert!(matches!(read(name, data), Err(ReadError::Json(_))), "{name}");
        }
    }

    #[test]
    fn binary_and_foreign_encodings_are_refused() {
        assert_eq!(
            read_documents(&file("a.txt"), b"PK\x03\x04\x00\x00", 1 << 20).unwrap_err(),
            ReadError::Binary
        );
        assert_eq!(
            read_documents(&file("a.txt"), b"\xFF\xFEh\x00i\x00", 1 << 20).unwrap_err(),
            ReadError::Utf16
        );
        let latin1: Vec<u8> = b"Stra\xdfe M\xfcnchen \xe4\xf6\xfc".to_vec();
        assert!(matches!(
            read_documents(&file("a.txt"), &latin1, 1 << 20).unwrap_err(),
            ReadError::NotUtf8 { .. }
        ));
    }

    #[test]
    fn rare_invalid_bytes_are_decoded_lossily_with_a_warning() {
        let mut text = "word ".repeat(400).into_bytes();
        text.push(0xE9);
        let out = read_documents(&file("a.txt"), &text, 1 << 20).unwrap();
        assert!(out.documents[0].text.contains('\u{FFFD}'));
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn html_keeps_text_and_title_only() {
        let html = "<html><head><title>My &amp; Page</title><style>p{color:red}</style><script>var x=1;</script></head><body><p>Hello <b>world</b></p></body></html>";
        let out = read_documents(&file("p.html"), html.as_bytes(), 1 << 20).unwrap();
        let doc = &out.documents[0];
        assert_eq!(doc.title, "My & Page");
        assert!(doc.text.contains("Hello world"), "{:?}", doc.text);
        assert!(
            !doc.text.contains("color") && !doc.text.contains("var x"),
            "{:?}",
            doc.text
        );
    }

    #[test]
    fn gzipped_jsonl_is_read_and_corrupt_gzip_refused() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"{\"docid\":\"d1\",\"text\":\"hi\"}\n").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(
            read_documents(&file("c.jsonl.gz"), &gz, 1 << 20)
                .unwrap()
                .documents
                .len(),
            1
        );
        assert!(matches!(
            read_documents(&file("c.jsonl.gz"), &gz[..gz.len() / 2], 1 << 20),
            Err(ReadError::Gzip(_))
        ));
        // A member that inflates past the limit is stopped there.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; 4 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 64 << 10);
        assert!(matches!(
            read_documents(&file("c.jsonl.gz"), &bomb, 1 << 20),
            Err(ReadError::Inflates(_))
        ));
    }
}
