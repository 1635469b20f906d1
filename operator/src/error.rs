//! The operator's one error type.

use reposage_crd::ValidationError;

/// Everything that can go wrong while the operator starts or reconciles a Repository.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes client could not be configured, or a request to the API failed.
    #[error("Kubernetes API error")]
    Kube(#[source] kube::Error),

    /// The RepoSage database could not be reached or queried.
    #[error("database error")]
    Store(#[source] reposage_store::Error),

    /// The database URL is missing or unreadable, or the database cannot be reached or migrated.
    #[error("cannot set up the database")]
    Database(#[source] reposage_runtime::Error),

    /// The index Job's contract cannot be written (a bug: settings hold a secret's value).
    #[error("cannot render the index job's contract")]
    Contract(#[source] serde_json::Error),

    /// Adding or removing the finalizer failed, or the reconcile or clean-up inside it did.
    #[error("reconciling through the finalizer failed")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),

    /// The object lacks a field the API server always sets (name, namespace, uid, generation).
    #[error("object has no {0}")]
    MissingObjectKey(&'static str),

    /// The Repository's uid is not a UUID, so it cannot key the database rows.
    #[error("metadata.uid {uid:?} is not a UUID")]
    InvalidUid {
        /// The uid as the API server sent it.
        uid: String,
        /// Why it did not parse.
        #[source]
        source: uuid::Error,
    },

    /// The Repository's spec cannot be acted on.
    #[error("invalid Repository spec")]
    InvalidSpec(#[source] ValidationError),

    /// A command-line flag or environment variable has a value the operator cannot use.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// Writing a file (the CRD YAML) failed.
    #[error("cannot write {path}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The metrics server could not bind or serve.
    #[error("metrics server on {listen} failed")]
    Serve {
        /// The address it was asked to listen on.
        listen: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A short, stable label for the `reconcile_failures_total{error=…}` metric. Finalizer errors
    /// report the error of the reconcile or clean-up inside them.
    pub fn metric_label(&self) -> &'static str {
        use kube::runtime::finalizer::Error as Finalizer;
        match self {
            Error::Kube(_) => "kube",
            Error::Store(_) | Error::Database(_) => "store",
            Error::Contract(_) => "contract",
            Error::Finalizer(inner) => match inner.as_ref() {
                Finalizer::ApplyFailed(e) | Finalizer::CleanupFailed(e) => e.metric_label(),
                Finalizer::AddFinalizer(_) | Finalizer::RemoveFinalizer(_) => "finalizer",
                Finalizer::UnnamedObject => "missing_object_key",
                Finalizer::InvalidFinalizer => "finalizer",
            },
            Error::MissingObjectKey(_) => "missing_object_key",
            Error::InvalidUid { .. } => "invalid_uid",
            Error::InvalidSpec(_) => "invalid_spec",
            Error::InvalidConfig(_) => "invalid_config",
            Error::Io { .. } => "io",
            Error::Serve { .. } => "serve",
        }
    }
}

/// The error and its sources as one line (`outer: cause: root cause`), for logs and events: the
/// formatter every RepoSage binary shares.
pub use reposage_runtime::report;

impl From<kube::Error> for Error {
    fn from(error: kube::Error) -> Self {
        Error::Kube(error)
    }
}

impl From<reposage_store::Error> for Error {
    fn from(error: reposage_store::Error) -> Self {
        Error::Store(error)
    }
}

impl From<kube::runtime::finalizer::Error<Error>> for Error {
    fn from(error: kube::runtime::finalizer::Error<Error>) -> Self {
        Error::Finalizer(Box::new(error))
    }
}

/// Result with the operator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalizer_errors_are_labelled_by_the_error_inside_them() {
        let inner = Error::MissingObjectKey("metadata.uid");
        let wrapped = Error::from(kube::runtime::finalizer::Error::ApplyFailed(inner));
        assert_eq!(wrapped.metric_label(), "missing_object_key");
        let cleanup = Error::from(kube::runtime::finalizer::Error::CleanupFailed(
            Error::InvalidConfig("x".into()),
        ));
        assert_eq!(cleanup.metric_label(), "invalid_config");
        let unnamed = Error::from(kube::runtime::finalizer::Error::<Error>::UnnamedObject);
        assert_eq!(unnamed.metric_label(), "missing_object_key");
    }

    #[test]
    fn a_report_shows_every_cause_once() {
        let error = Error::from(kube::runtime::finalizer::Error::ApplyFailed(Error::InvalidSpec(
            reposage_crd::ValidationError {
                field: "spec.url".into(),
                message: "refused".into(),
            },
        )));
        assert_eq!(
            report(&error),
            "reconciling through the finalizer failed: failed to apply object: invalid Repository spec: \
             spec.url: refused"
        );
    }
}
