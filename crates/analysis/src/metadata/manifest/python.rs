//! Python: `pyproject.toml` (PEP 621, Poetry, PDM, uv, PEP 735), `requirements*.txt` and
//! `setup.cfg`.

use toml::{Table, Value};

use super::{DependencyKind, Manifest, ManifestError, folders, is_dev_group, parse_toml, toml_str};
use crate::metadata::text::file_name;

/// `[project]` (PEP 621) with `optional-dependencies` (development groups as dev, others as
/// runtime), `scripts`/`gui-scripts` and `urls`; `[dependency-groups]` (PEP 735) as dev;
/// `[tool.poetry]` identity, dependencies (without `python`), `dev-dependencies`, groups and
/// scripts; PDM and uv dev dependencies; `[build-system].requires` as build.
pub(super) fn parse_pyproject(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let doc = parse_toml(text)?;
    let tool = doc.get("tool").and_then(Value::as_table);
    let poetry = tool.and_then(|t| t.get("poetry")).and_then(Value::as_table);
    if let Some(project) = doc.get("project").and_then(Value::as_table) {
        parse_pep621(manifest, project)?;
    }
    if let Some(poetry) = poetry {
        parse_poetry(manifest, poetry)?;
    }
    if let Some(groups) = doc.get("dependency-groups").and_then(Value::as_table) {
        for list in groups.values() {
            add_requirement_list(manifest, list, DependencyKind::Dev)?;
        }
    }
    let pdm_dev = tool
        .and_then(|t| t.get("pdm"))
        .and_then(|p| p.get("dev-dependencies"))
        .and_then(Value::as_table);
    for list in pdm_dev.into_iter().flat_map(Table::values) {
        add_requirement_list(manifest, list, DependencyKind::Dev)?;
    }
    if let Some(list) = tool
        .and_then(|t| t.get("uv"))
        .and_then(|u| u.get("dev-dependencies"))
    {
        add_requirement_list(manifest, list, DependencyKind::Dev)?;
    }
    if let Some(requires) = doc.get("build-system").and_then(|b| b.get("requires")) {
        add_requirement_list(manifest, requires, DependencyKind::Build)?;
    }
    Ok(())
}

fn parse_pep621(manifest: &mut Manifest, project: &Table) -> Result<(), ManifestError> {
    manifest.name = toml_str(project, "name").map(str::to_owned);
    manifest.version = toml_str(project, "version").map(str::to_owned);
    manifest.description = toml_str(project, "description").map(str::to_owned);
    manifest.license = match project.get("license") {
        Some(Value::String(expression)) => Some(expression.clone()),
        Some(Value::Table(license)) => toml_str(license, "text").map(str::to_owned),
        _ => None,
    };
    if let Some(urls) = project.get("urls").and_then(Value::as_table) {
        for (label, url) in urls {
            let Some(url) = url.as_str() else { continue };
            match url_role(label) {
                Some(UrlRole::Homepage) if manifest.homepage.is_none() => {
                    manifest.homepage = Some(url.to_owned())
                }
                Some(UrlRole::Repository) if manifest.repository.is_none() => {
                    manifest.repository = Some(url.to_owned())
                }
                _ => {}
            }
        }
    }
    if let Some(list) = project.get("dependencies") {
        add_requirement_list(manifest, list, DependencyKind::Runtime)?;
    }
    if let Some(extras) = project.get("optional-dependencies").and_then(Value::as_table) {
        for (group, list) in extras {
            add_requirement_list(manifest, list, group_kind(group))?;
        }
    }
    for key in ["scripts", "gui-scripts"] {
        for target in project
            .get(key)
            .and_then(Value::as_table)
            .into_iter()
            .flat_map(Table::values)
        {
            manifest.add_entry_point(target.as_str().unwrap_or_default())?;
        }
    }
    Ok(())
}

fn parse_poetry(manifest: &mut Manifest, poetry: &Table) -> Result<(), ManifestError> {
    let fields = [
        (&mut manifest.name, "name"),
        (&mut manifest.version, "version"),
        (&mut manifest.description, "description"),
        (&mut manifest.homepage, "homepage"),
        (&mut manifest.repository, "repository"),
        (&mut manifest.license, "license"),
    ];
    for (field, key) in fields {
        if field.is_none() {
            *field = toml_str(poetry, key).map(str::to_owned);
        }
    }
    if let Some(dependencies) = poetry.get("dependencies").and_then(Value::as_table) {
        add_poetry_table(manifest, dependencies, DependencyKind::Runtime)?;
    }
    if let Some(dependencies) = poetry.get("dev-dependencies").and_then(Value::as_table) {
        add_poetry_table(manifest, dependencies, DependencyKind::Dev)?;
    }
    if let Some(groups) = poetry.get("group").and_then(Value::as_table) {
        for (group, config) in groups {
            let kind = if group == "main" {
                DependencyKind::Runtime
            } else {
                DependencyKind::Dev
            };
            if let Some(dependencies) = config.get("dependencies").and_then(Value::as_table) {
                add_poetry_table(manifest, dependencies, kind)?;
            }
        }
    }
    if let Some(scripts) = poetry.get("scripts").and_then(Value::as_table) {
        for script in scripts.values() {
            let target = match script {
                Value::String(target) => Some(target.as_str()),
                Value::Table(script) => {
                    toml_str(script, "reference").or_else(|| toml_str(script, "callable"))
                }
                _ => None,
            };
            manifest.add_entry_point(target.unwrap_or_default())?;
        }
    }
    Ok(())
}

/// Poetry's `name = "^1.2"` or `name = { version = "^1.2", extras = [..] }`; `python` is the
/// interpreter constraint, not a package.
fn add_poetry_table(
    manifest: &mut Manifest,
    table: &Table,
    kind: DependencyKind,
) -> Result<(), ManifestError> {
    for (name, spec) in table {
        if name.eq_ignore_ascii_case("python") {
            continue;
        }
        let version = match spec {
            Value::String(version) => Some(version.as_str()),
            Value::Table(spec) => toml_str(spec, "version"),
            _ => None,
        };
        manifest.add_dependency(name, version, kind)?;
    }
    Ok(())
}

/// A TOML array of PEP 508 strings (other items, such as PEP 735 `{include-group}`, are skipped).
fn add_requirement_list(
    manifest: &mut Manifest,
    list: &Value,
    kind: DependencyKind,
) -> Result<(), ManifestError> {
    for requirement in list.as_array().into_iter().flatten().filter_map(Value::as_str) {
        if let Some((name, specifier)) = parse_pep508(requirement) {
            manifest.add_dependency(name, specifier, kind)?;
        }
    }
    Ok(())
}

/// What a `[project.urls]` label points to.
enum UrlRole {
    Homepage,
    Repository,
}

fn url_role(label: &str) -> Option<UrlRole> {
    let key: String = label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match key.as_str() {
        "homepage" | "home" | "website" => Some(UrlRole::Homepage),
        "repository" | "repo" | "source" | "sourcecode" | "code" | "github" | "gitlab" => {
            Some(UrlRole::Repository)
        }
        _ => None,
    }
}

fn group_kind(group: &str) -> DependencyKind {
    if is_dev_group(group) {
        DependencyKind::Dev
    } else {
        DependencyKind::Runtime
    }
}

/// The name and version specifier of a PEP 508 requirement (`requests[socks] (>=2.31,<3) ;
/// python_version >= "3.8"` → `requests`, `>=2.31,<3`); a direct reference (`name @ url`) has no
/// specifier. `None` when the string does not start with a valid distribution name.
fn parse_pep508(requirement: &str) -> Option<(&str, Option<&str>)> {
    let requirement = requirement.split(';').next().unwrap_or_default().trim();
    let name_end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    let name = &requirement[..name_end];
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut rest = requirement[name_end..].trim_start();
    if rest.starts_with('[') {
        rest = rest[rest.find(']')? + 1..].trim_start();
    }
    if rest.is_empty() || rest.starts_with('@') {
        return Some((name, None));
    }
    let specifier = rest.trim_start_matches('(').trim_end_matches(')').trim();
    if specifier.starts_with(['<', '>', '=', '!', '~']) {
        Some((name, Some(specifier)))
    } else {
        None
    }
}

/// pip requirement files: one PEP 508 requirement per line (continuations joined, comments,
/// `-r`/`-c`/index options and per-requirement `--hash` options dropped); editable installs and
/// URLs count only when they name the project with `#egg=`. The file is a dev one when its name or
/// a folder says so (`requirements-dev.txt`, `requirements/test.txt`, `docs/requirements.txt`).
pub(super) fn parse_requirements(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let stem = file_name(&manifest.path)
        .rsplit_once('.')
        .map_or("", |(stem, _)| stem);
    let kind = if is_dev_group(stem) || folders(&manifest.path).any(is_dev_group) {
        DependencyKind::Dev
    } else {
        DependencyKind::Runtime
    };
    let mut logical = String::new();
    for raw in text.lines() {
        if let Some(continued) = raw.strip_suffix('\\') {
            logical.push_str(continued);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        if let Some((name, specifier)) = requirement_line(&line) {
            manifest.add_dependency(name, specifier, kind)?;
        }
    }
    if let Some((name, specifier)) = requirement_line(&logical) {
        manifest.add_dependency(name, specifier, kind)?;
    }
    Ok(())
}

/// The requirement on one logical line of a requirements file.
fn requirement_line(line: &str) -> Option<(&str, Option<&str>)> {
    let line = line.trim();
    let line = match line.find(" #").or_else(|| line.find("\t#")) {
        Some(comment) => line[..comment].trim_end(),
        None => line,
    };
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    if let Some(egg) = line.split_once("#egg=").map(|(_, egg)| egg) {
        let end = egg
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(egg.len());
        return (end > 0).then(|| (&egg[..end], None));
    }
    // Options, local paths and bare archive names; URLs without `@` fail the name check below.
    let is_reference = line.starts_with(['-', '.', '/'])
        || (!line.contains('@') && [".whl", ".tar.gz", ".zip"].iter().any(|ext| line.ends_with(ext)));
    if is_reference {
        return None;
    }
    let line = line.find(" --").map_or(line, |option| line[..option].trim_end());
    parse_pep508(line)
}

/// `setup.cfg` (setuptools' declarative config): `[metadata]` name, version, description, url,
/// license and `project_urls`; `[options]` install_requires (runtime), setup_requires (build),
/// tests_require (dev); `[options.extras_require]` by group; console and GUI scripts from
/// `[options.entry_points]`. `attr:`/`file:` directives are not values, so they are skipped.
pub(super) fn parse_setup_cfg(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    for entry in parse_ini(text) {
        let value = entry.value.as_str();
        let directive = value.starts_with("attr:") || value.starts_with("file:");
        match (entry.section, entry.key.as_str()) {
            ("metadata", "name") => manifest.name = Some(value.to_owned()),
            ("metadata", "version") if !directive => manifest.version = Some(value.to_owned()),
            ("metadata", "description" | "summary") if !directive => {
                manifest.description = Some(value.to_owned())
            }
            ("metadata", "url" | "home_page" | "home-page") => manifest.homepage = Some(value.to_owned()),
            ("metadata", "license") if !directive => manifest.license = Some(value.to_owned()),
            ("metadata", "project_urls") => {
                for line in value.lines() {
                    let Some((label, url)) = line.split_once('=') else {
                        continue;
                    };
                    if matches!(url_role(label), Some(UrlRole::Repository)) && manifest.repository.is_none() {
                        manifest.repository = Some(url.trim().to_owned());
                    }
                }
            }
            ("options", "install_requires") => {
                add_requirement_lines(manifest, value, DependencyKind::Runtime)?
            }
            ("options", "setup_requires") => add_requirement_lines(manifest, value, DependencyKind::Build)?,
            ("options", "tests_require") => add_requirement_lines(manifest, value, DependencyKind::Dev)?,
            ("options.extras_require", group) => add_requirement_lines(manifest, value, group_kind(group))?,
            ("options.entry_points", "console_scripts" | "gui_scripts") => {
                for line in value.lines() {
                    if let Some((_, target)) = line.split_once('=') {
                        manifest.add_entry_point(target.split('[').next().unwrap_or_default())?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn add_requirement_lines(
    manifest: &mut Manifest,
    value: &str,
    kind: DependencyKind,
) -> Result<(), ManifestError> {
    for line in value.lines() {
        if let Some((name, specifier)) = requirement_line(line) {
            manifest.add_dependency(name, specifier, kind)?;
        }
    }
    Ok(())
}

/// One `key = value` of an INI file; continuation lines are joined with `\n`.
#[derive(Debug)]
struct IniEntry<'a> {
    section: &'a str,
    key: String,
    value: String,
}

/// A minimal, configparser-compatible INI reader: `[section]`, `key = value` or `key: value`,
/// indented continuation lines, `#`/`;` comment lines. Keys are lowercased.
fn parse_ini(text: &str) -> Vec<IniEntry<'_>> {
    let mut entries: Vec<IniEntry<'_>> = Vec::new();
    let mut section = "";
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            if let Some(entry) = entries.last_mut().filter(|e| e.section == section) {
                if !entry.value.is_empty() {
                    entry.value.push('\n');
                }
                entry.value.push_str(line);
            }
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim();
            continue;
        }
        if let Some(split) = line.find(['=', ':']) {
            entries.push(IniEntry {
                section,
                key: line[..split].trim().to_ascii_lowercase(),
                value: line[split + 1..].trim().to_owned(),
            });
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::super::{Ecosystem, parse_manifest, test_support::deps};
    use super::*;

    #[test]
    fn pep508_requirements_split_into_name_and_specifier() {
        assert_eq!(parse_pep508("requests>=2.31"), Some(("requests", Some(">=2.31"))));
        assert_eq!(
            parse_pep508("requests[socks, security] (>=2.31,<3) ; python_version >= \"3.8\""),
            Some(("requests", Some(">=2.31,<3")))
        );
        assert_eq!(parse_pep508("zope.interface"), Some(("zope.interface", None)));
        assert_eq!(
            parse_pep508("pip @ https://github.com/pypa/pip/archive/1.3.1.zip"),
            Some(("pip", None))
        );
        assert_eq!(parse_pep508("-e ."), None);
        assert_eq!(parse_pep508("name[unclosed"), None);
        assert_eq!(parse_pep508("just some words"), None);
    }

    #[test]
    fn a_pep621_pyproject_yields_groups_scripts_and_build_requirements() {
        let text = r#"
[build-system]
requires = ["hatchling>=1.18", "hatch-vcs"]
build-backend = "hatchling.build"

[project]
name = "httpx"
version = "0.27.0"
description = "The next generation HTTP client."
license = "BSD-3-Clause"
requires-python = ">=3.8"
dependencies = [
    "certifi",
    "httpcore==1.*",
    "idna",
    'anyio ; python_version >= "3.8"',
]

[project.optional-dependencies]
brotli = ["brotli; platform_python_implementation == 'CPython'"]
http2 = ["h2>=3,<5"]
dev = ["pytest>=8", "ruff==0.4.1"]

[project.scripts]
httpx = "httpx:main"

[project.urls]
Changelog = "https://github.com/encode/httpx/blob/master/CHANGELOG.md"
Homepage = "https://github.com/encode/httpx"
Source = "https://github.com/encode/httpx"

[dependency-groups]
docs = ["mkdocs>=1.5", { include-group = "dev" }]
"#;
        let m = parse_manifest("pyproject.toml", text).unwrap().unwrap();
        assert_eq!(m.ecosystem, Ecosystem::Pypi);
        assert_eq!(m.name.as_deref(), Some("httpx"));
        assert_eq!(m.version.as_deref(), Some("0.27.0"));
        assert_eq!(m.description.as_deref(), Some("The next generation HTTP client."));
        assert_eq!(m.license.as_deref(), Some("BSD-3-Clause"));
        assert_eq!(m.homepage.as_deref(), Some("https://github.com/encode/httpx"));
        assert_eq!(m.repository.as_deref(), Some("https://github.com/encode/httpx"));
        use DependencyKind::*;
        assert_eq!(
            deps(&m),
            vec![
                ("certifi", None, Runtime),
                ("httpcore", Some("==1.*"), Runtime),
                ("idna", None, Runtime),
                ("anyio", None, Runtime),
                ("brotli", None, Runtime),
                ("h2", Some(">=3,<5"), Runtime),
                ("pytest", Some(">=8"), Dev),
                ("ruff", Some("==0.4.1"), Dev),
                ("mkdocs", Some(">=1.5"), Dev),
                ("hatchling", Some(">=1.18"), Build),
                ("hatch-vcs", None, Build),
            ]
        );
        assert_eq!(m.entry_points, vec!["httpx:main"]);
    }

    #[test]
    fn a_poetry_pyproject_skips_python_and_marks_groups_as_dev() {
        let text = r#"
[tool.poetry]
name = "poetry-demo"
version = "0.1.0"
description = "A demo"
license = { text = "not a string" }
authors = ["Jane <jane@example.com>"]
repository = "https://github.com/acme/poetry-demo"

[tool.poetry.dependencies]
python = "^3.10"
requests = "^2.31"
pendulum = { version = "^3.0", extras = ["test"] }
mylib = { path = "../mylib", develop = true }

[tool.poetry.dev-dependencies]
black = "^24.3"

[tool.poetry.group.test.dependencies]
pytest = "^8.1"

[tool.poetry.scripts]
demo = "poetry_demo.cli:run"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#;
        let m = parse_manifest("pyproject.toml", text).unwrap().unwrap();
        assert_eq!(m.name.as_deref(), Some("poetry-demo"));
        assert_eq!(m.version.as_deref(), Some("0.1.0"));
        assert_eq!(m.license, None);
        assert_eq!(
            m.repository.as_deref(),
            Some("https://github.com/acme/poetry-demo")
        );
        use DependencyKind::*;
        assert_eq!(
            deps(&m),
            vec![
                ("requests", Some("^2.31"), Runtime),
                ("pendulum", Some("^3.0"), Runtime),
                ("mylib", None, Runtime),
                ("black", Some("^24.3"), Dev),
                ("pytest", Some("^8.1"), Dev),
                ("poetry-core", None, Build),
            ]
        );
        assert_eq!(m.entry_points, vec!["poetry_demo.cli:run"]);
    }

    #[test]
    fn requirements_files_skip_options_comments_and_unnamed_references() {
        let text = "# Core deps\n\
                    -r base.txt\n\
                    --index-url https://pypi.org/simple\n\
                    Django>=4.2,<5.0  # LTS\n\
                    psycopg[binary]==3.1.18 \\\n    --hash=sha256:abc123\n\
                    celery[redis] ; sys_platform != 'win32'\n\
                    -e git+https://github.com/acme/tool.git@v1#egg=acme-tool\n\
                    -e .\n\
                    https://example.com/pkgs/thing-1.0.tar.gz\n\
                    ./wheels/local-0.1-py3-none-any.whl\n\
                    attrs @ https://github.com/python-attrs/attrs/archive/main.zip\n\
                    \n\
                    gunicorn";
        let m = parse_manifest("requirements.txt", text).unwrap().unwrap();
        use DependencyKind::*;
        assert_eq!(
            deps(&m),
            vec![
                ("Django", Some(">=4.2,<5.0"), Runtime),
                ("psycopg", Some("==3.1.18"), Runtime),
                ("celery", None, Runtime),
                ("acme-tool", None, Runtime),
                ("attrs", None, Runtime),
                ("gunicorn", None, Runtime),
            ]
        );
    }

    #[test]
    fn requirement_files_named_for_development_hold_dev_dependencies() {
        for path in [
            "requirements-dev.txt",
            "dev-requirements.txt",
            "requirements/test.txt",
            "docs/requirements.txt",
        ] {
            let m = parse_manifest(path, "pytest==8.1.1\n").unwrap().unwrap();
            assert_eq!(m.dependencies[0].kind, DependencyKind::Dev, "{path}");
        }
        let m = parse_manifest("requirements/base.txt", "flask\n")
            .unwrap()
            .unwrap();
        assert_eq!(m.dependencies[0].kind, DependencyKind::Runtime);
    }

    #[test]
    fn a_setup_cfg_yields_metadata_requirements_extras_and_scripts() {
        let text = "[metadata]\n\
                    name = black\n\
                    version = attr: black.__version__\n\
                    description = The uncompromising code formatter.\n\
                    url = https://github.com/psf/black\n\
                    license = MIT\n\
                    project_urls =\n    Changelog = https://black.rtfd.io/changes\n    Source = https://github.com/psf/black\n\
                    \n\
                    [options]\n\
                    packages = find:\n\
                    install_requires =\n    click>=8.0.0\n    # a comment\n    platformdirs>=2\n\
                    setup_requires = setuptools_scm\n\
                    \n\
                    [options.extras_require]\n\
                    d = aiohttp>=3.7.4\n\
                    testing =\n    pytest\n\
                    \n\
                    [options.entry_points]\n\
                    console_scripts =\n    black = black:patched_main\n    blackd = blackd:patched_main [d]\n";
        let m = parse_manifest("setup.cfg", text).unwrap().unwrap();
        assert_eq!(m.name.as_deref(), Some("black"));
        assert_eq!(m.version, None);
        assert_eq!(
            m.description.as_deref(),
            Some("The uncompromising code formatter.")
        );
        assert_eq!(m.homepage.as_deref(), Some("https://github.com/psf/black"));
        assert_eq!(m.repository.as_deref(), Some("https://github.com/psf/black"));
        assert_eq!(m.license.as_deref(), Some("MIT"));
        use DependencyKind::*;
        assert_eq!(
            deps(&m),
            vec![
                ("click", Some(">=8.0.0"), Runtime),
                ("platformdirs", Some(">=2"), Runtime),
                ("setuptools_scm", None, Build),
                ("aiohttp", Some(">=3.7.4"), Runtime),
                ("pytest", None, Dev),
            ]
        );
        assert_eq!(m.entry_points, vec!["black:patched_main", "blackd:patched_main"]);
    }

    #[test]
    fn malformed_pyproject_is_an_error() {
        let error = parse_manifest("pyproject.toml", "[project\nname = \"x\"")
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(error, ManifestError::Syntax { format: "TOML", .. }),
            "{error}"
        );
    }
}
