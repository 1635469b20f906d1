//! `reposage-operator`: the RepoSage Kubernetes operator binary.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use reposage_operator::Config;
use reposage_runtime::{DATABASE_HELP, DatabaseArgs, LogArgs, report};

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

    #[command(flatten)]
    log: LogArgs,
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
    Migrate(DatabaseArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { command, run, log } = Cli::parse();
    log.init();
    let failed = |error: reposage_operator::Error| anyhow::anyhow!(report(&error));
    match command.unwrap_or_else(|| Command::Run(Box::new(run))) {
        Command::Run(config) => reposage_operator::run(*config).await.map_err(failed)?,
        Command::Crds { output_dir } => {
            let written = reposage_operator::write_crds(&output_dir).map_err(failed)?;
            for path in written {
                println!("{}", path.display());
            }
        }
        Command::Migrate(database) => {
            reposage_operator::migrate(&database)
                .await
                .map_err(failed)
                .context("migrating the database")?;
            tracing::info!("database schema is up to date");
        }
    }
    Ok(())
}
