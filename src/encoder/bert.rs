//! The transformer encoder (BERT / XLM-RoBERTa family, post-layer-norm) in Candle, for
//! inference. Token-wise products run on `[tokens, hidden]` matrices with pre-transposed
//! f32 weights; attention is per text with a padding mask.

use candle_core::quantized::QTensor;
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::LayerNorm;

use super::model_file::ModelFile;
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

    fn forward(&self, x: &Tensor) -> Result<Tensor, EncoderError> {
        Ok(x.matmul(&self.weight_t)?.broadcast_add(&self.bias)?)
    }
}

fn layer_norm(model: &ModelFile, name: &str, eps: f64, device: &Device) -> Result<LayerNorm, EncoderError> {
    Ok(LayerNorm::new(
        model.dense(&format!("{name}.w"), device)?,
        model.dense(&format!("{name}.b"), device)?,
        eps,
    ))
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

/// The encoder's weights, ready to run.
pub struct Bert {
    /// Kept quantised (Q4_0 for the built-in model: 54 MB instead of 384 MB as f32); only
    /// the rows of a batch's tokens are dequantised.
    word: QTensor,
    position: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
}

impl Bert {
    /// Dequantises a model's layer weights onto `device` (word embeddings stay as stored).
    pub fn load(model: &mut ModelFile, device: &Device) -> Result<Bert, EncoderError> {
        let c: &ModelConfig = &model.config;
        let eps = c.layer_norm_eps;
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            layers.push(Layer {
                query: Dense::load(model, &format!("l{l}.q"), device)?,
                key: Dense::load(model, &format!("l{l}.k"), device)?,
                value: Dense::load(model, &format!("l{l}.v"), device)?,
                attention_out: Dense::load(model, &format!("l{l}.ao"), device)?,
                attention_norm: layer_norm(model, &format!("l{l}.aln"), eps, device)?,
                ffn_in: Dense::load(model, &format!("l{l}.fi"), device)?,
                ffn_out: Dense::load(model, &format!("l{l}.fo"), device)?,
                output_norm: layer_norm(model, &format!("l{l}.oln"), eps, device)?,
            });
        }
        Ok(Bert {
            word: model
                .tensors
                .remove("emb.word")
                .ok_or_else(|| EncoderError::Format("missing emb.word".into()))?,
            position: model.dense("emb.pos", device)?,
            token_type: model.dense("emb.type", device)?.get(0)?,
            embedding_norm: layer_norm(model, "emb.ln", eps, device)?,
            layers,
            heads: c.num_heads,
            hidden: c.hidden_size,
        })
    }

    /// Hidden states `[batch, tokens, hidden]` for token ids `[batch, tokens]` (u32) and a
    /// mask `[batch, tokens]` (f32, 1 for real tokens, 0 for padding).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor, EncoderError> {
        let (batch, tokens) = ids.dims2()?;
        let (h, heads) = (self.hidden, self.heads);
        let head_dim = h / heads;
        let n = batch * tokens;
        let ids_cpu = ids.flatten_all()?.to_device(&Device::Cpu)?;
        let word = self
            .word
            .embedding(&ids_cpu)?
            .to_device(ids.device())?
            .reshape((batch, tokens, h))?;
        let position = self.position.narrow(0, 0, tokens)?;
        let x = word.broadcast_add(&position)?.broadcast_add(&self.token_type)?;
        let mut x = self.embedding_norm.forward(&x)?.reshape((n, h))?;
        // Padding keys get a large negative score, so softmax gives them no weight.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((batch, 1, 1, tokens))?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let split = |t: Tensor| -> Result<Tensor, EncoderError> {
            Ok(t.reshape((batch, tokens, heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        for layer in &self.layers {
            let q = split(layer.query.forward(&x)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((n, h))?;
            let attended = layer.attention_out.forward(&context)?;
            x = layer.attention_norm.forward(&(x + attended)?)?;
            let mid = layer.ffn_in.forward(&x)?.gelu_erf()?;
            let out = layer.ffn_out.forward(&mid)?;
            x = layer.output_norm.forward(&(x + out)?)?;
        }
        Ok(x.reshape((batch, tokens, h))?)
    }
}

/// Mean of the hidden states over real tokens: `[batch, hidden]`.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor, EncoderError> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
    let sum = hidden.broadcast_mul(&mask)?.sum(1)?;
    let count = mask.sum(1)?.clamp(1.0, f64::MAX)?;
    Ok(sum.broadcast_div(&count)?)
}
