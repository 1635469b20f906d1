//! The index-job contract end to end: the operator's real Job for a Repository, fed to the real
//! job-runner binary (its clap parser and the contract reader), describes the run the operator meant.

use std::process::{Command, Output};

use clap::Parser;
use reposage_contract::{EmbedderSettings, GitRef, IndexJob, Secret};
use reposage_crd::{GitRef as GitRefSpec, Repository, RepositoryLimits, RepositorySpec, SecretReference};

/// A Repository as the API server would hand it to the operator.
fn repository() -> Repository {
    let mut repo = Repository::new(
        "tool",
        RepositorySpec {
            url: "https://git.example/org/tool.git".into(),
            git_ref: Some(GitRefSpec {
                branch: Some("release".into()),
                ..GitRefSpec::default()
            }),
            interval: None,
            timeout: Some("20m".into()),
            suspend: false,
            secret_ref: Some(SecretReference {
                name: "git-creds".into(),
            }),
            include: vec!["src/**".into()],
            exclude: vec!["docs/**".into()],
            limits: Some(RepositoryLimits {
                max_file_bytes: Some(65_536),
                max_files: Some(500),
                max_repository_bytes: None,
            }),
        },
    );
    repo.metadata.namespace = Some("team-a".into());
    repo.metadata.uid = Some("6f0c1b8e-4a7d-4c1e-9f3a-2b5d7e9c1a30".into());
    repo.metadata.generation = Some(2);
    repo
}

/// The operator's Job for `repository()`, configured by operator flags.
fn operator_job(flags: &[&str]) -> (Vec<String>, Vec<(String, String)>, uuid::Uuid) {
    let config = reposage_operator::Config::try_parse_from(
        std::iter::once("reposage-operator").chain(flags.iter().copied()),
    )
    .unwrap();
    let settings = config.resolve().unwrap();
    let (job, run_id) = reposage_operator::build_index_job(&repository(), &settings.job).unwrap();
    let container = &job.spec.unwrap().template.spec.unwrap().containers[0];
    let env = container
        .env
        .iter()
        .flatten()
        .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
        .collect();
    (container.args.clone().unwrap(), env, run_id.0)
}

/// Runs the job-runner with the Job's arguments and literal environment, plus `extra` arguments,
/// in an environment without the caller's RepoSage settings.
fn job_runner(args: &[String], env: &[(String, String)], extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reposage-job-runner"));
    for (name, _) in std::env::vars() {
        if name.starts_with("REPOSAGE_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .args(extra)
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

#[test]
fn the_job_runner_reads_the_operator_s_index_job_as_the_operator_meant_it() {
    let (args, env, run_id) = operator_job(&[
        "--allowed-git-host",
        "gitea.lan",
        "--job-embedder",
        "openai",
        "--job-openai-base-url",
        "http://vllm:8000/v1",
        "--job-openai-embedding-dimension",
        "384",
        "--job-openai-api-key-secret",
        "llm-key",
    ]);
    let output = job_runner(&args, &env, &["--dry-run"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let job = IndexJob::from_json(std::str::from_utf8(&output.stdout).unwrap().trim()).unwrap();
    assert_eq!(job.url, "https://git.example/org/tool.git");
    assert_eq!(job.namespace, "team-a");
    assert_eq!(job.name.as_deref(), Some("tool"));
    assert_eq!(job.run_id, Some(run_id));
    assert_eq!(job.git_ref, GitRef::Branch("release".into()));
    assert_eq!(
        (job.include, job.exclude),
        (vec!["src/**".to_string()], vec!["docs/**".to_string()])
    );
    assert_eq!((job.limits.max_file_bytes, job.limits.max_files), (65_536, 500));
    assert_eq!(job.limits.fetch_timeout_seconds, 600, "half of spec.timeout");
    assert_eq!(job.allowed_hosts, ["gitea.lan"]);
    assert_eq!(
        job.credentials_dir.as_deref(),
        Some(std::path::Path::new("/var/run/reposage/git-credentials"))
    );
    assert_eq!(
        job.retrieval.embedder,
        EmbedderSettings::OpenAi {
            base_url: "http://vllm:8000/v1".into(),
            model: "text-embedding-3-small".into(),
            dimension: Some(384),
            max_concurrency: 4,
            api_key: Some(Secret::File("/var/run/reposage/openai/api-key".into())),
        }
    );
}

#[test]
fn a_contract_of_another_version_stops_the_job_runner_with_what_to_do() {
    let (args, mut env, _) = operator_job(&[]);
    for (name, value) in &mut env {
        if name == reposage_contract::INDEX_JOB_ENV {
            *value = value.replace("reposage.dev/index-job/v1", "reposage.dev/index-job/v9");
        }
    }
    let output = job_runner(&args, &env, &["--dry-run"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("matching releases"), "{stderr}");
}
