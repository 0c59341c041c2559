//! Text analysis: languages, their detection, and the per-language analyzers that the
//! BM25 index and the query side share.
//!
//! Analyzers are registered in Tantivy under stable names (`ml_<code>`, see
//! [`analyzer_name`]); the names and settings are recorded in the index manifest, so a
//! change here is a format change.

pub mod lang;
pub mod ngrams;
pub mod normalize;
pub mod tokenizer;

pub use lang::{
    detect, detect_among, is_known, language, normalize_tag, script_languages, two_letter, Detection, Language,
    LANGUAGES, UNDETERMINED,
};
pub use tokenizer::{sentence_breaks, word_ranges, Analyzer};

/// Version of the analysis pipeline; bump it when tokens change, so old indexes are rebuilt.
pub const ANALYSIS_VERSION: u32 = 2;

/// The Tantivy tokenizer name of a language's analyzer.
pub fn analyzer_name(code: &str) -> String {
    format!("ml_{}", language(code).code)
}

/// Registers every language's analyzer with a Tantivy index.
pub fn register_analyzers(index: &tantivy::Index) {
    for l in LANGUAGES {
        index.tokenizers().register(
            &analyzer_name(l.code),
            tantivy::tokenizer::TextAnalyzer::from(Analyzer::new(l.code)),
        );
    }
}
