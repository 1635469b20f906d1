//! `reposage-operator`: the RepoSage Kubernetes operator binary.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use reposage_operator::config::{DATABASE_HELP, DatabaseUrl};
use reposage_operator::{Config, DatabaseConfig};
use tracing_subscriber::EnvFilter;

/// Reconciles RepoSage Repository resources into index Jobs.
#[derive(Debug, Parser)]
#[command(
    name = "reposage-operator",
    version,
    args_conflicts_with_subcommands = true,
    after_help = DATABASE_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Options of `run`, which is what the operator does when no subcommand is given.
    #[command(flatten)]
    run: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the operator (the default).
    #[command(after_help = DATABASE_HELP)]
    Run(Box<Config>),
    /// Write the CustomResourceDefinition YAML files into a directory.
    Crds {
        /// Directory to write into (created when missing), e.g. `crds`.
        #[arg(long)]
        output_dir: PathBuf,
    },
    /// Apply pending database migrations, then exit.
    #[command(after_help = DATABASE_HELP)]
    Migrate(DatabaseConfig),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { command, run } = Cli::parse();
    init_tracing();
    let database_url_env = std::env::var("DATABASE_URL").ok().map(DatabaseUrl);
    match command.unwrap_or_else(|| Command::Run(Box::new(run))) {
        Command::Run(mut config) => {
            config.database.database_url_env = database_url_env;
            reposage_operator::run(*config).await.map_err(report)?;
        }
        Command::Crds { output_dir } => {
            let written = reposage_operator::write_crds(&output_dir).map_err(report)?;
            for path in written {
                println!("{}", path.display());
            }
        }
        Command::Migrate(mut database) => {
            database.database_url_env = database_url_env;
            reposage_operator::migrate(&database)
                .await
                .map_err(report)
                .context("migrating the database")?;
            tracing::info!("database schema is up to date");
        }
    }
    Ok(())
}

/// The operator's error with its causes on one line.
fn report(error: reposage_operator::Error) -> anyhow::Error {
    anyhow::anyhow!(reposage_operator::error::report(&error))
}

/// Logs to stderr: human-readable on a terminal, JSON lines otherwise (in a cluster). `RUST_LOG`
/// filters, `info` by default.
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.pretty().init();
    } else {
        builder.json().init();
    }
}
