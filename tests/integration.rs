//! Integration tests: they drive the built `mlsearch` binary on the fixture corpus
//! (`fixtures/corpus`, written for these tests) and on folders made in temp dirs.

mod bad_input;
mod bench;
mod bm25_stats;
mod dense;
mod encoder;
mod export;
mod formats;
mod frozen_index;
mod incremental;
mod long_runs;
mod mutation;
mod query;
mod safety;
mod server;
mod shard;
mod train;
mod util;
mod watch;
