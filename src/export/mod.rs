//! Export of an index to the bulk-load files of a distributed engine (`mlsearch export`):
//! every passage with its id, document, number, language, title, text, file, page and
//! (stored, centred) vector, plus the engine's schema or mapping. Queries against the
//! export must be centred as the index centres them: `mlsearch embed --query --index`.
//!
//! One module per engine family writes the files; this one reads the index and cuts the
//! output into numbered files of [`PER_FILE`] passages.

mod elastic;
mod milvus;
mod qdrant;
mod vespa;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::search::{Searcher, StoredPassage};
use crate::store::vectors::{Centring, MIN_PASSAGES_FOR_MEAN};

/// Passages per output file.
pub const PER_FILE: usize = 10_000;

/// The engines export writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// OpenSearch: `_bulk` NDJSON, index settings and mappings (`knn_vector`).
    OpenSearch,
    /// Elasticsearch: `_bulk` NDJSON, index settings and mappings (`dense_vector`).
    Elasticsearch,
    /// Vespa: an application package (schema, services.xml) and a JSONL feed.
    Vespa,
    /// Qdrant: a collection definition and point batches.
    Qdrant,
    /// Milvus: a collection schema and row files.
    Milvus,
}

impl Target {
    /// Parses a `--format` value.
    pub fn parse(name: &str) -> Option<Target> {
        Some(match name {
            "opensearch" => Target::OpenSearch,
            "elasticsearch" => Target::Elasticsearch,
            "vespa" => Target::Vespa,
            "qdrant" => Target::Qdrant,
            "milvus" => Target::Milvus,
            _ => return None,
        })
    }
}

/// A passage as exported.
#[derive(Debug, Clone)]
pub struct Exported {
    /// `<doc>#<passage>`: stable across re-indexing (the index's keys are not).
    pub id: String,
    /// The stored passage.
    pub stored: StoredPassage,
    /// Its vector, if the index has vectors.
    pub vector: Option<Vec<f32>>,
}

impl Exported {
    /// The fields every engine stores, as JSON (the vector apart).
    pub fn payload(&self) -> serde_json::Map<String, Value> {
        let p = &self.stored;
        let mut fields = serde_json::Map::new();
        fields.insert("id".into(), json!(self.id));
        fields.insert("doc".into(), json!(p.doc));
        fields.insert("passage".into(), json!(p.passage));
        fields.insert("lang".into(), json!(p.lang));
        fields.insert("title".into(), json!(p.title));
        fields.insert("text".into(), json!(p.text));
        fields.insert("file".into(), json!(p.file));
        if let Some(page) = p.page {
            fields.insert("page".into(), json!(page));
        }
        fields
    }
}

/// What the whole index holds, for schemas.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Languages with their passage counts.
    pub languages: BTreeMap<String, u64>,
    /// Vector dimensions (None: a BM25-only index).
    pub dim: Option<usize>,
    /// Collection / index name in the engine.
    pub name: String,
}

/// An engine's writer.
trait Writer {
    /// Writes the schema / mapping files.
    fn schema(&mut self, overview: &Overview) -> Result<()>;
    /// Writes one passage.
    fn passage(&mut self, passage: &Exported) -> Result<()>;
    /// Ends the last file.
    fn finish(&mut self) -> Result<()>;
}

/// What an export wrote.
#[derive(Debug, Clone, Default)]
pub struct ExportReport {
    /// Passages written.
    pub passages: u64,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Their bytes in all.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Where the passages come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// An index: its stored (centred) vectors.
    Index(&'a Path),
    /// The shard files of `mlsearch embed --corpus … --shard I/N --out DIR`: raw vectors,
    /// centred here with per-language means computed over all shards (written to
    /// `means.json` for `mlsearch embed --query --means`).
    Embeddings(&'a Path),
}

/// Writes the passages of `source` as `target`'s bulk-load files into `out` (created; it
/// must be empty or absent, so files of two exports never mix).
pub fn export(source: Source, target: Target, out: &Path, name: &str) -> Result<ExportReport> {
    let started = Instant::now();
    if out.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::InvalidSetting(format!(
            "{}: not empty; export into a new folder",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut writer: Box<dyn Writer> = match target {
        Target::OpenSearch | Target::Elasticsearch => Box::new(elastic::Elastic::new(out, target, name)),
        Target::Vespa => Box::new(vespa::Vespa::new(out)),
        Target::Qdrant => Box::new(qdrant::Qdrant::new(out)),
        Target::Milvus => Box::new(milvus::Milvus::new(out)),
    };
    let mut passages = 0u64;
    match source {
        Source::Index(index_dir) => {
            let searcher = Searcher::open(index_dir)?;
            let vectors = searcher.vectors()?;
            writer.schema(&Overview {
                languages: searcher.languages().clone(),
                dim: vectors.map(|v| v.dim()),
                name: name.to_string(),
            })?;
            searcher.for_each_passage(&mut |stored| {
                let vector = match vectors {
                    Some(v) => v.get(stored.key)?,
                    None => None,
                };
                let id = format!("{}#{}", stored.doc, stored.passage);
                writer.passage(&Exported { id, stored, vector })?;
                passages += 1;
                Ok(())
            })?;
        }
        Source::Embeddings(dir) => {
            let (languages, means, dim) = shard_means(dir)?;
            write_file(&out.join("means.json"), &serde_json::to_string(&means).expect("JSON"))?;
            writer.schema(&Overview {
                languages,
                dim,
                name: name.to_string(),
            })?;
            crate::ingest::read_shards(dir, &mut |p| {
                let mut vector = p.vector;
                if let Some(mean) = means.get(&p.lang) {
                    crate::store::vectors::centre(&mut vector, mean);
                }
                let stored = StoredPassage {
                    key: 0,
                    file: p.doc.clone(),
                    doc: p.doc,
                    passage: p.passage,
                    lang: p.lang,
                    title: p.title,
                    text: p.text,
                    page: None,
                };
                writer.passage(&Exported {
                    id: p.id,
                    stored,
                    vector: Some(vector),
                })?;
                passages += 1;
                Ok(())
            })?;
        }
    }
    writer.finish()?;
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(out)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let bytes = files.iter().filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum();
    Ok(ExportReport {
        passages,
        files,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Passages per language, the per-language means (languages with at least
/// [`MIN_PASSAGES_FOR_MEAN`] passages, as an index computes them) and the dimension.
type ShardOverview = (BTreeMap<String, u64>, Centring, Option<usize>);

fn shard_means(dir: &Path) -> Result<ShardOverview> {
    let mut sums: BTreeMap<String, (Vec<f64>, u64)> = BTreeMap::new();
    let mut dim = None;
    crate::ingest::read_shards(dir, &mut |p| {
        if *dim.get_or_insert(p.vector.len()) != p.vector.len() {
            return Err(Error::Data {
                path: dir.to_path_buf(),
                reason: format!(
                    "{}: a vector of {} dimensions among vectors of {dim:?}",
                    p.id,
                    p.vector.len()
                ),
            });
        }
        let (sum, n) = sums.entry(p.lang).or_insert_with(|| (vec![0.0; p.vector.len()], 0));
        sum.iter_mut().zip(&p.vector).for_each(|(s, x)| *s += f64::from(*x));
        *n += 1;
        Ok(())
    })?;
    let languages = sums.iter().map(|(l, (_, n))| (l.clone(), *n)).collect();
    let means = sums
        .into_iter()
        .filter(|(_, (_, n))| *n as usize >= MIN_PASSAGES_FOR_MEAN)
        .map(|(l, (sum, n))| (l, sum.iter().map(|s| (s / n as f64) as f32).collect()))
        .collect();
    Ok((languages, means, dim))
}

/// Numbered output files (`<prefix>-00000.<ext>`), a new one every [`PER_FILE`] items,
/// with an optional head and tail around each file's items and a separator between them.
struct Chunks {
    dir: PathBuf,
    prefix: &'static str,
    ext: &'static str,
    head: &'static str,
    separator: &'static str,
    tail: &'static str,
    in_file: usize,
    files: usize,
    file: Option<BufWriter<File>>,
}

impl Chunks {
    fn new(dir: &Path, prefix: &'static str, ext: &'static str) -> Chunks {
        Chunks {
            dir: dir.to_path_buf(),
            prefix,
            ext,
            head: "",
            separator: "\n",
            tail: "\n",
            in_file: 0,
            files: 0,
            file: None,
        }
    }

    /// Items inside a JSON value: `head` + items joined by `,\n` + `tail`.
    fn wrapped(mut self, head: &'static str, tail: &'static str) -> Chunks {
        self.head = head;
        self.separator = ",\n";
        self.tail = tail;
        self
    }

    fn push(&mut self, item: &str) -> Result<()> {
        if self.in_file == PER_FILE {
            self.finish()?;
        }
        let path = self.dir.join(format!("{}-{:05}.{}", self.prefix, self.files, self.ext));
        let io = |e| Error::io(&path, e);
        if self.file.is_none() {
            let mut file = BufWriter::new(File::create(&path).map_err(io)?);
            file.write_all(self.head.as_bytes()).map_err(io)?;
            self.file = Some(file);
        }
        let file = self.file.as_mut().expect("opened above");
        if self.in_file > 0 {
            file.write_all(self.separator.as_bytes()).map_err(io)?;
        }
        file.write_all(item.as_bytes()).map_err(io)?;
        self.in_file += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(mut file) = self.file.take() {
            let path = self.dir.join(format!("{}-{:05}.{}", self.prefix, self.files, self.ext));
            let io = |e| Error::io(&path, e);
            file.write_all(self.tail.as_bytes()).map_err(io)?;
            file.into_inner()
                .map_err(|e| io(e.into_error()))?
                .sync_all()
                .map_err(io)?;
            self.files += 1;
            self.in_file = 0;
        }
        Ok(())
    }
}

/// A vector as JSON numbers with 5 decimals (the index stores f16: ~3 significant digits).
fn vector_json(vector: &[f32]) -> String {
    let mut out = String::with_capacity(vector.len() * 9 + 2);
    out.push('[');
    for (i, x) in vector.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let rounded = (x * 1e5).round() / 1e5;
        out.push_str(&format!("{rounded}"));
    }
    out.push(']');
    out
}

/// Writes a whole (small) file.
fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}
