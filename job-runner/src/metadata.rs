//! Turning what `reposage_analysis::metadata` finds in a file into the rows the store keeps.

use reposage_analysis::metadata::{
    self, Manifest, ProjectFile, classify_project_file, detect_license, is_license_path, is_readme_path,
    kubernetes_objects, parse_manifest, parse_readme,
};
use reposage_store::{FileMetadata, ManifestRow, ReadmeRow};

/// The metadata a text file carries, by its path (and, for YAML, its content); `None` for the
/// ordinary files that carry none.
pub(crate) fn file_metadata(path: &str, language: Option<&str>, text: &str) -> Option<FileMetadata> {
    let mut found = FileMetadata::default();
    if is_readme_path(path) {
        let readme = parse_readme(path, text);
        found.readme = Some(ReadmeRow {
            title: readme.title,
            summary: readme.summary,
            sections: readme.sections,
        });
    }
    if is_license_path(path) {
        found.license = detect_license(text).map(|m| (m.spdx_id.to_string(), m.confidence));
    }
    if let Some(parsed) = parse_manifest(path, text) {
        let ecosystem = metadata::manifest_ecosystem(path).map_or("unknown", |e| e.as_str());
        found.manifest = Some(match parsed {
            Ok(manifest) => manifest_row(manifest),
            Err(error) => ManifestRow {
                ecosystem,
                error: Some(error.to_string()),
                ..ManifestRow::default()
            },
        });
    }
    if let Some(project_file) = classify_project_file(path) {
        found.project_file = Some((project_file.kind(), project_detail(&project_file)));
    }
    if language == Some("YAML") && !path.starts_with(".github/") {
        found.kubernetes_objects = kubernetes_objects(text)
            .into_iter()
            .map(|o| (o.api_version, o.kind, o.name))
            .collect();
    }
    (!found.is_empty()).then_some(found)
}

fn manifest_row(manifest: Manifest) -> ManifestRow {
    ManifestRow {
        ecosystem: manifest.ecosystem.as_str(),
        name: manifest.name,
        version: manifest.version,
        description: manifest.description,
        homepage: manifest.homepage,
        repository_url: manifest.repository,
        license: manifest.license,
        entry_points: manifest.entry_points,
        workspace_members: manifest.workspace_members,
        dependencies: manifest
            .dependencies
            .into_iter()
            .map(|d| (d.name, d.version_req, d.kind.as_str()))
            .collect(),
        error: None,
    }
}

/// The project file's details (CI provider, chart folder, entry-point language) as JSON.
fn project_detail(file: &ProjectFile) -> serde_json::Value {
    let mut value = serde_json::to_value(file).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("type");
    }
    value
}
