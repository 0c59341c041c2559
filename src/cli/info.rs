//! `mlsearch info`: what an index holds.

use std::io::Write;

use anyhow::Context;
use mlsearch::engine::Stats;

use super::args::InfoArgs;
use super::EXIT_OK;

pub fn run(args: InfoArgs) -> anyhow::Result<u8> {
    let dir = &args.location.index;
    let stats = Stats::read(dir, args.verify).with_context(|| format!("opening index {}", dir.display()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&stats)?)?;
        return Ok(EXIT_OK);
    }
    writeln!(out, "index:       {}", dir.display())?;
    writeln!(
        out,
        "format:      {} (written by mlsearch {}, commit {})",
        stats.format_version, stats.mlsearch_version, stats.generation
    )?;
    writeln!(out, "folder:      {}", stats.root)?;
    writeln!(out, "files:       {}", stats.files)?;
    writeln!(out, "documents:   {}", stats.documents)?;
    writeln!(out, "passages:    {}", stats.passages)?;
    let langs: Vec<String> = stats.languages.iter().map(|(l, n)| format!("{l} {n}")).collect();
    writeln!(out, "languages:   {}", langs.join(", "))?;
    writeln!(out, "size:        {:.1} MB", stats.bytes_on_disk as f64 / 1e6)?;
    writeln!(
        out,
        "vectors:     {}",
        if stats.vectors.is_some() {
            "yes"
        } else {
            "none (BM25 only)"
        }
    )?;
    if args.verify {
        writeln!(
            out,
            "verified:    every BM25 file's checksum and the vector file's BLAKE3 match"
        )?;
    }
    Ok(EXIT_OK)
}
