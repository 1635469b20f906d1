//! The context of an answer: numbered excerpts of the index at its pinned commit.
//!
//! [`ContextBuilder`] gathers candidates for a question (hybrid search, the identifiers and paths
//! the question names, the repository overview for questions about the project itself, each
//! chunk's enclosing symbol), [`pack`] de-duplicates them and fits the best into a token budget,
//! and every item is checked against the index before the model sees it, so whatever it cites
//! exists.

mod gather;
mod pack;
mod terms;

use reposage_store::RepositoryId;
use serde::Serialize;

pub(crate) use gather::search_text;
pub use gather::{ContextBuilder, ContextSettings, Gathered};
pub use pack::{Budget, pack};
pub use terms::{QuestionTerms, is_overview_question};

/// How an item was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "by")]
pub enum FoundBy {
    /// A hybrid search of the question.
    Search {
        /// The query run.
        query: String,
    },
    /// A symbol the question names.
    Symbol {
        /// The name.
        name: String,
    },
    /// A file the question names.
    Path {
        /// The path as named.
        path: String,
    },
    /// The repository overview (README, manifests).
    Overview,
    /// An agent tool's result.
    Tool {
        /// The tool.
        name: String,
    },
}

/// One excerpt given to the model: lines of one file at the pinned commit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextItem {
    /// Its number, as the model sees and cites it (`[number]`); 0 until packed.
    pub number: usize,
    /// The repository.
    pub repository_id: RepositoryId,
    /// `namespace/name`.
    pub repository: String,
    /// The commit the lines were read at.
    pub commit_sha: String,
    /// Path of the file.
    pub path: String,
    /// First line (1-based).
    pub start_line: i32,
    /// Last line (inclusive).
    pub end_line: i32,
    /// Lines of the whole file (for checking citations of it).
    pub file_lines: i32,
    /// The chunk, when the item is a retrieved chunk.
    pub chunk_id: Option<i64>,
    /// Language of the file.
    pub language: Option<String>,
    /// Qualified name of the symbol the lines belong to.
    pub symbol_path: Option<String>,
    /// The symbol's kind.
    pub symbol_kind: Option<String>,
    /// The enclosing symbol's signature (when the excerpt does not start with it).
    pub signature: Option<String>,
    /// The enclosing symbol's doc comment.
    pub doc: Option<String>,
    /// The lines.
    pub text: String,
    /// Relevance in 0..=1 (see [`confidence`](crate::confidence)).
    pub score: f32,
    /// How it was found.
    pub found_by: FoundBy,
}

impl ContextItem {
    /// The heading the model sees: `path:start-end @ short-sha · Symbol::path`.
    pub fn header(&self) -> String {
        let short = &self.commit_sha[..self.commit_sha.len().min(7)];
        let mut header = format!("{}:{}-{} @ {short}", self.path, self.start_line, self.end_line);
        if let Some(symbol) = &self.symbol_path {
            header.push_str(" · ");
            header.push_str(symbol);
        }
        header
    }

    /// True when the two items show overlapping lines of the same file.
    pub fn overlaps(&self, other: &ContextItem) -> bool {
        self.repository_id == other.repository_id
            && self.path == other.path
            && self.start_line <= other.end_line
            && other.start_line <= self.end_line
    }

    /// True when `start..=end` lies inside this item's lines.
    pub fn contains_lines(&self, start: i32, end: i32) -> bool {
        self.start_line <= start && start <= end && end <= self.end_line
    }
}

/// What the context holds, and what was done to find it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// Items, numbered from 1, best first.
    pub items: Vec<ContextItem>,
    /// Queries searched.
    pub queries: Vec<String>,
    /// Repository facts shown before the items (not citable): languages, license, manifests.
    pub facts: Vec<String>,
    /// Items found but left out for the budget.
    pub dropped: usize,
}

impl Context {
    /// The item numbered `number`.
    pub fn item(&self, number: usize) -> Option<&ContextItem> {
        number.checked_sub(1).and_then(|i| self.items.get(i))
    }

    /// Appends items (an agent tool's result), numbering them after the last; returns their numbers.
    pub fn extend(&mut self, items: impl IntoIterator<Item = ContextItem>) -> Vec<usize> {
        let mut numbers = Vec::new();
        for mut item in items {
            item.number = self.items.len() + 1;
            numbers.push(item.number);
            self.items.push(item);
        }
        numbers
    }

    /// The best item's relevance, 0 without items.
    pub fn best_score(&self) -> f32 {
        self.items.iter().map(|i| i.score).fold(0.0, f32::max)
    }
}
