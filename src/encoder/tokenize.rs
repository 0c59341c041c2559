//! Tokenizers, both through the `tokenizers` crate:
//!
//! - the XLM-R SentencePiece-unigram tokenizer, built from the model file's pieces, scores
//!   and normalisation map: per-codepoint normalisation (the SentencePiece `nmt_nfkc` map,
//!   as stored), runs of spaces collapsed, metaspace (`▁`) pre-tokenisation, then Viterbi
//!   over the unigram pieces;
//! - a Hugging Face `tokenizer.json` as shipped with a checkpoint (WordPiece for BERT and
//!   LaBSE, unigram for XLM-R), used as it is.

use std::collections::HashMap;

use tokenizers::models::unigram::Unigram;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
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
    inner: Tokenizer,
    unk: u32,
}

impl SentencePiece {
    /// Builds the tokenizer from a model's vocabulary.
    pub fn new(vocab: &Vocabulary) -> Result<SentencePiece, EncoderError> {
        let pieces: Vec<(String, f64)> = vocab.pieces.iter().map(|(p, s)| (p.clone(), f64::from(*s))).collect();
        let model =
            Unigram::from(pieces, Some(vocab.unk), false).map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
        let mut inner = Tokenizer::new(model);
        inner.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
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
            inner,
            unk: vocab.unk as u32,
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

    /// Token ids of `text` without `<s>` / `</s>`. Unknown characters are one `<unk>`
    /// each (the `tokenizers` unigram model fuses runs of them; SentencePiece does not).
    pub fn content_ids(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        let normalized = self.normalize(text);
        let encoding = self
            .inner
            .encode(normalized.as_str(), false)
            .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
        let mut ids = Vec::with_capacity(encoding.len());
        for (id, (from, to)) in encoding.get_ids().iter().zip(encoding.get_offsets()) {
            if *id == self.unk {
                let chars = normalized
                    .get(*from..*to)
                    .map(|s| s.chars().count())
                    .unwrap_or(1)
                    .max(1);
                ids.extend(std::iter::repeat_n(self.unk, chars));
            } else {
                ids.push(*id);
            }
        }
        Ok(ids)
    }
}
