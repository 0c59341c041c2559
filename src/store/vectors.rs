//! Dense vectors: a USearch HNSW index (cosine, f16 storage) over passage keys. The store
//! owns the key space (a u64 per passage, also a Tantivy fast field), never the encoder:
//! it records which model made the vectors, as data.
//!
//! The file is written whole at each commit under a new name (`passages-<generation>.usearch`),
//! recorded in the manifest with its size and BLAKE3, and opened by queries with `view`
//! (memory-mapped) only after both are checked, so a truncated or damaged file is an error,
//! never a fault inside the memory map.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::{Mmap, MmapMut};
use serde::{Deserialize, Serialize};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::encoder::Precision;
use crate::error::{Error, Result};

/// Turns passage texts into vectors for the index; the store records its identity.
pub trait PassageEmbedder: Sync {
    /// Which model this is.
    fn identity(&self) -> &ModelIdentity;
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// One L2-normalised vector per passage text.
    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// HNSW graph degree.
pub const CONNECTIVITY: usize = 16;
/// Candidate list size while adding.
pub const EXPANSION_ADD: usize = 128;
/// Candidate list size while searching: recall@10 0.988 against exact search on 100k
/// NTREX passages (128: 0.962), 0.6 ms a search (`mlsearch bench speed`,
/// docs/measurements/dense-latency.md).
pub const EXPANSION_SEARCH: usize = 256;
/// A language filter that admits at most this many passages is searched by an exact scan:
/// measured on 100k passages, scanning 6k took 3.5 ms, a filtered HNSW walk 12 ms (it
/// visits the excluded nodes too), and the scan misses nothing.
pub const EXACT_SCAN_MAX: usize = 10_000;

/// What the manifest records about the vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorsInfo {
    /// File name inside `vectors/`.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its BLAKE3, hex (checked in full by `mlsearch info --verify`).
    pub blake3: String,
    /// BLAKE3 of its first and last [`ENDS`] bytes, hex: what opening checks, so opening
    /// costs the same for any index size. Absent in manifests from before it: those are
    /// checked in full at open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_blake3: Option<String>,
    /// Vectors in it.
    pub count: u64,
    /// Dimension.
    pub dim: usize,
    /// Storage of the components (`f16`).
    pub quantization: String,
    /// Graph degree.
    pub connectivity: usize,
    /// Expansion while adding.
    pub expansion_add: usize,
    /// Expansion while searching.
    pub expansion_search: usize,
    /// The encoder that made the vectors: a name and the BLAKE3 of its model file.
    pub model: ModelIdentity,
    /// Per-language means the vectors were centred with (empty: not centred).
    #[serde(default, skip_serializing_if = "Centring::is_empty")]
    pub language_means: Centring,
}

/// Which model made a set of vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// Human-readable name (`built-in multilingual-e5-small (Q4_0)`, or the file name).
    pub name: String,
    /// BLAKE3 of the model's bytes.
    pub blake3: String,
    /// How the encoder computed (int8 and f32 vectors differ slightly, so they are not
    /// mixed in one index). Manifests from before int8 have none: they were f32.
    #[serde(default = "f32_precision")]
    pub precision: Precision,
}

fn f32_precision() -> Precision {
    Precision::F32
}

/// The name the built-in model had before it was hybrid-trained, kept by the base
/// (`--model base`) so that indexes made then are still read with it.
const BASE_NAME: &str = "built-in multilingual-e5-small (Q4_0)";

impl ModelIdentity {
    /// The built-in model's identity, when this build has one.
    pub fn builtin(precision: Precision) -> Option<ModelIdentity> {
        let name = if crate::encoder::has_builtin_delta() {
            "built-in multilingual-e5-small, hybrid-trained (Q4_0 base + Q8_0 delta)"
        } else {
            BASE_NAME
        };
        Some(ModelIdentity {
            name: name.into(),
            blake3: crate::encoder::builtin_model_blake3()?.to_string(),
            precision,
        })
    }

    /// The untrained base of the built-in model (`--model base`), when this build has one.
    pub fn base(precision: Precision) -> Option<ModelIdentity> {
        Some(ModelIdentity {
            name: BASE_NAME.into(),
            blake3: crate::encoder::builtin_base_blake3()?.to_string(),
            precision,
        })
    }

    /// Whether these vectors were made by the base while a trained built-in model ships:
    /// the built-in model of mlsearch before it was hybrid-trained.
    pub fn is_previous_builtin(&self) -> bool {
        crate::encoder::has_builtin_delta() && Some(self.blake3.as_str()) == crate::encoder::builtin_base_blake3()
    }

    /// The error for an index at `dir` whose vectors (`indexed`, `None`: BM25 only) were
    /// not made by the model this run asked for (`requested`, `None`: no vectors).
    pub fn mismatch(dir: &Path, indexed: Option<&ModelIdentity>, requested: Option<&ModelIdentity>) -> Error {
        let label = |m: Option<&ModelIdentity>, none: &str| m.map_or(none.to_string(), ModelIdentity::label);
        let advice = if indexed.is_some_and(ModelIdentity::is_previous_builtin) {
            "they were made by mlsearch's previous built-in model (multilingual-e5-small as downloaded, \
             before it was hybrid-trained): run `mlsearch index DIR --rebuild` to re-embed them with \
             the new built-in model, or pass `--model base` to keep searching these vectors"
        } else {
            "use --rebuild to re-embed everything with this choice, or --index for another index"
        };
        Error::OtherModel {
            path: dir.to_path_buf(),
            indexed: label(indexed, "none (BM25 only)"),
            requested: label(requested, "none (--no-vectors)"),
            advice: advice.into(),
        }
    }

    /// The name with the precision, for messages.
    pub fn label(&self) -> String {
        format!("{} at {}", self.name, self.precision.as_str())
    }
}

/// The vector index of a store.
pub struct Vectors {
    index: Index,
    dim: usize,
    /// Per-language mean vectors the stored vectors were centred with (see [`Centring`]).
    means: Centring,
    /// The file the index was read from (`None`: made in memory), for errors: USearch's
    /// failures on a file's index may be damage, on a new one they are ours.
    file: Option<PathBuf>,
    /// The mapped file a viewed index points into; declared after `index`, so dropped
    /// after it.
    _mapping: Option<Arc<Mmap>>,
    /// Searches running now, at most [`SEARCH_CONTEXTS`].
    searching: Gate,
}

/// Concurrent searches one index serves: USearch gives each running search one of the
/// contexts reserved for it and fails a search that finds none, so more wait their turn.
pub const SEARCH_CONTEXTS: usize = 64;

/// A counting semaphore over the search contexts.
#[derive(Default)]
struct Gate {
    running: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Gate {
    fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= SEARCH_CONTEXTS {
            running = self.freed.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        drop(running);
        // Released also when `work` panics (damage_as_error catches those).
        struct Release<'a>(&'a Gate);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                *self.0.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
                self.0.freed.notify_one();
            }
        }
        let _release = Release(self);
        work()
    }
}

/// Per-language centring, the remedy for language bias measured on XQuAD-R (docs/measurements/xquad-r.md): the
/// encoder puts every text of a language near a common "language direction", so a query
/// prefers passages of its own language over better answers in others. Each passage
/// vector has its language's mean removed (and is normalised again) before it is stored;
/// a query vector has the mean of the query's language removed. Means are computed at
/// indexing from the first run that brings [`MIN_PASSAGES_FOR_MEAN`] passages of a
/// language and kept as they are (so stored vectors stay consistent); `--rebuild`
/// computes them again. Passages of languages without a mean are stored as they are.
pub type Centring = std::collections::BTreeMap<String, Vec<f32>>;

/// Passages of one language an indexing run needs before it computes that language's mean.
pub const MIN_PASSAGES_FOR_MEAN: usize = 20;

/// Sums of a run's raw passage vectors per language, for [`Vectors::learn_means`] without
/// holding the vectors: fed one vector at a time, then finished into the means.
#[derive(Default)]
pub struct LanguageSums {
    sums: std::collections::BTreeMap<String, (Vec<f64>, usize)>,
}

impl LanguageSums {
    /// Adds a raw vector of `lang` (ignored when `vectors` already has that language's mean).
    pub fn add(&mut self, vectors: &Vectors, lang: &str, v: &[f32]) {
        if vectors.means.contains_key(lang) {
            return;
        }
        if !self.sums.contains_key(lang) {
            self.sums.insert(lang.to_string(), (vec![0.0; vectors.dim], 0));
        }
        let (sum, n) = self.sums.get_mut(lang).expect("inserted above");
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += f64::from(*x));
        *n += 1;
    }

    /// Gives `vectors` the mean of every language with at least [`MIN_PASSAGES_FOR_MEAN`]
    /// passages here.
    pub fn finish(self, vectors: &mut Vectors) {
        for (lang, (sum, n)) in self.sums {
            if n >= MIN_PASSAGES_FOR_MEAN {
                vectors
                    .means
                    .insert(lang, sum.iter().map(|s| (s / n as f64) as f32).collect());
            }
        }
    }
}

/// Centres a raw query vector with `means`: the mean of `lang` when given and known, else
/// the mean nearest to the vector; unchanged without means.
pub fn centre_query(means: &Centring, lang: Option<&str>, vector: &mut [f32]) {
    let mean = lang.and_then(|l| means.get(l)).or_else(|| {
        means
            .values()
            .map(|m| (m, dot(m, vector)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(m, _)| m)
    });
    if let Some(mean) = mean {
        centre(vector, mean);
    }
}

/// Subtracts `mean` and normalises to unit length.
pub fn centre(vector: &mut [f32], mean: &[f32]) {
    vector.iter_mut().zip(mean).for_each(|(x, m)| *x -= m);
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    vector.iter_mut().for_each(|x| *x /= norm);
}

fn options(dim: usize) -> IndexOptions {
    IndexOptions {
        dimensions: dim,
        metric: MetricKind::Cos,
        quantization: ScalarKind::F16,
        connectivity: CONNECTIVITY,
        expansion_add: EXPANSION_ADD,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    }
}

fn usearch_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("vector index: {e}"),
    }
}

impl Vectors {
    /// An empty index for `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Result<Vectors> {
        let index = Index::new(&options(dim)).map_err(|e| Error::Internal(format!("new vector index: {e}")))?;
        Ok(Vectors {
            index,
            dim,
            means: Centring::new(),
            file: None,
            _mapping: None,
            searching: Gate::default(),
        })
    }

    /// Loads the index of `info` from `dir` into memory (for updating it).
    pub fn load(dir: &Path, info: &VectorsInfo) -> Result<Vectors> {
        let (path, file) = checked(dir, info)?;
        let index = Index::new(&options(info.dim)).map_err(|e| usearch_error(&path, e))?;
        // From our own mapping, not USearch's path API: any path works (not only UTF-8),
        // and what is read is the file that was checked.
        index
            .load_from_buffer(&map(&path, &file)?)
            .map_err(|e| usearch_error(&path, e))?;
        index
            .reserve_capacity_and_threads(index.capacity().max(index.size()), SEARCH_CONTEXTS)
            .map_err(|e| usearch_error(&path, e))?;
        Ok(Vectors {
            index,
            dim: info.dim,
            means: info.language_means.clone(),
            file: Some(path),
            _mapping: None,
            searching: Gate::default(),
        })
    }

    /// A copy in memory (graph, vectors and means), for a commit of what a run has so far
    /// while the run goes on adding to the original.
    pub fn duplicate(&self) -> Result<Vectors> {
        let mut bytes = vec![0u8; self.index.serialized_length()];
        self.index.save_to_buffer(&mut bytes).map_err(|e| self.error(e))?;
        let index = Index::new(&options(self.dim)).map_err(|e| self.error(e))?;
        index.load_from_buffer(&bytes).map_err(|e| self.error(e))?;
        Ok(Vectors {
            index,
            dim: self.dim,
            means: self.means.clone(),
            file: self.file.clone(),
            _mapping: None,
            searching: Gate::default(),
        })
    }

    /// Memory-maps the index of `info` from `dir` (for searching).
    pub fn view(dir: &Path, info: &VectorsInfo) -> Result<Vectors> {
        VectorFile::open(dir, info)?.view()
    }
}

/// A checked, memory-mapped vector file, not yet read by USearch: opening it costs the
/// same at any size, while USearch's `view` walks every node's header to find its offset
/// (O(passages)), so a reader that may never search vectors keeps just this. The mapping
/// keeps the file's bytes even after a later commit removes the file.
pub struct VectorFile {
    path: PathBuf,
    info: VectorsInfo,
    mapping: Arc<Mmap>,
}

impl VectorFile {
    /// Checks the vector file of `info` in `dir` (size and both ends; small files in full)
    /// and maps it.
    pub fn open(dir: &Path, info: &VectorsInfo) -> Result<VectorFile> {
        let (path, file) = checked(dir, info)?;
        let mapping = Arc::new(map(&path, &file)?);
        Ok(VectorFile {
            path,
            info: info.clone(),
            mapping,
        })
    }

    /// The vector index over the mapping (for searching).
    pub fn view(&self) -> Result<Vectors> {
        let (path, info) = (&self.path, &self.info);
        let index = Index::new(&options(info.dim)).map_err(|e| usearch_error(path, e))?;
        // SAFETY: the index keeps a pointer into the mapping, which `Vectors` holds (an
        // Arc) and drops after the index (fields drop in declaration order).
        unsafe { index.view_from_buffer(&self.mapping) }.map_err(|e| usearch_error(path, e))?;
        // Indexes written with a smaller expansion get today's default.
        index.change_expansion_search(info.expansion_search.max(EXPANSION_SEARCH));
        if index.size() as u64 != info.count || index.dimensions() != info.dim {
            return Err(usearch_error(path, "size or dimension differs from the manifest"));
        }
        // A view gets one search context per core; a server runs more searches at once.
        index
            .reserve_capacity_and_threads(index.size(), SEARCH_CONTEXTS)
            .map_err(|e| usearch_error(path, e))?;
        if info.language_means.values().any(|m| m.len() != info.dim) {
            return Err(usearch_error(path, "a language mean has another dimension"));
        }
        Ok(Vectors {
            index,
            dim: info.dim,
            means: info.language_means.clone(),
            file: Some(path.clone()),
            _mapping: Some(Arc::clone(&self.mapping)),
            searching: Gate::default(),
        })
    }
}

impl Vectors {
    /// A USearch failure: damage of the file the index came from, or an internal error
    /// for an index made in memory.
    fn error(&self, e: impl std::fmt::Display) -> Error {
        match &self.file {
            Some(path) => usearch_error(path, e),
            None => Error::Internal(format!("vector index: {e}")),
        }
    }

    /// Sets the HNSW candidate list size of later searches (larger: better recall, slower).
    pub fn set_expansion_search(&self, expansion: usize) {
        self.index.change_expansion_search(expansion);
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.index.size()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds vectors under their keys.
    pub fn add(&mut self, items: &[(u64, Vec<f32>)]) -> Result<()> {
        let needed = self.index.size() + items.len();
        if needed > self.index.capacity() {
            self.index
                .reserve(needed.next_power_of_two())
                .map_err(|e| self.error(e))?;
        }
        for (key, vector) in items {
            self.index.add(*key, vector).map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// Removes the vectors of `keys` (absent keys are ignored).
    pub fn remove(&mut self, keys: &[u64]) -> Result<()> {
        for key in keys {
            self.index.remove(*key).map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// The `k` nearest keys to `query` that pass `allow`, with cosine similarities.
    pub fn search(&self, query: &[f32], k: usize, allow: impl Fn(u64) -> bool) -> Result<Vec<(u64, f32)>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let found = self
            .searching
            .run(|| self.index.filtered_search(query, k, allow))
            .map_err(|e| self.error(e))?;
        Ok(found
            .keys
            .into_iter()
            .zip(found.distances)
            .map(|(key, d)| (key, 1.0 - d))
            .collect())
    }

    /// Computes the mean of each language that has none yet and at least
    /// [`MIN_PASSAGES_FOR_MEAN`] of the given raw passage vectors.
    pub fn learn_means(&mut self, passages: &[(&str, &[f32])]) {
        let mut sums = LanguageSums::default();
        for (lang, v) in passages {
            sums.add(self, lang, v);
        }
        sums.finish(self);
    }

    /// Centres a raw passage vector of `lang` as stored (unchanged without a mean).
    pub fn centre_passage(&self, lang: &str, vector: &mut [f32]) {
        if let Some(mean) = self.means.get(lang) {
            centre(vector, mean);
        }
    }

    /// Centres a raw query vector: with the mean of `lang` when given and known, else with
    /// the mean nearest to the vector (the language the encoder sees in it). Unchanged when
    /// the index has no means.
    pub fn centre_query(&self, lang: Option<&str>, vector: &mut [f32]) {
        centre_query(&self.means, lang, vector);
    }

    /// The per-language means in use.
    pub fn means(&self) -> &Centring {
        &self.means
    }

    /// The `k` keys of `keys` whose stored vectors are nearest to `query` (an exact scan;
    /// keys without a vector are skipped), with cosine similarities, best first.
    pub fn exact_search(
        &self,
        query: &[f32],
        k: usize,
        keys: impl IntoIterator<Item = u64>,
    ) -> Result<Vec<(u64, f32)>> {
        let mut vector = vec![0.0f32; self.dim()];
        let mut scored = Vec::new();
        for key in keys {
            let found = self.index.get(key, &mut vector).map_err(|e| self.error(e))?;
            if found > 0 {
                scored.push((key, dot(&vector, query)));
            }
        }
        let k = k.min(scored.len());
        if k > 0 {
            scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        scored.truncate(k);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(scored)
    }

    /// The stored vector of `key` (f16 components widened to f32), if it has one.
    pub fn get(&self, key: u64) -> Result<Option<Vec<f32>>> {
        let mut vector = vec![0.0f32; self.dim()];
        let found = self.index.get(key, &mut vector).map_err(|e| self.error(e))?;
        Ok((found > 0).then_some(vector))
    }

    /// Writes the index to `dir/passages-<generation>.usearch` and describes it.
    pub fn save(&self, dir: &Path, generation: u64, model: ModelIdentity) -> Result<VectorsInfo> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let file = format!("passages-{generation}.usearch");
        let path = dir.join(&file);
        // Serialised into a mapping of the new file (no second copy in memory, any path),
        // then synced: the manifest that names it is written only after.
        let io = |e| Error::io(&path, e);
        let handle = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io)?;
        let bytes = self.index.serialized_length() as u64;
        handle.set_len(bytes).map_err(io)?;
        // SAFETY: the file is new (a name no commit has used) and only this writer has it.
        let mut mapping = unsafe { MmapMut::map_mut(&handle) }.map_err(io)?;
        self.index
            .save_to_buffer(&mut mapping)
            .map_err(|e| Error::Internal(format!("writing the vector index to {}: {e}", path.display())))?;
        mapping.flush().map_err(io)?;
        handle.sync_all().map_err(io)?;
        let blake3 = blake3::hash(&mapping).to_hex().to_string();
        drop(mapping);
        Ok(VectorsInfo {
            file,
            bytes,
            blake3,
            ends_blake3: Some(ends_hash(&handle, bytes).map_err(io)?),
            count: self.index.size() as u64,
            dim: self.dim,
            quantization: "f16".into(),
            connectivity: CONNECTIVITY,
            expansion_add: EXPANSION_ADD,
            expansion_search: EXPANSION_SEARCH,
            model,
            language_means: self.means.clone(),
        })
    }
}

/// Bytes at each end of a vector file that opening checks: USearch's header (which `view`
/// trusts for every offset it computes) is at the start, the last nodes at the end, and
/// truncation or a partial write changes one of them.
pub const ENDS: u64 = 64 * 1024;

/// Vector files up to this size are hashed in full at open (about 7 ms at BLAKE3's
/// 5 GB/s here); larger ones by their ends only, so opening costs the same at any size.
pub const FULL_CHECK_MAX: u64 = 32 << 20;

/// BLAKE3 (hex) of the first and last [`ENDS`] bytes of a file of `len` bytes.
fn ends_hash(file: &File, len: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file;
    let mut hasher = blake3::Hasher::new();
    let head = len.min(ENDS);
    let mut buffer = vec![0u8; head as usize];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut buffer)?;
    hasher.update(&buffer);
    let tail = len.saturating_sub(ENDS).max(head);
    buffer.resize((len - tail) as usize, 0);
    file.seek(SeekFrom::Start(tail))?;
    file.read_exact(&mut buffer)?;
    hasher.update(&buffer);
    Ok(hasher.finalize().to_hex().to_string())
}

/// Checks every byte of the vector file of `info` against the manifest's BLAKE3
/// (`mlsearch info --verify`): reads the whole file.
pub fn verify_file(dir: &Path, info: &VectorsInfo) -> Result<()> {
    checked_as(dir, info, Check::Full).map(|_| ())
}

/// How much of a vector file is checked.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// Size and both ends (opening), or every byte for files up to `full_up_to` bytes.
    Ends { full_up_to: u64 },
    /// Size and every byte.
    Full,
}

/// The vector file of `info`, after checking its size and its ends (or, for manifests
/// without `ends_blake3`, its BLAKE3) against the manifest.
fn checked(dir: &Path, info: &VectorsInfo) -> Result<(PathBuf, File)> {
    checked_as(
        dir,
        info,
        Check::Ends {
            full_up_to: FULL_CHECK_MAX,
        },
    )
}

fn checked_as(dir: &Path, info: &VectorsInfo, check: Check) -> Result<(PathBuf, File)> {
    let path = dir.join(&info.file);
    let unreadable = |e: std::io::Error| Error::Corrupt {
        path: path.clone(),
        reason: format!("vector file missing or unreadable: {e}"),
    };
    let mut file = File::open(&path).map_err(unreadable)?;
    let bytes = file.metadata().map_err(unreadable)?.len();
    if bytes != info.bytes {
        return Err(usearch_error(
            &path,
            format!("{bytes} bytes, the manifest says {}", info.bytes),
        ));
    }
    // Small files are checked in full anyway (a few ms): only above that does opening
    // trust the middle of the file, whose damage `info --verify` finds.
    let ends_only = match check {
        Check::Ends { full_up_to } => bytes > full_up_to,
        Check::Full => false,
    };
    if let (true, Some(want)) = (ends_only, &info.ends_blake3) {
        if &ends_hash(&file, bytes).map_err(unreadable)? != want {
            return Err(usearch_error(
                &path,
                "its first or last bytes differ from the manifest's BLAKE3",
            ));
        }
        return Ok((path, file));
    }
    // Hashed by streaming: reading the whole file first doubled a query's memory.
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(&mut file).map_err(unreadable)?;
    if hasher.finalize().to_hex().as_str() != info.blake3 {
        return Err(usearch_error(&path, "contents differ from the manifest's BLAKE3"));
    }
    Ok((path, file))
}

/// Maps `file` (of `path`) read-only. Vector files are never changed after their commit
/// wrote them (each commit writes a new one), so the mapping's bytes stay what was checked.
fn map(path: &Path, file: &File) -> Result<Mmap> {
    // SAFETY: see above: nothing writes or truncates a committed vector file.
    unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, e))
}

/// Dot product in eight lanes (vectorises without fast-math).
pub use crate::encoder::dot;

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim)
            .map(|i| ((seed * 31 + i as u64 * 17) % 97) as f32 - 48.0)
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    fn identity() -> ModelIdentity {
        ModelIdentity {
            name: "test".into(),
            blake3: "00".into(),
            precision: Precision::Int8,
        }
    }

    #[test]
    fn save_view_search_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = Vectors::new(8).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (0..50).map(|k| (k, unit(k, 8))).collect();
        v.add(&items).unwrap();
        v.remove(&[3]).unwrap();
        let info = v.save(dir.path(), 1, identity()).unwrap();
        assert_eq!(info.count, 49);
        let view = Vectors::view(dir.path(), &info).unwrap();
        let hits = view.search(&unit(7, 8), 3, |_| true).unwrap();
        assert_eq!(hits[0].0, 7);
        assert!((hits[0].1 - 1.0).abs() < 1e-2);
        let even = view.search(&unit(7, 8), 3, |k| k % 2 == 0).unwrap();
        assert!(even.iter().all(|(k, _)| k % 2 == 0) && even.len() == 3);
        assert!(view.search(&unit(3, 8), 1, |k| k == 3).unwrap().is_empty(), "removed");
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.1).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.05).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    #[test]
    fn exact_search_ranks_the_given_keys_by_cosine() {
        let mut v = Vectors::new(8).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (0..40).map(|k| (k, unit(k, 8))).collect();
        v.add(&items).unwrap();
        let query = unit(12, 8);
        let keys = (0..40).filter(|k| k % 3 == 0).chain([1000]); // 1000 has no vector
        let hits = v.exact_search(&query, 4, keys).unwrap();
        let mut expected: Vec<(u64, f32)> = items
            .iter()
            .filter(|(k, _)| k % 3 == 0)
            .map(|(k, x)| (*k, x.iter().zip(&query).map(|(a, b)| a * b).sum()))
            .collect();
        expected.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(hits[0].0, 12);
        let keys_of = |h: &[(u64, f32)]| h.iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(keys_of(&hits), keys_of(&expected[..4]));
        assert!(hits.iter().zip(&expected).all(|(h, e)| (h.1 - e.1).abs() < 1e-2));
        assert!(v.exact_search(&query, 4, [1000]).unwrap().is_empty());
    }

    #[test]
    fn language_means_centre_passages_and_queries_and_are_saved() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = Vectors::new(4).unwrap();
        // Language "a" leans on axis 0, "b" on axis 1; "c" has too few passages for a mean.
        let a: Vec<Vec<f32>> = (0..25).map(|i| vec![0.9, 0.0, (i % 5) as f32 * 0.1, 0.1]).collect();
        let b: Vec<Vec<f32>> = (0..25).map(|i| vec![0.0, 0.9, 0.1, (i % 5) as f32 * 0.1]).collect();
        let mut raw: Vec<(&str, &[f32])> = a.iter().map(|x| ("a", x.as_slice())).collect();
        raw.extend(b.iter().map(|x| ("b", x.as_slice())));
        raw.push(("c", &[1.0, 0.0, 0.0, 0.0]));
        v.learn_means(&raw);
        assert_eq!(v.means().keys().collect::<Vec<_>>(), ["a", "b"]);
        // A centred passage loses its language's direction and stays unit length.
        let mut p = a[3].clone();
        v.centre_passage("a", &mut p);
        assert!(
            p[0].abs() < 1e-6 && (p.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5,
            "{p:?}"
        );
        let mut c = vec![1.0, 0.0, 0.0, 0.0];
        v.centre_passage("c", &mut c);
        assert_eq!(c, [1.0, 0.0, 0.0, 0.0], "no mean: unchanged");
        // A query of unknown language takes the nearest mean ("b" here).
        let mut q = vec![0.1, 0.9, 0.3, 0.0];
        let mut q_b = q.clone();
        v.centre_query(None, &mut q);
        v.centre_query(Some("b"), &mut q_b);
        assert_eq!(q, q_b);
        // Means travel with the saved vectors.
        v.add(&[(1, p)]).unwrap();
        let info = v.save(dir.path(), 1, identity()).unwrap();
        let view = Vectors::view(dir.path(), &info).unwrap();
        assert_eq!(view.means(), v.means());
        // Learning again keeps existing means.
        let before = v.means().clone();
        v.learn_means(&raw[..30]);
        assert_eq!(v.means(), &before);
    }

    #[test]
    fn opening_checks_the_ends_and_verify_checks_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let dim = 128;
        let mut v = Vectors::new(dim).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (0..800).map(|k| (k, unit(k + 1, dim))).collect();
        v.add(&items).unwrap();
        let info = v.save(dir.path(), 1, identity()).unwrap();
        assert!(info.bytes > 3 * ENDS, "{} bytes", info.bytes);
        verify_file(dir.path(), &info).unwrap();
        let path = dir.path().join(&info.file);
        let bytes = std::fs::read(&path).unwrap();
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x10;
        std::fs::write(&path, &flipped).unwrap();
        // Opening a large file reads only its ends; the full check finds the change. A
        // file this small is checked in full at open.
        assert!(checked_as(dir.path(), &info, Check::Ends { full_up_to: 0 }).is_ok());
        assert!(matches!(verify_file(dir.path(), &info), Err(Error::Corrupt { .. })));
        assert!(matches!(Vectors::view(dir.path(), &info), Err(Error::Corrupt { .. })));
        // A manifest from before `ends_blake3` is checked in full at open.
        let old = VectorsInfo {
            ends_blake3: None,
            ..info.clone()
        };
        assert!(matches!(Vectors::view(dir.path(), &old), Err(Error::Corrupt { .. })));
        std::fs::write(&path, &bytes).unwrap();
        assert!(Vectors::view(dir.path(), &old).is_ok());
    }

    #[test]
    fn damaged_vector_files_are_detected_before_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = Vectors::new(8).unwrap();
        v.add(&[(1, unit(1, 8)), (2, unit(2, 8))]).unwrap();
        let info = v.save(dir.path(), 1, identity()).unwrap();
        let path = dir.path().join(&info.file);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(Vectors::view(dir.path(), &info), Err(Error::Corrupt { .. })));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        std::fs::write(&path, flipped).unwrap();
        assert!(matches!(Vectors::view(dir.path(), &info), Err(Error::Corrupt { .. })));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(Vectors::view(dir.path(), &info), Err(Error::Corrupt { .. })));
    }
}
