//! Command-line and environment configuration of the API server.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reposage_job_runner::retrieval_config::RetrievalArgs;

/// How the database URL is given; shown after the options in `--help`.
pub const DATABASE_URL_HELP: &str = "\
Database:
  The Postgres URL is a secret and is never accepted as a command-line argument. Set DATABASE_URL
  (e.g. postgres://reposage@db:5432/reposage) or mount it in a file and pass --database-url-file;
  the file wins when both are given.";

/// Configuration of the API server.
#[derive(Clone, clap::Args)]
#[command(after_help = DATABASE_URL_HELP)]
pub struct Config {
    /// Address and port to serve HTTP on.
    #[arg(long, global = true, env = "REPOSAGE_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// File holding the Postgres URL (a mounted Secret); overrides DATABASE_URL.
    #[arg(long, global = true, env = "REPOSAGE_DATABASE_URL_FILE", value_name = "PATH")]
    pub database_url_file: Option<PathBuf>,

    /// Most pooled connections to Postgres.
    #[arg(long, global = true, env = "REPOSAGE_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Seconds a request may take before it is answered with 408 Request Timeout.
    #[arg(long, global = true, env = "REPOSAGE_REQUEST_TIMEOUT", value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,

    /// Largest request body accepted, in bytes; larger bodies get 413 Payload Too Large.
    #[arg(long, global = true, env = "REPOSAGE_MAX_BODY_BYTES", value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Search: the embedder (`--embedder local|openai|none`) and vector store, as the job-runner
    /// takes them. The index must have been embedded with the same model for semantic hits.
    #[command(flatten)]
    pub retrieval: RetrievalArgs,

    /// The Postgres URL from the DATABASE_URL environment variable (never a command-line argument).
    #[arg(skip = std::env::var("DATABASE_URL").ok())]
    pub database_url: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            listen,
            database_url_file,
            max_connections,
            request_timeout,
            max_body_bytes,
            retrieval,
            database_url,
        } = self;
        f.debug_struct("Config")
            .field("listen", listen)
            .field("database_url_file", database_url_file)
            .field("max_connections", max_connections)
            .field("request_timeout", request_timeout)
            .field("max_body_bytes", max_body_bytes)
            .field("retrieval", retrieval)
            .field("database_url", &database_url.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The HTTP limits the router enforces, taken from [`Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let Config {
            listen,
            database_url_file,
            max_connections,
            request_timeout,
            max_body_bytes,
            retrieval: _,
            database_url: _,
        } = Cli::try_parse_from(["api"]).unwrap().config;
        assert_eq!(listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(database_url_file, None);
        assert_eq!(max_connections, 10);
        assert_eq!(request_timeout, 30);
        assert_eq!(max_body_bytes, 1_048_576);
    }

    #[test]
    fn the_database_url_cannot_be_passed_as_an_argument() {
        assert!(Cli::try_parse_from(["api", "--database-url", "postgres://secret@db/x"]).is_err());
    }

    #[test]
    fn debug_output_redacts_the_database_url_and_api_keys() {
        let mut config = Cli::try_parse_from(["api"]).unwrap().config;
        config.database_url = Some("postgres://user:hunter2@db/reposage".into());
        config.retrieval.openai_api_key = Some("sk-openai-secret".into());
        config.retrieval.qdrant_api_key = Some("qdrant-secret".into());
        let text = format!("{config:?}");
        for secret in ["hunter2", "sk-openai-secret", "qdrant-secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn the_embedder_can_be_switched_off_for_lexical_search_only() {
        use reposage_job_runner::retrieval_config::EmbedderKind;
        let config = Cli::try_parse_from(["api", "--embedder", "none"]).unwrap().config;
        assert_eq!(config.retrieval.embedder, EmbedderKind::None);
    }

    #[test]
    fn zero_connections_are_rejected() {
        assert!(Cli::try_parse_from(["api", "--max-connections", "0"]).is_err());
    }
}
