//! `Cargo.toml`.

use toml::{Table, Value};

use super::{DependencyKind, Manifest, ManifestError, parse_toml, toml_str};

/// Dependency tables of a package or of a `[target.'cfg(..)']` table (the underscore spellings
/// are the legacy ones Cargo still accepts).
const DEPENDENCY_TABLES: &[(&str, DependencyKind)] = &[
    ("dependencies", DependencyKind::Runtime),
    ("dev-dependencies", DependencyKind::Dev),
    ("dev_dependencies", DependencyKind::Dev),
    ("build-dependencies", DependencyKind::Build),
    ("build_dependencies", DependencyKind::Build),
];

/// `[package]` identity (fields inherited with `workspace = true` are tables, so they stay
/// `None`), dependencies of every table including target-specific ones, `[workspace] members` and
/// `[[bin]]` targets.
pub(super) fn parse(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let doc = parse_toml(text)?;
    if let Some(package) = doc.get("package").and_then(Value::as_table) {
        manifest.name = toml_str(package, "name").map(str::to_owned);
        manifest.version = toml_str(package, "version").map(str::to_owned);
        manifest.description = toml_str(package, "description").map(str::to_owned);
        manifest.homepage = toml_str(package, "homepage").map(str::to_owned);
        manifest.repository = toml_str(package, "repository").map(str::to_owned);
        manifest.license = toml_str(package, "license").map(str::to_owned);
    }
    add_dependency_tables(manifest, &doc)?;
    if let Some(targets) = doc.get("target").and_then(Value::as_table) {
        for target in targets.values().filter_map(Value::as_table) {
            add_dependency_tables(manifest, target)?;
        }
    }
    let members = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(Value::as_array);
    for member in members.into_iter().flatten().filter_map(Value::as_str) {
        manifest.add_member(member)?;
    }
    let bins = doc.get("bin").and_then(Value::as_array);
    for bin in bins.into_iter().flatten().filter_map(Value::as_table) {
        if let Some(target) = toml_str(bin, "path").or_else(|| toml_str(bin, "name")) {
            manifest.add_entry_point(target)?;
        }
    }
    Ok(())
}

fn add_dependency_tables(manifest: &mut Manifest, table: &Table) -> Result<(), ManifestError> {
    for (key, kind) in DEPENDENCY_TABLES {
        let Some(dependencies) = table.get(*key).and_then(Value::as_table) else {
            continue;
        };
        for (name, spec) in dependencies {
            match spec {
                Value::String(version) => manifest.add_dependency(name, Some(version), *kind)?,
                Value::Table(spec) => {
                    let name = toml_str(spec, "package").unwrap_or(name);
                    manifest.add_dependency(name, toml_str(spec, "version"), *kind)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Dependency, Ecosystem, parse_manifest};
    use super::*;

    fn dep(name: &str, version: Option<&str>, kind: DependencyKind) -> Dependency {
        Dependency {
            name: name.into(),
            version_req: version.map(Into::into),
            kind,
        }
    }

    const CRATE: &str = r#"
[package]
name = "ripgrep"
version = "14.1.0"
authors = ["Andrew Gallant <jamslam@gmail.com>"]
description = """
ripgrep is a line-oriented search tool that recursively searches the current
directory for a regex pattern while respecting gitignore rules.
"""
homepage = "https://github.com/BurntSushi/ripgrep"
repository = "https://github.com/BurntSushi/ripgrep"
license = "Unlicense OR MIT"
edition.workspace = true

[[bin]]
bench = false
path = "crates/core/main.rs"
name = "rg"

[dependencies]
anyhow = "1.0.75"
bstr = { version = "1.7.0", default-features = false }
grep = { version = "0.3.1", path = "crates/grep" }
lexopt = "0.3.0"
log = { workspace = true }
local = { path = "../local" }
fork = { git = "https://github.com/x/fork", branch = "main" }
json = { package = "serde_json", version = "1" }

[target.'cfg(all(target_env = "musl", target_pointer_width = "64"))'.dependencies.jemallocator]
version = "0.5.0"

[target.'cfg(windows)'.dev-dependencies]
winapi-util = "0.1"

[dev-dependencies]
serde = "1.0.77"

[build-dependencies]
cc = "1"

[workspace]
members = ["crates/globset", "crates/grep"]
"#;

    #[test]
    fn a_cargo_package_yields_identity_dependencies_bins_and_members() {
        let m = parse_manifest("Cargo.toml", CRATE).unwrap().unwrap();
        assert_eq!(m.ecosystem, Ecosystem::Cargo);
        assert_eq!(m.name.as_deref(), Some("ripgrep"));
        assert_eq!(m.version.as_deref(), Some("14.1.0"));
        assert_eq!(
            m.description.as_deref(),
            Some(
                "ripgrep is a line-oriented search tool that recursively searches the current directory \
                 for a regex pattern while respecting gitignore rules."
            )
        );
        assert_eq!(
            m.homepage.as_deref(),
            Some("https://github.com/BurntSushi/ripgrep")
        );
        assert_eq!(
            m.repository.as_deref(),
            Some("https://github.com/BurntSushi/ripgrep")
        );
        assert_eq!(m.license.as_deref(), Some("Unlicense OR MIT"));
        use DependencyKind::*;
        assert_eq!(
            m.dependencies,
            vec![
                dep("anyhow", Some("1.0.75"), Runtime),
                dep("bstr", Some("1.7.0"), Runtime),
                dep("grep", Some("0.3.1"), Runtime),
                dep("lexopt", Some("0.3.0"), Runtime),
                dep("log", None, Runtime),
                dep("local", None, Runtime),
                dep("fork", None, Runtime),
                dep("serde_json", Some("1"), Runtime),
                dep("serde", Some("1.0.77"), Dev),
                dep("cc", Some("1"), Build),
                dep("jemallocator", Some("0.5.0"), Runtime),
                dep("winapi-util", Some("0.1"), Dev),
            ]
        );
        assert_eq!(m.entry_points, vec!["crates/core/main.rs"]);
        assert_eq!(m.workspace_members, vec!["crates/globset", "crates/grep"]);
    }

    #[test]
    fn inherited_package_fields_stay_empty_in_a_workspace_member() {
        let text = r#"
[package]
name = "reposage-analysis"
version.workspace = true
license = { workspace = true }

[dependencies]
serde.workspace = true

[[bin]]
name = "reposage"
"#;
        let m = parse_manifest("crates/analysis/Cargo.toml", text)
            .unwrap()
            .unwrap();
        assert_eq!(m.name.as_deref(), Some("reposage-analysis"));
        assert_eq!((m.version, m.license), (None, None));
        assert_eq!(m.dependencies, vec![dep("serde", None, DependencyKind::Runtime)]);
        assert_eq!(m.entry_points, vec!["reposage"]);
    }

    #[test]
    fn a_virtual_workspace_has_members_and_no_name() {
        let text = "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\", \"operator\"]\n\n\
                    [workspace.dependencies]\nserde = \"1\"\n";
        let m = parse_manifest("Cargo.toml", text).unwrap().unwrap();
        assert_eq!(m.name, None);
        assert_eq!(m.workspace_members, vec!["crates/*", "operator"]);
        assert!(m.dependencies.is_empty());
    }

    #[test]
    fn malformed_toml_is_an_error_with_the_line() {
        let error = parse_manifest("Cargo.toml", "[package]\nname = \"x\"\nversion = 1.0.0.0\n")
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(error, ManifestError::Syntax { format: "TOML", .. }),
            "{error}"
        );
        assert!(error.to_string().contains("line 3"), "{error}");
    }

    #[test]
    fn deeply_nested_toml_is_refused_without_overflowing_the_stack() {
        let text = format!("a = {}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_manifest("Cargo.toml", &text).unwrap().is_err());
        let text = format!("a = {}1{}\n", "{b = ".repeat(10_000), "}".repeat(10_000));
        assert!(parse_manifest("Cargo.toml", &text).unwrap().is_err());
        let text = format!("{} = 1\n", vec!["k"; 10_000].join("."));
        assert!(parse_manifest("Cargo.toml", &text).unwrap().is_err());
    }

    #[test]
    fn wrongly_typed_fields_are_ignored() {
        let text = "[package]\nname = 5\n[dependencies]\nserde = 1\n[workspace]\nmembers = \"x\"\n";
        let m = parse_manifest("Cargo.toml", text).unwrap().unwrap();
        assert_eq!(m.name, None);
        assert!(m.dependencies.is_empty() && m.workspace_members.is_empty());
    }
}
