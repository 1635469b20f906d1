//! `reposage-api-server`: serves the RepoSage REST API, or applies database migrations.

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use reposage_api_server::{Config, DATABASE_URL_HELP};
use reposage_runtime::{LogArgs, report, shutdown_signal};

/// RepoSage API server: repositories, runs, search, health and Prometheus metrics over HTTP.
#[derive(Debug, Parser)]
#[command(name = "reposage-api-server", version)]
struct Cli {
    /// What to do; serves the API when omitted.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    #[command(after_help = DATABASE_URL_HELP)]
    Serve,
    /// Apply pending database migrations and exit.
    #[command(after_help = DATABASE_URL_HELP)]
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Every option (the retrieval flags included) may follow `serve`.
    let matches = Cli::command().mut_args(|arg| arg.global(true)).get_matches();
    let Cli { command, config, log } = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    log.init();
    let outcome = match command.unwrap_or(Command::Serve) {
        Command::Serve => reposage_api_server::run(config, shutdown_signal()).await,
        Command::Migrate => reposage_api_server::migrate(config).await,
    };
    outcome
        .map_err(|error| anyhow::anyhow!(report(&error)))
        .context("the API server failed")
}
