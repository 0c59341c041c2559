//! `mlsearch train`: preparing records from an NTREX-layout fixture, batch statistics, and a
//! short real training run of the tiny model that is saved, used, and resumed.

use std::process::{Command, Stdio};

use crate::util::{fixture, mlsearch_in, tiny_model, Run, Workspace};

fn run(ws: &Workspace, args: &[&str]) -> Run {
    mlsearch_in(ws.path(), args).into()
}

fn prepared(ws: &Workspace) -> (String, String) {
    let data = ws.path().join("data");
    let out = run(
        ws,
        &[
            "train",
            "prepare",
            "ntrex",
            "--data",
            fixture("news-layout").to_str().unwrap(),
            "--out",
            data.to_str().unwrap(),
            "--valid-every",
            "3",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    // eng-GB kept, eng-US skipped as a variant, Greek left out by default.
    assert!(
        out.stdout
            .contains("3 languages; train 24 records in 8 groups, valid 9 records in 3 groups"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("eng-US") && out.stderr.contains("ell: excluded"),
        "{out:?}"
    );
    let train = data.join("train.jsonl").to_string_lossy().into_owned();
    let valid = data.join("valid.jsonl").to_string_lossy().into_owned();
    (train, valid)
}

#[test]
fn dry_run_reports_the_batch_composition_of_each_sampling() {
    let ws = Workspace::new();
    let (train, _) = prepared(&ws);
    let stats = |sampling: &str| -> serde_json::Value {
        let out = run(
            &ws,
            &[
                "train",
                "--train",
                &train,
                "--dry-run",
                "--sampling",
                sampling,
                "--batch-size",
                "4",
                "--dry-run-batches",
                "200",
            ],
        );
        assert_eq!(out.code, 0, "{out:?}");
        serde_json::from_str(out.stdout.lines().nth(1).unwrap()).unwrap()
    };
    let xx = stats("xx");
    assert_eq!(xx["monolingual"], 200);
    assert_eq!(xx["same_language_pairs"], xx["pairs"]);
    let xy = stats("xy");
    assert_eq!(
        (xy["monolingual"].as_u64(), xy["same_language_pairs"].as_u64()),
        (Some(0), Some(0))
    );
    let hybrid = stats("hybrid");
    let share = hybrid["monolingual"].as_f64().unwrap() / 200.0;
    assert!((0.35..0.65).contains(&share), "{hybrid}");
    // Two documents of 4 sentences: a batch takes one pair per document, at most... 4 groups
    // from 2 training documents cannot all differ in document, so batches are smaller.
    assert!(
        xx["duplicate_groups"] == 0 && xx["mean_pairs"].as_f64().unwrap() <= 2.0,
        "{xx}"
    );
}

fn embed(model: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args(["embed", "--model", model])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"the ferry\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn training_saves_a_usable_model_and_resumes() {
    let ws = Workspace::new();
    // The fixture's held-out part is one document, too little for a validation batch (a
    // batch takes one pair per document): validate on the training records here.
    let (train, _) = prepared(&ws);
    let valid = train.clone();
    let tiny = tiny_model().to_string_lossy().into_owned();
    let model = ws.path().join("trained.gguf").to_string_lossy().into_owned();
    let args = |steps: &str| {
        vec![
            "train".to_string(),
            "--train".into(),
            train.clone(),
            "--valid".into(),
            valid.clone(),
            "--model".into(),
            tiny.clone(),
            "--batch-size".into(),
            "2".into(),
            "--steps".into(),
            steps.into(),
            "--lr".into(),
            "1e-3".into(),
            "--warmup".into(),
            "1".into(),
            "--validate-every".into(),
            "2".into(),
            "--checkpoint-every".into(),
            "2".into(),
            "--patience".into(),
            "0".into(),
            "-o".into(),
            model.clone(),
        ]
    };
    let first: Vec<String> = args("4");
    let out = run(&ws, &first.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("after step 4"), "{out:?}");
    assert!(out.stderr.contains("validation loss"), "{out:?}");
    // The trained model loads and embeds, and differs from where it started.
    assert_ne!(embed(&model), embed(&tiny));
    // Resume: the checkpoint holds step 4; six steps in all means two more.
    let mut resumed = args("6");
    resumed.push("--resume".into());
    let out = run(&ws, &resumed.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("step 5/6") && !out.stderr.contains("step 1/6"),
        "{out:?}"
    );
    assert!(out.stdout.contains("after step 6"), "{out:?}");
}

#[test]
fn training_without_records_is_a_clear_error() {
    let ws = Workspace::new();
    let out = run(&ws, &["train", "-o", "x.gguf"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--train FILE is required"), "{out:?}");
    std::fs::write(ws.path().join("bad.jsonl"), "{\"id\": 1}\n").unwrap();
    let out = run(&ws, &["train", "--train", "bad.jsonl", "--dry-run"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("bad.jsonl:1"), "{out:?}");
}
