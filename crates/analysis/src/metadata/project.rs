//! Project files recognised by path (CI pipelines, container and deployment files, build files,
//! conventional entry points) and the Kubernetes objects declared in YAML files.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::text::{file_name, folders};
use crate::language;

/// What a project file is, from its path alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ProjectFile {
    /// A CI pipeline definition.
    Ci {
        /// The CI service: `github-actions`, `gitlab-ci`, `circleci`, `jenkins`,
        /// `azure-pipelines`, `travis-ci`, `bitbucket-pipelines`, `drone`, `buildkite`.
        provider: &'static str,
    },
    /// A container image build file (`Dockerfile`, `Containerfile`, `Dockerfile.*`, `*.dockerfile`).
    Dockerfile,
    /// A Docker Compose file (`docker-compose*.yml`, `compose.yaml`, …).
    Compose,
    /// A Helm chart's `Chart.yaml`.
    HelmChart {
        /// The chart's folder (`.` at the repository root).
        dir: String,
    },
    /// A Kustomize `kustomization.yaml`.
    Kustomization,
    /// A Makefile (`Makefile`, `makefile`, `GNUmakefile`).
    Makefile,
    /// A file where a program conventionally starts (`src/main.rs`, `main.go`, `__main__.py`, …).
    EntryPoint {
        /// The language, as [`Language::name`](crate::Language).
        language: &'static str,
    },
}

impl ProjectFile {
    /// The stable kind name stored in the database (the serialized `type`).
    pub fn kind(&self) -> &'static str {
        match self {
            ProjectFile::Ci { .. } => "ci",
            ProjectFile::Dockerfile => "dockerfile",
            ProjectFile::Compose => "compose",
            ProjectFile::HelmChart { .. } => "helm-chart",
            ProjectFile::Kustomization => "kustomization",
            ProjectFile::Makefile => "makefile",
            ProjectFile::EntryPoint { .. } => "entry-point",
        }
    }
}

/// What the file at `path` is, or `None` for any other file. CI files are recognised where their
/// service reads them (GitHub workflows directly in the root `.github/workflows/`, `.gitlab-ci.yml`
/// at the root, …); Jenkinsfiles and Azure pipelines anywhere.
pub fn classify_project_file(path: &str) -> Option<ProjectFile> {
    let name = file_name(path);
    let dirs: Vec<&str> = folders(path).collect();
    let lower = name.to_ascii_lowercase();
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    let at_root = dirs.is_empty();
    if let Some(provider) = ci_provider(name, &dirs, yaml) {
        return Some(ProjectFile::Ci { provider });
    }
    if name == "Dockerfile"
        || name == "Containerfile"
        || name.starts_with("Dockerfile.")
        || name.starts_with("Containerfile.")
        || (lower.ends_with(".dockerfile") && lower.len() > ".dockerfile".len())
    {
        return Some(ProjectFile::Dockerfile);
    }
    if yaml
        && (lower.starts_with("docker-compose")
            || lower.starts_with("compose.")
            || lower.starts_with("compose-"))
    {
        return Some(ProjectFile::Compose);
    }
    if name == "Chart.yaml" {
        let dir = if at_root { ".".to_owned() } else { dirs.join("/") };
        return Some(ProjectFile::HelmChart { dir });
    }
    if matches!(name, "kustomization.yaml" | "kustomization.yml" | "Kustomization") {
        return Some(ProjectFile::Kustomization);
    }
    if matches!(name, "Makefile" | "makefile" | "GNUmakefile") {
        return Some(ProjectFile::Makefile);
    }
    entry_point_language(name, &dirs).map(|language| ProjectFile::EntryPoint { language })
}

fn ci_provider(name: &str, dirs: &[&str], yaml: bool) -> Option<&'static str> {
    let provider = match (dirs, name) {
        ([".github", "workflows"], _) if yaml => "github-actions",
        ([], ".gitlab-ci.yml" | ".gitlab-ci.yaml") => "gitlab-ci",
        ([".circleci"], "config.yml" | "config.yaml") => "circleci",
        (_, "Jenkinsfile") => "jenkins",
        (_, "azure-pipelines.yml" | "azure-pipelines.yaml") => "azure-pipelines",
        ([], ".travis.yml" | ".travis.yaml") => "travis-ci",
        ([], "bitbucket-pipelines.yml") => "bitbucket-pipelines",
        ([], ".drone.yml" | ".drone.yaml") => "drone",
        ([".buildkite"], "pipeline.yml" | "pipeline.yaml") => "buildkite",
        _ => return None,
    };
    Some(provider)
}

/// The language of a conventional entry-point file.
fn entry_point_language(name: &str, dirs: &[&str]) -> Option<&'static str> {
    let parent = dirs.last().copied();
    let shallow = dirs.len() <= 1;
    let in_src_or_root = dirs.is_empty() || parent == Some("src");
    let language = match name {
        "main.rs" if parent == Some("src") => &language::RUST,
        _ if name.ends_with(".rs")
            && parent == Some("bin")
            && dirs.len() >= 2
            && dirs[dirs.len() - 2] == "src" =>
        {
            &language::RUST
        }
        "main.rs" if parent.is_some() && dirs.len() >= 3 && dirs[dirs.len() - 2] == "bin" => &language::RUST,
        "main.go" => &language::GO,
        "__main__.py" => &language::PYTHON,
        "manage.py" | "main.py" | "app.py" | "wsgi.py" | "asgi.py" if shallow || parent == Some("src") => {
            &language::PYTHON
        }
        "index.js" | "server.js" | "main.js" | "app.js" | "index.mjs" | "server.mjs" if in_src_or_root => {
            &language::JAVASCRIPT
        }
        "index.ts" | "main.ts" | "server.ts" | "app.ts" if in_src_or_root => &language::TYPESCRIPT,
        "Program.cs" => &language::CSHARP,
        "Main.java" | "Application.java" => &language::JAVA,
        _ if name.ends_with("Application.java") && !dirs.contains(&"test") => &language::JAVA,
        "Main.kt" | "Application.kt" => &language::KOTLIN,
        "main.c" => &language::C,
        "main.cpp" | "main.cc" | "main.cxx" => &language::CPP,
        _ => return None,
    };
    Some(language.name)
}

/// Bytes of a YAML file that are parsed for Kubernetes objects; larger files yield none.
pub const MAX_KUBERNETES_BYTES: usize = 4 * 1024 * 1024;
/// YAML documents of one file that are parsed; the rest are ignored.
pub const MAX_KUBERNETES_DOCUMENTS: usize = 1_000;

/// A Kubernetes object declared in a YAML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct K8sObject {
    /// `apiVersion`, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`, e.g. `Deployment`.
    pub kind: String,
    /// `metadata.name`, when it is a literal string.
    pub name: Option<String>,
}

/// The fields read from each document; everything else is ignored.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default, deserialize_with = "string_or_none")]
    name: Option<String>,
}

/// A string, or `None` for any other value, which is skipped without being built (an alias to a
/// huge structure is never expanded into memory).
fn string_or_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    struct StringOrNone;

    impl<'de> Visitor<'de> for StringOrNone {
        type Value = Option<String>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("any value")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(Some(value.to_owned()))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }

    deserializer.deserialize_any(StringOrNone)
}

/// The Kubernetes objects of a YAML file: each `---`-separated document with a string `apiVersion`
/// and `kind`. Documents that fail to parse (Helm templates with `{{ }}` are skipped without
/// parsing) or lack either field are skipped; files over [`MAX_KUBERNETES_BYTES`] yield nothing and
/// at most [`MAX_KUBERNETES_DOCUMENTS`] documents are parsed. serde_yaml bounds nesting depth and
/// alias expansion, so a crafted document is an error, never a hang.
pub fn kubernetes_objects(text: &str) -> Vec<K8sObject> {
    if text.len() > MAX_KUBERNETES_BYTES || text.contains('\0') {
        return Vec::new();
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    yaml_documents(text)
        .take(MAX_KUBERNETES_DOCUMENTS)
        .filter(|document| {
            document.contains("apiVersion") && !document.contains("{{") && !too_deeply_nested(document)
        })
        .filter_map(|document| serde_yaml::from_str::<Head>(document).ok())
        .filter_map(|head| {
            let api_version = head.api_version.filter(|v| !v.trim().is_empty())?;
            let kind = head.kind.filter(|k| !k.trim().is_empty())?;
            let name = head.metadata.and_then(|m| m.name);
            Some(K8sObject {
                api_version,
                kind,
                name,
            })
        })
        .collect()
}

/// Deepest `[`/`{` flow nesting parsed. libyaml re-checks every open flow level on each token, so
/// a document of a million `[` would take hours; real manifests nest a handful of levels.
const MAX_FLOW_DEPTH: usize = 64;

/// True when brackets nest deeper than [`MAX_FLOW_DEPTH`] (counted without regard to quoting, so
/// brackets inside strings count too: such a document is merely skipped).
fn too_deeply_nested(document: &str) -> bool {
    let mut depth = 0usize;
    for byte in document.bytes() {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The documents of a YAML stream: split at `---` lines (a marker may carry a comment or
/// content after a space) and cut at `...` end markers.
fn yaml_documents(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let mut offset = 0;
        for line in current.split_inclusive('\n') {
            let trimmed = line.trim_end();
            let is_marker = trimmed == "---" || trimmed.starts_with("--- ") || trimmed == "...";
            if is_marker && offset > 0 {
                let document = &current[..offset];
                rest = Some(&current[offset..]).filter(|r| !r.is_empty());
                return Some(document);
            }
            if is_marker {
                // A leading marker: the document starts after it.
                let after = &current[line.len()..];
                let inline = trimmed.strip_prefix("---").unwrap_or("").trim();
                if inline.is_empty() || inline.starts_with('#') {
                    rest = Some(after).filter(|r| !r.is_empty());
                    return Some("");
                }
            }
            offset += line.len();
        }
        rest = None;
        Some(current)
    })
    .filter(|document| !document.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(provider: &'static str) -> Option<ProjectFile> {
        Some(ProjectFile::Ci { provider })
    }

    fn entry(language: &'static str) -> Option<ProjectFile> {
        Some(ProjectFile::EntryPoint { language })
    }

    #[test]
    fn ci_files_are_recognised_where_their_service_reads_them() {
        assert_eq!(
            classify_project_file(".github/workflows/ci.yml"),
            ci("github-actions")
        );
        assert_eq!(
            classify_project_file(".github/workflows/release.yaml"),
            ci("github-actions")
        );
        assert_eq!(classify_project_file(".github/workflows/scripts/x.yml"), None);
        assert_eq!(classify_project_file("sub/.github/workflows/ci.yml"), None);
        assert_eq!(classify_project_file(".github/dependabot.yml"), None);
        assert_eq!(classify_project_file(".gitlab-ci.yml"), ci("gitlab-ci"));
        assert_eq!(classify_project_file(".circleci/config.yml"), ci("circleci"));
        assert_eq!(classify_project_file("Jenkinsfile"), ci("jenkins"));
        assert_eq!(classify_project_file("ci/Jenkinsfile"), ci("jenkins"));
        assert_eq!(
            classify_project_file("azure-pipelines.yml"),
            ci("azure-pipelines")
        );
        assert_eq!(classify_project_file(".travis.yml"), ci("travis-ci"));
        assert_eq!(
            classify_project_file("bitbucket-pipelines.yml"),
            ci("bitbucket-pipelines")
        );
        assert_eq!(classify_project_file(".drone.yml"), ci("drone"));
        assert_eq!(classify_project_file(".buildkite/pipeline.yml"), ci("buildkite"));
    }

    #[test]
    fn container_deployment_and_build_files_are_recognised() {
        for path in [
            "Dockerfile",
            "docker/Dockerfile.prod",
            "Containerfile",
            "build/api.dockerfile",
        ] {
            assert_eq!(
                classify_project_file(path),
                Some(ProjectFile::Dockerfile),
                "{path}"
            );
        }
        for path in [
            "docker-compose.yml",
            "docker-compose.override.yaml",
            "compose.yaml",
            "deploy/compose.yml",
        ] {
            assert_eq!(classify_project_file(path), Some(ProjectFile::Compose), "{path}");
        }
        assert_eq!(
            classify_project_file("charts/api/Chart.yaml"),
            Some(ProjectFile::HelmChart {
                dir: "charts/api".into()
            })
        );
        assert_eq!(
            classify_project_file("Chart.yaml"),
            Some(ProjectFile::HelmChart { dir: ".".into() })
        );
        assert_eq!(
            classify_project_file("deploy/overlays/prod/kustomization.yaml"),
            Some(ProjectFile::Kustomization)
        );
        assert_eq!(classify_project_file("Makefile"), Some(ProjectFile::Makefile));
        assert_eq!(classify_project_file("docs/dockerfile-guide.md"), None);
        assert_eq!(classify_project_file("values.yaml"), None);
    }

    #[test]
    fn conventional_entry_points_are_recognised_with_their_language() {
        assert_eq!(classify_project_file("src/main.rs"), entry("Rust"));
        assert_eq!(classify_project_file("crates/cli/src/main.rs"), entry("Rust"));
        assert_eq!(classify_project_file("src/bin/migrate.rs"), entry("Rust"));
        assert_eq!(classify_project_file("src/bin/tool/main.rs"), entry("Rust"));
        assert_eq!(classify_project_file("main.go"), entry("Go"));
        assert_eq!(classify_project_file("cmd/server/main.go"), entry("Go"));
        assert_eq!(classify_project_file("mypkg/__main__.py"), entry("Python"));
        assert_eq!(classify_project_file("manage.py"), entry("Python"));
        assert_eq!(classify_project_file("app.py"), entry("Python"));
        assert_eq!(classify_project_file("src/main.py"), entry("Python"));
        assert_eq!(classify_project_file("index.js"), entry("JavaScript"));
        assert_eq!(
            classify_project_file("packages/web/src/index.ts"),
            entry("TypeScript")
        );
        assert_eq!(classify_project_file("src/server.js"), entry("JavaScript"));
        assert_eq!(classify_project_file("src/Api/Program.cs"), entry("C#"));
        assert_eq!(
            classify_project_file("src/main/java/com/acme/Main.java"),
            entry("Java")
        );
        assert_eq!(
            classify_project_file("src/main/java/com/acme/OrdersApplication.java"),
            entry("Java")
        );
        assert_eq!(classify_project_file("main.c"), entry("C"));
        assert_eq!(classify_project_file("src/main.cpp"), entry("C++"));
        for path in [
            "src/lib.rs",
            "src/components/index.js",
            "lib/deep/pkg/main.py",
            "src/test/java/com/acme/OrdersApplication.java",
            "tests/main.rs",
        ] {
            assert_eq!(classify_project_file(path), None, "{path}");
        }
    }

    #[test]
    fn project_files_serialize_with_a_type_tag() {
        let json = serde_json::to_value(ProjectFile::Ci {
            provider: "github-actions",
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "ci", "provider": "github-actions"})
        );
        assert_eq!(ProjectFile::HelmChart { dir: ".".into() }.kind(), "helm-chart");
    }

    #[test]
    fn kubernetes_objects_are_read_from_each_document() {
        let text = "# Source: app\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  \
                    labels: {app: api}\nspec:\n  replicas: 2\n---\napiVersion: v1\nkind: Service\nmetadata:\n  \
                    name: api\n--- # a comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n\
                    ---\nkind: NoApiVersion\n---\napiVersion: v1\nkind: [not, a, string]\n---\n- a list\n---\n\
                    apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  generateName: web-\n...\n";
        let objects = kubernetes_objects(text);
        let object = |api_version: &str, kind: &str, name: Option<&str>| K8sObject {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.map(Into::into),
        };
        assert_eq!(
            objects,
            vec![
                object("apps/v1", "Deployment", Some("api")),
                object("v1", "Service", Some("api")),
                object("networking.k8s.io/v1", "Ingress", None),
            ]
        );
    }

    #[test]
    fn non_kubernetes_and_hostile_yaml_yield_nothing() {
        assert!(kubernetes_objects("name: CI\non: [push]\njobs: {}\n").is_empty());
        assert!(kubernetes_objects("apiVersion: v1\nkind: [unclosed\n").is_empty());
        // Deep flow nesting is refused before libyaml sees it (its cost is quadratic in the depth).
        let deep = format!(
            "apiVersion: v1\nkind: Pod\nx: {}1{}\n",
            "[".repeat(1_000_000),
            "]".repeat(1_000_000)
        );
        assert!(kubernetes_objects(&deep).is_empty());
        let shallow = "apiVersion: v1\nkind: Pod\nx: [[[[1]]]]\nmetadata: {name: web}\n";
        assert_eq!(kubernetes_objects(shallow)[0].name.as_deref(), Some("web"));
        let odd_name = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a, {b: c}]\n";
        assert_eq!(kubernetes_objects(odd_name)[0].name, None);
        // Block nesting: indentation makes it quadratic in size, so a few thousand levels at most.
        let block: String = (0..2_500).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert_eq!(
            kubernetes_objects(&format!("apiVersion: v1\nkind: Pod\nx:\n{block}")).len(),
            1
        );
        let laughs = "apiVersion: v1\nkind: ConfigMap\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n\
                      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n\
                      e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n\
                      h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\nmetadata: {name: *i}\n";
        assert_eq!(kubernetes_objects(laughs).len(), 1);
        let many = "apiVersion: v1\nkind: Pod\n---\n".repeat(MAX_KUBERNETES_DOCUMENTS + 500);
        assert_eq!(kubernetes_objects(&many).len(), MAX_KUBERNETES_DOCUMENTS);
        assert!(kubernetes_objects(&"a".repeat(MAX_KUBERNETES_BYTES + 1)).is_empty());
        assert!(kubernetes_objects("\u{0}\u{1}apiVersion").is_empty());
    }
}
