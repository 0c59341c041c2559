//! The index manifest (`manifest.json`): what the index holds and how it was made.
//! Its fields are specified in `index-format/manifest.md`; a change to them, to the
//! schema or to analysis bumps [`FORMAT_VERSION`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::vectors::VectorsInfo;
use crate::analysis::lang::{Normalizer, Stemming};
use crate::analysis::{analyzer_name, ANALYSIS_VERSION, LANGUAGES};
use crate::corpus::{MAX_PASSAGE_WORDS, MIN_PASSAGE_WORDS};

/// The on-disk format this build reads and writes.
pub const FORMAT_VERSION: u32 = 2;

/// Contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// On-disk format version; an index of another version is refused.
    pub format_version: u32,
    /// Version of the mlsearch that last wrote the index.
    pub mlsearch_version: String,
    /// Incremented by every commit.
    pub generation: u64,
    /// Absolute path of the indexed folder.
    pub root: PathBuf,
    /// How text was split and analysed.
    pub analysis: AnalysisSettings,
    /// Every indexed file, by path relative to `root`.
    pub files: BTreeMap<String, FileEntry>,
    /// Dense vectors: `null` for a BM25-only index.
    pub vectors: Option<VectorsInfo>,
    /// The key the next passage gets (keys join Tantivy documents and vectors).
    pub next_key: u64,
    /// BM25 parameters of every query (absent in older manifests: the default).
    #[serde(default)]
    pub bm25: Bm25Params,
}

/// BM25's term-frequency saturation `k1` and length normalisation `b`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bm25Params {
    /// Term-frequency saturation.
    pub k1: f32,
    /// Length normalisation (0: none, 1: full).
    pub b: f32,
}

impl Default for Bm25Params {
    /// Pyserini's MIRACL / Mr. TyDi baseline values; on XQuAD they beat Tantivy's 1.2 / 0.75
    /// in every language (docs/measurements/bm25-per-language.md).
    fn default() -> Self {
        Bm25Params { k1: 0.9, b: 0.4 }
    }
}

impl Bm25Params {
    /// These parameters with the values a user gave in place of theirs, checked.
    pub fn overridden(self, k1: Option<f32>, b: Option<f32>) -> Result<Bm25Params, String> {
        Bm25Params {
            k1: k1.unwrap_or(self.k1),
            b: b.unwrap_or(self.b),
        }
        .validated()
    }

    /// Checks the values a user gave (k1 ≥ 0, 0 ≤ b ≤ 1, both finite).
    pub fn validated(self) -> Result<Bm25Params, String> {
        if !(self.k1.is_finite() && self.k1 >= 0.0) {
            return Err(format!("BM25 k1 must be a finite number ≥ 0, not {}", self.k1));
        }
        if !(self.b.is_finite() && (0.0..=1.0).contains(&self.b)) {
            return Err(format!("BM25 b must be between 0 and 1, not {}", self.b));
        }
        Ok(self)
    }
}

/// Analysis settings recorded so that queries are analysed like the passages were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSettings {
    /// Version of the analysis pipeline.
    pub version: u32,
    /// Word segmentation used by every analyzer.
    pub segmenter: String,
    /// Passage bound, in words.
    pub max_passage_words: usize,
    /// Paragraphs shorter than this are joined to a neighbour.
    pub min_passage_words: usize,
    /// Analyzer of each language code, keyed by code.
    pub analyzers: BTreeMap<String, AnalyzerSettings>,
}

/// One language's analyzer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzerSettings {
    /// Tantivy tokenizer name (`ml_<code>`), also the BM25 field suffix.
    pub tokenizer: String,
    /// Script normalisation after NFKC and lowercasing.
    pub normalizer: String,
    /// Stemmer, or `none`.
    pub stemmer: String,
}

/// One indexed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// BLAKE3 of the file's bytes, hex.
    pub blake3: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Documents read from it.
    pub documents: u32,
    /// Passages indexed from it.
    pub passages: u32,
    /// Passages per language code.
    pub languages: BTreeMap<String, u32>,
    /// Modification time (nanoseconds since 1970) when it was read, if it was then at
    /// least [`SETTLED`] old: a later run with the same size and time takes the file as
    /// unchanged without reading it. A file changed just before it was read has none (its
    /// time could repeat after another change), so it is hashed again next time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<u64>,
}

/// How old a file's modification time must be to be trusted as its version.
pub const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

impl FileEntry {
    /// The modification time to record for a file with `metadata`, read now.
    pub fn settled_mtime(metadata: &std::fs::Metadata) -> Option<u64> {
        let modified = metadata.modified().ok()?;
        let age = std::time::SystemTime::now().duration_since(modified).ok()?;
        let since_epoch = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
        (age >= SETTLED)
            .then(|| u64::try_from(since_epoch.as_nanos()).ok())
            .flatten()
    }

    /// Whether `metadata` shows the very version this entry was read from.
    pub fn same_version(&self, metadata: &std::fs::Metadata) -> bool {
        let Some(recorded) = self.modified else {
            return false;
        };
        let now = metadata
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| u64::try_from(d.as_nanos()).ok());
        metadata.len() == self.bytes && now == Some(recorded)
    }
}

impl Manifest {
    /// An empty manifest for an index of `root`.
    pub fn new(root: PathBuf) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            mlsearch_version: env!("CARGO_PKG_VERSION").to_string(),
            generation: 0,
            root,
            analysis: AnalysisSettings::current(),
            files: BTreeMap::new(),
            vectors: None,
            next_key: 0,
            bm25: Bm25Params::default(),
        }
    }

    /// Passages per language over the whole index.
    pub fn languages(&self) -> BTreeMap<String, u64> {
        let mut totals = BTreeMap::new();
        for entry in self.files.values() {
            for (lang, n) in &entry.languages {
                *totals.entry(lang.clone()).or_insert(0) += u64::from(*n);
            }
        }
        totals
    }

    /// Passages in the whole index.
    pub fn passages(&self) -> u64 {
        self.files.values().map(|e| u64::from(e.passages)).sum()
    }
}

impl AnalysisSettings {
    /// The settings of this build.
    pub fn current() -> AnalysisSettings {
        let analyzers = LANGUAGES
            .iter()
            .map(|l| {
                let normalizer = match l.normalizer {
                    Normalizer::Plain => "plain",
                    Normalizer::Arabic => "arabic",
                    Normalizer::Persian => "persian",
                    Normalizer::Devanagari => "devanagari",
                    Normalizer::Greek => "greek",
                    Normalizer::Turkic => "turkic",
                    Normalizer::Hangul => "hangul-bigrams",
                };
                let stemmer = match l.stemming {
                    Stemming::None => "none".to_string(),
                    Stemming::Snowball(algorithm) => format!("snowball-{algorithm:?}").to_lowercase(),
                    Stemming::HindiLight => "hindi-light".to_string(),
                    Stemming::Prefix(n) => format!("prefix-{n}"),
                };
                let settings = AnalyzerSettings {
                    tokenizer: analyzer_name(l.code),
                    normalizer: normalizer.into(),
                    stemmer,
                };
                (l.code.to_string(), settings)
            })
            .collect();
        AnalysisSettings {
            version: ANALYSIS_VERSION,
            segmenter: "icu4x-2-dictionary".into(),
            max_passage_words: MAX_PASSAGE_WORDS,
            min_passage_words: MIN_PASSAGE_WORDS,
            analyzers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_json_field_names_are_stable() {
        let mut m = Manifest::new(PathBuf::from("/corpus"));
        m.files.insert(
            "a.txt".into(),
            FileEntry {
                blake3: "00".into(),
                bytes: 3,
                documents: 1,
                passages: 1,
                languages: [("en".to_string(), 1)].into(),
                modified: None,
            },
        );
        let v = serde_json::to_value(&m).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "analysis",
                "bm25",
                "files",
                "format_version",
                "generation",
                "mlsearch_version",
                "next_key",
                "root",
                "vectors"
            ]
        );
        assert_eq!(
            v["files"]["a.txt"],
            serde_json::json!({"blake3": "00", "bytes": 3, "documents": 1, "passages": 1, "languages": {"en": 1}})
        );
        assert_eq!(v["analysis"]["analyzers"]["de"]["stemmer"], "snowball-german");
        assert_eq!(v["analysis"]["analyzers"]["ko"]["normalizer"], "hangul-bigrams");
        assert_eq!(v["bm25"], serde_json::json!({"k1": 0.9f32, "b": 0.4f32}));
        let back: Manifest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, m);
        // A manifest written before BM25 parameters were recorded reads with the default.
        let mut old = v;
        old.as_object_mut().unwrap().remove("bm25");
        let old: Manifest = serde_json::from_value(old).unwrap();
        assert_eq!(old.bm25, Bm25Params::default());
    }

    #[test]
    fn bm25_parameters_are_checked() {
        assert!(Bm25Params { k1: 0.9, b: 0.4 }.validated().is_ok());
        assert!(Bm25Params { k1: -1.0, b: 0.4 }.validated().is_err());
        assert!(Bm25Params { k1: 0.9, b: 1.5 }.validated().is_err());
        assert!(Bm25Params { k1: f32::NAN, b: 0.4 }.validated().is_err());
    }
}
