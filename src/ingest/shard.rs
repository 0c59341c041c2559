//! Embedding a corpus too big for one machine (`mlsearch embed --corpus FILE --shard I/N`):
//! N machines each stream the same JSONL corpus and embed the documents of their shard,
//! chosen by a hash of the document id (so a document's passages stay together and a
//! shard does not depend on line order), with the passage rule of `index`. Each writes
//! `shard-I-of-N.jsonl`: one line per passage with its id, document, number, language,
//! title, text and raw (not centred) vector. An interrupted run resumes: the passages
//! already in the file are skipped and a half-written last line is cut off.
//! `mlsearch export --embeddings DIR` reads the shard files.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::corpus::{record, split_passages, Passage};
use crate::error::{Error, Result};
use crate::store::PassageEmbedder;

/// Passages embedded (and written) together.
const BATCH: usize = 256;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard.
    pub index: u64,
    /// Of how many.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` (0 ≤ I < N).
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let (i, n) = text.split_once('/').ok_or("expected I/N, such as 0/4")?;
        let index: u64 = i.trim().parse().map_err(|_| format!("{i:?} is not a number"))?;
        let count: u64 = n.trim().parse().map_err(|_| format!("{n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index} of {count}: expected 0 ≤ I < N"));
        }
        Ok(Shard { index, count })
    }

    /// Whether document `id` belongs to this shard.
    pub fn holds(&self, id: &str) -> bool {
        let hash = blake3::hash(id.as_bytes());
        let first = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
        first % self.count == self.index
    }

    /// The shard's output file in `dir`.
    pub fn file_in(&self, dir: &Path) -> PathBuf {
        dir.join(format!("shard-{}-of-{}.jsonl", self.index, self.count))
    }
}

/// One line of a shard file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmbeddedPassage {
    /// `<doc>#<passage>`.
    pub id: String,
    /// Document id.
    pub doc: String,
    /// 0-based passage number.
    pub passage: u32,
    /// Language.
    pub lang: String,
    /// Document title.
    pub title: String,
    /// Text.
    pub text: String,
    /// The encoder's vector (L2-normalised, not centred).
    pub vector: Vec<f32>,
}

/// What a shard run did.
#[derive(Debug, Clone, Default)]
pub struct ShardReport {
    /// Documents of the corpus read, and of them in this shard.
    pub documents: u64,
    /// Documents of this shard.
    pub in_shard: u64,
    /// Passages embedded by this run.
    pub embedded: u64,
    /// Passages found done in the file (an earlier, interrupted run).
    pub resumed: u64,
    /// Lines of the corpus that are not records (skipped).
    pub bad_lines: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Embeds the documents of `shard` of the JSONL (or `.jsonl.gz`) `corpus` into
/// `shard.file_in(out)`.
pub fn embed_shard(
    corpus: &Path,
    shard: Shard,
    out: &Path,
    embedder: &dyn PassageEmbedder,
    progress: &mut dyn FnMut(&ShardReport),
) -> Result<ShardReport> {
    let started = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let path = shard.file_in(out);
    let done = resume(&path)?;
    let mut report = ShardReport {
        resumed: done.len() as u64,
        ..ShardReport::default()
    };
    let file = File::open(corpus).map_err(|e| Error::io(corpus, e))?;
    let reader: Box<dyn Read> = if corpus.to_string_lossy().ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let output = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let mut output = BufWriter::new(output);
    let mut batch: Vec<Passage> = Vec::new();
    for (n, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| Error::io(corpus, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let document = match serde_json::from_str(&line)
            .map_err(|e| e.to_string())
            .and_then(|v| record(&v, format!("line {}", n + 1)))
        {
            Ok(document) => document,
            Err(_) => {
                report.bad_lines += 1;
                continue;
            }
        };
        report.documents += 1;
        if !shard.holds(&document.id) {
            continue;
        }
        report.in_shard += 1;
        for passage in split_passages(&document, None) {
            if !done.contains(&format!("{}#{}", passage.doc, passage.number)) {
                batch.push(passage);
            }
        }
        if batch.len() >= BATCH {
            write_batch(&mut output, &path, embedder, &mut batch, &mut report)?;
            progress(&report);
        }
    }
    write_batch(&mut output, &path, embedder, &mut batch, &mut report)?;
    output
        .into_inner()
        .map_err(|e| Error::io(&path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io(&path, e))?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Embeds and appends `batch` (then empties it); flushed, so an interruption loses at
/// most the batch being embedded.
fn write_batch(
    output: &mut BufWriter<File>,
    path: &Path,
    embedder: &dyn PassageEmbedder,
    batch: &mut Vec<Passage>,
    report: &mut ShardReport,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> = batch.iter().map(Passage::embedding_text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed_passages(&refs)?;
    for (passage, vector) in batch.drain(..).zip(vectors) {
        let line = EmbeddedPassage {
            id: format!("{}#{}", passage.doc, passage.number),
            doc: passage.doc,
            passage: passage.number,
            lang: passage.lang,
            title: passage.title,
            text: passage.text,
            vector,
        };
        serde_json::to_writer(&mut *output, &line).map_err(|e| Error::io(path, e.into()))?;
        output.write_all(b"\n").map_err(|e| Error::io(path, e))?;
        report.embedded += 1;
    }
    output.flush().map_err(|e| Error::io(path, e))
}

/// The ids already in a shard file; a last line cut off by an interruption is removed.
fn resume(path: &Path) -> Result<HashSet<String>> {
    let mut done = HashSet::new();
    let Ok(mut file) = OpenOptions::new().read(true).write(true).open(path) else {
        return Ok(done);
    };
    let mut good_end = 0u64;
    {
        let mut reader = BufReader::new(&mut file);
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader.read_line(&mut line).map_err(|e| Error::io(path, e))?;
            if read == 0 {
                break;
            }
            match serde_json::from_str::<EmbeddedPassage>(line.trim_end()) {
                Ok(passage) if line.ends_with('\n') => {
                    done.insert(passage.id);
                    good_end += read as u64;
                }
                _ => break,
            }
        }
    }
    file.set_len(good_end).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::End(0)).map_err(|e| Error::io(path, e))?;
    Ok(done)
}

/// Reads every shard file (`*.jsonl`) of `dir`, in name order.
pub fn read_shards(dir: &Path, visit: &mut dyn FnMut(EmbeddedPassage) -> Result<()>) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Data {
            path: dir.to_path_buf(),
            reason: "no shard files (*.jsonl from `mlsearch embed --corpus … --shard I/N --out`)".into(),
        });
    }
    for path in files {
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| Error::io(&path, e))?;
            let passage = serde_json::from_str(&line).map_err(|e| Error::Data {
                path: path.clone(),
                reason: format!("line {}: {e}", n + 1),
            })?;
            visit(passage)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_documents_between_them() {
        assert!(Shard::parse("3/3").is_err() && Shard::parse("x/2").is_err() && Shard::parse("0/0").is_err());
        let shards: Vec<Shard> = (0..4).map(|i| Shard::parse(&format!("{i}/4")).unwrap()).collect();
        let mut sizes = [0; 4];
        for d in 0..4000 {
            let id = format!("doc{d}");
            let holders: Vec<usize> = (0..4).filter(|&i| shards[i].holds(&id)).collect();
            assert_eq!(holders.len(), 1, "{id}");
            sizes[holders[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| (850..1150).contains(&n)), "{sizes:?}");
    }
}
