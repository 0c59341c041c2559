//! `mlsearch train`: prepare training records, print batch statistics (`--dry-run`), or
//! fine-tune the encoder and save it as a model file.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use mlsearch::encoder::{Encoder, Precision};
use mlsearch::train::data::{self, PrepareOptions};
use mlsearch::train::sampler::{batch_stats, Sampler, Sampling};
use mlsearch::train::sources;
use mlsearch::train::{self, TrainOptions};

use super::args::{PrepareArgs, SamplingKind, TrainArgs, TrainCommand, TrainRunArgs};
use super::EXIT_OK;

pub fn run(args: TrainArgs) -> anyhow::Result<u8> {
    match args.prepare {
        Some(TrainCommand::Prepare(p)) => prepare(p),
        None => run_training(args.run),
    }
}

fn prepare(args: PrepareArgs) -> anyhow::Result<u8> {
    // `--data` is the corpus's folder, or for `mix` the data root.
    let data = match sources::SOURCES.iter().find(|(s, _)| *s == args.corpus) {
        Some((_, folder)) => mlsearch::bench::data_dir(args.data.as_deref(), folder)?,
        None => match (&args.data, std::env::var_os("MLSEARCH_DATA")) {
            (Some(dir), _) => dir.clone(),
            (None, Some(root)) if !root.is_empty() => PathBuf::from(root),
            _ => bail!("where are the training corpora? Pass --data DIR (the folder holding ntrex-128/, flores-sib200/, …), or set MLSEARCH_DATA to it"),
        },
    };
    let options = PrepareOptions {
        valid_every: args.valid_every,
        exclude: if args.exclude == "none" {
            Vec::new()
        } else {
            args.exclude.split(',').map(|c| c.trim().to_string()).collect()
        },
        only: args
            .langs
            .as_deref()
            .map(|l| l.split(',').map(|c| c.trim().to_string()).collect())
            .unwrap_or_default(),
    };
    let (prepared, per_source) = if args.corpus == "mix" {
        let sources: Vec<String> = args
            .sources
            .as_deref()
            .map(|l| l.split(',').map(|c| c.trim().to_string()).collect())
            .unwrap_or_default();
        sources::prepare_mix(&data, &options, &sources)
    } else {
        sources::prepare_source(&args.corpus, &data, &options).map(|p| (p, Vec::new()))
    }
    .with_context(|| format!("reading {}", data.display()))?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    data::write_records(&args.out.join("train.jsonl"), &prepared.train)?;
    data::write_records(&args.out.join("valid.jsonl"), &prepared.valid)?;
    for (lang, why) in &prepared.skipped {
        eprintln!("mlsearch: skipped {lang}: {why}");
    }
    let groups = |records: &[data::Record]| {
        records
            .iter()
            .map(|r| &r.id)
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    println!(
        "{}: {} languages; train {} records in {} groups, valid {} records in {} groups -> {}",
        args.corpus,
        prepared.languages.len(),
        prepared.train.len(),
        groups(&prepared.train),
        prepared.valid.len(),
        groups(&prepared.valid),
        args.out.display()
    );
    for c in per_source {
        println!("  {}: train {}, valid {}", c.source, c.train, c.valid);
    }
    Ok(EXIT_OK)
}

fn sampling(args: &TrainRunArgs) -> anyhow::Result<Sampling> {
    Ok(match args.sampling {
        SamplingKind::Xx => Sampling::Xx,
        SamplingKind::Xy => Sampling::Xy,
        SamplingKind::Hybrid => {
            if !(0.0..=1.0).contains(&args.alpha) {
                bail!("--alpha must be within 0 and 1, not {}", args.alpha);
            }
            Sampling::Hybrid { alpha: args.alpha }
        }
    })
}

fn run_training(args: TrainRunArgs) -> anyhow::Result<u8> {
    let Some(train_path) = &args.train else {
        bail!("--train FILE is required (make one with `mlsearch train prepare ntrex --out DIR`)");
    };
    let records = data::read_records(train_path)?;
    let sampling = sampling(&args)?;
    if args.dry_run {
        let mut sampler =
            Sampler::new(records, sampling, args.batch_size, args.seed).with_same_article(args.same_article);
        let languages = sampler.languages().len();
        let groups = sampler.groups();
        let stats = batch_stats(&mut sampler, args.dry_run_batches);
        println!(
            "{} groups in {languages} languages; {} batches of {:.1} pairs: {} monolingual ({:.1}%), {} of {} pairs in one language, {} batches with a repeated group",
            groups,
            stats.batches,
            stats.mean_pairs,
            stats.monolingual,
            100.0 * stats.monolingual as f64 / stats.batches.max(1) as f64,
            stats.same_language_pairs,
            stats.pairs,
            stats.duplicate_groups
        );
        println!("{}", serde_json::to_string(&stats)?);
        return Ok(EXIT_OK);
    }
    let Some(output) = &args.output else {
        bail!("--output FILE is required: where the trained model file goes");
    };
    let valid = match &args.valid {
        Some(path) => data::read_records(path)?,
        None => Vec::new(),
    };
    let checkpoints = args.checkpoints.clone().unwrap_or_else(|| train::default_out(output));
    let options = TrainOptions {
        sampling,
        batch_size: args.batch_size,
        micro_batch: args.micro_batch.unwrap_or(args.batch_size),
        same_article: args.same_article,
        steps: args.steps,
        lr: args.lr,
        weight_decay: args.weight_decay,
        warmup: args.warmup,
        clip: args.clip,
        temperature: args.temperature,
        max_query_tokens: args.max_query_tokens,
        max_passage_tokens: args.max_passage_tokens,
        seed: args.seed,
        checkpoint_every: args.checkpoint_every,
        validate_every: args.validate_every,
        validation_batches: 4,
        patience: args.patience,
        matrix_dtype: args.dtype.ggml(),
        frozen_layers: args.frozen_layers,
        teacher_weight: args.teacher_weight,
        interpolate: args.interpolate,
        frozen_cache: match (&args.frozen_cache, args.no_frozen_cache) {
            (_, true) => None,
            (Some(dir), false) => Some(dir.clone()),
            (None, false) => Some(checkpoints.join("frozen-cache")),
        },
    };
    if !(0.0..=1.0).contains(&options.interpolate) {
        bail!("--interpolate must be within 0 and 1, not {}", options.interpolate);
    }
    if !(0.0..=1e3).contains(&options.teacher_weight) {
        bail!(
            "--teacher-weight must be within 0 and 1000, not {}",
            options.teacher_weight
        );
    }
    if args.model.precision == Some(Precision::Int8) {
        bail!("training computes gradients in f32: leave out --precision (or give f32)");
    }
    // The model is read once; the base (whose untouched tensors the saved model keeps),
    // the trainable copy (converted to f32 and updated in place) and the frozen teacher
    // share its stored tensors.
    let (base, identity) = super::embed::load_model_file(&args.model)?;
    let device = super::embed::device(&args.model.device)?;
    let mut encoder = train::TrainableEncoder::new(base.clone(), &device)?;
    if options.frozen_layers >= encoder.layers() {
        bail!(
            "--frozen-layers {} leaves nothing to train: the model has {} layers",
            options.frozen_layers,
            encoder.layers()
        );
    }
    // The teacher is the base model as it was loaded, in the fast precision of the device.
    let teacher = if options.teacher_weight > 0.0 {
        Some(Encoder::new(base.clone(), &device)?)
    } else {
        None
    };
    eprintln!(
        "training {} from {} on {} records ({:?}, batch {}, micro-batch {}, {} steps, {} layers frozen, teacher weight {}); checkpoints in {}",
        output.display(),
        identity.name,
        records.len(),
        sampling,
        options.batch_size,
        options.micro_batch,
        options.steps,
        options.frozen_layers,
        options.teacher_weight,
        checkpoints.display()
    );
    let bar = super::progress_bar(
        options.steps as u64,
        "[{elapsed_precise}] {wide_bar} {pos}/{len} steps {msg} ETA {eta}",
    );
    let terminal = std::io::stderr().is_terminal();
    let last = train::train(
        &mut encoder,
        teacher.as_ref(),
        records,
        valid,
        &options,
        &checkpoints,
        args.resume,
        &mut |r| {
            bar.set_position(r.step as u64);
            bar.set_message(format!("loss {:.4}, {:.3} steps/s", r.loss, r.steps_per_second));
            let line = match &r.validation {
            Some(v) => Some(format!(
                "step {}/{}: loss {:.4}, lr {:.2e}, grad norm {:.3}, {:.3} steps/s; validation loss {:.4}, recall@1 X-X {:.3} X-Y {:.3}",
                r.step, r.steps, r.loss, r.lr, r.grad_norm, r.steps_per_second, v.loss, v.recall_xx, v.recall_xy
            )),
            None if !terminal => Some(format!(
                "step {}/{}: loss {:.4}, lr {:.2e}, grad norm {:.3}, {:.3} steps/s",
                r.step, r.steps, r.loss, r.lr, r.grad_norm, r.steps_per_second
            )),
            None => None,
        };
            if let Some(line) = line {
                bar.suspend(|| eprintln!("{line}"));
            }
        },
    )?;
    bar.finish_and_clear();
    encoder.save(base, options.matrix_dtype, output)?;
    let mut out = std::io::stdout().lock();
    match last {
        Some(r) => writeln!(
            out,
            "saved {} after step {} (loss {:.4})",
            output.display(),
            r.step,
            r.loss
        )?,
        None => writeln!(out, "saved {} (no steps left to run)", output.display())?,
    }
    Ok(EXIT_OK)
}
