//! RepoSage's assistant: answers questions about indexed repositories, with citations that point
//! at lines which exist at the indexed commit and were really shown to the model.
//!
//! An answer goes through:
//! 1. **Context** ([`context`]): a hybrid search of the question (and of the previous question, for
//!    a follow-up), the symbols and files the question names, the README and manifests for
//!    questions about the project itself, each chunk's enclosing signature and doc comment;
//!    de-duplicated, ordered by relevance and packed into a budget derived from the model's context
//!    window. Every item is checked against the index before the model sees it.
//! 2. **Answering**, in one of three [`AnswerMode`]s:
//!    - `agent` when the model takes tools: it calls read-only [`tools`] (`search`, `read_file`,
//!      `list_directory`, `find_symbol`, `callers`, `repository_overview`) over the index at the
//!      pinned commit, bounded in steps, tokens and time, until it answers. A model that writes its
//!      tool calls as text, or whose calls cannot be run, falls back to the retrieval mode, and the
//!      answer says so (`fallback`).
//!    - `retrieval`: one model call over the packed context.
//!    - `extractive` without a model: the best-matching symbols with their signature, doc comment
//!      and location, grouped by file, labelled as not generated.
//! 3. **Citations** ([`citations`]): markers (`[3]`, `[3:12-14]`, `[src/lib.rs:12-14]`) are found
//!    as the text streams, verified (the item was given; the lines are inside it and inside the
//!    file at its commit), renumbered and sent as events tied to their sentence. Unverifiable
//!    citations are removed from the text and counted.
//!
//! When nothing relevant is found, the answer says so and lists what was searched instead of
//! guessing.
//!
//! ## Confidence
//! [`confidence`] is a number in 0..=1: the mean relevance of the three best context items
//! (semantic similarity for search hits, fixed high values for symbols and files the question
//! names), averaged with the share of the answer's sentences that carry a verified citation. An
//! extractive answer, whose every line is a citation, scores 0.8 × relevance; an answer that found
//! nothing scores 0.

#![warn(missing_docs)]

mod answer;
mod assistant;
pub mod citations;
pub mod context;
mod error;
pub mod extractive;
pub mod prompt;
mod request;
pub mod tools;

pub use answer::{
    Answer, AnswerEvent, AnswerMode, AnswerStatus, AnswerTimings, Citation, LimitHit, RejectedCitations,
    Searched, ToolStep,
};
pub use assistant::{AnswerLimits, Assistant, AssistantSettings, EventSender};
pub use context::{Context, ContextItem, ContextSettings, FoundBy};
pub use error::{Error, Result};
pub use request::{AskRequest, MAX_QUESTION_CHARS, MAX_REPOSITORIES, Turn};
pub use tokio_util::sync::CancellationToken;

/// How far an answer is backed by what was found, in 0..=1 (see the crate docs).
pub fn confidence(mode: AnswerMode, context: &Context, coverage: f32, nothing_found: bool) -> f32 {
    if nothing_found || context.items.is_empty() {
        return 0.0;
    }
    let mut scores: Vec<f32> = context.items.iter().map(|i| i.score.clamp(0.0, 1.0)).collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    let top: Vec<f32> = scores.into_iter().take(3).collect();
    let relevance = top.iter().sum::<f32>() / top.len() as f32;
    let value = match mode {
        AnswerMode::Extractive => 0.8 * relevance,
        AnswerMode::Agent | AnswerMode::Retrieval => 0.5 * relevance + 0.5 * coverage.clamp(0.0, 1.0),
    };
    (value * 100.0).round() / 100.0
}
