//! The f32 encoder that training changes, with the entry points only training uses: the
//! trainable layers' variables, embeddings that gradients flow through, the frozen
//! layers' states and what runs above them, and saving. Built only at f32, so none of
//! them can meet the int8 network (which computes no gradients); for inference with the
//! weights as they are it derefs to the [`Encoder`].

use std::path::Path;

use candle_core::quantized::GgmlDType;
use candle_core::{DType, Tensor, Var};

use crate::encoder::bert::Bert;
use crate::encoder::{Encoder, EncoderError, ModelFile, Precision, TextKind};
use crate::error::Result;

/// See the module documentation.
pub struct TrainableEncoder {
    /// Always the f32 network (`new` is the only constructor).
    encoder: Encoder,
}

impl TrainableEncoder {
    /// The f32 encoder of `model` on `device`.
    pub fn new(model: ModelFile, device: &candle_core::Device) -> Result<TrainableEncoder> {
        Ok(TrainableEncoder {
            encoder: Encoder::with_precision(model, device, Precision::F32)?,
        })
    }

    fn network(&self) -> &Bert {
        self.encoder.f32_network().expect("a TrainableEncoder is built at f32")
    }

    /// Makes the encoder trainable from layer `frozen_layers` up: those layers' weights
    /// become variables and their forward pass differentiable (see [`Bert::trainable`]).
    /// Returns the variables by name.
    pub fn trainable(&mut self, frozen_layers: usize) -> Result<Vec<(String, Var)>, EncoderError> {
        self.encoder
            .f32_network_mut()
            .expect("a TrainableEncoder is built at f32")
            .trainable(frozen_layers)
    }

    /// L2-normalised embeddings `[texts, dim]` as a tensor that gradients flow through, each
    /// text cut to its first `max_tokens` content tokens.
    pub fn embed_for_training(
        &self,
        texts: &[&str],
        kind: TextKind,
        max_tokens: usize,
    ) -> Result<Tensor, EncoderError> {
        let contents = texts
            .iter()
            .map(|text| self.encoder.training_ids(text, kind, max_tokens))
            .collect::<Result<Vec<_>, _>>()?;
        let contents: Vec<&[u32]> = contents.iter().map(Vec::as_slice).collect();
        unit_rows(&self.encoder.pooled(self.network(), &contents)?)
    }

    /// The frozen layers' output for each text's content ids (from
    /// [`Encoder::training_ids`]): one `[tokens, hidden]` tensor a text, `<s>` and `</s>`
    /// included. It stays the same for the whole run, whatever the trained layers learn.
    pub fn frozen_states(&self, contents: &[&[u32]]) -> Result<Vec<Tensor>, EncoderError> {
        let (ids, mask) = self.encoder.padded_ids(contents)?;
        let states = self.network().frozen_states(&ids, &mask)?.detach();
        contents
            .iter()
            .enumerate()
            .map(|(i, c)| Ok(states.get(i)?.narrow(0, 0, c.len() + 2)?.contiguous()?))
            .collect()
    }

    /// BLAKE3 of the weights below the trained layers (see [`TrainableEncoder::trainable`]):
    /// models with one fingerprint give the same [`TrainableEncoder::frozen_states`].
    pub fn frozen_fingerprint(&self) -> Result<String, EncoderError> {
        self.network().frozen_fingerprint()
    }

    /// What [`TrainableEncoder::embed_for_training`] gives, from the texts'
    /// [`TrainableEncoder::frozen_states`]: only the trained layers run.
    pub fn embed_above_frozen(&self, states: &[Tensor]) -> Result<Tensor, EncoderError> {
        let device = self.encoder.device();
        let tokens = states.iter().map(|s| s.dim(0)).collect::<Result<Vec<_>, _>>()?;
        let longest = tokens.iter().copied().max().unwrap_or(1);
        let hidden = self.encoder.dim();
        let mut rows = Vec::with_capacity(states.len());
        let mut mask = Vec::with_capacity(states.len() * longest);
        for (state, &n) in states.iter().zip(&tokens) {
            let state = state.to_device(device)?.to_dtype(DType::F32)?;
            rows.push(if n < longest {
                Tensor::cat(&[state, Tensor::zeros((longest - n, hidden), DType::F32, device)?], 0)?
            } else {
                state
            });
            mask.extend(std::iter::repeat_n(1f32, n));
            mask.extend(std::iter::repeat_n(0f32, longest - n));
        }
        let x = Tensor::stack(&rows, 0)?;
        let mask = Tensor::from_vec(mask, (states.len(), longest), device)?;
        let hidden = self.network().forward_above_frozen(&x, &mask)?;
        unit_rows(&self.encoder.pool_padded(&hidden, tokens.into_iter())?)
    }

    /// Saves the weights as a model file: `base` (the model training started from) with
    /// the encoder's layer weights, matrices stored as `matrix_dtype`.
    pub fn save(&self, mut base: ModelFile, matrix_dtype: GgmlDType, path: &Path) -> Result<()> {
        self.network().store_into(&mut base, matrix_dtype)?;
        base.write_gguf(path)?;
        Ok(())
    }
}

impl std::ops::Deref for TrainableEncoder {
    type Target = Encoder;
    fn deref(&self) -> &Encoder {
        &self.encoder
    }
}

/// Rows of `x` scaled to unit length (differentiable).
fn unit_rows(x: &Tensor) -> Result<Tensor, EncoderError> {
    let norm = x.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}
