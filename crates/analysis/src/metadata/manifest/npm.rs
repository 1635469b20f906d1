//! `package.json`.

use serde_json::Value;

use super::{DependencyKind, Manifest, ManifestError, json_entries, json_str, parse_json};

/// Dependency objects and their kinds (peer and optional dependencies are needed at run time).
const DEPENDENCY_OBJECTS: &[(&str, DependencyKind)] = &[
    ("dependencies", DependencyKind::Runtime),
    ("peerDependencies", DependencyKind::Runtime),
    ("optionalDependencies", DependencyKind::Runtime),
    ("devDependencies", DependencyKind::Dev),
];

/// Identity, `license` (a string, or the legacy `{type}` object and `licenses` array), dependency
/// objects, `bin` (a path, or a map of command to path) and `main` as entry points, and
/// `workspaces` (an array, or Yarn's `{packages}`).
pub(super) fn parse(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let doc = parse_json(text)?;
    let Value::Object(doc) = doc else {
        return Err(ManifestError::Invalid("package.json is not a JSON object".into()));
    };
    manifest.name = json_str(&doc, "name").map(str::to_owned);
    manifest.version = json_str(&doc, "version").map(str::to_owned);
    manifest.description = json_str(&doc, "description").map(str::to_owned);
    manifest.homepage = json_str(&doc, "homepage").map(str::to_owned);
    manifest.repository = match doc.get("repository") {
        Some(Value::String(url)) => Some(url.clone()),
        Some(Value::Object(repo)) => json_str(repo, "url").map(str::to_owned),
        _ => None,
    };
    manifest.license = match (doc.get("license"), doc.get("licenses")) {
        (Some(Value::String(license)), _) => Some(license.clone()),
        (Some(Value::Object(license)), _) => json_str(license, "type").map(str::to_owned),
        (_, Some(Value::Array(licenses))) => {
            let names: Vec<&str> = licenses
                .iter()
                .filter_map(|l| l.get("type").and_then(Value::as_str))
                .collect();
            (!names.is_empty()).then(|| names.join(" OR "))
        }
        _ => None,
    };
    for (key, kind) in DEPENDENCY_OBJECTS {
        let Some(Value::Object(dependencies)) = doc.get(*key) else {
            continue;
        };
        for (name, version) in json_entries(dependencies) {
            manifest.add_dependency(name, version.as_str(), *kind)?;
        }
    }
    match doc.get("bin") {
        Some(Value::String(path)) => manifest.add_entry_point(path)?,
        Some(Value::Object(bins)) => {
            for (_, path) in json_entries(bins) {
                manifest.add_entry_point(path.as_str().unwrap_or_default())?;
            }
        }
        _ => {}
    }
    if let Some(main) = json_str(&doc, "main") {
        manifest.add_entry_point(main)?;
    }
    let workspaces = match doc.get("workspaces") {
        Some(Value::Array(list)) => Some(list),
        Some(Value::Object(config)) => config.get("packages").and_then(Value::as_array),
        _ => None,
    };
    for member in workspaces.into_iter().flatten().filter_map(Value::as_str) {
        manifest.add_member(member)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Dependency, parse_manifest};
    use super::*;

    fn dep(name: &str, version: &str, kind: DependencyKind) -> Dependency {
        Dependency {
            name: name.into(),
            version_req: Some(version.into()),
            kind,
        }
    }

    #[test]
    fn a_package_json_yields_identity_dependencies_and_entry_points() {
        let text = r#"{
  "name": "@acme/cli",
  "version": "2.3.0",
  "description": "Command-line client for the Acme API",
  "homepage": "https://acme.dev",
  "repository": { "type": "git", "url": "git+https://github.com/acme/cli.git" },
  "license": "MIT",
  "main": "dist/index.js",
  "bin": { "acme": "bin/acme.js", "acme-dev": "bin/dev.js" },
  "scripts": { "test": "vitest" },
  "dependencies": { "commander": "^12.0.0", "undici": "~6.6.2" },
  "peerDependencies": { "typescript": ">=5" },
  "optionalDependencies": { "fsevents": "2.3.3" },
  "devDependencies": { "vitest": "^1.4.0", "@types/node": "20.11.30" }
}"#;
        let m = parse_manifest("package.json", text).unwrap().unwrap();
        assert_eq!(m.name.as_deref(), Some("@acme/cli"));
        assert_eq!(m.version.as_deref(), Some("2.3.0"));
        assert_eq!(
            m.description.as_deref(),
            Some("Command-line client for the Acme API")
        );
        assert_eq!(m.homepage.as_deref(), Some("https://acme.dev"));
        assert_eq!(
            m.repository.as_deref(),
            Some("git+https://github.com/acme/cli.git")
        );
        assert_eq!(m.license.as_deref(), Some("MIT"));
        use DependencyKind::*;
        assert_eq!(
            m.dependencies,
            vec![
                dep("commander", "^12.0.0", Runtime),
                dep("undici", "~6.6.2", Runtime),
                dep("typescript", ">=5", Runtime),
                dep("fsevents", "2.3.3", Runtime),
                dep("@types/node", "20.11.30", Dev),
                dep("vitest", "^1.4.0", Dev),
            ]
        );
        assert_eq!(m.entry_points, vec!["bin/acme.js", "bin/dev.js", "dist/index.js"]);
    }

    #[test]
    fn string_bin_repository_and_yarn_workspaces_are_understood() {
        let text = r#"{"name":"mono","private":true,"bin":"./cli.js","repository":"github:acme/mono",
            "licenses":[{"type":"MIT"},{"type":"Apache-2.0"}],
            "workspaces":{"packages":["packages/*","apps/web"]}}"#;
        let m = parse_manifest("package.json", text).unwrap().unwrap();
        assert_eq!(m.entry_points, vec!["./cli.js"]);
        assert_eq!(m.repository.as_deref(), Some("github:acme/mono"));
        assert_eq!(m.license.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(m.workspace_members, vec!["packages/*", "apps/web"]);
        let m = parse_manifest("package.json", r#"{"workspaces":["a","b"]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(m.workspace_members, vec!["a", "b"]);
    }

    #[test]
    fn malformed_json_is_an_error_with_a_position() {
        let error = parse_manifest("package.json", "{\n  \"name\": \"x\",\n  \"version\": }\n")
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(error, ManifestError::Syntax { format: "JSON", .. }),
            "{error}"
        );
        assert!(error.to_string().contains("line 3"), "{error}");
    }

    #[test]
    fn deeply_nested_json_hits_the_recursion_limit() {
        let text = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let error = parse_manifest("package.json", &text).unwrap().unwrap_err();
        assert!(error.to_string().contains("recursion limit"), "{error}");
    }

    #[test]
    fn a_non_object_document_is_invalid() {
        let error = parse_manifest("package.json", "[1, 2]").unwrap().unwrap_err();
        assert_eq!(
            error,
            ManifestError::Invalid("package.json is not a JSON object".into())
        );
    }
}
