/// Errors of repository analysis.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository source is not an accepted URL or path.
    #[error("{0}")]
    InvalidSource(String),
    /// The requested ref does not exist in the repository.
    #[error("ref {0} not found in the repository")]
    RefNotFound(String),
    /// The fetch moved more bytes than allowed.
    #[error("fetch aborted: the repository exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The fetch took longer than allowed.
    #[error("fetch aborted: no result within {seconds} s")]
    Timeout {
        /// The limit in seconds.
        seconds: u64,
    },
    /// The SSH server's host key is not verified by the configured `known_hosts`.
    #[error(transparent)]
    HostKey(#[from] crate::known_hosts::HostKeyError),
    /// The credentials directory is incomplete or unreadable (never carries key material).
    #[error("credentials: {0}")]
    Credentials(String),
    /// An include or exclude pattern is not valid gitignore syntax.
    #[error("invalid pattern {pattern:?}: {message}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// libgit2 reported an error. Its message never contains credentials (they are not in URLs).
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A filesystem error in the work directory.
    #[error("I/O error in {path}")]
    Io {
        /// Where.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Result with the analysis [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
