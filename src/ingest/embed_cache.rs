//! Embeddings kept on disk while they are made, so an interrupted run (an `index` of a big
//! corpus, a benchmark) never embeds again what it had embedded.
//!
//! One file per (model, text kind, list of texts): `<blake3>.f32`, the vectors as
//! little-endian f32 rows in text order. It grows chunk by chunk while embedding; a run
//! that finds a partial file continues after its last whole row.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::encoder::TextKind;
use crate::error::{Error, Result};
use crate::store::ModelIdentity;

/// Turns a chunk of texts into one vector each.
pub type EmbedChunk<'a> = dyn Fn(&[&str]) -> Result<Vec<Vec<f32>>> + 'a;

/// How a cached embedding run embeds: the model, the kind of texts, and the function
/// that turns a chunk of texts into `dim`-wide vectors.
pub struct CachedEmbedding<'a> {
    /// The model (part of the cache key).
    pub model: &'a ModelIdentity,
    /// Queries or passages (part of the cache key).
    pub kind: TextKind,
    /// Vector width.
    pub dim: usize,
    /// Texts embedded between two appends to the cache file.
    pub chunk: usize,
    /// Embeds one chunk.
    pub embed: &'a EmbedChunk<'a>,
}

/// Embeds `texts`, reading and extending the cache in `dir`; calls `progress(done, total)`
/// when it starts (with what the cache held) and after each chunk.
pub fn embed_cached(
    how: &CachedEmbedding,
    texts: &[&str],
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Vec<f32>>> {
    let (model, kind, dim) = (how.model, how.kind, how.dim);
    let path = cache_path(dir, model, kind, texts);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let row = dim * 4;
    let whole = (bytes.len() / row).min(texts.len());
    let mut vectors = rows(&bytes[..whole * row], dim);
    if whole < texts.len() {
        // Drop a torn last row before appending.
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.set_len((whole * row) as u64).map_err(|e| Error::io(&path, e))?;
        let mut file = std::io::BufWriter::new(file);
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0)).map_err(|e| Error::io(&path, e))?;
        progress(whole, texts.len());
        for chunk in texts[whole..].chunks(how.chunk.max(1)) {
            let embedded = (how.embed)(chunk)?;
            for v in &embedded {
                for x in v {
                    file.write_all(&x.to_le_bytes()).map_err(|e| Error::io(&path, e))?;
                }
            }
            file.flush().map_err(|e| Error::io(&path, e))?;
            vectors.extend(embedded);
            progress(vectors.len(), texts.len());
        }
    }
    Ok(vectors)
}

/// Whole rows of `dim` little-endian f32 values.
fn rows(bytes: &[u8], dim: usize) -> Vec<Vec<f32>> {
    bytes
        .chunks_exact(dim * 4)
        .map(|r| {
            r.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect()
}

/// The vectors of a complete cache file of `count` texts.
pub fn read_complete(path: &Path, dim: usize, count: usize) -> Result<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.len() < count * dim * 4 {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "embedding cache file is short"),
        ));
    }
    Ok(rows(&bytes[..count * dim * 4], dim))
}

/// The cache file of these texts: its name hashes the model, the kind and every text.
pub fn cache_path(dir: &Path, model: &ModelIdentity, kind: TextKind, texts: &[&str]) -> PathBuf {
    let mut hasher = blake3::Hasher::new();
    hasher.update(model.blake3.as_bytes());
    if model.precision != crate::encoder::Precision::F32 {
        // f32 keys are as before int8 existed, so their caches stay valid.
        hasher.update(model.precision.as_str().as_bytes());
    }
    hasher.update(format!("{kind:?}\0").as_bytes());
    for text in texts {
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    dir.join(format!("{}.f32", &hasher.finalize().to_hex()[..32]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::{Encoder, ModelFile};

    #[test]
    fn a_partial_cache_is_continued_and_a_full_one_reused() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/models/tiny.e5s1.bin")).unwrap();
        let encoder = Encoder::new(ModelFile::from_bytes(&bytes).unwrap(), &candle_core::Device::Cpu).unwrap();
        let model = ModelIdentity {
            name: "tiny".into(),
            blake3: "00".into(),
            precision: crate::encoder::Precision::Int8,
        };
        let dir = tempfile::tempdir().unwrap();
        let texts: Vec<String> = (0..600).map(|i| format!("text number {i}")).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let fresh = encoder.embed(&texts, TextKind::Passage).unwrap();
        let passages = |chunk: &[&str]| Ok(encoder.embed(chunk, TextKind::Passage)?);
        let queries = |chunk: &[&str]| Ok(encoder.embed(chunk, TextKind::Query)?);
        let how = |kind: TextKind| CachedEmbedding {
            model: &model,
            kind,
            dim: encoder.dim(),
            chunk: 512,
            embed: if kind == TextKind::Passage { &passages } else { &queries },
        };

        let first = embed_cached(&how(TextKind::Passage), &texts, dir.path(), &mut |_, _| {}).unwrap();
        assert_eq!(first, fresh);
        // Tear the file in the middle of a row, as an interrupted run might.
        let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
        let len = std::fs::metadata(&file).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(len / 2 + 3)
            .unwrap();
        let mut resumed_from = None;
        let again = embed_cached(&how(TextKind::Passage), &texts, dir.path(), &mut |done, _| {
            resumed_from.get_or_insert(done);
        })
        .unwrap();
        assert_eq!(resumed_from, Some(300));
        assert_eq!(again, fresh);
        // Complete: nothing embedded, no progress.
        let mut calls = 0;
        embed_cached(&how(TextKind::Passage), &texts, dir.path(), &mut |_, _| calls += 1).unwrap();
        assert_eq!(calls, 0);
        // Another kind is another file.
        embed_cached(&how(TextKind::Query), &texts[..3], dir.path(), &mut |_, _| {}).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
