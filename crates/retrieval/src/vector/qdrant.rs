//! Qdrant vector store with qdrant-client (being written).
