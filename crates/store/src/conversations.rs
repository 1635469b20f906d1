//! Conversations with the assistant: their repositories, questions and answers.
//!
//! Every write that touches more than one row is one transaction, so a refused or failed request
//! leaves nothing half-written: a conversation is created with all its repositories or not at all,
//! a question is stored together with the answer that starts streaming for it, and an answer is
//! finished (text, citations, usage, status) in one statement.
//!
//! An answer being written is `streaming`. Its writer checkpoints the text while it streams
//! ([`Store::checkpoint_answer`], which also shows it is alive); one whose `updated_at` stopped
//! moving for longer than a caller-given `stale_after` belongs to a server that died, and is marked
//! `interrupted` by [`Store::interrupt_stale_answers`] or by the next question in its conversation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ConversationId, Error, MessageId, RepositoryId, Result, Store};

/// Whether a conversation takes new questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// New questions are answered.
    Open,
    /// Kept for reading; new questions and regenerations are refused.
    Closed,
}

impl ConversationStatus {
    /// `open` or `closed`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Closed => "closed",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "open" => Ok(ConversationStatus::Open),
            "closed" => Ok(ConversationStatus::Closed),
            other => Err(unknown("conversations.status", other)),
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    /// The person asking: a question.
    User,
    /// The assistant: an answer to a question.
    Assistant,
}

impl MessageRole {
    /// `user` or `assistant`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "user" => Ok(MessageRole::User),
            "assistant" => Ok(MessageRole::Assistant),
            other => Err(unknown("messages.role", other)),
        }
    }
}

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// An answer being written; its content is the text checkpointed so far.
    Streaming,
    /// Whole (every question is).
    Complete,
    /// The client left or cancelled, or the server writing it stopped; the text is what was written.
    Interrupted,
    /// The model or the index failed; the error says how, the text is what came before.
    Failed,
}

impl MessageStatus {
    /// `streaming`, `complete`, `interrupted` or `failed`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Streaming => "streaming",
            MessageStatus::Complete => "complete",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "streaming" => Ok(MessageStatus::Streaming),
            "complete" => Ok(MessageStatus::Complete),
            "interrupted" => Ok(MessageStatus::Interrupted),
            "failed" => Ok(MessageStatus::Failed),
            other => Err(unknown("messages.status", other)),
        }
    }
}

/// How an answer was produced (the assistant's answer modes, as stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageMode {
    /// The model explored the index with tools, then answered.
    Agent,
    /// The model answered once from the retrieved context.
    Retrieval,
    /// No model: the best-matching code, listed.
    Extractive,
}

impl MessageMode {
    /// `agent`, `retrieval` or `extractive`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageMode::Agent => "agent",
            MessageMode::Retrieval => "retrieval",
            MessageMode::Extractive => "extractive",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "agent" => Ok(MessageMode::Agent),
            "retrieval" => Ok(MessageMode::Retrieval),
            "extractive" => Ok(MessageMode::Extractive),
            other => Err(unknown("messages.mode", other)),
        }
    }
}

fn unknown(column: &'static str, value: &str) -> Error {
    Error::UnknownValue {
        column,
        value: value.to_string(),
    }
}

/// A conversation to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConversation {
    /// Its id.
    pub id: ConversationId,
    /// A title; the first question's first line is used when there is none.
    pub title: Option<String>,
    /// The repositories it answers from, in order; each must exist. Duplicates are kept once.
    pub repositories: Vec<RepositoryId>,
}

/// A stored conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationRecord {
    /// Id.
    pub id: ConversationId,
    /// Title, once given or taken from the first question.
    pub title: Option<String>,
    /// Whether it takes new questions.
    pub status: ConversationStatus,
    /// The repositories it answers from, in the order given (a deleted repository drops out).
    pub repositories: Vec<RepositoryId>,
    /// Messages it holds (questions and answers).
    pub messages: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last question, answer or change.
    pub updated_at: DateTime<Utc>,
}

/// One page of conversations, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationPage {
    /// The conversations.
    pub items: Vec<ConversationRecord>,
    /// True when more follow this page.
    pub has_more: bool,
}

/// A verified citation of a stored answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCitation {
    /// Its number in the answer: the text cites it as `[id]`.
    pub id: u32,
    /// The context item it points into.
    pub item: u32,
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

/// Citations an answer's model wrote that could not be verified, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RejectedCounts {
    /// Cited an item number that was never given.
    pub not_given: u32,
    /// Cited lines outside the item or the file.
    pub out_of_range: u32,
    /// Cited a path that is not in the context.
    pub unknown_path: u32,
}

/// What an answer looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SearchedRecord {
    /// Search queries run.
    pub queries: Vec<String>,
    /// Tool calls made (`name(arguments)`).
    pub tools: Vec<String>,
    /// Files whose lines were given to the model.
    pub files: Vec<String>,
}

/// The rest of a finished answer's document, stored as JSON on the message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AnswerDetails {
    /// The limit that cut the answer short (`output_tokens`, `steps`, `tokens`, `seconds`).
    pub partial: Option<String>,
    /// Why the agent mode was not used although tools were possible.
    pub fallback: Option<String>,
    /// True when nothing relevant was found and the answer says so.
    pub nothing_found: bool,
    /// Citations removed because they could not be verified.
    pub rejected_citations: RejectedCounts,
    /// What was searched and read.
    pub searched: SearchedRecord,
    /// Context items given to the model.
    pub context_items: u32,
    /// Milliseconds spent building the context.
    pub context_ms: f64,
    /// Milliseconds to the first text of the answer.
    pub first_token_ms: Option<f64>,
}

/// A stored message: a question, or an answer to one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRecord {
    /// Id.
    pub id: MessageId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// For an answer, the question it answers (siblings answer the same question).
    pub parent_id: Option<MessageId>,
    /// Question or answer.
    pub role: MessageRole,
    /// The text (of a streaming answer: as far as it was checkpointed).
    pub content: String,
    /// An answer's verified citations.
    pub citations: Vec<StoredCitation>,
    /// How an answer was produced, once it ended.
    pub mode: Option<MessageMode>,
    /// The model that wrote it.
    pub model: Option<String>,
    /// Prompt tokens over all model calls.
    pub prompt_tokens: i32,
    /// Generated tokens over all model calls.
    pub completion_tokens: i32,
    /// Milliseconds the whole answer took, once it ended.
    pub latency_ms: Option<f64>,
    /// How far the answer is backed by what was found (0..=1), once it ended.
    pub confidence: Option<f32>,
    /// Where it is.
    pub status: MessageStatus,
    /// What went wrong, for a failed answer (or why an interrupted one stopped, when known).
    pub error: Option<String>,
    /// The rest of a finished answer's document.
    pub details: AnswerDetails,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last checkpoint or change.
    pub updated_at: DateTime<Utc>,
}

/// A question stored with the answer that starts streaming for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The question.
    pub question: MessageRecord,
    /// The answer, `streaming` and empty.
    pub answer: MessageRecord,
}

/// How an answer ended: everything [`Store::finish_answer`] writes.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedAnswer {
    /// The final text.
    pub content: String,
    /// Verified citations.
    pub citations: Vec<StoredCitation>,
    /// How it was produced (`None` for an answer that failed before it started).
    pub mode: Option<MessageMode>,
    /// The model that wrote it.
    pub model: Option<String>,
    /// Prompt tokens over all model calls.
    pub prompt_tokens: u32,
    /// Generated tokens over all model calls.
    pub completion_tokens: u32,
    /// Milliseconds the whole answer took.
    pub latency_ms: f64,
    /// Confidence, 0..=1.
    pub confidence: f32,
    /// `complete`, `interrupted` or `failed` (never `streaming`).
    pub status: MessageStatus,
    /// What went wrong (required for `failed`).
    pub error: Option<String>,
    /// The rest of the answer's document.
    pub details: AnswerDetails,
}

/// What a conversation's title is cut to when it is taken from the first question.
pub const TITLE_FROM_QUESTION_CHARS: usize = 80;

/// Error text of an answer found `streaming` after its writer stopped.
pub const ABANDONED_ANSWER: &str = "the server writing this answer stopped before it finished";

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: ConversationId,
    title: Option<String>,
    status: String,
    repositories: Vec<RepositoryId>,
    messages: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ConversationRow> for ConversationRecord {
    type Error = Error;
    fn try_from(row: ConversationRow) -> Result<Self> {
        let ConversationRow {
            id,
            title,
            status,
            repositories,
            messages,
            created_at,
            updated_at,
        } = row;
        Ok(ConversationRecord {
            id,
            title,
            status: ConversationStatus::parse(&status)?,
            repositories,
            messages,
            created_at,
            updated_at,
        })
    }
}

macro_rules! conversation_select {
    ($where:literal) => {
        concat!(
            "SELECT c.id, c.title, c.status, c.created_at, c.updated_at,
                    ARRAY(SELECT cr.repository_id FROM conversation_repositories cr
                          WHERE cr.conversation_id = c.id ORDER BY cr.position) AS repositories,
                    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS messages
             FROM conversations c ",
            $where
        )
    };
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: MessageId,
    conversation_id: ConversationId,
    parent_id: Option<MessageId>,
    role: String,
    content: String,
    citations: serde_json::Value,
    mode: Option<String>,
    model: Option<String>,
    prompt_tokens: i32,
    completion_tokens: i32,
    latency_ms: Option<f64>,
    confidence: Option<f32>,
    status: String,
    error: Option<String>,
    details: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = Error;
    fn try_from(row: MessageRow) -> Result<Self> {
        let MessageRow {
            id,
            conversation_id,
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
            details,
            created_at,
            updated_at,
        } = row;
        Ok(MessageRecord {
            id,
            conversation_id,
            parent_id,
            role: MessageRole::parse(&role)?,
            content,
            citations: serde_json::from_value(citations).map_err(|source| Error::Corrupt {
                what: "message citations",
                source,
            })?,
            mode: mode.as_deref().map(MessageMode::parse).transpose()?,
            model,
            prompt_tokens,
            completion_tokens,
            latency_ms,
            confidence,
            status: MessageStatus::parse(&status)?,
            error,
            details: serde_json::from_value(details).map_err(|source| Error::Corrupt {
                what: "message details",
                source,
            })?,
            created_at,
            updated_at,
        })
    }
}

macro_rules! message_columns {
    () => {
        "id, conversation_id, parent_id, role, content, citations, mode, model, prompt_tokens, \
         completion_tokens, latency_ms, confidence, status, error, details, created_at, updated_at"
    };
}

/// A conversation title taken from a question: its first non-empty line, cut at
/// [`TITLE_FROM_QUESTION_CHARS`] characters.
pub fn title_from_question(question: &str) -> String {
    let line = question
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    if line.chars().count() <= TITLE_FROM_QUESTION_CHARS {
        return line.to_string();
    }
    let mut title: String = line.chars().take(TITLE_FROM_QUESTION_CHARS - 1).collect();
    title.push('…');
    title
}

fn not_found(what: &'static str, id: impl ToString) -> Error {
    Error::NotFound {
        what,
        id: id.to_string(),
    }
}

fn tokens(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl Store {
    /// Creates a conversation over its repositories, in one transaction. An unknown repository is
    /// [`Error::NotFound`] naming it, and nothing is written.
    pub async fn create_conversation(&self, new: &NewConversation) -> Result<ConversationRecord> {
        let mut repositories: Vec<RepositoryId> = Vec::with_capacity(new.repositories.len());
        for id in &new.repositories {
            if !repositories.contains(id) {
                repositories.push(*id);
            }
        }
        let mut tx = self.pool.begin().await?;
        // Lock the repositories so none is deleted between this check and the insert.
        let found: Vec<RepositoryId> =
            sqlx::query_scalar("SELECT id FROM repositories WHERE id = ANY($1) FOR SHARE")
                .bind(&repositories)
                .fetch_all(&mut *tx)
                .await?;
        if let Some(missing) = repositories.iter().find(|id| !found.contains(id)) {
            return Err(not_found("repository", missing));
        }
        sqlx::query("INSERT INTO conversations (id, title) VALUES ($1, $2)")
            .bind(new.id)
            .bind(&new.title)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO conversation_repositories (conversation_id, repository_id, position)
             SELECT $1, repository_id, (position - 1)::integer
             FROM UNNEST($2::uuid[]) WITH ORDINALITY AS r (repository_id, position)",
        )
        .bind(new.id)
        .bind(&repositories)
        .execute(&mut *tx)
        .await?;
        let record = fetch_conversation(&mut tx, new.id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Conversations, newest first: `limit` of them after skipping `offset`.
    pub async fn list_conversations(&self, limit: i64, offset: i64) -> Result<ConversationPage> {
        let rows: Vec<ConversationRow> = sqlx::query_as(conversation_select!(
            "ORDER BY c.created_at DESC, c.id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(limit.saturating_add(1))
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let has_more = rows.len() as i64 > limit;
        let items = rows
            .into_iter()
            .take(limit.max(0) as usize)
            .map(ConversationRecord::try_from)
            .collect::<Result<_>>()?;
        Ok(ConversationPage { items, has_more })
    }

    /// One conversation.
    pub async fn get_conversation(&self, id: ConversationId) -> Result<ConversationRecord> {
        let mut conn = self.pool.acquire().await?;
        fetch_conversation(&mut conn, id).await
    }

    /// One conversation and its messages in order, read as of one moment.
    pub async fn get_conversation_with_messages(
        &self,
        id: ConversationId,
    ) -> Result<(ConversationRecord, Vec<MessageRecord>)> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let conversation = fetch_conversation(&mut tx, id).await?;
        let rows: Vec<MessageRow> = sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE conversation_id = $1 ORDER BY seq"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let messages = rows
            .into_iter()
            .map(MessageRecord::try_from)
            .collect::<Result<_>>()?;
        Ok((conversation, messages))
    }

    /// One message.
    pub async fn get_message(&self, id: MessageId) -> Result<MessageRecord> {
        let row: Option<MessageRow> = sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or_else(|| not_found("message", id))?.try_into()
    }

    /// Deletes a conversation with its messages. Returns whether it existed.
    pub async fn delete_conversation(&self, id: ConversationId) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM conversations WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    /// Closes a conversation: it stays readable, and takes no new questions.
    pub async fn close_conversation(&self, id: ConversationId) -> Result<ConversationRecord> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE conversations SET status = 'closed', updated_at = now()
             WHERE id = $1 AND status <> 'closed'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let record = fetch_conversation(&mut tx, id).await?;
        if updated.rows_affected() > 0 {
            tx.commit().await?;
        }
        Ok(record)
    }

    /// Stores a question (`question_id`, `content`) and the answer (`answer_id`) that starts
    /// streaming for it, in one transaction. Refused with [`Error::Conflict`] when the conversation
    /// is closed or another of its answers is still being written (one whose writer has not
    /// checkpointed for `stale_after` is marked interrupted first). The first question gives an
    /// untitled conversation its title.
    pub async fn ask_in_conversation(
        &self,
        conversation_id: ConversationId,
        question_id: MessageId,
        answer_id: MessageId,
        content: &str,
        stale_after: Duration,
    ) -> Result<Exchange> {
        let mut tx = self.pool.begin().await?;
        lock_open_conversation(&mut tx, conversation_id, stale_after).await?;
        sqlx::query("UPDATE conversations SET title = COALESCE(title, $2), updated_at = now() WHERE id = $1")
            .bind(conversation_id)
            .bind(title_from_question(content))
            .execute(&mut *tx)
            .await?;
        let question = insert_message(
            &mut tx,
            question_id,
            conversation_id,
            None,
            MessageRole::User,
            content,
            MessageStatus::Complete,
        )
        .await?;
        let answer = insert_message(
            &mut tx,
            answer_id,
            conversation_id,
            Some(question_id),
            MessageRole::Assistant,
            "",
            MessageStatus::Streaming,
        )
        .await?;
        tx.commit().await?;
        Ok(Exchange { question, answer })
    }

    /// Starts another answer (`answer_id`, `streaming`) to the question `question_id` of the
    /// conversation; earlier answers to it are kept. Refused like
    /// [`ask_in_conversation`](Self::ask_in_conversation); a `question_id` that is not a question
    /// of this conversation is [`Error::NotFound`].
    pub async fn start_regeneration(
        &self,
        conversation_id: ConversationId,
        question_id: MessageId,
        answer_id: MessageId,
        stale_after: Duration,
    ) -> Result<MessageRecord> {
        let mut tx = self.pool.begin().await?;
        lock_open_conversation(&mut tx, conversation_id, stale_after).await?;
        let is_question: Option<bool> =
            sqlx::query_scalar("SELECT role = 'user' FROM messages WHERE id = $1 AND conversation_id = $2")
                .bind(question_id)
                .bind(conversation_id)
                .fetch_optional(&mut *tx)
                .await?;
        if is_question != Some(true) {
            return Err(not_found("question", question_id));
        }
        sqlx::query("UPDATE conversations SET updated_at = now() WHERE id = $1")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        let answer = insert_message(
            &mut tx,
            answer_id,
            conversation_id,
            Some(question_id),
            MessageRole::Assistant,
            "",
            MessageStatus::Streaming,
        )
        .await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Saves the text an answer has streamed so far (and shows its writer is alive). Returns false
    /// when the answer is no longer streaming (finished, or deleted with its conversation).
    pub async fn checkpoint_answer(&self, id: MessageId, content: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE messages SET content = $2, updated_at = clock_timestamp()
             WHERE id = $1 AND status = 'streaming'",
        )
        .bind(id)
        .bind(content)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// Ends a streaming answer with everything it came to, in one statement (with the
    /// conversation's `updated_at`). An answer that is not streaming any more (or whose
    /// conversation was deleted) is [`Error::NotFound`]; a `streaming` or error-less `failed`
    /// ending is [`Error::Conflict`].
    pub async fn finish_answer(&self, id: MessageId, answer: &FinishedAnswer) -> Result<MessageRecord> {
        if answer.status == MessageStatus::Streaming {
            return Err(Error::Conflict {
                what: "message",
                id: id.to_string(),
                reason: "cannot finish as streaming".into(),
            });
        }
        if answer.status == MessageStatus::Failed && answer.error.is_none() {
            return Err(Error::Conflict {
                what: "message",
                id: id.to_string(),
                reason: "cannot fail without an error".into(),
            });
        }
        let citations = serde_json::to_value(&answer.citations).map_err(|source| Error::Corrupt {
            what: "message citations",
            source,
        })?;
        let details = serde_json::to_value(&answer.details).map_err(|source| Error::Corrupt {
            what: "message details",
            source,
        })?;
        let row: Option<MessageRow> = sqlx::query_as(concat!(
            "WITH finished AS (
                 UPDATE messages SET content = $2, citations = $3, mode = $4, model = $5,
                     prompt_tokens = $6, completion_tokens = $7, latency_ms = $8, confidence = $9,
                     status = $10, error = $11, details = $12, updated_at = clock_timestamp()
                 WHERE id = $1 AND status = 'streaming'
                 RETURNING *
             ), touched AS (
                 UPDATE conversations SET updated_at = now()
                 WHERE id = (SELECT conversation_id FROM finished)
             )
             SELECT ",
            message_columns!(),
            " FROM finished"
        ))
        .bind(id)
        .bind(&answer.content)
        .bind(citations)
        .bind(answer.mode.map(MessageMode::as_str))
        .bind(&answer.model)
        .bind(tokens(answer.prompt_tokens))
        .bind(tokens(answer.completion_tokens))
        .bind(answer.latency_ms.max(0.0))
        .bind(answer.confidence.clamp(0.0, 1.0))
        .bind(answer.status.as_str())
        .bind(&answer.error)
        .bind(details)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or_else(|| not_found("streaming message", id))?.try_into()
    }

    /// Marks `interrupted` every streaming answer whose writer has not checkpointed for
    /// `stale_after` (its server stopped). Returns how many there were.
    pub async fn interrupt_stale_answers(&self, stale_after: Duration) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE messages SET status = 'interrupted', error = $2, updated_at = clock_timestamp()
             WHERE status = 'streaming' AND updated_at < clock_timestamp() - $1",
        )
        .bind(stale_after)
        .bind(ABANDONED_ANSWER)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

async fn fetch_conversation(conn: &mut sqlx::PgConnection, id: ConversationId) -> Result<ConversationRecord> {
    let row: Option<ConversationRow> = sqlx::query_as(conversation_select!("WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.ok_or_else(|| not_found("conversation", id))?.try_into()
}

/// Locks the conversation's row for this transaction; refuses a closed or busy one.
async fn lock_open_conversation(
    conn: &mut sqlx::PgConnection,
    id: ConversationId,
    stale_after: Duration,
) -> Result<()> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM conversations WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let status = ConversationStatus::parse(&status.ok_or_else(|| not_found("conversation", id))?)?;
    if status == ConversationStatus::Closed {
        return Err(Error::Conflict {
            what: "conversation",
            id: id.to_string(),
            reason: "is closed".into(),
        });
    }
    sqlx::query(
        "UPDATE messages SET status = 'interrupted', error = $3, updated_at = clock_timestamp()
         WHERE conversation_id = $1 AND status = 'streaming' AND updated_at < clock_timestamp() - $2",
    )
    .bind(id)
    .bind(stale_after)
    .bind(ABANDONED_ANSWER)
    .execute(&mut *conn)
    .await?;
    let busy: Option<MessageId> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE conversation_id = $1 AND status = 'streaming' LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(answer) = busy {
        return Err(Error::Conflict {
            what: "conversation",
            id: id.to_string(),
            reason: format!("is still answering (message {answer})"),
        });
    }
    Ok(())
}

async fn insert_message(
    conn: &mut sqlx::PgConnection,
    id: MessageId,
    conversation_id: ConversationId,
    parent_id: Option<MessageId>,
    role: MessageRole,
    content: &str,
    status: MessageStatus,
) -> Result<MessageRecord> {
    let row: MessageRow = sqlx::query_as(concat!(
        "INSERT INTO messages (id, conversation_id, parent_id, role, content, status)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        message_columns!()
    ))
    .bind(id)
    .bind(conversation_id)
    .bind(parent_id)
    .bind(role.as_str())
    .bind(content)
    .bind(status.as_str())
    .fetch_one(&mut *conn)
    .await?;
    row.try_into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_the_first_non_empty_line_cut_to_eighty_characters() {
        assert_eq!(
            title_from_question("\n  How are retries done?\nmore"),
            "How are retries done?"
        );
        let long = "é".repeat(100);
        let title = title_from_question(&long);
        assert_eq!(title.chars().count(), TITLE_FROM_QUESTION_CHARS);
        assert!(title.ends_with('…'));
        assert_eq!(title_from_question("   "), "");
    }

    #[test]
    fn every_stored_name_parses_back() {
        for status in [
            MessageStatus::Streaming,
            MessageStatus::Complete,
            MessageStatus::Interrupted,
            MessageStatus::Failed,
        ] {
            assert_eq!(MessageStatus::parse(status.as_str()).unwrap(), status);
        }
        for mode in [
            MessageMode::Agent,
            MessageMode::Retrieval,
            MessageMode::Extractive,
        ] {
            assert_eq!(MessageMode::parse(mode.as_str()).unwrap(), mode);
        }
        for role in [MessageRole::User, MessageRole::Assistant] {
            assert_eq!(MessageRole::parse(role.as_str()).unwrap(), role);
        }
        for status in [ConversationStatus::Open, ConversationStatus::Closed] {
            assert_eq!(ConversationStatus::parse(status.as_str()).unwrap(), status);
        }
        assert!(matches!(
            MessageStatus::parse("pending"),
            Err(Error::UnknownValue {
                column: "messages.status",
                ..
            })
        ));
    }
}
