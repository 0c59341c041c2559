//! Vespa: an application package (`app/services.xml`, `app/schemas/passage.sd`: text
//! fields processed in each document's language, `lang` setting it, an HNSW-indexed
//! angular tensor field, rank profiles `bm25`, `semantic` and `hybrid`) and `feed-NNNNN.jsonl`
//! for `vespa feed`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{vector_json, write_file, Chunks, Exported, Overview, Writer};
use crate::error::{Error, Result};

pub(super) struct Vespa {
    dir: PathBuf,
    feed: Chunks,
}

impl Vespa {
    pub(super) fn new(dir: &Path) -> Vespa {
        Vespa {
            dir: dir.to_path_buf(),
            feed: Chunks::new(dir, "feed", "jsonl"),
        }
    }
}

const SERVICES: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<services version="1.0">
  <container id="default" version="1.0">
    <search/>
    <document-api/>
  </container>
  <content id="passages" version="1.0">
    <redundancy>1</redundancy>
    <documents>
      <document type="passage" mode="index"/>
    </documents>
    <nodes>
      <node hostalias="node1" distribution-key="0"/>
    </nodes>
  </content>
</services>
"#;

impl Writer for Vespa {
    fn schema(&mut self, overview: &Overview) -> Result<()> {
        let schemas = self.dir.join("app").join("schemas");
        std::fs::create_dir_all(&schemas).map_err(|e| Error::io(&schemas, e))?;
        write_file(&self.dir.join("app").join("services.xml"), SERVICES)?;
        // `set_language` must run before the fields it applies to: `lang` comes first.
        let mut sd = String::from(
            "schema passage {\n    document passage {\n\
             \x20       field lang type string {\n            indexing: summary | attribute | set_language\n        }\n",
        );
        for (field, kind, indexing) in [
            ("id", "string", "summary | attribute"),
            ("doc", "string", "summary | attribute"),
            ("file", "string", "summary | attribute"),
            ("passage", "int", "summary | attribute"),
            ("page", "int", "summary | attribute"),
            ("title", "string", "summary | index"),
            ("text", "string", "summary | index"),
        ] {
            sd.push_str(&format!(
                "        field {field} type {kind} {{\n            indexing: {indexing}\n"
            ));
            if indexing.ends_with("index") {
                sd.push_str("            index: enable-bm25\n");
            }
            sd.push_str("        }\n");
        }
        let mut profiles = String::from(
            "    fieldset default {\n        fields: title, text\n    }\n\
             \x20   rank-profile bm25 {\n        first-phase {\n            expression: bm25(title) + bm25(text)\n        }\n    }\n",
        );
        if let Some(dim) = overview.dim {
            sd.push_str(&format!(
                "        field embedding type tensor<float>(x[{dim}]) {{\n            indexing: attribute | index\n\
                 \x20           attribute {{\n                distance-metric: angular\n            }}\n\
                 \x20           index {{\n                hnsw {{\n                    max-links-per-node: 16\n                    neighbors-to-explore-at-insert: 200\n                }}\n            }}\n        }}\n"
            ));
            profiles.push_str(&format!(
                "    rank-profile semantic {{\n        inputs {{\n            query(q) tensor<float>(x[{dim}])\n        }}\n\
                 \x20       first-phase {{\n            expression: closeness(field, embedding)\n        }}\n    }}\n\
                 \x20   rank-profile hybrid inherits semantic {{\n        global-phase {{\n\
                 \x20           expression: reciprocal_rank(closeness(field, embedding)) + reciprocal_rank(bm25(text))\n        }}\n    }}\n"
            ));
        }
        sd.push_str("    }\n");
        sd.push_str(&profiles);
        sd.push_str("}\n");
        write_file(&schemas.join("passage.sd"), &sd)?;
        let load = "# Load this export into Vespa (the Vespa CLI, a running Vespa):\n\
                    vespa deploy --wait 300 app\n\
                    for f in feed-*.jsonl; do vespa feed \"$f\"; done\n\
                    # Dense query: vespa query 'yql=select * from passage where {targetHits:10}nearestNeighbor(embedding,q)' \\\n\
                    #   'input.query(q)=[…384 numbers from mlsearch embed --query --index INDEX…]' ranking=semantic\n";
        write_file(&self.dir.join("LOAD.sh"), load)
    }

    fn passage(&mut self, p: &Exported) -> Result<()> {
        let mut fields = Value::Object(p.payload()).to_string();
        if let Some(vector) = &p.vector {
            fields.pop();
            fields.push_str(&format!(",\"embedding\":{{\"values\":{}}}}}", vector_json(vector)));
        }
        let id = json!(format!("id:mlsearch:passage::{}", p.id));
        self.feed.push(&format!("{{\"put\":{id},\"fields\":{fields}}}"))
    }

    fn finish(&mut self) -> Result<()> {
        self.feed.finish()
    }
}
