//! The typed contracts between RepoSage's processes, in a crate of plain data (serde only) so that
//! both sides of each contract can use it without linking the other's machinery:
//!
//! - [`IndexJob`]: what an index Job asks the job-runner to do — the operator renders it into the
//!   Job (the [`INDEX_JOB_ENV`] variable), `reposage-job-runner index` reads it back with
//!   [`IndexJob::from_json`]; the same type is what the job-runner's flags build;
//! - [`retrieval`]: which embedder and vector store a process uses, with secrets only ever as
//!   mounted-file paths;
//! - [`vocabulary`]: the names stored in the database and returned by the API (skip reasons, parse
//!   statuses, symbol kinds), spelled once.
//!
//! The operator links this crate and not the pipeline, so it does not carry tree-sitter, candle or
//! libgit2.

#![warn(missing_docs)]

mod index_job;
pub mod retrieval;
pub mod vocabulary;

pub use index_job::{GitRef, INDEX_JOB_API_VERSION, INDEX_JOB_ENV, IndexJob, IndexLimits, InvalidIndexJob};
pub use retrieval::{EmbedderSettings, RetrievalSettings, Secret, VectorStoreSettings};
