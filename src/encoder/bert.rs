//! The f32 transformer encoder (BERT / XLM-RoBERTa family, post-layer-norm) in Candle:
//! the model `train` trains and `--precision f32` runs (the int8 inference model is
//! [`super::quantized`]; both read their weight names from [`super::weights`]).
//! Token-wise products run on `[tokens, hidden]` matrices with pre-transposed f32
//! weights; attention is per text with a padding mask.
//!
//! Two ways to run it: for inference with Candle's fused layer-norm and softmax kernels,
//! and for training (`Bert::trainable`) with the same arithmetic written in differentiable
//! tensor ops, because the fused kernels are not recorded for backpropagation (their
//! gradients would silently be zero).

use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor, Var, D};

use super::model_file::ModelFile;
use super::weights::{self, Part};
use super::{EncoderError, ModelConfig};

/// `x · W + b` with `W` stored transposed (`[in, out]`).
struct Dense {
    weight_t: Tensor,
    bias: Tensor,
}

impl Dense {
    fn load(model: &ModelFile, name: &str, device: &Device) -> Result<Dense, EncoderError> {
        let weight_t = model.dense(&format!("{name}.w"), device)?.t()?.contiguous()?;
        let bias = model.dense(&format!("{name}.b"), device)?;
        Ok(Dense { weight_t, bias })
    }

    fn params(&self, name: &str) -> [(String, &Tensor, bool); 2] {
        [
            (format!("{name}.w"), &self.weight_t, true),
            (format!("{name}.b"), &self.bias, false),
        ]
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, EncoderError> {
        Ok(x.matmul(&self.weight_t)?.broadcast_add(&self.bias)?)
    }
}

/// Layer normalisation over the last dimension.
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn load(model: &ModelFile, name: &str, eps: f64, device: &Device) -> Result<LayerNorm, EncoderError> {
        Ok(LayerNorm {
            weight: model.dense(&format!("{name}.w"), device)?,
            bias: model.dense(&format!("{name}.b"), device)?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor, differentiable: bool) -> Result<Tensor, EncoderError> {
        Ok(if differentiable {
            candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps as f32)?
        } else {
            candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps as f32)?
        })
    }

    fn params(&self, name: &str) -> [(String, &Tensor, bool); 2] {
        [
            (format!("{name}.w"), &self.weight, false),
            (format!("{name}.b"), &self.bias, false),
        ]
    }
}

struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    ffn_in: Dense,
    ffn_out: Dense,
    output_norm: LayerNorm,
}

impl Layer {
    fn linears(&self) -> [(Part, &Dense); 6] {
        [
            (Part::Query, &self.query),
            (Part::Key, &self.key),
            (Part::Value, &self.value),
            (Part::AttentionOut, &self.attention_out),
            (Part::FfnIn, &self.ffn_in),
            (Part::FfnOut, &self.ffn_out),
        ]
    }

    fn norms(&self) -> [(Part, &LayerNorm); 2] {
        [
            (Part::AttentionNorm, &self.attention_norm),
            (Part::OutputNorm, &self.output_norm),
        ]
    }
}

/// The encoder's weights, ready to run.
pub struct Bert {
    /// Kept quantised (Q4_0 for the built-in model: 54 MB instead of 384 MB as f32); only
    /// the rows of a batch's tokens are dequantised.
    word: Arc<QTensor>,
    position: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
    /// Training: differentiable layer-norm and softmax (see the module docs).
    differentiable: bool,
    /// Training: the lowest layers that stay fixed (no variables, no backward pass, the
    /// fast non-differentiable ops), and with any, the embedding layer norm.
    frozen_layers: usize,
}

impl Bert {
    /// Dequantises a model's layer weights onto `device` (word embeddings stay as stored).
    pub fn load(model: &ModelFile, device: &Device) -> Result<Bert, EncoderError> {
        let c: &ModelConfig = &model.config;
        let eps = c.layer_norm_eps;
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let name = |part: Part| weights::name(l, part, "");
            layers.push(Layer {
                query: Dense::load(model, &name(Part::Query), device)?,
                key: Dense::load(model, &name(Part::Key), device)?,
                value: Dense::load(model, &name(Part::Value), device)?,
                attention_out: Dense::load(model, &name(Part::AttentionOut), device)?,
                attention_norm: LayerNorm::load(model, &name(Part::AttentionNorm), eps, device)?,
                ffn_in: Dense::load(model, &name(Part::FfnIn), device)?,
                ffn_out: Dense::load(model, &name(Part::FfnOut), device)?,
                output_norm: LayerNorm::load(model, &name(Part::OutputNorm), eps, device)?,
            });
        }
        Ok(Bert {
            word: model.shared(weights::WORD)?,
            position: model.dense(weights::POSITION, device)?,
            token_type: model.dense(weights::TOKEN_TYPE, device)?.get(0)?,
            embedding_norm: LayerNorm::load(model, weights::EMBEDDING_NORM, eps, device)?,
            layers,
            heads: c.num_heads,
            hidden: c.hidden_size,
            differentiable: false,
            frozen_layers: 0,
        })
    }

    /// Every trainable weight with its model-file name and whether it is a matrix stored
    /// transposed: the layers' projections, biases and layer norms, and the embedding layer
    /// norm (word, position and token-type embeddings stay frozen).
    fn params(&self) -> Vec<(String, &Tensor, bool)> {
        let mut params: Vec<(String, &Tensor, bool)> = self.embedding_norm.params(weights::EMBEDDING_NORM).into();
        for (l, layer) in self.layers.iter().enumerate() {
            for (part, dense) in layer.linears() {
                params.extend(dense.params(&weights::name(l, part, "")));
            }
            for (part, norm) in layer.norms() {
                params.extend(norm.params(&weights::name(l, part, "")));
            }
        }
        params
    }

    /// Turns the loaded weights of every layer from `frozen_layers` up into training
    /// variables and their forward pass into differentiable ops; returns the variables
    /// (they share storage with the model, so an optimiser step changes what `forward`
    /// computes). The layers below stay fixed: the backward pass stops above them, so
    /// freezing N of 12 layers saves their backward pass and the differentiable ops' cost.
    pub fn trainable(&mut self, frozen_layers: usize) -> Result<Vec<(String, Var)>, EncoderError> {
        let mut vars = Vec::new();
        let mut swap = |t: &mut Tensor, name: String| -> Result<(), EncoderError> {
            let var = Var::from_tensor(t)?;
            *t = var.as_tensor().clone();
            vars.push((name, var));
            Ok(())
        };
        if frozen_layers == 0 {
            let norm = weights::EMBEDDING_NORM;
            swap(&mut self.embedding_norm.weight, format!("{norm}.w"))?;
            swap(&mut self.embedding_norm.bias, format!("{norm}.b"))?;
        }
        for (l, layer) in self.layers.iter_mut().enumerate().skip(frozen_layers) {
            let Layer {
                query,
                key,
                value,
                attention_out,
                attention_norm,
                ffn_in,
                ffn_out,
                output_norm,
            } = layer;
            for (part, dense) in [
                (Part::Query, query),
                (Part::Key, key),
                (Part::Value, value),
                (Part::AttentionOut, attention_out),
                (Part::FfnIn, ffn_in),
                (Part::FfnOut, ffn_out),
            ] {
                swap(&mut dense.weight_t, weights::name(l, part, "w"))?;
                swap(&mut dense.bias, weights::name(l, part, "b"))?;
            }
            for (part, norm) in [(Part::AttentionNorm, attention_norm), (Part::OutputNorm, output_norm)] {
                swap(&mut norm.weight, weights::name(l, part, "w"))?;
                swap(&mut norm.bias, weights::name(l, part, "b"))?;
            }
        }
        self.differentiable = true;
        self.frozen_layers = frozen_layers.min(self.layers.len());
        Ok(vars)
    }

    /// Writes the current weights into `model`: matrices as `matrix_dtype` (when their rows
    /// fit its blocks), vectors as f32.
    pub fn store_into(&self, model: &mut ModelFile, matrix_dtype: GgmlDType) -> Result<(), EncoderError> {
        for (name, tensor, transposed) in self.params() {
            let tensor = if transposed {
                tensor.t()?.contiguous()?
            } else {
                tensor.clone()
            };
            let tensor = tensor.to_device(&Device::Cpu)?;
            let dtype = match tensor.dims() {
                [_, cols] if cols % matrix_dtype.block_size() == 0 => matrix_dtype,
                _ => GgmlDType::F32,
            };
            model.tensors.insert(name, Arc::new(QTensor::quantize(&tensor, dtype)?));
        }
        Ok(())
    }

    /// Hidden states `[batch, tokens, hidden]` for token ids `[batch, tokens]` (u32) and a
    /// mask `[batch, tokens]` (f32, 1 for real tokens, 0 for padding).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor, EncoderError> {
        let x = self.embeddings(ids)?;
        self.run_layers(x, mask, 0..self.layers.len())
    }

    /// The frozen layers' output `[batch, tokens, hidden]` (the input of the first layer that
    /// trains): it never changes while training, so it can be computed once per text and
    /// reused (see [`Bert::forward_above_frozen`]).
    pub fn frozen_states(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor, EncoderError> {
        let x = self.embeddings(ids)?;
        self.run_layers(x, mask, 0..self.frozen_layers)
    }

    /// The rest of [`Bert::forward`] from the frozen layers' output.
    pub fn forward_above_frozen(&self, states: &Tensor, mask: &Tensor) -> Result<Tensor, EncoderError> {
        self.run_layers(states.clone(), mask, self.frozen_layers..self.layers.len())
    }

    /// BLAKE3 of every weight below the trained layers (embeddings and frozen layers): two
    /// models with one fingerprint give the same [`Bert::frozen_states`].
    pub fn frozen_fingerprint(&self) -> Result<String, EncoderError> {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&(self.frozen_layers as u64).to_le_bytes());
        hasher.update(&self.word.data()?);
        let mut add = |t: &Tensor| -> Result<(), EncoderError> {
            for x in t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()? {
                hasher.update(&x.to_le_bytes());
            }
            Ok(())
        };
        add(&self.position)?;
        add(&self.token_type)?;
        add(&self.embedding_norm.weight)?;
        add(&self.embedding_norm.bias)?;
        for layer in &self.layers[..self.frozen_layers] {
            for (_, dense) in layer.linears() {
                add(&dense.weight_t)?;
                add(&dense.bias)?;
            }
            for (_, norm) in layer.norms() {
                add(&norm.weight)?;
                add(&norm.bias)?;
            }
        }
        Ok(hasher.finalize().to_hex().to_string())
    }

    fn trains(&self, layer: usize) -> bool {
        self.differentiable && layer >= self.frozen_layers
    }

    /// Word + position + token-type embeddings, layer-normed: `[batch, tokens, hidden]`.
    fn embeddings(&self, ids: &Tensor) -> Result<Tensor, EncoderError> {
        let (batch, tokens) = ids.dims2()?;
        let h = self.hidden;
        let ids_cpu = ids.flatten_all()?.to_device(&Device::Cpu)?;
        let word = self
            .word
            .embedding(&ids_cpu)?
            .to_device(ids.device())?
            .reshape((batch, tokens, h))?;
        let position = self.position.narrow(0, 0, tokens)?;
        let x = word.broadcast_add(&position)?.broadcast_add(&self.token_type)?;
        self.embedding_norm.forward(&x, self.trains(0))
    }

    /// Layers `range` over hidden states `x` `[batch, tokens, hidden]`.
    fn run_layers(&self, x: Tensor, mask: &Tensor, range: std::ops::Range<usize>) -> Result<Tensor, EncoderError> {
        let (batch, tokens, h) = x.dims3()?;
        let heads = self.heads;
        let head_dim = h / heads;
        let n = batch * tokens;
        let mut x = x.reshape((n, h))?;
        // Padding keys get a large negative score, so softmax gives them no weight.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((batch, 1, 1, tokens))?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let split = |t: Tensor| -> Result<Tensor, EncoderError> {
            Ok(t.reshape((batch, tokens, heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        for (l, layer) in self.layers.iter().enumerate().take(range.end).skip(range.start) {
            let d = self.trains(l);
            let q = split(layer.query.forward(&x)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&bias)?;
            let probs = if d {
                candle_nn::ops::softmax(&scores, D::Minus1)?
            } else {
                candle_nn::ops::softmax_last_dim(&scores)?
            };
            let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((n, h))?;
            let attended = layer.attention_out.forward(&context)?;
            x = layer.attention_norm.forward(&(x + attended)?, d)?;
            let mid = layer.ffn_in.forward(&x)?.gelu_erf()?;
            let out = layer.ffn_out.forward(&mid)?;
            x = layer.output_norm.forward(&(x + out)?, d)?;
        }
        Ok(x.reshape((batch, tokens, h))?)
    }
}
