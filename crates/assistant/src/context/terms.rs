//! What a question names: identifiers and paths to look up as such, and whether it asks about the
//! project as a whole.

use std::sync::LazyLock;

use regex::Regex;

/// Most identifiers and paths taken from one question.
const MAX_TERMS: usize = 6;

/// The identifiers and paths a question names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuestionTerms {
    /// Code identifiers (`parse_config`, `HttpClient`, `store::Store`, anything in backticks).
    pub identifiers: Vec<String>,
    /// File paths (`src/main.rs`, `Cargo.toml`).
    pub paths: Vec<String>,
}

static BACKTICKED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`\n]{1,120})`").unwrap());
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:[A-Za-z0-9_.-]+/)+[A-Za-z0-9_.-]+            # a/b/c.ext or a/b
        | [A-Za-z0-9_-]+\.(?:rs|py|go|ts|tsx|js|jsx|java|kt|c|h|cc|cpp|hpp|cs|rb|php|sh|
                            toml|ya?ml|json|md|sql|lock|mod|gradle|xml|proto)\b",
    )
    .unwrap()
});
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:::|\.)[A-Za-z_][A-Za-z0-9_]*)*").unwrap());
static OVERVIEW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \bwhat\s+(?:is|does)\s+(?:this|the)\s+(?:project|repo|repository|library|crate|package|tool|app|application|codebase|code\s*base)\b
        | \bhow\s+(?:do|can|should)\s+(?:i|we|you)\s+(?:run|install|build|start|use|deploy|test|set\s*up|configure)\b
        | \b(?:getting\s+started|overview|purpose|licen[cs]e|dependencies|quick\s*start|readme)\b
        | \bwhat\s+(?:is|are)\s+(?:it|this)\s+for\b",
    )
    .unwrap()
});

impl QuestionTerms {
    /// The terms of `question`: backticked text, path-like words, and words shaped like code
    /// (`snake_case`, `camelCase`, `PascalCase` past the first letter, `a::b`, `a.b()`).
    pub fn of(question: &str) -> Self {
        let mut terms = QuestionTerms::default();
        for captures in BACKTICKED.captures_iter(question) {
            let text = captures[1].trim();
            if PATH.find(text).is_some_and(|m| m.as_str() == text) {
                terms.add_path(text);
            } else if !text.contains(char::is_whitespace) {
                terms.add_identifier(text.trim_end_matches("()"));
            }
        }
        for found in PATH.find_iter(question) {
            let path = found.as_str().trim_matches('.');
            // `a/b` in prose ("read/write") is not a path; a path has an extension or 2+ slashes.
            if path.contains('.') || path.matches('/').count() >= 2 {
                terms.add_path(path);
            }
        }
        for found in WORD.find_iter(question) {
            let word = found.as_str().trim_end_matches('.');
            if looks_like_code(word) && !terms.paths.iter().any(|p| p.contains(word)) {
                terms.add_identifier(word);
            }
        }
        terms
    }

    /// True when the question names nothing to look up.
    pub fn is_empty(&self) -> bool {
        self.identifiers.is_empty() && self.paths.is_empty()
    }

    fn add_identifier(&mut self, identifier: &str) {
        if !identifier.is_empty()
            && self.identifiers.len() < MAX_TERMS
            && !self.identifiers.iter().any(|i| i == identifier)
        {
            self.identifiers.push(identifier.to_string());
        }
    }

    fn add_path(&mut self, path: &str) {
        let path = path.trim_start_matches("./");
        if !path.is_empty() && self.paths.len() < MAX_TERMS && !self.paths.iter().any(|p| p == path) {
            self.paths.push(path.to_string());
        }
    }
}

/// True for a word written like code rather than prose.
fn looks_like_code(word: &str) -> bool {
    let inner_upper = word.chars().skip(1).any(|c| c.is_ascii_uppercase());
    let has_lower = word.chars().any(|c| c.is_ascii_lowercase());
    word.len() >= 3
        && (word.contains("::")
            || (word.contains('.') && !word.ends_with('.'))
            || (word.contains('_') && word.trim_matches('_').len() > 1)
            || (inner_upper && has_lower))
}

/// True when the question is about the project as a whole ("what is this project", "how do I run
/// it"), so the README and manifests belong in the context.
pub fn is_overview_question(question: &str) -> bool {
    OVERVIEW.is_match(question)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shaped_words_and_paths_are_found_and_prose_is_not() {
        let terms = QuestionTerms::of(
            "Where does HttpClient call parse_config, and what is in src/net/client.rs or `Store::ping`?",
        );
        assert_eq!(terms.paths, ["src/net/client.rs"]);
        assert_eq!(terms.identifiers, ["Store::ping", "HttpClient", "parse_config"]);
        let prose = QuestionTerms::of("Where is the retry logic? How does it read/write the cache.");
        assert!(prose.is_empty(), "{prose:?}");
    }

    #[test]
    fn a_bare_manifest_name_is_a_path() {
        let terms = QuestionTerms::of("What does Cargo.toml declare?");
        assert_eq!(terms.paths, ["Cargo.toml"]);
        assert!(terms.identifiers.is_empty(), "{terms:?}");
    }

    #[test]
    fn questions_about_the_project_itself_are_recognised() {
        for question in [
            "What is this project?",
            "what does the repository do",
            "How do I run it locally?",
            "Which license does it use?",
            "Give me an overview",
        ] {
            assert!(is_overview_question(question), "{question}");
        }
        for question in ["Where is the retry loop?", "What does parse_config return?"] {
            assert!(!is_overview_question(question), "{question}");
        }
    }
}
