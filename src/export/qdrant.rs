//! Qdrant: `collection.json` (a cosine vector of the index's size), `payload-index.json`
//! (a keyword index on `lang` for the language filter) and `points-NNNNN.json`, each the
//! body of one upsert (`PUT /collections/{name}/points`). Point ids are UUIDs derived from
//! the passage ids (BLAKE3, version 8), so exporting again updates the same points.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{vector_json, write_file, Chunks, Exported, Overview, Writer};
use crate::error::Result;

pub(super) struct Qdrant {
    dir: PathBuf,
    points: Chunks,
}

impl Qdrant {
    pub(super) fn new(dir: &Path) -> Qdrant {
        Qdrant {
            dir: dir.to_path_buf(),
            points: Chunks::new(dir, "points", "json").wrapped("{\"points\":[\n", "\n]}\n"),
        }
    }
}

/// The point id of a passage id: the first 16 bytes of BLAKE3("mlsearch passage " + id)
/// as a UUID of version 8 (custom) and the RFC 9562 variant.
pub fn point_id(passage_id: &str) -> String {
    let hash = blake3::hash(format!("mlsearch passage {passage_id}").as_bytes());
    let mut b: [u8; 16] = hash.as_bytes()[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0F) | 0x80;
    b[8] = (b[8] & 0x3F) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl Writer for Qdrant {
    fn schema(&mut self, overview: &Overview) -> Result<()> {
        let collection = match overview.dim {
            Some(dim) => json!({"vectors": {"size": dim, "distance": "Cosine"}}),
            None => json!({"vectors": {}}),
        };
        write_file(
            &self.dir.join("collection.json"),
            &serde_json::to_string_pretty(&collection).expect("JSON"),
        )?;
        write_file(
            &self.dir.join("payload-index.json"),
            &json!({"field_name": "lang", "field_schema": "keyword"}).to_string(),
        )?;
        let name = &overview.name;
        let load = format!(
            "# Load this export into Qdrant (REST API on port 6333):\n\
             curl -X PUT \"localhost:6333/collections/{name}\" -H 'Content-Type: application/json' --data-binary @collection.json\n\
             curl -X PUT \"localhost:6333/collections/{name}/index\" -H 'Content-Type: application/json' --data-binary @payload-index.json\n\
             for f in points-*.json; do\n  curl -X PUT \"localhost:6333/collections/{name}/points?wait=true\" -H 'Content-Type: application/json' --data-binary @\"$f\"\ndone\n"
        );
        write_file(&self.dir.join("LOAD.sh"), &load)
    }

    fn passage(&mut self, p: &Exported) -> Result<()> {
        let payload = Value::Object(p.payload()).to_string();
        let vector = p.vector.as_deref().map(vector_json).unwrap_or_else(|| "{}".into());
        let id = point_id(&p.id);
        self.points.push(&format!(
            "{{\"id\":\"{id}\",\"vector\":{vector},\"payload\":{payload}}}"
        ))
    }

    fn finish(&mut self) -> Result<()> {
        self.points.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_ids_are_stable_uuids() {
        let id = point_id("notes/a.md#0");
        assert_eq!(id, point_id("notes/a.md#0"));
        assert_ne!(id, point_id("notes/a.md#1"));
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('8'));
        assert!("89ab".contains(&parts[3][..1]));
    }
}
