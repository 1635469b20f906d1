//! Package manifests: which files they are, and what they declare (identity, license,
//! dependencies, entry points, workspace members).
//!
//! Every parser is bounded: inputs over [`MAX_MANIFEST_BYTES`] or with a NUL byte are refused, TOML
//! and JSON nesting is limited by their parsers, XML nesting by [`MAX_XML_DEPTH`], and one manifest
//! may declare at most [`MAX_ENTRIES`] dependencies (and as many entry points and members).

mod cargo;
mod composer;
mod go;
mod gradle;
mod maven;
mod npm;
mod nuget;
mod python;
mod ruby;
mod xml;

use std::collections::HashSet;

use serde::Serialize;

use super::text::{cap_chars, collapse_whitespace, file_name, folders, prefix_bytes};

/// Largest manifest parsed, in bytes; a larger one is refused with [`ManifestError::TooLarge`].
pub const MAX_MANIFEST_BYTES: usize = 2 * 1024 * 1024;

/// Most dependencies one manifest may declare; the same cap applies to its entry points and to its
/// workspace members. More is refused with [`ManifestError::TooManyEntries`].
pub const MAX_ENTRIES: usize = 10_000;

/// Deepest element nesting accepted in an XML manifest (`pom.xml`, `*.csproj`).
pub const MAX_XML_DEPTH: usize = 64;

/// Longest description kept, in characters (longer ones are cut with `…`).
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// Longest error message kept, in characters (parser messages may quote the input).
const MAX_MESSAGE_CHARS: usize = 300;

/// A package ecosystem, named as its registry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Rust crates (`Cargo.toml`).
    Cargo,
    /// JavaScript packages (`package.json`).
    Npm,
    /// Python packages (`pyproject.toml`, `requirements*.txt`, `setup.cfg`).
    Pypi,
    /// Go modules (`go.mod`).
    Go,
    /// Maven artifacts (`pom.xml`).
    Maven,
    /// Gradle builds (`build.gradle`, `build.gradle.kts`, `settings.gradle(.kts)`).
    Gradle,
    /// Ruby gems (`Gemfile`, `*.gemspec`).
    Rubygems,
    /// PHP packages (`composer.json`).
    Composer,
    /// .NET packages (`*.csproj`, `*.fsproj`, `*.vbproj`).
    Nuget,
}

impl Ecosystem {
    /// The stable name stored in the database (the serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Go => "go",
            Ecosystem::Maven => "maven",
            Ecosystem::Gradle => "gradle",
            Ecosystem::Rubygems => "rubygems",
            Ecosystem::Composer => "composer",
            Ecosystem::Nuget => "nuget",
        }
    }
}

/// When a dependency is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyKind {
    /// Needed to run (or, for peer and optional dependencies, alongside it).
    Runtime,
    /// Needed only to develop: tests, linters, documentation.
    Dev,
    /// Needed only to build: build scripts, build backends, annotation processors.
    Build,
}

impl DependencyKind {
    /// The stable name stored in the database (the serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyKind::Runtime => "runtime",
            DependencyKind::Dev => "dev",
            DependencyKind::Build => "build",
        }
    }
}

/// One declared dependency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Dependency {
    /// The package name in its registry (for Cargo the real crate name, after a `package =`
    /// rename; for Maven and Gradle `group:artifact`; for Go the module path).
    pub name: String,
    /// The version requirement as written (`^1.2`, `>=2,<3`, `${jackson.version}`), or `None`
    /// when the manifest gives none (path, git and workspace dependencies, unpinned requirements).
    pub version_req: Option<String>,
    /// When it is needed.
    pub kind: DependencyKind,
}

/// What one manifest declares. Absent or non-literal fields (inherited `workspace = true`
/// fields, computed Ruby expressions) are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// The manifest's path in the repository.
    pub path: String,
    /// The ecosystem it belongs to.
    pub ecosystem: Ecosystem,
    /// The package name: Cargo/npm/PyPI/Composer/gem name, Go module path, Maven
    /// `groupId:artifactId`, Gradle `group:folder` (or the group at the root, or
    /// `rootProject.name` in settings), .NET assembly name.
    pub name: Option<String>,
    /// The package version as written; for `go.mod`, the `go` directive (a module's own version
    /// lives in its tags).
    pub version: Option<String>,
    /// The one-line description, whitespace collapsed, at most [`MAX_DESCRIPTION_CHARS`].
    pub description: Option<String>,
    /// The homepage URL.
    pub homepage: Option<String>,
    /// The source repository URL (or npm shorthand such as `github:user/repo`).
    pub repository: Option<String>,
    /// The license as written in the manifest (see `spdx_from_manifest` to normalise it);
    /// several licenses (Maven, gemspec, Composer arrays) are joined with ` OR `.
    pub license: Option<String>,
    /// Declared dependencies in manifest order (JSON objects in key order), exact duplicates
    /// removed.
    pub dependencies: Vec<Dependency>,
    /// How the package is started: the target of each declared executable or script (a file
    /// path for Cargo `[[bin]] path`, npm `bin`/`main`, Composer `bin`; `module:function` for
    /// Python scripts), or its name when the manifest gives no target (Cargo `[[bin]]` without
    /// `path`, gemspec `executables`).
    pub entry_points: Vec<String>,
    /// Workspace or multi-module members as written (Cargo/npm globs, Maven modules, Gradle
    /// `include`s as folder paths).
    pub workspace_members: Vec<String>,
}

/// Why a manifest could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The manifest is larger than [`MAX_MANIFEST_BYTES`].
    #[error("manifest is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The manifest has a NUL byte: it is binary, not a manifest.
    #[error("manifest contains NUL bytes: binary content")]
    Binary,
    /// The manifest is not valid in its format.
    #[error("invalid {format}: {message}")]
    Syntax {
        /// The format (`TOML`, `JSON`, `XML`).
        format: &'static str,
        /// What is wrong, with a line number when the parser gives a position.
        message: String,
    },
    /// The document nests deeper than the limit.
    #[error("{format} nesting deeper than {limit} levels")]
    TooDeep {
        /// The format.
        format: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The manifest declares more than [`MAX_ENTRIES`] dependencies, entry points or members.
    #[error("manifest declares more than {limit} {what}")]
    TooManyEntries {
        /// What overflowed (`dependencies`, `entry points`, `workspace members`).
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The document parses but is not shaped like this manifest (e.g. a JSON array).
    #[error("{0}")]
    Invalid(String),
}

impl ManifestError {
    /// A syntax error with `message` cut to a bounded length.
    fn syntax(format: &'static str, message: &str) -> Self {
        ManifestError::Syntax {
            format,
            message: cap_chars(&collapse_whitespace(message), MAX_MESSAGE_CHARS),
        }
    }
}

/// The manifest formats recognised by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Cargo,
    PackageJson,
    Pyproject,
    Requirements,
    SetupCfg,
    GoMod,
    Pom,
    Gradle,
    GradleSettings,
    Gemfile,
    Gemspec,
    Composer,
    MsBuild,
}

impl Format {
    /// The format of the manifest at `path`, from its file name alone.
    fn of(path: &str) -> Option<Format> {
        let name = file_name(path);
        let format = match name {
            "Cargo.toml" => Format::Cargo,
            "package.json" => Format::PackageJson,
            "pyproject.toml" => Format::Pyproject,
            "setup.cfg" => Format::SetupCfg,
            "go.mod" => Format::GoMod,
            "pom.xml" => Format::Pom,
            "build.gradle" | "build.gradle.kts" => Format::Gradle,
            "settings.gradle" | "settings.gradle.kts" => Format::GradleSettings,
            "Gemfile" | "gems.rb" => Format::Gemfile,
            "composer.json" => Format::Composer,
            _ if name.len() > ".gemspec".len() && name.ends_with(".gemspec") => Format::Gemspec,
            _ if [".csproj", ".fsproj", ".vbproj"]
                .iter()
                .any(|ext| name.len() > ext.len() && name.to_ascii_lowercase().ends_with(ext)) =>
            {
                Format::MsBuild
            }
            _ if is_requirements_path(path) => Format::Requirements,
            _ => return None,
        };
        Some(format)
    }

    fn ecosystem(self) -> Ecosystem {
        match self {
            Format::Cargo => Ecosystem::Cargo,
            Format::PackageJson => Ecosystem::Npm,
            Format::Pyproject | Format::Requirements | Format::SetupCfg => Ecosystem::Pypi,
            Format::GoMod => Ecosystem::Go,
            Format::Pom => Ecosystem::Maven,
            Format::Gradle | Format::GradleSettings => Ecosystem::Gradle,
            Format::Gemfile | Format::Gemspec => Ecosystem::Rubygems,
            Format::Composer => Ecosystem::Composer,
            Format::MsBuild => Ecosystem::Nuget,
        }
    }
}

/// pip requirement files: `requirements.txt`, `requirements-dev.txt`, `dev-requirements.txt`,
/// `requirements.in`, and any `.txt`/`.in` file in a `requirements/` folder.
fn is_requirements_path(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    let Some(stem) = name.strip_suffix(".txt").or_else(|| name.strip_suffix(".in")) else {
        return false;
    };
    stem.starts_with("requirements")
        || stem.ends_with("requirements")
        || folders(path)
            .last()
            .is_some_and(|dir| dir.eq_ignore_ascii_case("requirements"))
}

/// True when `path` names a manifest [`parse_manifest`] understands (by file name only).
pub fn is_manifest_path(path: &str) -> bool {
    Format::of(path).is_some()
}

/// The ecosystem of the manifest at `path`, or `None` when it is not a manifest.
pub fn manifest_ecosystem(path: &str) -> Option<Ecosystem> {
    Format::of(path).map(Format::ecosystem)
}

/// Parses the manifest at `path`. `None` when `path` is not a manifest; `Some(Err(..))` when it is
/// one but is oversized, binary or malformed. Never panics, whatever `text` holds.
pub fn parse_manifest(path: &str, text: &str) -> Option<Result<Manifest, ManifestError>> {
    let format = Format::of(path)?;
    Some(parse_format(format, path, text))
}

fn parse_format(format: Format, path: &str, text: &str) -> Result<Manifest, ManifestError> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge {
            size: text.len(),
            limit: MAX_MANIFEST_BYTES,
        });
    }
    if text.contains('\0') {
        return Err(ManifestError::Binary);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut manifest = Manifest::new(path, format.ecosystem());
    match format {
        Format::Cargo => cargo::parse(&mut manifest, text)?,
        Format::PackageJson => npm::parse(&mut manifest, text)?,
        Format::Pyproject => python::parse_pyproject(&mut manifest, text)?,
        Format::Requirements => python::parse_requirements(&mut manifest, text)?,
        Format::SetupCfg => python::parse_setup_cfg(&mut manifest, text)?,
        Format::GoMod => go::parse(&mut manifest, text)?,
        Format::Pom => maven::parse(&mut manifest, text)?,
        Format::Gradle => gradle::parse_build(&mut manifest, text)?,
        Format::GradleSettings => gradle::parse_settings(&mut manifest, text)?,
        Format::Gemfile => ruby::parse_gemfile(&mut manifest, text)?,
        Format::Gemspec => ruby::parse_gemspec(&mut manifest, text)?,
        Format::Composer => composer::parse(&mut manifest, text)?,
        Format::MsBuild => nuget::parse(&mut manifest, text)?,
    }
    manifest.finish();
    Ok(manifest)
}

impl Manifest {
    fn new(path: &str, ecosystem: Ecosystem) -> Self {
        Manifest {
            path: path.to_owned(),
            ecosystem,
            name: None,
            version: None,
            description: None,
            homepage: None,
            repository: None,
            license: None,
            dependencies: Vec::new(),
            entry_points: Vec::new(),
            workspace_members: Vec::new(),
        }
    }

    /// Records a dependency; an empty name is ignored, an empty requirement becomes `None`.
    fn add_dependency(
        &mut self,
        name: &str,
        version_req: Option<&str>,
        kind: DependencyKind,
    ) -> Result<(), ManifestError> {
        let name = name.trim();
        if name.is_empty() {
            return Ok(());
        }
        if self.dependencies.len() >= MAX_ENTRIES {
            return Err(ManifestError::TooManyEntries {
                what: "dependencies",
                limit: MAX_ENTRIES,
            });
        }
        self.dependencies.push(Dependency {
            name: name.to_owned(),
            version_req: non_empty(version_req),
            kind,
        });
        Ok(())
    }

    /// Records an entry point; empty ones are ignored.
    fn add_entry_point(&mut self, entry: &str) -> Result<(), ManifestError> {
        push_bounded(&mut self.entry_points, entry, "entry points")
    }

    /// Records a workspace member; empty ones are ignored.
    fn add_member(&mut self, member: &str) -> Result<(), ManifestError> {
        push_bounded(&mut self.workspace_members, member, "workspace members")
    }

    /// Trims fields, drops empty ones, caps the description and removes exact duplicates.
    fn finish(&mut self) {
        for field in [
            &mut self.name,
            &mut self.version,
            &mut self.homepage,
            &mut self.repository,
            &mut self.license,
        ] {
            *field = non_empty(field.as_deref());
        }
        self.description = self
            .description
            .as_deref()
            .map(|d| cap_chars(&collapse_whitespace(d), MAX_DESCRIPTION_CHARS))
            .filter(|d| !d.is_empty());
        let mut seen = HashSet::new();
        self.dependencies.retain(|d| seen.insert(d.clone()));
        let mut seen = HashSet::new();
        self.entry_points.retain(|e| seen.insert(e.clone()));
        let mut seen = HashSet::new();
        self.workspace_members.retain(|m| seen.insert(m.clone()));
    }
}

fn push_bounded(list: &mut Vec<String>, value: &str, what: &'static str) -> Result<(), ManifestError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(());
    }
    if list.len() >= MAX_ENTRIES {
        return Err(ManifestError::TooManyEntries {
            what,
            limit: MAX_ENTRIES,
        });
    }
    list.push(value.to_owned());
    Ok(())
}

/// The trimmed value, or `None` when absent or blank.
fn non_empty(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Dependency group names that mean "only for development" (compared word by word, case-insensitive).
const DEV_GROUP_WORDS: &[&str] = &[
    "dev",
    "devel",
    "develop",
    "development",
    "test",
    "tests",
    "testing",
    "lint",
    "linting",
    "docs",
    "doc",
    "typing",
    "ci",
];

/// True when a group name (`dev`, `tests-unit`, `Docs`) or file stem (`requirements-dev`) names a
/// development-only group.
fn is_dev_group(name: &str) -> bool {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| DEV_GROUP_WORDS.iter().any(|dev| word.eq_ignore_ascii_case(dev)))
}

/// Parses TOML into a table, mapping errors to a bounded message with the line number.
fn parse_toml(text: &str) -> Result<toml::Table, ManifestError> {
    text.parse::<toml::Table>().map_err(|e| {
        let line = e.span().map(|span| line_of(text, span.start));
        let message = match line {
            Some(line) => format!("line {line}: {}", e.message()),
            None => e.message().to_owned(),
        };
        ManifestError::syntax("TOML", &message)
    })
}

/// Parses JSON into a value (serde_json refuses nesting deeper than 128 levels).
fn parse_json(text: &str) -> Result<serde_json::Value, ManifestError> {
    serde_json::from_str(text).map_err(|e| ManifestError::syntax("JSON", &e.to_string()))
}

/// The entries of a JSON object sorted by key: deterministic whether or not serde_json's
/// `preserve_order` feature is enabled elsewhere in the build (npm and Composer sort these keys
/// when they write them, so this is usually the document order anyway).
fn json_entries(object: &serde_json::Map<String, serde_json::Value>) -> Vec<(&str, &serde_json::Value)> {
    let mut entries: Vec<_> = object.iter().map(|(k, v)| (k.as_str(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// The 1-based line number of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    prefix_bytes(text, offset).bytes().filter(|b| *b == b'\n').count() + 1
}

/// A TOML string field of `table`.
fn toml_str<'a>(table: &'a toml::Table, key: &str) -> Option<&'a str> {
    table.get(key).and_then(toml::Value::as_str)
}

/// A JSON string field of `object`.
fn json_str<'a>(object: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(serde_json::Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_are_recognised_by_file_name() {
        for (path, ecosystem) in [
            ("Cargo.toml", Ecosystem::Cargo),
            ("crates/x/Cargo.toml", Ecosystem::Cargo),
            ("web/package.json", Ecosystem::Npm),
            ("pyproject.toml", Ecosystem::Pypi),
            ("requirements.txt", Ecosystem::Pypi),
            ("requirements-dev.txt", Ecosystem::Pypi),
            ("dev-requirements.txt", Ecosystem::Pypi),
            ("requirements/base.txt", Ecosystem::Pypi),
            ("requirements.in", Ecosystem::Pypi),
            ("setup.cfg", Ecosystem::Pypi),
            ("go.mod", Ecosystem::Go),
            ("pom.xml", Ecosystem::Maven),
            ("app/build.gradle.kts", Ecosystem::Gradle),
            ("settings.gradle", Ecosystem::Gradle),
            ("Gemfile", Ecosystem::Rubygems),
            ("rails.gemspec", Ecosystem::Rubygems),
            ("composer.json", Ecosystem::Composer),
            ("src/App/App.csproj", Ecosystem::Nuget),
            ("Lib.fsproj", Ecosystem::Nuget),
        ] {
            assert_eq!(manifest_ecosystem(path), Some(ecosystem), "{path}");
        }
        for path in [
            "Cargo.lock",
            "package-lock.json",
            "notes.txt",
            "src/main.rs",
            ".gemspec",
            "go.sum",
        ] {
            assert!(!is_manifest_path(path), "{path}");
        }
        assert_eq!(parse_manifest("README.md", "# x"), None);
    }

    #[test]
    fn an_oversized_manifest_is_refused_before_parsing() {
        let text = format!("[package]\nname = \"x\"\n#{}\n", "a".repeat(MAX_MANIFEST_BYTES));
        let error = parse_manifest("Cargo.toml", &text).unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                ManifestError::TooLarge {
                    limit: MAX_MANIFEST_BYTES,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn binary_garbage_is_an_error_in_every_format() {
        let garbage = "\u{7f}ELF\u{2}\u{1}\u{1}\0\0\0\u{3}\0>\0\u{1}";
        for path in [
            "Cargo.toml",
            "package.json",
            "requirements.txt",
            "go.mod",
            "pom.xml",
            "build.gradle",
            "Gemfile",
            "x.csproj",
        ] {
            let result = parse_manifest(path, garbage).unwrap();
            assert_eq!(result, Err(ManifestError::Binary), "{path}");
        }
    }

    #[test]
    fn too_many_dependencies_are_refused() {
        let text: String = (0..=MAX_ENTRIES).map(|i| format!("pkg{i}==1.0\n")).collect();
        let error = parse_manifest("requirements.txt", &text).unwrap().unwrap_err();
        assert_eq!(
            error,
            ManifestError::TooManyEntries {
                what: "dependencies",
                limit: MAX_ENTRIES
            }
        );
        let text: String = (0..MAX_ENTRIES).map(|i| format!("pkg{i}==1.0\n")).collect();
        assert_eq!(
            parse_manifest("requirements.txt", &text)
                .unwrap()
                .unwrap()
                .dependencies
                .len(),
            MAX_ENTRIES
        );
    }

    #[test]
    fn error_messages_are_bounded() {
        let text = format!("[package]\nname = \"{}", "x".repeat(100_000));
        let error = parse_manifest("Cargo.toml", &text).unwrap().unwrap_err();
        assert!(error.to_string().chars().count() < 400, "{error}");
    }

    #[test]
    fn dev_group_names_are_matched_word_by_word() {
        assert!(is_dev_group("dev"));
        assert!(is_dev_group("Tests-Unit"));
        assert!(is_dev_group("requirements_docs"));
        assert!(!is_dev_group("server"));
        assert!(!is_dev_group("devtools"));
    }

    #[test]
    fn manifests_serialize_with_lowercase_enums() {
        let mut manifest = Manifest::new("go.mod", Ecosystem::Go);
        manifest
            .add_dependency("golang.org/x/sync", Some("v0.7.0"), DependencyKind::Runtime)
            .unwrap();
        let json = serde_json::to_value(&manifest).unwrap();
        assert_eq!(json["ecosystem"], "go");
        assert_eq!(json["dependencies"][0]["kind"], "runtime");
        assert_eq!(json["dependencies"][0]["version_req"], "v0.7.0");
    }
}

/// Helpers shared by the per-format tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{Dependency, DependencyKind, Manifest};

    /// A manifest's dependencies as comparable tuples.
    pub(crate) fn deps(m: &Manifest) -> Vec<(&str, Option<&str>, DependencyKind)> {
        m.dependencies
            .iter()
            .map(
                |Dependency {
                     name,
                     version_req,
                     kind,
                 }| (name.as_str(), version_req.as_deref(), *kind),
            )
            .collect()
    }
}
