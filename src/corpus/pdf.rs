//! PDF: the text layer, page by page (`pdf-extract`, on `lopdf`), so each passage keeps
//! the page it is on. A PDF whose pages have no text (a scan) is refused as such: indexing
//! it would only add an empty document.

use super::Extracted;
use super::ReadError;

/// The pages' text, joined by blank lines, with the offset where each page starts.
pub(super) fn read(bytes: &[u8]) -> Result<Extracted, ReadError> {
    if !bytes.starts_with(b"%PDF-") && !bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-") {
        return Err(ReadError::Pdf("no %PDF- header".into()));
    }
    // The PDF reader panics on some damaged files: that is a damaged file, not our bug.
    let pages = crate::error::catch_quietly(|| pdf_extract::extract_text_from_mem_by_pages(bytes))
        .map_err(|panic| ReadError::Pdf(format!("damaged or unsupported ({panic})")))?
        .map_err(|e| ReadError::Pdf(e.to_string()))?;
    if pages.iter().all(|page| page.trim().is_empty()) {
        return Err(ReadError::NoTextLayer { pages: pages.len() });
    }
    let mut text = String::new();
    let mut starts = Vec::with_capacity(pages.len());
    for page in &pages {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        starts.push(text.len());
        text.push_str(page.trim());
    }
    Ok(Extracted {
        title: String::new(),
        text,
        pages: starts,
    })
}
