//! The `reposage-operator` binary's command line.

use std::process::Command;

fn operator() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reposage-operator"));
    command.env_remove("DATABASE_URL").env("RUST_LOG", "warn");
    command
}

#[test]
fn crds_writes_both_definitions_into_the_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let output = operator()
        .args(["crds", "--output-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (file, yaml) in reposage_crd::generate::crd_files() {
        let written = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(written, yaml, "{file}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn help_explains_every_option_and_where_the_database_url_comes_from() {
    let output = operator().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--job-runner-image",
        "--image-pull-policy",
        "--job-service-account",
        "--database-secret-name",
        "--job-backoff-limit",
        "--job-ttl-seconds",
        "--job-cpu-request",
        "--job-cpu-limit",
        "--job-memory-request",
        "--job-memory-limit",
        "--metrics-listen",
        "--watch-namespace",
        "--allowed-git-host",
        "REPOSAGE_ALLOWED_GIT_HOSTS",
        "--job-embedder",
        "--job-embedding-model-dir",
        "--job-openai-base-url",
        "--job-openai-api-key-secret",
        "--job-vector-store",
        "--job-qdrant-url",
        "--job-qdrant-api-key-secret",
        "--database-url-file",
        "crds",
        "migrate",
        "DATABASE_URL",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}:\n{help}");
    }
    assert!(
        !help.contains("--database-url "),
        "the URL itself is never a flag"
    );
}

#[test]
fn migrate_without_a_database_url_fails_with_a_hint() {
    let output = operator().arg("migrate").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("set DATABASE_URL"), "{stderr}");
}

#[test]
fn an_invalid_pull_policy_stops_the_operator_before_it_connects() {
    let output = operator()
        .args(["run", "--image-pull-policy", "Sometimes"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--image-pull-policy"), "{stderr}");
}
