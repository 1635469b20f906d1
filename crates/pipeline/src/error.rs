//! Errors of a pipeline run.

/// Errors of a pipeline run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Fetching or reading the repository failed.
    #[error(transparent)]
    Analysis(#[from] reposage_analysis::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] reposage_store::Error),
    /// Embedding or a vector store failed.
    #[error(transparent)]
    Retrieval(#[from] reposage_retrieval::Error),
    /// The request cannot be carried out as given (e.g. no name can be derived from its URL).
    #[error("{0}")]
    InvalidRequest(String),
    /// A blocking stage panicked or was cancelled, or the stages ran out of order (a bug).
    #[error("pipeline worker failed: {0}")]
    Worker(String),
}

impl Error {
    /// The message recorded on the run: the error and its causes, one line.
    pub fn to_run_message(&self) -> String {
        reposage_runtime::report(self)
    }
}

/// Result with the pipeline's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
