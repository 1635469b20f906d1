//! The integration tests of reposage-retrieval, one binary.

mod local_embedder;
mod openai_embedder;
mod qdrant;
