//! Hybrid batch training of the encoder (arXiv 2408.10536): contrastive fine-tuning with
//! batches that are monolingual (X-X) with probability α and cross-lingual (X-Y)
//! otherwise.
//!
//! - Data: [`data`] (the record format and the NTREX / FLORES builders).
//! - Batches: [`sampler`].
//! - Loss: InfoNCE over cosine similarities of L2-normalised embeddings, temperature τ
//!   (default 0.05), in-batch negatives: each query against every passage of its
//!   micro-batch, the model's own `query: ` / `passage: ` prefixes.
//! - Optimiser: AdamW (β 0.9 / 0.999, ε 1e-8, weight decay 0.01, lr 3e-5: the paper's
//!   defaults), linear warm-up then linear decay, gradient clipping by global norm,
//!   gradient accumulation over micro-batches (a batch of B pairs in micro-batches of M:
//!   negatives come from the micro-batch).
//! - What trains: every layer's projections, biases and layer norms, and the embedding
//!   layer norm; word, position and token-type embeddings stay frozen (250k × 384 word
//!   vectors would triple the optimiser's memory and time for little gain on 2 cores).
//! - Checkpoints (weights, AdamW moments, sampler and step) every N steps in the output
//!   folder; `--resume` continues from the last one exactly where it stopped.
//! - Validation on held-out groups: loss and in-batch recall@1 for X-X and X-Y batches;
//!   the best weights (lowest validation loss) are kept and training stops early after
//!   `patience` validations without improvement.

mod checkpoint;
pub mod data;
pub mod frozen_cache;
mod optimizer;
pub mod sampler;
pub mod sources;
mod teacher;
mod trainable;

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::quantized::GgmlDType;
use candle_core::{DType, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::encoder::{Encoder, EncoderError, TextKind};
use crate::error::{Error, Result};
use checkpoint::{load_checkpoint, load_weights, save_checkpoint, save_weights, State};
use data::Record;
use frozen_cache::FrozenCache;
use optimizer::AdamW;
use sampler::{Batch, Sampler, Sampling};
use teacher::teacher_distance;
pub use teacher::TeacherAnchor;
pub use trainable::TrainableEncoder;

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Batch composition.
    pub sampling: Sampling,
    /// Pairs per optimiser step.
    pub batch_size: usize,
    /// Pairs per forward/backward pass (gradient accumulation when smaller).
    pub micro_batch: usize,
    /// Groups of one article drawn together as hard negatives (1: none; see
    /// [`Sampler::with_same_article`]).
    pub same_article: usize,
    /// Optimiser steps.
    pub steps: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Linear warm-up steps.
    pub warmup: usize,
    /// Clip the global gradient norm to this.
    pub clip: f64,
    /// InfoNCE temperature.
    pub temperature: f64,
    /// Longest query, in tokens.
    pub max_query_tokens: usize,
    /// Longest passage, in tokens.
    pub max_passage_tokens: usize,
    /// Seed of the sampler.
    pub seed: u64,
    /// Save a checkpoint every N steps.
    pub checkpoint_every: usize,
    /// Validate every N steps (0: never).
    pub validate_every: usize,
    /// Validation batches of each kind (X-X, X-Y).
    pub validation_batches: usize,
    /// Stop after this many validations without a better loss (0: never).
    pub patience: usize,
    /// Storage of the weight matrices in the saved model.
    pub matrix_dtype: GgmlDType,
    /// The lowest layers left as they are (0: all train); see [`crate::encoder::Encoder::trainable`].
    pub frozen_layers: usize,
    /// λ, the weight of the teacher anchor (0: InfoNCE alone); see [`TeacherAnchor`].
    pub teacher_weight: f64,
    /// T of the weights kept: base + T · (trained − base) (WiSE-FT; 1: the trained ones).
    pub interpolate: f64,
    /// Where the frozen layers' output of each text is kept between steps and runs (see
    /// [`frozen_cache`]); used when `frozen_layers` > 0.
    pub frozen_cache: Option<PathBuf>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            sampling: Sampling::Hybrid { alpha: 0.5 },
            batch_size: 32,
            micro_batch: 32,
            same_article: 1,
            steps: 1000,
            lr: 3e-5,
            weight_decay: 0.01,
            warmup: 100,
            clip: 1.0,
            temperature: 0.05,
            max_query_tokens: 64,
            max_passage_tokens: 128,
            seed: 42,
            checkpoint_every: 50,
            validate_every: 50,
            validation_batches: 4,
            patience: 5,
            matrix_dtype: GgmlDType::Q8_0,
            frozen_layers: 0,
            teacher_weight: 0.0,
            interpolate: 1.0,
            frozen_cache: None,
        }
    }
}

/// One progress report.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Step just done (1-based).
    pub step: usize,
    /// Of all steps.
    pub steps: usize,
    /// Training loss of the step.
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Steps per second, this run.
    pub steps_per_second: f64,
    /// Validation, when it ran this step.
    pub validation: Option<Validation>,
}

/// Validation scores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Validation {
    /// Mean InfoNCE loss over X-X and X-Y batches.
    pub loss: f64,
    /// In-batch recall@1, X-X batches.
    pub recall_xx: f64,
    /// In-batch recall@1, X-Y batches.
    pub recall_xy: f64,
}

/// Trains `encoder` (made trainable here) on `train`, validating on `valid`, with
/// checkpoints in `out`; calls `progress` after each step. With a `teacher` and
/// `options.teacher_weight` > 0, the loss has the teacher anchor. Returns the last report,
/// with the encoder holding the best weights seen (lowest validation loss; the last ones
/// without validation).
#[allow(clippy::too_many_arguments)]
pub fn train(
    encoder: &mut TrainableEncoder,
    teacher: Option<&Encoder>,
    train: Vec<Record>,
    valid: Vec<Record>,
    options: &TrainOptions,
    out: &Path,
    resume: bool,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Option<StepReport>> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let vars = encoder.trainable(options.frozen_layers)?;
    let encoder: &TrainableEncoder = encoder;
    let mut cache = match &options.frozen_cache {
        Some(dir) if options.frozen_layers > 0 => Some(FrozenCache::open(dir, encoder)?),
        _ => None,
    };
    let mut anchor = teacher.filter(|_| options.teacher_weight > 0.0).map(TeacherAnchor::new);
    let mut sampler =
        Sampler::new(train, options.sampling, options.batch_size, options.seed).with_same_article(options.same_article);
    if sampler.groups() == 0 {
        return Err(Error::Data {
            path: out.to_path_buf(),
            reason: "no training records".into(),
        });
    }
    let validation = validation_batches(valid, options);
    // The starting weights, for the interpolation at the end (a few layers when most are frozen).
    let start: Vec<Tensor> = if options.interpolate < 1.0 {
        vars.iter()
            .map(|(_, v)| v.as_tensor().copy())
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let mut optimizer = AdamW::new(vars, options.weight_decay)?;
    let mut state = State {
        step: 0,
        adam_steps: 0,
        sampler: sampler.state(),
        best_loss: None,
        bad_validations: 0,
    };
    let checkpoint = out.join("checkpoint");
    if resume {
        state = load_checkpoint(&checkpoint, &mut optimizer)?;
        sampler.restore(state.sampler.clone());
    }

    let started = Instant::now();
    let first_step = state.step;
    let mut last = None;
    while state.step < options.steps {
        let lr = learning_rate(options, state.step);
        let batch = sampler.next_batch();
        let (loss, grads) = batch_gradients(encoder, &mut cache, anchor.as_mut(), &optimizer.vars, &batch, options)?;
        let norm = global_norm(&grads)?;
        let scale = if norm > options.clip { options.clip / norm } else { 1.0 };
        let grads: Vec<Tensor> = grads.into_iter().map(|g| g * scale).collect::<Result<_, _>>()?;
        optimizer.step(&grads, lr)?;
        state.step += 1;
        state.adam_steps = optimizer.t;

        let mut report = StepReport {
            step: state.step,
            steps: options.steps,
            loss,
            lr,
            grad_norm: norm,
            steps_per_second: (state.step - first_step) as f64 / started.elapsed().as_secs_f64().max(1e-9),
            validation: None,
        };
        let validate = options.validate_every > 0
            && !validation.is_empty()
            && (state.step.is_multiple_of(options.validate_every) || state.step == options.steps);
        if validate {
            let v = validate_on(encoder, &mut cache, &validation, options)?;
            if state.best_loss.is_none_or(|best| v.loss < best) {
                state.best_loss = Some(v.loss);
                state.bad_validations = 0;
                save_weights(&out.join("best.safetensors"), &optimizer.vars)?;
            } else {
                state.bad_validations += 1;
            }
            report.validation = Some(v);
        }
        if state.step.is_multiple_of(options.checkpoint_every.max(1)) || state.step == options.steps {
            state.sampler = sampler.state();
            save_checkpoint(&checkpoint, &optimizer, &state)?;
        }
        progress(&report);
        last = Some(report);
        if options.patience > 0 && state.bad_validations >= options.patience {
            state.sampler = sampler.state();
            save_checkpoint(&checkpoint, &optimizer, &state)?;
            break;
        }
    }
    let best = out.join("best.safetensors");
    if best.exists() {
        load_weights(&best, &optimizer.vars)?;
    }
    for ((_, var), start) in optimizer.vars.iter().zip(&start) {
        let mixed = ((var.as_tensor() - start)? * options.interpolate).and_then(|d| d + start)?;
        var.set(&mixed)?;
    }
    Ok(last)
}

/// Warm-up from 0 to the peak, then linear decay to 0 at the last step.
fn learning_rate(options: &TrainOptions, step: usize) -> f64 {
    let warmup = options.warmup.max(1);
    if step < warmup {
        options.lr * (step + 1) as f64 / warmup as f64
    } else {
        let rest = options.steps.saturating_sub(warmup).max(1) as f64;
        options.lr * (1.0 - (step - warmup) as f64 / rest).max(0.0)
    }
}

/// InfoNCE loss of a micro-batch: queries `[m, d]` against passages `[m, d]`, the
/// matching passage of query i being row i.
pub fn info_nce(queries: &Tensor, passages: &Tensor, temperature: f64) -> Result<Tensor, EncoderError> {
    let logits = (queries.matmul(&passages.t()?)? / temperature)?;
    let m = queries.dim(0)?;
    let labels = Tensor::arange(0u32, m as u32, queries.device())?;
    Ok(candle_nn::loss::cross_entropy(&logits, &labels)?)
}

/// Loss and summed gradients of one batch, micro-batch by micro-batch (each micro-batch's
/// loss weighted by its share of the pairs).
fn batch_gradients(
    encoder: &TrainableEncoder,
    cache: &mut Option<FrozenCache>,
    mut anchor: Option<&mut TeacherAnchor>,
    vars: &[(String, Var)],
    batch: &Batch,
    options: &TrainOptions,
) -> Result<(f64, Vec<Tensor>)> {
    let total = batch.pairs.len().max(1) as f64;
    let mut sums: Vec<Option<Tensor>> = vec![None; vars.len()];
    let mut loss_sum = 0.0;
    for chunk in batch.pairs.chunks(options.micro_batch.max(2)) {
        let queries: Vec<&str> = chunk.iter().map(|p| p.query.as_str()).collect();
        let passages: Vec<&str> = chunk.iter().map(|p| p.passage.as_str()).collect();
        let q = embed_texts(encoder, cache, &queries, TextKind::Query, options.max_query_tokens)?;
        let p = embed_texts(encoder, cache, &passages, TextKind::Passage, options.max_passage_tokens)?;
        let weight = chunk.len() as f64 / total;
        let mut loss = info_nce(&q, &p, options.temperature)?;
        if let Some(anchor) = anchor.as_deref_mut() {
            let query_sources: Vec<&str> = chunk.iter().map(|p| p.query_source.as_str()).collect();
            let passage_sources: Vec<&str> = chunk.iter().map(|p| p.passage_source.as_str()).collect();
            let tq = anchor.targets(&query_sources, TextKind::Query)?;
            let tp = anchor.targets(&passage_sources, TextKind::Passage)?;
            let anchored = teacher_distance(&q, &tq, &p, &tp, options.teacher_weight)?;
            loss = (loss + anchored)?;
        }
        let loss = (loss * weight)?;
        loss_sum += loss.to_scalar::<f32>()? as f64;
        let grads = loss.backward()?;
        for (sum, (_, var)) in sums.iter_mut().zip(vars) {
            // Detached: a weight's gradient is an op over the forward activations
            // (xᵀ·δ), and keeping it (summed, or in AdamW's moments) would keep the whole
            // forward graph of every step alive.
            let g = match grads.get(var.as_tensor()) {
                Some(g) => g.detach(),
                None => var.zeros_like()?,
            };
            *sum = Some(match sum.take() {
                Some(s) => (s + g)?,
                None => g,
            });
        }
    }
    let grads = sums
        .into_iter()
        .zip(vars)
        .map(|(g, (_, v))| g.map_or_else(|| v.zeros_like(), Ok))
        .collect::<Result<Vec<Tensor>, _>>()?;
    Ok((loss_sum, grads))
}

fn global_norm(grads: &[Tensor]) -> Result<f64> {
    let mut sum = 0.0;
    for g in grads {
        sum += g
            .sqr()
            .and_then(|s| s.sum_all())
            .and_then(|s| s.to_dtype(DType::F64))
            .and_then(|s| s.to_scalar::<f64>())?;
    }
    Ok(sum.sqrt())
}

/// Fixed validation batches: X-X, then X-Y, drawn with a fixed seed.
fn validation_batches(valid: Vec<Record>, options: &TrainOptions) -> Vec<Batch> {
    if valid.is_empty() || options.validation_batches == 0 {
        return Vec::new();
    }
    let size = options.micro_batch.clamp(2, 64);
    let mut out = Vec::new();
    for sampling in [Sampling::Xx, Sampling::Xy] {
        let mut sampler = Sampler::new(valid.clone(), sampling, size, 20_240_801);
        for _ in 0..options.validation_batches {
            let batch = sampler.next_batch();
            if batch.pairs.len() >= 2 {
                out.push(batch);
            }
        }
    }
    out
}

/// The unit vectors training computes for `texts`: the whole network, or with a cache
/// only the trained layers over the frozen layers' stored output.
fn embed_texts(
    encoder: &TrainableEncoder,
    cache: &mut Option<FrozenCache>,
    texts: &[&str],
    kind: TextKind,
    max_tokens: usize,
) -> Result<Tensor> {
    match cache {
        Some(cache) => cache.embed(encoder, texts, kind, max_tokens),
        None => Ok(encoder.embed_for_training(texts, kind, max_tokens)?),
    }
}

/// Loss and in-batch recall@1 on the validation batches.
pub fn validate_on(
    encoder: &TrainableEncoder,
    cache: &mut Option<FrozenCache>,
    batches: &[Batch],
    options: &TrainOptions,
) -> Result<Validation> {
    let (mut loss, mut n) = (0.0, 0usize);
    let mut recall = [(0usize, 0usize); 2];
    for batch in batches {
        let queries: Vec<&str> = batch.pairs.iter().map(|p| p.query.as_str()).collect();
        let passages: Vec<&str> = batch.pairs.iter().map(|p| p.passage.as_str()).collect();
        let q = embed_texts(encoder, cache, &queries, TextKind::Query, options.max_query_tokens)?;
        let p = embed_texts(encoder, cache, &passages, TextKind::Passage, options.max_passage_tokens)?;
        let q = q.detach();
        let p = p.detach();
        loss += info_nce(&q, &p, options.temperature)?.to_scalar::<f32>()? as f64;
        n += 1;
        let scores = q.matmul(&p.t()?)?;
        let best = scores.argmax(1).and_then(|b| b.to_vec1::<u32>())?;
        let kind = if batch.monolingual { 0 } else { 1 };
        recall[kind].0 += best.iter().enumerate().filter(|(i, &b)| *i == b as usize).count();
        recall[kind].1 += best.len();
    }
    let share = |(hit, all): (usize, usize)| hit as f64 / all.max(1) as f64;
    Ok(Validation {
        loss: loss / n.max(1) as f64,
        recall_xx: share(recall[0]),
        recall_xy: share(recall[1]),
    })
}

/// Where checkpoints go by default.
pub fn default_out(model_out: &Path) -> PathBuf {
    model_out.with_extension("train")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::ModelFile;
    use candle_core::Device;

    use crate::encoder::TINY_MODEL as TINY;

    fn encoder() -> TrainableEncoder {
        TrainableEncoder::new(ModelFile::from_bytes(TINY).unwrap(), &Device::Cpu).unwrap()
    }

    fn records(groups: usize) -> Vec<Record> {
        let words = [
            "river", "bread", "star", "train", "music", "garden", "winter", "harbour", "castle", "forest",
        ];
        let mut out = Vec::new();
        for g in 0..groups {
            for (lang, suffix) in [("en", ""), ("de", "en"), ("fr", "e")] {
                let w = words[g % words.len()];
                out.push(Record {
                    id: format!("g{g}"),
                    lang: lang.into(),
                    query: format!("where is the {w}{suffix} number {g}"),
                    passage: format!("the {w}{suffix} {g} lies near the old {w}{suffix} road"),
                    doc: None,
                    article: None,
                    source: None,
                    cross_only: false,
                });
            }
        }
        out
    }

    fn options() -> TrainOptions {
        TrainOptions {
            batch_size: 8,
            micro_batch: 4,
            steps: 6,
            lr: 1e-3,
            warmup: 2,
            checkpoint_every: 3,
            validate_every: 3,
            validation_batches: 1,
            patience: 0,
            ..Default::default()
        }
    }

    #[test]
    fn the_training_forward_pass_computes_what_inference_computes() {
        let plain = encoder();
        let mut trainable = encoder();
        trainable.trainable(0).unwrap();
        // Both within the tiny model's 14-token window (longer texts are windowed by `embed`).
        let texts = ["the cat sat", "the mat"];
        let a = plain.embed(&texts, TextKind::Passage).unwrap();
        let b = trainable
            .embed_for_training(&texts, TextKind::Passage, 512)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (x, y) in a.iter().zip(&b) {
            let dot: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
            assert!(dot > 0.9999, "{dot}");
        }
    }

    #[test]
    fn every_trainable_weight_gets_a_gradient_and_the_loss_falls() {
        let mut encoder = encoder();
        let vars = encoder.trainable(0).unwrap();
        assert_eq!(vars.len(), 2 + 16 * encoder_layers(&vars));
        let mut sampler = Sampler::new(records(8), Sampling::Xy, 8, 1);
        let batch = sampler.next_batch();
        let opts = options();
        let (first_loss, grads) = batch_gradients(&encoder, &mut None, None, &vars, &batch, &opts).unwrap();
        for ((name, _), g) in vars.iter().zip(&grads) {
            let size = g.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(size > 0.0, "{name} has no gradient");
        }
        let loss = loss_after_steps(&encoder, vars, &batch, 30);
        assert!(loss < first_loss * 0.7, "loss {first_loss} -> {loss}");
    }

    /// The loss after `steps` AdamW steps (lr 1e-3) on one batch.
    fn loss_after_steps(encoder: &TrainableEncoder, vars: Vec<(String, Var)>, batch: &Batch, steps: usize) -> f64 {
        let mut optimizer = AdamW::new(vars, 0.01).unwrap();
        let mut loss = f64::NAN;
        for _ in 0..steps {
            let (l, grads) = batch_gradients(encoder, &mut None, None, &optimizer.vars, batch, &options()).unwrap();
            optimizer.step(&grads, 1e-3).unwrap();
            loss = l;
        }
        loss
    }

    #[test]
    fn frozen_layers_get_no_variables_and_the_rest_still_learns() {
        let mut encoder = encoder();
        let layers = encoder.layers();
        let vars = encoder.trainable(1).unwrap();
        assert_eq!(vars.len(), 16 * (layers - 1), "no embedding norm, no layer 0");
        assert!(
            vars.iter().all(|(n, _)| !n.contains(".0.") && !n.contains("embd")),
            "{:?}",
            vars.iter().map(|v| &v.0).collect::<Vec<_>>()
        );
        let mut sampler = Sampler::new(records(8), Sampling::Xy, 8, 1);
        let batch = sampler.next_batch();
        let opts = options();
        let (first_loss, _) = batch_gradients(&encoder, &mut None, None, &vars, &batch, &opts).unwrap();
        let loss = loss_after_steps(&encoder, vars, &batch, 30);
        assert!(loss < first_loss * 0.8, "loss {first_loss} -> {loss}");
    }

    #[test]
    fn training_over_the_frozen_cache_follows_the_whole_network() {
        let dir = tempfile::tempdir().unwrap();
        let mut sampler = Sampler::new(records(8), Sampling::Hybrid { alpha: 0.5 }, 8, 1);
        let batches: Vec<Batch> = (0..4).map(|_| sampler.next_batch()).collect();
        let losses = |cached: bool| -> Vec<f64> {
            let mut encoder = encoder();
            let vars = encoder.trainable(1).unwrap();
            let mut cache = cached.then(|| FrozenCache::open(dir.path(), &encoder).unwrap());
            let mut optimizer = AdamW::new(vars, 0.01).unwrap();
            let mut out = Vec::new();
            for batch in batches.iter().cycle().take(8) {
                let (l, grads) =
                    batch_gradients(&encoder, &mut cache, None, &optimizer.vars, batch, &options()).unwrap();
                optimizer.step(&grads, 1e-3).unwrap();
                out.push(l);
            }
            if let Some(cache) = &cache {
                // Every text once, then read back: the second round of batches only hits.
                assert!(
                    cache.misses > 0 && cache.hits >= cache.misses,
                    "{} / {}",
                    cache.hits,
                    cache.misses
                );
            }
            out
        };
        let (whole, cached) = (losses(false), losses(true));
        for (a, b) in whole.iter().zip(&cached) {
            assert!((a - b).abs() < 1e-3 * a.abs().max(1.0), "{whole:?} vs {cached:?}");
        }
        assert!(cached[7] < cached[0], "{cached:?}");
    }

    /// Mean squared distance of the student's unit vectors of `texts` to the teacher's.
    fn drift(student: &Encoder, teacher: &Encoder, texts: &[&str]) -> f32 {
        let (a, b) = (
            student.embed(texts, TextKind::Query).unwrap(),
            teacher.embed(texts, TextKind::Query).unwrap(),
        );
        let total: f32 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum::<f32>())
            .sum();
        total / texts.len() as f32
    }

    const DRIFT_TEXTS: [&str; 3] = ["where is the river", "the mill by the road", "wo ist der Fluss"];

    /// A fresh student after 12 steps at lr 3e-3 with `opts` (in `dir`), and its drift from
    /// the base model.
    fn drift_after_short_run(teacher: Option<&Encoder>, opts: TrainOptions, dir: &Path, resume: bool) -> f32 {
        let mut student = encoder();
        let opts = TrainOptions {
            lr: 3e-3,
            steps: 12,
            validate_every: 0,
            ..opts
        };
        train(
            &mut student,
            teacher,
            records(12),
            Vec::new(),
            &opts,
            dir,
            resume,
            &mut |_| {},
        )
        .unwrap();
        drift(&student, &encoder(), &DRIFT_TEXTS)
    }

    #[test]
    fn the_teacher_anchor_keeps_the_student_near_the_base_model() {
        let teacher = encoder();
        let run = |teacher_weight: f64| {
            let dir = tempfile::tempdir().unwrap();
            let opts = TrainOptions {
                teacher_weight,
                ..options()
            };
            drift_after_short_run(Some(&teacher), opts, dir.path(), false)
        };
        let (free, anchored) = (run(0.0), run(20.0));
        assert!(anchored < free * 0.7, "drift without anchor {free}, with {anchored}");
    }

    #[test]
    fn interpolation_saves_weights_between_the_base_and_the_trained_ones() {
        let dir = tempfile::tempdir().unwrap();
        let run = |interpolate: f64, resume: bool| {
            let opts = TrainOptions {
                interpolate,
                ..options()
            };
            drift_after_short_run(None, opts, dir.path(), resume)
        };
        let trained = run(1.0, false);
        // Resuming the finished run trains nothing more and only mixes the weights.
        let (none, half) = (run(0.0, true), run(0.5, true));
        assert!(none < 1e-10, "T 0 must give back the base model: drift {none}");
        assert!(
            half > 0.0 && half < trained * 0.6,
            "drift trained {trained}, T 0.5 {half}"
        );
    }

    fn encoder_layers(vars: &[(String, Var)]) -> usize {
        vars.iter().filter(|(n, _)| n.ends_with(".q.w")).count()
    }

    #[test]
    fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
        let dir = tempfile::tempdir().unwrap();
        let straight = dir.path().join("straight");
        let mut a = encoder();
        train(
            &mut a,
            None,
            records(12),
            records(4),
            &options(),
            &straight,
            false,
            &mut |_| {},
        )
        .unwrap();

        let split = dir.path().join("split");
        let mut b = encoder();
        let half = TrainOptions { steps: 6, ..options() };
        // Stop after 3 steps (as an interruption would, right after a checkpoint)...
        let mut steps = 0;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train(&mut b, None, records(12), records(4), &half, &split, false, &mut |r| {
                steps = r.step;
                if r.step == 3 {
                    panic!("interrupted");
                }
            })
        }));
        assert_eq!(steps, 3);
        // ...then resume in a fresh process-like state.
        let mut c = encoder();
        let last = train(&mut c, None, records(12), records(4), &half, &split, true, &mut |_| {})
            .unwrap()
            .unwrap();
        assert_eq!(last.step, 6);
        let x = a.embed(&["where is the river"], TextKind::Query).unwrap();
        let y = c.embed(&["where is the river"], TextKind::Query).unwrap();
        let diff: f32 = x[0].iter().zip(&y[0]).map(|(p, q)| (p - q).abs()).sum();
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn the_learning_rate_warms_up_then_decays() {
        let o = TrainOptions {
            steps: 10,
            warmup: 4,
            lr: 1.0,
            ..Default::default()
        };
        let lrs: Vec<f64> = (0..10).map(|s| learning_rate(&o, s)).collect();
        assert_eq!(&lrs[..4], &[0.25, 0.5, 0.75, 1.0]);
        assert!(lrs[5] < lrs[4] && lrs[9] > 0.0 && lrs[9] < 0.2);
    }
}
