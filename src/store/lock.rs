//! The writer lock: at most one process writes an index. `index` takes it before it
//! touches anything on disk (before a fresh or `--rebuild` run clears `bm25/`), holds it
//! to the end of its last commit, and the operating system releases it when the process
//! ends, however it ends (so a killed run leaves no stale lock). Readers take no lock.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file's name inside the index folder.
pub const LOCK_FILE: &str = "writer.lock";

/// The held lock (released when dropped).
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the lock of the index in `dir` (creating the folder), or fails with
    /// [`Error::Locked`] at once when another process holds it.
    pub fn acquire(dir: &Path) -> Result<WriterLock> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(Error::Locked {
                    path: path.clone(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        // Who holds it, for the message another run prints (the lock itself is the
        // kernel's, not this text).
        let _ = file
            .set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| write!(file, "pid {}", std::process::id()))
            .and_then(|_| file.flush());
        Ok(WriterLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("idx");
        let first = WriterLock::acquire(&index).unwrap();
        // A second open file description conflicts even within one process.
        match WriterLock::acquire(&index) {
            Err(Error::Locked { path, holder }) => {
                assert_eq!(path, index.join(LOCK_FILE));
                assert_eq!(holder, format!("pid {}", std::process::id()));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        WriterLock::acquire(&index).unwrap();
    }
}
