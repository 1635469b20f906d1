//! `search`: lexical, semantic or hybrid search from the command line, printed with snippets and
//! each hit's explanation (or as JSON). Reads only: no migrations.

use anyhow::Context;
use clap::Args;
use reposage_retrieval::search::Explanation;
use reposage_retrieval::{SearchMode, SearchParams, SearchRequest, Searcher};
use reposage_runtime::{DatabaseArgs, RetrievalArgs};

/// Options of `search`.
#[derive(Debug, Args)]
#[command(
    after_help = "Query syntax: words (all must match, identifiers split at camelCase and \
                        snake_case), \"exact phrase\", /regex/, and filters repo:NAME lang:LANGUAGE \
                        path:PREFIX sym:SYMBOL kind:KIND."
)]
pub struct SearchArgs {
    /// The query.
    query: String,
    /// Only this repository (its name in the namespace given by --namespace).
    #[arg(long)]
    repository: Option<String>,
    /// Namespace of --repository.
    #[arg(long, default_value = "local")]
    namespace: String,
    /// `lexical`, `semantic` or `hybrid` (reciprocal rank fusion of both).
    #[arg(long, default_value = "hybrid")]
    mode: SearchMode,
    /// Most hits to show.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    limit: u64,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    retrieval: RetrievalArgs,
}

/// Runs `search`.
pub async fn run(database: &DatabaseArgs, args: SearchArgs) -> anyhow::Result<()> {
    let SearchArgs {
        query,
        repository,
        namespace,
        mode,
        limit,
        json,
        retrieval,
    } = args;
    let store = database
        .connect(super::POOL_SIZE)
        .await
        .context("connecting to Postgres")?;
    let repositories = match repository {
        Some(name) => vec![
            store
                .find_repository(&namespace, &name)
                .await?
                .with_context(|| format!("no repository {namespace}/{name} is indexed"))?
                .id,
        ],
        None => Vec::new(),
    };
    let retrieval = reposage_retrieval::connect(&retrieval.settings()?, &store).await?;
    let searcher = Searcher::new(store.clone(), retrieval.semantic, SearchParams::default());
    let results = searcher
        .search(&SearchRequest {
            query,
            mode,
            limit: limit as usize,
            repositories,
        })
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    if let Some(reason) = &results.degraded {
        eprintln!("note: {reason}");
    }
    for (rank, hit) in results.hits.iter().enumerate() {
        let commit = hit
            .commit_sha
            .as_deref()
            .map(|c| &c[..c.len().min(12)])
            .unwrap_or("-");
        let symbol = hit
            .symbol_path
            .as_deref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default();
        println!(
            "{}. {}/{} {}:{}-{}{symbol} @ {commit}  [{}]",
            rank + 1,
            hit.namespace,
            hit.repository,
            hit.path,
            hit.start_line,
            hit.end_line,
            explain(&hit.explanation),
        );
        for line in &hit.snippet {
            println!(
                "    {:>5}{} {}",
                line.line,
                if line.matched { ">" } else { ":" },
                line.text.trim_end()
            );
        }
    }
    println!(
        "{} hit(s), {} search in {:.1} ms",
        results.hits.len(),
        results.mode.as_str(),
        results.timings.total_ms
    );
    Ok(())
}

/// `lexical #1 (0.42), semantic #3 (0.61), fused 0.032`.
fn explain(e: &Explanation) -> String {
    let mut parts = Vec::new();
    if let Some(l) = e.lexical {
        parts.push(format!("lexical #{} ({:.3})", l.rank, l.score));
    }
    if let Some(s) = e.semantic {
        parts.push(format!("semantic #{} ({:.3})", s.rank, s.score));
    }
    parts.push(format!("score {:.4}", e.fused));
    parts.join(", ")
}
