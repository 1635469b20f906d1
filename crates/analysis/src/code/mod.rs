//! Code analysis with tree-sitter: symbols, imports, calls and metrics of one file.
//!
//! One pass over the syntax tree (an explicit cursor walk, so a 10,000-level nest cannot overflow
//! the stack) collects everything. What each language calls a function, a class, a branch or an
//! import is data, in [`spec`]; the walk itself is language-neutral.
//!
//! ## Cyclomatic complexity (McCabe)
//! Per function: 1 + the decision points inside it, not counting those of nested functions (which
//! get their own). Decision points per language are listed in [`spec`]; in every language they are
//! the conditional branches (`if`, `elif`/`else if`, ternaries), loops (`for`, `while`, `do`), each
//! non-default `case`/`when`/match arm, each `catch`/`rescue`, and each short-circuit boolean
//! operator (`&&`, `||`, `and`, `or`, `??`) — one path more each. Rust's `?` operator counts too
//! (an early return). Code outside any function adds to the file's complexity only.
//!
//! ## Maintainability index
//! Per file, the normalised Visual Studio variant of Oman & Hagemeister's index:
//! `MI = max(0, (171 − 5.2·ln V − 0.23·G − 16.2·ln L) · 100 / 171)` with `V` the Halstead volume
//! `N·log2 n` (`N` tokens, `n` distinct tokens: operators are the grammar's anonymous tokens,
//! operands its named leaves), `G` the file's total cyclomatic complexity and `L` its lines of code.
//! 100 is best; below 20 is hard to maintain. Empty files score 100.

mod docs;
mod kinds;
mod metrics;
mod references;
mod source;
mod spec;
mod symbols;
mod walk;

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use reposage_contract::vocabulary::ParseStatus;
pub use spec::{SymbolKind, supports};

/// A definition found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symbol {
    /// The name as written (`backoff_send`, `Client`).
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// The container path and the name (`http::Client::send`, `pkg.Server.Run`).
    pub qualified_name: String,
    /// The declaration up to its body, on one line (at most 300 characters).
    pub signature: String,
    /// Its doc comment or docstring, markers stripped (at most 2000 characters).
    pub doc: Option<String>,
    /// `pub`, `public`, `private`, `protected`, `internal`, `export`, … where the language has it.
    pub visibility: Option<String>,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line (inclusive).
    pub end_line: u32,
    /// Byte offset where it starts.
    pub start_byte: u32,
    /// Byte offset where it ends.
    pub end_byte: u32,
    /// Index of the enclosing symbol in the file's list.
    pub parent: Option<usize>,
    /// Metrics, for functions and methods.
    pub metrics: Option<FunctionMetrics>,
}

/// Metrics of one function or method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FunctionMetrics {
    /// McCabe cyclomatic complexity.
    pub complexity: u32,
    /// Deepest nesting of branches and loops inside it (0 = straight-line code).
    pub max_nesting: u32,
    /// Lines it spans.
    pub lines: u32,
}

/// An import, `use`, `#include`, `require` … of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Import {
    /// What is imported, as written (`std::collections::HashMap`, `./util`, `fmt`).
    pub target: String,
    /// Line of the statement.
    pub line: u32,
}

/// A call made inside a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// Index of the calling symbol in the file's list; `None` for calls at file level.
    pub caller: Option<usize>,
    /// The called name, last segment only (`send` for `self.client.send(…)`).
    pub callee: String,
    /// Line of the call.
    pub line: u32,
}

/// File-level metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FileMetrics {
    /// Functions and methods.
    pub functions: u32,
    /// Total cyclomatic complexity (functions plus file-level code).
    pub complexity: u32,
    /// Highest complexity of one function.
    pub max_complexity: u32,
    /// Halstead volume.
    pub halstead_volume: f64,
    /// Maintainability index, 0 to 100.
    pub maintainability: f64,
}

/// Everything learnt about one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileAnalysis {
    /// Definitions in source order.
    pub symbols: Vec<Symbol>,
    /// Imports in source order.
    pub imports: Vec<Import>,
    /// Calls in source order.
    pub calls: Vec<Call>,
    /// File metrics.
    pub metrics: FileMetrics,
    /// Whether the parser had to recover from syntax errors (results may be partial).
    pub has_syntax_errors: bool,
}

/// Why a file could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseFailure {
    /// No grammar for the language.
    #[error("no grammar for {0}")]
    Unsupported(String),
    /// The parse ran past its deadline (a pathological file).
    #[error("parse exceeded its {0:?} deadline")]
    Timeout(Duration),
    /// tree-sitter refused the grammar (a version mismatch: a bug, not bad input).
    #[error("grammar could not be loaded: {0}")]
    Grammar(String),
}

impl ParseFailure {
    /// The status a file with this failure is recorded with.
    pub fn status(&self) -> ParseStatus {
        match self {
            ParseFailure::Timeout(_) => ParseStatus::Timeout,
            ParseFailure::Unsupported(_) | ParseFailure::Grammar(_) => ParseStatus::Failed,
        }
    }
}

/// Parses `text` as `language` (a [`Language`](crate::Language) name) and analyses it, giving up
/// after `deadline`.
pub fn analyze(language: &str, text: &str, deadline: Duration) -> Result<FileAnalysis, ParseFailure> {
    let spec = spec::for_language(language).ok_or_else(|| ParseFailure::Unsupported(language.to_string()))?;
    let tree = parse_with(spec, text, deadline)?;
    Ok(walk::analyze_tree(spec, &tree, text))
}

/// Only parses `text` (no analysis): the baseline that analysis throughput is measured against.
pub fn parse(language: &str, text: &str, deadline: Duration) -> Result<tree_sitter::Tree, ParseFailure> {
    let spec = spec::for_language(language).ok_or_else(|| ParseFailure::Unsupported(language.to_string()))?;
    parse_with(spec, text, deadline)
}

fn parse_with(
    spec: &spec::LangSpec,
    text: &str,
    deadline: Duration,
) -> Result<tree_sitter::Tree, ParseFailure> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&(spec.grammar)())
        .map_err(|e| ParseFailure::Grammar(e.to_string()))?;
    let give_up_at = Instant::now() + deadline;
    let mut on_progress = |_: &tree_sitter::ParseState| {
        if Instant::now() > give_up_at {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let bytes = text.as_bytes();
    parser
        .parse_with_options(
            &mut |offset, _| bytes.get(offset..).unwrap_or_default(),
            None,
            Some(tree_sitter::ParseOptions::new().progress_callback(&mut on_progress)),
        )
        .ok_or(ParseFailure::Timeout(deadline))
}
