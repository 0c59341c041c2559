//! `mlsearch export`: each engine's files in its documented layout, and vectors that rank
//! as `mlsearch query --mode dense` does when queries come from `mlsearch embed --query
//! --index`.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::util::Workspace;

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn export(ws: &Workspace, format: &str) -> std::path::PathBuf {
    let out = ws.path().join(format!("export-{format}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&out);
    let run = ws.run(&["export", "--format", format, "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("exported "), "{run:?}");
    out
}

fn assert_unit_vector(v: &Value, what: &str) {
    let v: Vec<f64> = v
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no vector"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(v.len(), 384, "{what}");
    let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 0.01, "{what}: norm {norm}");
}

#[test]
fn each_engine_gets_its_documented_layout_and_the_vectors_rank_alike() {
    let Some(ws) = crate::dense::indexed() else { return };
    let info = ws.run(&["info", "--json"]);
    let info: Value = serde_json::from_str(&info.stdout).unwrap();
    let passages = info["passages"].as_u64().unwrap() as usize;
    let languages: Vec<String> = info["languages"].as_object().unwrap().keys().cloned().collect();
    assert!(languages.contains(&"de".to_string()) && languages.contains(&"zh".to_string()));

    // OpenSearch and Elasticsearch: index.json and _bulk NDJSON (action line, source line).
    for format in ["opensearch", "elasticsearch"] {
        let out = export(ws, format);
        let index = json(&out.join("index.json"));
        let properties = &index["mappings"]["properties"];
        if format == "opensearch" {
            assert_eq!(index["settings"]["index.knn"], true);
            assert_eq!(properties["vector"]["type"], "knn_vector");
            assert_eq!(properties["vector"]["dimension"], 384);
            assert_eq!(properties["vector"]["method"]["space_type"], "cosinesimil");
        } else {
            assert_eq!(properties["vector"]["type"], "dense_vector");
            assert_eq!(properties["vector"]["dims"], 384);
            assert_eq!(properties["vector"]["similarity"], "cosine");
        }
        assert_eq!(properties["text_de"]["analyzer"], "german");
        assert_eq!(properties["text_zh"]["analyzer"], "smartcn");
        for lang in &languages {
            assert!(
                properties[format!("text_{lang}")]["analyzer"].is_string(),
                "{format}: text_{lang}"
            );
        }
        let load = fs::read_to_string(out.join("LOAD.sh")).unwrap();
        assert!(load.contains("analysis-smartcn") && load.contains("_bulk"), "{load}");
        let bulk = fs::read_to_string(out.join("bulk-00000.ndjson")).unwrap();
        let lines: Vec<Value> = bulk.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2 * passages);
        let mut ids = HashSet::new();
        for pair in lines.chunks(2) {
            let id = pair[0]["index"]["_id"].as_str().unwrap();
            assert_eq!(pair[0]["index"]["_index"], "mlsearch");
            assert!(ids.insert(id.to_string()), "{id} twice");
            let source = &pair[1];
            assert_eq!(source["id"], id);
            let lang = source["lang"].as_str().unwrap();
            assert_eq!(source[format!("text_{lang}")], source["text"], "{id}");
            assert_unit_vector(&source["vector"], id);
        }
    }

    // Vespa: an application package and a feed of put operations.
    let out = export(ws, "vespa");
    let sd = fs::read_to_string(out.join("app/schemas/passage.sd")).unwrap();
    assert!(
        sd.contains("schema passage {") && sd.contains("tensor<float>(x[384])") && sd.contains("set_language"),
        "{sd}"
    );
    assert!(
        sd.find("set_language").unwrap() < sd.find("field text ").unwrap(),
        "lang must come before text"
    );
    assert!(fs::read_to_string(out.join("app/services.xml"))
        .unwrap()
        .contains("<document type=\"passage\""));
    let feed = fs::read_to_string(out.join("feed-00000.jsonl")).unwrap();
    assert_eq!(feed.lines().count(), passages);
    for line in feed.lines() {
        let put: Value = serde_json::from_str(line).unwrap();
        assert!(put["put"].as_str().unwrap().starts_with("id:mlsearch:passage::"));
        assert_unit_vector(&put["fields"]["embedding"]["values"], line);
    }

    // Qdrant: the collection, a payload index, upsert bodies with UUID point ids.
    let out = export(ws, "qdrant");
    let collection = json(&out.join("collection.json"));
    assert_eq!(collection["vectors"]["size"], 384);
    assert_eq!(collection["vectors"]["distance"], "Cosine");
    assert_eq!(json(&out.join("payload-index.json"))["field_name"], "lang");
    let points = json(&out.join("points-00000.json"))["points"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(points.len(), passages);
    let ids: HashSet<&str> = points.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), passages);
    assert!(ids.iter().all(|id| id.len() == 36 && id.matches('-').count() == 4));

    // Milvus: the schema and arrays of rows.
    let out = export(ws, "milvus");
    let schema = json(&out.join("schema.json"));
    let fields = schema["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["name"] == "id" && f["is_primary"] == true));
    assert!(fields
        .iter()
        .any(|f| f["name"] == "vector" && f["type"] == "FLOAT_VECTOR" && f["dim"] == 384));
    assert_eq!(schema["index"]["metric_type"], "COSINE");
    let rows = json(&out.join("rows-00000.json"));
    assert_eq!(rows.as_array().unwrap().len(), passages);

    // The exported vectors, searched exactly with `embed --query --index` vectors, give
    // the top hits `query --mode dense` gives.
    let by_id: Vec<(String, Vec<f64>)> = points
        .iter()
        .map(|p| {
            let v = p["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            (p["payload"]["id"].as_str().unwrap().to_string(), v)
        })
        .collect();
    let queries = [
        "Wie backt man Brot im Holzofen?",
        "where do otters sleep",
        "北京的天气怎么样",
    ];
    let index = ws.index();
    let embedded = std::process::Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args(["embed", "--query", "--index", index.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(queries.join("\n").as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(embedded.status.success());
    let vectors: Vec<Vec<f64>> = String::from_utf8(embedded.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut overlap = 0;
    for (query, q) in queries.iter().zip(&vectors) {
        let mut scored: Vec<(f64, &str)> = by_id
            .iter()
            .map(|(id, v)| (v.iter().zip(q).map(|(a, b)| a * b).sum(), id.as_str()))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let exported: HashSet<&str> = scored.iter().take(5).map(|(_, id)| *id).collect();
        let hits = ws.hits(&["--mode", "dense", "-k", "5", query]);
        let found: HashSet<String> = hits
            .iter()
            .map(|h| format!("{}#{}", h["doc"].as_str().unwrap(), h["passage"]))
            .collect();
        overlap += found.iter().filter(|id| exported.contains(id.as_str())).count();
    }
    assert!(overlap >= 14, "top-5 overlap {overlap} of 15");
}
