//! OpenSearch and Elasticsearch: `index.json` (settings and mappings: one text field per
//! language, `text_<code>`, with that engine's analyzer for the language, and a cosine
//! vector field) and `bulk-NNNNN.ndjson` files for the `_bulk` API.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{vector_json, write_file, Chunks, Exported, Overview, Target, Writer};
use crate::error::Result;

pub(super) struct Elastic {
    dir: PathBuf,
    target: Target,
    name: String,
    bulk: Chunks,
}

impl Elastic {
    pub(super) fn new(dir: &Path, target: Target, name: &str) -> Elastic {
        Elastic {
            dir: dir.to_path_buf(),
            target,
            name: name.to_string(),
            bulk: Chunks::new(dir, "bulk", "ndjson"),
        }
    }
}

/// The analyzer both engines have for a language: their built-in language analyzers, the
/// CJK / Korean / Japanese plugins (`analysis-smartcn`, `analysis-kuromoji`,
/// `analysis-nori`), else ICU (`analysis-icu`) for any other script; `standard` for text
/// of no known language.
pub fn analyzer(lang: &str) -> &'static str {
    match lang {
        "ar" => "arabic",
        "hy" => "armenian",
        "eu" => "basque",
        "bn" => "bengali",
        "bg" => "bulgarian",
        "ca" => "catalan",
        "cs" => "czech",
        "da" => "danish",
        "nl" => "dutch",
        "en" => "english",
        "et" => "estonian",
        "fi" => "finnish",
        "fr" => "french",
        "gl" => "galician",
        "de" => "german",
        "el" => "greek",
        "hi" => "hindi",
        "hu" => "hungarian",
        "id" => "indonesian",
        "ga" => "irish",
        "it" => "italian",
        "lv" => "latvian",
        "lt" => "lithuanian",
        "no" | "nb" | "nn" => "norwegian",
        "fa" => "persian",
        "pt" => "portuguese",
        "ro" => "romanian",
        "ru" => "russian",
        "sr" => "serbian",
        "ckb" => "sorani",
        "es" => "spanish",
        "sv" => "swedish",
        "tr" => "turkish",
        "th" => "thai",
        "zh" => "smartcn",
        "ja" => "kuromoji",
        "ko" => "nori",
        "und" => "standard",
        _ => "icu_analyzer",
    }
}

/// The plugins an analyzer needs (`bin/elasticsearch-plugin install …`).
fn plugin(analyzer: &str) -> Option<&'static str> {
    match analyzer {
        "smartcn" => Some("analysis-smartcn"),
        "kuromoji" => Some("analysis-kuromoji"),
        "nori" => Some("analysis-nori"),
        "icu_analyzer" => Some("analysis-icu"),
        _ => None,
    }
}

impl Writer for Elastic {
    fn schema(&mut self, overview: &Overview) -> Result<()> {
        let keyword = json!({"type": "keyword"});
        let mut properties = serde_json::Map::new();
        for field in ["id", "doc", "lang", "file"] {
            properties.insert(field.into(), keyword.clone());
        }
        properties.insert("passage".into(), json!({"type": "integer"}));
        properties.insert("page".into(), json!({"type": "integer"}));
        properties.insert("title".into(), json!({"type": "text"}));
        properties.insert("text".into(), json!({"type": "text", "index": false}));
        let mut plugins = Vec::new();
        for lang in overview.languages.keys() {
            let analyzer = analyzer(lang);
            plugins.extend(plugin(analyzer));
            properties.insert(format!("text_{lang}"), json!({"type": "text", "analyzer": analyzer}));
        }
        plugins.sort();
        plugins.dedup();
        let mut settings = json!({"number_of_shards": 1});
        if let Some(dim) = overview.dim {
            let vector = match self.target {
                Target::OpenSearch => {
                    settings["index.knn"] = json!(true);
                    json!({"type": "knn_vector", "dimension": dim,
                           "method": {"name": "hnsw", "space_type": "cosinesimil", "engine": "lucene"}})
                }
                _ => json!({"type": "dense_vector", "dims": dim, "index": true, "similarity": "cosine"}),
            };
            properties.insert("vector".into(), vector);
        }
        let index = json!({"settings": settings, "mappings": {"properties": Value::Object(properties)}});
        write_file(
            &self.dir.join("index.json"),
            &serde_json::to_string_pretty(&index).expect("JSON"),
        )?;
        let engine = if self.target == Target::OpenSearch {
            "opensearch"
        } else {
            "elasticsearch"
        };
        let name = &self.name;
        let install: String = plugins
            .iter()
            .map(|p| format!("bin/{engine}-plugin install {p}\n"))
            .collect();
        let load = format!(
            "# Load this export into {engine} (plugins first, on every node, then restart):\n{install}\
             curl -X PUT \"localhost:9200/{name}\" -H 'Content-Type: application/json' --data-binary @index.json\n\
             for f in bulk-*.ndjson; do\n  curl -X POST \"localhost:9200/_bulk\" -H 'Content-Type: application/x-ndjson' --data-binary @\"$f\"\ndone\n"
        );
        write_file(&self.dir.join("LOAD.sh"), &load)
    }

    fn passage(&mut self, p: &Exported) -> Result<()> {
        let mut fields = p.payload();
        fields.insert(format!("text_{}", p.stored.lang), json!(p.stored.text));
        let action = json!({"index": {"_index": self.name, "_id": p.id}});
        let mut document = serde_json::to_string(&Value::Object(fields)).expect("JSON");
        if let Some(vector) = &p.vector {
            document.pop();
            document.push_str(&format!(",\"vector\":{}}}", vector_json(vector)));
        }
        self.bulk.push(&format!("{action}\n{document}"))
    }

    fn finish(&mut self) -> Result<()> {
        self.bulk.finish()
    }
}
