//! `mlsearch index DIR`: progress on stderr (when it is a terminal), summary on stdout.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use mlsearch::ingest::{index_folder, IndexOptions, IndexReport, Progress};
use mlsearch::store::{EncoderEmbedder, PassageEmbedder};

use super::args::IndexArgs;
use super::EXIT_OK;

/// The encoder an `index` or `watch` run embeds with (none with `--no-vectors`).
pub(super) fn embedder(args: &IndexArgs) -> anyhow::Result<Option<EncoderEmbedder>> {
    if args.no_vectors {
        return Ok(None);
    }
    // An incremental run keeps the precision of the vectors already there.
    let recorded = if args.rebuild {
        None
    } else {
        super::embed::recorded_precision(&args.location.index)
    };
    let (encoder, identity) = super::embed::load_with_identity(&args.model, recorded)?;
    Ok(Some(EncoderEmbedder { encoder, identity }))
}

/// The library's options for `args`.
pub(super) fn options<'a>(args: &IndexArgs, embedder: Option<&'a EncoderEmbedder>) -> IndexOptions<'a> {
    IndexOptions {
        default_lang: args.default_lang.clone(),
        rebuild: args.rebuild,
        threads: args.threads,
        embedder: embedder.map(|e| e as &dyn PassageEmbedder),
        centre_languages: !args.no_centring,
        bm25_k1: args.bm25.bm25_k1,
        bm25_b: args.bm25.bm25_b,
        max_file_bytes: args.max_filesize,
        walk: args.walk.options(),
    }
}

pub fn run(args: IndexArgs) -> anyhow::Result<u8> {
    let embedder = embedder(&args)?;
    let options = options(&args, embedder.as_ref());
    let bar = super::progress_bar(
        0,
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} ETA {eta}",
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut warnings = 0usize;
    let (mut done_bytes, mut total_bytes) = (0u64, 0u64);
    let started = std::time::Instant::now();
    let mut embedding_started: Option<std::time::Instant> = None;
    let mut embedding_from: Option<usize> = None;
    let (mut files_done, mut files_total, mut embedded) = (0usize, 0usize, 0usize);
    let report = index_folder(&args.dir, &args.location.index, &options, &mut |event| match event {
        Progress::Start { files, bytes } => {
            bar.set_length(files as u64);
            total_bytes = bytes;
            files_total = files;
        }
        Progress::File { bytes, .. } => {
            done_bytes += bytes;
            files_done += 1;
            let rate = done_bytes as f64 / started.elapsed().as_secs_f64().max(1e-3) / 1e6;
            bar.set_message(format!(
                "files, {:.1}/{:.1} MB, {rate:.1} MB/s, {embedded} passages embedded",
                done_bytes as f64 / 1e6,
                total_bytes as f64 / 1e6
            ));
            bar.inc(1);
        }
        Progress::Embedded { done, .. } if files_done < files_total => {
            // Embedding runs beside the reading: the bar still counts files.
            embedded = done;
        }
        Progress::Embedded { done, total } => {
            // Files are read; the bar now counts passages, so its ETA is the embedding's.
            let since = *embedding_started.get_or_insert_with(std::time::Instant::now);
            let from = *embedding_from.get_or_insert(done);
            if bar.length() != Some(total as u64) {
                bar.set_length(total as u64);
                bar.reset_eta();
            }
            bar.set_position(done as u64);
            let rate = (done - from.min(done)) as f64 / since.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("passages embedded, {rate:.0}/s"));
        }
        Progress::Warning(message) => {
            warnings += 1;
            bar.suspend(|| eprintln!("mlsearch: warning: {message}"));
        }
    })
    .with_context(|| format!("indexing {}", args.dir.display()))?;
    bar.finish_and_clear();

    let mut out = std::io::stdout().lock();
    write_summary(&mut out, &report, warnings, "")?;
    Ok(EXIT_OK)
}

/// The two summary lines of a run (`after`: appended to the second).
pub(super) fn write_summary(
    out: &mut impl Write,
    report: &IndexReport,
    warnings: usize,
    after: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "files: {} added, {} updated, {} removed, {} unchanged, {} skipped{}",
        report.added,
        report.updated,
        report.removed,
        report.unchanged,
        report.skipped,
        left_out(report),
    )?;
    let languages: Vec<String> = report.languages.iter().map(|(l, n)| format!("{l} {n}")).collect();
    writeln!(
        out,
        "{}: {} files, {} passages in {} languages ({}) in {:.2} s{}{after}",
        if report.committed { "indexed" } else { "up to date" },
        report.files,
        report.passages,
        report.languages.len(),
        languages.join(", "),
        report.seconds,
        if warnings > 0 {
            format!("; {warnings} warnings above")
        } else {
            String::new()
        },
    )
}

/// ` (12 of other types; ignored: .gitignore 2 folders + 30 files, hidden 4 files)`, or
/// nothing when no file was left out.
fn left_out(report: &IndexReport) -> String {
    let mut parts = Vec::new();
    if report.unsupported > 0 {
        parts.push(format!("{} of other types", report.unsupported));
    }
    let rules: Vec<String> = report
        .ignored
        .iter()
        .map(|(rule, n)| {
            let mut count = Vec::new();
            if n.folders > 0 {
                count.push(format!("{} folder{}", n.folders, if n.folders == 1 { "" } else { "s" }));
            }
            if n.files > 0 {
                count.push(format!("{} file{}", n.files, if n.files == 1 { "" } else { "s" }));
            }
            format!("{} {}", rule.name(), count.join(" + "))
        })
        .collect();
    if !rules.is_empty() {
        parts.push(format!("ignored: {}", rules.join(", ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}
