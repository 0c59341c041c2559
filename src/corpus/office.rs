//! DOCX, ODT and EPUB: zip files of XML. Each reader takes the parts that hold the text
//! (Word's `word/document.xml`; OpenDocument's `content.xml`; an EPUB's chapters in spine
//! order) and turns paragraphs into blank-line-separated blocks, so passages split as in a
//! text file. What a member inflates to counts against the file size limit (a zip bomb
//! stops there).

use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};

use super::html::html_to_text;
use super::Extracted;
use super::ReadError;

/// Word: `word/document.xml`'s paragraphs (`w:p`); text only from `w:t` runs (field codes
/// and deleted text are not text); the title from `docProps/core.xml`.
pub(super) fn read_docx(bytes: &[u8], max_bytes: u64) -> Result<Extracted, ReadError> {
    read_text_document(
        Zip::open("DOCX", bytes, max_bytes)?,
        "word/document.xml",
        &DOCX,
        "docProps/core.xml",
    )
}

/// OpenDocument text: `content.xml`'s paragraphs and headings; the title from `meta.xml`.
pub(super) fn read_odt(bytes: &[u8], max_bytes: u64) -> Result<Extracted, ReadError> {
    read_text_document(Zip::open("ODT", bytes, max_bytes)?, "content.xml", &ODT, "meta.xml")
}

/// A word processor's file: the paragraphs of member `body` in `dialect`, the Dublin Core
/// title of member `metadata` (if there is one).
fn read_text_document(mut zip: Zip, body: &str, dialect: &Dialect, metadata: &str) -> Result<Extracted, ReadError> {
    let xml = zip.member(body)?;
    let text = xml_text(&xml, dialect).map_err(|e| zip.bad(format!("{body}: {e}")))?;
    let title = zip
        .optional(metadata)?
        .map(|xml| element_text(&xml, b"title"))
        .unwrap_or_default();
    Ok(Extracted {
        title,
        text,
        pages: Vec::new(),
    })
}

/// EPUB: `META-INF/container.xml` names the package file; its spine gives the chapters'
/// order, its manifest their files; each chapter's XHTML is read as HTML.
pub(super) fn read_epub(bytes: &[u8], max_bytes: u64) -> Result<Extracted, ReadError> {
    let mut zip = Zip::open("EPUB", bytes, max_bytes)?;
    let container = zip.member("META-INF/container.xml")?;
    let package_path = first_attribute(&container, b"rootfile", b"full-path")
        .ok_or_else(|| zip.bad("META-INF/container.xml names no rootfile".into()))?;
    let package = zip.member(&package_path)?;
    let base = package_path
        .rsplit_once('/')
        .map(|(dir, _)| format!("{dir}/"))
        .unwrap_or_default();
    let (manifest, spine) = read_package(&package).map_err(|e| zip.bad(format!("{package_path}: {e}")))?;
    let mut chapters = Vec::new();
    for idref in spine {
        let Some((href, media_type)) = manifest.iter().find(|(id, _, _)| *id == idref).map(|(_, h, m)| (h, m)) else {
            continue;
        };
        if !media_type.contains("html") {
            continue;
        }
        let path = normalize_path(&format!("{base}{}", percent_decode(href)));
        let (_, text) = html_to_text(&zip.member(&path)?);
        let text = text.trim();
        if !text.is_empty() {
            chapters.push(text.to_string());
        }
    }
    Ok(Extracted {
        title: element_text(&package, b"title"),
        text: chapters.join("\n\n"),
        pages: Vec::new(),
    })
}

/// A zip file being read, with what is left of the size limit.
struct Zip<'a> {
    format: &'static str,
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    budget: u64,
}

impl<'a> Zip<'a> {
    fn open(format: &'static str, bytes: &'a [u8], max_bytes: u64) -> Result<Zip<'a>, ReadError> {
        let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ReadError::Container {
            format,
            reason: format!("not a zip file ({e})"),
        })?;
        Ok(Zip {
            format,
            archive,
            budget: max_bytes,
        })
    }

    fn bad(&self, reason: String) -> ReadError {
        ReadError::Container {
            format: self.format,
            reason,
        }
    }

    /// A member's text; its absence is an error.
    fn member(&mut self, name: &str) -> Result<String, ReadError> {
        self.optional(name)?.ok_or_else(|| self.bad(format!("no {name}")))
    }

    fn optional(&mut self, name: &str) -> Result<Option<String>, ReadError> {
        let format = self.format;
        let bad = |reason: String| ReadError::Container { format, reason };
        let member = match self.archive.by_name(name) {
            Ok(member) => member,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(bad(format!("{name}: {e}"))),
        };
        let mut bytes = Vec::new();
        member
            .take(self.budget.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if bytes.len() as u64 > self.budget {
            return Err(ReadError::Inflates(self.budget));
        }
        self.budget -= bytes.len() as u64;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| bad(format!("{name} is not UTF-8")))
    }
}

/// Which elements of an XML dialect make text.
struct Dialect {
    /// Elements that end a paragraph.
    paragraphs: &'static [&'static [u8]],
    /// Empty elements that are a line break.
    line_breaks: &'static [&'static [u8]],
    /// Empty elements that are a tab.
    tabs: &'static [&'static [u8]],
    /// Text counts only inside this element (`None`: all text does).
    text_in: Option<&'static [u8]>,
}

const DOCX: Dialect = Dialect {
    paragraphs: &[b"p"],
    line_breaks: &[b"br", b"cr"],
    tabs: &[b"tab"],
    text_in: Some(b"t"),
};

const ODT: Dialect = Dialect {
    paragraphs: &[b"p", b"h"],
    line_breaks: &[b"line-break"],
    tabs: &[b"tab"],
    text_in: None,
};

/// The text of `xml`'s paragraphs, one block each, separated by blank lines.
fn xml_text(xml: &str, dialect: &Dialect) -> Result<String, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = String::new();
    let mut paragraph = String::new();
    let mut inside_text = 0usize;
    let mut in_body = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        let takes_text = |inside: usize| dialect.text_in.is_none() || inside > 0;
        match event {
            Event::Start(e) => {
                let name = e.local_name();
                if Some(name.as_ref()) == dialect.text_in {
                    inside_text += 1;
                }
                // ODT: only `office:body` holds the document's text (not styles or forms).
                if name.as_ref() == b"body" {
                    in_body = true;
                }
            }
            Event::Empty(e) => {
                let name = e.local_name();
                let name = name.as_ref();
                if dialect.line_breaks.contains(&name) {
                    paragraph.push('\n');
                } else if dialect.tabs.contains(&name) {
                    paragraph.push('\t');
                } else if name == b"s" && dialect.text_in.is_none() {
                    paragraph.push_str(&" ".repeat(space_count(&e)));
                } else if dialect.paragraphs.contains(&name) {
                    end_paragraph(&mut paragraph, &mut out);
                }
            }
            Event::Text(t) if takes_text(inside_text) && (in_body || dialect.text_in.is_some()) => {
                paragraph.push_str(&t.decode().map_err(|e| e.to_string())?);
            }
            Event::CData(t) if takes_text(inside_text) && (in_body || dialect.text_in.is_some()) => {
                paragraph.push_str(&t.decode().map_err(|e| e.to_string())?);
            }
            Event::GeneralRef(r) if takes_text(inside_text) && (in_body || dialect.text_in.is_some()) => {
                match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => paragraph.push(c),
                    None => {
                        let name = r.decode().map_err(|e| e.to_string())?;
                        if let Some(resolved) = quick_xml::escape::resolve_predefined_entity(&name) {
                            paragraph.push_str(resolved);
                        }
                    }
                }
            }
            Event::End(e) => {
                let name = e.local_name();
                if Some(name.as_ref()) == dialect.text_in {
                    inside_text = inside_text.saturating_sub(1);
                }
                if dialect.paragraphs.contains(&name.as_ref()) {
                    end_paragraph(&mut paragraph, &mut out);
                }
                if name.as_ref() == b"body" {
                    in_body = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    end_paragraph(&mut paragraph, &mut out);
    Ok(out)
}

fn end_paragraph(paragraph: &mut String, out: &mut String) {
    let text = paragraph.trim();
    if !text.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(text);
    }
    paragraph.clear();
}

/// `<text:s text:c="3"/>`: three spaces (one without `c`).
fn space_count(e: &BytesStart) -> usize {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == b"c")
        .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse().ok())
        .unwrap_or(1usize)
        .min(1000)
}

/// The text of the first element named `local` (any namespace), whitespace collapsed.
fn element_text(xml: &str, local: &[u8]) -> String {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == local => inside = true,
            Ok(Event::End(e)) if inside && e.local_name().as_ref() == local => break,
            Ok(Event::Text(t)) if inside => text.push_str(&t.decode().unwrap_or_default()),
            Ok(Event::GeneralRef(r)) if inside => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else if let Some(s) = r
                    .decode()
                    .ok()
                    .and_then(|n| quick_xml::escape::resolve_predefined_entity(&n))
                {
                    text.push_str(s);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of attribute `attribute` of the first element named `element`.
fn first_attribute(xml: &str, element: &[u8], attribute: &[u8]) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == element => {
                return attribute_value(&e, attribute);
            }
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

fn attribute_value(e: &BytesStart, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Manifest items (id, href, media type) and spine item references of an EPUB package.
type Package = (Vec<(String, String, String)>, Vec<String>);

fn read_package(xml: &str) -> Result<Package, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut manifest, mut spine) = (Vec::new(), Vec::new());
    loop {
        match reader.read_event().map_err(|e| format!("XML error: {e}"))? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"item" => {
                    if let (Some(id), Some(href)) = (attribute_value(&e, b"id"), attribute_value(&e, b"href")) {
                        let media_type = attribute_value(&e, b"media-type").unwrap_or_default();
                        manifest.push((id, href, media_type));
                    }
                }
                b"itemref" => spine.extend(attribute_value(&e, b"idref")),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if spine.is_empty() {
        return Err("the package has no spine (no chapters)".into());
    }
    Ok((manifest, spine))
}

/// `%20` → ` ` in an href (malformed escapes are kept as written).
fn percent_decode(href: &str) -> String {
    let bytes = href.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `OEBPS/text/../images/a.xhtml` → `OEBPS/images/a.xhtml` (zip names have no `..`);
/// a fragment (`#ch1`) is dropped.
fn normalize_path(path: &str) -> String {
    let path = path.split('#').next().unwrap_or_default();
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docx_paragraphs_runs_breaks_and_no_field_codes() {
        let xml = r#"<w:document xmlns:w="x"><w:body>
            <w:p><w:r><w:t>Hello</w:t></w:r><w:r><w:t xml:space="preserve"> world &amp; more</w:t></w:r></w:p>
            <w:p><w:r><w:instrText>PAGE \* MERGEFORMAT</w:instrText><w:t>Line</w:t><w:br/><w:t>two</w:t><w:tab/><w:t>x</w:t></w:r></w:p>
            <w:p/></w:body></w:document>"#;
        assert_eq!(xml_text(xml, &DOCX).unwrap(), "Hello world & more\n\nLine\ntwo\tx");
    }

    #[test]
    fn odt_body_only_with_spaces_and_headings() {
        let xml = r#"<office:document-content xmlns:office="o" xmlns:text="t"><office:automatic-styles><style:style>not text</style:style></office:automatic-styles>
            <office:body><office:text><text:h>Title here</text:h><text:p>a<text:s text:c="3"/>b<text:span>c</text:span></text:p></office:text></office:body></office:document-content>"#;
        assert_eq!(xml_text(xml, &ODT).unwrap(), "Title here\n\na   bc");
    }

    #[test]
    fn epub_paths() {
        assert_eq!(normalize_path("OEBPS/text/../ch%201.xhtml#x"), "OEBPS/ch%201.xhtml");
        assert_eq!(percent_decode("ch%201.xhtml"), "ch 1.xhtml");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }

    #[test]
    fn not_a_zip_is_a_clear_error() {
        let e = read_docx(b"PK\x03\x04 nothing", 1 << 20).unwrap_err();
        assert!(e.to_string().starts_with("not a readable DOCX file"), "{e}");
    }
}
