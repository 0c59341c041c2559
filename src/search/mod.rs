//! Search: BM25 over the per-language fields, with the language filter applied inside
//! the query, and snippets with the matched terms marked.
//!
//! The query text is never parsed as query syntax: it is analysed into terms, and each
//! term becomes a `TermQuery`, so `"`, `:`, `(`, `*`, `AND` or a lone `-` are just text.
//!
//! Which analyzer reads the query: `--query-lang` if given, else the detected language
//! when detection is reliable, else the one language of `--lang` if there is exactly one.
//! When none of these applies, each language's field reads the query with its own
//! analyzer (the query is assumed to be in whichever language it is searched in).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{detect, is_known, normalize_tag, Analyzer, UNDETERMINED};
use crate::error::{Error, Result};
use crate::store::{Fields, Manifest, Store};

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
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 10,
            langs: LangFilter::Any,
            query_lang: None,
            snippet_chars: 200,
            snippets: true,
        }
    }
}

/// How the query's analyzer was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueryLangSource {
    /// `--query-lang`.
    Given,
    /// Language detection (reliable).
    Detected,
    /// The single language of `--lang`.
    Filter,
    /// Unknown: each field analysed the query with its own analyzer.
    PerField,
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
}

/// The answer to one query.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// Language whose analyzer read the query (`und` for per-field analysis).
    pub query_lang: String,
    /// How it was chosen.
    pub query_lang_source: QueryLangSource,
    /// Ranked hits.
    pub hits: Vec<Hit>,
}

/// Searches an open index. Cheap to reuse for many queries.
pub struct Searcher {
    store: Store,
    reader: IndexReader,
    /// Languages present in the index.
    languages: BTreeMap<String, u64>,
}

impl Searcher {
    /// Opens the index in `dir` for searching.
    pub fn open(dir: &Path) -> Result<Searcher> {
        let store = Store::open(dir)?;
        let reader = store
            .index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let languages = store.manifest.languages();
        Ok(Searcher {
            store,
            reader,
            languages,
        })
    }

    /// The manifest of the opened index.
    pub fn manifest(&self) -> &Manifest {
        &self.store.manifest
    }

    /// Runs one query.
    pub fn search(&self, text: &str, options: &SearchOptions) -> Result<SearchResults> {
        let (query_lang, source) = choose_query_lang(text, options)?;
        let query = self.build_query(text, query_lang.as_deref(), &options.langs);
        let mut results = SearchResults {
            query_lang: query_lang.clone().unwrap_or_else(|| UNDETERMINED.to_string()),
            query_lang_source: source,
            hits: Vec::new(),
        };
        let Some(query) = query else {
            return Ok(results);
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(options.k.max(1)))?;
        let mut generators: HashMap<Field, SnippetGenerator> = HashMap::new();
        let f = &self.store.fields;
        for (rank, (score, address)) in top.into_iter().enumerate() {
            let stored: TantivyDocument = searcher.doc(address)?;
            let get = |field: Field| {
                stored
                    .get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let lang = get(f.lang);
            let text = get(f.text);
            let field = f.bm25(&lang);
            let (snippet, highlights) = if options.snippets {
                let generator = match generators.entry(field) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let mut generator = SnippetGenerator::create(&searcher, &*query, field)?;
                        generator.set_max_num_chars(options.snippet_chars);
                        e.insert(generator)
                    }
                };
                snippet(generator, &text, options.snippet_chars)
            } else {
                (String::new(), Vec::new())
            };
            results.hits.push(Hit {
                rank: rank + 1,
                score,
                doc: get(f.doc),
                passage: stored.get_first(f.passage).and_then(|v| v.as_u64()).unwrap_or_default() as u32,
                lang,
                title: get(f.title),
                file: get(f.file),
                snippet,
                highlights,
            });
        }
        Ok(results)
    }

    /// One `TermQuery` per analysed term in every BM25 field the filter allows.
    fn build_query(&self, text: &str, query_lang: Option<&str>, filter: &LangFilter) -> Option<Box<dyn Query>> {
        let fields = &self.store.fields;
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
            clauses.extend(terms(code).iter().map(|t| (Occur::Should, term_query(field, t))));
        }
        if !shared.is_empty() {
            let field = fields.bm25(UNDETERMINED);
            let und: Vec<(Occur, Box<dyn Query>)> = terms(UNDETERMINED)
                .iter()
                .map(|t| (Occur::Should, term_query(field, t)))
                .collect();
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
        (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
    }
}

/// A BM25 term query (frequencies, no positions).
fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

/// Picks the analyzer language for the query (see the module docs).
fn choose_query_lang(text: &str, options: &SearchOptions) -> Result<(Option<String>, QueryLangSource)> {
    if let Some(tag) = &options.query_lang {
        let code = normalize_tag(tag).ok_or_else(|| Error::InvalidLanguage(tag.clone()))?;
        return Ok((Some(code), QueryLangSource::Given));
    }
    let detection = detect(text);
    if detection.reliable && is_known(detection.code) {
        return Ok((Some(detection.code.to_string()), QueryLangSource::Detected));
    }
    if let LangFilter::Only(codes) = &options.langs {
        if let [only] = codes.as_slice() {
            return Ok((Some(only.clone()), QueryLangSource::Filter));
        }
    }
    Ok((None, QueryLangSource::PerField))
}

/// The best fragment of `text` with highlight ranges, or its beginning when no query term
/// occurs in it (a passage found through its title).
fn snippet(generator: &SnippetGenerator, text: &str, max_chars: usize) -> (String, Vec<[usize; 2]>) {
    let found = generator.snippet(text);
    if !found.is_empty() && !found.highlighted().is_empty() {
        return (found.fragment().to_string(), merge_ranges(found.highlighted()));
    }
    let end = text.char_indices().nth(max_chars).map(|(i, _)| i).unwrap_or(text.len());
    (text[..end].to_string(), Vec::new())
}

/// Sorted, non-overlapping highlight ranges (bigram tokens of CJK and Korean overlap).
fn merge_ranges(ranges: &[Range<usize>]) -> Vec<[usize; 2]> {
    let mut sorted: Vec<Range<usize>> = ranges.to_vec();
    sorted.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<[usize; 2]> = Vec::new();
    for r in sorted {
        match merged.last_mut() {
            Some(last) if r.start <= last[1] => last[1] = last[1].max(r.end),
            _ => merged.push([r.start, r.end]),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_highlights_are_merged() {
        assert_eq!(merge_ranges(&[3..9, 0..6, 12..15]), [[0, 9], [12, 15]]);
        assert!(merge_ranges(&[]).is_empty());
    }

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
