//! The search query language.
//!
//! | Syntax | Meaning |
//! |---|---|
//! | `word word` | chunks holding every word, as a whole identifier or as its parts (`user name` finds `getUserName`) |
//! | `"exact phrase"` | chunks containing the phrase literally (case-insensitive) |
//! | `/regex/` | chunks matching the regular expression (Postgres ARE; `\b` means a word boundary) |
//! | `repo:NAME` | only the repository `NAME` or `NAMESPACE/NAME` (repeatable: any of them) |
//! | `lang:NAME` | only files in that language (`lang:rust`, case-insensitive; repeatable) |
//! | `path:PREFIX` | only files under that path prefix (repeatable) |
//! | `sym:TEXT` | only chunks whose symbol path contains `TEXT` |
//! | `kind:KIND` | only chunks of symbols of that kind (`function`, `method`, `class`, …; repeatable) |
//!
//! A filter value may be quoted (`path:"docs/user guide"`). A `key:value` whose key is not one of
//! these is an ordinary word (so `std::io` is a word). Regular expressions are bounded in length and
//! compiled with Rust's `regex` crate first, which refuses back-references and look-around: what
//! reaches Postgres is a true regular expression, matched in time linear in the text.

use crate::{Error, Result};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Longest regular expression accepted, in characters.
pub const MAX_REGEX_CHARS: usize = 256;
/// Most compiled size of a regular expression (bytes of the `regex` crate's program).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    /// Plain words.
    pub words: Vec<String>,
    /// Exact phrases.
    pub phrases: Vec<String>,
    /// Regular expressions (Rust `regex` syntax; [`postgres_regex`] translates one).
    pub regexes: Vec<String>,
    /// `repo:` values.
    pub repositories: Vec<String>,
    /// `lang:` values.
    pub languages: Vec<String>,
    /// `path:` values.
    pub paths: Vec<String>,
    /// `sym:` values.
    pub symbols: Vec<String>,
    /// `kind:` values.
    pub kinds: Vec<String>,
}

impl ParsedQuery {
    /// Parses `query`; errors name what is wrong.
    pub fn parse(query: &str) -> Result<Self> {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(invalid(format!(
                "the query is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        let mut parsed = ParsedQuery::default();
        let mut rest = query.trim_start();
        while !rest.is_empty() {
            rest = if let Some(after) = rest.strip_prefix('"') {
                let (phrase, after) = quoted(after)?;
                if !phrase.trim().is_empty() {
                    parsed.phrases.push(phrase);
                }
                after
            } else if let Some(after) = rest.strip_prefix('/') {
                let (regex, after) = regex_literal(after)?;
                parsed.regexes.push(regex);
                after
            } else {
                let (token, after) = split_token(rest);
                match token.split_once(':') {
                    Some((key, value)) if FILTERS.contains(&key) => {
                        let (value, after) = match value.strip_prefix('"') {
                            Some(_) => quoted(&rest[key.len() + 2..])?,
                            None => (value.to_string(), after),
                        };
                        if value.is_empty() {
                            return Err(invalid(format!("`{key}:` needs a value")));
                        }
                        parsed.filter(key).push(value);
                        after
                    }
                    _ => {
                        parsed.words.push(token.to_string());
                        after
                    }
                }
            };
            rest = rest.trim_start();
        }
        Ok(parsed)
    }

    /// The free text of the query (words and phrases), which a semantic search embeds.
    pub fn free_text(&self) -> String {
        self.words
            .iter()
            .chain(&self.phrases)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// True when the query says nothing to search for (filters alone).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty() && self.regexes.is_empty() && self.symbols.is_empty()
    }

    fn filter(&mut self, key: &str) -> &mut Vec<String> {
        match key {
            "repo" => &mut self.repositories,
            "lang" => &mut self.languages,
            "path" => &mut self.paths,
            "sym" => &mut self.symbols,
            _ => &mut self.kinds,
        }
    }
}

const FILTERS: [&str; 5] = ["repo", "lang", "path", "sym", "kind"];

fn invalid(message: String) -> Error {
    Error::InvalidQuery(message)
}

/// The next white-space-delimited token and what follows it.
fn split_token(text: &str) -> (&str, &str) {
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    (&text[..end], &text[end..])
}

/// A quoted string's content (after the opening quote; `\"` and `\\` escape) and what follows.
fn quoted(text: &str) -> Result<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(invalid("a quoted phrase has no closing `\"`".into()))
}

/// A `/regex/` literal's pattern (after the opening slash; `\/` is a slash) and what follows; the
/// closing slash must end the token.
fn regex_literal(text: &str) -> Result<(String, &str)> {
    let mut pattern = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|&(_, n)| n == '/') => {
                chars.next();
                pattern.push('/');
            }
            '\\' => {
                pattern.push('\\');
                if let Some((_, n)) = chars.next() {
                    pattern.push(n);
                }
            }
            '/' if text[i + 1..].chars().next().is_none_or(char::is_whitespace) => {
                return Ok((validate_regex(&pattern)?, &text[i + 1..]));
            }
            c => pattern.push(c),
        }
    }
    Err(invalid("a /regex/ has no closing `/`".into()))
}

/// Checks a pattern with Rust's `regex`: bounded length and compiled size, no back-references or
/// look-around.
fn validate_regex(pattern: &str) -> Result<String> {
    if pattern.is_empty() {
        return Err(invalid("the /regex/ is empty".into()));
    }
    if pattern.chars().count() > MAX_REGEX_CHARS {
        return Err(invalid(format!(
            "the /regex/ is longer than {MAX_REGEX_CHARS} characters"
        )));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| invalid(format!("invalid /regex/: {}", first_line(&e.to_string()))))?;
    Ok(pattern.to_string())
}

/// A validated pattern for Postgres: the one common escape that differs (`\b`, a word boundary in
/// Rust, is `\y` in Postgres; inside a class it stays a backspace) is translated.
pub fn postgres_regex(pattern: &str) -> String {
    let mut translated = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next();
                match next {
                    Some('b') if !in_class => translated.push_str("\\y"),
                    Some(n) => {
                        translated.push('\\');
                        translated.push(n);
                    }
                    None => translated.push('\\'),
                }
            }
            '[' => {
                in_class = true;
                translated.push(c);
            }
            ']' => {
                in_class = false;
                translated.push(c);
            }
            c => translated.push(c),
        }
    }
    translated
}

fn first_line(text: &str) -> &str {
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn words_phrases_regexes_and_filters_are_told_apart() {
        let q = ParsedQuery::parse(
            r#"retry  "max attempts" /fn\s+back\w+/ repo:kube lang:Rust path:src/net sym:Client kind:method std::io"#,
        )
        .unwrap();
        assert_eq!(q.words, words(&["retry", "std::io"]));
        assert_eq!(q.phrases, words(&["max attempts"]));
        assert_eq!(q.regexes, words(&[r"fn\s+back\w+"]));
        assert_eq!(q.repositories, words(&["kube"]));
        assert_eq!(q.languages, words(&["Rust"]));
        assert_eq!(q.paths, words(&["src/net"]));
        assert_eq!(q.symbols, words(&["Client"]));
        assert_eq!(q.kinds, words(&["method"]));
        assert_eq!(q.free_text(), "retry std::io max attempts");
    }

    #[test]
    fn quoted_filter_values_and_escapes() {
        let q = ParsedQuery::parse(r#"path:"docs/user guide" "say \"hi\"" /a\/b/"#).unwrap();
        assert_eq!(q.paths, words(&["docs/user guide"]));
        assert_eq!(q.phrases, words(&[r#"say "hi""#]));
        assert_eq!(q.regexes, words(&["a/b"]));
    }

    #[test]
    fn word_boundaries_are_translated_for_postgres_outside_classes() {
        let q = ParsedQuery::parse(r"/\bsend\b/").unwrap();
        assert_eq!(q.regexes, words(&[r"\bsend\b"]));
        assert_eq!(postgres_regex(&q.regexes[0]), r"\ysend\y");
        assert_eq!(postgres_regex(r"[\b]x\b"), r"[\b]x\y");
    }

    #[test]
    fn bad_queries_are_refused_with_a_reason() {
        let err = |q: &str| ParsedQuery::parse(q).unwrap_err().to_string();
        assert!(err(r#""open"#).contains("closing `\"`"));
        assert!(err("/open").contains("closing `/`"));
        assert!(err("/(a/").contains("invalid /regex/"));
        assert!(
            err(r"/(a)\1/").contains("invalid /regex/"),
            "back-references are refused"
        );
        assert!(
            err("/(?=a)/").contains("invalid /regex/"),
            "look-around is refused"
        );
        assert!(err(&format!("/{}/", "a".repeat(300))).contains("longer than 256"));
        assert!(err(&"x ".repeat(600)).contains("longer than 1000"));
        assert!(err("lang:").contains("needs a value"));
        assert!(err("//").contains("empty"));
    }

    #[test]
    fn a_huge_repetition_is_refused_by_the_size_limit() {
        let err = ParsedQuery::parse(r"/(\w{100}){100}/").unwrap_err().to_string();
        assert!(err.contains("invalid /regex/"), "{err}");
    }

    #[test]
    fn a_slash_inside_a_token_does_not_end_the_regex() {
        let q = ParsedQuery::parse("/a/b/ c").unwrap();
        assert_eq!(q.regexes, words(&["a/b"]));
        assert_eq!(q.words, words(&["c"]));
    }
}
