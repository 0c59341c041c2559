//! Search: BM25 over the per-language fields, with the language filter applied inside
//! the query, and snippets with the matched terms marked.
//!
//! The query text is never parsed as query syntax: it is analysed into terms, and each
//! term becomes a `TermQuery`, so `"`, `:`, `(`, `*`, `AND` or a lone `-` are just text.
//!
//! Which analyzer reads the query: `--query-lang` if given, else the language identified
//! among the index's languages ([`query_lang`]: script, a restricted text detector and the
//! query vector's nearest language mean). When identification is unsure, each language's
//! field reads the query with its own analyzer and the query vector is centred with its
//! nearest mean. A `--lang` filter never stands for the query's language.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{normalize_tag, Analyzer, UNDETERMINED};

use crate::error::{Error, Result};
use crate::store::{AtIndex, Fields, Manifest, ModelIdentity, Store, VectorFile, Vectors, EXACT_SCAN_MAX};
use bm25::LanguageTermQuery;
use passage_table::PassageTable;

pub mod bm25;
pub mod fusion;
mod passage_table;
pub mod query_lang;
mod render;
pub use bm25::{Bm25Params, FieldStats};
pub use fusion::{fuse, keep_language_positions, rank_hybrid, Fusion, HybridOptions};
pub use query_lang::{QueryLangSource, QueryLanguage};

/// Which passage languages a search may return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LangFilter {
    /// All languages.
    Any,
    /// Only these codes.
    Only(Vec<String>),
}

impl LangFilter {
    /// Parses `any` or a comma-separated list of language codes.
    pub fn parse(spec: &str) -> Result<LangFilter> {
        if spec.trim().eq_ignore_ascii_case("any") {
            return Ok(LangFilter::Any);
        }
        let mut codes = Vec::new();
        for tag in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            codes.push(normalize_tag(tag).ok_or_else(|| Error::InvalidLanguage(tag.to_string()))?);
        }
        if codes.is_empty() {
            return Err(Error::InvalidLanguage(spec.to_string()));
        }
        codes.dedup();
        Ok(LangFilter::Only(codes))
    }

    fn allows(&self, code: &str) -> bool {
        match self {
            LangFilter::Any => true,
            LangFilter::Only(codes) => codes.iter().any(|c| c == code),
        }
    }
}

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Number of hits.
    pub k: usize,
    /// Passage languages to search.
    pub langs: LangFilter,
    /// Language of the query text, if the user knows it.
    pub query_lang: Option<String>,
    /// Longest snippet, in characters.
    pub snippet_chars: usize,
    /// Whether to make snippets (a TREC run needs none: it saves re-analysing every hit).
    pub snippets: bool,
    /// BM25, dense or hybrid (`None`: hybrid when the index has vectors, else BM25).
    pub mode: Option<Mode>,
    /// How hybrid mode ranks.
    pub hybrid: HybridOptions,
    /// Whether hits carry their BM25 and dense ranks and scores.
    pub explain: bool,
    /// BM25 `k1` and `b` for this search (`None`: the index's, from its manifest).
    pub bm25: Option<Bm25Params>,
}

/// Which retrieval runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Mode {
    /// BM25 and dense, fused.
    Hybrid,
    /// BM25 only.
    Bm25,
    /// Dense only.
    Dense,
}

impl Mode {
    /// Its name in flags, the API and reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Hybrid => "hybrid",
            Mode::Bm25 => "bm25",
            Mode::Dense => "dense",
        }
    }

    /// A comma-separated list of modes (`bm25,dense`), each once, in the order given.
    pub fn parse_list(spec: &str) -> Result<Vec<Mode>> {
        let mut modes = Vec::new();
        for name in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let mode: Mode = name.parse()?;
            if !modes.contains(&mode) {
                modes.push(mode);
            }
        }
        if modes.is_empty() {
            return Err(Error::InvalidSetting(
                "mode: name at least one of hybrid, bm25, dense".into(),
            ));
        }
        Ok(modes)
    }
}

impl std::str::FromStr for Mode {
    type Err = Error;

    fn from_str(name: &str) -> Result<Mode> {
        [Mode::Hybrid, Mode::Bm25, Mode::Dense]
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| Error::InvalidSetting(format!("mode {name:?}: use hybrid, bm25 or dense")))
    }
}

/// Where a hit came from (`--explain`).
#[derive(Debug, Clone, Serialize)]
pub struct Explain {
    /// 1-based rank in the BM25 list, if it was there.
    pub bm25_rank: Option<usize>,
    /// BM25 score.
    pub bm25_score: Option<f32>,
    /// 1-based rank in the dense list.
    pub dense_rank: Option<usize>,
    /// Cosine similarity.
    pub dense_score: Option<f32>,
    /// The score it was ranked by.
    pub fused_score: f32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 10,
            langs: LangFilter::Any,
            query_lang: None,
            snippet_chars: 200,
            snippets: true,
            mode: None,
            hybrid: HybridOptions::default(),
            explain: false,
            bm25: None,
        }
    }
}

/// A passage found by a search.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// 1-based rank.
    pub rank: usize,
    /// BM25 score.
    pub score: f32,
    /// Document id (path relative to the indexed folder, or the JSON(L) record id).
    pub doc: String,
    /// 0-based passage number within the document.
    pub passage: u32,
    /// 1-based page of a paged document (PDF) the passage is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Passage language.
    pub lang: String,
    /// Document title (may be empty).
    pub title: String,
    /// File the passage came from, relative to the indexed folder.
    pub file: String,
    /// Best fragment of the passage.
    pub snippet: String,
    /// Byte ranges of `snippet` that match query terms.
    pub highlights: Vec<[usize; 2]>,
    /// BM25 / dense ranks and scores (with `explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
}

/// A passage as the index stores it.
#[derive(Debug, Clone)]
pub struct StoredPassage {
    /// Its key (shared with the vector file).
    pub key: u64,
    /// Source file, relative to the indexed folder.
    pub file: String,
    /// Document id.
    pub doc: String,
    /// 0-based passage number within the document.
    pub passage: u32,
    /// Language.
    pub lang: String,
    /// Document title.
    pub title: String,
    /// Text.
    pub text: String,
    /// Page of a paged document.
    pub page: Option<u32>,
}

/// What retrieval found (step 1 of a search): BM25 and dense candidates as (passage key,
/// score), best first, and the index addresses known so far (BM25 hits carry theirs).
#[derive(Default)]
struct Candidates {
    bm25: Vec<(u64, f32)>,
    dense: Vec<(u64, f32)>,
    addresses: HashMap<u64, DocAddress>,
}

impl Candidates {
    /// Where `key` stood in each list, for `--explain`.
    fn explain(&self, key: u64, fused_score: f32) -> Explain {
        let position = |list: &[(u64, f32)]| list.iter().position(|(k, _)| *k == key).map(|i| (i + 1, list[i].1));
        let (bm25, dense) = (position(&self.bm25), position(&self.dense));
        Explain {
            bm25_rank: bm25.map(|p| p.0),
            bm25_score: bm25.map(|p| p.1),
            dense_rank: dense.map(|p| p.0),
            dense_score: dense.map(|p| p.1),
            fused_score,
        }
    }
}

/// The answer to one query.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// Language whose analyzer read the query (`und` for per-field analysis).
    pub query_lang: String,
    /// How it was chosen.
    pub query_lang_source: QueryLangSource,
    /// How sure the identification is, 0 to 1 (1 when given).
    pub query_lang_confidence: f32,
    /// The retrieval that ran.
    pub mode: Mode,
    /// Ranked hits.
    pub hits: Vec<Hit>,
}

/// Searches an open index. Cheap to reuse for many queries.
pub struct Searcher {
    store: Store,
    reader: IndexReader,
    /// The checked, mapped vector file (when the index has vectors).
    vector_file: Option<VectorFile>,
    /// USearch's index over it, read at the first vector search.
    vectors: OnceLock<Vectors>,
    /// Languages present in the index.
    languages: BTreeMap<String, u64>,
    /// BM25 statistics of each field, over the passages it holds.
    field_stats: HashMap<Field, FieldStats>,
    /// Passage keys per language filter, computed once (the reader never reloads, so
    /// they stay true for the searcher's life).
    allowed: Mutex<HashMap<Vec<String>, Arc<HashSet<u64>>>>,
    /// Every passage's address and language by key (hybrid search's look-ups).
    passages: OnceLock<Option<PassageTable>>,
}

impl Searcher {
    /// Opens the index in `dir` for searching (the last commit, also while `index` makes
    /// a new one).
    pub fn open(dir: &Path) -> Result<Searcher> {
        crate::store::open_retrying(dir, || crate::store::damage_as_error(dir, || Searcher::open_once(dir)))
    }

    fn open_once(dir: &Path) -> Result<Searcher> {
        let store = Store::open(dir)?;
        let reader = store
            .index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .at(&store.dir)?;
        let languages = store.manifest.languages();
        // Checked and mapped now (so a later commit cannot take the file away); read by
        // USearch at the first vector search (its cost grows with the index).
        let vector_file = match &store.manifest.vectors {
            Some(info) => Some(VectorFile::open(&store.vectors_dir(), info)?),
            None => None,
        };
        let field_stats = field_stats(&reader.searcher(), &store.fields, languages.keys()).at(&store.dir)?;
        Ok(Searcher {
            store,
            reader,
            vector_file,
            vectors: OnceLock::new(),
            languages,
            field_stats,
            allowed: Mutex::default(),
            passages: OnceLock::new(),
        })
    }

    /// Whether the index has vectors.
    pub fn has_vectors(&self) -> bool {
        self.vector_file.is_some()
    }

    /// Checks that `identity` is the model that made the index's vectors (query vectors
    /// of another model would be compared with them).
    pub fn check_model(&self, identity: &ModelIdentity) -> Result<()> {
        if let Some(info) = &self.store.manifest.vectors {
            if &info.model != identity {
                return Err(ModelIdentity::mismatch(
                    &self.store.dir,
                    Some(&info.model),
                    Some(identity),
                ));
            }
        }
        Ok(())
    }

    /// The index's vectors, if it has them (read from the mapped file on first use).
    pub fn vectors(&self) -> Result<Option<&Vectors>> {
        let Some(file) = &self.vector_file else {
            return Ok(None);
        };
        if let Some(vectors) = self.vectors.get() {
            return Ok(Some(vectors));
        }
        let vectors = crate::store::damage_as_error(&self.store.dir, || file.view())?;
        // Two threads may both read it; either result is the same index.
        Ok(Some(self.vectors.get_or_init(|| vectors)))
    }

    /// About `n` passages spread evenly over the index: key, language, text.
    pub fn sample_passages(&self, n: usize) -> Result<Vec<(u64, String, String)>> {
        let searcher = self.reader.searcher();
        let f = &self.store.fields;
        let mut addresses: Vec<DocAddress> = searcher
            .search(&tantivy::query::AllQuery, &DocSetCollector)
            .at(&self.store.dir)?
            .into_iter()
            .collect();
        addresses.sort();
        let step = (addresses.len() / n.max(1)).max(1);
        let mut out = Vec::new();
        for address in addresses.into_iter().step_by(step).take(n) {
            let stored: TantivyDocument = searcher.doc(address).at(&self.store.dir)?;
            let text = |field: Field| stored_text(&stored, field);
            out.push((self.key_of(&searcher, address)?, text(f.lang), text(f.text)));
        }
        Ok(out)
    }

    /// Passages per language in the opened index.
    pub fn languages(&self) -> &BTreeMap<String, u64> {
        &self.languages
    }

    /// The manifest of the opened index.
    pub fn manifest(&self) -> &Manifest {
        &self.store.manifest
    }

    /// Runs one query without a query vector: BM25 (dense and hybrid search need one:
    /// [`crate::engine::Engine::search`] embeds the query with the index's model, or pass it
    /// to [`Searcher::search_with_vector`]).
    pub fn search(&self, text: &str, options: &SearchOptions) -> Result<SearchResults> {
        self.search_with_vector(text, None, options)
    }

    /// Runs one query whose vector is already computed (batch evaluation and the server
    /// embed many queries at once); `vector` is ignored in BM25 mode, and without one the
    /// default mode is BM25.
    pub fn search_with_vector(
        &self,
        text: &str,
        vector: Option<&[f32]>,
        options: &SearchOptions,
    ) -> Result<SearchResults> {
        crate::store::damage_as_error(&self.store.dir, || self.search_unguarded(text, vector, options))
    }

    /// One query in four named steps: retrieve (BM25 and dense candidates) → the
    /// candidates' languages (hybrid only) → [`fusion`] → [`render`] (stored fields,
    /// snippets, explain).
    fn search_unguarded(&self, text: &str, vector: Option<&[f32]>, options: &SearchOptions) -> Result<SearchResults> {
        let mode = self.mode(options.mode, vector.is_some())?;
        let identified = self.identify_query(text, options.query_lang.as_deref(), vector)?;
        let query_lang = identified.lang.clone();
        let searcher = self.reader.searcher();
        let query = self.build_query(&searcher, text, query_lang.as_deref(), options)?;
        let mut candidates = self.retrieve(
            &searcher,
            query.as_deref(),
            vector,
            query_lang.as_deref(),
            mode,
            options,
        )?;
        let ranked: Vec<(u64, f32)> = match mode {
            Mode::Bm25 => candidates.bm25.clone(),
            Mode::Dense => candidates.dense.clone(),
            Mode::Hybrid => {
                let languages = self.candidate_languages(&searcher, &mut candidates, query_lang.as_deref(), options)?;
                let query_code = query_lang.as_ref().map(|_| 0);
                rank_hybrid(
                    &candidates.bm25,
                    &candidates.dense,
                    &|key| languages.get(&key).copied(),
                    query_code,
                    &options.hybrid,
                )
            }
        };
        let page = render::Page {
            store: &self.store,
            searcher: &searcher,
            query: query.as_deref(),
            options,
        };
        Ok(SearchResults {
            query_lang: query_lang.unwrap_or_else(|| UNDETERMINED.to_string()),
            query_lang_source: identified.source,
            query_lang_confidence: identified.confidence,
            mode,
            hits: page.hits(&ranked, &candidates, |key| self.find_address(&searcher, key))?,
        })
    }

    /// Step 1: the BM25 and dense candidates, `options.k` of each (or the fusion's depth in
    /// hybrid mode). The query vector is centred like the index's passages (see
    /// `store::Centring`); the dense side scans the allowed passages exactly when a language
    /// filter leaves few, else searches the HNSW graph with the filter.
    fn retrieve(
        &self,
        searcher: &tantivy::Searcher,
        query: Option<&dyn Query>,
        vector: Option<&[f32]>,
        query_lang: Option<&str>,
        mode: Mode,
        options: &SearchOptions,
    ) -> Result<Candidates> {
        let depth = match mode {
            Mode::Hybrid => options.k.max(options.hybrid.candidates),
            _ => options.k.max(1),
        };
        let mut candidates = Candidates::default();
        if mode != Mode::Dense {
            for (key, score, address) in self.bm25_hits(searcher, query, depth)? {
                candidates.addresses.insert(key, address);
                candidates.bm25.push((key, score));
            }
        }
        if mode != Mode::Bm25 {
            let (Some(vectors), Some(vector)) = (self.vectors()?, vector) else {
                return Err(Error::NoVectors {
                    path: self.store.dir.clone(),
                });
            };
            let mut vector = vector.to_vec();
            vectors.centre_query(query_lang, &mut vector);
            candidates.dense = match self.allowed_keys(searcher, &options.langs)? {
                None => vectors.search(&vector, depth, |_| true)?,
                Some(allowed) if allowed.len() <= EXACT_SCAN_MAX => {
                    vectors.exact_search(&vector, depth, allowed.iter().copied())?
                }
                Some(allowed) => vectors.search(&vector, depth, |key| allowed.contains(&key))?,
            };
        }
        Ok(candidates)
    }

    /// Step 2 (hybrid): every candidate's language as a number, the query's language 0. A
    /// vector whose passage is gone gets none (fusion drops it, never invents it).
    fn candidate_languages(
        &self,
        searcher: &tantivy::Searcher,
        candidates: &mut Candidates,
        query_lang: Option<&str>,
        options: &SearchOptions,
    ) -> Result<HashMap<u64, u32>> {
        let mut codes: HashMap<String, u32> = HashMap::new();
        if let Some(lang) = query_lang {
            codes.insert(lang.to_string(), 0);
        }
        let mut code_of = |lang: &str| {
            let next = codes.len() as u32;
            *codes.entry(lang.to_string()).or_insert(next)
        };
        let Candidates { bm25, dense, addresses } = candidates;
        let keys = bm25.iter().chain(dense.iter()).map(|(key, _)| *key);
        // With one language, every candidate is in it: no look-ups needed.
        let only_language = match &options.langs {
            LangFilter::Only(codes) if codes.len() == 1 => Some(codes[0].clone()),
            _ if self.languages.len() == 1 => self.languages.keys().next().cloned(),
            _ => None,
        };
        if let Some(only) = only_language {
            let code = code_of(&only);
            return Ok(keys.map(|key| (key, code)).collect());
        }
        let table = self.passage_table(searcher)?;
        let mut languages: HashMap<u64, u32> = HashMap::new();
        for key in keys {
            if languages.contains_key(&key) {
                continue;
            }
            let found = match table {
                Some(table) => table.get(key).map(|(a, lang)| (a, Cow::Borrowed(lang))),
                None => match addresses.get(&key) {
                    Some(address) => Some(*address),
                    None => self.address_of(searcher, key)?,
                }
                .map(|a| (a, Cow::Owned(self.lang_of(searcher, a)))),
            };
            let Some((address, lang)) = found else { continue };
            addresses.insert(key, address);
            languages.insert(key, code_of(&lang));
        }
        Ok(languages)
    }

    /// BM25 alone, as passage keys and scores, best first: the first `options.k` hits with
    /// `options`' language filter and query language (batch evaluation fetches no
    /// documents).
    pub fn bm25(&self, text: &str, options: &SearchOptions) -> Result<Vec<(u64, f32)>> {
        crate::store::damage_as_error(&self.store.dir, || self.bm25_unguarded(text, options))
    }

    fn bm25_unguarded(&self, text: &str, options: &SearchOptions) -> Result<Vec<(u64, f32)>> {
        let query_lang = self.identify_query(text, options.query_lang.as_deref(), None)?.lang;
        let searcher = self.reader.searcher();
        let query = self.build_query(&searcher, text, query_lang.as_deref(), options)?;
        Ok(self
            .bm25_hits(&searcher, query.as_deref(), options.k.max(1))?
            .into_iter()
            .map(|(key, score, _)| (key, score))
            .collect())
    }

    /// Centres a raw query vector of `text` as a search of this index does (its language's
    /// mean removed: `query_lang`, else the identified language, else the nearest mean), so
    /// it can be compared with the stored vectors elsewhere (an exported index).
    pub fn centre_query_vector(&self, text: &str, query_lang: Option<&str>, vector: &mut [f32]) -> Result<()> {
        let lang = self.identify_query(text, query_lang, Some(vector))?.lang;
        if let Some(vectors) = self.vectors()? {
            vectors.centre_query(lang.as_deref(), vector);
        }
        Ok(())
    }

    /// The language this index's searches read `text` in: `given`, else the language
    /// identified among the index's languages (see [`query_lang`]); `vector`, the raw query
    /// vector, lets the nearest language mean vote.
    pub fn identify_query(&self, text: &str, given: Option<&str>, vector: Option<&[f32]>) -> Result<QueryLanguage> {
        let langs: Vec<&str> = self.languages.keys().map(String::as_str).collect();
        query_lang::identify(text, given, &langs, self.language_means(), vector)
    }

    /// What identification sees in `text` on this index (measurement).
    pub fn query_lang_evidence(&self, text: &str, vector: Option<&[f32]>) -> query_lang::Evidence {
        let langs: Vec<&str> = self.languages.keys().map(String::as_str).collect();
        query_lang::evidence(text, &langs, self.language_means(), vector)
    }

    /// The per-language means the index centres with (from its manifest).
    fn language_means(&self) -> Option<&crate::store::vectors::Centring> {
        self.store.manifest.vectors.as_ref().map(|v| &v.language_means)
    }

    /// Calls `visit` with every passage of the index, segment by segment (export).
    pub fn for_each_passage(&self, visit: &mut dyn FnMut(StoredPassage) -> Result<()>) -> Result<()> {
        let searcher = self.reader.searcher();
        let f = &self.store.fields;
        let dir = &self.store.dir;
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let alive = segment.alive_bitset();
            let keys = segment.fast_fields().u64("key").at(dir)?;
            for doc_id in 0..segment.max_doc() {
                if alive.is_some_and(|a| !a.is_alive(doc_id)) {
                    continue;
                }
                let address = DocAddress::new(segment_ord as u32, doc_id);
                let stored: TantivyDocument = searcher.doc(address).at(dir)?;
                let text = |field: Field| stored_text(&stored, field);
                let number = |field: Option<Field>| field.and_then(|field| stored.get_first(field)?.as_u64());
                visit(StoredPassage {
                    key: keys.first(doc_id).unwrap_or(u64::MAX),
                    file: text(f.file),
                    doc: text(f.doc),
                    passage: number(Some(f.passage)).unwrap_or_default() as u32,
                    lang: text(f.lang),
                    title: text(f.title),
                    text: text(f.text),
                    page: number(f.page).and_then(|p| u32::try_from(p).ok()),
                })?;
            }
        }
        Ok(())
    }

    /// Every passage of the index: key → (document id, passage number, language).
    pub fn passage_keys(&self) -> Result<HashMap<u64, (String, u32, String)>> {
        let searcher = self.reader.searcher();
        let f = &self.store.fields;
        let mut out = HashMap::new();
        for address in searcher
            .search(&tantivy::query::AllQuery, &DocSetCollector)
            .at(&self.store.dir)?
        {
            let stored: TantivyDocument = searcher.doc(address).at(&self.store.dir)?;
            let text = |field: Field| stored_text(&stored, field);
            let passage = stored.get_first(f.passage).and_then(|v| v.as_u64()).unwrap_or_default() as u32;
            out.insert(self.key_of(&searcher, address)?, (text(f.doc), passage, text(f.lang)));
        }
        Ok(out)
    }

    /// The first `depth` BM25 hits of `query`: key, score, address.
    fn bm25_hits(
        &self,
        searcher: &tantivy::Searcher,
        query: Option<&dyn Query>,
        depth: usize,
    ) -> Result<Vec<(u64, f32, DocAddress)>> {
        let Some(query) = query else {
            return Ok(Vec::new());
        };
        let mut hits = Vec::new();
        for (score, address) in searcher
            .search(query, &TopDocs::with_limit(depth))
            .at(&self.store.dir)?
        {
            hits.push((self.key_of(searcher, address)?, score, address));
        }
        Ok(hits)
    }

    /// The mode a request resolves to on this index.
    /// The mode that runs: `requested`, else hybrid when there are vectors and a query
    /// vector (`query_vector`: one is given or can be made), else BM25.
    fn mode(&self, requested: Option<Mode>, query_vector: bool) -> Result<Mode> {
        let dense_ready = self.vector_file.is_some() && query_vector;
        match requested {
            None => Ok(if dense_ready { Mode::Hybrid } else { Mode::Bm25 }),
            Some(Mode::Bm25) => Ok(Mode::Bm25),
            Some(mode) if dense_ready => Ok(mode),
            // No vectors, or no query vector given.
            Some(_) => Err(Error::NoVectors {
                path: self.store.dir.clone(),
            }),
        }
    }

    /// The language of a document (a fast field).
    fn lang_of(&self, searcher: &tantivy::Searcher, address: DocAddress) -> String {
        let mut lang = String::new();
        if let Ok(Some(column)) = searcher.segment_reader(address.segment_ord).fast_fields().str("lang") {
            if let Some(ord) = column.term_ords(address.doc_id).next() {
                let _ = column.ord_to_str(ord, &mut lang);
            }
        }
        lang
    }

    /// The passage key of a document (a fast field).
    fn key_of(&self, searcher: &tantivy::Searcher, address: DocAddress) -> Result<u64> {
        let column = searcher
            .segment_reader(address.segment_ord)
            .fast_fields()
            .u64("key")
            .at(&self.store.dir)?;
        Ok(column.first(address.doc_id).unwrap_or(u64::MAX))
    }

    /// The table of every passage's address and language, read at the first hybrid
    /// search (`None` for an index whose keys are too sparse for one).
    fn passage_table(&self, searcher: &tantivy::Searcher) -> Result<Option<&PassageTable>> {
        if let Some(table) = self.passages.get() {
            return Ok(table.as_ref());
        }
        let table = PassageTable::read(searcher, self.store.manifest.next_key).at(&self.store.dir)?;
        // Two threads may both read it; either is the same table.
        Ok(self.passages.get_or_init(|| table).as_ref())
    }

    /// The document of a passage key: from the passage table when it is read.
    fn find_address(&self, searcher: &tantivy::Searcher, key: u64) -> Result<Option<DocAddress>> {
        match self.passages.get() {
            Some(Some(table)) => Ok(table.get(key).map(|(address, _)| address)),
            _ => self.address_of(searcher, key),
        }
    }

    /// The document of a passage key.
    fn address_of(&self, searcher: &tantivy::Searcher, key: u64) -> Result<Option<DocAddress>> {
        let query = TermQuery::new(
            Term::from_field_u64(self.store.fields.key, key),
            IndexRecordOption::Basic,
        );
        Ok(searcher
            .search(&query, &TopDocs::with_limit(1))
            .at(&self.store.dir)?
            .first()
            .map(|(_, a)| *a))
    }

    /// Keys of the passages the language filter allows (`None`: all).
    fn allowed_keys(&self, searcher: &tantivy::Searcher, filter: &LangFilter) -> Result<Option<Arc<HashSet<u64>>>> {
        let LangFilter::Only(codes) = filter else {
            return Ok(None);
        };
        if let Some(keys) = self.allowed.lock().unwrap().get(codes) {
            return Ok(Some(Arc::clone(keys)));
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = codes
            .iter()
            .map(|c| {
                let term = Term::from_field_text(self.store.fields.lang, c);
                (
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
                )
            })
            .collect();
        let mut keys = HashSet::new();
        for address in searcher
            .search(&BooleanQuery::new(clauses), &DocSetCollector)
            .at(&self.store.dir)?
        {
            keys.insert(self.key_of(searcher, address)?);
        }
        let keys = Arc::new(keys);
        self.allowed.lock().unwrap().insert(codes.clone(), Arc::clone(&keys));
        Ok(Some(keys))
    }

    /// One `TermQuery` per analysed term in every BM25 field the filter allows.
    fn build_query(
        &self,
        searcher: &tantivy::Searcher,
        text: &str,
        query_lang: Option<&str>,
        options: &SearchOptions,
    ) -> Result<Option<Box<dyn Query>>> {
        let filter = &options.langs;
        let params = options.bm25.unwrap_or(self.store.manifest.bm25);
        let fields = &self.store.fields;
        // Each field is scored with its own statistics; a query of a known language takes
        // its terms' idf from that language's field, when the index has one (see `bm25`),
        // looked up once per term, not once per field.
        let idf_field = query_lang
            .map(|q| fields.bm25(q))
            .and_then(|f| self.field_stats.get(&f).map(|stats| (f, *stats)));
        let mut idf_counts: HashMap<String, u64> = HashMap::new();
        let mut term_query = |field: Field, text: &str| -> Result<Box<dyn Query>> {
            let stats = self.field_stats.get(&field).copied().unwrap_or_default();
            let query = LanguageTermQuery::new(field, text, stats, params);
            Ok(Box::new(match idf_field {
                Some((from, from_stats)) if from != field => {
                    let doc_freq = match idf_counts.get(text) {
                        Some(n) => *n,
                        None => {
                            let n = searcher
                                .doc_freq(&Term::from_field_text(from, text))
                                .at(&self.store.dir)?;
                            *idf_counts.entry(text.to_string()).or_insert(n)
                        }
                    };
                    query.with_idf_from(doc_freq, from_stats.docs)
                }
                _ => query,
            }))
        };
        let mut known: Vec<&str> = Vec::new();
        let mut shared: Vec<&str> = Vec::new();
        for code in self.languages.keys().filter(|c| filter.allows(c)) {
            if Fields::shares_field(code) {
                shared.push(code)
            } else {
                known.push(code)
            }
        }
        // The query is analysed once per analyzer, not once per field.
        let mut analysed: HashMap<&'static str, Vec<String>> = HashMap::new();
        let mut terms = |code: &str| -> Vec<String> {
            let analyzer = Analyzer::new(query_lang.unwrap_or(code));
            let entry = analysed.entry(analyzer.language().code);
            entry
                .or_insert_with(|| analyzer.tokens(text).into_iter().map(|t| t.text).collect())
                .clone()
        };
        // One flat disjunction over (field, term) pairs: nested per-field unions would each
        // allocate Tantivy's union buffers, per segment, for every query.
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for code in &known {
            let field = fields.bm25(code);
            for t in terms(code) {
                clauses.push((Occur::Should, term_query(field, &t)?));
            }
        }
        if !shared.is_empty() {
            let field = fields.bm25(UNDETERMINED);
            let mut und: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for t in terms(UNDETERMINED) {
                und.push((Occur::Should, term_query(field, &t)?));
            }
            if !und.is_empty() {
                let q: Box<dyn Query> = Box::new(BooleanQuery::new(und));
                let q = match filter {
                    LangFilter::Any => q,
                    LangFilter::Only(_) => {
                        // The `und` field holds every language without its own analyzer:
                        // restrict it to the requested ones, without adding to the score.
                        let langs: Vec<(Occur, Box<dyn Query>)> = shared
                            .iter()
                            .map(|c| {
                                let term = Term::from_field_text(fields.lang, c);
                                (
                                    Occur::Should,
                                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
                                )
                            })
                            .collect();
                        let only = Box::new(BoostQuery::new(Box::new(BooleanQuery::new(langs)), 0.0));
                        Box::new(BooleanQuery::new(vec![(Occur::Must, q), (Occur::Must, only)]))
                    }
                };
                clauses.push((Occur::Should, q));
            }
        }
        Ok((!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>))
    }
}

/// BM25 statistics of the fields holding `languages`: a field's passages are those of its
/// languages (counted by their `lang` term, as Tantivy counts documents: deleted passages
/// stay until a merge, in both numbers), its tokens Tantivy's count for the field.
fn field_stats<'a>(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    languages: impl Iterator<Item = &'a String>,
) -> tantivy::Result<HashMap<Field, FieldStats>> {
    let mut stats: HashMap<Field, FieldStats> = HashMap::new();
    for code in languages {
        let field = fields.bm25(code);
        let docs = searcher.doc_freq(&Term::from_field_text(fields.lang, code))?;
        let entry = match stats.entry(field) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let mut tokens = 0;
                for segment in searcher.segment_readers() {
                    tokens += segment.inverted_index(field)?.total_num_tokens();
                }
                e.insert(FieldStats { docs: 0, tokens })
            }
        };
        entry.docs += docs;
    }
    Ok(stats)
}

/// A stored text field's value ("" when absent).
pub(crate) fn stored_text(stored: &TantivyDocument, field: Field) -> String {
    stored
        .get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_filters_parse() {
        assert_eq!(LangFilter::parse("any").unwrap(), LangFilter::Any);
        assert_eq!(
            LangFilter::parse("de, FR").unwrap(),
            LangFilter::Only(vec!["de".into(), "fr".into()])
        );
        assert!(LangFilter::parse("german!").is_err());
        assert!(LangFilter::parse(",").is_err());
    }
}
