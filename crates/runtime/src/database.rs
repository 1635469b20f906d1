//! Where the database URL comes from, and connecting with it.

use std::fmt;
use std::path::PathBuf;

use clap::Args;
use reposage_store::Store;

/// What `--help` says about the database URL, which is deliberately not a flag.
pub const DATABASE_HELP: &str = "\
Database:
  The Postgres URL is a secret and never a command-line argument: set DATABASE_URL (e.g.
  postgres://reposage@postgres:5432/reposage) or name a file holding it with --database-url-file
  (a mounted Secret). The file wins when both are given.";

/// Database options every binary takes. `Debug` never prints the URL.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// File holding the Postgres URL (a mounted Secret); read instead of DATABASE_URL.
    #[arg(long, env = "REPOSAGE_DATABASE_URL_FILE", value_name = "PATH")]
    pub database_url_file: Option<PathBuf>,

    /// Most pooled connections to Postgres (default: the command's own, e.g. 10 for the API server).
    #[arg(long, env = "REPOSAGE_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,

    /// The Postgres URL from the DATABASE_URL environment variable (never a command-line argument,
    /// where process listings would show it).
    #[arg(skip = std::env::var("DATABASE_URL").ok())]
    pub database_url: Option<String>,
}

impl fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let DatabaseArgs {
            database_url_file,
            max_connections,
            database_url,
        } = self;
        f.debug_struct("DatabaseArgs")
            .field("database_url_file", database_url_file)
            .field("max_connections", max_connections)
            .field("database_url", &database_url.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl DatabaseArgs {
    /// The URL to connect to: the file's content when a file is named, else `DATABASE_URL`.
    pub fn url(&self) -> crate::Result<String> {
        Ok(reposage_store::resolve_database_url(
            self.database_url.clone(),
            self.database_url_file.as_deref(),
        )?)
    }

    /// Connects with `--max-connections` or, when it is not given, `default_pool` connections.
    /// Applies no migrations: commands that only read must not change the schema.
    pub async fn connect(&self, default_pool: u32) -> crate::Result<Store> {
        let pool = self.max_connections.unwrap_or(default_pool);
        Ok(Store::connect(&self.url()?, pool).await?)
    }

    /// Connects (as [`connect`](Self::connect)) and applies pending migrations: for commands that
    /// write.
    pub async fn connect_and_migrate(&self, default_pool: u32) -> crate::Result<Store> {
        let store = self.connect(default_pool).await?;
        store.migrate().await?;
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        database: DatabaseArgs,
    }

    #[test]
    fn the_database_url_is_not_a_flag_and_never_printed() {
        assert!(Cli::try_parse_from(["x", "--database-url", "postgres://secret@db/x"]).is_err());
        let mut cli = Cli::try_parse_from(["x"]).unwrap();
        cli.database.database_url = Some("postgres://user:hunter2@db/x".into());
        let shown = format!("{cli:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert_eq!(cli.database.url().unwrap(), "postgres://user:hunter2@db/x");
    }

    #[test]
    fn a_mounted_file_wins_over_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("url");
        std::fs::write(&file, "postgres://from-file@db/x\n").unwrap();
        let mut cli = Cli::try_parse_from(["x", "--database-url-file", file.to_str().unwrap()]).unwrap();
        cli.database.database_url = Some("postgres://from-env@db/x".into());
        assert_eq!(cli.database.url().unwrap(), "postgres://from-file@db/x");
    }

    #[test]
    fn zero_connections_are_refused() {
        assert!(Cli::try_parse_from(["x", "--max-connections", "0"]).is_err());
        let cli = Cli::try_parse_from(["x", "--max-connections", "3"]).unwrap();
        assert_eq!(cli.database.max_connections, Some(3));
    }
}
