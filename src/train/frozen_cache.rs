//! The frozen layers' output of every training text, computed once and kept on disk.
//!
//! With the lower layers frozen, what they make of a text never changes during a run, nor
//! between runs from one base: a QA paragraph carries about seven questions, and a
//! comparison trains several models on the same texts. So each text's output of the
//! frozen layers (`[tokens, hidden]`, the input of the first trained layer) is computed
//! once, stored as f16, and training runs only the trained layers on it.
//!
//! One file a model fingerprint (the BLAKE3 of the embeddings and frozen layers, so the
//! base and a model trained above the same frozen layers share it): a header, then records
//! of `key (BLAKE3 of the token ids, 32 bytes) · tokens (u32 LE) · tokens × hidden f16 LE`,
//! appended as texts are first seen. A record cut short by an interrupted run is dropped
//! when the file is next opened. The file is locked while a run uses it.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use half::f16;

use crate::encoder::TextKind;
use crate::error::{Error, Result};
use crate::train::TrainableEncoder;

const MAGIC: &[u8; 8] = b"MLSFRZ01";
const HEADER: u64 = 8 + 4;
const KEY: usize = 32;

/// The cache of one model's frozen-layer states.
pub struct FrozenCache {
    path: PathBuf,
    file: File,
    hidden: usize,
    /// Each text's record: key → (offset of its f16 data, tokens).
    index: HashMap<[u8; KEY], (u64, usize)>,
    end: u64,
    /// Texts found in the cache / computed, this run.
    pub hits: usize,
    /// Texts computed and stored, this run.
    pub misses: usize,
}

impl FrozenCache {
    /// Opens (or creates) the cache of `encoder`'s frozen layers in `dir`.
    pub fn open(dir: &Path, encoder: &TrainableEncoder) -> Result<FrozenCache> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let fingerprint = encoder.frozen_fingerprint()?;
        let path = dir.join(format!("frozen-{}.f16", &fingerprint[..16]));
        let hidden = encoder.dim();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        if file.try_lock().is_err() {
            return Err(Error::Data {
                path,
                reason: "another training run is using this frozen-layer cache".into(),
            });
        }
        let bad = |reason: String| Error::Data {
            path: path.clone(),
            reason,
        };
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        if len < HEADER {
            // New (or cut before its header was whole): start it.
            file.set_len(0).map_err(|e| Error::io(&path, e))?;
            let mut header = MAGIC.to_vec();
            header.extend((hidden as u32).to_le_bytes());
            file.write_all_at(&header, 0).map_err(|e| Error::io(&path, e))?;
        } else {
            let mut header = [0u8; HEADER as usize];
            file.read_exact_at(&mut header, 0).map_err(|e| Error::io(&path, e))?;
            if &header[..8] != MAGIC {
                return Err(bad("not a frozen-layer cache of this version; delete it".into()));
            }
            let stored = u32::from_le_bytes(header[8..12].try_into().unwrap()) as usize;
            if stored != hidden {
                return Err(bad(format!(
                    "holds hidden size {stored}, the model has {hidden}; delete it"
                )));
            }
        }
        let mut cache = FrozenCache {
            path,
            file,
            hidden,
            index: HashMap::new(),
            end: HEADER,
            hits: 0,
            misses: 0,
        };
        cache.scan()?;
        Ok(cache)
    }

    /// Where the cache lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Texts stored.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing is stored yet.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Reads the records' keys and places; a cut-short last record is dropped.
    fn scan(&mut self) -> Result<()> {
        let len = self.file.metadata().map_err(|e| Error::io(&self.path, e))?.len();
        let mut reader = std::io::BufReader::with_capacity(1 << 20, &self.file);
        reader
            .seek(SeekFrom::Start(HEADER))
            .map_err(|e| Error::io(&self.path, e))?;
        let mut at = HEADER;
        let mut head = [0u8; KEY + 4];
        while at + head.len() as u64 <= len {
            reader.read_exact(&mut head).map_err(|e| Error::io(&self.path, e))?;
            let tokens = u32::from_le_bytes(head[KEY..].try_into().unwrap()) as usize;
            let data = (tokens * self.hidden * 2) as u64;
            let next = at + head.len() as u64 + data;
            if next > len {
                break;
            }
            self.index
                .insert(head[..KEY].try_into().unwrap(), (at + head.len() as u64, tokens));
            reader
                .seek_relative(data as i64)
                .map_err(|e| Error::io(&self.path, e))?;
            at = next;
        }
        if at < len {
            self.file.set_len(at).map_err(|e| Error::io(&self.path, e))?;
        }
        self.end = at;
        Ok(())
    }

    /// Unit vectors `[texts, dim]` of `texts` that gradients flow through, as
    /// [`TrainableEncoder::embed_for_training`] gives them, with the frozen layers' part read from
    /// the cache (and computed and stored for texts not in it yet).
    pub fn embed(
        &mut self,
        encoder: &TrainableEncoder,
        texts: &[&str],
        kind: TextKind,
        max_tokens: usize,
    ) -> Result<Tensor> {
        let ids = texts
            .iter()
            .map(|t| encoder.training_ids(t, kind, max_tokens))
            .collect::<Result<Vec<_>, _>>()?;
        let keys: Vec<[u8; KEY]> = ids.iter().map(|ids| key(ids)).collect();
        let mut missing: Vec<usize> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            if !self.index.contains_key(k) && !missing.iter().any(|&j| keys[j] == *k) {
                missing.push(i);
            }
        }
        self.hits += texts.len() - missing.len();
        if !missing.is_empty() {
            let contents: Vec<&[u32]> = missing.iter().map(|&i| ids[i].as_slice()).collect();
            let states = encoder.frozen_states(&contents)?;
            for (&i, state) in missing.iter().zip(states) {
                self.store(keys[i], &state)?;
            }
            self.misses += missing.len();
        }
        let states = keys.iter().map(|k| self.load(k)).collect::<Result<Vec<_>>>()?;
        Ok(encoder.embed_above_frozen(&states)?)
    }

    fn store(&mut self, key: [u8; KEY], state: &Tensor) -> Result<()> {
        let values = state.flatten_all().and_then(|t| t.to_vec1::<f32>())?;
        let tokens = values.len() / self.hidden;
        let mut record = Vec::with_capacity(KEY + 4 + values.len() * 2);
        record.extend(key);
        record.extend((tokens as u32).to_le_bytes());
        for v in values {
            record.extend(f16::from_f32(v).to_le_bytes());
        }
        self.file
            .write_all_at(&record, self.end)
            .map_err(|e| Error::io(&self.path, e))?;
        self.index.insert(key, (self.end + KEY as u64 + 4, tokens));
        self.end += record.len() as u64;
        Ok(())
    }

    /// A text's states `[tokens, hidden]` (f32), from the file: stored and fresh texts read
    /// alike, so a run gives the same numbers with a cold cache and a warm one.
    fn load(&self, key: &[u8; KEY]) -> Result<Tensor> {
        let (offset, tokens) = self.index[key];
        let mut bytes = vec![0u8; tokens * self.hidden * 2];
        self.file
            .read_exact_at(&mut bytes, offset)
            .map_err(|e| Error::io(&self.path, e))?;
        let values: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect();
        Ok(Tensor::from_vec(values, (tokens, self.hidden), &Device::Cpu)?)
    }
}

/// The key of a text: the BLAKE3 of its token ids (prefix and cut included).
fn key(ids: &[u32]) -> [u8; KEY] {
    let mut hasher = blake3::Hasher::new();
    for id in ids {
        hasher.update(&id.to_le_bytes());
    }
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::ModelFile;

    use crate::encoder::TINY_MODEL as TINY;
    const TEXTS: [&str; 3] = ["the cat sat", "der Hund schläft im Garten", "the mat"];

    fn encoder(frozen: usize) -> TrainableEncoder {
        let mut e = TrainableEncoder::new(ModelFile::from_bytes(TINY).unwrap(), &Device::Cpu).unwrap();
        e.trainable(frozen).unwrap();
        e
    }

    fn rows(t: &Tensor) -> Vec<Vec<f32>> {
        t.to_vec2::<f32>().unwrap()
    }

    fn assert_close(a: &[Vec<f32>], b: &[Vec<f32>]) {
        for (x, y) in a.iter().zip(b) {
            let dot: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
            assert!(dot > 0.9995, "cosine {dot}");
        }
    }

    #[test]
    fn cached_states_give_what_the_whole_network_gives() {
        let dir = tempfile::tempdir().unwrap();
        let e = encoder(1);
        let whole = rows(&e.embed_for_training(&TEXTS, TextKind::Passage, 512).unwrap());
        let mut cache = FrozenCache::open(dir.path(), &e).unwrap();
        let cold = rows(&cache.embed(&e, &TEXTS, TextKind::Passage, 512).unwrap());
        assert_eq!((cache.misses, cache.hits, cache.len()), (3, 0, 3));
        let warm = rows(&cache.embed(&e, &TEXTS, TextKind::Passage, 512).unwrap());
        assert_eq!((cache.misses, cache.hits), (3, 3));
        assert_close(&whole, &cold);
        assert_eq!(cold, warm, "a warm cache gives the cold one's numbers");
        // Queries have another prefix, so other keys.
        cache.embed(&e, &TEXTS[..1], TextKind::Query, 512).unwrap();
        assert_eq!(cache.len(), 4);
        drop(cache);
        // A second run finds them on disk.
        let mut again = FrozenCache::open(dir.path(), &e).unwrap();
        assert_eq!(again.len(), 4);
        assert_eq!(rows(&again.embed(&e, &TEXTS, TextKind::Passage, 512).unwrap()), warm);
        assert_eq!(again.misses, 0);
    }

    #[test]
    fn another_frozen_depth_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = FrozenCache::open(dir.path(), &encoder(1)).unwrap();
        let b = FrozenCache::open(dir.path(), &encoder(2)).unwrap();
        assert_ne!(a.path(), b.path());
    }

    #[test]
    fn a_record_cut_short_by_an_interrupt_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let e = encoder(1);
        let path = {
            let mut cache = FrozenCache::open(dir.path(), &e).unwrap();
            cache.embed(&e, &TEXTS, TextKind::Passage, 512).unwrap();
            cache.path().to_path_buf()
        };
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 10)
            .unwrap();
        let mut cache = FrozenCache::open(dir.path(), &e).unwrap();
        assert_eq!(cache.len(), 2);
        let whole = rows(&e.embed_for_training(&TEXTS, TextKind::Passage, 512).unwrap());
        assert_close(&whole, &rows(&cache.embed(&e, &TEXTS, TextKind::Passage, 512).unwrap()));
        assert_eq!(cache.misses, 1);
    }

    #[test]
    fn two_runs_never_share_one_cache_file_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let e = encoder(1);
        let _first = FrozenCache::open(dir.path(), &e).unwrap();
        let err = FrozenCache::open(dir.path(), &e).err().unwrap().to_string();
        assert!(err.contains("another training run"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_cache_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let e = encoder(1);
        let path = FrozenCache::open(dir.path(), &e).unwrap().path().to_path_buf();
        std::fs::write(&path, b"something else entirely").unwrap();
        let err = FrozenCache::open(dir.path(), &e).err().unwrap().to_string();
        assert!(
            err.contains(&*path.to_string_lossy()) && err.contains("not a frozen-layer cache"),
            "{err}"
        );
    }
}
