//! `mlsearch info`: what an index holds.

use std::io::Write;

use anyhow::Context;
use mlsearch::store::Store;

use super::args::InfoArgs;
use super::EXIT_OK;

pub fn run(args: InfoArgs) -> anyhow::Result<u8> {
    let dir = &args.location.index;
    let store = Store::open(dir).with_context(|| format!("opening index {}", dir.display()))?;
    if args.verify {
        store.verify()?;
    }
    let m = &store.manifest;
    let size: u64 = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|md| md.is_file())
        .map(|md| md.len())
        .sum();
    let summary = serde_json::json!({
        // Lossy: JSON strings are UTF-8, and a folder's name need not be.
        "index": dir.to_string_lossy(),
        "format_version": m.format_version,
        "mlsearch_version": m.mlsearch_version,
        "generation": m.generation,
        "root": m.root.to_string_lossy(),
        "files": m.files.len(),
        "documents": m.files.values().map(|f| u64::from(f.documents)).sum::<u64>(),
        "passages": m.passages(),
        "languages": m.languages(),
        "bytes_on_disk": size,
        "vectors": m.vectors,
        "verified": args.verify,
    });
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{summary}")?;
        return Ok(EXIT_OK);
    }
    writeln!(out, "index:       {}", dir.display())?;
    writeln!(
        out,
        "format:      {} (written by mlsearch {}, commit {})",
        m.format_version, m.mlsearch_version, m.generation
    )?;
    writeln!(out, "folder:      {}", m.root.display())?;
    writeln!(out, "files:       {}", summary["files"])?;
    writeln!(out, "documents:   {}", summary["documents"])?;
    writeln!(out, "passages:    {}", summary["passages"])?;
    let langs: Vec<String> = m.languages().iter().map(|(l, n)| format!("{l} {n}")).collect();
    writeln!(out, "languages:   {}", langs.join(", "))?;
    writeln!(out, "size:        {:.1} MB", size as f64 / 1e6)?;
    writeln!(
        out,
        "vectors:     {}",
        if m.vectors.is_some() { "yes" } else { "none (BM25 only)" }
    )?;
    if args.verify {
        writeln!(
            out,
            "verified:    every BM25 file's checksum and the vector file's BLAKE3 match"
        )?;
    }
    Ok(EXIT_OK)
}
