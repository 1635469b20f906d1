/// Errors of retrieval.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The local embedding model could not be found or loaded.
    #[error("embedding model: {0}")]
    Model(String),
    /// Running the local model failed.
    #[error("embedding inference failed")]
    Inference {
        /// candle's error.
        #[source]
        source: candle_core::Error,
    },
    /// Tokenizing a text failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The embedding API refused the credentials (HTTP 401/403).
    #[error("the embedding API refused the credentials (HTTP {status}): check the API key")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
    },
    /// The embedding API failed after the allowed retries, or answered something unusable.
    #[error("embedding API: {0}")]
    Api(String),
    /// An answer had vectors of another size than the model's.
    #[error("expected {expected}-dimensional vectors, got {actual}")]
    Dimension {
        /// The model's dimension.
        expected: usize,
        /// What came back.
        actual: usize,
    },
    /// The Qdrant server failed a request.
    #[error("qdrant: {0}")]
    Qdrant(String),
    /// A search request was invalid (bad regex, unknown filter, …); the message is for the user.
    #[error("{0}")]
    InvalidQuery(String),
    /// A semantic search was asked of a searcher without an embedding model.
    #[error("semantic search is not configured on this server (no embedding model): use lexical or hybrid")]
    SemanticNotConfigured,
    /// The retrieval configuration is incomplete or unusable (no model folder, no Qdrant URL, an
    /// unreadable key file); the message says what to set.
    #[error("{0}")]
    Config(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] reposage_store::Error),
}

impl Error {
    /// True for failures of the semantic half of a search — the embedding model, the embedding API,
    /// the vector store — which a hybrid search survives by answering with its lexical half. False
    /// for the caller's mistakes, configuration and the database, which lexical search needs too.
    /// Every variant decides here, so a new one cannot fall back by accident.
    pub fn allows_lexical_fallback(&self) -> bool {
        match self {
            Error::Model(_)
            | Error::Inference { .. }
            | Error::Tokenizer(_)
            | Error::Unauthorized { .. }
            | Error::Api(_)
            | Error::Dimension { .. }
            | Error::Qdrant(_) => true,
            Error::InvalidQuery(_) | Error::SemanticNotConfigured | Error::Config(_) | Error::Store(_) => {
                false
            }
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_of_the_semantic_half_allow_a_lexical_fallback() {
        for error in [
            Error::Api("timeout".into()),
            Error::Unauthorized { status: 401 },
            Error::Qdrant("unavailable".into()),
            Error::Dimension {
                expected: 384,
                actual: 3,
            },
        ] {
            assert!(error.allows_lexical_fallback(), "{error}");
        }
        for error in [
            Error::InvalidQuery("bad regex".into()),
            Error::SemanticNotConfigured,
            Error::Config("no model".into()),
        ] {
            assert!(!error.allows_lexical_fallback(), "{error}");
        }
    }
}
