//! What an answer is made of, and the events that stream it.

use std::time::Duration;

use reposage_llm::Usage;
use reposage_store::RepositoryId;
use serde::Serialize;

use crate::context::ContextItem;

/// How an answer was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerMode {
    /// The model explored the index with read-only tools, then answered.
    Agent,
    /// The model answered once from the retrieved context (no tools, or its tool calls failed).
    Retrieval,
    /// No model: the best-matching code, listed, not generated.
    Extractive,
}

impl AnswerMode {
    /// `agent`, `retrieval` or `extractive`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerMode::Agent => "agent",
            AnswerMode::Retrieval => "retrieval",
            AnswerMode::Extractive => "extractive",
        }
    }
}

/// Whether the answer is whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    /// The answer ended normally (or at a limit, then [`Answer::partial`] says which).
    Complete,
    /// The client left or cancelled; the text is what was written until then.
    Interrupted,
    /// The model or the index failed; [`Answer::error`] says how, the text is what came before.
    Failed,
}

impl AnswerStatus {
    /// `complete`, `interrupted` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerStatus::Complete => "complete",
            AnswerStatus::Interrupted => "interrupted",
            AnswerStatus::Failed => "failed",
        }
    }
}

/// Which limit ended an answer early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    /// The model's output token limit (`finish_reason: length`).
    OutputTokens,
    /// The agent's step limit.
    Steps,
    /// The request's token budget (prompt and output over all steps).
    Tokens,
    /// The request's time limit.
    Seconds,
}

/// A verified citation: lines that exist at the pinned commit and were given to the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Citation {
    /// Its number in this answer: the text cites it as `[id]`.
    pub id: usize,
    /// The context item it points into (its number as the model saw it).
    pub item: usize,
    /// The repository.
    pub repository_id: RepositoryId,
    /// `namespace/name` of the repository.
    pub repository: String,
    /// Path of the file.
    pub path: String,
    /// First cited line (1-based).
    pub start_line: i32,
    /// Last cited line (inclusive).
    pub end_line: i32,
    /// The commit the lines were read at.
    pub commit_sha: String,
    /// The chunk, when the citation covers a whole retrieved chunk.
    pub chunk_id: Option<i64>,
    /// Relevance of the cited item (0..=1).
    pub score: f32,
    /// The sentence of the answer it supports.
    pub sentence: String,
}

/// Citations the model wrote that could not be verified, by reason (they are not in the answer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedCitations {
    /// Cited an item number that was never given.
    pub not_given: u32,
    /// Cited lines outside the item or past the end of the file.
    pub out_of_range: u32,
    /// Cited a path that is not in the context (and usually not in the repository).
    pub unknown_path: u32,
}

impl RejectedCitations {
    /// All rejected citations.
    pub fn total(&self) -> u32 {
        self.not_given + self.out_of_range + self.unknown_path
    }
}

/// What was looked at to answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Searched {
    /// Search queries run.
    pub queries: Vec<String>,
    /// Tool calls made (`name(arguments)`).
    pub tools: Vec<String>,
    /// Files whose lines were given to the model.
    pub files: Vec<String>,
}

/// Milliseconds spent per step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerTimings {
    /// Building the context (searches, lookups, packing).
    pub context_ms: f64,
    /// From the start to the first text of the answer.
    pub first_token_ms: Option<f64>,
    /// The whole answer.
    pub total_ms: f64,
}

impl AnswerTimings {
    pub(crate) fn ms(duration: Duration) -> f64 {
        duration.as_secs_f64() * 1000.0
    }
}

/// A finished answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// The answer's text (Markdown); `[n]` cites `citations[n - 1]`.
    pub text: String,
    /// Verified citations, in order of first use.
    pub citations: Vec<Citation>,
    /// How it was produced.
    pub mode: AnswerMode,
    /// Why the agent mode was not used although tools were possible, when it was not.
    pub fallback: Option<String>,
    /// The model that wrote it (`None` for an extractive answer).
    pub model: Option<String>,
    /// Whether it is whole.
    pub status: AnswerStatus,
    /// The limit that cut it short, if one did.
    pub partial: Option<LimitHit>,
    /// What went wrong, when the status is `failed`.
    pub error: Option<String>,
    /// How far the answer is backed by what was found: see [`confidence`](crate::confidence).
    pub confidence: f32,
    /// True when nothing relevant was found, and the answer says so instead of guessing.
    pub nothing_found: bool,
    /// Citations removed because they could not be verified.
    pub rejected_citations: RejectedCitations,
    /// Tokens used over all model calls (as reported; zero when the server reports none).
    pub usage: Usage,
    /// What was searched and read.
    pub searched: Searched,
    /// Context items given to the model.
    pub context_items: usize,
    /// Where the time went.
    pub timings: AnswerTimings,
}

/// One agent step, as the `tool` event shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolStep {
    /// 1-based step number.
    pub step: usize,
    /// The tool called.
    pub name: String,
    /// Its arguments, as the model wrote them.
    pub arguments: String,
    /// A one-line summary of the result (`12 lines of src/main.rs`, `no symbol named …`).
    pub summary: String,
    /// Context items the result added (numbers the model may cite).
    pub items: Vec<usize>,
}

/// An event of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerEvent {
    /// Context items given to the model (sent once before generation, and after each tool step
    /// that adds items).
    Context(Vec<ContextItem>),
    /// An agent step.
    Tool(ToolStep),
    /// More answer text (already cleaned of unverified citations).
    Delta(String),
    /// A citation, verified, as soon as its marker closed.
    Citation(Citation),
    /// Token usage of one model call.
    Usage(Usage),
    /// The finished answer; nothing follows.
    Done(Box<Answer>),
}
