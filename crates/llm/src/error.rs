//! What can go wrong talking to a model.

/// A chat model's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The settings cannot work (bad URL, empty model name, key with a line break, …).
    #[error("invalid LLM configuration: {0}")]
    Config(String),
    /// The server refused the key (HTTP 401 or 403).
    #[error("the LLM endpoint refused the API key (HTTP {status}): check the key and its permissions")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
    },
    /// The server does not serve the model asked for.
    #[error("the LLM endpoint has no model {model:?} (HTTP 404): check the model or deployment name")]
    ModelNotFound {
        /// The model asked for.
        model: String,
    },
    /// The prompt and output do not fit the model's context window.
    #[error("the prompt does not fit the model's context window: {message}")]
    ContextLengthExceeded {
        /// The server's message, redacted and cut short.
        message: String,
    },
    /// The server answered an error status, after the allowed attempts for a retryable one.
    #[error("the LLM endpoint answered HTTP {status} (after {attempts} attempt{}): {message}", if *attempts == 1 { "" } else { "s" })]
    ApiStatus {
        /// The HTTP status.
        status: u16,
        /// The server's message, redacted and cut short.
        message: String,
        /// Requests made.
        attempts: u32,
    },
    /// The server could not be reached or did not answer in time, after the allowed attempts.
    #[error("the LLM endpoint is unreachable (after {attempts} attempt{}): {message}", if *attempts == 1 { "" } else { "s" })]
    Unreachable {
        /// Requests made.
        attempts: u32,
        /// What the transport said (without the URL's credentials).
        message: String,
    },
    /// The stream broke after it started: a malformed chunk, an error event after HTTP 200, the
    /// connection closed without a finish reason, or no data within the timeout.
    #[error("the LLM stream broke: {0}")]
    Stream(String),
    /// The local model's files are missing or unreadable.
    #[error("cannot load the local model {path}: {problem}")]
    ModelFile {
        /// The GGUF file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The local model failed while generating.
    #[error("the local model failed: {0}")]
    Inference(String),
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
