//! Embedded vector store: vectors in Postgres, exact search in process (being written).
