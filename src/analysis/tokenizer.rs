//! The analyzer: one Tantivy tokenizer per language, the same code for passages and
//! queries. Pipeline per text: ICU4X word segmentation (Unicode word rules, dictionaries
//! for Chinese, Japanese, Thai, Lao, Khmer and Burmese) → keep word-like segments →
//! NFKC + lowercasing + script folding → stemming. Runs of adjacent Chinese and Japanese
//! words also emit their character bigrams (across word boundaries too), so a query for a
//! word that the dictionary keeps inside a longer compound (北京 in 北京大学), or splits
//! otherwise, still matches; Korean words become syllable bigrams.

use std::ops::Range;

use icu_segmenter::options::{SentenceBreakInvariantOptions, WordBreakInvariantOptions};
use icu_segmenter::{SentenceSegmenter, WordSegmenter};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::lang::{language, Language, Normalizer, Stemming};
use super::normalize::{hindi_light_stem, normalize_token};

/// Tokens longer than this (in characters) are dropped: they are URLs, hashes or noise.
const MAX_TOKEN_CHARS: usize = 64;

/// Word-like segments of `text` as byte ranges (punctuation and spaces dropped).
pub fn word_ranges(text: &str) -> Vec<Range<usize>> {
    let segmenter = WordSegmenter::new_dictionary(WordBreakInvariantOptions::default());
    let mut ranges = Vec::new();
    let mut start = 0;
    for (end, kind) in segmenter.segment_str(text).iter_with_word_type() {
        // ICU4X tags some words ending in a combining vowel sign (Hindi ने, की) as
        // non-words, so any segment with a letter or digit counts as a word.
        if end > start && (kind.is_word_like() || text[start..end].chars().any(char::is_alphanumeric)) {
            ranges.push(start..end);
        }
        start = end;
    }
    ranges
}

/// Sentence boundaries of `text` (byte offsets, starting with 0 and ending with its length).
pub fn sentence_breaks(text: &str) -> Vec<usize> {
    SentenceSegmenter::new(SentenceBreakInvariantOptions::default())
        .segment_str(text)
        .collect()
}

/// The analyzer of one language. Cloning is free.
#[derive(Clone, Copy, Debug)]
pub struct Analyzer {
    language: &'static Language,
}

impl Analyzer {
    /// The analyzer for a language code (unknown codes get the `und` analyzer).
    pub fn new(code: &str) -> Self {
        Analyzer {
            language: language(code),
        }
    }

    /// The language this analyzer is for.
    pub fn language(&self) -> &'static Language {
        self.language
    }

    /// Analyses `text` into index terms with their byte offsets in `text`.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let stemmer = match self.language.stemming {
            Stemming::Snowball(algorithm) => Some(rust_stemmers::Stemmer::create(algorithm)),
            _ => None,
        };
        let mut tokens = Vec::new();
        let mut push = |range: Range<usize>, term: String| {
            if term.is_empty() || term.chars().count() > MAX_TOKEN_CHARS {
                return;
            }
            let term = match (&stemmer, self.language.stemming) {
                (Some(stemmer), _) => stemmer.stem(&term).into_owned(),
                (None, Stemming::HindiLight) => hindi_light_stem(&term),
                (None, Stemming::Prefix(n)) => term.chars().take(n).collect(),
                _ => term,
            };
            tokens.push(Token {
                offset_from: range.start,
                offset_to: range.end,
                position: tokens.len(),
                text: term,
                position_length: 1,
            });
        };
        // A run of adjacent Chinese / Japanese words, and the two-character words in it.
        let mut run: Option<Range<usize>> = None;
        let mut run_words: Vec<Range<usize>> = Vec::new();
        let flush = |run: &mut Option<Range<usize>>,
                     words: &mut Vec<Range<usize>>,
                     push: &mut dyn FnMut(Range<usize>, String)| {
            if let Some(range) = run.take() {
                for (sub, gram) in run_bigrams(text, range, self.language.normalizer) {
                    if !words.contains(&sub) {
                        push(sub, gram);
                    }
                }
            }
            words.clear();
        };
        for range in word_ranges(text) {
            for part in self.split_word(text, range) {
                let word = &text[part.clone()];
                let normalized = normalize_token(word, self.language.normalizer);
                if self.language.normalizer == Normalizer::Hangul && is_hangul_word(word) {
                    for (sub, gram) in bigrams(part.start, word) {
                        push(sub, gram);
                    }
                    continue;
                }
                if is_chinese_japanese(word) {
                    match &mut run {
                        Some(r) if r.end == part.start => r.end = part.end,
                        _ => {
                            flush(&mut run, &mut run_words, &mut push);
                            run = Some(part.clone());
                        }
                    }
                    if word.chars().count() == 2 {
                        run_words.push(part.clone());
                    }
                } else {
                    flush(&mut run, &mut run_words, &mut push);
                }
                push(part, normalized);
            }
        }
        flush(&mut run, &mut run_words, &mut push);
        tokens
    }

    /// Splits a word segment where Unicode word rules join what a search user means as two
    /// words: a colon between letters (UAX #29 treats it as a mid-letter, so `title:baker`
    /// would be one word), and in Persian the zero-width non-joiner of compounds.
    fn split_word(&self, text: &str, range: Range<usize>) -> Vec<Range<usize>> {
        let persian = self.language.normalizer == Normalizer::Persian;
        let splits =
            |c: char| c == ':' || c == '\u{FE13}' || c == '\u{FE55}' || c == '\u{FF1A}' || (persian && c == '\u{200C}');
        if !text[range.clone()].contains(splits) {
            return vec![range];
        }
        let mut parts = Vec::new();
        let mut start = range.start;
        for (i, c) in text[range.clone()].char_indices() {
            if splits(c) {
                parts.push(start..range.start + i);
                start = range.start + i + c.len_utf8();
            }
        }
        parts.push(start..range.end);
        parts.retain(|r| !r.is_empty());
        parts
    }
}

/// Character bigrams of `word` (which starts at byte `base` of the text), with byte ranges.
/// When `word` was changed by normalisation its offsets are approximate: the bigram
/// points at the whole word.
fn bigrams(base: usize, word: &str) -> Vec<(Range<usize>, String)> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    if chars.len() < 2 {
        return vec![(base..base + word.len(), word.to_string())];
    }
    chars
        .windows(2)
        .map(|w| {
            let from = w[0].0;
            let to = w[1].0 + w[1].1.len_utf8();
            (base + from..base + to, word[from..to].to_string())
        })
        .collect()
}

/// Character bigrams across a run of adjacent Chinese / Japanese words (`range` of
/// `text`), normalised. Bigrams that span two dictionary words recover the compounds a
/// dictionary splits differently in the query and the passage. Chosen on training data
/// (qa-native CMRC 2018 / DRCD dev, P@1 0.965 / 0.924 with bigrams inside 3+-character
/// words only, 0.977 / 0.943 with these; adding character unigrams: 0.970 / 0.944).
/// When normalisation changes the run's length, every bigram points at the whole run.
fn run_bigrams(text: &str, range: Range<usize>, normalizer: Normalizer) -> Vec<(Range<usize>, String)> {
    let original = &text[range.clone()];
    let normalized = normalize_token(original, normalizer);
    if normalized.len() == original.len() {
        return bigrams(range.start, &normalized);
    }
    bigrams(0, &normalized)
        .into_iter()
        .map(|(_, gram)| (range.clone(), gram))
        .collect()
}

fn is_chinese_japanese(word: &str) -> bool {
    word.chars().all(|c| {
        matches!(c,
            '\u{3040}'..='\u{30FF}' // hiragana, katakana
            | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{2FA1F}')
    })
}

fn is_hangul_word(word: &str) -> bool {
    word.chars().all(|c| matches!(c, '\u{AC00}'..='\u{D7A3}'))
}

/// A token stream over tokens analysed up front.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for Analyzer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream {
            tokens: self.tokens(text),
            next: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(code: &str, text: &str) -> Vec<String> {
        Analyzer::new(code).tokens(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn english_is_stemmed_and_punctuation_dropped() {
        assert_eq!(terms("en", "Running dogs, (quickly)!"), ["run", "dog", "quick"]);
    }

    #[test]
    fn german_and_russian_are_stemmed() {
        assert_eq!(terms("de", "Häuser"), terms("de", "Haus"));
        assert_eq!(terms("ru", "книги"), terms("ru", "книга"));
    }

    #[test]
    fn chinese_is_segmented_and_compounds_emit_bigrams() {
        let t = terms("zh", "我在北京大学学习中文");
        assert!(t.contains(&"北京".to_string()), "{t:?}");
        assert!(t.contains(&"学习".to_string()), "{t:?}");
        // Bigrams across word boundaries, each once: a two-character word is not repeated.
        assert!(
            t.contains(&"在北".to_string()) && t.contains(&"学学".to_string()),
            "{t:?}"
        );
        assert_eq!(t.iter().filter(|x| *x == "学习").count(), 1, "{t:?}");
        // A run ends at a non-CJK word: no bigram joins text across it.
        let mixed = terms("zh", "北京 and 上海");
        assert!(!mixed.iter().any(|x| x == "京上"), "{mixed:?}");
    }

    #[test]
    fn japanese_and_thai_are_segmented() {
        let ja = terms("ja", "東京都に住んでいます");
        assert!(ja.contains(&"東京".to_string()), "{ja:?}");
        let th = terms("th", "ฉันชอบกินข้าวผัดมาก");
        assert!(
            th.contains(&"ข้าว".to_string()) || th.contains(&"ข้าวผัด".to_string()),
            "{th:?}"
        );
        assert!(th.len() >= 4, "{th:?}");
    }

    #[test]
    fn devanagari_words_ending_in_vowel_signs_are_kept() {
        let t = terms("hi", "पैंथर्स डिफ़ेंस ने कितने अंक दिए? की में");
        assert_eq!(t.len(), 8, "{t:?}");
    }

    #[test]
    fn korean_uses_syllable_bigrams() {
        let ko = terms("ko", "서울에서");
        assert_eq!(ko, ["서울", "울에", "에서"]);
        assert_eq!(terms("ko", "서울"), ["서울"]);
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let text = "Ｔｏｋｙｏ and Kyoto";
        for t in Analyzer::new("en").tokens(text) {
            assert!(text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to));
        }
    }

    #[test]
    fn a_colon_between_letters_splits_words() {
        assert_eq!(terms("en", "title:baker"), ["titl", "baker"]);
    }

    #[test]
    fn persian_zwnj_splits_compounds() {
        let t = terms("fa", "می\u{200C}خواهم");
        assert_eq!(t.len(), 2, "{t:?}");
    }

    #[test]
    fn sentences_are_found() {
        let b = sentence_breaks("One. Two three. Four?");
        assert_eq!(b.len(), 4);
    }
}
