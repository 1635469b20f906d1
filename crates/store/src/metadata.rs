//! Repository metadata rows (written per file by the index run) and the overview assembled from
//! them: the root README and license, manifests with their dependencies, project files and
//! Kubernetes objects.

use sqlx::types::Json;

use crate::{RepositoryId, Result, Store};

/// Metadata found in one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileMetadata {
    /// The README summary, for README files.
    pub readme: Option<ReadmeRow>,
    /// The SPDX id and confidence, for license files.
    pub license: Option<(String, f32)>,
    /// The manifest, for package manifests.
    pub manifest: Option<ManifestRow>,
    /// The project-file kind (`ci`, `dockerfile`, …) and its details as JSON.
    pub project_file: Option<(&'static str, serde_json::Value)>,
    /// Kubernetes objects declared in the file.
    pub kubernetes_objects: Vec<KubernetesObjectRow>,
}

impl FileMetadata {
    /// True when the file carries no metadata at all.
    pub fn is_empty(&self) -> bool {
        self.readme.is_none()
            && self.license.is_none()
            && self.manifest.is_none()
            && self.project_file.is_none()
            && self.kubernetes_objects.is_empty()
    }
}

/// A Kubernetes object: (apiVersion, kind, metadata.name).
pub type KubernetesObjectRow = (String, String, Option<String>);

/// A README's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadmeRow {
    /// First heading.
    pub title: Option<String>,
    /// First paragraph.
    pub summary: Option<String>,
    /// All headings.
    pub sections: Vec<String>,
}

/// A package manifest (or why it could not be read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestRow {
    /// `cargo`, `npm`, `pypi`, `go`, `maven`, `gradle`, `rubygems`, `composer`, `nuget`.
    pub ecosystem: &'static str,
    /// Package name.
    pub name: Option<String>,
    /// Package version.
    pub version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Homepage.
    pub homepage: Option<String>,
    /// Source repository URL.
    pub repository_url: Option<String>,
    /// License as written.
    pub license: Option<String>,
    /// Entry points.
    pub entry_points: Vec<String>,
    /// Workspace members.
    pub workspace_members: Vec<String>,
    /// Dependencies: (name, version requirement, `runtime`/`dev`/`build`).
    pub dependencies: Vec<(String, Option<String>, &'static str)>,
    /// Why the manifest could not be parsed, when it could not.
    pub error: Option<String>,
}

/// What a repository says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryOverview {
    /// The README closest to the root.
    pub readme: Option<ReadmeSummary>,
    /// The license file closest to the root.
    pub license: Option<LicenseSummary>,
    /// Every manifest, by path.
    pub manifests: Vec<ManifestSummary>,
    /// CI pipelines, container files, charts, Makefiles and entry points, by path.
    pub project_files: Vec<ProjectFileSummary>,
    /// Kubernetes objects declared in YAML files, by path.
    pub kubernetes_objects: Vec<KubernetesObjectSummary>,
}

/// The README of the overview.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReadmeSummary {
    /// Path.
    pub path: String,
    /// First heading.
    pub title: Option<String>,
    /// First paragraph.
    pub summary: Option<String>,
    /// Headings.
    #[sqlx(json)]
    pub sections: Vec<String>,
}

/// The license of the overview.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LicenseSummary {
    /// Path.
    pub path: String,
    /// SPDX id.
    pub spdx_id: String,
    /// Detection confidence, 0.6–1.0.
    pub confidence: f32,
}

/// A manifest with its dependencies.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ManifestSummary {
    /// Path.
    pub path: String,
    /// Ecosystem.
    pub ecosystem: String,
    /// Package name.
    pub name: Option<String>,
    /// Package version.
    pub version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// License as written.
    pub license: Option<String>,
    /// Entry points.
    #[sqlx(json)]
    pub entry_points: Vec<String>,
    /// Workspace members.
    #[sqlx(json)]
    pub workspace_members: Vec<String>,
    /// Why it could not be parsed.
    pub error: Option<String>,
    /// Declared dependencies.
    #[sqlx(json)]
    pub dependencies: Vec<DependencySummary>,
}

/// One dependency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct DependencySummary {
    /// Package name.
    pub name: String,
    /// Version requirement.
    pub version_req: Option<String>,
    /// `runtime`, `dev` or `build`.
    pub kind: String,
}

/// A project file.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProjectFileSummary {
    /// Path.
    pub path: String,
    /// `ci`, `dockerfile`, `compose`, `helm-chart`, `kustomization`, `makefile`, `entry-point`.
    pub kind: String,
    /// Details (CI provider, chart folder, entry-point language).
    pub detail: Json<serde_json::Value>,
}

/// A Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KubernetesObjectSummary {
    /// File.
    pub path: String,
    /// apiVersion.
    pub api_version: String,
    /// kind.
    pub kind: String,
    /// metadata.name.
    pub name: Option<String>,
}

impl Store {
    /// What the repository's current index says about it.
    pub async fn repository_overview(&self, repository_id: RepositoryId) -> Result<RepositoryOverview> {
        // "closest to the root": fewest folders, then shortest path
        let readme = sqlx::query_as(
            "SELECT f.path, r.title, r.summary, r.sections FROM readmes r JOIN files f ON f.id = r.file_id
             WHERE r.repository_id = $1
             ORDER BY length(f.path) - length(replace(f.path, '/', '')), length(f.path), f.path LIMIT 1",
        )
        .bind(repository_id)
        .fetch_optional(&self.pool)
        .await?;
        let license = sqlx::query_as(
            "SELECT f.path, l.spdx_id, l.confidence FROM licenses l JOIN files f ON f.id = l.file_id
             WHERE l.repository_id = $1
             ORDER BY length(f.path) - length(replace(f.path, '/', '')), length(f.path), f.path LIMIT 1",
        )
        .bind(repository_id)
        .fetch_optional(&self.pool)
        .await?;
        let manifests = sqlx::query_as(
            "SELECT f.path, m.ecosystem, m.name, m.version, m.description, m.license, m.entry_points,
                    m.workspace_members, m.error,
                    COALESCE((SELECT jsonb_agg(jsonb_build_object('name', d.name, 'version_req', d.version_req,
                                                                  'kind', d.kind) ORDER BY d.id)
                              FROM dependencies d WHERE d.file_id = m.file_id), '[]'::jsonb) AS dependencies
             FROM manifests m JOIN files f ON f.id = m.file_id
             WHERE m.repository_id = $1 ORDER BY f.path",
        )
        .bind(repository_id)
        .fetch_all(&self.pool)
        .await?;
        let project_files = sqlx::query_as(
            "SELECT f.path, p.kind, p.detail FROM project_files p JOIN files f ON f.id = p.file_id
             WHERE p.repository_id = $1 ORDER BY f.path",
        )
        .bind(repository_id)
        .fetch_all(&self.pool)
        .await?;
        let kubernetes_objects = sqlx::query_as(
            "SELECT f.path, k.api_version, k.kind, k.name FROM kubernetes_objects k JOIN files f ON f.id = k.file_id
             WHERE k.repository_id = $1 ORDER BY f.path, k.id",
        )
        .bind(repository_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(RepositoryOverview {
            readme,
            license,
            manifests,
            project_files,
            kubernetes_objects,
        })
    }
}

/// Inserts the metadata of a batch's files (whose rows have ids `file_ids`).
pub(crate) async fn insert_metadata(
    tx: &mut sqlx::PgConnection,
    repository_id: RepositoryId,
    files: &[(i64, &FileMetadata)],
) -> Result<()> {
    for (file_id, metadata) in files {
        if let Some(readme) = &metadata.readme {
            sqlx::query(
                "INSERT INTO readmes (file_id, repository_id, title, summary, sections) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(file_id)
            .bind(repository_id)
            .bind(&readme.title)
            .bind(&readme.summary)
            .bind(Json(&readme.sections))
            .execute(&mut *tx)
            .await?;
        }
        if let Some((spdx_id, confidence)) = &metadata.license {
            sqlx::query(
                "INSERT INTO licenses (file_id, repository_id, spdx_id, confidence) VALUES ($1, $2, $3, $4)",
            )
            .bind(file_id)
            .bind(repository_id)
            .bind(spdx_id)
            .bind(confidence)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(manifest) = &metadata.manifest {
            insert_manifest(tx, repository_id, *file_id, manifest).await?;
        }
        if let Some((kind, detail)) = &metadata.project_file {
            sqlx::query(
                "INSERT INTO project_files (file_id, repository_id, kind, detail) VALUES ($1, $2, $3, $4)",
            )
            .bind(file_id)
            .bind(repository_id)
            .bind(kind)
            .bind(detail)
            .execute(&mut *tx)
            .await?;
        }
        if !metadata.kubernetes_objects.is_empty() {
            let column = |f: fn(&KubernetesObjectRow) -> Option<&str>| {
                metadata.kubernetes_objects.iter().map(f).collect::<Vec<_>>()
            };
            sqlx::query(
                "INSERT INTO kubernetes_objects (file_id, repository_id, api_version, kind, name)
                 SELECT $1, $2, * FROM UNNEST($3::text[], $4::text[], $5::text[])",
            )
            .bind(file_id)
            .bind(repository_id)
            .bind(column(|o| Some(o.0.as_str())))
            .bind(column(|o| Some(o.1.as_str())))
            .bind(column(|o| o.2.as_deref()))
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

async fn insert_manifest(
    tx: &mut sqlx::PgConnection,
    repository_id: RepositoryId,
    file_id: i64,
    manifest: &ManifestRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO manifests (file_id, repository_id, ecosystem, name, version, description, homepage,
                                repository_url, license, entry_points, workspace_members, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(file_id)
    .bind(repository_id)
    .bind(manifest.ecosystem)
    .bind(&manifest.name)
    .bind(&manifest.version)
    .bind(&manifest.description)
    .bind(&manifest.homepage)
    .bind(&manifest.repository_url)
    .bind(&manifest.license)
    .bind(Json(&manifest.entry_points))
    .bind(Json(&manifest.workspace_members))
    .bind(&manifest.error)
    .execute(&mut *tx)
    .await?;
    if !manifest.dependencies.is_empty() {
        let deps = &manifest.dependencies;
        sqlx::query(
            "INSERT INTO dependencies (repository_id, file_id, manifest_path, ecosystem, name, version_req, kind)
             SELECT $1, $2, f.path, $3, d.name, d.version_req, d.kind
             FROM files f, UNNEST($4::text[], $5::text[], $6::text[]) AS d(name, version_req, kind)
             WHERE f.id = $2",
        )
        .bind(repository_id)
        .bind(file_id)
        .bind(manifest.ecosystem)
        .bind(deps.iter().map(|d| d.0.as_str()).collect::<Vec<_>>())
        .bind(deps.iter().map(|d| d.1.as_deref()).collect::<Vec<_>>())
        .bind(deps.iter().map(|d| d.2).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
