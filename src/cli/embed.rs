//! `mlsearch embed` and `mlsearch model`: vectors for lines of text, and model files.

use std::io::{BufRead, BufWriter, Write};

use anyhow::Context;
use candle_core::Device;
use mlsearch::encoder::{Delta, Encoder, ModelFile, Precision, TextKind, TokenizerSpec};
use mlsearch::engine;
use mlsearch::store::ModelIdentity;

use super::args::{EmbedArgs, ModelAction, ModelArgs, ModelChoice};
use super::EXIT_OK;

/// The chosen model with its identity (recorded in an index with the vectors it makes).
/// The precision is `--precision`, else `recorded` (an index's vectors), else int8 on the
/// CPU and f32 on a GPU.
pub fn load_with_identity(
    choice: &ModelChoice,
    recorded: Option<Precision>,
) -> anyhow::Result<(Encoder, ModelIdentity)> {
    let loaded = engine::load_model(&choice.spec(), recorded).context(describe(choice))?;
    Ok((loaded.encoder, loaded.identity))
}

/// The precision of the vectors in the index at `dir`, if there is one with vectors.
pub fn recorded_precision(dir: &std::path::Path) -> Option<Precision> {
    let store = mlsearch::store::Store::open(dir).ok()?;
    store.manifest.vectors.as_ref().map(|v| v.model.precision)
}

/// The chosen model file (`--model PATH`, else the built-in one) and its identity.
pub fn load_model_file(choice: &ModelChoice) -> anyhow::Result<(ModelFile, ModelIdentity)> {
    engine::load_model_file(&choice.spec()).context(describe(choice))
}

/// The device named by `--device`.
pub fn device(name: &str) -> anyhow::Result<Device> {
    Ok(engine::device(name)?)
}

/// "loading model PATH" or "loading the built-in model", for error messages.
fn describe(choice: &ModelChoice) -> String {
    match &choice.model {
        Some(path) => format!("loading model {}", path.display()),
        None => "loading the built-in model".to_string(),
    }
}

pub fn run(args: EmbedArgs) -> anyhow::Result<u8> {
    if let (Some(corpus), Some(out)) = (&args.corpus, &args.out) {
        return embed_corpus(&args, corpus, out);
    }
    let means: Option<mlsearch::store::vectors::Centring> = match &args.means {
        Some(path) => Some(
            serde_json::from_str(
                &std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            )
            .with_context(|| format!("{}: not a means.json of an export", path.display()))?,
        ),
        None => None,
    };
    let (encoder, identity) = match &args.index {
        Some(index) => load_with_identity(&args.model, recorded_precision(index))?,
        None => load_with_identity(&args.model, None)?,
    };
    let searcher = match &args.index {
        Some(index) => {
            let searcher = mlsearch::search::Searcher::open(index)?;
            searcher.check_model(&identity)?;
            if !searcher.has_vectors() {
                anyhow::bail!("{}: the index has no vectors to centre like", index.display());
            }
            Some(searcher)
        }
        None => None,
    };
    let kind = if args.query { TextKind::Query } else { TextKind::Passage };
    let lines: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .collect::<Result<_, _>>()
        .context("reading texts from stdin")?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    if args.token_ids {
        for line in &lines {
            writeln!(out, "{}", serde_json::to_string(&encoder.content_ids(line, kind)?)?)?;
        }
        out.flush()?;
        return Ok(EXIT_OK);
    }
    let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(lines.len());
    for chunk in lines.chunks(args.batch.max(1)) {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let mut embedded = encoder.embed(&texts, kind)?;
        if let Some(searcher) = &searcher {
            for (text, vector) in texts.iter().zip(embedded.iter_mut()) {
                searcher.centre_query_vector(text, args.query_lang.as_deref(), vector)?;
            }
        }
        if let Some(means) = &means {
            for (text, vector) in texts.iter().zip(embedded.iter_mut()) {
                // Identified among the export's languages, as the index would.
                let langs: Vec<&str> = means.keys().map(String::as_str).collect();
                let lang = mlsearch::search::query_lang::identify(
                    text,
                    args.query_lang.as_deref(),
                    &langs,
                    Some(means),
                    Some(vector),
                )?
                .lang;
                mlsearch::store::vectors::centre_query(means, lang.as_deref(), vector);
            }
        }
        if args.format == "jsonl" {
            for v in &embedded {
                writeln!(out, "{}", serde_json::to_string(v)?)?;
            }
        } else {
            vectors.extend(embedded);
        }
    }
    if args.format == "npy" {
        write_npy(&mut out, &vectors, encoder.dim())?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

/// `embed --corpus FILE --shard I/N --out DIR`: passages of one shard, with progress.
fn embed_corpus(args: &EmbedArgs, corpus: &std::path::Path, out: &std::path::Path) -> anyhow::Result<u8> {
    let (encoder, identity) = load_with_identity(&args.model, None)?;
    let embedder = mlsearch::engine::EncoderEmbedder { encoder, identity };
    let shard = args.shard;
    let started = std::time::Instant::now();
    let report = mlsearch::ingest::embed_shard(corpus, shard, out, &embedder, &mut |r| {
        eprint!(
            "\rmlsearch: shard {}/{}: {} documents of {} read, {} passages embedded ({:.0}/s)   ",
            shard.index,
            shard.count,
            r.in_shard,
            r.documents,
            r.embedded,
            r.embedded as f64 / started.elapsed().as_secs_f64().max(1e-3)
        )
    })
    .with_context(|| format!("embedding {}", corpus.display()))?;
    eprintln!();
    println!(
        "shard {}/{}: {} of {} documents, {} passages embedded ({} already in the file), {} bad lines, in {:.1} s: {}",
        shard.index,
        shard.count,
        report.in_shard,
        report.documents,
        report.embedded,
        report.resumed,
        report.bad_lines,
        report.seconds,
        shard.file_in(out).display()
    );
    Ok(EXIT_OK)
}

/// NumPy format 1.0: magic, header dict padded to a multiple of 64, little-endian f32 rows.
fn write_npy(out: &mut impl Write, rows: &[Vec<f32>], dim: usize) -> std::io::Result<()> {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {dim}), }}",
        rows.len()
    );
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&(header.len() as u16).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    for row in rows {
        for v in row {
            out.write_all(&v.to_le_bytes())?;
        }
    }
    Ok(())
}

pub fn model(args: ModelArgs) -> anyhow::Result<u8> {
    match args.action {
        ModelAction::Import { source, output } => {
            let model =
                mlsearch::encoder::open_model(&source).with_context(|| format!("reading {}", source.display()))?;
            model.write_gguf(&output)?;
            let bytes = std::fs::metadata(&output)?.len();
            println!(
                "wrote {} ({:.1} MB): {} layers, hidden {}",
                output.display(),
                bytes as f64 / 1e6,
                model.config.num_layers,
                model.config.hidden_size
            );
        }
        ModelAction::Quantize {
            source,
            output,
            dtype,
            query_prefix,
            passage_prefix,
        } => {
            let mut model =
                mlsearch::encoder::open_model(&source).with_context(|| format!("reading {}", source.display()))?;
            match dtype.ggml() {
                Some(ggml) => model.quantize(ggml)?,
                None => model.store_int8_rows()?,
            }
            if let Some(p) = query_prefix {
                model.config.query_prefix = p;
            }
            if let Some(p) = passage_prefix {
                model.config.passage_prefix = p;
            }
            model.write_gguf(&output)?;
            println!(
                "wrote {} ({:.1} MB, matrices {dtype:?}): {} {} layers, hidden {}, {:?} pooling, prefixes {:?} / {:?}",
                output.display(),
                std::fs::metadata(&output)?.len() as f64 / 1e6,
                model.config.architecture,
                model.config.num_layers,
                model.config.hidden_size,
                model.config.pooling,
                model.config.query_prefix,
                model.config.passage_prefix
            );
        }
        ModelAction::Delta {
            trained,
            base,
            output,
            name,
        } => {
            let (base_model, base_hash) = match &base {
                Some(path) => {
                    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                    let model = ModelFile::from_bytes(&bytes).with_context(|| format!("reading {}", path.display()))?;
                    (model, blake3::hash(&bytes).to_hex().to_string())
                }
                None => {
                    let model =
                        ModelFile::builtin_base().context("this binary has no built-in model: pass --base PATH")??;
                    (
                        model,
                        mlsearch::encoder::builtin_base_blake3().unwrap_or_default().to_string(),
                    )
                }
            };
            let trained_model = ModelFile::open(&trained).with_context(|| format!("reading {}", trained.display()))?;
            let delta = Delta::between(&base_model, &trained_model, &base_hash, &name)
                .with_context(|| format!("{} against its base", trained.display()))?;
            let changed = delta.tensors.len();
            delta.write(&output)?;
            println!(
                "wrote {} ({:.1} MB): {changed} of {} tensors differ from the base",
                output.display(),
                std::fs::metadata(&output)?.len() as f64 / 1e6,
                trained_model.tensors.len()
            );
        }
        ModelAction::Info { path } => {
            let model = ModelFile::open(&path).with_context(|| format!("reading {}", path.display()))?;
            println!("{}", serde_json::to_string_pretty(&model.config)?);
            let tokenizer = match &model.tokenizer {
                TokenizerSpec::SentencePiece(v) => format!("SentencePiece unigram, {} pieces", v.pieces.len()),
                TokenizerSpec::HuggingFace { .. } => "Hugging Face tokenizer.json".to_string(),
            };
            println!("tokenizer: {tokenizer}; tensors: {}", model.tensors.len());
        }
    }
    Ok(EXIT_OK)
}
