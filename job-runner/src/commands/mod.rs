//! The job-runner's commands, one module each. Commands that write apply pending migrations first;
//! `search` only reads and leaves the schema alone.

pub mod ask;
pub mod index;
pub mod reindex;
pub mod search;

use anyhow::Context;
use reposage_runtime::DatabaseArgs;
use reposage_store::Store;

/// Pooled connections of a job-runner command (one run, one writer and a few readers).
pub const POOL_SIZE: u32 = 4;

/// Connects and applies pending migrations (for commands that write).
pub async fn connect_and_migrate(database: &DatabaseArgs) -> anyhow::Result<Store> {
    database
        .connect_and_migrate(POOL_SIZE)
        .await
        .context("connecting to Postgres")
}

/// `migrate`: apply pending migrations and exit.
pub async fn migrate(database: &DatabaseArgs) -> anyhow::Result<()> {
    connect_and_migrate(database).await?;
    Ok(())
}
