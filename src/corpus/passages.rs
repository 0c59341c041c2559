//! Splitting documents into passages.
//!
//! The rule: a passage is one or more whole paragraphs (blocks separated by blank lines)
//! holding at most [`MAX_PASSAGE_WORDS`] words, where a word is an ICU word segment (so
//! Chinese, Japanese and Thai count words, not characters). A paragraph that is too long
//! is cut at sentence boundaries, and a sentence that is too long at word boundaries.
//! Paragraphs shorter than [`MIN_PASSAGE_WORDS`] (headings, list items) are joined to the
//! next one while the sum fits. 256 words is about 350 XLM-R tokens: within the 512-token
//! window of the encoders that come next.

use super::{Document, Passage};
use crate::analysis::{detect, sentence_breaks, word_ranges, Detection, UNDETERMINED};

/// Upper bound on the words of a passage.
pub const MAX_PASSAGE_WORDS: usize = 256;
/// Paragraphs shorter than this are merged with their neighbour.
pub const MIN_PASSAGE_WORDS: usize = 24;

/// A piece of text with its word count (and page, in a paged document).
struct Piece {
    text: String,
    words: usize,
    page: Option<u32>,
}

/// Splits `doc` into passages and gives each its language: the document's `lang`, else
/// `default_lang`, else detection on the passage (or on the document when the passage
/// alone is too short to tell). In a paged document (PDF) no passage spans two pages, so
/// each has one page number.
pub fn split_passages(doc: &Document, default_lang: Option<&str>) -> Vec<Passage> {
    let mut pieces = Vec::new();
    for (page, text) in pages(doc) {
        let first = pieces.len();
        for paragraph in paragraphs(text) {
            split_long(paragraph, &mut pieces);
        }
        pieces[first..].iter_mut().for_each(|p| p.page = page);
    }
    let pieces = merge_short(pieces);
    let fixed_lang = doc.lang.as_deref().or(default_lang);
    let mut doc_detection: Option<Detection> = None;
    pieces
        .into_iter()
        .enumerate()
        .map(|(number, piece)| {
            let lang = match fixed_lang {
                Some(lang) => lang.to_string(),
                None => {
                    let guess = detect(&piece.text);
                    let mut whole = || {
                        doc_detection
                            .get_or_insert_with(|| detect(prefix(&doc.text, 4000)))
                            .clone()
                    };
                    let code = if guess.reliable {
                        guess.code
                    } else {
                        // Too short to tell alone: the document's language if that is
                        // clear, else the passage's best guess, else the document's.
                        let whole = whole();
                        match (whole.reliable, guess.code) {
                            (true, _) => whole.code,
                            (false, UNDETERMINED) => whole.code,
                            (false, code) => code,
                        }
                    };
                    code.to_string()
                }
            };
            Passage {
                doc: doc.id.clone(),
                number: number as u32,
                title: doc.title.clone(),
                text: piece.text,
                lang,
                page: piece.page,
            }
        })
        .collect()
}

/// The document's pages with their 1-based numbers, or its whole text without one.
fn pages(doc: &Document) -> Vec<(Option<u32>, &str)> {
    if doc.pages.is_empty() {
        return vec![(None, doc.text.as_str())];
    }
    let ends = doc.pages.iter().skip(1).copied().chain([doc.text.len()]);
    doc.pages
        .iter()
        .zip(ends)
        .enumerate()
        .filter_map(|(i, (&start, end))| Some((Some(i as u32 + 1), doc.text.get(start..end)?)))
        .collect()
}

/// At most `max` bytes of `text`, cut at a char boundary.
fn prefix(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Non-empty blocks of text separated by blank lines, trimmed.
fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    let mut blocks = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            blocks.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    blocks.push(&text[start..]);
    blocks.into_iter().map(str::trim).filter(|b| !b.is_empty())
}

/// Cuts a paragraph into pieces of at most `MAX_PASSAGE_WORDS` words.
fn split_long(paragraph: &str, out: &mut Vec<Piece>) {
    let words = word_ranges(paragraph).len();
    if words <= MAX_PASSAGE_WORDS {
        if words > 0 {
            out.push(Piece {
                text: paragraph.to_string(),
                words,
                page: None,
            });
        }
        return;
    }
    let breaks = sentence_breaks(paragraph);
    let (mut start, mut count) = (0, 0);
    for pair in breaks.windows(2) {
        let sentence = &paragraph[pair[0]..pair[1]];
        let n = word_ranges(sentence).len();
        if count + n > MAX_PASSAGE_WORDS && count > 0 {
            out.push(Piece {
                text: paragraph[start..pair[0]].trim().to_string(),
                words: count,
                page: None,
            });
            start = pair[0];
            count = 0;
        }
        if n > MAX_PASSAGE_WORDS {
            split_by_words(sentence, out);
            start = pair[1];
            continue;
        }
        count += n;
    }
    if count > 0 {
        out.push(Piece {
            text: paragraph[start..].trim().to_string(),
            words: count,
            page: None,
        });
    }
}

/// Cuts a text with no usable sentence breaks every `MAX_PASSAGE_WORDS` words.
fn split_by_words(text: &str, out: &mut Vec<Piece>) {
    let ranges = word_ranges(text);
    for chunk in ranges.chunks(MAX_PASSAGE_WORDS) {
        let from = chunk[0].start;
        let to = chunk.last().map(|r| r.end).unwrap_or(from);
        out.push(Piece {
            text: text[from..to].to_string(),
            words: chunk.len(),
            page: None,
        });
    }
}

/// Joins short pieces to the following (or, at the end, the preceding) piece of the same
/// page.
fn merge_short(pieces: Vec<Piece>) -> Vec<Piece> {
    let fits = |a: &Piece, b: &Piece| a.page == b.page && a.words + b.words <= MAX_PASSAGE_WORDS;
    let mut merged: Vec<Piece> = Vec::new();
    for piece in pieces {
        match merged.last_mut() {
            Some(last) if last.words < MIN_PASSAGE_WORDS && fits(last, &piece) => {
                last.text.push_str("\n\n");
                last.text.push_str(&piece.text);
                last.words += piece.words;
            }
            _ => merged.push(piece),
        }
    }
    if merged.len() >= 2 {
        let n = merged.len();
        if merged[n - 1].words < MIN_PASSAGE_WORDS && fits(&merged[n - 2], &merged[n - 1]) {
            let tail = merged.pop().expect("len >= 2");
            let last = merged.last_mut().expect("len >= 1");
            last.text.push_str("\n\n");
            last.text.push_str(&tail.text);
            last.words += tail.words;
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document {
            id: "d".into(),
            title: String::new(),
            text: text.into(),
            lang: None,
            pages: Vec::new(),
        }
    }

    #[test]
    fn heading_is_joined_to_its_paragraph() {
        let body = "The river flows through the old town and past the cathedral. ".repeat(4);
        let passages = split_passages(&doc(&format!("# Heading\n\n{body}\n\n{body}")), None);
        assert_eq!(passages.len(), 2);
        assert!(passages[0].text.starts_with("# Heading\n\nThe river"));
        assert_eq!(passages[0].lang, "en");
        assert_eq!(passages[1].number, 1);
    }

    #[test]
    fn long_paragraphs_are_cut_at_sentences_within_the_bound() {
        let sentence = "This sentence has exactly eight words in it. ";
        let text = sentence.repeat(100); // 800 words, one paragraph
        let passages = split_passages(&doc(&text), Some("en"));
        assert!(passages.len() >= 4);
        for p in &passages {
            let words = word_ranges(&p.text).len();
            assert!(words <= MAX_PASSAGE_WORDS, "{words}");
            assert!(
                p.text.ends_with('.'),
                "cut inside a sentence: {:?}",
                &p.text[p.text.len() - 20..]
            );
        }
    }

    #[test]
    fn an_unpunctuated_wall_of_text_is_cut_at_words() {
        let text = "word ".repeat(1000);
        let passages = split_passages(&doc(&text), Some("en"));
        assert_eq!(passages.len(), 4);
        assert!(passages.iter().all(|p| word_ranges(&p.text).len() <= MAX_PASSAGE_WORDS));
    }

    #[test]
    fn given_language_wins_over_detection() {
        let mut d = doc("Das ist ein deutscher Satz über die Stadt.");
        assert_eq!(split_passages(&d, None)[0].lang, "de");
        assert_eq!(split_passages(&d, Some("nl"))[0].lang, "nl");
        d.lang = Some("sv".into());
        assert_eq!(split_passages(&d, Some("nl"))[0].lang, "sv");
    }

    #[test]
    fn passages_of_a_paged_document_keep_their_page() {
        let page = |n: usize| format!("Page {n} says something about the harbour and its old lighthouse.");
        let text = format!("{}\n\n{}\n\n{}", page(1), page(2), page(3));
        let second = text.find("Page 2").unwrap();
        let third = text.find("Page 3").unwrap();
        let mut d = doc(&text);
        d.pages = vec![0, second, third];
        let passages = split_passages(&d, Some("en"));
        // Short paragraphs are not merged across pages.
        assert_eq!(passages.len(), 3);
        for (i, p) in passages.iter().enumerate() {
            assert_eq!(p.page, Some(i as u32 + 1));
            assert!(p.text.starts_with(&format!("Page {}", i + 1)), "{:?}", p.text);
        }
        assert_eq!(split_passages(&doc(&text), Some("en"))[0].page, None);
    }

    #[test]
    fn blank_documents_have_no_passages() {
        assert!(split_passages(&doc("  \n\n \t\n"), None).is_empty());
    }
}
