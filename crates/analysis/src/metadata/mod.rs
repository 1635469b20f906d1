//! Repository metadata: what a repository says about itself, extracted from the files of its
//! tree by pure functions over `(path, text)` — no I/O, no database, no git.
//!
//! - [`readme`]: the README's title, one-paragraph summary and section headings (Markdown,
//!   reStructuredText, AsciiDoc).
//! - [`license`]: license files, the SPDX id of a license text (phrase rules per license, an
//!   `SPDX-License-Identifier` line wins), and SPDX normalisation of manifest license strings.
//! - [`manifest`]: package manifests of nine ecosystems (Cargo, npm, PyPI, Go, Maven, Gradle,
//!   RubyGems, Composer, NuGet): identity, license, dependencies with their kind, entry points and
//!   workspace members.
//! - [`project`]: CI pipelines, Dockerfiles, Compose files, Helm charts, Kustomizations, Makefiles
//!   and conventional entry points by path; Kubernetes objects declared in YAML.
//!
//! Every `is_*_path`/`classify_*` check looks at the path only, so a caller parses content only
//! for candidate files.
//!
//! Repository content is hostile input, so every function here is total and bounded: nothing
//! panics, loops without progress or allocates beyond a constant factor of a capped input.
//! Manifests over [`MAX_MANIFEST_BYTES`] or containing NUL bytes are refused with an error, TOML
//! and JSON nesting is bounded by their parsers, XML nesting by [`MAX_XML_DEPTH`] (entities other
//! than the predefined ones are never expanded), and one manifest yields at most [`MAX_ENTRIES`]
//! dependencies, entry points and members. READMEs are read up to [`MAX_README_BYTES`] with linear
//! scans, license texts up to [`MAX_LICENSE_BYTES`], and Kubernetes YAML up to
//! [`MAX_KUBERNETES_BYTES`] and [`MAX_KUBERNETES_DOCUMENTS`] documents (serde_yaml bounds nesting
//! and alias expansion).

pub mod license;
pub mod manifest;
pub mod project;
pub mod readme;
mod text;

pub use license::{LicenseMatch, MAX_LICENSE_BYTES, detect_license, is_license_path, spdx_from_manifest};
pub use manifest::{
    Dependency, DependencyKind, Ecosystem, MAX_DESCRIPTION_CHARS, MAX_ENTRIES, MAX_MANIFEST_BYTES,
    MAX_XML_DEPTH, Manifest, ManifestError, is_manifest_path, manifest_ecosystem, parse_manifest,
};
pub use project::{
    K8sObject, MAX_KUBERNETES_BYTES, MAX_KUBERNETES_DOCUMENTS, ProjectFile, classify_project_file,
    kubernetes_objects,
};
pub use readme::{
    MAX_HEADING_CHARS, MAX_README_BYTES, MAX_SECTIONS, MAX_SUMMARY_CHARS, ReadmeInfo, is_readme_path,
    parse_readme,
};

/// True when the file at `path` carries metadata by its path alone: a README, a license file, a
/// manifest or a project file. (Kubernetes objects may be in any YAML file; that check is the
/// caller's.)
pub fn is_metadata_path(path: &str) -> bool {
    is_readme_path(path)
        || is_license_path(path)
        || is_manifest_path(path)
        || classify_project_file(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_paths_cover_every_extractor_and_nothing_else() {
        for path in [
            "README.md",
            "LICENSE",
            "Cargo.toml",
            ".github/workflows/ci.yml",
            "src/main.rs",
        ] {
            assert!(is_metadata_path(path), "{path}");
        }
        for path in ["src/lib.rs", "docs/guide.md", "assets/logo.png", "values.yaml"] {
            assert!(!is_metadata_path(path), "{path}");
        }
    }

    /// Pieces of syntax of every format, multibyte characters and control characters.
    const PIECES: &[&str] = &[
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        "\"",
        "'",
        "`",
        "#",
        "*",
        "_",
        "<",
        ">",
        "/",
        "\\",
        ":",
        "=",
        ",",
        ";",
        "|",
        "-",
        "!",
        "&",
        "\n",
        "\r\n",
        " ",
        "\t",
        "é",
        "€",
        "𝄞",
        "\u{feff}",
        "\u{1}",
        "a",
        "1",
        ".",
        "@",
        "~",
        "+",
        "^",
        "$",
        "---",
        "```",
        "..",
        "::",
        "<h1>",
        "</h1>",
        "dependencies {",
        "implementation ",
        "'g:a:1'",
        "gem ",
        "group :test do",
        "end",
        "require (",
        "[package]",
        "[dependencies]",
        "[[bin]]",
        "name",
        "version",
        "apiVersion: v1\n",
        "kind: Pod\n",
        "&#",
        "&#x1F600;",
        "&amp;",
        "<!--",
        "-->",
        "<project>",
        "</project>",
        "<dependency>",
        "<![CDATA[",
        "]]>",
        "= ",
        "== ",
        ".. ",
        "|===",
        "----",
        "SPDX-License-Identifier: ",
        "Copyright (c)",
        "version 3 of the license",
        "gnu general public license as published by the free software foundation",
        "#egg=",
        "-e ",
        "${x}",
        "{{ .Values }}",
        "![x](y)",
        "[t](u)",
    ];

    /// A deterministic pseudo-random input of up to `max` pieces (xorshift).
    fn arbitrary_input(state: &mut u64, max: usize) -> String {
        let mut next = || {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state
        };
        let len = (next() % max as u64) as usize;
        (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect()
    }

    #[test]
    fn arbitrary_input_never_panics_in_any_extractor() {
        let manifests = [
            "Cargo.toml",
            "package.json",
            "pyproject.toml",
            "requirements-dev.txt",
            "setup.cfg",
            "go.mod",
            "pom.xml",
            "build.gradle",
            "settings.gradle.kts",
            "Gemfile",
            "x.gemspec",
            "composer.json",
            "X.csproj",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..400 {
            let text = arbitrary_input(&mut state, 200);
            for path in manifests {
                let _ = parse_manifest(path, &text);
            }
            for path in ["README.md", "README.rst", "README.adoc"] {
                let info = parse_readme(path, &text);
                assert!(
                    info.summary
                        .is_none_or(|s| s.chars().count() <= MAX_SUMMARY_CHARS)
                );
            }
            if let Some(found) = detect_license(&text) {
                assert!((0.6..=1.0).contains(&found.confidence), "{found:?}");
            }
            let _ = spdx_from_manifest(&text);
            let _ = kubernetes_objects(&text);
            let _ = classify_project_file(&text);
            let _ = is_metadata_path(&text);
        }
    }
}
