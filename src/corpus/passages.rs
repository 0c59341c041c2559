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

/// A piece of text with its word count.
struct Piece {
    text: String,
    words: usize,
}

/// Splits `doc` into passages and gives each its language: the document's `lang`, else
/// `default_lang`, else detection on the passage (or on the document when the passage
/// alone is too short to tell).
pub fn split_passages(doc: &Document, default_lang: Option<&str>) -> Vec<Passage> {
    let mut pieces = Vec::new();
    for paragraph in paragraphs(&doc.text) {
        split_long(paragraph, &mut pieces);
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
            }
        })
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
        });
    }
}

/// Joins short pieces to the following (or, at the end, the preceding) piece.
fn merge_short(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut merged: Vec<Piece> = Vec::new();
    for piece in pieces {
        match merged.last_mut() {
            Some(last) if last.words < MIN_PASSAGE_WORDS && last.words + piece.words <= MAX_PASSAGE_WORDS => {
                last.text.push_str("\n\n");
                last.text.push_str(&piece.text);
                last.words += piece.words;
            }
            _ => merged.push(piece),
        }
    }
    if merged.len() >= 2 {
        let n = merged.len();
        if merged[n - 1].words < MIN_PASSAGE_WORDS && merged[n - 2].words + merged[n - 1].words <= MAX_PASSAGE_WORDS {
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
    fn blank_documents_have_no_passages() {
        assert!(split_passages(&doc("  \n\n \t\n"), None).is_empty());
    }
}
