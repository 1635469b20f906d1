//! Gradle build scripts (`build.gradle`, `build.gradle.kts`) and settings
//! (`settings.gradle(.kts)`), read line by line in both the Groovy and the Kotlin DSL.
//!
//! Gradle scripts are programs; this reads the declarative subset: string-literal dependency
//! notations inside `dependencies { }` blocks and literal assignments at the top level. Version
//! catalogs (`libs.foo`), project dependencies and computed values are not resolved.

use super::{DependencyKind, Manifest, ManifestError, folders};

/// Names of open blocks kept; deeper blocks are counted but never hold dependencies.
const MAX_BLOCK_NAMES: usize = 64;

/// Dependency configurations (lowercased suffixes) whose declarations are recorded.
const CONFIGURATION_SUFFIXES: &[&str] = &[
    "implementation",
    "api",
    "compileonly",
    "compileonlyapi",
    "runtimeonly",
    "compile",
    "runtime",
    "developmentonly",
];

/// Dependencies from `dependencies { }` blocks (including `buildscript`'s `classpath`), and the
/// top-level `group`, `version` and `description`. The name is `group:folder` (Gradle's default
/// coordinates) or the group alone for the root build script.
pub(super) fn parse_build(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let code = strip_comments(text);
    let mut blocks = Blocks::default();
    let mut group = None;
    for line in code.lines() {
        let statement = line.trim();
        if blocks.innermost() == Some("dependencies") {
            if let Some((kind, notations)) = dependency_statement(statement) {
                for (name, version) in notations {
                    manifest.add_dependency(&name, version.as_deref(), kind)?;
                }
            }
        } else if blocks.depth == 0 {
            if let Some(value) = assignment(statement, "group") {
                group = Some(value.to_owned());
            } else if let Some(value) = assignment(statement, "version") {
                manifest.version = Some(value.to_owned());
            } else if let Some(value) = assignment(statement, "description") {
                manifest.description = Some(value.to_owned());
            }
        }
        blocks.scan(line);
    }
    manifest.name = match (group, folders(&manifest.path).last()) {
        (Some(group), Some(folder)) => Some(format!("{group}:{folder}")),
        (group, _) => group,
    };
    Ok(())
}

/// `rootProject.name` as the name and `include` lists (Groovy or Kotlin, one or several lines) as
/// workspace members, mapped to folder paths (`:libs:core` → `libs/core`).
pub(super) fn parse_settings(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let code = strip_comments(text);
    let mut blocks = Blocks::default();
    let mut open_include: Option<i64> = None;
    for line in code.lines() {
        let statement = line.trim();
        let starts_include = blocks.depth == 0
            && statement
                .strip_prefix("include")
                .is_some_and(|rest| rest.starts_with(|c: char| c == '(' || c.is_whitespace()));
        if starts_include || open_include.is_some() {
            for project in string_literals(statement) {
                let path = project.trim_start_matches(':').replace(':', "/");
                manifest.add_member(&path)?;
            }
            let balance = open_include.unwrap_or(0) + paren_balance(statement);
            open_include = (balance > 0).then_some(balance);
        } else if blocks.depth == 0
            && let Some(value) = assignment(statement, "rootProject.name")
        {
            manifest.name = Some(value.to_owned());
        }
        blocks.scan(line);
    }
    Ok(())
}

/// The block structure seen so far: how deep, and the names of the open blocks.
#[derive(Default)]
struct Blocks<'a> {
    depth: usize,
    names: Vec<&'a str>,
}

impl<'a> Blocks<'a> {
    /// The name of the innermost open block, when it is known.
    fn innermost(&self) -> Option<&'a str> {
        (self.depth == self.names.len())
            .then(|| self.names.last().copied())
            .flatten()
    }

    /// Updates the structure with the braces of one line (outside string literals).
    fn scan(&mut self, line: &'a str) {
        for (index, c) in structural_chars(line) {
            match c {
                '{' => {
                    if self.depth == self.names.len() && self.names.len() < MAX_BLOCK_NAMES {
                        self.names.push(block_name(&line[..index]));
                    }
                    self.depth += 1;
                }
                '}' if self.depth > 0 => {
                    if self.depth == self.names.len() {
                        self.names.pop();
                    }
                    self.depth -= 1;
                }
                _ => {}
            }
        }
    }
}

/// The identifier just before a `{` (`dependencies`, `buildscript`), or `""` for a closure after a
/// call.
fn block_name(before: &str) -> &str {
    let before = before.trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    &before[start..]
}

/// Positions of `{ } ( )` outside string literals (strings end at the end of the line).
fn structural_chars(line: &str) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '{' | '}' | '(' | ')' => out.push((index, c)),
                _ => {}
            },
        }
    }
    out
}

/// Opening minus closing parentheses outside string literals.
fn paren_balance(line: &str) -> i64 {
    structural_chars(line)
        .iter()
        .map(|(_, c)| match c {
            '(' => 1,
            ')' => -1,
            _ => 0,
        })
        .sum()
}

/// The text with `//` and `/* */` comments replaced by spaces, outside string literals; line
/// breaks are kept so line structure survives.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    let mut in_block_comment = false;
    while let Some(c) = chars.next() {
        if in_block_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                in_block_comment = false;
            } else if c == '\n' {
                out.push('\n');
            }
            continue;
        }
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else if c == q || c == '\n' {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                out.push(c);
            }
            '/' if chars.peek() == Some(&'/') => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                in_block_comment = true;
            }
            _ => out.push(c),
        }
    }
    out
}

/// The contents of the `'…'` and `"…"` literals of `text`, in order (backslash escapes kept).
fn string_literals(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['"', '\'']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        let body = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (index, c) in body.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == quote {
                end = Some(index);
                break;
            }
        }
        let Some(end) = end else { break };
        out.push(&body[..end]);
        rest = &body[end + 1..];
    }
    out
}

/// The string literal assigned to `key` in `key = "value"` or `key "value"` (Groovy's call
/// syntax); `None` for any other statement or a computed value.
fn assignment<'a>(statement: &'a str, key: &str) -> Option<&'a str> {
    let rest = statement.strip_prefix(key)?;
    if !rest.starts_with(|c: char| c == '=' || c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &rest[1..];
    let end = body.find(quote)?;
    body[end + 1..].trim().is_empty().then(|| &body[..end])
}

/// The kind of a dependency configuration, or `None` when `name` is not one.
fn configuration_kind(name: &str) -> Option<DependencyKind> {
    let lower = name.to_ascii_lowercase();
    if lower == "classpath"
        || lower.starts_with("kapt")
        || lower.starts_with("ksp")
        || lower.ends_with("annotationprocessor")
    {
        return Some(DependencyKind::Build);
    }
    if !CONFIGURATION_SUFFIXES
        .iter()
        .any(|suffix| lower.ends_with(suffix))
    {
        return None;
    }
    if lower.contains("test") || lower == "developmentonly" {
        Some(DependencyKind::Dev)
    } else {
        Some(DependencyKind::Runtime)
    }
}

/// A `(name, version)` pair.
type Notation = (String, Option<String>);

/// The kind and the notations of a statement such as `implementation 'g:a:v'`,
/// `testImplementation("g:a:v")`, `api(platform("g:a:v"))`, `implementation(kotlin("stdlib"))` or
/// `implementation group: 'g', name: 'a', version: 'v'`.
fn dependency_statement(statement: &str) -> Option<(DependencyKind, Vec<Notation>)> {
    let config_end = statement
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(statement.len());
    let kind = configuration_kind(&statement[..config_end])?;
    let mut rest = statement[config_end..].trim_start();
    if !rest.starts_with(['(', '"', '\'']) && !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    // Only the call's own arguments: a trailing configuration closure is not a notation.
    if let Some((index, _)) = structural_chars(rest).into_iter().find(|(_, c)| *c == '{') {
        rest = &rest[..index];
    }
    let rest = rest.trim_start_matches('(').trim_start();
    for wrapper in ["platform(", "enforcedPlatform(", "testFixtures("] {
        if let Some(inner) = rest.strip_prefix(wrapper) {
            return Some((kind, coordinates(inner)));
        }
    }
    if let Some(args) = rest.strip_prefix("kotlin(") {
        let literals = string_literals(args);
        let module = literals.first()?;
        let name = format!("org.jetbrains.kotlin:kotlin-{module}");
        return Some((kind, vec![(name, literals.get(1).map(|v| (*v).to_owned()))]));
    }
    if rest.starts_with(['"', '\'']) {
        return Some((kind, coordinates(rest)));
    }
    let artifact = named_argument(rest, "name")?;
    let name = match named_argument(rest, "group") {
        Some(group) => format!("{group}:{artifact}"),
        None => artifact.to_owned(),
    };
    Some((
        kind,
        vec![(name, named_argument(rest, "version").map(str::to_owned))],
    ))
}

/// Every `group:artifact[:version[:classifier]][@ext]` string literal of `text`.
fn coordinates(text: &str) -> Vec<Notation> {
    string_literals(text)
        .into_iter()
        .filter_map(|literal| {
            let literal = literal.split('@').next().unwrap_or(literal);
            let parts: Vec<&str> = literal.split(':').collect();
            let valid = |part: &str| !part.is_empty() && !part.contains(char::is_whitespace);
            if !(2..=4).contains(&parts.len()) || !valid(parts[0]) || !valid(parts[1]) {
                return None;
            }
            let version = parts.get(2).filter(|v| !v.is_empty()).map(|v| (*v).to_owned());
            Some((format!("{}:{}", parts[0], parts[1]), version))
        })
        .collect()
}

/// The string literal of a named argument `key: 'v'` (Groovy map) or `key = "v"` (Kotlin).
fn named_argument<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(found) = text[from..].find(key) {
        let start = from + found;
        from = start + key.len();
        let boundary = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let rest = text[from..].trim_start();
        let Some(rest) = rest.strip_prefix([':', '=']) else {
            continue;
        };
        if !boundary {
            continue;
        }
        return string_literals(rest).first().copied();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::{Ecosystem, parse_manifest, test_support::deps};
    use super::*;

    #[test]
    fn a_groovy_build_script_yields_dependencies_by_configuration() {
        let text = r#"
buildscript {
    repositories { mavenCentral() }
    dependencies {
        classpath 'com.google.gms:google-services:4.4.1'
    }
}

plugins {
    id 'java'
    id 'org.springframework.boot' version '3.2.4'
}

group = 'com.acme'
version = '0.3.0' // released
description = "Orders service"

/* dependencies { implementation 'commented:out:1' } */
dependencies {
    implementation 'org.springframework.boot:spring-boot-starter-web'
    implementation "com.google.guava:guava:33.1.0-jre" // inline comment
    implementation platform("software.amazon.awssdk:bom:2.25.0")
    implementation group: 'org.apache.commons', name: 'commons-lang3', version: '3.14.0'
    implementation project(':core')
    implementation libs.jackson.databind
    implementation("io.grpc:grpc-netty:${grpcVersion}") {
        exclude group: 'io.netty', module: 'netty-codec-http2'
    }
    compileOnly 'org.projectlombok:lombok:1.18.32'
    annotationProcessor 'org.projectlombok:lombok:1.18.32'
    runtimeOnly 'org.postgresql:postgresql:42.7.3'
    testImplementation 'org.junit.jupiter:junit-jupiter:5.10.2'
    testRuntimeOnly 'org.junit.platform:junit-platform-launcher'
}

tasks.named('test') { useJUnitPlatform() }
"#;
        let m = parse_manifest("orders/build.gradle", text).unwrap().unwrap();
        assert_eq!(m.ecosystem, Ecosystem::Gradle);
        assert_eq!(m.name.as_deref(), Some("com.acme:orders"));
        assert_eq!(m.version.as_deref(), Some("0.3.0"));
        assert_eq!(m.description.as_deref(), Some("Orders service"));
        use DependencyKind::*;
        assert_eq!(
            deps(&m),
            vec![
                ("com.google.gms:google-services", Some("4.4.1"), Build),
                ("org.springframework.boot:spring-boot-starter-web", None, Runtime),
                ("com.google.guava:guava", Some("33.1.0-jre"), Runtime),
                ("software.amazon.awssdk:bom", Some("2.25.0"), Runtime),
                ("org.apache.commons:commons-lang3", Some("3.14.0"), Runtime),
                ("io.grpc:grpc-netty", Some("${grpcVersion}"), Runtime),
                ("org.projectlombok:lombok", Some("1.18.32"), Runtime),
                ("org.projectlombok:lombok", Some("1.18.32"), Build),
                ("org.postgresql:postgresql", Some("42.7.3"), Runtime),
                ("org.junit.jupiter:junit-jupiter", Some("5.10.2"), Dev),
                ("org.junit.platform:junit-platform-launcher", None, Dev),
            ]
        );
    }

    #[test]
    fn a_kotlin_build_script_yields_dependencies_by_configuration() {
        let text = r#"
plugins {
    kotlin("jvm") version "1.9.23"
    id("com.google.devtools.ksp") version "1.9.23-1.0.20"
}

group = "dev.acme"
version = "1.0.0"

dependencies {
    implementation(kotlin("stdlib"))
    implementation("io.ktor:ktor-server-netty:2.3.9")
    api("com.squareup.okio:okio:3.9.0")
    ksp("com.squareup.moshi:moshi-kotlin-codegen:1.15.1")
    kapt("com.google.dagger:dagger-compiler:2.51")
    androidTestImplementation("androidx.test.espresso:espresso-core:3.5.1")
    testImplementation(kotlin("test"))
    implementation(group = "org.slf4j", name = "slf4j-api", version = "2.0.12")
}
"#;
        let m = parse_manifest("build.gradle.kts", text).unwrap().unwrap();
        assert_eq!(m.name.as_deref(), Some("dev.acme"));
        assert_eq!(m.version.as_deref(), Some("1.0.0"));
        use DependencyKind::*;
        assert_eq!(
            deps(&m),
            vec![
                ("org.jetbrains.kotlin:kotlin-stdlib", None, Runtime),
                ("io.ktor:ktor-server-netty", Some("2.3.9"), Runtime),
                ("com.squareup.okio:okio", Some("3.9.0"), Runtime),
                ("com.squareup.moshi:moshi-kotlin-codegen", Some("1.15.1"), Build),
                ("com.google.dagger:dagger-compiler", Some("2.51"), Build),
                ("androidx.test.espresso:espresso-core", Some("3.5.1"), Dev),
                ("org.jetbrains.kotlin:kotlin-test", None, Dev),
                ("org.slf4j:slf4j-api", Some("2.0.12"), Runtime),
            ]
        );
    }

    #[test]
    fn settings_yield_the_root_name_and_included_projects() {
        let groovy = "rootProject.name = 'acme-platform'\ninclude ':app', ':libs:core'\n\
                      // include ':disabled'\n";
        let m = parse_manifest("settings.gradle", groovy).unwrap().unwrap();
        assert_eq!(m.name.as_deref(), Some("acme-platform"));
        assert_eq!(m.workspace_members, vec!["app", "libs/core"]);
        let kotlin = "rootProject.name = \"acme\"\ninclude(\n    \":app\",\n    \":feature:login\"\n)\n\
                      includeBuild(\"build-logic\")\n";
        let m = parse_manifest("settings.gradle.kts", kotlin).unwrap().unwrap();
        assert_eq!(m.name.as_deref(), Some("acme"));
        assert_eq!(m.workspace_members, vec!["app", "feature/login"]);
    }

    #[test]
    fn non_ascii_text_before_a_brace_is_harmless() {
        let text =
            "é{\nprojet «dépendances» {\ndependencies {\n    implementation 'a:b:1' // ünïcode\n}\n}\n}\n";
        let m = parse_manifest("build.gradle", text).unwrap().unwrap();
        assert_eq!(deps(&m), vec![("a:b", Some("1"), DependencyKind::Runtime)]);
    }

    #[test]
    fn unbalanced_braces_and_unterminated_strings_are_harmless() {
        let text = format!(
            "dependencies {{\n{}\nimplementation 'a:b:1\n\"unterminated\n/* open",
            "{".repeat(100_000)
        );
        let m = parse_manifest("build.gradle", &text).unwrap().unwrap();
        assert!(m.dependencies.is_empty());
        let m = parse_manifest(
            "build.gradle",
            "}}}}\ndependencies {\n implementation 'a:b:1'\n}\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(deps(&m), vec![("a:b", Some("1"), DependencyKind::Runtime)]);
    }
}
