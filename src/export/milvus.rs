//! Milvus: `schema.json` (the collection's fields, for `MilvusClient.create_collection`,
//! and its HNSW cosine index) and `rows-NNNNN.json`, each a JSON array of rows for
//! `MilvusClient.insert` (and Milvus's JSON bulk import). `scripts/milvus_check.py` loads
//! them into Milvus Lite.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{vector_json, write_file, Chunks, Exported, Overview, Writer};
use crate::error::Result;

/// Milvus VARCHAR fields need a maximum length (bytes).
const MAX_TEXT: usize = 65_535;
const MAX_ID: usize = 2_048;

/// Loads the export with pymilvus (`pip install pymilvus milvus-lite`; set MILVUS_URI for
/// a server instead of a Milvus Lite file).
const LOAD: &str = r#"#!/bin/sh
# Load this export into Milvus: MILVUS_URI=http://localhost:19530 sh LOAD.sh (default: a Milvus Lite file)
cd "$(dirname "$0")" && python3 - <<'PY'
import glob, json, os
from pymilvus import DataType, MilvusClient
schema = json.load(open("schema.json"))
client = MilvusClient(os.environ.get("MILVUS_URI", "mlsearch.db"))
name = schema["collection_name"]
fields = client.create_schema(auto_id=False)
for f in schema["fields"]:
    kind = getattr(DataType, f["type"])
    extra = {k: f[k] for k in ("max_length", "dim", "is_primary", "nullable") if k in f}
    fields.add_field(f["name"], kind, **extra)
index = client.prepare_index_params()
if schema["index"]:
    i = schema["index"]
    index.add_index(i["field_name"], index_type=i["index_type"], metric_type=i["metric_type"], params=i["params"])
client.create_collection(name, schema=fields, index_params=index)
for path in sorted(glob.glob("rows-*.json")):
    client.insert(name, json.load(open(path)))
print(client.get_collection_stats(name))
PY
"#;

pub(super) struct Milvus {
    dir: PathBuf,
    rows: Chunks,
}

impl Milvus {
    pub(super) fn new(dir: &Path) -> Milvus {
        Milvus {
            dir: dir.to_path_buf(),
            rows: Chunks::new(dir, "rows", "json").wrapped("[\n", "\n]\n"),
        }
    }
}

impl Writer for Milvus {
    fn schema(&mut self, overview: &Overview) -> Result<()> {
        let varchar = |name: &str, max: usize| json!({"name": name, "type": "VARCHAR", "max_length": max});
        let mut fields = vec![
            json!({"name": "id", "type": "VARCHAR", "max_length": MAX_ID, "is_primary": true}),
            varchar("doc", MAX_ID),
            json!({"name": "passage", "type": "INT64"}),
            varchar("lang", 16),
            varchar("title", MAX_TEXT),
            varchar("text", MAX_TEXT),
            varchar("file", MAX_ID),
            json!({"name": "page", "type": "INT64", "nullable": true}),
        ];
        let mut index = Value::Null;
        if let Some(dim) = overview.dim {
            fields.push(json!({"name": "vector", "type": "FLOAT_VECTOR", "dim": dim}));
            index = json!({"field_name": "vector", "index_type": "HNSW", "metric_type": "COSINE",
                           "params": {"M": 16, "efConstruction": 200}});
        }
        let schema = json!({"collection_name": overview.name, "fields": fields, "index": index});
        write_file(
            &self.dir.join("schema.json"),
            &serde_json::to_string_pretty(&schema).expect("JSON"),
        )?;
        write_file(&self.dir.join("LOAD.sh"), LOAD)
    }

    fn passage(&mut self, p: &Exported) -> Result<()> {
        let mut row = p.payload();
        // Milvus limits VARCHAR by bytes: cut at a character boundary.
        for field in ["title", "text"] {
            if let Some(Value::String(s)) = row.get_mut(field) {
                if s.len() > MAX_TEXT {
                    let mut end = MAX_TEXT;
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    s.truncate(end);
                }
            }
        }
        row.entry("page").or_insert(Value::Null);
        let mut line = Value::Object(row).to_string();
        if let Some(vector) = &p.vector {
            line.pop();
            line.push_str(&format!(",\"vector\":{}}}", vector_json(vector)));
        }
        self.rows.push(&line)
    }

    fn finish(&mut self) -> Result<()> {
        self.rows.finish()
    }
}
