//! Step 4 of a search: ranked passage keys become hits: their stored fields, a snippet
//! with the query's terms marked (one snippet generator per language field), and with
//! `--explain` where each passage stood in the BM25 and dense lists.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::ops::Range;

use tantivy::query::Query;
use tantivy::schema::{Field, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, TantivyDocument};

use super::{stored_text, Candidates, Hit, SearchOptions};
use crate::error::Result;
use crate::store::{AtIndex, Store};

/// What rendering needs of one search.
pub(super) struct Page<'a> {
    pub store: &'a Store,
    pub searcher: &'a tantivy::Searcher,
    /// The BM25 query (none when the text had no terms), for highlighting.
    pub query: Option<&'a dyn Query>,
    pub options: &'a SearchOptions,
}

impl Page<'_> {
    /// The first `options.k` of `ranked` as hits. A key without an address in
    /// `candidates` is looked up with `find`; a vector whose passage is gone is skipped,
    /// never invented.
    pub fn hits(
        &self,
        ranked: &[(u64, f32)],
        candidates: &Candidates,
        find: impl Fn(u64) -> Result<Option<DocAddress>>,
    ) -> Result<Vec<Hit>> {
        let f = &self.store.fields;
        let mut generators: HashMap<Field, SnippetGenerator> = HashMap::new();
        let mut hits = Vec::new();
        for (rank, &(key, score)) in ranked.iter().take(self.options.k).enumerate() {
            let address = match candidates.addresses.get(&key) {
                Some(address) => *address,
                None => match find(key)? {
                    Some(address) => address,
                    None => continue,
                },
            };
            let stored: TantivyDocument = self.searcher.doc(address).at(&self.store.dir)?;
            let lang = stored_text(&stored, f.lang);
            let text = stored_text(&stored, f.text);
            let (snippet, highlights) = self.snippet(&mut generators, f.bm25(&lang), &text)?;
            hits.push(Hit {
                rank: rank + 1,
                score,
                doc: stored_text(&stored, f.doc),
                passage: stored.get_first(f.passage).and_then(|v| v.as_u64()).unwrap_or_default() as u32,
                page: f
                    .page
                    .and_then(|field| stored.get_first(field)?.as_u64())
                    .and_then(|p| u32::try_from(p).ok()),
                lang,
                title: stored_text(&stored, f.title),
                file: stored_text(&stored, f.file),
                snippet,
                highlights,
                explain: self.options.explain.then(|| candidates.explain(key, score)),
            });
        }
        Ok(hits)
    }

    /// The snippet of a passage's `text` in its language `field` (none when snippets are off).
    fn snippet(
        &self,
        generators: &mut HashMap<Field, SnippetGenerator>,
        field: Field,
        text: &str,
    ) -> Result<(String, Vec<[usize; 2]>)> {
        let max_chars = self.options.snippet_chars;
        Ok(match (self.query, self.options.snippets) {
            (_, false) => (String::new(), Vec::new()),
            (None, true) => snippet(None, text, max_chars),
            (Some(query), true) => {
                let generator = match generators.entry(field) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let mut generator =
                            SnippetGenerator::create(self.searcher, query, field).at(&self.store.dir)?;
                        generator.set_max_num_chars(max_chars);
                        e.insert(generator)
                    }
                };
                snippet(Some(generator), text, max_chars)
            }
        })
    }
}

/// The best fragment of `text` with highlight ranges, or its beginning when no query term
/// occurs in it (a passage found through its title).
fn snippet(generator: Option<&SnippetGenerator>, text: &str, max_chars: usize) -> (String, Vec<[usize; 2]>) {
    if let Some(found) = generator.map(|g| g.snippet(text)) {
        if !found.is_empty() && !found.highlighted().is_empty() {
            return (found.fragment().to_string(), merge_ranges(found.highlighted()));
        }
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
}
