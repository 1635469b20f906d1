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
    /// The retrieval configuration is incomplete or unusable (no model folder, no Qdrant URL, an
    /// unreadable key file); the message says what to set.
    #[error("{0}")]
    Config(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] reposage_store::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
