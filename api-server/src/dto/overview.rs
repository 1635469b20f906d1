//! `GET /api/v1/repositories/{id}/overview`: what a repository says about itself.

use serde::Serialize;

/// The overview: README summary, license, manifests with dependencies, project files and
/// Kubernetes objects of the repository's current index.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// The README closest to the root.
    pub readme: Option<Readme>,
    /// The license file closest to the root.
    pub license: Option<License>,
    /// Every manifest, by path.
    pub manifests: Vec<Manifest>,
    /// CI pipelines, container files, charts, Makefiles and entry points, by path.
    pub project_files: Vec<ProjectFile>,
    /// Kubernetes objects declared in YAML files, by path.
    pub kubernetes_objects: Vec<KubernetesObject>,
}

/// The root README's summary.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readme {
    /// Path.
    pub path: String,
    /// First heading.
    pub title: Option<String>,
    /// First paragraph.
    pub summary: Option<String>,
    /// Headings, in order.
    pub sections: Vec<String>,
}

/// The root license.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct License {
    /// Path.
    pub path: String,
    /// SPDX id.
    pub spdx_id: String,
    /// Detection confidence, 0.6–1.0.
    pub confidence: f32,
}

/// A package manifest with its dependencies.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Path.
    pub path: String,
    /// `cargo`, `npm`, `pypi`, `go`, `maven`, `gradle`, `rubygems`, `composer` or `nuget`.
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
    pub entry_points: Vec<String>,
    /// Workspace members.
    pub workspace_members: Vec<String>,
    /// Why the manifest could not be parsed, when it could not.
    pub error: Option<String>,
    /// Declared dependencies.
    pub dependencies: Vec<Dependency>,
}

/// One declared dependency.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// Package name.
    pub name: String,
    /// Version requirement.
    pub version_req: Option<String>,
    /// `runtime`, `dev` or `build`.
    pub kind: String,
}

/// A project file: CI pipeline, container file, chart, Makefile or entry point.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectFile {
    /// Path.
    pub path: String,
    /// `ci`, `dockerfile`, `compose`, `helm-chart`, `kustomization`, `makefile` or `entry-point`.
    pub kind: String,
    /// Details by kind (CI provider, chart folder, entry-point language).
    pub detail: serde_json::Value,
}

/// A Kubernetes object declared in a YAML file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesObject {
    /// File.
    pub path: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: Option<String>,
}

impl From<reposage_store::RepositoryOverview> for Overview {
    fn from(overview: reposage_store::RepositoryOverview) -> Self {
        let reposage_store::RepositoryOverview {
            readme,
            license,
            manifests,
            project_files,
            kubernetes_objects,
        } = overview;
        Self {
            readme: readme.map(
                |reposage_store::ReadmeSummary {
                     path,
                     title,
                     summary,
                     sections,
                 }| Readme {
                    path,
                    title,
                    summary,
                    sections,
                },
            ),
            license: license.map(
                |reposage_store::LicenseSummary {
                     path,
                     spdx_id,
                     confidence,
                 }| License {
                    path,
                    spdx_id,
                    confidence,
                },
            ),
            manifests: manifests.into_iter().map(Manifest::from).collect(),
            project_files: project_files
                .into_iter()
                .map(
                    |reposage_store::ProjectFileSummary { path, kind, detail }| ProjectFile {
                        path,
                        kind,
                        detail: detail.0,
                    },
                )
                .collect(),
            kubernetes_objects: kubernetes_objects
                .into_iter()
                .map(
                    |reposage_store::KubernetesObjectSummary {
                         path,
                         api_version,
                         kind,
                         name,
                     }| KubernetesObject {
                        path,
                        api_version,
                        kind,
                        name,
                    },
                )
                .collect(),
        }
    }
}

impl From<reposage_store::ManifestSummary> for Manifest {
    fn from(manifest: reposage_store::ManifestSummary) -> Self {
        let reposage_store::ManifestSummary {
            path,
            ecosystem,
            name,
            version,
            description,
            license,
            entry_points,
            workspace_members,
            error,
            dependencies,
        } = manifest;
        Self {
            path,
            ecosystem,
            name,
            version,
            description,
            license,
            entry_points,
            workspace_members,
            error,
            dependencies: dependencies
                .into_iter()
                .map(
                    |reposage_store::DependencySummary {
                         name,
                         version_req,
                         kind,
                     }| Dependency {
                        name,
                        version_req,
                        kind,
                    },
                )
                .collect(),
        }
    }
}
