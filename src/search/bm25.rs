//! BM25 with each language's own statistics and the index's `k1` and `b`.
//!
//! Tantivy's `TermQuery` takes the number of documents from the whole index and fixes
//! k1 = 1.2, b = 0.75. In a multilingual index every language has its own field, so a
//! language holding 1/12 of the passages would get idf from 12× too many documents and
//! an average length 12× too short. [`LanguageTermQuery`] scores one term of one field
//! with that field's [`FieldStats`]: its document count (the passages of its languages),
//! its token count, and the term's document frequency in that field. See
//! `index-format/bm25.md` for why this is a query-time statistic and not one index per
//! language.

use std::fmt;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term};

pub use crate::store::Bm25Params;

/// Statistics of one BM25 field over the passages it holds (deleted but not yet merged
/// passages count in both numbers, as they do in Tantivy's own statistics).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FieldStats {
    /// Passages whose text is in the field.
    pub docs: u64,
    /// Tokens in the field, over all of them.
    pub tokens: u64,
}

impl FieldStats {
    /// Average field length in tokens (1 for an empty field, which matches nothing).
    pub fn average_length(&self) -> f32 {
        if self.docs == 0 || self.tokens == 0 {
            1.0
        } else {
            self.tokens as f32 / self.docs as f32
        }
    }
}

/// Robertson–Spärck Jones idf as Lucene and Tantivy compute it: ln(1 + (N − n + ½)/(n + ½)).
pub fn idf(doc_freq: u64, docs: u64) -> f32 {
    let n = doc_freq.min(docs) as f32;
    (1.0 + (docs as f32 - n + 0.5) / (n + 0.5)).ln()
}

/// BM25 of one term in one field, scored with that field's statistics.
///
/// The term's idf may come from another field: when the query's language is known, its
/// terms weigh what they weigh in that language's field, in every field searched. An
/// English "the" is frequent in English passages and rare in Spanish ones; with each
/// field's own idf it would count as a rare word in Spanish passages and lift them over
/// the English answer in a `--lang any` search. Length normalisation stays per field.
#[derive(Clone)]
pub struct LanguageTermQuery {
    term: Term,
    stats: FieldStats,
    params: Bm25Params,
    /// The document frequency and passage count the idf comes from, when they are not
    /// the term's own in its field.
    idf_counts: Option<(u64, u64)>,
}

impl fmt::Debug for LanguageTermQuery {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "LanguageTermQuery({:?}, {:?})", self.term, self.stats)
    }
}

impl LanguageTermQuery {
    /// The term `text` of `field`, whose statistics are `stats`.
    pub fn new(field: Field, text: &str, stats: FieldStats, params: Bm25Params) -> LanguageTermQuery {
        LanguageTermQuery {
            term: Term::from_field_text(field, text),
            stats,
            params,
            idf_counts: None,
        }
    }

    /// Takes the term's idf from another field (the query language's), where it occurs in
    /// `doc_freq` of `docs` passages.
    pub fn with_idf_from(self, doc_freq: u64, docs: u64) -> LanguageTermQuery {
        LanguageTermQuery {
            idf_counts: Some((doc_freq, docs)),
            ..self
        }
    }
}

impl Query for LanguageTermQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let idf_counts = match (self.idf_counts, scoring.searcher()) {
            (Some(counts), _) => counts,
            (None, Some(searcher)) if scoring.is_scoring_enabled() => (searcher.doc_freq(&self.term)?, self.stats.docs),
            (None, _) => (0, self.stats.docs),
        };
        Ok(Box::new(LanguageTermWeight::new(
            self.term.clone(),
            idf_counts,
            self.stats,
            self.params,
            scoring.is_scoring_enabled(),
        )))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        visitor(&self.term, false);
    }
}

/// The term's idf and a length-normalisation table for the 256 fieldnorm codes.
struct LanguageTermWeight {
    term: Term,
    scoring: bool,
    /// idf · (k1 + 1).
    weight: f32,
    /// k1 · (1 − b + b · length / average length), by fieldnorm code.
    norm: [f32; 256],
    /// Document frequency and passage count the idf comes from.
    idf_counts: (u64, u64),
    stats: FieldStats,
    params: Bm25Params,
}

impl LanguageTermWeight {
    fn new(term: Term, idf_counts: (u64, u64), stats: FieldStats, params: Bm25Params, scoring: bool) -> Self {
        let average = stats.average_length();
        let mut norm = [0.0; 256];
        for (id, n) in norm.iter_mut().enumerate() {
            let length = FieldNormReader::id_to_fieldnorm(id as u8) as f32;
            *n = params.k1 * (1.0 - params.b + params.b * length / average);
        }
        LanguageTermWeight {
            term,
            scoring,
            weight: idf(idf_counts.0, idf_counts.1) * (params.k1 + 1.0),
            norm,
            idf_counts,
            stats,
            params,
        }
    }

    fn scorer_for(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<LanguageTermScorer> {
        let field = self.term.field();
        let fieldnorms = match self.scoring {
            true => reader.fieldnorms_readers().get_field(field)?,
            false => None,
        };
        let postings = reader
            .inverted_index(field)?
            .read_postings(&self.term, IndexRecordOption::WithFreqs)?
            .unwrap_or_else(SegmentPostings::empty);
        Ok(LanguageTermScorer {
            postings,
            fieldnorms: fieldnorms.unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1)),
            weight: self.weight * boost,
            norm: self.norm,
        })
    }
}

impl Weight for LanguageTermWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(self.scorer_for(reader, boost)?))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer_for(reader, 1.0)?;
        if scorer.doc() > doc || scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document #{doc} does not match"
            )));
        }
        let mut explanation = Explanation::new("BM25 with the field's own statistics", scorer.score());
        let (n, docs) = self.idf_counts;
        explanation.add_const("idf (from the query language's field when known)", idf(n, docs));
        explanation.add_const("n, passages with the term", n as f32);
        explanation.add_const("N, passages", docs as f32);
        explanation.add_const("average field length", self.stats.average_length());
        explanation.add_const("term frequency", scorer.postings.term_freq() as f32);
        explanation.add_const("field length", scorer.fieldnorms.fieldnorm(doc) as f32);
        explanation.add_const("k1", self.params.k1);
        explanation.add_const("b", self.params.b);
        explanation.add_context(format!("Term={:?}", self.term));
        Ok(explanation)
    }
}

/// Walks a term's postings in one segment, scoring each passage.
struct LanguageTermScorer {
    postings: SegmentPostings,
    fieldnorms: FieldNormReader,
    weight: f32,
    norm: [f32; 256],
}

impl DocSet for LanguageTermScorer {
    fn advance(&mut self) -> DocId {
        self.postings.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.postings.seek(target)
    }

    fn doc(&self) -> DocId {
        self.postings.doc()
    }

    fn size_hint(&self) -> u32 {
        self.postings.size_hint()
    }
}

impl Scorer for LanguageTermScorer {
    fn score(&mut self) -> Score {
        let tf = self.postings.term_freq() as f32;
        let norm = self.norm[self.fieldnorms.fieldnorm_id(self.postings.doc()) as usize];
        self.weight * tf / (tf + norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idf_matches_lucene_and_never_goes_negative() {
        assert!((idf(1, 10) - (1.0f32 + 9.5 / 1.5).ln()).abs() < 1e-6);
        assert!(idf(10, 10) > 0.0);
        // A document frequency above the count (deleted passages) is clamped.
        assert_eq!(idf(12, 10), idf(10, 10));
    }

    #[test]
    fn an_empty_field_has_a_harmless_average() {
        assert_eq!(FieldStats::default().average_length(), 1.0);
        assert_eq!(FieldStats { docs: 4, tokens: 10 }.average_length(), 2.5);
    }

    /// With the whole index as the field's statistics and Tantivy's k1, b, the scores are
    /// Tantivy's own.
    #[test]
    fn scores_equal_tantivys_bm25_with_its_statistics_and_parameters() {
        use tantivy::collector::TopDocs;
        use tantivy::query::TermQuery;
        use tantivy::schema::{Schema, TEXT};
        use tantivy::{doc, Index};

        let mut schema = Schema::builder();
        let body = schema.add_text_field("body", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let texts = [
            "apple pie with apple and more apple",
            "a short apple",
            "pears and plums in a long sentence about fruit that has one apple in it",
            "nothing here",
            "apple apple",
        ];
        for text in texts {
            writer.add_document(doc!(body => text)).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let tokens: u64 = searcher
            .segment_readers()
            .iter()
            .map(|s| s.inverted_index(body).unwrap().total_num_tokens())
            .sum();
        let stats = FieldStats {
            docs: texts.len() as u64,
            tokens,
        };
        let theirs = searcher
            .search(
                &TermQuery::new(Term::from_field_text(body, "apple"), IndexRecordOption::WithFreqs),
                &TopDocs::with_limit(10),
            )
            .unwrap();
        let tantivy_params = Bm25Params { k1: 1.2, b: 0.75 };
        let ours = searcher
            .search(
                &LanguageTermQuery::new(body, "apple", stats, tantivy_params),
                &TopDocs::with_limit(10),
            )
            .unwrap();
        assert_eq!(theirs.len(), 4);
        assert_eq!(ours.len(), theirs.len());
        for ((a, da), (b, db)) in ours.iter().zip(&theirs) {
            assert_eq!(da, db);
            assert!((a - b).abs() < 1e-5, "ours {a}, Tantivy {b}");
        }
        // Other parameters give other scores (b = 0: no length normalisation).
        let flat = searcher
            .search(
                &LanguageTermQuery::new(body, "apple", stats, Bm25Params { k1: 1.2, b: 0.0 }),
                &TopDocs::with_limit(10),
            )
            .unwrap();
        assert!(flat.iter().zip(&theirs).any(|(a, b)| (a.0 - b.0).abs() > 1e-3));
    }
}
