//! Repositories and runs.

use axum::http::StatusCode;
use reposage_store::{RunId, RunKind, RunOutcome, StageStatus, Store};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{COMMIT, SeedFile, get, seed_indexed_repository, seed_repository, state};

fn sample_files() -> Vec<SeedFile> {
    vec![
        SeedFile::text("src/main.rs", "rust", "fn main() {\n    println!(\"hi\");\n}\n"),
        SeedFile::text("README.md", "markdown", "# Demo\n"),
        SeedFile::Skipped {
            path: "logo.png",
            reason: reposage_store::SkipReason::Binary,
        },
    ]
}

fn stages_in_order(run: &Value) -> Vec<(i64, String, String)> {
    run["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["stage"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn listing_repositories_returns_each_with_its_file_counts(pool: PgPool) {
    let store = Store::from_pool(pool);
    let indexed = seed_indexed_repository(&store, "team-a", "demo", &sample_files()).await;
    let fresh = seed_repository(&store, "team-b", "fresh").await;

    let answer = get(&state(store), "/api/v1/repositories").await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    let body = answer.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let demo = &items[0];
    assert_eq!(demo["id"], indexed.repository.to_string());
    assert_eq!(demo["namespace"], "team-a");
    assert_eq!(demo["name"], "demo");
    assert_eq!(demo["url"], "https://git.example.org/team-a/demo.git");
    assert_eq!(demo["ref"], json!({ "kind": "branch", "name": "main" }));
    assert_eq!(demo["lastIndexedRevision"], format!("main@sha1:{COMMIT}"));
    assert_eq!(demo["lastIndexedCommit"], COMMIT);
    assert!(demo["lastIndexedAt"].is_string());
    assert_eq!(demo["files"], json!({ "total": 3, "analysed": 2 }));
    assert!(demo["createdAt"].is_string() && demo["updatedAt"].is_string());

    let never_ran = &items[1];
    assert_eq!(never_ran["id"], fresh.to_string());
    assert_eq!(never_ran["ref"], Value::Null);
    assert_eq!(never_ran["lastIndexedRevision"], Value::Null);
    assert_eq!(never_ran["files"], json!({ "total": 0, "analysed": 0 }));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_empty_database_lists_no_repositories(pool: PgPool) {
    let answer = get(&state(Store::from_pool(pool)), "/api/v1/repositories").await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({ "items": [] }));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_repository_comes_with_its_last_run_and_the_events_in_order(pool: PgPool) {
    let store = Store::from_pool(pool);
    let seeded = seed_indexed_repository(&store, "team-a", "demo", &sample_files()).await;

    let answer = get(
        &state(store),
        &format!("/api/v1/repositories/{}", seeded.repository),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["repository"]["id"], seeded.repository.to_string());
    assert_eq!(body["repository"]["files"], json!({ "total": 3, "analysed": 2 }));
    let run = &body["lastRun"];
    assert_eq!(run["id"], seeded.run.to_string());
    assert_eq!(run["repositoryId"], seeded.repository.to_string());
    assert_eq!(run["kind"], "index");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["requestedRef"], "main");
    assert_eq!(run["resolvedRef"], "main");
    assert_eq!(run["commitSha"], COMMIT);
    assert_eq!(run["revision"], format!("main@sha1:{COMMIT}"));
    assert_eq!(run["error"], Value::Null);
    assert_eq!(run["attempts"], 1);
    assert!(run["startedAt"].is_string() && run["finishedAt"].is_string());
    assert_eq!(run["stats"]["files"], 3);
    assert_eq!(run["stats"]["analysedFiles"], 2);
    assert_eq!(run["stats"]["languages"], json!({ "markdown": 1, "rust": 1 }));
    assert_eq!(run["stats"]["skipped"], json!({ "binary": 1 }));

    let expected: Vec<(i64, String, String)> = ["fetch", "analyse", "persist"]
        .iter()
        .flat_map(|stage| [(stage.to_string(), "started"), (stage.to_string(), "completed")])
        .enumerate()
        .map(|(i, (stage, status))| (i as i64 + 1, stage, status.to_string()))
        .collect();
    assert_eq!(stages_in_order(run), expected);
    let first_completed = &run["events"][1];
    assert_eq!(first_completed["type"], "processing.stage.completed");
    assert_eq!(first_completed["durationMs"], 10);
    assert_eq!(first_completed["data"], json!({ "step": 0 }));
    assert_eq!(first_completed["message"], Value::Null);
    assert!(first_completed["at"].is_string());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_repository_that_never_ran_has_a_null_last_run(pool: PgPool) {
    let store = Store::from_pool(pool);
    let id = seed_repository(&store, "team-a", "fresh").await;

    let answer = get(&state(store), &format!("/api/v1/repositories/{id}")).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["lastRun"], Value::Null);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_last_run_is_the_latest_even_when_it_failed(pool: PgPool) {
    let store = Store::from_pool(pool);
    let seeded = seed_indexed_repository(&store, "team-a", "demo", &sample_files()).await;
    let failed = RunId::new_random();
    store
        .start_run(failed, seeded.repository, RunKind::Index, Some("main"))
        .await
        .unwrap();
    store
        .record_event(failed, "fetch", StageStatus::Started, json!({}), None, None)
        .await
        .unwrap();
    store
        .record_event(
            failed,
            "fetch",
            StageStatus::Failed,
            json!({}),
            Some(5),
            Some("remote hung up"),
        )
        .await
        .unwrap();
    store
        .finish_run(
            failed,
            &RunOutcome::Failed {
                error: "fetch failed: remote hung up".to_string(),
            },
        )
        .await
        .unwrap();

    let answer = get(
        &state(store),
        &format!("/api/v1/repositories/{}", seeded.repository),
    )
    .await;

    let body = answer.json();
    assert_eq!(
        body["repository"]["lastIndexedCommit"], COMMIT,
        "the previous index stays"
    );
    let run = &body["lastRun"];
    assert_eq!(run["id"], failed.to_string());
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"], "fetch failed: remote hung up");
    assert_eq!(run["revision"], Value::Null);
    assert_eq!(run["events"][1]["type"], "processing.stage.failed");
    assert_eq!(run["events"][1]["message"], "remote hung up");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_unknown_repository_is_a_404_problem(pool: PgPool) {
    let id = uuid::Uuid::new_v4();

    let answer = get(
        &state(Store::from_pool(pool)),
        &format!("/api/v1/repositories/{id}"),
    )
    .await;

    let problem = answer.assert_problem(StatusCode::NOT_FOUND, "not-found");
    assert_eq!(problem["detail"], format!("repository {id} not found"));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_malformed_repository_id_is_a_422_problem_naming_the_parameter(pool: PgPool) {
    let answer = get(&state(Store::from_pool(pool)), "/api/v1/repositories/not-a-uuid").await;

    let problem = answer.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-parameter");
    assert_eq!(problem["parameter"], "id");
    assert_eq!(problem["detail"], "parameter `id` must be a UUID");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_run_is_served_with_its_events(pool: PgPool) {
    let store = Store::from_pool(pool);
    let seeded = seed_indexed_repository(&store, "team-a", "demo", &sample_files()).await;

    let answer = get(&state(store), &format!("/api/v1/runs/{}", seeded.run)).await;

    assert_eq!(answer.status, StatusCode::OK);
    let run = answer.json();
    assert_eq!(run["id"], seeded.run.to_string());
    assert_eq!(run["status"], "succeeded");
    assert_eq!(stages_in_order(&run).len(), 6);
    assert_eq!(run["events"][0]["type"], "processing.stage.started");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_unknown_run_is_a_404_problem_and_a_malformed_run_id_a_422(pool: PgPool) {
    let state = state(Store::from_pool(pool));
    let id = uuid::Uuid::new_v4();

    let unknown = get(&state, &format!("/api/v1/runs/{id}")).await;
    let malformed = get(&state, "/api/v1/runs/12345").await;

    let problem = unknown.assert_problem(StatusCode::NOT_FOUND, "not-found");
    assert_eq!(problem["detail"], format!("run {id} not found"));
    malformed.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-parameter");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_store_failure_is_a_generic_500_that_leaks_nothing(pool: PgPool) {
    let state = state(Store::from_pool(pool.clone()));
    pool.close().await;

    let answer = get(&state, "/api/v1/repositories").await;

    let problem = answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert_eq!(problem["detail"], "internal error; see server logs");
    assert!(!answer.text.to_lowercase().contains("pool"), "{}", answer.text);
}

/// A symbol row of a function with the given complexity, nesting and length.
fn function(
    name: &str,
    start_line: i32,
    complexity: i32,
    max_nesting: i32,
    lines: i32,
) -> reposage_store::SymbolRow {
    reposage_store::SymbolRow {
        name: name.into(),
        kind: reposage_store::SymbolKind::Function,
        qualified_name: format!("app::{name}"),
        signature: format!("fn {name}()"),
        doc: None,
        visibility: Some("pub".into()),
        start_line,
        end_line: start_line + lines - 1,
        start_byte: 0,
        end_byte: 0,
        parent: None,
        complexity: Some(complexity),
        max_nesting: Some(max_nesting),
        lines: Some(lines),
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn repository_metrics_report_complexity_hotspots_and_technical_debt(pool: PgPool) {
    use reposage_store::{AnalysedFile, CodeRows, CommitSha, FileKind, FileRow, RunId, RunKind, RunStats};
    let store = Store::from_pool(pool);
    let repository = seed_repository(&store, "team-a", "metrics").await;
    let run = RunId::new_random();
    store
        .start_run(run, repository, RunKind::Index, None)
        .await
        .unwrap();
    let file = |path: &str, code_lines: i32, maintainability: f64, symbols| AnalysedFile {
        row: FileRow {
            path: path.into(),
            kind: FileKind::File,
            blob_sha: Some("ab".repeat(20)),
            language: Some("Rust".into()),
            size_bytes: 100,
            lines: code_lines,
            code_lines,
            comment_lines: 0,
            blank_lines: 0,
            skip_reason: None,
            symlink_target: None,
        },
        code: Some(CodeRows {
            parse_status: reposage_store::ParseStatus::Parsed,
            parse_error: None,
            functions: 0,
            complexity: 0,
            max_complexity: 0,
            halstead_volume: 0.0,
            maintainability,
            symbols,
            imports: vec![],
            calls: vec![],
        }),
        metadata: None,
        chunks: vec![],
    };
    let mut writer = store.begin_index(run, repository).await.unwrap();
    writer
        .write(&[
            // 12 → 20 min; nesting 6 → 30 min; 100 lines → 20 min
            file("src/hard.rs", 100, 15.0, vec![function("tangled", 1, 12, 6, 100)]),
            file(
                "src/easy.rs",
                100,
                80.0,
                vec![function("simple", 1, 2, 1, 5), function("branchy", 10, 7, 2, 20)],
            ),
        ])
        .await
        .unwrap();
    let commit = CommitSha::parse(&"c".repeat(40)).unwrap();
    writer
        .commit(&[], "main", &commit, RunStats::default())
        .await
        .unwrap();

    let answer = get(
        &state(store),
        &format!("/api/v1/repositories/{repository}/metrics"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["functions"], 3);
    assert_eq!(body["codeLines"], 200);
    assert_eq!(
        body["complexity"],
        json!({ "low": 1, "moderate": 1, "high": 1, "veryHigh": 0 })
    );
    assert_eq!(body["averageComplexity"], 7.0);
    // weighted by lines of code: (15 * 100 + 80 * 100) / 200
    assert_eq!(body["maintainability"], 47.5);
    assert_eq!(body["unmaintainableFiles"], 1);
    assert_eq!(body["hotspots"][0]["qualifiedName"], "app::tangled");
    assert_eq!(body["hotspots"][0]["path"], "src/hard.rs");
    assert_eq!(body["hotspots"][1]["qualifiedName"], "app::branchy");
    // 20 + 30 + 20 (tangled) + 30 (maintainability below 20) = 100 minutes over 200 × 30 minutes
    assert_eq!(body["technicalDebt"]["minutes"], 100.0);
    let ratio = body["technicalDebt"]["ratioPercent"].as_f64().unwrap();
    assert!((ratio - 100.0 / 6000.0 * 100.0).abs() < 1e-9, "{ratio}");
    assert_eq!(body["technicalDebt"]["rating"], "A");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn metrics_of_an_unknown_repository_are_a_404_problem(pool: PgPool) {
    let answer = get(
        &state(Store::from_pool(pool)),
        "/api/v1/repositories/00000000-0000-0000-0000-000000000000/metrics",
    )
    .await;
    answer.assert_problem(StatusCode::NOT_FOUND, "not-found");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_overview_serves_readme_license_and_manifests(pool: PgPool) {
    use reposage_store::{
        AnalysedFile, CommitSha, FileKind, FileMetadata, FileRow, ManifestRow, ReadmeRow, RunId, RunKind,
        RunStats,
    };
    let store = Store::from_pool(pool);
    let repository = seed_repository(&store, "team-a", "overview").await;
    let run = RunId::new_random();
    store
        .start_run(run, repository, RunKind::Index, None)
        .await
        .unwrap();
    let file = |path: &str, metadata: FileMetadata| AnalysedFile {
        row: FileRow {
            path: path.into(),
            kind: FileKind::File,
            blob_sha: Some("cd".repeat(20)),
            language: None,
            size_bytes: 10,
            lines: 1,
            code_lines: 1,
            comment_lines: 0,
            blank_lines: 0,
            skip_reason: None,
            symlink_target: None,
        },
        code: None,
        metadata: Some(metadata),
        chunks: vec![],
    };
    let readme = |title: &str, summary: Option<&str>| FileMetadata {
        readme: Some(ReadmeRow {
            title: Some(title.into()),
            summary: summary.map(str::to_string),
            sections: vec![title.into()],
        }),
        ..FileMetadata::default()
    };
    let mut writer = store.begin_index(run, repository).await.unwrap();
    writer
        .write(&[
            file("docs/README.md", readme("Docs", None)),
            file("README.md", readme("Demo", Some("Does demos."))),
            file(
                "LICENSE",
                FileMetadata {
                    license: Some(("Apache-2.0".into(), 1.0)),
                    ..FileMetadata::default()
                },
            ),
            file(
                "package.json",
                FileMetadata {
                    manifest: Some(ManifestRow {
                        ecosystem: "npm",
                        name: Some("demo".into()),
                        dependencies: vec![("react".into(), Some("^18".into()), "runtime")],
                        ..ManifestRow::default()
                    }),
                    ..FileMetadata::default()
                },
            ),
        ])
        .await
        .unwrap();
    writer
        .commit(
            &[],
            "main",
            &CommitSha::parse(&"e".repeat(40)).unwrap(),
            RunStats::default(),
        )
        .await
        .unwrap();

    let answer = get(
        &state(store),
        &format!("/api/v1/repositories/{repository}/overview"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["readme"]["path"], "README.md", "the root README wins");
    assert_eq!(body["readme"]["summary"], "Does demos.");
    assert_eq!(body["license"]["spdxId"], "Apache-2.0");
    assert_eq!(body["manifests"][0]["name"], "demo");
    assert_eq!(
        body["manifests"][0]["dependencies"],
        json!([{ "name": "react", "versionReq": "^18", "kind": "runtime" }])
    );
    assert_eq!(body["projectFiles"], json!([]));
    assert_eq!(body["kubernetesObjects"], json!([]));
}
