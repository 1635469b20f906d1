//! Ruby: `Gemfile` and `*.gemspec`, read line by line (they are Ruby programs; only literal
//! arguments are understood).

use super::{DependencyKind, Manifest, ManifestError, is_dev_group};

/// `gem 'name', '~> 1.2', '>= 1.2.1'` lines (requirements joined with `, `), development and test
/// groups as dev, from `group … do … end` blocks or a `group:`/`groups:` option. `gemspec`,
/// `source`, `ruby` and other lines are ignored.
pub(super) fn parse_gemfile(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    // One entry per open `do`/`if`/… block: whether it is a development group.
    let mut blocks: Vec<bool> = Vec::new();
    for raw in text.lines() {
        let line = strip_comment(raw).trim();
        let in_dev_group = blocks.last().copied().unwrap_or(false);
        let (word, rest) = split_word(line);
        match word {
            "end" => {
                blocks.pop();
            }
            "group" if opens_block(line) => {
                let groups = rest.rsplit_once(" do").map_or(rest, |(groups, _)| groups);
                let dev = in_dev_group
                    || groups
                        .split(',')
                        .any(|g| is_dev_group(g.trim().trim_start_matches(':')));
                blocks.push(dev);
            }
            "gem" => {
                let args = arguments(rest.trim_start_matches('(').trim_end_matches(')'));
                let mut strings = args.positional.into_iter();
                if let Some(name) = strings.next() {
                    let requirement = strings.collect::<Vec<_>>().join(", ");
                    let option_dev = args.options.iter().any(|(key, value)| {
                        matches!(key.as_str(), "group" | "groups") && is_dev_group(value)
                    });
                    let kind = if in_dev_group || option_dev {
                        DependencyKind::Dev
                    } else {
                        DependencyKind::Runtime
                    };
                    manifest.add_dependency(&name, Some(&requirement), kind)?;
                }
                if opens_block(line) {
                    blocks.push(in_dev_group);
                }
            }
            "if" | "unless" | "case" | "begin" | "while" | "until" => blocks.push(in_dev_group),
            _ if opens_block(line) => blocks.push(in_dev_group),
            _ => {}
        }
    }
    Ok(())
}

/// `spec.name`, literal `version`, `summary` (or `description`), `homepage`, `license(s)`,
/// `metadata["source_code_uri"]` as the repository, literal `executables`, and
/// `add_dependency`/`add_runtime_dependency` (runtime) and `add_development_dependency` (dev).
pub(super) fn parse_gemspec(manifest: &mut Manifest, text: &str) -> Result<(), ManifestError> {
    let mut summary = None;
    for raw in text.lines() {
        let line = strip_comment(raw).trim();
        if let Some(key_at) = line
            .find("\"source_code_uri\"")
            .or_else(|| line.find("'source_code_uri'"))
        {
            // `"source_code_uri" => "url"` in a hash, or `metadata["source_code_uri"] = "url"`.
            let value = line[key_at + "'source_code_uri'".len()..]
                .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | ']'));
            if let Some(url) = arguments(value).positional.first() {
                manifest.repository = Some(url.clone());
            }
            continue;
        }
        // `spec.attribute …`: the receiver is whatever the block calls its parameter.
        let Some((receiver, call)) = line.split_once('.') else {
            continue;
        };
        if receiver.is_empty() || !receiver.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let attribute_end = call
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(call.len());
        let (attribute, rest) = call.split_at(attribute_end);
        let rest = rest.trim_start();
        let value = rest
            .strip_prefix('=')
            .filter(|r| !r.starts_with('='))
            .map(str::trim);
        let literal = || value.and_then(|v| arguments(v).positional.into_iter().next());
        match attribute {
            "name" => manifest.name = literal(),
            "version" => manifest.version = literal(),
            "summary" => summary = literal(),
            "description" => manifest.description = literal(),
            "homepage" => manifest.homepage = literal(),
            "license" => manifest.license = literal(),
            "licenses" => {
                let licenses = value.map(|v| arguments(v).positional).unwrap_or_default();
                manifest.license = (!licenses.is_empty()).then(|| licenses.join(" OR "));
            }
            "executables" => {
                for executable in value.map(|v| arguments(v).positional).unwrap_or_default() {
                    manifest.add_entry_point(&executable)?;
                }
            }
            "add_dependency" | "add_runtime_dependency" | "add_development_dependency" => {
                let kind = if attribute == "add_development_dependency" {
                    DependencyKind::Dev
                } else {
                    DependencyKind::Runtime
                };
                let args = arguments(rest.trim_start_matches('(').trim_end_matches(')'));
                let mut strings = args.positional.into_iter();
                if let Some(name) = strings.next() {
                    let requirement = strings.collect::<Vec<_>>().join(", ");
                    manifest.add_dependency(&name, Some(&requirement), kind)?;
                }
            }
            _ => {}
        }
    }
    if manifest.description.is_none() {
        manifest.description = summary;
    }
    Ok(())
}

/// The first word of a line and the rest.
fn split_word(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len());
    (&line[..end], &line[end..])
}

/// True when the line ends by opening a `do … end` block (`do` or `do |x|`).
fn opens_block(line: &str) -> bool {
    let line = match line.rfind('|') {
        Some(close) if line[..close].contains('|') => {
            line[..line[..close].rfind('|').unwrap_or(0)].trim_end()
        }
        _ => line,
    };
    line == "do" || line.ends_with(" do") || line.ends_with(")do")
}

/// A line without its `#` comment (a `#` inside a string literal is kept).
fn strip_comment(line: &str) -> &str {
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
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..index],
            None => {}
        }
    }
    line
}

/// The literal arguments of a Ruby call: string literals (positional, arrays flattened) and
/// `key: value` / `:key => value` options with symbol or string values (arrays flattened, joined
/// with `,`).
#[derive(Debug, Default)]
struct Arguments {
    positional: Vec<String>,
    options: Vec<(String, String)>,
}

fn arguments(text: &str) -> Arguments {
    let mut args = Arguments::default();
    for part in split_top_level(text) {
        let part = part.trim();
        let option = part
            .strip_prefix(':')
            .and_then(|p| p.split_once("=>"))
            .or_else(|| {
                let (key, value) = part.split_once(':')?;
                let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                (is_key && !value.starts_with(':')).then_some((key, value))
            });
        match option {
            Some((key, value)) => {
                let values: Vec<String> = value
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|v| unquote(v.trim().trim_start_matches(':')).to_owned())
                    .collect();
                args.options.push((key.trim().to_owned(), values.join(",")));
            }
            None => {
                let items = part.trim_start_matches('[').trim_end_matches(']');
                for item in split_top_level(items) {
                    let item = item.trim();
                    if item.len() >= 2 && (item.starts_with('"') || item.starts_with('\'')) {
                        args.positional.push(unquote(item).to_owned());
                    }
                }
            }
        }
    }
    args
}

/// `text` split at commas outside string literals and brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '(' | '{' => depth += 1,
                ']' | ')' | '}' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    parts.push(&text[start..index]);
                    start = index + 1;
                }
                _ => {}
            },
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A string literal without its quotes (and `.freeze`), or the text unchanged.
fn unquote(text: &str) -> &str {
    let text = text.strip_suffix(".freeze").unwrap_or(text);
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return inner;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::{Ecosystem, parse_manifest, test_support::deps};
    use super::*;

    #[test]
    fn a_gemfile_yields_requirements_and_development_groups() {
        let text = r#"source "https://rubygems.org"
git_source(:github) { |repo| "https://github.com/#{repo}.git" }

ruby "3.3.0"

gem "rails", "~> 7.1.3", ">= 7.1.3.2"
gem "pg", "~> 1.1" # database
gem "puma", ">= 5.0"
gem "bootsnap", require: false
gem "rubocop", require: false, group: :development
gem 'tzinfo-data', platforms: %i[ windows jruby ]

group :development, :test do
  gem "debug", platforms: %i[ mri windows ]
  if ENV["CI"]
    gem "simplecov"
  end
end

group :production do
  gem "lograge"
end

gemspec
"#;
        let m = parse_manifest("Gemfile", text).unwrap().unwrap();
        assert_eq!(m.ecosystem, Ecosystem::Rubygems);
        use DependencyKind::*;
        assert_eq!(
            deps(&m),
            vec![
                ("rails", Some("~> 7.1.3, >= 7.1.3.2"), Runtime),
                ("pg", Some("~> 1.1"), Runtime),
                ("puma", Some(">= 5.0"), Runtime),
                ("bootsnap", None, Runtime),
                ("rubocop", None, Dev),
                ("tzinfo-data", None, Runtime),
                ("debug", None, Dev),
                ("simplecov", None, Dev),
                ("lograge", None, Runtime),
            ]
        );
    }

    #[test]
    fn a_gemspec_yields_identity_and_dependencies_by_kind() {
        let text = r#"# frozen_string_literal: true

require_relative "lib/sidekiq/version"

Gem::Specification.new do |gem|
  gem.name = "sidekiq"
  gem.version = Sidekiq::VERSION
  gem.summary = "Simple, efficient background processing for Ruby"
  gem.homepage = "https://sidekiq.org"
  gem.licenses = ["LGPL-3.0"]
  gem.executables = ["sidekiq", "sidekiqmon"]
  gem.files = %w[sidekiq.gemspec README.md] + Dir["lib/**/*"]

  gem.metadata = {
    "homepage_uri" => "https://sidekiq.org",
    "source_code_uri" => "https://github.com/sidekiq/sidekiq",
  }

  gem.add_dependency "redis-client", ">= 0.19.0"
  gem.add_runtime_dependency("connection_pool", ">= 2.3.0", "< 3")
  gem.add_development_dependency 'rspec', '~> 3.13'
end
"#;
        let m = parse_manifest("sidekiq.gemspec", text).unwrap().unwrap();
        assert_eq!(m.name.as_deref(), Some("sidekiq"));
        assert_eq!(m.version, None);
        assert_eq!(
            m.description.as_deref(),
            Some("Simple, efficient background processing for Ruby")
        );
        assert_eq!(m.homepage.as_deref(), Some("https://sidekiq.org"));
        assert_eq!(
            m.repository.as_deref(),
            Some("https://github.com/sidekiq/sidekiq")
        );
        assert_eq!(m.license.as_deref(), Some("LGPL-3.0"));
        assert_eq!(m.entry_points, vec!["sidekiq", "sidekiqmon"]);
        use DependencyKind::*;
        assert_eq!(
            deps(&m),
            vec![
                ("redis-client", Some(">= 0.19.0"), Runtime),
                ("connection_pool", Some(">= 2.3.0, < 3"), Runtime),
                ("rspec", Some("~> 3.13"), Dev),
            ]
        );
    }

    #[test]
    fn unbalanced_blocks_and_garbage_are_harmless() {
        let m = parse_manifest("Gemfile", "end\nend\ngem\ngem 'x', \ngroup :test do\n")
            .unwrap()
            .unwrap();
        assert_eq!(deps(&m), vec![("x", None, DependencyKind::Runtime)]);
        let m = parse_manifest("x.gemspec", "s.name = \ns.add_dependency\n.\n\"source_code_uri\"").unwrap();
        assert!(m.unwrap().dependencies.is_empty());
    }
}
