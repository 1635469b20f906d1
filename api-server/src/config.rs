//! Command-line and environment configuration of the API server.

use std::net::SocketAddr;
use std::time::Duration;

use reposage_runtime::llm::LlmArgs;
use reposage_runtime::{DatabaseArgs, RetrievalArgs};

/// How the database URL is given; shown after the options in `--help`.
pub const DATABASE_URL_HELP: &str = reposage_runtime::DATABASE_HELP;

/// Pooled connections to Postgres when `--max-connections` is not given.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// Configuration of the API server. `Debug` hides the database URL and the API keys.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = DATABASE_URL_HELP)]
pub struct Config {
    /// Address and port to serve HTTP on.
    #[arg(long, global = true, env = "REPOSAGE_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// The database connection (URL from DATABASE_URL or a mounted file; pool size).
    #[command(flatten)]
    pub database: DatabaseArgs,

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

    /// The assistant: the language model (`--llm none|local|openai`; `none` answers extractively)
    /// and the limits of each answer.
    #[command(flatten)]
    pub llm: LlmArgs,

    /// Seconds an answer goes on after its last client disconnected, so the client can resume the
    /// stream with `Last-Event-ID`; then it is interrupted and stored as such. 0 interrupts at once.
    #[arg(long, global = true, env = "REPOSAGE_ANSWER_RESUME_GRACE", value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub answer_resume_grace: u64,
}

/// The HTTP limits the router enforces, taken from [`Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpLimits {
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
            database,
            request_timeout,
            max_body_bytes,
            retrieval: _,
            llm,
            answer_resume_grace,
        } = Cli::try_parse_from(["api"]).unwrap().config;
        assert_eq!(listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(database.database_url_file, None);
        assert_eq!(database.max_connections, None);
        assert_eq!(request_timeout, 30);
        assert_eq!(max_body_bytes, 1_048_576);
        assert_eq!(
            llm.llm,
            reposage_runtime::llm::LlmKind::None,
            "extractive answers by default"
        );
        assert_eq!(answer_resume_grace, 5);
    }

    #[test]
    fn the_database_url_cannot_be_passed_as_an_argument() {
        assert!(Cli::try_parse_from(["api", "--database-url", "postgres://secret@db/x"]).is_err());
    }

    #[test]
    fn debug_output_redacts_the_database_url_and_api_keys() {
        let mut config = Cli::try_parse_from(["api"]).unwrap().config;
        config.database.database_url = Some("postgres://user:hunter2@db/reposage".into());
        config.retrieval.openai_api_key = Some("sk-openai-secret".into());
        config.retrieval.qdrant_api_key = Some("qdrant-secret".into());
        config.llm.llm_api_key = Some("sk-llm-secret".into());
        let text = format!("{config:?}");
        for secret in ["hunter2", "sk-openai-secret", "qdrant-secret", "sk-llm-secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn the_embedder_can_be_switched_off_for_lexical_search_only() {
        use reposage_runtime::EmbedderKind;
        let config = Cli::try_parse_from(["api", "--embedder", "none"]).unwrap().config;
        assert_eq!(config.retrieval.embedder, EmbedderKind::None);
    }

    #[test]
    fn zero_connections_are_rejected() {
        assert!(Cli::try_parse_from(["api", "--max-connections", "0"]).is_err());
    }
}
