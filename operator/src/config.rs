//! Command-line and environment configuration, validated into [`Settings`].
//!
//! [`Config`] is the raw input clap parses; [`Config::resolve`] checks it and builds the
//! [`Settings`] the operator runs with. The database URL is a secret and never a flag: it comes from
//! the `DATABASE_URL` environment variable (filled in by the binary) or from `--database-url-file`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use reposage_store::Store;

use crate::{Error, Result};

/// The job-runner image the operator starts by default: the release matching the operator's own.
pub const DEFAULT_JOB_RUNNER_IMAGE: &str =
    concat!("ghcr.io/reposage/reposage-job-runner:", env!("CARGO_PKG_VERSION"));

/// Pooled database connections the operator keeps; it only reads run records and deletes rows.
const DATABASE_MAX_CONNECTIONS: u32 = 4;

/// The image pull policies Kubernetes accepts.
const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];

/// Options of the operator, from flags or `REPOSAGE_*` environment variables.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "reposage-operator",
    about = "Reconciles RepoSage Repository resources into index Jobs.",
    after_help = DATABASE_HELP
)]
pub struct Config {
    /// Container image of the job-runner that index Jobs run.
    #[arg(long, env = "REPOSAGE_JOB_RUNNER_IMAGE", default_value = DEFAULT_JOB_RUNNER_IMAGE)]
    pub job_runner_image: String,

    /// Image pull policy of index Job containers: Always, IfNotPresent or Never.
    #[arg(long, env = "REPOSAGE_IMAGE_PULL_POLICY", default_value = "IfNotPresent")]
    pub image_pull_policy: String,

    /// Service account index Job pods run as (its token is never mounted).
    #[arg(
        long,
        env = "REPOSAGE_JOB_SERVICE_ACCOUNT",
        default_value = "reposage-job-runner"
    )]
    pub job_service_account: String,

    /// Secret, in each Repository's namespace, whose key `url` holds the DATABASE_URL of index Jobs.
    #[arg(
        long,
        env = "REPOSAGE_DATABASE_SECRET_NAME",
        default_value = "reposage-database"
    )]
    pub database_secret_name: String,

    /// Pod retries of an index Job before it counts as failed.
    #[arg(long, env = "REPOSAGE_JOB_BACKOFF_LIMIT", default_value_t = 2)]
    pub job_backoff_limit: i32,

    /// Seconds a finished index Job (and its pod logs) is kept before Kubernetes deletes it.
    #[arg(long, env = "REPOSAGE_JOB_TTL_SECONDS", default_value_t = 86_400)]
    pub job_ttl_seconds: i32,

    /// CPU request of the job-runner container (a Kubernetes quantity).
    #[arg(long, env = "REPOSAGE_JOB_CPU_REQUEST", default_value = "500m")]
    pub job_cpu_request: String,

    /// CPU limit of the job-runner container (a Kubernetes quantity).
    #[arg(long, env = "REPOSAGE_JOB_CPU_LIMIT", default_value = "2")]
    pub job_cpu_limit: String,

    /// Memory request of the job-runner container (a Kubernetes quantity).
    #[arg(long, env = "REPOSAGE_JOB_MEMORY_REQUEST", default_value = "512Mi")]
    pub job_memory_request: String,

    /// Memory limit of the job-runner container (a Kubernetes quantity).
    #[arg(long, env = "REPOSAGE_JOB_MEMORY_LIMIT", default_value = "2Gi")]
    pub job_memory_limit: String,

    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, env = "REPOSAGE_METRICS_LISTEN", default_value = "0.0.0.0:8080")]
    pub metrics_listen: SocketAddr,

    /// Only watch Repositories and Jobs in this namespace; all namespaces when absent.
    #[arg(long, env = "REPOSAGE_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,

    /// Git host index Jobs may fetch from although it resolves to a private or loopback address (an
    /// on-prem Git server); repeatable or comma-separated. Passed to every index Job as
    /// `--allowed-host`; all other hosts must resolve to public addresses only.
    #[arg(
        long = "allowed-git-host",
        value_name = "HOST",
        env = "REPOSAGE_ALLOWED_GIT_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_git_hosts: Vec<String>,

    /// Where the operator's own database connection comes from.
    #[command(flatten)]
    pub database: DatabaseConfig,
}

/// What `--help` says about the database URL, which is deliberately not a flag.
pub const DATABASE_HELP: &str = "The Postgres URL is a secret and never a flag: set the DATABASE_URL \
environment variable (e.g. postgres://reposage@postgres:5432/reposage) or name a file holding it with \
--database-url-file (a mounted Secret). The file wins when both are given.";

/// Where the operator's database URL comes from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DatabaseConfig {
    /// File holding the Postgres URL (e.g. a mounted Secret); read instead of DATABASE_URL.
    #[arg(long, env = "REPOSAGE_DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,

    /// The value of the `DATABASE_URL` environment variable, filled in by the binary. Never a flag,
    /// so the URL does not show in process listings.
    #[arg(skip)]
    pub database_url_env: Option<DatabaseUrl>,
}

/// A database URL; it may carry a password, so `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

impl DatabaseConfig {
    /// The URL to connect to: the file's content when a file is named, else `DATABASE_URL`.
    pub fn resolve_url(&self) -> Result<String> {
        let DatabaseConfig {
            database_url_file,
            database_url_env,
        } = self;
        Ok(reposage_store::resolve_database_url(
            database_url_env.as_ref().map(|url| url.0.clone()),
            database_url_file.as_deref(),
        )?)
    }

    /// Connects to the database.
    pub async fn connect(&self) -> Result<Store> {
        Ok(Store::connect(&self.resolve_url()?, DATABASE_MAX_CONNECTIONS).await?)
    }
}

/// The validated configuration the operator runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How index Jobs are built.
    pub job: JobSettings,
    /// Address of the metrics and health server.
    pub metrics_listen: SocketAddr,
    /// The one namespace watched, or `None` for all.
    pub watch_namespace: Option<String>,
    /// The operator's own database connection.
    pub database: DatabaseConfig,
}

/// Everything about an index Job that does not come from the Repository itself.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    /// Job-runner container image.
    pub image: String,
    /// `Always`, `IfNotPresent` or `Never`.
    pub image_pull_policy: String,
    /// Service account of Job pods.
    pub service_account: String,
    /// Secret (in the Repository's namespace) whose key `url` is the Job's DATABASE_URL.
    pub database_secret_name: String,
    /// Pod retries before the Job fails.
    pub backoff_limit: i32,
    /// Seconds a finished Job is kept.
    pub ttl_seconds_after_finished: i32,
    /// Requests and limits of the job-runner container.
    pub resources: ResourceRequirements,
    /// Hosts the job-runner may fetch from although they resolve to private addresses
    /// (`--allowed-host`).
    pub allowed_git_hosts: Vec<String>,
}

impl Config {
    /// Validates the raw options and builds the [`Settings`].
    pub fn resolve(self) -> Result<Settings> {
        let Config {
            job_runner_image,
            image_pull_policy,
            job_service_account,
            database_secret_name,
            job_backoff_limit,
            job_ttl_seconds,
            job_cpu_request,
            job_cpu_limit,
            job_memory_request,
            job_memory_limit,
            metrics_listen,
            watch_namespace,
            allowed_git_hosts,
            database,
        } = self;

        let non_empty = |flag: &str, value: String| -> Result<String> {
            let value = value.trim().to_string();
            if value.is_empty() {
                Err(Error::InvalidConfig(format!("--{flag} must not be empty")))
            } else {
                Ok(value)
            }
        };
        let image = non_empty("job-runner-image", job_runner_image)?;
        if !PULL_POLICIES.contains(&image_pull_policy.as_str()) {
            return Err(Error::InvalidConfig(format!(
                "--image-pull-policy must be one of {}, not {image_pull_policy:?}",
                PULL_POLICIES.join(", ")
            )));
        }
        let service_account = non_empty("job-service-account", job_service_account)?;
        let database_secret_name = non_empty("database-secret-name", database_secret_name)?;
        if job_backoff_limit < 0 {
            return Err(Error::InvalidConfig(
                "--job-backoff-limit must not be negative".into(),
            ));
        }
        if job_ttl_seconds < 0 {
            return Err(Error::InvalidConfig(
                "--job-ttl-seconds must not be negative".into(),
            ));
        }
        let quantity = |flag: &str, value: String| -> Result<Quantity> {
            let value = value.trim().to_string();
            if is_quantity(&value) {
                Ok(Quantity(value))
            } else {
                Err(Error::InvalidConfig(format!(
                    "--{flag} {value:?} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 2Gi)"
                )))
            }
        };
        let resources = ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), quantity("job-cpu-request", job_cpu_request)?),
                (
                    "memory".to_string(),
                    quantity("job-memory-request", job_memory_request)?,
                ),
            ])),
            limits: Some(BTreeMap::from([
                ("cpu".to_string(), quantity("job-cpu-limit", job_cpu_limit)?),
                (
                    "memory".to_string(),
                    quantity("job-memory-limit", job_memory_limit)?,
                ),
            ])),
            ..ResourceRequirements::default()
        };
        let watch_namespace = watch_namespace
            .map(|ns| ns.trim().to_string())
            .filter(|ns| !ns.is_empty());
        let allowed_git_hosts = allowed_git_hosts
            .iter()
            .map(|host| host.trim())
            .filter(|host| !host.is_empty())
            .map(|host| {
                if host.contains(|c: char| c.is_whitespace() || "/@?#".contains(c)) {
                    Err(Error::InvalidConfig(format!(
                        "--allowed-git-host {host:?} is not a host name or address (no scheme, user, path or port)"
                    )))
                } else {
                    Ok(host.to_ascii_lowercase())
                }
            })
            .collect::<Result<Vec<_>>>()?;

        Ok(Settings {
            job: JobSettings {
                image,
                image_pull_policy,
                service_account,
                database_secret_name,
                backoff_limit: job_backoff_limit,
                ttl_seconds_after_finished: job_ttl_seconds,
                resources,
                allowed_git_hosts,
            },
            metrics_listen,
            watch_namespace,
            database,
        })
    }
}

/// True when `value` has the shape of a Kubernetes quantity: a non-negative decimal number with an
/// optional binary (`Ki`…`Ei`), decimal (`n`, `u`, `m`, `k`, `M`…`E`) or exponent (`e3`) suffix.
fn is_quantity(value: &str) -> bool {
    let value = value.strip_prefix('+').unwrap_or(value);
    let digits_end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(digits_end);
    let number_ok = !number.is_empty()
        && number.chars().filter(|c| *c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    let suffix_ok = match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P"
        | "E" => true,
        exponent => exponent
            .strip_prefix(['e', 'E'])
            .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
            .is_some_and(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())),
    };
    number_ok && suffix_ok
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("reposage-operator").chain(args.iter().copied()))
            .expect("arguments parse")
    }

    #[test]
    fn defaults_resolve_to_the_documented_job_settings() {
        let settings = parse(&[]).resolve().unwrap();
        let job = settings.job;
        assert_eq!(job.image, DEFAULT_JOB_RUNNER_IMAGE);
        assert!(job.image.ends_with(env!("CARGO_PKG_VERSION")));
        assert_eq!(job.image_pull_policy, "IfNotPresent");
        assert_eq!(job.service_account, "reposage-job-runner");
        assert_eq!(job.database_secret_name, "reposage-database");
        assert_eq!(job.backoff_limit, 2);
        assert_eq!(job.ttl_seconds_after_finished, 86_400);
        let requests = job.resources.requests.unwrap();
        let limits = job.resources.limits.unwrap();
        assert_eq!(requests["cpu"], Quantity("500m".into()));
        assert_eq!(requests["memory"], Quantity("512Mi".into()));
        assert_eq!(limits["cpu"], Quantity("2".into()));
        assert_eq!(limits["memory"], Quantity("2Gi".into()));
        assert_eq!(settings.metrics_listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(settings.watch_namespace, None);
        assert!(job.allowed_git_hosts.is_empty());
    }

    #[test]
    fn allowed_git_hosts_are_repeatable_or_comma_separated_and_lowercased() {
        let settings = parse(&[
            "--allowed-git-host",
            "Git.Internal.Example, 10.1.2.3",
            "--allowed-git-host",
            "gitea.lan",
        ])
        .resolve()
        .unwrap();
        assert_eq!(
            settings.job.allowed_git_hosts,
            ["git.internal.example", "10.1.2.3", "gitea.lan"]
        );
    }

    #[test]
    fn an_allowed_git_host_with_a_scheme_or_path_is_refused() {
        for bad in ["https://git.internal", "git.internal/org", "user@git.internal"] {
            let error = parse(&["--allowed-git-host", bad]).resolve().unwrap_err();
            assert!(error.to_string().contains("--allowed-git-host"), "{error}");
        }
    }

    #[test]
    fn an_unknown_pull_policy_is_refused() {
        let error = parse(&["--image-pull-policy", "Sometimes"])
            .resolve()
            .unwrap_err();
        assert!(
            error.to_string().contains("Always, IfNotPresent, Never"),
            "{error}"
        );
    }

    #[test]
    fn a_malformed_quantity_is_refused_with_the_flag_named() {
        let error = parse(&["--job-memory-limit", "lots"]).resolve().unwrap_err();
        assert!(error.to_string().contains("--job-memory-limit"), "{error}");
        let error = parse(&["--job-cpu-request", ""]).resolve().unwrap_err();
        assert!(error.to_string().contains("--job-cpu-request"), "{error}");
    }

    #[test]
    fn quantities_accept_kubernetes_suffixes_and_exponents() {
        for ok in [
            "1",
            "0.5",
            "500m",
            "1.5Gi",
            "128974848",
            "129e6",
            "123Mi",
            "1E3",
            "+2",
        ] {
            assert!(is_quantity(ok), "{ok} should be a quantity");
        }
        for bad in ["", "m", "1.2.3", "12Xi", "1e", "-1", "abc", "1 Gi"] {
            assert!(!is_quantity(bad), "{bad} should not be a quantity");
        }
    }

    #[test]
    fn the_database_url_is_not_a_flag_and_never_printed() {
        assert!(Config::try_parse_from(["reposage-operator", "--database-url", "postgres://x"]).is_err());
        let mut config = parse(&[]);
        config.database.database_url_env = Some(DatabaseUrl("postgres://user:hunter2@db/x".into()));
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(
            config.database.resolve_url().unwrap(),
            "postgres://user:hunter2@db/x"
        );
    }

    #[test]
    fn a_blank_watch_namespace_means_all_namespaces() {
        let settings = parse(&["--watch-namespace", " "]).resolve().unwrap();
        assert_eq!(settings.watch_namespace, None);
        let settings = parse(&["--watch-namespace", "team-a"]).resolve().unwrap();
        assert_eq!(settings.watch_namespace.as_deref(), Some("team-a"));
    }
}
