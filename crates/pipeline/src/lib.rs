//! The RepoSage index pipeline as a library: what `reposage-job-runner index` runs in a Job, and
//! what the api-server's local mode and the tests call in process.
//!
//! A run ([`run_index`]) goes fetch → analyse → embed → persist:
//!
//! - [`request`]: what a run is asked to do ([`IndexRequest`]) and the defaults it shares with the
//!   command line;
//! - `run`: the stages in order, the run record and its outcome ([`IndexSummary`]);
//! - `analyse`: the streaming pass over the tree on the analysis thread (classify, count, parse,
//!   chunk, extract metadata; unchanged files skipped);
//! - `rows`: what the analysis finds, as the store's rows;
//! - `embed`: chunks without a cached vector, embedded page by page;
//! - [`events`]: the typed report each stage records ([`StageReport`]) and the recorder;
//! - [`progress`]: how a run tells its caller where it is (a progress bar, logs, a stream).
//!
//! Nothing here reads the environment or prints: everything comes in the request, everything goes
//! to Postgres under the run's id.

#![warn(missing_docs)]

mod analyse;
mod embed;
mod error;
pub mod events;
pub mod progress;
pub mod request;
mod rows;
mod run;
mod worker;

pub use error::{Error, Result};
pub use events::StageReport;
pub use progress::{NoProgress, Progress, Stage};
pub use reposage_contract::{GitRef, IndexJob, IndexLimits};
pub use request::{
    DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES, DEFAULT_PARSE_TIMEOUT_MS, EmbeddingStage, IndexRequest,
    SharedTokenCounter, local_repository_id,
};
pub use run::{IndexSummary, run_index};
