//! `go.mod`.

use super::{DependencyKind, Manifest, ManifestError};

/// The module path as the name, the `go` directive as the version, and `require` lines in single
/// and block form (`// indirect` requirements included, as runtime). `replace`, `exclude`,
/// `retract`, `tool`, `toolchain` and `godebug` are ignored.
pub(super) fn parse(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let mut block: Option<&str> = None;
    for raw in text.lines() {
        let line = raw.split_once("//").map_or(raw, |(code, _)| code).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(directive) = block {
            if line == ")" {
                block = None;
            } else if directive == "require" {
                add_requirement(manifest, line)?;
            }
            continue;
        }
        let (directive, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        if rest.starts_with('(') {
            block = Some(directive);
            continue;
        }
        match directive {
            "module" => manifest.name = Some(unquote(rest).to_owned()),
            "go" => manifest.version = Some(rest.to_owned()),
            "require" => add_requirement(manifest, rest)?,
            _ => {}
        }
    }
    Ok(())
}

/// One `path version` requirement.
fn add_requirement(manifest: &mut Manifest, line: &str) -> Result<(), ManifestError> {
    let mut words = line.split_whitespace();
    if let (Some(path), Some(version)) = (words.next(), words.next()) {
        manifest.add_dependency(unquote(path), Some(unquote(version)), DependencyKind::Runtime)?;
    }
    Ok(())
}

/// A Go string with its `"…"` or `` `…` `` quotes removed.
fn unquote(word: &str) -> &str {
    word.strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .or_else(|| word.strip_prefix('`').and_then(|w| w.strip_suffix('`')))
        .unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::super::{Dependency, Ecosystem, parse_manifest};
    use super::*;

    #[test]
    fn a_go_module_yields_its_path_go_version_and_requirements() {
        let text = "module github.com/acme/reposage-go // the module\n\n\
                    go 1.22.1\n\ntoolchain go1.22.3\n\n\
                    require github.com/spf13/cobra v1.8.0\n\n\
                    require (\n\
                    \tgolang.org/x/sync v0.7.0\n\
                    \tgithub.com/inconshreveable/mousetrap v1.1.0 // indirect\n\
                    )\n\n\
                    replace (\n\tgolang.org/x/sync => ../sync\n)\n\
                    replace github.com/spf13/cobra v1.8.0 => github.com/acme/cobra v1.8.1\n\
                    exclude golang.org/x/net v0.1.0\n";
        let m = parse_manifest("go.mod", text).unwrap().unwrap();
        assert_eq!(m.ecosystem, Ecosystem::Go);
        assert_eq!(m.name.as_deref(), Some("github.com/acme/reposage-go"));
        assert_eq!(m.version.as_deref(), Some("1.22.1"));
        let runtime = |name: &str, version: &str| Dependency {
            name: name.into(),
            version_req: Some(version.into()),
            kind: DependencyKind::Runtime,
        };
        assert_eq!(
            m.dependencies,
            vec![
                runtime("github.com/spf13/cobra", "v1.8.0"),
                runtime("golang.org/x/sync", "v0.7.0"),
                runtime("github.com/inconshreveable/mousetrap", "v1.1.0"),
            ]
        );
    }

    #[test]
    fn quoted_module_paths_and_unterminated_blocks_are_harmless() {
        let m = parse_manifest("go.mod", "module \"example.com/m\"\nrequire (\n\ta/b v1\n")
            .unwrap()
            .unwrap();
        assert_eq!(m.name.as_deref(), Some("example.com/m"));
        assert_eq!(m.dependencies.len(), 1);
        let m = parse_manifest("go.mod", "\u{1}\u{2}garbage ((( ]]\n")
            .unwrap()
            .unwrap();
        assert!(m.name.is_none() && m.dependencies.is_empty());
    }
}
