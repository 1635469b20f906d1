//! What an index run is asked to do: [`IndexRequest`] and its parts, with the defaults the
//! command line and the job contract share.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reposage_analysis::chunk::{ChunkBudget, TokenCounter};
use reposage_analysis::{Credentials, FetchOptions, RefRequest, Source, UrlPolicy};
use reposage_contract::{GitRef, IndexJob, IndexLimits};
use reposage_retrieval::{Embedder, Retrieval, VectorStore};
use reposage_store::{NewRepository, RefKind, RepositoryId, RunId};

use crate::{Error, Result};

/// Everything one index run needs; nothing is read from the environment.
#[derive(Debug, Clone)]
pub struct IndexRequest {
    /// The run's id (the operator derives it from the Job; local runs use a fresh one).
    pub run_id: RunId,
    /// The repository as it is recorded.
    pub repository: NewRepository,
    /// Where to read it from.
    pub source: Source,
    /// Ref, caps and credentials for the fetch.
    pub fetch: FetchOptions,
    /// Which remote hosts may be fetched from (checked before any network traffic).
    pub url_policy: UrlPolicy,
    /// Gitignore-style patterns of paths to analyse (all when empty).
    pub include: Vec<String>,
    /// Gitignore-style patterns of paths not to analyse.
    pub exclude: Vec<String>,
    /// Files larger than this are recorded as `too-large`.
    pub max_file_bytes: u64,
    /// Files past this many analysed ones are recorded as `max-files`.
    pub max_files: u64,
    /// A file whose parse takes longer is recorded with parse status `timeout`.
    pub parse_timeout: Duration,
    /// Size of retrieval chunks.
    pub chunk_budget: ChunkBudget,
    /// Counts chunk tokens (the embedding model's own tokenizer when it has one).
    pub token_counter: SharedTokenCounter,
    /// The embedding stage; `None` indexes for lexical search only.
    pub embedding: Option<EmbeddingStage>,
    /// Scratch space for fetched repositories.
    pub work_dir: PathBuf,
}

/// Default of [`IndexRequest::max_file_bytes`] (and of `--max-file-bytes`).
pub const DEFAULT_MAX_FILE_BYTES: u64 = IndexLimits::MAX_FILE_BYTES;
/// Default of [`IndexRequest::max_files`] (and of `--max-files`).
pub const DEFAULT_MAX_FILES: u64 = IndexLimits::MAX_FILES;
/// Default of [`IndexRequest::parse_timeout`] in milliseconds (and of `--parse-timeout-ms`).
pub const DEFAULT_PARSE_TIMEOUT_MS: u64 = IndexLimits::PARSE_TIMEOUT_MS;

/// Namespace of the UUIDs derived for local-mode repositories from `namespace/name`.
const LOCAL_ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5e0d_5a9e_7c1f_4b6a_9d3e_2f81_c0a4_b7d1);

/// The id of a repository indexed without a custom resource: derived from `namespace/name`, so the
/// same name is the same repository run after run.
pub fn local_repository_id(namespace: &str, name: &str) -> RepositoryId {
    RepositoryId(uuid::Uuid::new_v5(
        &LOCAL_ID_NAMESPACE,
        format!("{namespace}/{name}").as_bytes(),
    ))
}

impl IndexRequest {
    /// The request an index job's contract describes, embedding with `retrieval` (resolved from the
    /// contract's settings) and fetching into `work_dir`. Reads the credentials folder, if named.
    pub fn from_job(job: IndexJob, retrieval: &Retrieval, work_dir: PathBuf) -> Result<Self> {
        let IndexJob {
            api_version: _,
            url,
            git_ref,
            repository_id,
            namespace,
            name,
            run_id,
            include,
            exclude,
            limits,
            allowed_hosts,
            credentials_dir,
            work_dir: _,
            retrieval: _,
        } = job;
        let IndexLimits {
            max_file_bytes,
            max_files,
            parse_timeout_ms,
            chunk_max_tokens,
            max_repository_bytes,
            fetch_timeout_seconds,
        } = limits;
        let source = Source::parse(&url)?;
        let name = match name {
            Some(name) => name,
            None => derive_name(&source)?,
        };
        let (git_ref, recorded_ref) = match git_ref {
            GitRef::Default => (RefRequest::Default, None),
            GitRef::Branch(b) => (RefRequest::Branch(b.clone()), Some((RefKind::Branch, b))),
            GitRef::Tag(t) => (RefRequest::Tag(t.clone()), Some((RefKind::Tag, t))),
            GitRef::Commit(c) => (RefRequest::Commit(c.clone()), Some((RefKind::Commit, c))),
        };
        let recorded_url = match &source {
            Source::Local(path) => path
                .canonicalize()
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string(),
            Source::Remote(url) => url.clone(),
        };
        Ok(IndexRequest {
            run_id: run_id.map(RunId).unwrap_or_else(RunId::new_random),
            repository: NewRepository {
                id: repository_id
                    .map(RepositoryId)
                    .unwrap_or_else(|| local_repository_id(&namespace, &name)),
                namespace,
                name,
                url: recorded_url,
                git_ref: recorded_ref,
            },
            source,
            fetch: FetchOptions {
                git_ref,
                max_bytes: max_repository_bytes,
                timeout: Duration::from_secs(fetch_timeout_seconds),
                depth: 1,
                credentials: match credentials_dir {
                    Some(dir) => Credentials::from_dir(&dir)?,
                    None => Credentials::default(),
                },
            },
            url_policy: UrlPolicy::with_allowed_hosts(allowed_hosts),
            include,
            exclude,
            max_file_bytes,
            max_files,
            parse_timeout: Duration::from_millis(parse_timeout_ms),
            chunk_budget: ChunkBudget {
                max_tokens: chunk_max_tokens as usize,
                ..ChunkBudget::default()
            },
            token_counter: SharedTokenCounter::of(retrieval),
            embedding: EmbeddingStage::from_retrieval(retrieval),
            work_dir,
        })
    }

    /// A request to index the repository at `path` (its default branch or HEAD) as
    /// `namespace/name`, with a fresh run id, the default caps, the approximate token counter, no
    /// embedding stage and the system's temporary folder as scratch space.
    pub fn local(path: &std::path::Path, namespace: &str, name: &str) -> Self {
        IndexRequest {
            run_id: RunId::new_random(),
            repository: NewRepository {
                id: local_repository_id(namespace, name),
                namespace: namespace.into(),
                name: name.into(),
                url: path.display().to_string(),
                git_ref: None,
            },
            source: Source::Local(path.to_path_buf()),
            fetch: FetchOptions::default(),
            url_policy: UrlPolicy::default(),
            include: Vec::new(),
            exclude: Vec::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_files: DEFAULT_MAX_FILES,
            parse_timeout: Duration::from_millis(DEFAULT_PARSE_TIMEOUT_MS),
            chunk_budget: ChunkBudget::default(),
            token_counter: SharedTokenCounter::approximate(),
            embedding: None,
            work_dir: std::env::temp_dir(),
        }
    }
}

/// A token counter shared with the analysis thread.
#[derive(Clone)]
pub struct SharedTokenCounter(pub Arc<dyn TokenCounter + Send + Sync>);

impl std::fmt::Debug for SharedTokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedTokenCounter")
    }
}

impl SharedTokenCounter {
    /// The token counter of a resolved retrieval configuration (the local model's tokenizer, or the
    /// estimate).
    pub fn of(retrieval: &Retrieval) -> Self {
        SharedTokenCounter(retrieval.token_counter.clone())
    }

    /// The estimate of BERT WordPiece, for runs without a local model's tokenizer.
    pub fn approximate() -> Self {
        SharedTokenCounter(Arc::new(reposage_analysis::chunk::ApproximateTokens))
    }
}

/// How chunks become vectors.
#[derive(Debug, Clone)]
pub struct EmbeddingStage {
    /// The model.
    pub embedder: Arc<dyn Embedder>,
    /// Where vectors go (the embedded store keeps them in Postgres; Qdrant is synced after commit).
    pub vectors: Arc<dyn VectorStore>,
    /// Chunks per embedding call.
    pub batch_size: usize,
}

impl EmbeddingStage {
    /// The embedding stage of a resolved retrieval configuration; `None` when embeddings are off.
    pub fn from_retrieval(retrieval: &Retrieval) -> Option<Self> {
        retrieval
            .semantic
            .as_ref()
            .map(|(embedder, vectors)| EmbeddingStage {
                embedder: embedder.clone(),
                vectors: vectors.clone(),
                batch_size: retrieval.batch_size,
            })
    }
}

/// The last segment of the URL or of the canonical local path, without `.git`, lower-cased to the
/// characters a resource name allows.
fn derive_name(source: &Source) -> Result<String> {
    let raw = match source {
        Source::Local(path) => path
            .canonicalize()
            .map_err(|e| Error::InvalidRequest(format!("cannot resolve {}: {e}", path.display())))?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Source::Remote(url) => url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let name: String = raw
        .trim_end_matches(".git")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        return Err(Error::InvalidRequest(format!(
            "cannot derive a repository name from {source:?}: give one"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_from_the_last_url_segment() {
        for (url, name) in [
            ("https://github.com/kube-rs/kube.git", "kube"),
            ("git@github.com:org/My_Repo.git", "my-repo"),
            ("ssh://git@host/org/repo/", "repo"),
        ] {
            assert_eq!(derive_name(&Source::parse(url).unwrap()).unwrap(), name, "{url}");
        }
    }

    #[test]
    fn a_job_becomes_a_request_with_its_ref_ids_and_limits() {
        let mut job = IndexJob::new("https://git.example/org/tool.git", "team-a");
        job.git_ref = GitRef::Branch("main".into());
        job.run_id = Some(uuid::Uuid::from_u128(7));
        job.limits.max_files = 12;
        job.limits.chunk_max_tokens = 128;
        let retrieval = Retrieval {
            semantic: None,
            token_counter: Arc::new(reposage_analysis::chunk::ApproximateTokens),
            batch_size: 8,
        };
        let request = IndexRequest::from_job(job, &retrieval, "/scratch".into()).unwrap();
        assert_eq!(request.repository.name, "tool");
        assert_eq!(request.repository.id, local_repository_id("team-a", "tool"));
        assert_eq!(request.run_id, RunId(uuid::Uuid::from_u128(7)));
        assert_eq!(request.repository.git_ref, Some((RefKind::Branch, "main".into())));
        assert_eq!(request.max_files, 12);
        assert_eq!(request.chunk_budget.max_tokens, 128);
        assert!(request.embedding.is_none());
    }
}
