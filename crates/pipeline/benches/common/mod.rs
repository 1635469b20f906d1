//! What the job-runner's bench binaries share: a database of their own, timed index runs, git
//! repositories written with git2, a deterministic generator.

// Each bench binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Repository, Signature};
use log::LevelFilter;
use reposage_pipeline::NoProgress;
use reposage_pipeline::{IndexRequest, IndexSummary, run_index};
use reposage_store::Store;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use uuid::Uuid;

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Prints a failed bench's error with its causes and exits.
pub fn fail(error: &dyn std::error::Error) -> ! {
    let mut message = format!("bench failed: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    eprintln!("{message}");
    std::process::exit(1);
}

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A database of its own, created for this run and dropped at the end.
pub struct BenchDatabase {
    admin: PgPool,
    name: String,
    pub store: Store,
}

impl BenchDatabase {
    /// Creates the database; with `slow_ms`, statements slower than that are logged (sqlx's
    /// slow-statement warnings, shown when a tracing subscriber is installed).
    pub async fn create(url: &str, slow_ms: Option<u64>) -> BenchResult<Self> {
        let options = match slow_ms {
            Some(ms) => PgConnectOptions::from_str(url)?
                .log_statements(LevelFilter::Off)
                .log_slow_statements(LevelFilter::Warn, Duration::from_millis(ms)),
            None => PgConnectOptions::from_str(url)?.disable_statement_logging(),
        };
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let name = format!("reposage_bench_{}", Uuid::new_v4().simple());
        // the name is generated above (hex digits only): safe to splice
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.database(&name))
            .await?;
        let store = Store::from_pool(pool);
        store.migrate().await?;
        println!("database {name} created");
        Ok(Self { admin, name, store })
    }

    /// Drops the database, unless `REPOSAGE_BENCH_KEEP_DATABASE` is set (to look at the index
    /// afterwards, with `EXPLAIN` say).
    pub async fn drop(self) {
        self.store.pool().close().await;
        if std::env::var_os("REPOSAGE_BENCH_KEEP_DATABASE").is_some() {
            println!("database {} kept (REPOSAGE_BENCH_KEEP_DATABASE)", self.name);
            return;
        }
        let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await;
        match dropped {
            Ok(_) => println!("database {} dropped", self.name),
            Err(e) => eprintln!("could not drop database {}: {e}", self.name),
        }
    }
}

/// Indexes the repository at `path` as `bench/<name>` with the CLI's defaults and no embedder.
pub async fn index_timed(store: &Store, path: &Path, name: &str) -> BenchResult<(IndexSummary, Duration)> {
    let request = IndexRequest::local(path, "bench", name);
    let (started, cpu) = (Instant::now(), cpu_time());
    let summary = run_index(store, request, Arc::new(NoProgress)).await?;
    let elapsed = started.elapsed();
    if let (Some(before), Some(after)) = (cpu, cpu_time()) {
        let used = after.saturating_sub(before);
        println!(
            "  CPU time of the bench process: {:.2} s = {:.0} % of the wall time (the rest: waiting for Postgres or for a core)",
            used.as_secs_f64(),
            100.0 * used.as_secs_f64() / elapsed.as_secs_f64()
        );
    }
    Ok((summary, elapsed))
}

/// User + system CPU time of this process (all threads), from `/proc/self/stat`.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name (which is in parentheses and may hold spaces)
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture RepoSage targets
    Some(Duration::from_millis(ticks * 10))
}

/// The author and committer of bench commits (a fixed time, so runs are repeatable).
pub fn signature() -> Result<Signature<'static>, git2::Error> {
    Signature::new(
        "RepoSage Bench",
        "bench@reposage.dev",
        &git2::Time::new(1_700_000_000, 0),
    )
}

/// A new repository at `path` whose `main` holds `files` (path, text) in one commit.
pub fn commit_files(path: &Path, files: &[(String, String)]) -> BenchResult<()> {
    let repo = Repository::init(path)?;
    repo.set_head("refs/heads/main")?;
    let empty = repo.find_tree(repo.treebuilder(None)?.write()?)?;
    let mut update = TreeUpdateBuilder::new();
    for (file, text) in files {
        update.upsert(file.as_str(), repo.blob(text.as_bytes())?, FileMode::Blob);
    }
    let tree = repo.find_tree(update.create_updated(&repo, &empty)?)?;
    let signature = signature()?;
    repo.commit(
        Some("refs/heads/main"),
        &signature,
        &signature,
        "corpus",
        &tree,
        &[],
    )?;
    Ok(())
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }

    /// A float in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}
