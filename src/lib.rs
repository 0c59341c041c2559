//! mlsearch: an embedded multilingual search engine.
//!
//! Data flows one way through the modules, each using only those before it:
//!
//! ```text
//! corpus → analysis, encoder → ingest → store → search → engine → server, mcp, bench, train
//! (files,   (languages,         (walk,    (the on-disk  (BM25,   (index +
//!  passages) analyzers;          read,     format and    dense,   encoder,
//!            vectors)            embed)    its writer)   hybrid)  documents)
//! ```
//!
//! [`engine::Engine`] is the API for programs: open an index with its encoder once,
//! search it, add and remove documents. Indexing a folder is [`ingest::index_folder`].
//!
//! ```
//! use mlsearch::engine::{Engine, EngineOptions};
//! use mlsearch::ingest::{index_folder, IndexOptions};
//! use mlsearch::search::SearchOptions;
//! # fn main() -> mlsearch::Result<()> {
//! let corpus = tempfile::tempdir().unwrap();
//! std::fs::write(corpus.path().join("brot.txt"), "Der Bäcker knetet den Teig am frühen Morgen.").unwrap();
//! std::fs::write(corpus.path().join("bread.txt"), "The baker kneads the dough early in the morning.").unwrap();
//! let index = corpus.path().join(".mlsearch");
//! index_folder(corpus.path(), &index, &IndexOptions::default(), &mut |_| {})?; // BM25 only
//!
//! let engine = Engine::open(&index, &EngineOptions::default())?;
//! let results = engine.search("Bäcker Teig", &SearchOptions::default())?;
//! assert_eq!(results.hits[0].doc, "brot.txt");
//!
//! // Documents from code: JSON records as in a JSONL file, committed under the index's lock.
//! let mut writer = engine.writer()?;
//! writer.add_record(&serde_json::json!({"id": "note-1", "text": "Le boulanger pétrit la pâte.", "lang": "fr"}))?;
//! writer.commit()?;
//! let results = engine.search("boulanger", &SearchOptions::default())?;
//! assert_eq!(results.hits[0].doc, "note-1");
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod bench;
pub mod corpus;
pub mod encoder;
pub mod engine;
pub mod error;
pub mod export;
pub mod ingest;
#[cfg(feature = "server")]
pub mod mcp;
pub mod search;
#[cfg(feature = "server")]
pub mod server;
pub mod store;
pub mod train;

pub use error::{Error, Result};
