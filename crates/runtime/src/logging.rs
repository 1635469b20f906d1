//! Logging set-up: the same format choice and default filter in every binary.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is not set: RepoSage's own events from `info`, libraries' from `warn`.
pub const DEFAULT_FILTER: &str = "warn,reposage=info";

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise (a pod's log).
    Auto,
    /// One JSON object a line, with the current span's fields (run id, request id).
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Log options every binary takes.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log format: `auto` (pretty on a terminal, JSON otherwise), `json` or `pretty`. `RUST_LOG`
    /// filters (default: `warn,reposage=info`).
    #[arg(long, env = "REPOSAGE_LOG_FORMAT", value_enum, default_value = "auto")]
    pub log_format: LogFormat,
}

impl LogArgs {
    /// Installs the global `tracing` subscriber, writing to stderr (stdout is for a command's output).
    pub fn init(&self) {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
        let json = match self.log_format {
            LogFormat::Json => true,
            LogFormat::Pretty => false,
            LogFormat::Auto => !std::io::stderr().is_terminal(),
        };
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        if json {
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .init();
        } else {
            builder.init();
        }
    }
}
