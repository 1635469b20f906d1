//! `composer.json`.

use serde_json::Value;

use super::{DependencyKind, Manifest, ManifestError, json_entries, json_str, parse_json};

/// Identity, `license` (a string or an array), `support.source` as the repository, `require` and
/// `require-dev` without platform requirements, and `bin` scripts as entry points.
pub(super) fn parse(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let Value::Object(doc) = parse_json(text)? else {
        return Err(ManifestError::Invalid(
            "composer.json is not a JSON object".into(),
        ));
    };
    manifest.name = json_str(&doc, "name").map(str::to_owned);
    manifest.version = json_str(&doc, "version").map(str::to_owned);
    manifest.description = json_str(&doc, "description").map(str::to_owned);
    manifest.homepage = json_str(&doc, "homepage").map(str::to_owned);
    manifest.repository = doc
        .get("support")
        .and_then(|s| s.get("source"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    manifest.license = match doc.get("license") {
        Some(Value::String(license)) => Some(license.clone()),
        Some(Value::Array(licenses)) => {
            let names: Vec<&str> = licenses.iter().filter_map(Value::as_str).collect();
            (!names.is_empty()).then(|| names.join(" OR "))
        }
        _ => None,
    };
    for (key, kind) in [
        ("require", DependencyKind::Runtime),
        ("require-dev", DependencyKind::Dev),
    ] {
        let Some(Value::Object(requirements)) = doc.get(key) else {
            continue;
        };
        for (name, version) in json_entries(requirements) {
            if !is_platform_package(name) {
                manifest.add_dependency(name, version.as_str(), kind)?;
            }
        }
    }
    match doc.get("bin") {
        Some(Value::String(path)) => manifest.add_entry_point(path)?,
        Some(Value::Array(paths)) => {
            for path in paths.iter().filter_map(Value::as_str) {
                manifest.add_entry_point(path)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Platform requirements (the PHP runtime, its extensions and libraries, Composer's own APIs)
/// are not packages.
fn is_platform_package(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "php" | "php-64bit" | "php-ipv6" | "php-zts" | "php-debug" | "hhvm" | "composer"
    ) || name.starts_with("ext-")
        || name.starts_with("lib-")
        || name.starts_with("composer-")
}

#[cfg(test)]
mod tests {
    use super::super::{Dependency, Ecosystem, parse_manifest};
    use super::*;

    #[test]
    fn a_composer_package_skips_platform_requirements() {
        let text = r#"{
    "name": "laravel/framework",
    "description": "The Laravel Framework.",
    "keywords": ["framework", "laravel"],
    "license": "MIT",
    "homepage": "https://laravel.com",
    "support": { "issues": "https://github.com/laravel/framework/issues", "source": "https://github.com/laravel/framework" },
    "require": {
        "php": "^8.2",
        "ext-mbstring": "*",
        "composer-runtime-api": "^2.2",
        "symfony/console": "^7.0",
        "monolog/monolog": "^3.0"
    },
    "require-dev": { "phpunit/phpunit": "^10.5" },
    "bin": ["bin/artisan"]
}"#;
        let m = parse_manifest("composer.json", text).unwrap().unwrap();
        assert_eq!(m.ecosystem, Ecosystem::Composer);
        assert_eq!(m.name.as_deref(), Some("laravel/framework"));
        assert_eq!(m.description.as_deref(), Some("The Laravel Framework."));
        assert_eq!(m.license.as_deref(), Some("MIT"));
        assert_eq!(m.homepage.as_deref(), Some("https://laravel.com"));
        assert_eq!(
            m.repository.as_deref(),
            Some("https://github.com/laravel/framework")
        );
        let deps: Vec<(&str, &str, DependencyKind)> = m
            .dependencies
            .iter()
            .map(
                |Dependency {
                     name,
                     version_req,
                     kind,
                 }| { (name.as_str(), version_req.as_deref().unwrap(), *kind) },
            )
            .collect();
        assert_eq!(
            deps,
            vec![
                ("monolog/monolog", "^3.0", DependencyKind::Runtime),
                ("symfony/console", "^7.0", DependencyKind::Runtime),
                ("phpunit/phpunit", "^10.5", DependencyKind::Dev),
            ]
        );
        assert_eq!(m.entry_points, vec!["bin/artisan"]);
    }

    #[test]
    fn license_arrays_are_joined_and_malformed_json_is_an_error() {
        let m = parse_manifest(
            "composer.json",
            r#"{"license":["LGPL-2.1-only","GPL-3.0-or-later"]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.license.as_deref(), Some("LGPL-2.1-only OR GPL-3.0-or-later"));
        assert!(
            parse_manifest("composer.json", "{\"require\": {\"a\": ")
                .unwrap()
                .is_err()
        );
        assert!(
            parse_manifest("composer.json", "\"just a string\"")
                .unwrap()
                .is_err()
        );
    }
}
