//! What can stop an answer before it starts.
//!
//! Once an answer has started, failures do not surface as errors: the [`Answer`](crate::Answer)
//! ends with status `failed` (or `interrupted`) and keeps the text written so far.

/// An assistant error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of the request is unusable.
    #[error("{field}: {message}")]
    InvalidRequest {
        /// The request field (`question`, `repositories`, …).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A repository of the request is unknown or not indexed yet.
    #[error("repository {repository} is not indexed")]
    NotIndexed {
        /// The repository, as the request named it.
        repository: String,
    },
    /// The index could not be read.
    #[error("cannot read the index")]
    Store(#[from] reposage_store::Error),
    /// Search failed (other than for a missing embedder, which degrades to lexical search).
    #[error("search failed")]
    Retrieval(#[from] reposage_retrieval::Error),
    /// The model failed before it wrote anything.
    #[error("the language model failed")]
    Llm(#[from] reposage_llm::Error),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            field,
            message: message.into(),
        }
    }
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
