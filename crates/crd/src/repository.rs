//! The `Repository` kind: a Git repository RepoSage keeps indexed.

use std::collections::BTreeMap;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::core::Duration;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Default polling interval when `spec.interval` is not set.
pub const DEFAULT_INTERVAL: &str = "10m";
/// Default deadline of one index run when `spec.timeout` is not set.
pub const DEFAULT_TIMEOUT: &str = "30m";
/// Default cap on a single file's size; larger files are recorded and skipped.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Default cap on the number of files analysed.
pub const DEFAULT_MAX_FILES: u64 = 100_000;
/// Default cap on the bytes fetched for one repository.
pub const DEFAULT_MAX_REPOSITORY_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The URL forms a Repository accepts: `https://…`, `ssh://…` or scp-like `user@host:path`.
pub const URL_PATTERN: &str = r"^(https://[^\s/@]+/\S+|ssh://\S+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+)$";

/// A Git repository that RepoSage clones, analyses and indexes for search and chat.
///
/// The operator runs an index Job when the Repository is created or its spec changes, when the
/// `reposage.dev/requestedAt` annotation changes, and (once polling lands) when the remote ref moves.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "reposage.dev",
    version = "v1alpha1",
    kind = "Repository",
    plural = "repositories",
    namespaced,
    status = "RepositoryStatus",
    shortname = "repo",
    category = "reposage",
    doc = "A Git repository that RepoSage clones, analyses and indexes for search and chat.",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Revision",
        type_ = "string",
        json_path = ".status.lastIndexedRevision"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    printcolumn(name = "Files", type_ = "integer", json_path = ".status.stats.files"),
    printcolumn(name = "Chunks", type_ = "integer", json_path = ".status.stats.chunks"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct RepositorySpec {
    /// Git URL of the repository: `https://host/org/repo(.git)`, `ssh://git@host/org/repo.git` or
    /// scp-like `git@host:org/repo.git`. `file://`, `git://` and `http://` are refused, and so is a
    /// user name or password inside the URL: put credentials in the Secret named by `secretRef`.
    #[schemars(regex(pattern = URL_PATTERN), length(max = 2048))]
    pub url: String,

    /// Which revision to index. Exactly one of `branch`, `tag` or `commit`; when `ref` is omitted the
    /// remote's default branch is indexed.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<GitRef>,

    /// How often to look for new commits on the ref, as a Go duration (`30s`, `10m`, `1h`).
    /// Defaults to `10m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,

    /// Deadline for one index run (fetch, analysis and indexing), as a Go duration. Defaults to `30m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,

    /// When true, no new index runs are started; a run already in progress finishes.
    #[serde(default)]
    pub suspend: bool,

    /// Secret in the same namespace holding Git credentials: `username` + `password` (or a token as
    /// `password`) for https; `identity` (an SSH private key), optional `passphrase` and
    /// `known_hosts` for ssh. Host keys are always verified against `known_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretReference>,

    /// Gitignore-style patterns of paths to analyse; when empty every path is a candidate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 1024)))]
    pub include: Vec<String>,

    /// Gitignore-style patterns of paths never to analyse; they win over `include`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 1024)))]
    pub exclude: Vec<String>,

    /// Size caps that protect the cluster from huge or hostile repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RepositoryLimits>,
}

/// The revision to index: exactly one of `branch`, `tag` or `commit`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("[has(self.branch), has(self.tag), has(self.commit)].filter(x, x).size() == 1").message("exactly one of branch, tag or commit must be set"))]
#[serde(rename_all = "camelCase")]
pub struct GitRef {
    /// Branch to follow, e.g. `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub branch: Option<String>,
    /// Tag to index, e.g. `v1.2.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub tag: Option<String>,
    /// Full 40-character commit SHA-1 to index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{40}$"))]
    pub commit: Option<String>,
}

/// A reference to a Secret in the Repository's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretReference {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Size caps for one repository. Files over a cap are recorded with the reason and skipped; a fetch
/// over `maxRepositoryBytes` is aborted.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryLimits {
    /// Largest file, in bytes, that is analysed. Defaults to 1 MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1_073_741_824_u64))]
    pub max_file_bytes: Option<u64>,
    /// Most files analysed in one run. Defaults to 100000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000_000_u64))]
    pub max_files: Option<u64>,
    /// Most bytes fetched for the repository. Defaults to 2 GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1_099_511_627_776_u64))]
    pub max_repository_bytes: Option<u64>,
}

impl RepositoryLimits {
    /// The cap on one file's size, with the default applied.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES)
    }
    /// The cap on the number of files, with the default applied.
    pub fn max_files(&self) -> u64 {
        self.max_files.unwrap_or(DEFAULT_MAX_FILES)
    }
    /// The cap on fetched bytes, with the default applied.
    pub fn max_repository_bytes(&self) -> u64 {
        self.max_repository_bytes.unwrap_or(DEFAULT_MAX_REPOSITORY_BYTES)
    }
}

/// Observed state of a Repository, written by the operator only.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryStatus {
    /// The `metadata.generation` whose outcome the conditions below describe. While a run for a
    /// newer generation is in progress it lags behind, so kstatus reports the resource as in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Ready`, `Reconciling` and `Stalled` conditions (kstatus conventions) with reason and message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,

    /// The revision last indexed successfully, as `<ref>@sha1:<commit>` (e.g. `main@sha1:4f2c…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_indexed_revision: Option<String>,

    /// When the last successful index run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_indexed_at: Option<Time>,

    /// The index run in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_run: Option<ActiveRun>,

    /// The value of the `reposage.dev/requestedAt` annotation that the last finished run answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_requested_at: Option<String>,

    /// Totals of the last successful index run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<RepositoryStats>,
}

/// An index run started by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveRun {
    /// Name of the Job running the job-runner.
    pub job_name: String,
    /// Id of the run record in the RepoSage database (`GET /api/v1/runs/{id}`).
    pub run_id: String,
    /// When the operator created the Job.
    pub started_at: Time,
}

/// Totals of one index run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryStats {
    /// Files in the indexed tree, skipped ones included.
    pub files: u64,
    /// Lines across analysed files.
    pub lines: u64,
    /// Bytes across analysed files.
    pub bytes: u64,
    /// Symbols (functions, types, …) extracted.
    pub symbols: u64,
    /// Chunks indexed for search.
    pub chunks: u64,
    /// Files per language, by language name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub languages: BTreeMap<String, u64>,
}

impl Repository {
    /// Checks what the schema cannot express; returns the first problem found.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.spec.validate()
    }
}

impl RepositorySpec {
    /// Checks what the schema cannot express (or what a cluster without the schema let through).
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_url(&self.url)?;
        if let Some(git_ref) = &self.git_ref {
            git_ref.validate()?;
        }
        if let Some(secret) = &self.secret_ref
            && !crate::names::is_dns_subdomain(&secret.name)
        {
            return Err(ValidationError::new(
                "spec.secretRef.name",
                format!(
                    "{:?} is not a Secret name (dot-separated labels of lower-case letters, digits and '-')",
                    secret.name
                ),
            ));
        }
        self.interval()?;
        self.timeout()?;
        for (field, patterns) in [("spec.include", &self.include), ("spec.exclude", &self.exclude)] {
            if let Some(bad) = patterns.iter().find(|p| p.trim().is_empty() || p.contains('\0')) {
                return Err(ValidationError::new(field, format!("invalid pattern {bad:?}")));
            }
        }
        Ok(())
    }

    /// The polling interval, with the default applied.
    pub fn interval(&self) -> Result<std::time::Duration, ValidationError> {
        parse_positive_duration(
            "spec.interval",
            self.interval.as_deref().unwrap_or(DEFAULT_INTERVAL),
        )
    }

    /// The deadline of one run, with the default applied.
    pub fn timeout(&self) -> Result<std::time::Duration, ValidationError> {
        parse_positive_duration("spec.timeout", self.timeout.as_deref().unwrap_or(DEFAULT_TIMEOUT))
    }

    /// The limits, with defaults for what is not set.
    pub fn limits(&self) -> RepositoryLimits {
        self.limits.clone().unwrap_or_default()
    }
}

impl GitRef {
    /// Exactly one of branch, tag or commit must be set.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let set = [self.branch.is_some(), self.tag.is_some(), self.commit.is_some()];
        if set.iter().filter(|s| **s).count() != 1 {
            return Err(ValidationError::new(
                "spec.ref",
                "exactly one of branch, tag or commit must be set",
            ));
        }
        if let Some(commit) = &self.commit
            && !(commit.len() == 40
                && commit
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        {
            return Err(ValidationError::new(
                "spec.ref.commit",
                "must be a full 40-character lowercase hex SHA-1",
            ));
        }
        for (field, name) in [("spec.ref.branch", &self.branch), ("spec.ref.tag", &self.tag)] {
            if let Some(name) = name
                && !is_valid_ref_name(name)
            {
                return Err(ValidationError::new(
                    field,
                    format!("{name:?} is not a valid git ref name"),
                ));
            }
        }
        Ok(())
    }

    /// A short human name for the ref: the branch, the tag, or the commit.
    pub fn display_name(&self) -> &str {
        self.branch
            .as_deref()
            .or(self.tag.as_deref())
            .or(self.commit.as_deref())
            .unwrap_or("HEAD")
    }
}

/// Git's own rules for ref names (`git check-ref-format`), the subset that matters for safety.
fn is_valid_ref_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name
            .chars()
            .any(|c| c.is_ascii_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
}

fn validate_url(url: &str) -> Result<(), ValidationError> {
    let lower = url.to_ascii_lowercase();
    let error = |message: &str| Err(ValidationError::new("spec.url", message.to_string()));
    if url.len() > 2048 {
        return error("longer than 2048 characters");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return error("must not contain whitespace or control characters");
    }
    if let Some(rest) = lower.strip_prefix("https://") {
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return error(
                "credentials in the URL are refused: put them in the Secret named by spec.secretRef",
            );
        }
        if authority.is_empty() || rest.len() <= authority.len() + 1 {
            return error("an https URL needs a host and a repository path");
        }
        return Ok(());
    }
    if let Some(rest) = lower.strip_prefix("ssh://") {
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains(':') && authority.split('@').next().is_some_and(|u| u.contains(':')) {
            return error(
                "passwords in the URL are refused: put credentials in the Secret named by spec.secretRef",
            );
        }
        return Ok(());
    }
    for scheme in ["file://", "git://", "http://"] {
        if lower.starts_with(scheme) {
            return error(&format!("the {scheme} scheme is refused: use https:// or ssh://"));
        }
    }
    if lower.contains("://") {
        return error("only https:// and ssh:// URLs are accepted");
    }
    // scp-like syntax: user@host:path
    if is_scp_like(url) {
        Ok(())
    } else {
        error("expected https://host/org/repo, ssh://user@host/org/repo or user@host:org/repo")
    }
}

fn is_scp_like(url: &str) -> bool {
    url.split_once(':').is_some_and(|(user_host, path)| {
        let mut parts = user_host.splitn(2, '@');
        let (user, host) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        !user.is_empty() && !host.is_empty() && !path.is_empty()
    })
}

fn parse_positive_duration(field: &str, value: &str) -> Result<std::time::Duration, ValidationError> {
    let parsed = Duration::from_str(value).map_err(|e| {
        ValidationError::new(
            field,
            format!("{value:?} is not a duration like 30s, 10m or 1h: {e}"),
        )
    })?;
    if parsed.is_negative() || std::time::Duration::from(parsed).is_zero() {
        return Err(ValidationError::new(field, format!("{value:?} must be positive")));
    }
    Ok(parsed.into())
}
