//! mlsearch: an embedded multilingual search engine.
//!
//! Data flows one way through the modules, each using only those before it:
//!
//! ```text
//! corpus → analysis, encoder → ingest → store → search → bench, train
//! (files,   (languages,         (walk,    (the on-disk  (BM25, dense,
//!  passages) analyzers;          read,     format and    hybrid)
//!            vectors)            embed)    its writer)
//! ```
//!
//! ```no_run
//! use mlsearch::search::{SearchOptions, Searcher};
//! use mlsearch::ingest::{index_folder, IndexOptions};
//! # fn main() -> mlsearch::Result<()> {
//! let index = std::path::Path::new("/tmp/my-index");
//! index_folder("corpus".as_ref(), index, &IndexOptions::default(), &mut |_| {})?;
//! let results = Searcher::open(index)?.search("Wo liegt Berlin?", &SearchOptions::default())?;
//! for hit in results.hits {
//!     println!("{} {} {:.2} {}", hit.doc, hit.lang, hit.score, hit.snippet);
//! }
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod bench;
pub mod corpus;
pub mod encoder;
pub mod error;
pub mod ingest;
pub mod search;
pub mod store;
pub mod train;

pub use error::{Error, Result};
