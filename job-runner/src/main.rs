//! `reposage-job-runner`: index a repository into Postgres, search it, ask it questions, or bring a
//! vector store in line with Postgres. Every command lives in [`commands`]; this file parses,
//! sets up logging and dispatches.

mod commands;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use reposage_runtime::{DATABASE_HELP, DatabaseArgs, LogArgs};

/// Fetch, analyse and index a git repository into the RepoSage database, or search it.
#[derive(Debug, Parser)]
#[command(name = "reposage-job-runner", version, after_help = DATABASE_HELP)]
struct Cli {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index a repository: fetch it, analyse the tree of the resolved commit, embed its chunks and
    /// record the run (from flags, or from an index Job's contract in REPOSAGE_INDEX_JOB).
    Index(Box<commands::index::IndexArgs>),
    /// Ask a question about indexed repositories: an answer with verified, commit-pinned
    /// citations, from a local GGUF model, any OpenAI-compatible endpoint, or (without a model)
    /// extracted from the best-matching code.
    Ask(Box<commands::ask::AskArgs>),
    /// Search indexed repositories: lexical, semantic or hybrid (see the query syntax in --help).
    Search(commands::search::SearchArgs),
    /// Bring the vector store's points (a Qdrant collection) in line with the embeddings in
    /// Postgres: write the missing and changed points, remove those of chunks gone.
    ReindexVectors(commands::reindex::ReindexArgs),
    /// Apply database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli {
        database,
        log,
        command,
    } = parse();
    log.init();
    match command {
        Command::Index(args) => commands::index::run(&database, *args).await,
        Command::Ask(args) => commands::ask::run(&database, *args).await,
        Command::Search(args) => commands::search::run(&database, args).await,
        Command::ReindexVectors(args) => commands::reindex::run(&database, args).await,
        Command::Migrate => commands::migrate(&database).await,
    }
}

/// The command line, with the database and log options accepted after the subcommand too.
fn parse() -> Cli {
    let matches = Cli::command().mut_args(|arg| arg.global(true)).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}
