//! Command-line and environment configuration, validated into [`Settings`].
//!
//! [`Config`] is the raw input clap parses; [`Config::resolve`] checks it and builds the
//! [`Settings`] the operator runs with. The database URL is a secret and never a flag: it comes from
//! the `DATABASE_URL` environment variable or from `--database-url-file` ([`DatabaseArgs`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use reposage_contract::retrieval::{
    DEFAULT_BATCH_SIZE, EmbedderSettings, RetrievalSettings, Secret, VectorStoreSettings,
};
use reposage_runtime::{DATABASE_HELP, DatabaseArgs, EmbedderKind, VectorBackend};

use crate::{Error, Result};

/// The job-runner image the operator starts by default: the release matching the operator's own.
pub const DEFAULT_JOB_RUNNER_IMAGE: &str =
    concat!("ghcr.io/reposage/reposage-job-runner:", env!("CARGO_PKG_VERSION"));

/// Pooled database connections the operator keeps; it only reads run records and deletes rows.
pub const DATABASE_MAX_CONNECTIONS: u32 = 4;

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

    /// What index Jobs embed with and where their vectors go.
    #[command(flatten)]
    pub job_retrieval: JobRetrievalArgs,

    /// Where the operator's own database connection comes from.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Where the Secret named by `--job-openai-api-key-secret` is mounted in index Job pods.
pub const OPENAI_KEY_DIR: &str = "/var/run/reposage/openai";
/// Where the Secret named by `--job-qdrant-api-key-secret` is mounted in index Job pods.
pub const QDRANT_KEY_DIR: &str = "/var/run/reposage/qdrant";
/// The key, in those Secrets, holding the API key.
pub const API_KEY_SECRET_KEY: &str = "api-key";
/// Where the job-runner image keeps the all-MiniLM-L6-v2 weights.
pub const DEFAULT_JOB_MODEL_DIR: &str = "/usr/share/reposage/models/all-MiniLM-L6-v2";

/// The retrieval settings of index Jobs: the job-runner's own retrieval options, named for the Job.
/// API keys are never values here: they are Secrets in each Repository's namespace, mounted into
/// the Job's pod.
#[derive(Debug, Clone, clap::Args)]
pub struct JobRetrievalArgs {
    /// Embedder of index Jobs: `local` (all-MiniLM-L6-v2 in the job-runner), `openai` (an
    /// OpenAI-compatible API) or `none` (lexical search only).
    #[arg(long, env = "REPOSAGE_JOB_EMBEDDER", value_enum, default_value = "local")]
    pub job_embedder: EmbedderKind,
    /// Folder of the local model inside the job-runner image (or a volume mounted there).
    #[arg(long, env = "REPOSAGE_JOB_EMBEDDING_MODEL_DIR", default_value = DEFAULT_JOB_MODEL_DIR)]
    pub job_embedding_model_dir: PathBuf,
    /// Chunks per embedding call in index Jobs.
    #[arg(long, env = "REPOSAGE_JOB_EMBEDDING_BATCH_SIZE", default_value_t = DEFAULT_BATCH_SIZE as u64,
          value_parser = clap::value_parser!(u64).range(1..=2048))]
    pub job_embedding_batch_size: u64,
    /// Base URL of the OpenAI-compatible embedding API of index Jobs (up to `/v1`).
    #[arg(
        long,
        env = "REPOSAGE_JOB_OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub job_openai_base_url: String,
    /// Embedding model name at that API.
    #[arg(
        long,
        env = "REPOSAGE_JOB_OPENAI_EMBEDDING_MODEL",
        default_value = "text-embedding-3-small"
    )]
    pub job_openai_embedding_model: String,
    /// Vector length of that model (required for models other than OpenAI's).
    #[arg(long, env = "REPOSAGE_JOB_OPENAI_EMBEDDING_DIMENSION")]
    pub job_openai_embedding_dimension: Option<usize>,
    /// Requests in flight at once from one index Job to that API.
    #[arg(long, env = "REPOSAGE_JOB_OPENAI_MAX_CONCURRENCY", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=256))]
    pub job_openai_max_concurrency: u64,
    /// Secret, in each Repository's namespace, whose key `api-key` is the embedding API's key.
    #[arg(long, env = "REPOSAGE_JOB_OPENAI_API_KEY_SECRET", value_name = "SECRET")]
    pub job_openai_api_key_secret: Option<String>,
    /// Vector store of index Jobs: `embedded` (Postgres) or `qdrant`.
    #[arg(
        long,
        env = "REPOSAGE_JOB_VECTOR_STORE",
        value_enum,
        default_value = "embedded"
    )]
    pub job_vector_store: VectorBackend,
    /// gRPC URL of the Qdrant server index Jobs write to, e.g. http://qdrant:6334.
    #[arg(long, env = "REPOSAGE_JOB_QDRANT_URL")]
    pub job_qdrant_url: Option<String>,
    /// Secret, in each Repository's namespace, whose key `api-key` is Qdrant's API key.
    #[arg(long, env = "REPOSAGE_JOB_QDRANT_API_KEY_SECRET", value_name = "SECRET")]
    pub job_qdrant_api_key_secret: Option<String>,
}

/// A Secret mounted into index Job pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMount {
    /// The Secret's name (in the Repository's namespace).
    pub secret_name: String,
    /// The pod volume's name.
    pub volume: String,
    /// Where it is mounted, read-only.
    pub mount_path: String,
}

/// How index Jobs embed: the settings their contract carries and the Secrets their pods mount.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRetrieval {
    /// The contract's retrieval settings (API keys as paths inside the mounted Secrets).
    pub settings: RetrievalSettings,
    /// The Secrets holding those keys.
    pub secrets: Vec<SecretMount>,
}

impl JobRetrievalArgs {
    /// Checks the options and builds the Jobs' retrieval settings.
    pub fn resolve(self) -> Result<JobRetrieval> {
        let JobRetrievalArgs {
            job_embedder,
            job_embedding_model_dir,
            job_embedding_batch_size,
            job_openai_base_url,
            job_openai_embedding_model,
            job_openai_embedding_dimension,
            job_openai_max_concurrency,
            job_openai_api_key_secret,
            job_vector_store,
            job_qdrant_url,
            job_qdrant_api_key_secret,
        } = self;
        let mut secrets = Vec::new();
        let mut mount = |flag: &str,
                         secret: Option<String>,
                         volume: &str,
                         dir: &str|
         -> Result<Option<Secret>> {
            let Some(name) = secret.map(|s| s.trim().to_string()) else {
                return Ok(None);
            };
            if !reposage_crd::names::is_dns_subdomain(&name) {
                return Err(Error::InvalidConfig(format!(
                    "--{flag} {name:?} is not a Secret name (dot-separated labels of lower-case letters, digits and '-')"
                )));
            }
            secrets.push(SecretMount {
                secret_name: name,
                volume: volume.to_string(),
                mount_path: dir.to_string(),
            });
            Ok(Some(Secret::File(PathBuf::from(dir).join(API_KEY_SECRET_KEY))))
        };
        let embedder = match job_embedder {
            EmbedderKind::None => EmbedderSettings::None,
            EmbedderKind::Local => EmbedderSettings::Local {
                model_dir: job_embedding_model_dir,
            },
            EmbedderKind::Openai => EmbedderSettings::OpenAi {
                base_url: job_openai_base_url,
                model: job_openai_embedding_model,
                dimension: job_openai_embedding_dimension,
                max_concurrency: job_openai_max_concurrency as usize,
                api_key: mount(
                    "job-openai-api-key-secret",
                    job_openai_api_key_secret,
                    "openai-api-key",
                    OPENAI_KEY_DIR,
                )?,
            },
        };
        let vector_store = match job_vector_store {
            VectorBackend::Embedded => VectorStoreSettings::Embedded,
            VectorBackend::Qdrant => VectorStoreSettings::Qdrant {
                url: job_qdrant_url
                    .filter(|url| !url.trim().is_empty())
                    .ok_or_else(|| {
                        Error::InvalidConfig("--job-vector-store qdrant needs --job-qdrant-url".into())
                    })?,
                api_key: mount(
                    "job-qdrant-api-key-secret",
                    job_qdrant_api_key_secret,
                    "qdrant-api-key",
                    QDRANT_KEY_DIR,
                )?,
            },
        };
        Ok(JobRetrieval {
            settings: RetrievalSettings {
                embedder,
                vector_store,
                batch_size: job_embedding_batch_size as usize,
            },
            secrets,
        })
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
    pub database: DatabaseArgs,
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
    /// Hosts the job-runner may fetch from although they resolve to private addresses.
    pub allowed_git_hosts: Vec<String>,
    /// What the Jobs embed with, and the Secrets they mount for it.
    pub retrieval: JobRetrieval,
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
            job_retrieval,
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
                retrieval: job_retrieval.resolve()?,
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
        config.database.database_url = Some("postgres://user:hunter2@db/x".into());
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(config.database.url().unwrap(), "postgres://user:hunter2@db/x");
    }

    #[test]
    fn index_jobs_embed_locally_with_the_image_s_model_by_default() {
        let settings = parse(&[]).resolve().unwrap();
        assert_eq!(
            settings.job.retrieval,
            JobRetrieval {
                settings: RetrievalSettings {
                    embedder: EmbedderSettings::Local {
                        model_dir: DEFAULT_JOB_MODEL_DIR.into()
                    },
                    vector_store: VectorStoreSettings::Embedded,
                    batch_size: DEFAULT_BATCH_SIZE,
                },
                secrets: vec![],
            }
        );
    }

    #[test]
    fn api_keys_of_index_jobs_are_mounted_secrets_never_values() {
        let settings = parse(&[
            "--job-embedder",
            "openai",
            "--job-openai-base-url",
            "http://vllm:8000/v1",
            "--job-openai-api-key-secret",
            "llm-key",
            "--job-vector-store",
            "qdrant",
            "--job-qdrant-url",
            "http://qdrant:6334",
        ])
        .resolve()
        .unwrap();
        let retrieval = settings.job.retrieval;
        let EmbedderSettings::OpenAi {
            api_key, base_url, ..
        } = &retrieval.settings.embedder
        else {
            panic!("{retrieval:?}")
        };
        assert_eq!(base_url, "http://vllm:8000/v1");
        assert_eq!(
            api_key,
            &Some(Secret::File("/var/run/reposage/openai/api-key".into()))
        );
        assert_eq!(
            retrieval.secrets,
            [SecretMount {
                secret_name: "llm-key".into(),
                volume: "openai-api-key".into(),
                mount_path: OPENAI_KEY_DIR.into(),
            }]
        );
    }

    #[test]
    fn qdrant_without_a_url_or_a_malformed_secret_name_is_refused() {
        let error = parse(&["--job-vector-store", "qdrant"]).resolve().unwrap_err();
        assert!(error.to_string().contains("--job-qdrant-url"), "{error}");
        let error = parse(&[
            "--job-embedder",
            "openai",
            "--job-openai-api-key-secret",
            "Bad Name",
        ])
        .resolve()
        .unwrap_err();
        assert!(
            error.to_string().contains("--job-openai-api-key-secret"),
            "{error}"
        );
        // Every dot-separated label is checked, not only the name's ends.
        for bad in ["a..b", "-a.b", "a.-b"] {
            let error = parse(&[
                "--job-vector-store",
                "qdrant",
                "--job-qdrant-url",
                "http://qdrant:6334",
                &format!("--job-qdrant-api-key-secret={bad}"),
            ])
            .resolve()
            .unwrap_err();
            assert!(error.to_string().contains("not a Secret name"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_blank_watch_namespace_means_all_namespaces() {
        let settings = parse(&["--watch-namespace", " "]).resolve().unwrap();
        assert_eq!(settings.watch_namespace, None);
        let settings = parse(&["--watch-namespace", "team-a"]).resolve().unwrap();
        assert_eq!(settings.watch_namespace.as_deref(), Some("team-a"));
    }
}
