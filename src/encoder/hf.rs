//! Hugging Face checkpoints from a local folder: `config.json`, `tokenizer.json`,
//! `model.safetensors`, and sentence-transformers' `1_Pooling/config.json` and
//! `config_sentence_transformers.json` (query / passage prompts) when present. BERT (LaBSE,
//! mBERT, MiniLM) and XLM-RoBERTa (multilingual-e5, XLM-R) layouts are read; nothing is
//! downloaded.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use serde::Deserialize;

use super::model_file::ModelFile;
use super::weights;
use super::{EncoderError, ModelConfig, Pooling, Specials, TokenizerSpec};

#[derive(Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    vocab_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "two")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    pad_token_id: Option<usize>,
    #[serde(default = "gelu")]
    hidden_act: String,
}

fn two() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn gelu() -> String {
    "gelu".into()
}

#[derive(Deserialize, Default)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
}

#[derive(Deserialize, Default)]
struct SentenceTransformersConfig {
    #[serde(default)]
    prompts: HashMap<String, String>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, EncoderError> {
    let text = std::fs::read_to_string(path).map_err(|e| EncoderError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    serde_json::from_str(&text).map_err(|e| EncoderError::Format(format!("{}: {e}", path.display())))
}

/// Whether `dir` looks like a Hugging Face checkpoint folder.
pub fn is_hf_dir(dir: &Path) -> bool {
    dir.join("config.json").is_file() && dir.join("model.safetensors").is_file()
}

/// Reads a checkpoint folder into a model with f32 weights.
pub fn from_hf_dir(dir: &Path) -> Result<ModelFile, EncoderError> {
    let hf: HfConfig = read_json(&dir.join("config.json"))?;
    let xlmr = match hf.model_type.as_str() {
        "xlm-roberta" | "roberta" | "camembert" => true,
        "bert" => false,
        other => {
            return Err(EncoderError::Format(format!(
                "model_type {other:?}: mlsearch reads bert and xlm-roberta"
            )))
        }
    };
    if hf.hidden_act != "gelu" {
        return Err(EncoderError::Format(format!(
            "hidden_act {:?}: only gelu is supported",
            hf.hidden_act
        )));
    }
    // RoBERTa numbers positions from padding_idx + 1; those rows come first in the table.
    let position_offset = if xlmr { hf.pad_token_id.unwrap_or(1) + 1 } else { 0 };
    let pooling: PoolingConfig = match dir.join("1_Pooling/config.json") {
        p if p.is_file() => read_json(&p)?,
        _ => PoolingConfig::default(),
    };
    let st: SentenceTransformersConfig = match dir.join("config_sentence_transformers.json") {
        p if p.is_file() => read_json(&p)?,
        _ => SentenceTransformersConfig::default(),
    };
    let prompt = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| st.prompts.get(*k))
            .cloned()
            .unwrap_or_default()
    };

    let tokenizer_path = dir.join("tokenizer.json");
    let json = std::fs::read_to_string(&tokenizer_path).map_err(|e| EncoderError::Io {
        path: tokenizer_path.clone(),
        source: e,
    })?;
    let tokenizer: tokenizers::Tokenizer = json
        .parse()
        .map_err(|e: tokenizers::Error| EncoderError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
    let id = |names: &[&str]| names.iter().find_map(|n| tokenizer.token_to_id(n));
    let specials = Specials {
        bos: id(&["<s>", "[CLS]"]).ok_or_else(|| EncoderError::Format("tokenizer has no <s> or [CLS]".into()))?,
        eos: id(&["</s>", "[SEP]"]).ok_or_else(|| EncoderError::Format("tokenizer has no </s> or [SEP]".into()))?,
        pad: id(&["<pad>", "[PAD]"]).unwrap_or(0),
    };

    let weights_path = dir.join("model.safetensors");
    let weights = candle_core::safetensors::load(&weights_path, &Device::Cpu)
        .map_err(|e| EncoderError::Format(format!("{}: {e}", weights_path.display())))?;
    let config = ModelConfig {
        architecture: if xlmr { "xlm-roberta" } else { "bert" }.into(),
        hidden_size: hf.hidden_size,
        num_layers: hf.num_hidden_layers,
        num_heads: hf.num_attention_heads,
        intermediate_size: hf.intermediate_size,
        vocab_size: hf.vocab_size,
        max_positions: hf.max_position_embeddings.saturating_sub(position_offset),
        type_vocab_size: hf.type_vocab_size,
        layer_norm_eps: hf.layer_norm_eps,
        query_prefix: prompt(&["query"]),
        passage_prefix: prompt(&["passage", "document", "doc"]),
        pooling: if pooling.pooling_mode_cls_token {
            Pooling::Cls
        } else {
            Pooling::Mean
        },
    };
    weights::check_layers(config.num_layers, weights.len())
        .map_err(|e| EncoderError::Format(format!("{}: {e}", dir.join("config.json").display())))?;
    let mut tensors = HashMap::new();
    for name in weights::all_names(config.num_layers) {
        let hf_name = weights::hf_name(&name).expect("every weight has a checkpoint name");
        let tensor = find(&weights, &hf_name)
            .ok_or_else(|| EncoderError::Format(format!("{}: no tensor {hf_name}", weights_path.display())))?;
        let tensor = if name == "emb.pos" {
            tensor.narrow(0, position_offset, config.max_positions)?
        } else {
            tensor.clone()
        };
        tensors.insert(
            name,
            Arc::new(QTensor::quantize(
                &tensor.to_dtype(candle_core::DType::F32)?,
                GgmlDType::F32,
            )?),
        );
    }
    Ok(ModelFile {
        config,
        tokenizer: TokenizerSpec::HuggingFace { json, specials },
        tensors,
    })
}

/// A checkpoint tensor under its name, with or without a model prefix, and with the old
/// `gamma` / `beta` layer-norm names.
fn find<'a>(weights: &'a HashMap<String, Tensor>, name: &str) -> Option<&'a Tensor> {
    let old = name
        .replace("LayerNorm.weight", "LayerNorm.gamma")
        .replace("LayerNorm.bias", "LayerNorm.beta");
    ["", "bert.", "roberta.", "model."]
        .iter()
        .flat_map(|prefix| [format!("{prefix}{name}"), format!("{prefix}{old}")])
        .find_map(|n| weights.get(&n))
}

impl ModelFile {
    /// Stores every weight matrix as `dtype` (vectors stay f32). Matrices whose rows do not
    /// divide into the type's blocks stay f32.
    pub fn quantize(&mut self, dtype: GgmlDType) -> Result<(), EncoderError> {
        for tensor in self.tensors.values_mut() {
            let dims = tensor.shape().dims().to_vec();
            if dims.len() != 2 || dims[1] % dtype.block_size() != 0 || tensor.dtype() == dtype {
                continue;
            }
            let dense = tensor.dequantize(&Device::Cpu)?;
            *tensor = Arc::new(QTensor::quantize(&dense, dtype)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::{Encoder, TextKind};

    /// Writes a tiny random BERT checkpoint (WordPiece vocabulary, CLS pooling).
    fn tiny_bert(dir: &Path, cls: bool) {
        let (h, layers, ff, vocab, positions) = (32usize, 2usize, 64usize, 12usize, 20usize);
        let config = serde_json::json!({
            "model_type": "bert", "hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": 4,
            "intermediate_size": ff, "vocab_size": vocab, "max_position_embeddings": positions,
            "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": 0
        });
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
        let words = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "dog", "sat", "mat", "##s", "on", "a",
        ];
        let vocab_json: serde_json::Map<String, serde_json::Value> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), serde_json::json!(i)))
            .collect();
        let tokenizer = serde_json::json!({
            // Shipped the way many checkpoints are: padded to a fixed length, truncated.
            "version": "1.0",
            "truncation": {"direction": "Right", "max_length": 8, "strategy": "LongestFirst", "stride": 0},
            "padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": null,
                        "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
            "added_tokens": [],
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                           "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": null, "decoder": null,
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": vocab_json}
        });
        std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
        std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        std::fs::write(
            dir.join("1_Pooling/config.json"),
            format!("{{\"pooling_mode_cls_token\": {cls}}}"),
        )
        .unwrap();
        let dev = Device::Cpu;
        let rand = |shape: &[usize]| Tensor::randn(0f32, 0.2, shape, &dev).unwrap();
        let mut w: HashMap<String, Tensor> = HashMap::new();
        w.insert("bert.embeddings.word_embeddings.weight".into(), rand(&[vocab, h]));
        w.insert(
            "bert.embeddings.position_embeddings.weight".into(),
            rand(&[positions, h]),
        );
        w.insert("bert.embeddings.token_type_embeddings.weight".into(), rand(&[2, h]));
        w.insert(
            "bert.embeddings.LayerNorm.gamma".into(),
            Tensor::ones(h, candle_core::DType::F32, &dev).unwrap(),
        );
        w.insert("bert.embeddings.LayerNorm.beta".into(), rand(&[h]));
        for l in 0..layers {
            let p = format!("bert.encoder.layer.{l}");
            for (m, rows, cols) in [
                ("attention.self.query", h, h),
                ("attention.self.key", h, h),
                ("attention.self.value", h, h),
                ("attention.output.dense", h, h),
                ("intermediate.dense", ff, h),
                ("output.dense", h, ff),
            ] {
                w.insert(format!("{p}.{m}.weight"), rand(&[rows, cols]));
                w.insert(format!("{p}.{m}.bias"), rand(&[rows]));
            }
            for m in ["attention.output.LayerNorm", "output.LayerNorm"] {
                w.insert(format!("{p}.{m}.weight"), (rand(&[h]) + 1.0).unwrap());
                w.insert(format!("{p}.{m}.bias"), rand(&[h]));
            }
        }
        w.insert("bert.pooler.dense.weight".into(), rand(&[h, h]));
        candle_core::safetensors::save(&w, dir.join("model.safetensors")).unwrap();
    }

    #[test]
    fn a_bert_checkpoint_folder_loads_embeds_and_quantizes() {
        let dir = tempfile::tempdir().unwrap();
        tiny_bert(dir.path(), true);
        assert!(is_hf_dir(dir.path()));
        let model = crate::encoder::open_model(dir.path()).unwrap();
        assert_eq!(model.config.architecture, "bert");
        assert_eq!(model.config.pooling, Pooling::Cls);
        assert_eq!(model.tokenizer.specials(), Specials { bos: 2, eos: 3, pad: 0 });
        let encoder = Encoder::new(model, &Device::Cpu).unwrap();
        assert_eq!(
            encoder.content_ids("The cats sat", TextKind::Query).unwrap(),
            [4, 5, 9, 7]
        );
        let texts = ["the cat sat on a mat", "the dog"];
        let f32_vectors = encoder.embed(&texts, TextKind::Passage).unwrap();
        assert!((f32_vectors[0].iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);

        // Quantised to Q8_0, written, read back: the same tokenizer, close vectors.
        let mut model = crate::encoder::open_model(dir.path()).unwrap();
        model.quantize(GgmlDType::Q8_0).unwrap();
        assert_eq!(model.tensors["l0.fi.w"].dtype(), GgmlDType::Q8_0);
        assert_eq!(model.tensors["l0.fi.b"].dtype(), GgmlDType::F32);
        let path = dir.path().join("tiny.gguf");
        model.write_gguf(&path).unwrap();
        let back = Encoder::new(ModelFile::open(&path).unwrap(), &Device::Cpu).unwrap();
        let q8_vectors = back.embed(&texts, TextKind::Passage).unwrap();
        for (a, b) in f32_vectors.iter().zip(&q8_vectors) {
            let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            assert!(cos > 0.99, "Q8_0 vectors drift: cosine {cos}");
        }
    }

    #[test]
    fn cls_and_mean_pooling_differ() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        tiny_bert(a.path(), true);
        tiny_bert(b.path(), false);
        // Same architecture, different random weights and pooling: just check both run and
        // the mean-pooled model is mean-pooled.
        let mean = crate::encoder::open_model(b.path()).unwrap();
        assert_eq!(mean.config.pooling, Pooling::Mean);
        let v = Encoder::new(mean, &Device::Cpu)
            .unwrap()
            .embed(&["the cat"], TextKind::Query)
            .unwrap();
        assert_eq!(v[0].len(), 32);
    }

    #[test]
    fn unsupported_checkpoints_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        tiny_bert(dir.path(), false);
        let config = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
        std::fs::write(dir.path().join("config.json"), config.replace("\"bert\"", "\"gpt2\"")).unwrap();
        let err = crate::encoder::open_model(dir.path()).unwrap_err().to_string();
        assert!(err.contains("gpt2"), "{err}");
    }
}
