//! The index Job's contract: one serde type the operator writes and the job-runner reads.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::retrieval::RetrievalSettings;

/// The environment variable of an index Job's container holding its [`IndexJob`] as JSON.
pub const INDEX_JOB_ENV: &str = "REPOSAGE_INDEX_JOB";

/// The version of the contract; a job-runner refuses any other, so an operator and a job-runner of
/// incompatible releases fail at start-up with a clear message instead of misreading each other.
pub const INDEX_JOB_API_VERSION: &str = "reposage.dev/index-job/v1";

/// Everything an index run needs from whoever starts it. Secrets are never in it: the database URL
/// and API keys come from the environment or mounted files, credentials from a mounted folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexJob {
    /// Always [`INDEX_JOB_API_VERSION`].
    pub api_version: String,
    /// Repository to index: an https:// or ssh:// URL, scp-like `git@host:org/repo`, or a local path.
    pub url: String,
    /// What to index.
    #[serde(default)]
    pub git_ref: GitRef,
    /// Repository id (the Repository resource's UID); derived from namespace/name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_id: Option<Uuid>,
    /// Namespace the repository is recorded under.
    pub namespace: String,
    /// Name it is recorded under (default: the last segment of the URL or path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Run id (the operator derives it from the Job); random when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<Uuid>,
    /// Gitignore-style patterns of paths to analyse (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Gitignore-style patterns of paths not to analyse; they win over `include`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Caps of the run.
    #[serde(default)]
    pub limits: IndexLimits,
    /// Hosts that may be fetched from although they resolve to private or loopback addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Folder with git credentials (a mounted Secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_dir: Option<PathBuf>,
    /// Scratch folder for the fetched repository (default: a temporary folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<PathBuf>,
    /// Embedder and vector store.
    pub retrieval: RetrievalSettings,
}

/// Which commit to index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum GitRef {
    /// The remote's default branch (HEAD of a local repository).
    #[default]
    Default,
    /// A branch.
    Branch(String),
    /// A tag.
    Tag(String),
    /// A full commit sha.
    Commit(String),
}

/// Caps of an index run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct IndexLimits {
    /// Files larger than this are recorded as too large and not analysed.
    pub max_file_bytes: u64,
    /// At most this many files are analysed; the rest are recorded as skipped.
    pub max_files: u64,
    /// A parse taking longer than this many milliseconds is recorded as timed out.
    pub parse_timeout_ms: u64,
    /// Largest retrieval chunk, in tokens of the embedding model ([`Self::CHUNK_TOKENS`]).
    pub chunk_max_tokens: u64,
    /// A fetch receiving more than this many bytes is aborted.
    pub max_repository_bytes: u64,
    /// A fetch still running after this many seconds is aborted.
    pub fetch_timeout_seconds: u64,
}

impl IndexLimits {
    /// Default of [`max_file_bytes`](Self::max_file_bytes): 1 MiB.
    pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
    /// Default of [`max_files`](Self::max_files).
    pub const MAX_FILES: u64 = 100_000;
    /// Default of [`parse_timeout_ms`](Self::parse_timeout_ms).
    pub const PARSE_TIMEOUT_MS: u64 = 5_000;
    /// Default of [`chunk_max_tokens`](Self::chunk_max_tokens).
    pub const CHUNK_MAX_TOKENS: u64 = 256;
    /// The range [`chunk_max_tokens`](Self::chunk_max_tokens) must be in.
    pub const CHUNK_TOKENS: std::ops::RangeInclusive<u64> = 16..=8192;
    /// Default of [`max_repository_bytes`](Self::max_repository_bytes): 2 GiB.
    pub const MAX_REPOSITORY_BYTES: u64 = 2 * 1024 * 1024 * 1024;
    /// Default of [`fetch_timeout_seconds`](Self::fetch_timeout_seconds).
    pub const FETCH_TIMEOUT_SECONDS: u64 = 600;
}

impl Default for IndexLimits {
    fn default() -> Self {
        IndexLimits {
            max_file_bytes: Self::MAX_FILE_BYTES,
            max_files: Self::MAX_FILES,
            parse_timeout_ms: Self::PARSE_TIMEOUT_MS,
            chunk_max_tokens: Self::CHUNK_MAX_TOKENS,
            max_repository_bytes: Self::MAX_REPOSITORY_BYTES,
            fetch_timeout_seconds: Self::FETCH_TIMEOUT_SECONDS,
        }
    }
}

/// Why an index Job's contract was refused.
#[derive(Debug, thiserror::Error)]
pub enum InvalidIndexJob {
    /// Not JSON of the contract's shape (an unknown field, a missing one, a wrong type).
    #[error("the index job is not a valid {INDEX_JOB_API_VERSION} document: {0}")]
    Shape(#[from] serde_json::Error),
    /// Another version of the contract (operator and job-runner of incompatible releases).
    #[error(
        "the index job is {found:?}, this job-runner reads {INDEX_JOB_API_VERSION:?}: run matching releases of the operator and the job-runner"
    )]
    Version {
        /// The version the document says.
        found: String,
    },
    /// A value out of its range.
    #[error("the index job's {field} {detail}")]
    Value {
        /// The field, as in the JSON.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

impl IndexJob {
    /// A job indexing `url` as `namespace/…` with the default ref, limits and no embeddings.
    pub fn new(url: impl Into<String>, namespace: impl Into<String>) -> Self {
        IndexJob {
            api_version: INDEX_JOB_API_VERSION.to_string(),
            url: url.into(),
            git_ref: GitRef::Default,
            repository_id: None,
            namespace: namespace.into(),
            name: None,
            run_id: None,
            include: Vec::new(),
            exclude: Vec::new(),
            limits: IndexLimits::default(),
            allowed_hosts: Vec::new(),
            credentials_dir: None,
            work_dir: None,
            retrieval: RetrievalSettings::lexical_only(),
        }
    }

    /// The contract as one line of JSON (what the operator puts in [`INDEX_JOB_ENV`]). Fails only for
    /// settings holding a secret's value, which must never leave the process.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Reads and checks a contract: its shape, its version and its values.
    pub fn from_json(json: &str) -> Result<Self, InvalidIndexJob> {
        let job: IndexJob = serde_json::from_str(json)?;
        job.validate()?;
        Ok(job)
    }

    /// Checks what the shape cannot: the version, non-empty names, ranges.
    pub fn validate(&self) -> Result<(), InvalidIndexJob> {
        if self.api_version != INDEX_JOB_API_VERSION {
            return Err(InvalidIndexJob::Version {
                found: self.api_version.clone(),
            });
        }
        let value = |field, detail: &str| {
            Err(InvalidIndexJob::Value {
                field,
                detail: detail.to_string(),
            })
        };
        if self.url.trim().is_empty() {
            return value("url", "must not be empty");
        }
        if self.namespace.trim().is_empty() {
            return value("namespace", "must not be empty");
        }
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return value("name", "must not be empty when given");
        }
        if !IndexLimits::CHUNK_TOKENS.contains(&self.limits.chunk_max_tokens) {
            return value("limits.chunkMaxTokens", "must be between 16 and 8192");
        }
        if self.limits.fetch_timeout_seconds == 0 {
            return value("limits.fetchTimeoutSeconds", "must be at least 1");
        }
        if self.retrieval.batch_size == 0 {
            return value("retrieval.batchSize", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reads_back_from_its_json() {
        let mut job = IndexJob::new("https://git.example/org/repo.git", "team-a");
        job.git_ref = GitRef::Tag("v1.2.0".into());
        job.include = vec!["src/**".into()];
        job.limits.max_files = 10;
        let json = job.to_json().unwrap();
        assert_eq!(IndexJob::from_json(&json).unwrap(), job);
    }

    #[test]
    fn another_version_is_refused_with_what_to_do() {
        let mut job = IndexJob::new("https://git.example/r", "ns");
        job.api_version = "reposage.dev/index-job/v0".into();
        let error = IndexJob::from_json(&job.to_json().unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("matching releases"), "{error}");
    }

    #[test]
    fn unknown_fields_and_out_of_range_values_are_refused() {
        let mut json: serde_json::Value =
            serde_json::to_value(IndexJob::new("https://git.example/r", "ns")).unwrap();
        json["surprise"] = true.into();
        assert!(matches!(
            IndexJob::from_json(&json.to_string()),
            Err(InvalidIndexJob::Shape(_))
        ));
        let mut job = IndexJob::new("https://git.example/r", "ns");
        job.limits.chunk_max_tokens = 4;
        let error = IndexJob::from_json(&job.to_json().unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("chunkMaxTokens"), "{error}");
    }
}
