//! Postgres access for RepoSage: the source of truth for repositories, runs, files and their
//! analysis.
//!
//! All queries are parameterised (`sqlx::query*` with binds); bulk writes go through `UNNEST` so a
//! batch of thousands of rows is one statement. Migrations live in `migrations/` at the repository
//! root and are embedded in [`MIGRATOR`].

#![warn(missing_docs)]

mod browse;
mod code_metrics;
mod conversations;
mod error;
mod files;
mod ids;
mod index_writer;
mod metadata;
mod repositories;
mod retrieval;
mod runs;
mod substring;

pub use browse::{CallSite, ChunkSymbol, DirectoryEntry, FileLines, IndexedFile, SymbolMatch};
pub use code_metrics::{CodeMetrics, ComplexityDistribution, Hotspot, MINUTES_PER_LINE, TechnicalDebt};
pub use conversations::{
    ABANDONED_ANSWER, AnswerDetails, ConversationPage, ConversationRecord, ConversationStatus, Exchange,
    FinishedAnswer, MessageMode, MessageRecord, MessageRole, MessageStatus, NewConversation, RejectedCounts,
    SearchedRecord, StoredCitation, TITLE_FROM_QUESTION_CHARS, title_from_question,
};
pub use error::{Error, Result};
pub use files::{BlobRow, FileKind, FileRow, FileSummary};
pub use ids::{CommitSha, ConversationId, MessageId, RepositoryId, RunId};
pub use index_writer::{
    AnalysedFile, CallRow, ChunkRow, CodeRows, ImportRow, IndexWriter, OverviewCounts, SymbolRow,
};
pub use metadata::{
    DependencySummary, FileMetadata, KubernetesObjectRow, KubernetesObjectSummary, LicenseSummary,
    ManifestRow, ManifestSummary, ProjectFileSummary, ReadmeRow, ReadmeSummary, RepositoryOverview,
};
pub use reposage_contract::vocabulary::{ParseStatus, SkipReason, SymbolKind};
pub use repositories::{NewRepository, RefKind, RepositoryRecord};
pub use retrieval::{
    ChunkFilter, ChunkRecord, LOOSE_MATCHES_RANKED, LexicalHit, LexicalQuery, PendingChunk, StoredVector,
    TermRanking, TermStatistics, WeightedTerm, extend_from_bytes, vector_to_bytes,
};
pub use runs::{RunEvent, RunKind, RunOutcome, RunRecord, RunStats, RunStatus, StageStatus};
pub use substring::{LineMatch, SubstringHit, SubstringQuery};

use std::path::Path;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// How long an unreferenced blob is kept: longer than any index run, so a run's blobs (written before
/// its files commit) are never collected under it.
pub const BLOB_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// The schema migrations under `migrations/`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The database URL from the `DATABASE_URL` environment variable (read by the calling binary and
/// passed in as `from_env`) or, when a file is named, from that file (a mounted Secret). Secrets never
/// travel as command-line arguments, where process listings would show them.
pub fn resolve_database_url(from_env: Option<String>, file: Option<&Path>) -> Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadUrlFile {
            path: path.display().to_string(),
            source,
        })?;
        return Ok(text.trim().to_string());
    }
    from_env
        .filter(|url| !url.trim().is_empty())
        .ok_or(Error::MissingUrl)
}

/// A handle on the RepoSage database. Cheap to clone (it wraps a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects to `url` with at most `max_connections` pooled connections.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let options: PgConnectOptions = url.parse().map_err(|source| Error::InvalidUrl { source })?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.application_name("reposage"))
            .await
            .map_err(|source| Error::Connect { source })?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool (tests get one per test from `#[sqlx::test]`).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies pending migrations. Safe to call from every binary at start-up: sqlx takes an
    /// advisory lock, so concurrent callers wait for each other.
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|source| Error::Migrate { source })
    }

    /// Round-trips a trivial query; what `/readyz` checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
