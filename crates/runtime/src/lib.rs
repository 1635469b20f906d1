//! What every RepoSage binary starts with, so the operator, the job-runner and the api-server start
//! the same way: parse, set up logging, connect, then run.
//!
//! - [`DatabaseArgs`]: where the Postgres URL comes from (`DATABASE_URL` or a mounted file, never a
//!   flag), the pool size, connecting and — only for commands that write — migrating;
//! - [`LogArgs`]: the log format (pretty on a terminal, JSON in a cluster) and the `RUST_LOG` filter;
//! - [`RetrievalArgs`]: the embedder and vector-store flags, checked into
//!   [`RetrievalSettings`](reposage_contract::RetrievalSettings);
//! - [`llm`] (feature `assistant`): the language-model flags (`--llm none|local|openai` and its
//!   options), turned into a chat model and the assistant's settings;
//! - [`report`]: an error and its causes on one line, for logs, run records and exit messages;
//! - [`shutdown_signal`]: SIGTERM or ctrl-c, for graceful shutdown;
//! - [`http`] (feature `http`, for the servers): RFC 9457 problem documents and the `/healthz`,
//!   `/readyz` and `/metrics` routes.
//!
//! This is the one crate whose job is to read the process environment on behalf of the binaries;
//! the libraries below it take plain values.

#![warn(missing_docs)]

mod database;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "assistant")]
pub mod llm;
mod logging;
mod report;
mod retrieval;
mod shutdown;

pub use database::{DATABASE_HELP, DatabaseArgs};
pub use logging::{LogArgs, LogFormat};
pub use report::{ErrorChain, report};
pub use retrieval::{EmbedderKind, RetrievalArgs, VectorBackend};
pub use shutdown::shutdown_signal;

/// Errors of starting up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database URL is missing or unreadable, or the database cannot be reached or migrated.
    #[error(transparent)]
    Store(#[from] reposage_store::Error),
    /// The options do not fit together (e.g. `--embedder local` without a model folder); the message
    /// says what to set.
    #[error("{0}")]
    InvalidArgs(String),
}

/// Result with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
