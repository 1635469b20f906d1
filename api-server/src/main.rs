//! `reposage-api-server`: serves the RepoSage REST API, or applies database migrations.

use std::io::IsTerminal;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use reposage_api_server::{Config, DATABASE_URL_HELP};
use tracing_subscriber::EnvFilter;

/// RepoSage API server: repositories, runs, search, health and Prometheus metrics over HTTP.
#[derive(Debug, Parser)]
#[command(name = "reposage-api-server", version)]
struct Cli {
    /// What to do; serves the API when omitted.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
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

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.pretty().init();
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    }
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or ctrl-c.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; draining in-flight requests");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Every option (the retrieval flags flattened from the job-runner too) may follow `serve`.
    let matches = Cli::command().mut_args(|arg| arg.global(true)).get_matches();
    let Cli { command, config } = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    init_tracing();
    match command.unwrap_or(Command::Serve) {
        Command::Serve => reposage_api_server::run(config, shutdown_signal())
            .await
            .context("the API server failed"),
        Command::Migrate => reposage_api_server::migrate(config)
            .await
            .context("migrating the database failed"),
    }
}
