//! Custom resource types of RepoSage (`reposage.dev/v1alpha1`).
//!
//! One module per kind; [`conditions`] holds the kstatus-style condition helpers both kinds use, and
//! [`generate`] renders the CustomResourceDefinition YAML committed under `crds/`.
//!
//! Everything here is plain data plus pure functions: no client, no I/O, so the operator, the
//! api-server and the tests share one definition of what a valid resource is.

#![warn(missing_docs)]
// kube-derive's `printcolumn(...)` attributes repeat `type_ = "string"`, which clippy takes for
// duplicated attributes.
#![allow(clippy::duplicated_attributes)]

pub mod analysis_query;
pub mod conditions;
pub mod generate;
pub mod names;
pub mod repository;

pub use analysis_query::{AnalysisQuery, AnalysisQuerySpec, AnalysisQueryStatus, Citation, RefreshPolicy};
pub use repository::{
    ActiveRun, GitRef, Repository, RepositoryLimits, RepositorySpec, RepositoryStats, RepositoryStatus,
    SecretReference,
};

/// The API group of every RepoSage resource.
pub const GROUP: &str = "reposage.dev";
/// The served and stored API version.
pub const VERSION: &str = "v1alpha1";
/// Annotation that forces a new index run when its value changes (any string; a timestamp by convention).
pub const REQUESTED_AT_ANNOTATION: &str = "reposage.dev/requestedAt";

/// A spec that the API server's schema accepted but RepoSage cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// JSON path of the offending field, e.g. `spec.ref`.
    pub field: String,
    /// What is wrong and what would be accepted instead.
    pub message: String,
}

impl ValidationError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
