//! Retrieval for RepoSage: turning chunks into vectors and queries into ranked hits.
//!
//! - [`embed`]: the [`Embedder`] trait and its backends — all-MiniLM-L6-v2 run in process with candle
//!   (the default, no API key) and any OpenAI-compatible `/v1/embeddings` endpoint.
//! - [`vector`]: the [`VectorStore`] trait and its backends — embedded (vectors kept in Postgres,
//!   exact search in process) and Qdrant.
//! - [`lexical`]: the code-aware token stream behind Postgres full-text search.
//! - [`query`]: the search query language (words, `"phrases"`, `/regexes/`, `repo:` `lang:` `path:`
//!   `sym:` `kind:` filters).
//! - [`search`]: lexical, semantic and hybrid search (reciprocal rank [`fusion`]), hits explained.
//! - [`secrets`]: the rule set that redacts keys and tokens before anything is stored or embedded.
//! - [`connect`]: [`RetrievalSettings`] (which embedder and vector store) resolved into a
//!   [`Retrieval`].
//!
//! Nothing here reads the environment or prints: the binaries resolve configuration and pass it in.

#![warn(missing_docs)]

pub mod embed;
mod error;
pub mod fusion;
pub mod lexical;
pub mod query;
pub mod search;
pub mod secrets;
mod settings;
pub mod vector;

pub use embed::{Embedder, ModelInfo};
pub use error::{Error, Result};
pub use search::{SearchHit, SearchMode, SearchParams, SearchRequest, SearchResults, Searcher};
pub use settings::{
    DEFAULT_BATCH_SIZE, EmbedderSettings, Retrieval, RetrievalSettings, Secret, VectorStoreSettings, connect,
};
pub use vector::{PointPayload, VectorFilter, VectorHit, VectorPoint, VectorStore};
