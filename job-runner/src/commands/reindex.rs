//! `reindex-vectors`: bring the vector store's points in line with the embeddings in Postgres.

use anyhow::bail;
use clap::Args;
use reposage_retrieval::vector::{SyncMode, SyncStats, sync_repository};
use reposage_runtime::{DatabaseArgs, RetrievalArgs};

/// Options of `reindex-vectors`.
#[derive(Debug, Args)]
pub struct ReindexArgs {
    /// Only this repository (namespace/name or name); every repository when absent.
    #[arg(long)]
    repository: Option<String>,
    /// Rewrite every point, vectors included, not only the missing and changed ones (a repair for
    /// damaged vectors). Either way no repository's points are removed first, so searches keep
    /// finding them meanwhile.
    #[arg(long)]
    rewrite: bool,
    #[command(flatten)]
    retrieval: RetrievalArgs,
}

/// Runs `reindex-vectors`.
pub async fn run(database: &DatabaseArgs, args: ReindexArgs) -> anyhow::Result<()> {
    let ReindexArgs {
        repository,
        rewrite,
        retrieval,
    } = args;
    let mode = if rewrite {
        SyncMode::Rewrite
    } else {
        SyncMode::Changed
    };
    let store = super::connect_and_migrate(database).await?;
    let retrieval = reposage_retrieval::connect(&retrieval.settings()?, &store).await?;
    let Some((embedder, vectors)) = retrieval.semantic else {
        bail!("--embedder none has no vectors to reindex");
    };
    let repositories = match repository {
        Some(name) => {
            let ids = store.repositories_named(std::slice::from_ref(&name)).await?;
            if ids.is_empty() {
                bail!("no repository named {name} is indexed");
            }
            ids
        }
        None => store
            .list_repositories()
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect(),
    };
    for id in repositories {
        let SyncStats {
            unchanged,
            written,
            deleted,
        } = sync_repository(&store, vectors.as_ref(), embedder.model(), id, mode).await?;
        println!(
            "{id}: {written} point(s) written, {deleted} deleted, {unchanged} unchanged in the {} store",
            vectors.backend()
        );
    }
    Ok(())
}
