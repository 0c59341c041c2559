//! `mlsearch export --format ENGINE --out DIR`: the summary on stdout.

use std::io::Write;

use anyhow::Context;
use mlsearch::export::{export, Source, Target};

use super::args::ExportArgs;
use super::EXIT_OK;

pub fn run(args: ExportArgs) -> anyhow::Result<u8> {
    let target = Target::parse(&args.format).expect("clap checks the value");
    let (source, from) = match &args.embeddings {
        Some(dir) => (Source::Embeddings(dir), dir),
        None => (Source::Index(&args.location.index), &args.location.index),
    };
    let report = export(source, target, &args.out, &args.name)
        .with_context(|| format!("exporting {} to {}", from.display(), args.out.display()))?;
    let per_passage = report.bytes as f64 / report.passages.max(1) as f64;
    writeln!(
        std::io::stdout(),
        "exported {} passages to {}: {} files, {:.1} MB ({per_passage:.0} bytes a passage) in {:.2} s ({:.0} passages/s); load with {}/LOAD.sh{}",
        report.passages,
        args.out.display(),
        report.files.len(),
        report.bytes as f64 / 1e6,
        report.seconds,
        report.passages as f64 / report.seconds.max(1e-9),
        args.out.display(),
        if target == Target::Milvus { " (or scripts/milvus_check.py)" } else { "" },
    )?;
    Ok(EXIT_OK)
}
