//! Tokenizers:
//!
//! - the XLM-R SentencePiece-unigram tokenizer, built from the model file's pieces, scores
//!   and normalisation map: per-codepoint normalisation (the SentencePiece `nmt_nfkc` map,
//!   as stored), runs of spaces collapsed, metaspace (`▁`) pre-tokenisation, then Viterbi
//!   over the unigram pieces. Our own, with the `tokenizers` crate's exact rules (a test
//!   compares the two): its unigram model keeps a byte trie with a hash map in every node,
//!   which for XLM-R's 250k pieces took 410 MB and 0.4 s to build in every process that
//!   encodes a query; a hash map from piece to id takes about 15 MB;
//! - a Hugging Face `tokenizer.json` as shipped with a checkpoint (WordPiece for BERT and
//!   LaBSE, unigram for XLM-R), used through the `tokenizers` crate as it is.

use std::collections::HashMap;

use tokenizers::Tokenizer;

use super::{EncoderError, TokenizerSpec, Vocabulary};

/// Tokenizer of an encoder model.
pub enum TextTokenizer {
    /// SentencePiece pieces from the model file.
    SentencePiece(SentencePiece),
    /// A Hugging Face tokenizer.
    HuggingFace(Box<Tokenizer>),
}

impl TextTokenizer {
    /// Builds the tokenizer a model file describes.
    pub fn new(spec: &TokenizerSpec) -> Result<TextTokenizer, EncoderError> {
        Ok(match spec {
            TokenizerSpec::SentencePiece(vocab) => TextTokenizer::SentencePiece(SentencePiece::new(vocab)?),
            TokenizerSpec::HuggingFace { json, .. } => {
                let mut tokenizer: Tokenizer = json
                    .parse()
                    .map_err(|e: tokenizers::Error| EncoderError::Tokenizer(e.to_string()))?;
                // Checkpoints often ship padding to a fixed length and truncation at 128
                // tokens: the encoder pads per batch and windows long texts itself.
                tokenizer.with_padding(None);
                tokenizer
                    .with_truncation(None)
                    .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
                TextTokenizer::HuggingFace(Box::new(tokenizer))
            }
        })
    }

    /// Token ids of `text` without the special tokens around it.
    pub fn content_ids(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        match self {
            TextTokenizer::SentencePiece(sp) => sp.content_ids(text),
            TextTokenizer::HuggingFace(tk) => Ok(tk
                .encode(text, false)
                .map_err(|e| EncoderError::Tokenizer(e.to_string()))?
                .get_ids()
                .to_vec()),
        }
    }
}

/// The SentencePiece unigram tokenizer of XLM-R models.
pub struct SentencePiece {
    normalization: HashMap<char, String>,
    /// Piece → id (a piece listed twice keeps its last id, as `tokenizers` does).
    ids: HashMap<Box<str>, u32>,
    /// Score of each id.
    scores: Vec<f64>,
    /// The longest piece, in characters.
    longest: usize,
    unk: u32,
    /// Score of an unknown character: the lowest piece score minus 10.
    unk_score: f64,
}

/// The metaspace: SentencePiece's visible space, which starts every word.
const METASPACE: char = '▁';

impl SentencePiece {
    /// Builds the tokenizer from a model's vocabulary.
    pub fn new(vocab: &Vocabulary) -> Result<SentencePiece, EncoderError> {
        if vocab.unk >= vocab.pieces.len() {
            return Err(EncoderError::Tokenizer("the unknown-token id is not a piece".into()));
        }
        let mut ids = HashMap::with_capacity(vocab.pieces.len());
        let mut longest = 0;
        for (id, (piece, _)) in vocab.pieces.iter().enumerate() {
            // `<unk>` typed in a text is read as characters, as SentencePiece and the
            // reference engine do (`tokenizers` matched it, then split it into five `<unk>`).
            if id == vocab.unk {
                continue;
            }
            ids.insert(piece.as_str().into(), id as u32);
            longest = longest.max(piece.chars().count());
        }
        let scores: Vec<f64> = vocab.pieces.iter().map(|(_, s)| f64::from(*s)).collect();
        let min_score = scores.iter().copied().fold(f64::INFINITY, f64::min);
        let normalization = vocab
            .normalization
            .iter()
            .filter_map(|(cp, out)| {
                Some((
                    char::from_u32(*cp)?,
                    out.iter().filter_map(|c| char::from_u32(*c)).collect(),
                ))
            })
            .collect();
        Ok(SentencePiece {
            normalization,
            ids,
            scores,
            longest,
            unk: vocab.unk as u32,
            unk_score: min_score - 10.0,
        })
    }

    /// SentencePiece normalisation: the codepoint map, then runs of spaces made one.
    pub fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match self.normalization.get(&c) {
                Some(replacement) => out.push_str(replacement),
                None => out.push(c),
            }
        }
        let mut collapsed = String::with_capacity(out.len());
        for c in out.chars() {
            if c == ' ' && collapsed.ends_with(' ') {
                continue;
            }
            collapsed.push(c);
        }
        collapsed
    }

    /// Token ids of `text` without `<s>` / `</s>`; an unknown character is one `<unk>`.
    pub fn content_ids(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        let normalized = self.normalize(text);
        if normalized.is_empty() {
            return Ok(Vec::new());
        }
        // Spaces become metaspaces, one is put in front unless there is one, and every
        // metaspace starts a new word.
        let mut marked = normalized.replace(' ', "▁");
        if !marked.starts_with(METASPACE) {
            marked.insert(0, METASPACE);
        }
        let mut ids = Vec::with_capacity(marked.len() / 3);
        let mut word_start = 0;
        for (at, c) in marked.char_indices().skip(1) {
            if c == METASPACE {
                self.viterbi(&marked[word_start..at], &mut ids);
                word_start = at;
            }
        }
        self.viterbi(&marked[word_start..], &mut ids);
        Ok(ids)
    }

    /// Appends the ids of the best-scoring segmentation of `word` into pieces. Ties keep the
    /// first candidate found, shorter pieces first (the `tokenizers` crate's order).
    fn viterbi(&self, word: &str, ids: &mut Vec<u32>) {
        // Per character boundary (byte offset): best score of a path ending there, and the
        // start and id of its last piece.
        let bounds: Vec<usize> = word.char_indices().map(|(i, _)| i).chain([word.len()]).collect();
        let mut best: Vec<Option<(f64, usize, u32)>> = vec![None; bounds.len()];
        let offer = |best: &mut Vec<Option<(f64, usize, u32)>>, end: usize, score: f64, start: usize, id: u32| {
            if best[end].is_none_or(|(s, _, _)| score > s) {
                best[end] = Some((score, start, id));
            }
        };
        for start in 0..bounds.len() - 1 {
            let so_far = best[start].map_or(0.0, |(s, _, _)| s);
            for end in start + 1..bounds.len().min(start + self.longest + 1) {
                if let Some(&id) = self.ids.get(&word[bounds[start]..bounds[end]]) {
                    offer(&mut best, end, so_far + self.scores[id as usize], start, id);
                } else if end == start + 1 {
                    offer(&mut best, end, so_far + self.unk_score, start, self.unk);
                }
            }
        }
        let first = ids.len();
        let mut end = bounds.len() - 1;
        while end > 0 {
            let (_, start, id) = best[end].expect("every boundary is reached by a single character");
            ids.push(id);
            end = start;
        }
        ids[first..].reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::{builtin_base, ModelFile, TokenizerSpec};
    use tokenizers::models::unigram::Unigram;
    use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};

    /// The same pieces through the `tokenizers` crate's unigram model, as this module used
    /// to tokenise (unknown runs split into one `<unk>` per character).
    fn crate_ids(tokenizer: &Tokenizer, sp: &SentencePiece, text: &str) -> Vec<u32> {
        let normalized = sp.normalize(text);
        let encoding = tokenizer.encode(normalized.as_str(), false).unwrap();
        let mut ids = Vec::new();
        for (id, (from, to)) in encoding.get_ids().iter().zip(encoding.get_offsets()) {
            if *id == sp.unk {
                ids.extend(std::iter::repeat_n(
                    sp.unk,
                    normalized[*from..*to].chars().count().max(1),
                ));
            } else {
                ids.push(*id);
            }
        }
        ids
    }

    fn texts() -> Vec<String> {
        let mut texts: Vec<String> = [
            "",
            " ",
            "  leading and  doubled   spaces ",
            "query: Wann knetet der Bäcker den Teig?",
            "passage: 北京大学是中国的一所大学。東京は日本の首都です。",
            "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
            "emoji 🦀🦀 and rare 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and control \u{1}\u{7f} and ▁ itself",
            "<s> </s> <pad>",
            "ﬁ ligature, full-width ＡＢＣ１２３, Ⅻ",
        ]
        .map(String::from)
        .to_vec();
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus");
        for entry in walkdir(&corpus) {
            if let Ok(text) = std::fs::read_to_string(&entry) {
                texts.extend(text.lines().filter(|l| !l.trim().is_empty()).map(String::from));
            }
        }
        texts
    }

    fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walkdir(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn own_unigram_matches_the_tokenizers_crate_on_the_builtin_base() {
        let Some(base) = builtin_base() else {
            eprintln!("skipped: no built-in model");
            return;
        };
        let model = ModelFile::from_e5bin_parts(base.head().unwrap(), base.tensors).unwrap();
        let TokenizerSpec::SentencePiece(vocab) = &model.tokenizer else {
            panic!("the built-in model has SentencePiece pieces")
        };
        let sp = SentencePiece::new(vocab).unwrap();
        let pieces: Vec<(String, f64)> = vocab.pieces.iter().map(|(p, s)| (p.clone(), f64::from(*s))).collect();
        let mut reference = Tokenizer::new(Unigram::from(pieces, Some(vocab.unk), false).unwrap());
        reference.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
        let texts = texts();
        assert!(texts.len() > 50, "fixture texts found: {}", texts.len());
        for text in &texts {
            assert_eq!(
                sp.content_ids(text).unwrap(),
                crate_ids(&reference, &sp, text),
                "{text:?}"
            );
        }
        // Where the two differ on purpose: a typed `<unk>` (ids from the reference engine).
        assert_eq!(sp.content_ids("<s> <unk>").unwrap(), [6, 0, 4426, 3678, 2740]);
    }
}
