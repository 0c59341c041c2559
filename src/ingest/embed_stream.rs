//! Embedding while an `index` run is still reading files: the indexer hands over windows
//! of passages through a bounded channel (one window queued, one being embedded, one
//! being filled: memory stays bounded whatever the corpus size), and a thread of its own
//! embeds them. Raw vectors go to the embedding cache as they come, one file per window
//! named by the window's texts, so a run interrupted at any point finds its finished
//! windows again. Each finished window goes back to the indexer, which reads the windows
//! back one at a time to learn language means and add the centred vectors ([`Window`]) at
//! each commit.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use super::embed_cache::{cache_path, embed_cached, read_complete, CachedEmbedding};
use crate::encoder::TextKind;
use crate::error::Result;
use crate::store::PassageEmbedder;

/// Passages per window: the encoder sorts a window by length and cuts it into batches by
/// tokens, so a window should hold many batches.
pub const WINDOW: usize = 512;
/// Passages embedded between two appends to a window's cache file.
pub const CHUNK: usize = 128;

/// Passages on their way to the encoder.
#[derive(Default)]
pub struct Pending {
    /// The passages' keys in the index.
    pub keys: Vec<u64>,
    /// Their languages.
    pub langs: Vec<String>,
    /// The texts to embed.
    pub texts: Vec<String>,
}

impl Pending {
    /// Passages held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// An embedded window: its keys and languages, its vectors in a cache file.
pub struct Window {
    path: PathBuf,
    /// The passages' keys.
    pub keys: Vec<u64>,
    /// Their languages.
    pub langs: Vec<String>,
}

impl Window {
    /// The window's raw (uncentred) vectors, in key order.
    pub fn vectors(&self, dim: usize) -> Result<Vec<Vec<f32>>> {
        read_complete(&self.path, dim, self.keys.len())
    }
}

/// What the embedding thread reports.
pub enum Embedded {
    /// Passages embedded so far (after each chunk).
    Passages(usize),
    /// A window is embedded whole (windows come in the order they were sent).
    Window(Window),
}

/// Embeds every window that arrives on `windows` into the cache in `dir`, sending the
/// count of passages embedded so far and each finished window on `done`; returns once the
/// sender hangs up, `stop` is set (the window being embedded is finished first), or at the
/// first error.
pub fn embed_windows(
    embedder: &dyn PassageEmbedder,
    dir: &Path,
    windows: Receiver<Pending>,
    done: Sender<Embedded>,
    stop: Option<&AtomicBool>,
) -> Result<()> {
    let embed = |chunk: &[&str]| embedder.embed_passages(chunk);
    let how = CachedEmbedding {
        model: embedder.identity(),
        kind: TextKind::Passage,
        dim: embedder.dim(),
        chunk: CHUNK,
        embed: &embed,
    };
    let mut before = 0;
    for pending in windows {
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            break;
        }
        let texts: Vec<&str> = pending.texts.iter().map(String::as_str).collect();
        embed_cached(&how, &texts, dir, &mut |count, _| {
            let _ = done.send(Embedded::Passages(before + count));
        })?;
        before += texts.len();
        let _ = done.send(Embedded::Passages(before));
        let _ = done.send(Embedded::Window(Window {
            path: cache_path(dir, how.model, how.kind, &texts),
            keys: pending.keys,
            langs: pending.langs,
        }));
    }
    Ok(())
}
