//! `mlsearch embed --corpus --shard I/N --out`: shards that split a corpus without overlap,
//! a resumed run after a cut-off line, and `export --embeddings` of the shard files.

use std::collections::HashSet;
use std::fs;

use serde_json::Value;

use crate::util::builtin_available;
use crate::util::Workspace;

#[test]
fn shards_cover_a_corpus_once_resume_and_export() {
    if !builtin_available() {
        return;
    }
    let ws = Workspace::with_vectors();
    let corpus = ws.path().join("corpus.jsonl");
    let mut lines = Vec::new();
    let texts = [
        (
            "en",
            "The harbour master logs every ship that enters the bay before dawn.",
        ),
        (
            "de",
            "Der Hafenmeister notiert jedes Schiff, das vor Sonnenaufgang in die Bucht einläuft.",
        ),
        (
            "fr",
            "Le capitaine du port note chaque navire qui entre dans la baie avant l'aube.",
        ),
    ];
    for i in 0..90 {
        let (lang, text) = texts[i % 3];
        lines.push(serde_json::json!({"id": format!("{lang}-{i}"), "title": "", "text": format!("{text} Record {i}."), "lang": lang}).to_string());
    }
    lines.push("{broken".to_string());
    fs::write(&corpus, lines.join("\n")).unwrap();
    let out = ws.path().join("shards");
    let embed = |shard: &str| {
        let run = ws.run(&[
            "embed",
            "--corpus",
            corpus.to_str().unwrap(),
            "--shard",
            shard,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        run
    };
    for shard in ["0/3", "1/3", "2/3"] {
        let run = embed(shard);
        assert!(run.stdout.contains("1 bad lines"), "{run:?}");
    }
    let read = |name: &str| -> Vec<Value> {
        fs::read_to_string(out.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let mut ids = HashSet::new();
    for i in 0..3 {
        for passage in read(&format!("shard-{i}-of-3.jsonl")) {
            assert!(
                ids.insert(passage["id"].as_str().unwrap().to_string()),
                "{passage} in two shards"
            );
            assert_eq!(passage["vector"].as_array().unwrap().len(), 384);
        }
    }
    assert_eq!(ids.len(), 90);

    // An interrupted write: the half line is cut off and its passage embedded again.
    let path = out.join("shard-1-of-3.jsonl");
    let whole = fs::read(&path).unwrap();
    let before = read("shard-1-of-3.jsonl").len();
    fs::write(&path, &whole[..whole.len() - 500]).unwrap();
    let run = embed("1/3");
    assert!(
        run.stdout
            .contains(&format!("1 passages embedded ({} already in the file)", before - 1)),
        "{run:?}"
    );
    assert_eq!(read("shard-1-of-3.jsonl").len(), before);
    assert!(
        ws.run(&[
            "embed",
            "--corpus",
            corpus.to_str().unwrap(),
            "--shard",
            "3/3",
            "--out",
            "x"
        ])
        .code
            != 0
    );

    // Export of the shard files: vectors centred with means over all shards.
    let export = ws.path().join("export");
    let run = ws.run(&[
        "export",
        "--embeddings",
        out.to_str().unwrap(),
        "--format",
        "qdrant",
        "--out",
        export.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let points: Value = serde_json::from_str(&fs::read_to_string(export.join("points-00000.json")).unwrap()).unwrap();
    assert_eq!(points["points"].as_array().unwrap().len(), 90);
    let means: Value = serde_json::from_str(&fs::read_to_string(export.join("means.json")).unwrap()).unwrap();
    assert_eq!(
        means.as_object().unwrap().len(),
        3,
        "30 passages a language: all have means"
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args([
            "embed",
            "--query",
            "--means",
            export.join("means.json").to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"Who logs the ships?\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let vector: Vec<f64> = serde_json::from_slice(&output.stdout).unwrap();
    assert!((vector.iter().map(|x| x * x).sum::<f64>().sqrt() - 1.0).abs() < 1e-3);
}
