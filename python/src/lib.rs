//! `mlsearch._native`: the engine, the encoder and the benchmarks of the `mlsearch` crate
//! for Python, wrapped by the `mlsearch` package (`python/mlsearch/`).
//!
//! Every call that reads, embeds or searches releases the GIL, so Python threads run
//! searches in parallel. Errors of the engine are `mlsearch.MlsearchError` with the
//! message the CLI prints; a bad argument (a language code, a mode) is a `ValueError`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use mlsearch::bench::{self, lareqa::Dataset, metrics, LareqaOptions};
use mlsearch::corpus::{record, Document, WalkOptions};
use mlsearch::encoder::{Precision, TextKind};
use mlsearch::engine::EncoderEmbedder;
use mlsearch::engine::{load_model, EngineOptions, ModelSpec};
use mlsearch::ingest::IndexOptions;
use mlsearch::search::{HybridOptions, LangFilter, Mode, SearchOptions, SearchResults};
use mlsearch::store::Bm25Params;
use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

create_exception!(
    mlsearch,
    MlsearchError,
    PyException,
    "An error of the search engine (its message is the CLI's)."
);

/// The engine's error as a Python exception.
fn raise(error: mlsearch::Error) -> PyErr {
    match error {
        mlsearch::Error::InvalidLanguage(_) | mlsearch::Error::InvalidSetting(_) | mlsearch::Error::Document { .. } => {
            PyValueError::new_err(error.to_string())
        }
        error => MlsearchError::new_err(error.to_string()),
    }
}

fn model_spec(model: Option<PathBuf>, device: &str, precision: Option<&str>) -> PyResult<ModelSpec> {
    let precision = precision
        .map(|p| {
            p.parse::<Precision>()
                .map_err(|e| PyValueError::new_err(format!("precision: {e}")))
        })
        .transpose()?;
    Ok(ModelSpec {
        path: model,
        device: device.to_string(),
        precision,
    })
}

/// A serde value (the CLI's JSON) as Python objects.
fn to_py(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any().unbind(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any().unbind(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

fn serialized(py: Python<'_>, value: &impl serde::Serialize) -> PyResult<Py<PyAny>> {
    let value = serde_json::to_value(value).map_err(|e| MlsearchError::new_err(e.to_string()))?;
    to_py(py, &value)
}

/// Where a hit came from (`explain=True`).
#[pyclass(frozen, get_all, module = "mlsearch")]
struct Explain {
    /// 1-based rank in the BM25 list, if it was there.
    bm25_rank: Option<usize>,
    bm25_score: Option<f32>,
    /// 1-based rank in the dense list, if it was there.
    dense_rank: Option<usize>,
    /// Cosine similarity.
    dense_score: Option<f32>,
    /// The score the hit was ranked by.
    fused_score: f32,
}

#[pymethods]
impl Explain {
    fn __repr__(&self) -> String {
        format!(
            "Explain(bm25_rank={:?}, dense_rank={:?}, fused_score={:.4})",
            self.bm25_rank, self.dense_rank, self.fused_score
        )
    }
}

/// One search result: the fields of `mlsearch query --json`.
#[pyclass(frozen, get_all, module = "mlsearch")]
struct Hit {
    rank: usize,
    score: f32,
    doc: String,
    passage: u32,
    page: Option<u32>,
    lang: String,
    title: String,
    file: String,
    snippet: String,
    /// Byte ranges of `snippet` that match query terms.
    highlights: Vec<(usize, usize)>,
    explain: Option<Py<Explain>>,
    /// The language the query was read in (`und`: each field its own), how sure, and how
    /// it was found (`given`, `script`, `detected`, `per-field`...).
    query_lang: String,
    query_lang_confidence: f32,
    query_lang_source: String,
}

#[pymethods]
impl Hit {
    fn __repr__(&self) -> String {
        format!(
            "Hit(rank={}, doc={:?}, passage={}, lang={:?}, score={:.4})",
            self.rank, self.doc, self.passage, self.lang, self.score
        )
    }
}

fn hits(py: Python<'_>, results: SearchResults) -> PyResult<Vec<Hit>> {
    let source = serde_json::to_value(results.query_lang_source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    results
        .hits
        .into_iter()
        .map(|hit| {
            let explain = match hit.explain {
                Some(e) => Some(Py::new(
                    py,
                    Explain {
                        bm25_rank: e.bm25_rank,
                        bm25_score: e.bm25_score,
                        dense_rank: e.dense_rank,
                        dense_score: e.dense_score,
                        fused_score: e.fused_score,
                    },
                )?),
                None => None,
            };
            Ok(Hit {
                rank: hit.rank,
                score: hit.score,
                doc: hit.doc,
                passage: hit.passage,
                page: hit.page,
                lang: hit.lang,
                title: hit.title,
                file: hit.file,
                snippet: hit.snippet,
                highlights: hit.highlights.iter().map(|r| (r[0], r[1])).collect(),
                explain,
                query_lang: results.query_lang.clone(),
                query_lang_confidence: results.query_lang_confidence,
                query_lang_source: source.clone(),
            })
        })
        .collect()
}

/// A change to apply at the next commit.
enum Change {
    Add(Document),
    Remove(String),
}

/// An index opened with its encoder.
#[pyclass(frozen, module = "mlsearch")]
struct Engine {
    engine: mlsearch::engine::Engine,
    /// Documents added and removed since the last commit, in call order.
    pending: Mutex<Vec<Change>>,
}

fn search_options(
    lang: &str,
    k: usize,
    mode: Option<&str>,
    explain: bool,
    query_lang: Option<String>,
    snippet_chars: usize,
) -> PyResult<SearchOptions> {
    Ok(SearchOptions {
        k,
        langs: LangFilter::parse(lang).map_err(raise)?,
        query_lang,
        snippet_chars,
        snippets: true,
        mode: mode.map(str::parse::<Mode>).transpose().map_err(raise)?,
        hybrid: HybridOptions::default(),
        explain,
        bm25: None,
    })
}

#[pymethods]
impl Engine {
    /// Opens the index in `path` (and its encoder when it has vectors and `dense`).
    #[staticmethod]
    #[pyo3(signature = (path, *, model=None, dense=true, device="auto", precision=None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        model: Option<PathBuf>,
        dense: bool,
        device: &str,
        precision: Option<&str>,
    ) -> PyResult<Engine> {
        let options = EngineOptions {
            model: model_spec(model, device, precision)?,
            dense,
        };
        let engine = py
            .detach(|| mlsearch::engine::Engine::open(&path, &options))
            .map_err(raise)?;
        Ok(Engine::new(engine))
    }

    /// Creates an empty index in `path` (with vectors unless `vectors=False`) and opens it.
    #[staticmethod]
    #[pyo3(signature = (path, *, vectors=true, model=None, device="auto", precision=None))]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        vectors: bool,
        model: Option<PathBuf>,
        device: &str,
        precision: Option<&str>,
    ) -> PyResult<Engine> {
        let options = EngineOptions {
            model: model_spec(model, device, precision)?,
            dense: vectors,
        };
        let engine = py
            .detach(|| mlsearch::engine::Engine::create(&path, &options))
            .map_err(raise)?;
        Ok(Engine::new(engine))
    }

    /// Indexes or updates `folder` into this index, as `mlsearch index` does (committing
    /// every `commit_every` seconds, so other readers search it while it runs); returns
    /// what the run did.
    #[pyo3(signature = (folder, *, rebuild=false, default_lang=None, threads=0, centre=true,
        bm25_k1=None, bm25_b=None, max_filesize=None, hidden=false, no_ignore=false, globs=Vec::new(),
        commit_every=60.0))]
    #[allow(clippy::too_many_arguments)]
    fn index(
        &self,
        py: Python<'_>,
        folder: PathBuf,
        rebuild: bool,
        default_lang: Option<String>,
        threads: usize,
        centre: bool,
        bm25_k1: Option<f32>,
        bm25_b: Option<f32>,
        max_filesize: Option<u64>,
        hidden: bool,
        no_ignore: bool,
        globs: Vec<String>,
        commit_every: f64,
    ) -> PyResult<Py<PyAny>> {
        let defaults = IndexOptions::default();
        let options = IndexOptions {
            default_lang,
            rebuild,
            threads,
            centre_languages: centre,
            bm25_k1,
            bm25_b,
            max_file_bytes: max_filesize.unwrap_or(defaults.max_file_bytes),
            // As `mlsearch index --commit-every`: searchable while it runs (0: one commit).
            commit_every: (commit_every > 0.0).then(|| std::time::Duration::from_secs_f64(commit_every)),
            walk: WalkOptions {
                hidden,
                no_ignore,
                globs,
                ..WalkOptions::default()
            },
            ..defaults
        };
        let mut warnings = Vec::new();
        let report = py
            .detach(|| {
                self.engine.index_folder(&folder, &options, &mut |event| {
                    if let mlsearch::ingest::Progress::Warning(message) = event {
                        warnings.push(message);
                    }
                })
            })
            .map_err(raise)?;
        let summary = serde_json::json!({
            "added": report.added,
            "updated": report.updated,
            "removed": report.removed,
            "unchanged": report.unchanged,
            "skipped": report.skipped,
            "unsupported": report.unsupported,
            "json_without_documents": report.json_without_documents,
            "files": report.files,
            "passages": report.passages,
            "passages_embedded": report.passages_embedded,
            "languages": report.languages,
            "committed": report.committed,
            "seconds": report.seconds,
            "warnings": warnings,
        });
        to_py(py, &summary)
    }

    /// Queues documents (a dict, or an iterable of dicts, with the fields of a JSONL
    /// record: `id`, `text`, and optionally `title` and `lang`) for the next commit.
    /// Returns how many were queued.
    fn add(&self, py: Python<'_>, documents: &Bound<'_, PyAny>) -> PyResult<usize> {
        let items: Vec<Bound<'_, PyAny>> = match documents.cast::<PyDict>() {
            Ok(one) => vec![one.clone().into_any()],
            Err(_) => documents.try_iter()?.collect::<PyResult<_>>()?,
        };
        let dumps = py.import("json")?.getattr("dumps")?;
        let mut parsed = Vec::with_capacity(items.len());
        for item in &items {
            let text: String = dumps.call1((item,))?.extract()?;
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| PyValueError::new_err(e.to_string()))?;
            let document =
                record(&value, String::new()).map_err(|reason| PyValueError::new_err(format!("document: {reason}")))?;
            if document.id.trim().is_empty() {
                return Err(PyValueError::new_err(
                    "a document needs an id (\"docid\", \"_id\" or \"id\")",
                ));
            }
            parsed.push(Change::Add(document));
        }
        let n = parsed.len();
        self.pending().extend(parsed);
        Ok(n)
    }

    /// Queues the removal of documents added from code (an id or a list of ids).
    fn remove(&self, ids: &Bound<'_, PyAny>) -> PyResult<usize> {
        let ids: Vec<String> = match ids.extract::<String>() {
            Ok(one) => vec![one],
            Err(_) => ids.extract()?,
        };
        let n = ids.len();
        self.pending().extend(ids.into_iter().map(Change::Remove));
        Ok(n)
    }

    /// Embeds the queued documents and publishes every queued change in one commit, under
    /// the index's writer lock. On an error nothing is committed and the queue is emptied.
    fn commit(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let changes = std::mem::take(&mut *self.pending());
        let report = py
            .detach(|| {
                let mut writer = self.engine.writer()?;
                for change in changes {
                    match change {
                        Change::Add(document) => writer.add(document).map(drop)?,
                        Change::Remove(id) => writer.remove(&id).map(drop)?,
                    }
                }
                writer.commit()
            })
            .map_err(raise)?;
        serialized(py, &report)
    }

    /// Searches: `lang` filters passage languages (`"any"`, `"de"`, `"de,fr"`), `mode` is
    /// `"hybrid"`, `"bm25"` or `"dense"` (default: hybrid when the index has vectors).
    #[pyo3(signature = (text, *, lang="any", k=10, mode=None, explain=false, query_lang=None, snippet_chars=200))]
    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        py: Python<'_>,
        text: &str,
        lang: &str,
        k: usize,
        mode: Option<&str>,
        explain: bool,
        query_lang: Option<String>,
        snippet_chars: usize,
    ) -> PyResult<Vec<Hit>> {
        let options = search_options(lang, k, mode, explain, query_lang, snippet_chars)?;
        let results = py.detach(|| self.engine.search(text, &options)).map_err(raise)?;
        hits(py, results)
    }

    /// Searches many queries with the same options, embedding them in one batch; one list
    /// of hits per query.
    #[pyo3(signature = (texts, *, lang="any", k=10, mode=None, explain=false, query_lang=None, snippet_chars=200))]
    #[allow(clippy::too_many_arguments)]
    fn search_many(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        lang: &str,
        k: usize,
        mode: Option<&str>,
        explain: bool,
        query_lang: Option<String>,
        snippet_chars: usize,
    ) -> PyResult<Vec<Vec<Hit>>> {
        let options = search_options(lang, k, mode, explain, query_lang, snippet_chars)?;
        let queries: Vec<(&str, &SearchOptions)> = texts.iter().map(|t| (t.as_str(), &options)).collect();
        let results = py.detach(|| self.engine.search_many(&queries));
        results.into_iter().map(|r| hits(py, r.map_err(raise)?)).collect()
    }

    /// What the index holds (the fields of `mlsearch info --json`).
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let stats = py.detach(|| self.engine.stats());
        serialized(py, &stats)
    }

    /// Picks up a commit another process made; returns whether there was one.
    fn refresh(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.engine.refresh()).map_err(raise)
    }

    /// The index folder.
    #[getter]
    fn path(&self) -> PathBuf {
        self.engine.dir().to_path_buf()
    }

    fn __repr__(&self) -> String {
        format!("Engine({:?})", self.engine.dir())
    }
}

impl Engine {
    fn new(engine: mlsearch::engine::Engine) -> Engine {
        Engine {
            engine,
            pending: Mutex::new(Vec::new()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<Change>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The encoder alone: texts in, unit vectors out.
#[pyclass(frozen, module = "mlsearch")]
struct Encoder {
    inner: EncoderEmbedder,
}

/// Texts per call into the encoder: bounds the memory of one call, whatever the list.
const ENCODE_CHUNK: usize = 1024;

impl Encoder {
    fn encode<'py>(&self, py: Python<'py>, texts: Vec<String>, kind: TextKind) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let dim = self.inner.encoder.dim();
        let flat = py
            .detach(|| {
                let mut flat = Vec::with_capacity(texts.len() * dim);
                for chunk in texts.chunks(ENCODE_CHUNK) {
                    let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
                    for vector in self.inner.encoder.embed(&chunk, kind)? {
                        flat.extend_from_slice(&vector);
                    }
                }
                Ok::<_, mlsearch::Error>(flat)
            })
            .map_err(raise)?;
        PyArray1::from_vec(py, flat).reshape([texts.len(), dim])
    }
}

#[pymethods]
impl Encoder {
    /// Loads `model` (None: the built-in model; `"base"`: its untrained base; or a model
    /// file). `precision`: `"int8"` or `"f32"` (default: int8 on the CPU).
    #[new]
    #[pyo3(signature = (model=None, *, precision=None, device="auto"))]
    fn new(py: Python<'_>, model: Option<PathBuf>, precision: Option<&str>, device: &str) -> PyResult<Encoder> {
        let spec = model_spec(model, device, precision)?;
        let inner = py.detach(|| load_model(&spec, None)).map_err(raise)?;
        Ok(Encoder { inner })
    }

    /// Query vectors, one row per text (float32, unit length).
    fn encode_queries<'py>(&self, py: Python<'py>, texts: Vec<String>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        self.encode(py, texts, TextKind::Query)
    }

    /// Passage vectors, one row per text (float32, unit length).
    fn encode_passages<'py>(&self, py: Python<'py>, texts: Vec<String>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        self.encode(py, texts, TextKind::Passage)
    }

    /// Vector dimension.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.encoder.dim()
    }

    /// The model's name.
    #[getter]
    fn model(&self) -> String {
        self.inner.identity.name.clone()
    }

    /// `"int8"` or `"f32"`.
    #[getter]
    fn precision(&self) -> &'static str {
        self.inner.identity.precision.as_str()
    }

    fn __repr__(&self) -> String {
        format!(
            "Encoder(model={:?}, precision={:?})",
            self.inner.identity.name,
            self.precision()
        )
    }
}

/// A LAReQA benchmark (`"xquad-r"`, `"mlqa-r"`): the object `mlsearch bench <name> --json`
/// prints.
#[pyfunction]
#[pyo3(signature = (name, data=None, *, modes="bm25,dense,hybrid", langs=None, max_questions=0,
    model=None, precision=None, work=None, threads=0, centring=true, detect_query_lang=false))]
#[allow(clippy::too_many_arguments)]
fn lareqa(
    py: Python<'_>,
    name: &str,
    data: Option<PathBuf>,
    modes: &str,
    langs: Option<Vec<String>>,
    max_questions: usize,
    model: Option<PathBuf>,
    precision: Option<&str>,
    work: Option<PathBuf>,
    threads: usize,
    centring: bool,
    detect_query_lang: bool,
) -> PyResult<Py<PyAny>> {
    let modes = Mode::parse_list(modes).map_err(raise)?;
    let spec = model_spec(model, "auto", precision)?;
    let data_dir = bench::data_dir(data.as_deref(), name).map_err(raise)?;
    let threads = bench::threads(threads);
    let summary = py
        .detach(|| {
            let started = Instant::now();
            let mut data = Dataset::load(&data_dir)?.subset(&langs.unwrap_or_default(), max_questions);
            let model = match modes.iter().any(|&m| m != Mode::Bm25) {
                true => Some(load_model(&spec, None)?),
                false => None,
            };
            let options = LareqaOptions {
                modes,
                model: model.as_ref(),
                work: work.unwrap_or_else(bench::default_work_dir).join(name),
                threads,
                bm25: Some(Bm25Params::default()),
                hybrid: HybridOptions::default(),
                centring,
                detect_query_lang,
                run_depth: 0,
            };
            let outcome = bench::run_lareqa(&mut data, &options, None, &mut |_, _, _| {})?;
            let model_name = model.as_ref().map(|m| m.identity.name.as_str());
            Ok::<_, mlsearch::Error>(outcome.summary(
                name,
                &data_dir,
                model_name,
                &data,
                started.elapsed().as_secs_f64(),
            ))
        })
        .map_err(raise)?;
    to_py(py, &summary)
}

/// trec_eval's measures of a run against qrels (`mlsearch bench eval`): `run` maps query
/// ids to {document id: score}, `qrels` to {document id: grade}.
#[pyfunction]
#[pyo3(signature = (run, qrels, *, depth=1000, per_query=false))]
fn evaluate(
    py: Python<'_>,
    run: BTreeMap<String, HashMap<String, f64>>,
    qrels: BTreeMap<String, HashMap<String, i32>>,
    depth: usize,
    per_query: bool,
) -> PyResult<Py<PyAny>> {
    let run: metrics::Run = run
        .into_iter()
        .map(|(q, docs)| (q, docs.into_iter().collect()))
        .collect();
    let scores = py.detach(|| metrics::evaluate(&run, &qrels, depth));
    let mut summary = serde_json::json!({
        "queries": scores.len(),
        "map": metrics::mean(scores.values().map(|s| &s.ap)),
        "ndcg_cut_10": metrics::mean(scores.values().map(|s| &s.ndcg10)),
        "recall_100": metrics::mean(scores.values().map(|s| &s.recall100)),
    });
    if per_query {
        summary["per_query"] = scores
            .iter()
            .map(|(q, s)| {
                (
                    q.clone(),
                    serde_json::json!({"map": s.ap, "ndcg_cut_10": s.ndcg10, "recall_100": s.recall100}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    to_py(py, &summary)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MlsearchError", m.py().get_type::<MlsearchError>())?;
    m.add_class::<Engine>()?;
    m.add_class::<Encoder>()?;
    m.add_class::<Hit>()?;
    m.add_class::<Explain>()?;
    m.add_function(wrap_pyfunction!(lareqa, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    Ok(())
}
