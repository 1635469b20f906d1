//! The RepoSage pipeline as a library; `reposage-job-runner` is its thin command-line front.
//!
//! The job-runner reads nothing from Kubernetes: everything it needs comes in its arguments and
//! environment, and everything it produces goes to Postgres under a run id. The operator runs it in
//! a Job; the api-server's local mode and the tests call [`index::run_index`] directly.

pub mod index;
pub mod progress;
pub mod retrieval_config;

mod error;
mod metadata;

pub use error::{Error, Result};
