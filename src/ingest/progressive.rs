//! Progressive commits: a long `index` run commits as it goes, so the first files of a big
//! folder are searchable while the rest is embedded (issue 29). Each such commit is the
//! store's one atomic commit; it holds the files whose passages are all embedded, their
//! vectors centred with means learnt from everything the run has embedded so far. The
//! run's last commit learns the means from all its vectors and adds them to the index as
//! it was when the run started, as a run that commits once does, so the final index is the
//! same (index-format/vectors.md).

use std::time::{Duration, Instant};

use super::embed_stream::Window;
use super::run_vectors;
use crate::error::Result;
use crate::store::StoreWriter;

/// Default of `--commit-every`: a minute is what a user waits before looking, and what a
/// commit costs (writing the vector file whole, merging the BM25 segments) is small
/// against a minute of embedding until the index is large; [`OVERHEAD`] covers that.
pub const COMMIT_EVERY: Duration = Duration::from_secs(60);

/// A commit comes at least this many times its own duration after the previous one, so
/// commits take at most about a tenth of a run however large the index grows (each one
/// writes the whole vector file and rebuilds the run's part of the graph).
const OVERHEAD: u32 = 10;

/// When the next progressive commit is due.
pub struct CommitClock {
    every: Option<Duration>,
    last: Instant,
    took: Duration,
}

impl CommitClock {
    /// A clock for commits every `every` (`None`: only at the end of the run).
    pub fn new(every: Option<Duration>) -> CommitClock {
        CommitClock {
            every,
            last: Instant::now(),
            took: Duration::ZERO,
        }
    }

    /// Whether a commit is due now.
    pub fn due(&self) -> bool {
        let since = self.last.elapsed();
        self.every
            .is_some_and(|every| since >= every && since >= self.took * OVERHEAD)
    }

    /// Records a commit that started at `started` and has just ended.
    fn committed(&mut self, started: Instant) {
        self.took = started.elapsed();
        self.last = Instant::now();
    }
}

/// Commits what `writer` holds now, with the vectors of the run's first `limit` passages
/// (those of the files handed to the writer; see [`StoreWriter::commit_progress`]).
pub fn commit_so_far(
    writer: &mut StoreWriter,
    windows: &[Window],
    limit: usize,
    dim: usize,
    centre_languages: bool,
    clock: &mut CommitClock,
) -> Result<()> {
    let started = Instant::now();
    let mut added = 0;
    writer.commit_progress(centre_languages, &mut run_vectors(windows, limit, dim, &mut added))?;
    clock.committed(started);
    Ok(())
}
