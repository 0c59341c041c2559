//! The quantised inference model: the same encoder as [`super::bert`], with int8 linear
//! layers ([`super::int8`]) and the rest in plain f32 on slices. Inference only: no
//! training switches, no autograd.
//!
//! Texts are not padded: the tokens of a batch's windows come laid end to end (framed by
//! the [`super::Encoder`], which also pools the rows this model returns) for the linear
//! layers (which see tokens, not texts), and attention runs per window and head over that
//! window's own tokens. A batch that mixes lengths wastes nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use super::int8::Int8Matrix;
use super::matmul::{matmul, View};
use super::model_file::ModelFile;
use super::weights::{self, Part};
use super::wide::wide;
use super::{EncoderError, ModelConfig};

/// Where the time of a forward pass went, by operation (summed over layers).
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// (operation, time), in the order of the forward pass.
    pub ops: Vec<(&'static str, Duration)>,
}

impl Profile {
    fn add(&mut self, op: &'static str, since: Instant) {
        let spent = since.elapsed();
        match self.ops.iter_mut().find(|(name, _)| *name == op) {
            Some((_, total)) => *total += spent,
            None => self.ops.push((op, spent)),
        }
    }
}

/// A linear layer: int8 (f32 only where a measurement asks for it).
enum Linear {
    Int8(Int8Matrix),
    /// `[k, n]` (transposed, row-major) and bias.
    #[cfg(feature = "bench-internals")]
    F32 {
        weight_t: Vec<f32>,
        bias: Vec<f32>,
        k: usize,
        n: usize,
    },
}

impl Linear {
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        match self {
            Linear::Int8(m) => m.forward(x),
            #[cfg(feature = "bench-internals")]
            Linear::F32 { weight_t, bias, k, n } => {
                let m = x.len() / k;
                let mut out = vec![0f32; m * n];
                // Row chunks in parallel; each is one product on one thread.
                let rows = 64;
                out.par_chunks_mut(rows * n).enumerate().for_each(|(c, out)| {
                    let r = out.len() / n;
                    let xs = &x[c * rows * k..(c * rows + r) * k];
                    matmul(
                        out,
                        View::dense(r, *n),
                        xs,
                        View::dense(r, *k),
                        weight_t,
                        View::dense(*k, *n),
                        1.0,
                    );
                    for row in out.chunks_exact_mut(*n) {
                        row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                    }
                });
                out
            }
        }
    }

    /// The `parts` of layer `layer` (one product when several: q, k, v) as int8 rows: as
    /// stored when the model keeps int8 rows (`model quantize --dtype int8`), else quantised
    /// from its f32 weights.
    fn int8(model: &ModelFile, layer: usize, parts: &[Part]) -> Result<Linear, EncoderError> {
        let bias = stacked(model, layer, parts, "b")?;
        let stored: Option<Vec<(Vec<i8>, Vec<f32>)>> = parts
            .iter()
            .map(|&p| model.int8_rows(&weights::name(layer, p, "w")))
            .collect();
        if let Some(stored) = stored {
            let (mut values, mut scales) = (Vec::new(), Vec::new());
            for (v, s) in stored {
                values.extend(v);
                scales.extend(s);
            }
            let n = scales.len();
            let k = values.len() / n.max(1);
            return Ok(Linear::Int8(Int8Matrix::from_int8(&values, &scales, n, k, &bias)));
        }
        let weights = stacked(model, layer, parts, "w")?;
        let n = bias.len();
        let k = weights.len() / n.max(1);
        Ok(Linear::Int8(Int8Matrix::quantize(&weights, n, k, &bias)))
    }

    /// The `parts` of layer `layer` in f32, for measuring which layers' int8 error matters.
    #[cfg(feature = "bench-internals")]
    fn f32(model: &ModelFile, layer: usize, parts: &[Part]) -> Result<Linear, EncoderError> {
        let weights = stacked(model, layer, parts, "w")?;
        let bias = stacked(model, layer, parts, "b")?;
        let n = bias.len();
        let k = weights.len() / n.max(1);
        let mut weight_t = vec![0f32; k * n];
        for j in 0..n {
            for i in 0..k {
                weight_t[i * n + j] = weights[j * k + i];
            }
        }
        Ok(Linear::F32 { weight_t, bias, k, n })
    }
}

/// The weights (`"w"`) or biases (`"b"`) of `parts` of layer `layer` in f32, one part's
/// rows after the other's (q, k and v make one product).
fn stacked(model: &ModelFile, layer: usize, parts: &[Part], which: &str) -> Result<Vec<f32>, EncoderError> {
    let mut out = Vec::new();
    for &part in parts {
        out.extend(matrix(model, &weights::name(layer, part, which))?);
    }
    Ok(out)
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn load(model: &ModelFile, name: &str, eps: f64) -> Result<Norm, EncoderError> {
        Ok(Norm {
            weight: matrix(model, &format!("{name}.w"))?,
            bias: matrix(model, &format!("{name}.b"))?,
            eps: eps as f32,
        })
    }

    /// Normalises every row of `x` in place.
    fn apply(&self, x: &mut [f32]) {
        let h = self.weight.len();
        x.par_chunks_mut(h * 64)
            .for_each(|rows| wide!(layer_norm_rows(rows, &self.weight, &self.bias, self.eps)));
    }
}

struct Layer {
    /// Query, key and value in one product: `[tokens, 3 · hidden]`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    ffn_in: Linear,
    ffn_out: Linear,
    output_norm: Norm,
}

/// The int8 encoder, ready to run on the CPU.
pub struct QuantizedBert {
    /// Kept as stored (Q4_0 for the built-in model); only a batch's rows are dequantised.
    word: Arc<candle_core::quantized::QTensor>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    config: ModelConfig,
}

impl QuantizedBert {
    /// Quantises a model's linear layers to int8 per output row.
    pub fn load(model: &ModelFile) -> Result<QuantizedBert, EncoderError> {
        let c = model.config.clone();
        let eps = c.layer_norm_eps;
        let layers = (0..c.num_layers)
            .into_par_iter()
            .map(|l| {
                Ok(Layer {
                    qkv: Linear::int8(model, l, &[Part::Query, Part::Key, Part::Value])?,
                    attention_out: Linear::int8(model, l, &[Part::AttentionOut])?,
                    attention_norm: Norm::load(model, &weights::name(l, Part::AttentionNorm, ""), eps)?,
                    ffn_in: Linear::int8(model, l, &[Part::FfnIn])?,
                    ffn_out: Linear::int8(model, l, &[Part::FfnOut])?,
                    output_norm: Norm::load(model, &weights::name(l, Part::OutputNorm, ""), eps)?,
                })
            })
            .collect::<Result<Vec<Layer>, EncoderError>>()?;
        let token_type = matrix(model, weights::TOKEN_TYPE)?;
        let position = matrix(model, weights::POSITION)?;
        let embedding_norm = Norm::load(model, weights::EMBEDDING_NORM, eps)?;
        Ok(QuantizedBert {
            word: model.shared(weights::WORD)?,
            position,
            embedding_norm,
            token_type: token_type[..c.hidden_size].to_vec(),
            layers,
            config: c,
        })
    }

    /// Puts the f32 weights of `model` back into the linear layers that `keep_f32` names
    /// (layer, part): measurement only, for which layers' int8 error matters (`cargo bench
    /// --bench encoder --features bench-internals`; docs/encoder.md).
    #[cfg(feature = "bench-internals")]
    pub fn keep_f32(&mut self, model: &ModelFile, keep_f32: &dyn Fn(usize, Part) -> bool) -> Result<(), EncoderError> {
        for (l, layer) in self.layers.iter_mut().enumerate() {
            let linears: [(&[Part], &mut Linear); 4] = [
                (&[Part::Query, Part::Key, Part::Value], &mut layer.qkv),
                (&[Part::AttentionOut], &mut layer.attention_out),
                (&[Part::FfnIn], &mut layer.ffn_in),
                (&[Part::FfnOut], &mut layer.ffn_out),
            ];
            for (parts, linear) in linears {
                if parts.iter().any(|&p| keep_f32(l, p)) {
                    *linear = Linear::f32(model, l, parts)?;
                }
            }
        }
        Ok(())
    }

    /// Hidden rows `[tokens, hidden]` of the windows whose framed token ids lie end to end
    /// in `ids`, window `w` at `starts[w]..starts[w + 1]`; `profile` collects where the
    /// time went.
    pub fn hidden(
        &self,
        ids: &[u32],
        starts: &[usize],
        profile: Option<&mut Profile>,
    ) -> Result<Vec<f32>, EncoderError> {
        // A small batch (a query) runs its whole pass on a worker of the thread pool: each
        // parallel step then starts from a worker (a step with one piece runs in place)
        // instead of handing work over from the caller's thread and waiting, tens of µs a
        // step. Measured: a query 6.9 → 5.5 ms p50; for large batches it halved
        // throughput, so they start from the caller.
        if ids.len() <= SMALL_BATCH_TOKENS {
            rayon::scope(|_| self.hidden_on_pool(ids, starts, profile))
        } else {
            self.hidden_on_pool(ids, starts, profile)
        }
    }

    fn hidden_on_pool(
        &self,
        ids: &[u32],
        starts: &[usize],
        mut profile: Option<&mut Profile>,
    ) -> Result<Vec<f32>, EncoderError> {
        let mut time = |op: &'static str, since: Instant| {
            if let Some(p) = profile.as_deref_mut() {
                p.add(op, since)
            }
        };
        let t = Instant::now();
        let mut x = self.embed(ids, starts)?;
        self.embedding_norm.apply(&mut x);
        time("embeddings", t);
        for layer in &self.layers {
            let t = Instant::now();
            let qkv = layer.qkv.forward(&x);
            time("q/k/v products", t);
            let context = self.attention(&qkv, starts, &mut time);
            let t = Instant::now();
            let attended = layer.attention_out.forward(&context);
            time("attention output product", t);
            let t = Instant::now();
            add_in_place(&mut x, &attended);
            layer.attention_norm.apply(&mut x);
            time("residual + layer norm", t);
            let t = Instant::now();
            let mut mid = layer.ffn_in.forward(&x);
            time("FFN in product", t);
            let t = Instant::now();
            gelu_in_place(&mut mid);
            time("GELU", t);
            let t = Instant::now();
            let out = layer.ffn_out.forward(&mid);
            time("FFN out product", t);
            let t = Instant::now();
            add_in_place(&mut x, &out);
            layer.output_norm.apply(&mut x);
            time("residual + layer norm", t);
        }
        Ok(x)
    }

    /// Word + position + token-type embeddings of every token.
    fn embed(&self, ids: &[u32], starts: &[usize]) -> Result<Vec<f32>, EncoderError> {
        let h = self.config.hidden_size;
        let max = self.config.max_positions;
        let ids_tensor = Tensor::from_vec(ids.to_vec(), ids.len(), &Device::Cpu)?;
        let mut x = self.word.embedding(&ids_tensor)?.flatten_all()?.to_vec1::<f32>()?;
        for w in starts.windows(2) {
            for (p, row) in x[w[0] * h..w[1] * h].chunks_exact_mut(h).enumerate() {
                let position = &self.position[p.min(max - 1) * h..(p.min(max - 1) + 1) * h];
                for ((v, a), b) in row.iter_mut().zip(position).zip(&self.token_type) {
                    *v += a + b;
                }
            }
        }
        Ok(x)
    }

    /// Scaled dot-product attention per window and head: `[tokens, hidden]`.
    fn attention(&self, qkv: &[f32], starts: &[usize], time: &mut dyn FnMut(&'static str, Instant)) -> Vec<f32> {
        let t = Instant::now();
        let h = self.config.hidden_size;
        let heads = self.config.num_heads;
        let d = h / heads;
        let width = 3 * h;
        let scale = 1.0 / (d as f32).sqrt();
        let mut context = vec![0f32; qkv.len() / 3];
        // Each window's rows of the context, to fill in parallel.
        let mut rest = context.as_mut_slice();
        let mut windows = Vec::with_capacity(starts.len());
        for w in starts.windows(2) {
            let (mine, tail) = rest.split_at_mut((w[1] - w[0]) * h);
            windows.push((w[0], w[1] - w[0], mine));
            rest = tail;
        }
        windows.par_iter_mut().for_each(|(start, len, out)| {
            let (start, len) = (*start, *len);
            let rows = &qkv[start * width..(start + len) * width];
            let mut scores = vec![0f32; len * len];
            if len <= SHORT_WINDOW {
                wide!(short_attention(rows, len, heads, d, scale, &mut scores, out));
                return;
            }
            long_attention(rows, len, heads, d, scale, &mut scores, out);
        });
        time("attention (scores, softmax, context)", t);
        context
    }
}

/// Batches of at most this many tokens run on a pool worker (see `QuantizedBert::pooled`).
const SMALL_BATCH_TOKENS: usize = 256;

/// Windows of at most this many tokens (queries) run attention as plain dot products: a
/// `gemm` call costs more to set up than such a product takes.
const SHORT_WINDOW: usize = 48;

/// Attention of one short window, every head, into `out` (`[len, hidden]`).
#[inline(always)]
fn short_attention(rows: &[f32], len: usize, heads: usize, d: usize, scale: f32, scores: &mut [f32], out: &mut [f32]) {
    let h = heads * d;
    let width = 3 * h;
    for head in 0..heads {
        let (q0, k0, v0) = (head * d, h + head * d, 2 * h + head * d);
        for i in 0..len {
            let q = &rows[i * width + q0..i * width + q0 + d];
            for j in 0..len {
                let k = &rows[j * width + k0..j * width + k0 + d];
                scores[i * len + j] = super::dot(q, k) * scale;
            }
        }
        softmax_rows(scores, len);
        for i in 0..len {
            let p = &scores[i * len..(i + 1) * len];
            let context = &mut out[i * h + head * d..i * h + (head + 1) * d];
            // 16 columns at a time, summed in registers (not in `out`) over the tokens.
            for (c, part) in context.chunks_mut(16).enumerate() {
                let mut lanes = [0f32; 16];
                let col = v0 + c * 16;
                for (j, &pj) in p.iter().enumerate() {
                    let v = &rows[j * width + col..j * width + col + part.len()];
                    lanes.iter_mut().zip(v).for_each(|(l, x)| *l += pj * x);
                }
                part.copy_from_slice(&lanes[..part.len()]);
            }
        }
    }
}

/// Attention of one window, every head, into `out` (`[len, hidden]`), with `gemm`
/// products on strided views of the heads.
fn long_attention(rows: &[f32], len: usize, heads: usize, d: usize, scale: f32, scores: &mut [f32], out: &mut [f32]) {
    let h = heads * d;
    let width = 3 * h;
    for head in 0..heads {
        let q = View::columns(len, width, head * d, d);
        let k = View::columns(len, width, h + head * d, d);
        let v = View::columns(len, width, 2 * h + head * d, d);
        matmul(scores, View::dense(len, len), rows, q, rows, k.t(), scale);
        wide!(softmax_rows(scores, len));
        matmul(
            out,
            View::columns(len, h, head * d, d),
            scores,
            View::dense(len, len),
            rows,
            v,
            1.0,
        );
    }
}

/// An f32 copy of a weight (matrix or vector).
fn matrix(model: &ModelFile, name: &str) -> Result<Vec<f32>, EncoderError> {
    Ok(model.dense(name, &Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?)
}

/// Elements below which an elementwise loop runs on one thread: handing work to another
/// thread costs tens of µs (more in a VM), more than a query's loops take.
const PARALLEL_ELEMENTS: usize = 1 << 17;

/// The piece length for a parallel elementwise loop over `len` elements: `chunk`, or all
/// of them at once when they are too few to share.
fn piece(len: usize, chunk: usize) -> usize {
    if len < PARALLEL_ELEMENTS {
        len.max(1)
    } else {
        chunk
    }
}

fn add_in_place(x: &mut [f32], y: &[f32]) {
    let piece = piece(x.len(), 1 << 16);
    x.par_chunks_mut(piece)
        .zip(y.par_chunks(piece))
        .for_each(|(a, b)| wide!(add_rows(a, b)));
}

#[inline(always)]
fn add_rows(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
}

#[inline(always)]
fn layer_norm_rows(rows: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
    let h = weight.len();
    for row in rows.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(weight).zip(bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}

#[inline(always)]
fn softmax_rows(scores: &mut [f32], len: usize) {
    for row in scores.chunks_exact_mut(len) {
        softmax_in_place(row);
    }
}

/// `exp(x)` for `x ≤ 0` (softmax after the row maximum is taken off), relative error
/// about 2e-7: `x = n·ln 2 + r` with `|r| ≤ ½ ln 2` (ln 2 in two parts, so `r` keeps its
/// digits), `2^n` written into the exponent bits and `e^r` a degree-6 Taylor polynomial.
/// Rounding by adding and taking off 1.5·2²³ keeps it free of calls and branches, so the
/// loops around it vectorise.
#[inline]
fn exp_nonpositive(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2^n from the bits of `n + 1.5·2²³`, whose low bits hold n: no float-to-int
    // conversion (Rust's saturating `as` keeps the loop from vectorising).
    let biased = (n + ROUND).to_bits();
    p * f32::from_bits(biased.wrapping_add(127) << 23)
}

/// Softmax of one row; the maximum and the sum are taken in 8 lanes (one chain of
/// dependent operations over a row is what made a query's softmax slow).
#[inline(always)]
fn softmax_in_place(row: &mut [f32]) {
    let mut lanes = [f32::NEG_INFINITY; 8];
    for (i, &v) in row.iter().enumerate() {
        lanes[i % 8] = lanes[i % 8].max(v);
    }
    let max = lanes.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    row.iter_mut().for_each(|v| *v = exp_nonpositive(*v - max));
    let mut sums = [0f32; 8];
    for (i, &v) in row.iter().enumerate() {
        sums[i % 8] += v;
    }
    let inv = 1.0 / sums.iter().sum::<f32>();
    row.iter_mut().for_each(|v| *v *= inv);
}

/// GELU with the error function (BERT's), erf by Abramowitz & Stegun 7.1.26 (absolute
/// error below 1.5e-7).
fn gelu_in_place(x: &mut [f32]) {
    x.par_chunks_mut(piece(x.len(), 16384))
        .for_each(|chunk| wide!(gelu_rows(chunk)));
}

#[inline(always)]
fn gelu_rows(chunk: &mut [f32]) {
    {
        for v in chunk.iter_mut() {
            let z = *v * std::f32::consts::FRAC_1_SQRT_2;
            let a = z.abs();
            let t = 1.0 / (1.0 + 0.327_591_1 * a);
            let poly =
                t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
            let erf = 1.0 - poly * exp_nonpositive(-a * a);
            let erf = erf.copysign(z);
            *v = 0.5 * *v * (1.0 + erf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_and_erf_are_accurate() {
        for i in 0..2000 {
            let x = -(i as f32) * 0.01;
            let (got, want) = (exp_nonpositive(x), x.exp());
            assert!(
                (got - want).abs() <= 4e-7 * want.max(1e-30),
                "exp({x}): {got} vs {want}"
            );
        }
        assert_eq!(exp_nonpositive(-1e9), exp_nonpositive(-87.0));
        let mut v: Vec<f32> = (-300..300).map(|i| i as f32 * 0.02).collect();
        let want: Vec<f64> = v
            .iter()
            .map(|&x| {
                let x = f64::from(x);
                0.5 * x * (1.0 + libm_erf(x / std::f64::consts::SQRT_2))
            })
            .collect();
        gelu_in_place(&mut v);
        for (g, w) in v.iter().zip(&want) {
            assert!((f64::from(*g) - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    /// erf by its Taylor series (converges fast for |x| ≤ 4.3), for the test only.
    fn libm_erf(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn short_and_long_attention_agree() {
        let (len, heads, d) = (21, 3, 8);
        let rows: Vec<f32> = (0..len * 3 * heads * d)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let mut scores = vec![0f32; len * len];
        let (mut a, mut b) = (vec![0f32; len * heads * d], vec![1f32; len * heads * d]);
        short_attention(&rows, len, heads, d, 0.35, &mut scores, &mut a);
        long_attention(&rows, len, heads, d, 0.35, &mut scores, &mut b);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut row = vec![1.0, 2.0, -1e9, 0.5];
        softmax_in_place(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[2] < 1e-30);
    }
}
