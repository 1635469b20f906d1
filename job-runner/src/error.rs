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
    /// The retrieval configuration is incomplete or unusable.
    #[error("{0}")]
    Config(String),
    /// A blocking stage panicked or was cancelled.
    #[error("pipeline worker failed: {0}")]
    Worker(String),
}

impl Error {
    /// The message recorded on the run: the error and its causes, one line.
    pub fn to_run_message(&self) -> String {
        let mut message = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        message
    }
}

/// Result with the pipeline's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
