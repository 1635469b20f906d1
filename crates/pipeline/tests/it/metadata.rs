//! Metadata extraction through the pipeline: README, license, manifests, project files and
//! Kubernetes objects land in Postgres and make up the repository overview.

use reposage_pipeline::StageReport;
use reposage_store::Store;
use reposage_testkit::{Entry, GitFixture};
use sqlx::PgPool;

use crate::{index, request};

const MIT: &str = "MIT License\n\nCopyright (c) 2026 Example\n\nPermission is hereby granted, free of charge, to any \
person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the \
Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, \
distribute, sublicense, and/or sell copies of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY \
OF ANY KIND, EXPRESS OR IMPLIED.\n";

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_overview_has_readme_license_manifests_project_files_and_kubernetes_objects(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "project",
        &[
            (
                "README.md",
                Entry::text("# Demo Service\n\n[![ci](https://x/badge.svg)](https://x)\n\nA service that **demos** things.\n\n## Usage\n\nRun it.\n"),
            ),
            ("LICENSE", Entry::text(MIT)),
            (
                "Cargo.toml",
                Entry::text(
                    "[package]\nname = \"demo\"\nversion = \"0.3.0\"\ndescription = \"A demo\"\n\n[dependencies]\nserde = \"1\"\ntokio = { version = \"1.40\", features = [\"full\"] }\n\n[dev-dependencies]\ntempfile = \"3\"\n",
                ),
            ),
            ("src/main.rs", Entry::text("fn main() {}\n")),
            (".github/workflows/ci.yml", Entry::text("on: push\njobs: {}\n")),
            ("Dockerfile", Entry::text("FROM scratch\n")),
            (
                "deploy/app.yaml",
                Entry::text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: demo\n"),
            ),
        ],
    );
    let summary = index(&store, request(&fixture, "meta")).await;
    let overview = store.repository_overview(summary.repository_id).await.unwrap();

    let readme = overview.readme.unwrap();
    assert_eq!(readme.path, "README.md");
    assert_eq!(readme.title.as_deref(), Some("Demo Service"));
    assert_eq!(readme.summary.as_deref(), Some("A service that demos things."));
    assert_eq!(readme.sections, ["Demo Service", "Usage"]);
    let license = overview.license.unwrap();
    assert_eq!(
        (license.path.as_str(), license.spdx_id.as_str()),
        ("LICENSE", "MIT")
    );

    assert_eq!(overview.manifests.len(), 1);
    let cargo = &overview.manifests[0];
    assert_eq!(
        (cargo.ecosystem.as_str(), cargo.name.as_deref()),
        ("cargo", Some("demo"))
    );
    assert_eq!(cargo.version.as_deref(), Some("0.3.0"));
    let deps: Vec<(&str, Option<&str>, &str)> = cargo
        .dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.version_req.as_deref(), d.kind.as_str()))
        .collect();
    assert_eq!(
        deps,
        [
            ("serde", Some("1"), "runtime"),
            ("tokio", Some("1.40"), "runtime"),
            ("tempfile", Some("3"), "dev")
        ]
    );

    let kinds: Vec<(&str, &str)> = overview
        .project_files
        .iter()
        .map(|p| (p.path.as_str(), p.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (".github/workflows/ci.yml", "ci"),
            ("Dockerfile", "dockerfile"),
            ("src/main.rs", "entry-point")
        ]
    );
    assert_eq!(overview.project_files[0].detail.0["provider"], "github-actions");
    let objects: Vec<(&str, &str, Option<&str>)> = overview
        .kubernetes_objects
        .iter()
        .map(|o| (o.api_version.as_str(), o.kind.as_str(), o.name.as_deref()))
        .collect();
    assert_eq!(
        objects,
        [
            ("apps/v1", "Deployment", Some("demo")),
            ("v1", "Service", Some("demo"))
        ]
    );

    let events = store.run_events(summary.run_id).await.unwrap();
    let metadata = events
        .iter()
        .find(|e| e.stage == "analyse" && e.status == "completed")
        .unwrap();
    let StageReport::Analyse(report) =
        StageReport::from_event(&metadata.stage, metadata.data.clone()).unwrap()
    else {
        panic!("not the analyse stage's report: {metadata:?}");
    };
    assert!(report.metadata.readme_found);
    assert_eq!(report.metadata.dependencies_found, 3);
    assert_eq!(report.metadata.config_files, 3);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_malformed_manifest_is_recorded_with_its_error_and_the_run_goes_on(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "broken",
        &[
            (
                "package.json",
                Entry::text("{\"name\": \"x\", \"dependencies\": {"),
            ),
            ("a.js", Entry::text("f()")),
        ],
    );
    let summary = index(&store, request(&fixture, "broken")).await;
    let overview = store.repository_overview(summary.repository_id).await.unwrap();
    assert_eq!(overview.manifests[0].ecosystem, "npm");
    assert!(overview.manifests[0].error.is_some());
    assert_eq!(summary.stats.analysed_files, 2);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_changed_manifest_replaces_its_dependencies(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "A",
        &[(
            "go.mod",
            Entry::text("module example.com/a\n\ngo 1.22\n\nrequire github.com/x/y v1.0.0\n"),
        )],
    );
    index(&store, request(&fixture, "go")).await;
    fixture.commit(
        "main",
        "B",
        &[(
            "go.mod",
            Entry::text("module example.com/a\n\ngo 1.22\n\nrequire github.com/z/w v2.1.0\n"),
        )],
    );
    let summary = index(&store, request(&fixture, "go")).await;
    let overview = store.repository_overview(summary.repository_id).await.unwrap();
    let names: Vec<&str> = overview.manifests[0]
        .dependencies
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["github.com/z/w"]);
}
