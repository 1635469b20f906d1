//! The integration tests of reposage-retrieval, one binary.

mod local_embedder;
