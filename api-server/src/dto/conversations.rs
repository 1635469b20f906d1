//! The assistant's documents: conversations, messages, answers and the data of each streamed event
//! (`context`, `tool`, `delta`, `citation`, `usage`, `done`; `error` is a problem document).

use chrono::{DateTime, Utc};
use reposage_assistant as assistant;
use reposage_store::{
    AnswerDetails, ConversationRecord, MessageRecord, RejectedCounts, SearchedRecord, StoredCitation,
};
use serde::Serialize;
use uuid::Uuid;

/// A conversation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// Id.
    pub id: Uuid,
    /// Title, once given or taken from the first question.
    pub title: Option<String>,
    /// `open` (takes questions) or `closed` (read only).
    pub status: &'static str,
    /// Ids of the repositories it answers from, in the order given.
    pub repositories: Vec<Uuid>,
    /// Messages it holds (questions and answers).
    pub messages: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last question, answer or change.
    pub updated_at: DateTime<Utc>,
}

/// A page of conversations, newest first.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    /// The conversations.
    pub items: Vec<Conversation>,
    /// The `offset` of the next page, when there is one.
    pub next_offset: Option<i64>,
}

/// A conversation with its messages, oldest first.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetail {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Its questions and answers in order; an answer follows its question, regenerated answers
    /// follow the earlier ones (same `parentId`).
    pub messages: Vec<Message>,
}

/// A question or an answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Id.
    pub id: Uuid,
    /// For an answer, the question it answers.
    pub parent_id: Option<Uuid>,
    /// `user` (a question) or `assistant` (an answer).
    pub role: &'static str,
    /// The text; of a `streaming` answer, as far as it was saved.
    pub content: String,
    /// `streaming`, `complete`, `interrupted` or `failed`.
    pub status: &'static str,
    /// Verified citations of an answer; `[n]` in the text cites `citations[n - 1]`.
    pub citations: Vec<Citation>,
    /// `agent`, `retrieval` or `extractive`, once an answer ended.
    pub mode: Option<&'static str>,
    /// The model that wrote it.
    pub model: Option<String>,
    /// How far the answer is backed by what was found (0..=1), once it ended.
    pub confidence: Option<f32>,
    /// Tokens used.
    pub usage: Usage,
    /// Milliseconds the whole answer took, once it ended.
    pub latency_ms: Option<f64>,
    /// What went wrong, for a failed answer (or why an interrupted one stopped, when known).
    pub error: Option<String>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last saved.
    pub updated_at: DateTime<Utc>,
}

/// An answer: the `done` event, and the JSON answer of the asking routes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Done {
    /// The conversation (`null` for `POST /api/v1/ask`).
    pub conversation_id: Option<Uuid>,
    /// The question's message (`null` for `POST /api/v1/ask`).
    pub question_id: Option<Uuid>,
    /// The answer's message (`null` for `POST /api/v1/ask`).
    pub message_id: Option<Uuid>,
    /// The answer.
    #[serde(flatten)]
    pub answer: Answer,
}

/// What an answer came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// The final text (Markdown, rendered as text: it quotes untrusted code); `[n]` cites
    /// `citations[n - 1]`.
    pub text: String,
    /// Verified citations, in order of first use.
    pub citations: Vec<Citation>,
    /// `agent`, `retrieval` or `extractive` (`null` for an answer that failed before it started).
    pub mode: Option<&'static str>,
    /// Why the agent mode was not used although tools were possible, when it was not.
    pub fallback: Option<String>,
    /// The model that wrote it (`null` for an extractive answer).
    pub model: Option<String>,
    /// `complete`, `interrupted` (cancelled, or the client left) or `failed`.
    pub status: &'static str,
    /// The limit that cut it short: `output_tokens`, `steps`, `tokens` or `seconds`.
    pub partial: Option<String>,
    /// What went wrong, when the status is `failed`.
    pub error: Option<String>,
    /// How far the answer is backed by what was found, 0..=1.
    pub confidence: f32,
    /// True when nothing relevant was found, and the answer says so instead of guessing.
    pub nothing_found: bool,
    /// Citations removed because they could not be verified, by reason.
    pub rejected_citations: RejectedCitations,
    /// Tokens used over all model calls.
    pub usage: Usage,
    /// What was searched and read.
    pub searched: Searched,
    /// Context items given to the model.
    pub context_items: u32,
    /// Where the time went.
    pub timings: AnswerTimings,
}

/// A verified citation: lines that exist at the pinned commit and were given to the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Citation {
    /// Its number in the answer: the text cites it as `[id]`.
    pub id: u32,
    /// The context item it points into (its `number`).
    pub item: u32,
    /// The repository.
    pub repository_id: Uuid,
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
    /// Relevance of the cited item, 0..=1.
    pub score: f32,
    /// The sentence of the answer it supports.
    pub sentence: String,
}

/// Unverifiable citations, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedCitations {
    /// Cited an item number that was never given.
    pub not_given: u32,
    /// Cited lines outside the item or the file.
    pub out_of_range: u32,
    /// Cited a path that is not in the context.
    pub unknown_path: u32,
}

/// Tokens used (as the model reported them; counted when it reports none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub completion_tokens: u32,
}

/// What an answer looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Searched {
    /// Search queries run.
    pub queries: Vec<String>,
    /// Tool calls made (`name(arguments)`).
    pub tools: Vec<String>,
    /// Files whose lines were given to the model (`namespace/name:path`).
    pub files: Vec<String>,
}

/// Milliseconds spent per step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerTimings {
    /// Building the context.
    pub context_ms: f64,
    /// From the start to the first text of the answer.
    pub first_token_ms: Option<f64>,
    /// The whole answer.
    pub total_ms: f64,
}

/// The `context` event: items given to the model (once before it writes, and after each tool step
/// that adds some).
#[derive(Debug, Serialize)]
pub struct ContextEvent {
    /// The items.
    pub items: Vec<ContextItem>,
}

/// One excerpt given to the model: lines of one file at the pinned commit.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextItem {
    /// Its number, as the answer cites it.
    pub number: u32,
    /// The repository.
    pub repository_id: Uuid,
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
    /// Lines of the whole file.
    pub file_lines: i32,
    /// The chunk, when the item is a retrieved chunk.
    pub chunk_id: Option<i64>,
    /// Language of the file.
    pub language: Option<String>,
    /// Qualified name of the symbol the lines belong to.
    pub symbol_path: Option<String>,
    /// The symbol's kind.
    pub symbol_kind: Option<String>,
    /// The enclosing symbol's signature.
    pub signature: Option<String>,
    /// The enclosing symbol's doc comment.
    pub doc: Option<String>,
    /// The lines (untrusted repository text).
    pub text: String,
    /// Relevance, 0..=1.
    pub score: f32,
    /// How it was found.
    pub found_by: FoundBy,
}

/// How a context item was found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase", tag = "by")]
pub enum FoundBy {
    /// A hybrid search.
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

/// The `tool` event: one agent step.
#[derive(Debug, Serialize)]
pub struct ToolEvent {
    /// 1-based step number.
    pub step: u32,
    /// The tool called.
    pub name: String,
    /// Its arguments, as the model wrote them (shortened).
    pub arguments: String,
    /// A one-line summary of the result.
    pub summary: String,
    /// Context items the result added.
    pub items: Vec<u32>,
}

/// The `delta` event: more answer text (already cleaned of unverified citations).
#[derive(Debug, Serialize)]
pub struct DeltaEvent {
    /// The text.
    pub text: String,
}

fn count(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl From<ConversationRecord> for Conversation {
    fn from(record: ConversationRecord) -> Self {
        let ConversationRecord {
            id,
            title,
            status,
            repositories,
            messages,
            created_at,
            updated_at,
        } = record;
        Self {
            id: id.0,
            title,
            status: status.as_str(),
            repositories: repositories.into_iter().map(|id| id.0).collect(),
            messages,
            created_at,
            updated_at,
        }
    }
}

impl From<MessageRecord> for Message {
    fn from(record: MessageRecord) -> Self {
        let MessageRecord {
            id,
            conversation_id: _,
            parent_id,
            role,
            content,
            citations,
            mode,
            model,
            prompt_tokens,
            completion_tokens,
            latency_ms,
            confidence,
            status,
            error,
            details: _,
            created_at,
            updated_at,
        } = record;
        Self {
            id: id.0,
            parent_id: parent_id.map(|id| id.0),
            role: role.as_str(),
            content,
            status: status.as_str(),
            citations: citations.into_iter().map(Citation::from).collect(),
            mode: mode.map(|m| m.as_str()),
            model,
            confidence,
            usage: Usage {
                prompt_tokens: prompt_tokens.max(0) as u32,
                completion_tokens: completion_tokens.max(0) as u32,
            },
            latency_ms,
            error,
            created_at,
            updated_at,
        }
    }
}

impl Answer {
    /// The answer a finished stored message holds (`None` while it is still streaming).
    pub fn from_record(record: &MessageRecord) -> Option<Self> {
        let MessageRecord {
            id: _,
            conversation_id: _,
            parent_id: _,
            role: _,
            content,
            citations,
            mode,
            model,
            prompt_tokens,
            completion_tokens,
            latency_ms,
            confidence,
            status,
            error,
            details:
                AnswerDetails {
                    partial,
                    fallback,
                    nothing_found,
                    rejected_citations:
                        RejectedCounts {
                            not_given,
                            out_of_range,
                            unknown_path,
                        },
                    searched:
                        SearchedRecord {
                            queries,
                            tools,
                            files,
                        },
                    context_items,
                    context_ms,
                    first_token_ms,
                },
            created_at: _,
            updated_at: _,
        } = record;
        use reposage_store::MessageStatus;
        let status = match status {
            MessageStatus::Streaming => return None,
            other => other.as_str(),
        };
        Some(Self {
            text: content.clone(),
            citations: citations.iter().cloned().map(Citation::from).collect(),
            mode: mode.map(|m| m.as_str()),
            fallback: fallback.clone(),
            model: model.clone(),
            status,
            partial: partial.clone(),
            error: error.clone(),
            confidence: confidence.unwrap_or(0.0),
            nothing_found: *nothing_found,
            rejected_citations: RejectedCitations {
                not_given: *not_given,
                out_of_range: *out_of_range,
                unknown_path: *unknown_path,
            },
            usage: Usage {
                prompt_tokens: (*prompt_tokens).max(0) as u32,
                completion_tokens: (*completion_tokens).max(0) as u32,
            },
            searched: Searched {
                queries: queries.clone(),
                tools: tools.clone(),
                files: files.clone(),
            },
            context_items: *context_items,
            timings: AnswerTimings {
                context_ms: *context_ms,
                first_token_ms: *first_token_ms,
                total_ms: latency_ms.unwrap_or(0.0),
            },
        })
    }
}

impl From<assistant::Answer> for Answer {
    fn from(answer: assistant::Answer) -> Self {
        let assistant::Answer {
            text,
            citations,
            mode,
            fallback,
            model,
            status,
            partial,
            error,
            confidence,
            nothing_found,
            rejected_citations:
                assistant::RejectedCitations {
                    not_given,
                    out_of_range,
                    unknown_path,
                },
            usage,
            searched:
                assistant::Searched {
                    queries,
                    tools,
                    files,
                },
            context_items,
            timings:
                assistant::AnswerTimings {
                    context_ms,
                    first_token_ms,
                    total_ms,
                },
        } = answer;
        Self {
            text,
            citations: citations.into_iter().map(Citation::from).collect(),
            mode: Some(mode.as_str()),
            fallback,
            model,
            status: status.as_str(),
            partial: partial.map(|limit| limit_name(limit).to_string()),
            error,
            confidence,
            nothing_found,
            rejected_citations: RejectedCitations {
                not_given,
                out_of_range,
                unknown_path,
            },
            usage: usage.into(),
            searched: Searched {
                queries,
                tools,
                files,
            },
            context_items: count(context_items),
            timings: AnswerTimings {
                context_ms,
                first_token_ms,
                total_ms,
            },
        }
    }
}

/// The name of a limit, as answers and the database spell it.
pub fn limit_name(limit: assistant::LimitHit) -> &'static str {
    match limit {
        assistant::LimitHit::OutputTokens => "output_tokens",
        assistant::LimitHit::Steps => "steps",
        assistant::LimitHit::Tokens => "tokens",
        assistant::LimitHit::Seconds => "seconds",
    }
}

impl From<reposage_llm::Usage> for Usage {
    fn from(usage: reposage_llm::Usage) -> Self {
        let reposage_llm::Usage {
            prompt_tokens,
            completion_tokens,
        } = usage;
        Self {
            prompt_tokens,
            completion_tokens,
        }
    }
}

impl From<assistant::Citation> for Citation {
    fn from(citation: assistant::Citation) -> Self {
        let assistant::Citation {
            id,
            item,
            repository_id,
            repository,
            path,
            start_line,
            end_line,
            commit_sha,
            chunk_id,
            score,
            sentence,
        } = citation;
        Self {
            id: count(id),
            item: count(item),
            repository_id: repository_id.0,
            repository,
            path,
            start_line,
            end_line,
            commit_sha,
            chunk_id,
            score,
            sentence,
        }
    }
}

impl From<StoredCitation> for Citation {
    fn from(citation: StoredCitation) -> Self {
        let StoredCitation {
            id,
            item,
            repository_id,
            repository,
            path,
            start_line,
            end_line,
            commit_sha,
            chunk_id,
            score,
            sentence,
        } = citation;
        Self {
            id,
            item,
            repository_id: repository_id.0,
            repository,
            path,
            start_line,
            end_line,
            commit_sha,
            chunk_id,
            score,
            sentence,
        }
    }
}

impl From<assistant::ContextItem> for ContextItem {
    fn from(item: assistant::ContextItem) -> Self {
        let assistant::ContextItem {
            number,
            repository_id,
            repository,
            commit_sha,
            path,
            start_line,
            end_line,
            file_lines,
            chunk_id,
            language,
            symbol_path,
            symbol_kind,
            signature,
            doc,
            text,
            score,
            found_by,
        } = item;
        Self {
            number: count(number),
            repository_id: repository_id.0,
            repository,
            commit_sha,
            path,
            start_line,
            end_line,
            file_lines,
            chunk_id,
            language,
            symbol_path,
            symbol_kind,
            signature,
            doc,
            text,
            score,
            found_by: match found_by {
                assistant::FoundBy::Search { query } => FoundBy::Search { query },
                assistant::FoundBy::Symbol { name } => FoundBy::Symbol { name },
                assistant::FoundBy::Path { path } => FoundBy::Path { path },
                assistant::FoundBy::Overview => FoundBy::Overview,
                assistant::FoundBy::Tool { name } => FoundBy::Tool { name },
            },
        }
    }
}

impl From<assistant::ToolStep> for ToolEvent {
    fn from(step: assistant::ToolStep) -> Self {
        let assistant::ToolStep {
            step,
            name,
            arguments,
            summary,
            items,
        } = step;
        Self {
            step: count(step),
            name,
            arguments,
            summary,
            items: items.into_iter().map(count).collect(),
        }
    }
}
