//! The index Job of a Repository: a pure function of the Repository and the [`JobSettings`]. What
//! the job-runner is to do travels as one typed [`IndexJob`] contract (JSON in the container's
//! [`INDEX_JOB_ENV`] variable), which the job-runner reads back with the same type.
//!
//! Names are deterministic: the same Repository generation and `reposage.dev/requestedAt` value
//! always yield the same Job name and run id, so a reconcile that runs twice (a restart, a missed
//! watch event) finds the Job it created instead of starting a second run.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext, Volume,
    VolumeMount,
};
use kube::api::ObjectMeta;
use kube::{Resource, ResourceExt};
use reposage_contract::{GitRef, INDEX_JOB_ENV, IndexJob, IndexLimits};
use reposage_crd::{GitRef as GitRefSpec, REQUESTED_AT_ANNOTATION, Repository};
use reposage_store::RunId;
use uuid::Uuid;

use crate::config::JobSettings;
use crate::{Error, Result};

/// Namespace of the name-based (v5) UUIDs that name index runs.
pub const RUN_NAMESPACE: Uuid = Uuid::from_u128(0xa294_6e6c_5250_5b7f_9707_2852_736a_cee2);

/// `app.kubernetes.io/name` of everything RepoSage creates.
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/component` of index Jobs and their pods.
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
/// `app.kubernetes.io/managed-by`: the operator's Jobs carry it, and its Job watch selects on it.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Name of the Repository a Job indexes (cut to the 63 characters a label value allows).
pub const LABEL_REPOSITORY: &str = "reposage.dev/repository";
/// UID of the Repository a Job indexes; clean-up selects the Jobs to delete on it.
pub const LABEL_REPOSITORY_UID: &str = "reposage.dev/repository-uid";
/// Id of the run a Job performs (the run record in Postgres).
pub const LABEL_RUN_ID: &str = "reposage.dev/run-id";
/// The value of [`LABEL_MANAGED_BY`].
pub const MANAGED_BY: &str = "reposage-operator";
/// Label selector of every Job the operator manages.
pub const MANAGED_BY_SELECTOR: &str = "app.kubernetes.io/managed-by=reposage-operator";

/// Name of the job-runner container.
pub const CONTAINER_NAME: &str = "job-runner";
/// Where the job-runner's scratch volume is mounted (the root filesystem is read-only).
pub const WORK_DIR: &str = "/work";
/// Where the Secret named by `spec.secretRef` is mounted, read-only.
pub const CREDENTIALS_DIR: &str = "/var/run/reposage/git-credentials";
/// Key of the database Secret holding the Job's `DATABASE_URL`.
pub const DATABASE_SECRET_KEY: &str = "url";
/// The unprivileged user, group and fs group Job pods run as (distroless `nonroot`).
pub const RUN_AS: i64 = 65532;
/// Longest Repository name prefix kept in a Job name; the rest of the name is a hash.
const JOB_NAME_PREFIX_LEN: usize = 40;
/// Hex characters of the run key's hash in a Job name.
const JOB_NAME_HASH_LEN: usize = 10;
/// Longest Kubernetes label value.
const MAX_LABEL_VALUE_LEN: usize = 63;

/// The index Job for `repo` as it is now (its UID, generation and `reposage.dev/requestedAt`
/// annotation), and the id of the run it performs.
pub fn build_index_job(repo: &Repository, settings: &JobSettings) -> Result<(Job, RunId)> {
    let JobSettings {
        image,
        image_pull_policy,
        service_account,
        database_secret_name,
        backoff_limit,
        ttl_seconds_after_finished,
        resources,
        allowed_git_hosts,
        retrieval,
    } = settings;
    let name = repo
        .meta()
        .name
        .clone()
        .ok_or(Error::MissingObjectKey("metadata.name"))?;
    let namespace = repo
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let uid = repository_uid(repo)?;
    let (job_name, run_id) = index_run_name(repo)?;
    let owner = repo
        .controller_owner_ref(&())
        .ok_or(Error::MissingObjectKey("metadata.uid"))?;
    let timeout = repo.spec.timeout().map_err(Error::InvalidSpec)?;
    let limits = repo.spec.limits();

    let labels = BTreeMap::from([
        (LABEL_NAME.to_string(), "reposage".to_string()),
        (LABEL_COMPONENT.to_string(), "index-job".to_string()),
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
        (LABEL_REPOSITORY.to_string(), label_value(&name)),
        (LABEL_REPOSITORY_UID.to_string(), uid.to_string()),
        (LABEL_RUN_ID.to_string(), run_id.to_string()),
    ]);

    let mut contract = IndexJob {
        git_ref: match &repo.spec.git_ref {
            Some(GitRefSpec {
                branch: Some(branch), ..
            }) => GitRef::Branch(branch.clone()),
            Some(GitRefSpec { tag: Some(tag), .. }) => GitRef::Tag(tag.clone()),
            Some(GitRefSpec {
                commit: Some(commit), ..
            }) => GitRef::Commit(commit.clone()),
            _ => GitRef::Default,
        },
        repository_id: Some(uid),
        name: Some(name.clone()),
        run_id: Some(run_id.0),
        include: repo.spec.include.clone(),
        exclude: repo.spec.exclude.clone(),
        limits: IndexLimits {
            max_file_bytes: limits.max_file_bytes(),
            max_files: limits.max_files(),
            max_repository_bytes: limits.max_repository_bytes(),
            fetch_timeout_seconds: fetch_timeout_seconds(timeout),
            ..IndexLimits::default()
        },
        allowed_hosts: allowed_git_hosts.clone(),
        work_dir: Some(WORK_DIR.into()),
        retrieval: retrieval.settings.clone(),
        ..IndexJob::new(repo.spec.url.clone(), namespace.clone())
    };

    let mut volumes = vec![Volume {
        name: "work".to_string(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }];
    let mut volume_mounts = vec![VolumeMount {
        name: "work".to_string(),
        mount_path: WORK_DIR.to_string(),
        ..VolumeMount::default()
    }];
    if let Some(secret) = &repo.spec.secret_ref {
        volumes.push(Volume {
            name: "git-credentials".to_string(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.name.clone()),
                default_mode: Some(0o400),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        volume_mounts.push(VolumeMount {
            name: "git-credentials".to_string(),
            mount_path: CREDENTIALS_DIR.to_string(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
        contract.credentials_dir = Some(CREDENTIALS_DIR.into());
    }
    for secret in &retrieval.secrets {
        volumes.push(Volume {
            name: secret.volume.clone(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.secret_name.clone()),
                default_mode: Some(0o400),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        volume_mounts.push(VolumeMount {
            name: secret.volume.clone(),
            mount_path: secret.mount_path.clone(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }

    let env = vec![
        EnvVar {
            name: INDEX_JOB_ENV.to_string(),
            value: Some(contract.to_json().map_err(Error::Contract)?),
            ..EnvVar::default()
        },
        EnvVar {
            name: "REPOSAGE_LOG_FORMAT".to_string(),
            value: Some("json".to_string()),
            ..EnvVar::default()
        },
        EnvVar {
            name: "DATABASE_URL".to_string(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: database_secret_name.clone(),
                    key: DATABASE_SECRET_KEY.to_string(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
    ];
    let runtime_default = || {
        Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            localhost_profile: None,
        })
    };

    let job = Job {
        metadata: ObjectMeta {
            name: Some(job_name),
            namespace: Some(namespace),
            labels: Some(labels.clone()),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(*backoff_limit),
            ttl_seconds_after_finished: Some(*ttl_seconds_after_finished),
            active_deadline_seconds: Some(timeout.as_secs_f64().ceil().max(1.0) as i64),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_string()),
                    service_account_name: Some(service_account.clone()),
                    automount_service_account_token: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(RUN_AS),
                        run_as_group: Some(RUN_AS),
                        fs_group: Some(RUN_AS),
                        seccomp_profile: runtime_default(),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![Container {
                        name: CONTAINER_NAME.to_string(),
                        image: Some(image.clone()),
                        image_pull_policy: Some(image_pull_policy.clone()),
                        args: Some(vec!["index".to_string(), "--json".to_string()]),
                        env: Some(env),
                        resources: Some(resources.clone()),
                        security_context: Some(SecurityContext {
                            allow_privilege_escalation: Some(false),
                            read_only_root_filesystem: Some(true),
                            run_as_non_root: Some(true),
                            capabilities: Some(Capabilities {
                                drop: Some(vec!["ALL".to_string()]),
                                add: None,
                            }),
                            seccomp_profile: runtime_default(),
                            ..SecurityContext::default()
                        }),
                        volume_mounts: Some(volume_mounts),
                        ..Container::default()
                    }],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    };
    Ok((job, run_id))
}

/// The job-runner's fetch deadline for a run whose whole deadline (`spec.timeout`, the Job's
/// `activeDeadlineSeconds`) is `timeout`: half of it, at least one second. A fetch that hangs then
/// fails the run with a clear "fetch aborted" error, recorded in the run, instead of the pod being
/// killed with nothing recorded, and the other half is left for the analysis.
pub fn fetch_timeout_seconds(timeout: std::time::Duration) -> u64 {
    (timeout.as_secs() / 2).max(1)
}

/// The Job name and run id of the index run `repo` asks for now. The name changes with the UID,
/// the generation and the `reposage.dev/requestedAt` annotation; it is a valid DNS-1123 label of
/// at most 57 characters whatever the Repository's name.
pub fn index_run_name(repo: &Repository) -> Result<(String, RunId)> {
    let name = repo
        .meta()
        .name
        .as_deref()
        .ok_or(Error::MissingObjectKey("metadata.name"))?;
    let uid = repository_uid(repo)?;
    let generation = repo
        .meta()
        .generation
        .ok_or(Error::MissingObjectKey("metadata.generation"))?;
    let requested_at = repo
        .annotations()
        .get(REQUESTED_AT_ANNOTATION)
        .map(String::as_str)
        .unwrap_or_default();
    let run_key = format!("{uid}/{generation}/{requested_at}");
    let hash = Uuid::new_v5(&RUN_NAMESPACE, run_key.as_bytes())
        .simple()
        .to_string();
    let job_name = format!(
        "{}-index-{}",
        dns_safe_truncate(name, JOB_NAME_PREFIX_LEN),
        &hash[..JOB_NAME_HASH_LEN]
    );
    let run_id = RunId(Uuid::new_v5(
        &RUN_NAMESPACE,
        format!("{uid}/{job_name}").as_bytes(),
    ));
    Ok((job_name, run_id))
}

/// The Repository's UID as the UUID that keys its database rows.
pub fn repository_uid(repo: &Repository) -> Result<Uuid> {
    let uid = repo
        .meta()
        .uid
        .as_deref()
        .ok_or(Error::MissingObjectKey("metadata.uid"))?;
    Uuid::parse_str(uid).map_err(|source| Error::InvalidUid {
        uid: uid.to_string(),
        source,
    })
}

/// `name` made into the start of a DNS-1123 label: lowercase letters, digits and `-`, at most `max`
/// characters, starting and ending with a letter or digit (`repository` when nothing is left).
pub fn dns_safe_truncate(name: &str, max: usize) -> String {
    let mapped: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "repository".to_string()
    } else {
        trimmed.to_string()
    }
}

/// `value` cut to a valid label value: at most 63 characters, starting and ending alphanumeric.
fn label_value(value: &str) -> String {
    let cut: String = value.chars().take(MAX_LABEL_VALUE_LEN).collect();
    cut.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

/// Where an index Job is, from its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobPhase {
    /// Pending or running (or retrying a failed pod).
    Running,
    /// A pod completed successfully.
    Succeeded,
    /// The Job gave up: deadline exceeded, back-off limit reached, …
    Failed {
        /// The `Failed` condition's reason, e.g. `DeadlineExceeded` or `BackoffLimitExceeded`.
        reason: String,
        /// The `Failed` condition's message.
        message: String,
    },
}

/// The phase of `job`: succeeded when a pod succeeded or the `Complete` condition is true, failed
/// when the `Failed` condition is true, running otherwise.
pub fn job_phase(job: &Job) -> JobPhase {
    let Some(status) = &job.status else {
        return JobPhase::Running;
    };
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let is_true = |type_: &str| conditions.iter().find(|c| c.type_ == type_ && c.status == "True");
    if status.succeeded.unwrap_or(0) >= 1 || is_true("Complete").is_some() {
        return JobPhase::Succeeded;
    }
    if let Some(failed) = is_true("Failed") {
        return JobPhase::Failed {
            reason: failed.reason.clone().unwrap_or_else(|| "Failed".to_string()),
            message: failed.message.clone().unwrap_or_default(),
        };
    }
    JobPhase::Running
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use reposage_crd::names::is_dns_label;
    use reposage_crd::{RepositoryLimits, RepositorySpec, SecretReference};

    use super::*;

    const UID: &str = "6f0c1b8e-4a7d-4c1e-9f3a-2b5d7e9c1a30";

    fn settings() -> JobSettings {
        JobSettings {
            image: "ghcr.io/reposage/reposage-job-runner:test".into(),
            image_pull_policy: "IfNotPresent".into(),
            service_account: "reposage-job-runner".into(),
            database_secret_name: "reposage-database".into(),
            backoff_limit: 2,
            ttl_seconds_after_finished: 86_400,
            resources: ResourceRequirements {
                requests: Some(BTreeMap::from([
                    ("cpu".into(), Quantity("500m".into())),
                    ("memory".into(), Quantity("512Mi".into())),
                ])),
                limits: Some(BTreeMap::from([
                    ("cpu".into(), Quantity("2".into())),
                    ("memory".into(), Quantity("2Gi".into())),
                ])),
                ..ResourceRequirements::default()
            },
            allowed_git_hosts: vec![],
            retrieval: job_retrieval_args().resolve().unwrap(),
        }
    }

    fn repo(name: &str) -> Repository {
        let mut repo = Repository::new(
            name,
            RepositorySpec {
                url: "https://github.com/reposage/demo.git".into(),
                git_ref: None,
                interval: None,
                timeout: None,
                suspend: false,
                secret_ref: None,
                include: vec![],
                exclude: vec![],
                limits: None,
            },
        );
        repo.metadata.namespace = Some("team-a".into());
        repo.metadata.uid = Some(UID.into());
        repo.metadata.generation = Some(3);
        repo
    }

    fn args(job: &Job) -> Vec<String> {
        container(job).args.clone().unwrap()
    }

    /// The contract the job-runner reads: the Job's REPOSAGE_INDEX_JOB through the same parser.
    fn contract(job: &Job) -> IndexJob {
        let env = container(job).env.as_ref().unwrap();
        let value = env
            .iter()
            .find(|e| e.name == INDEX_JOB_ENV)
            .and_then(|e| e.value.as_deref())
            .expect("the contract is in the environment");
        IndexJob::from_json(value).unwrap()
    }

    fn job_retrieval_args() -> crate::config::JobRetrievalArgs {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: crate::config::JobRetrievalArgs,
        }
        Cli::parse_from(["operator"]).args
    }

    fn container(job: &Job) -> &Container {
        &pod(job).containers[0]
    }

    fn pod(job: &Job) -> &PodSpec {
        job.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
    }

    fn build(repo: &Repository) -> (Job, RunId) {
        build_index_job(repo, &settings()).unwrap()
    }

    #[test]
    fn a_repository_without_ref_gets_the_default_contract_and_limits() {
        let (job, run_id) = build(&repo("demo"));
        assert_eq!(args(&job), ["index", "--json"]);
        assert_eq!(
            contract(&job),
            IndexJob {
                repository_id: Some(UID.parse().unwrap()),
                name: Some("demo".into()),
                run_id: Some(run_id.0),
                limits: IndexLimits {
                    fetch_timeout_seconds: 900,
                    ..IndexLimits::default()
                },
                work_dir: Some(WORK_DIR.into()),
                retrieval: settings().retrieval.settings,
                ..IndexJob::new("https://github.com/reposage/demo.git", "team-a")
            }
        );
    }

    #[test]
    fn the_fetch_timeout_is_half_of_spec_timeout_and_at_least_a_second() {
        let mut repo = repo("demo");
        repo.spec.timeout = Some("1h".into());
        let job = build(&repo).0;
        assert_eq!(contract(&job).limits.fetch_timeout_seconds, 1800);
        assert_eq!(job.spec.unwrap().active_deadline_seconds, Some(3600));
        for (timeout, expected) in [(1, 1), (3, 1), (601, 300)] {
            assert_eq!(
                fetch_timeout_seconds(std::time::Duration::from_secs(timeout)),
                expected
            );
        }
    }

    #[test]
    fn allowed_git_hosts_and_the_credentials_folder_are_in_the_contract() {
        let mut repo = repo("private");
        repo.spec.secret_ref = Some(SecretReference {
            name: "git-creds".into(),
        });
        let settings = JobSettings {
            allowed_git_hosts: vec!["git.internal.example".into(), "10.1.2.3".into()],
            ..settings()
        };
        let contract = contract(&build_index_job(&repo, &settings).unwrap().0);
        assert_eq!(contract.allowed_hosts, ["git.internal.example", "10.1.2.3"]);
        assert_eq!(
            contract.credentials_dir.as_deref(),
            Some(std::path::Path::new(CREDENTIALS_DIR))
        );
    }

    #[test]
    fn branch_tag_and_commit_become_the_contract_s_ref() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        for (git_ref, expected) in [
            (
                GitRefSpec {
                    branch: Some("main".into()),
                    ..GitRefSpec::default()
                },
                GitRef::Branch("main".into()),
            ),
            (
                GitRefSpec {
                    tag: Some("v1.2.0".into()),
                    ..GitRefSpec::default()
                },
                GitRef::Tag("v1.2.0".into()),
            ),
            (
                GitRefSpec {
                    commit: Some(sha.into()),
                    ..GitRefSpec::default()
                },
                GitRef::Commit(sha.into()),
            ),
        ] {
            let mut repo = repo("demo");
            repo.spec.git_ref = Some(git_ref);
            assert_eq!(contract(&build(&repo).0).git_ref, expected);
        }
    }

    #[test]
    fn include_and_exclude_patterns_and_limits_are_in_the_contract() {
        let mut repo = repo("demo");
        repo.spec.include = vec!["src/**".into(), "*.md".into()];
        repo.spec.exclude = vec!["vendor/".into()];
        repo.spec.limits = Some(RepositoryLimits {
            max_file_bytes: Some(2048),
            max_files: Some(10),
            max_repository_bytes: None,
        });
        let contract = contract(&build(&repo).0);
        assert_eq!(contract.include, ["src/**", "*.md"]);
        assert_eq!(contract.exclude, ["vendor/"]);
        assert_eq!(
            contract.limits,
            IndexLimits {
                max_file_bytes: 2048,
                max_files: 10,
                fetch_timeout_seconds: 900,
                ..IndexLimits::default()
            }
        );
    }

    #[test]
    fn retrieval_secrets_are_mounted_and_named_by_path_only() {
        let settings = JobSettings {
            retrieval: crate::config::JobRetrievalArgs {
                job_embedder: reposage_runtime::EmbedderKind::Openai,
                job_openai_api_key_secret: Some("llm-key".into()),
                ..job_retrieval_args()
            }
            .resolve()
            .unwrap(),
            ..settings()
        };
        let (job, _) = build_index_job(&repo("demo"), &settings).unwrap();
        let reposage_contract::EmbedderSettings::OpenAi { api_key, .. } = contract(&job).retrieval.embedder
        else {
            panic!("not the openai embedder")
        };
        assert_eq!(
            api_key,
            Some(reposage_contract::Secret::File(
                "/var/run/reposage/openai/api-key".into()
            ))
        );
        let volume = pod(&job)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find(|v| v.name == "openai-api-key")
            .unwrap();
        assert_eq!(
            volume.secret.as_ref().unwrap().secret_name.as_deref(),
            Some("llm-key")
        );
        let mount = container(&job)
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.name == "openai-api-key")
            .unwrap();
        assert_eq!(mount.mount_path, "/var/run/reposage/openai");
        assert_eq!(mount.read_only, Some(true));
    }

    #[test]
    fn a_secret_ref_is_mounted_read_only_and_passed_as_a_directory() {
        let mut repo = repo("private");
        repo.spec.secret_ref = Some(SecretReference {
            name: "git-creds".into(),
        });
        let (job, _) = build(&repo);
        assert_eq!(
            contract(&job).credentials_dir.as_deref(),
            Some(std::path::Path::new("/var/run/reposage/git-credentials"))
        );
        let volume = pod(&job)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find(|v| v.name == "git-credentials")
            .unwrap();
        let secret = volume.secret.as_ref().unwrap();
        assert_eq!(secret.secret_name.as_deref(), Some("git-creds"));
        assert_eq!(secret.default_mode, Some(0o400));
        let mount = container(&job)
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.name == "git-credentials")
            .unwrap();
        assert_eq!(mount.mount_path, "/var/run/reposage/git-credentials");
        assert_eq!(mount.read_only, Some(true));
        // the secret's name is the only trace of it: no env value or label mentions it
        let json = serde_json::to_string(&job).unwrap();
        assert_eq!(json.matches("git-creds").count(), 1, "{json}");
    }

    #[test]
    fn without_a_secret_ref_nothing_about_credentials_is_added() {
        let (job, _) = build(&repo("demo"));
        assert_eq!(contract(&job).credentials_dir, None);
        let volumes: Vec<&str> = pod(&job)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(volumes, ["work"]);
    }

    #[test]
    fn job_and_pod_carry_the_labels_and_the_job_is_owned_by_the_repository() {
        let (job, run_id) = build(&repo("demo"));
        let expected = BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), "reposage".to_string()),
            ("app.kubernetes.io/component".to_string(), "index-job".to_string()),
            (
                "app.kubernetes.io/managed-by".to_string(),
                "reposage-operator".to_string(),
            ),
            ("reposage.dev/repository".to_string(), "demo".to_string()),
            ("reposage.dev/repository-uid".to_string(), UID.to_string()),
            ("reposage.dev/run-id".to_string(), run_id.to_string()),
        ]);
        assert_eq!(job.metadata.labels.as_ref(), Some(&expected));
        let template_labels = job
            .spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref();
        assert_eq!(template_labels, Some(&expected));
        assert_eq!(job.metadata.namespace.as_deref(), Some("team-a"));
        let owners = job.metadata.owner_references.as_ref().unwrap();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].kind, "Repository");
        assert_eq!(owners[0].api_version, "reposage.dev/v1alpha1");
        assert_eq!(owners[0].name, "demo");
        assert_eq!(owners[0].uid, UID);
        assert_eq!(owners[0].controller, Some(true));
    }

    #[test]
    fn the_pod_runs_unprivileged_with_a_read_only_root_and_no_token() {
        let (job, _) = build(&repo("demo"));
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.backoff_limit, Some(2));
        assert_eq!(spec.ttl_seconds_after_finished, Some(86_400));
        let pod = pod(&job);
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.service_account_name.as_deref(), Some("reposage-job-runner"));
        assert_eq!(pod.automount_service_account_token, Some(false));
        let pod_security = pod.security_context.as_ref().unwrap();
        assert_eq!(pod_security.run_as_non_root, Some(true));
        assert_eq!(pod_security.run_as_user, Some(65532));
        assert_eq!(pod_security.run_as_group, Some(65532));
        assert_eq!(pod_security.fs_group, Some(65532));
        assert_eq!(
            pod_security.seccomp_profile.as_ref().unwrap().type_,
            "RuntimeDefault"
        );
        let container = container(&job);
        assert_eq!(container.name, "job-runner");
        assert_eq!(
            container.image.as_deref(),
            Some("ghcr.io/reposage/reposage-job-runner:test")
        );
        assert_eq!(container.image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert_eq!(container.resources.as_ref(), Some(&settings().resources));
        let security = container.security_context.as_ref().unwrap();
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.run_as_non_root, Some(true));
        assert_eq!(
            security.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_string()][..])
        );
        assert_eq!(security.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
    }

    #[test]
    fn the_container_gets_a_work_volume_json_logs_and_the_database_url_from_a_secret() {
        let (job, _) = build(&repo("demo"));
        let container = container(&job);
        let work = pod(&job)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find(|v| v.name == "work")
            .unwrap();
        assert!(work.empty_dir.is_some());
        let mount = &container.volume_mounts.as_ref().unwrap()[0];
        assert_eq!(
            (mount.name.as_str(), mount.mount_path.as_str()),
            ("work", "/work")
        );
        let env = container.env.as_ref().unwrap();
        let value = |name: &str| env.iter().find(|e| e.name == name).unwrap();
        assert_eq!(
            contract(&job).work_dir.as_deref(),
            Some(std::path::Path::new("/work"))
        );
        assert_eq!(value("REPOSAGE_LOG_FORMAT").value.as_deref(), Some("json"));
        let database = value("DATABASE_URL");
        assert_eq!(database.value, None);
        let secret = database
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        assert_eq!(
            (secret.name.as_str(), secret.key.as_str()),
            ("reposage-database", "url")
        );
    }

    #[test]
    fn the_active_deadline_is_the_spec_timeout() {
        let mut repo = repo("demo");
        assert_eq!(
            build(&repo).0.spec.unwrap().active_deadline_seconds,
            Some(30 * 60)
        );
        repo.spec.timeout = Some("1h30m".into());
        assert_eq!(
            build(&repo).0.spec.unwrap().active_deadline_seconds,
            Some(90 * 60)
        );
    }

    #[test]
    fn the_same_repository_state_always_yields_the_same_job_name_and_run_id() {
        let (first, first_run) = build(&repo("demo"));
        let (second, second_run) = build(&repo("demo"));
        assert_eq!(first.metadata.name, second.metadata.name);
        assert_eq!(first_run, second_run);
        let name = first.metadata.name.unwrap();
        assert!(name.starts_with("demo-index-"), "{name}");
        assert_eq!(name.len(), "demo-index-".len() + 10);
    }

    #[test]
    fn a_new_generation_or_requested_at_yields_a_new_job_name_and_run_id() {
        let base = build(&repo("demo"));
        let mut newer = repo("demo");
        newer.metadata.generation = Some(4);
        let newer = build(&newer);
        let mut requested = repo("demo");
        requested
            .annotations_mut()
            .insert(REQUESTED_AT_ANNOTATION.into(), "2026-11-22T10:00:00Z".into());
        let requested = build(&requested);
        let names = [&base, &newer, &requested].map(|(job, _)| job.metadata.name.clone().unwrap());
        let runs = [base.1, newer.1, requested.1];
        assert_ne!(names[0], names[1]);
        assert_ne!(names[0], names[2]);
        assert_ne!(names[1], names[2]);
        assert_ne!(runs[0], runs[1]);
        assert_ne!(runs[0], runs[2]);
    }

    #[test]
    fn a_253_character_name_yields_a_dns_label_of_at_most_63_characters() {
        let long = format!("{}.{}", "a".repeat(120), "b".repeat(132));
        assert_eq!(long.len(), 253);
        let (job, _) = build(&repo(&long));
        let name = job.metadata.name.clone().unwrap();
        assert!(name.len() <= 63, "{name} is {} characters", name.len());
        assert!(is_dns_label(&name), "{name}");
        let label = &job.metadata.labels.as_ref().unwrap()["reposage.dev/repository"];
        assert!(label.len() <= 63);
        assert!(label.starts_with('a') && label.ends_with('a'));
    }

    #[test]
    fn dns_safe_truncation_maps_dots_and_trims_dashes() {
        assert_eq!(dns_safe_truncate("My.Repo", 40), "my-repo");
        assert_eq!(dns_safe_truncate("abc-def", 4), "abc");
        assert_eq!(dns_safe_truncate("---", 40), "repository");
        for name in ["x", "a.b.c", "9-lives", "UPPER", "z".repeat(300).as_str()] {
            let job_name = format!("{}-index-0123456789", dns_safe_truncate(name, 40));
            assert!(is_dns_label(&job_name) && job_name.len() <= 63, "{job_name}");
        }
    }

    #[test]
    fn a_repository_without_uid_or_generation_cannot_name_a_job() {
        let mut no_uid = repo("demo");
        no_uid.metadata.uid = None;
        assert!(matches!(
            build_index_job(&no_uid, &settings()),
            Err(Error::MissingObjectKey("metadata.uid"))
        ));
        let mut no_generation = repo("demo");
        no_generation.metadata.generation = None;
        assert!(matches!(
            build_index_job(&no_generation, &settings()),
            Err(Error::MissingObjectKey("metadata.generation"))
        ));
        let mut bad_uid = repo("demo");
        bad_uid.metadata.uid = Some("not-a-uuid".into());
        assert!(matches!(
            build_index_job(&bad_uid, &settings()),
            Err(Error::InvalidUid { .. })
        ));
    }

    fn job_with(status: JobStatus) -> Job {
        Job {
            status: Some(status),
            ..Job::default()
        }
    }

    fn condition(type_: &str, status: &str, reason: &str, message: &str) -> JobCondition {
        JobCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            ..JobCondition::default()
        }
    }

    #[test]
    fn a_job_without_status_or_terminal_condition_is_running() {
        assert_eq!(job_phase(&Job::default()), JobPhase::Running);
        assert_eq!(
            job_phase(&job_with(JobStatus {
                active: Some(1),
                failed: Some(1),
                ..JobStatus::default()
            })),
            JobPhase::Running
        );
    }

    #[test]
    fn a_job_succeeds_on_a_succeeded_pod_or_a_complete_condition() {
        assert_eq!(
            job_phase(&job_with(JobStatus {
                succeeded: Some(1),
                ..JobStatus::default()
            })),
            JobPhase::Succeeded
        );
        assert_eq!(
            job_phase(&job_with(JobStatus {
                conditions: Some(vec![condition("Complete", "True", "", "")]),
                ..JobStatus::default()
            })),
            JobPhase::Succeeded
        );
    }

    #[test]
    fn a_job_fails_with_the_reason_of_its_failed_condition() {
        let job = job_with(JobStatus {
            failed: Some(3),
            conditions: Some(vec![
                condition("FailureTarget", "True", "BackoffLimitExceeded", "x"),
                condition(
                    "Failed",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                ),
            ]),
            ..JobStatus::default()
        });
        assert_eq!(
            job_phase(&job),
            JobPhase::Failed {
                reason: "BackoffLimitExceeded".into(),
                message: "Job has reached the specified backoff limit".into(),
            }
        );
        let not_yet = job_with(JobStatus {
            conditions: Some(vec![condition("Failed", "False", "", "")]),
            ..JobStatus::default()
        });
        assert_eq!(job_phase(&not_yet), JobPhase::Running);
    }
}
