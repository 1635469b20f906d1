//! The assistant's routes: conversations, their questions and answers, and one-shot questions.
//!
//! | Route | Answer |
//! |---|---|
//! | `POST /api/v1/conversations` `{repositories, title?}` | 201, the [`Conversation`] |
//! | `GET /api/v1/conversations?limit=&offset=` | a [`ConversationPage`], newest first |
//! | `GET /api/v1/conversations/{id}` | a [`ConversationDetail`] with every message |
//! | `DELETE /api/v1/conversations/{id}` | 204 (answers being written are cancelled) |
//! | `POST /api/v1/conversations/{id}/close` | the closed [`Conversation`] |
//! | `POST /api/v1/conversations/{id}/messages` `{content}` | the answer (below) |
//! | `GET /api/v1/conversations/{id}/messages/{mid}` | the [`Message`] |
//! | `GET /api/v1/conversations/{id}/messages/{mid}/stream` | the answer, resumed after `Last-Event-ID` |
//! | `POST /api/v1/conversations/{id}/messages/{mid}/cancel` | the answer, once it stopped |
//! | `POST /api/v1/conversations/{id}/messages/{mid}/regenerate` | another answer to the same question |
//! | `POST /api/v1/ask` `{question, repositories}` | the answer, stored nowhere |
//!
//! An answer is an event stream when the request accepts `text/event-stream`: events `context`,
//! `tool`, `delta`, `citation`, `usage`, then `done` (the [`Done`] document) or `error` (a problem
//! document), with ids from 1 and keep-alive comments; the message ids are in the `x-message-id`,
//! `x-question-id` and `x-conversation-id` headers. Otherwise it is the [`Done`] document as JSON,
//! once the answer has ended.
//!
//! Everything is checked before anything is written: the question (empty, too long, NUL), the
//! repositories (unknown, not indexed), the conversation (unknown, closed, still answering) and the
//! message (unknown, of another conversation). A problem names the field at fault.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reposage_assistant::{AskRequest, MAX_REPOSITORIES, Turn};
use reposage_store::{
    ConversationId, ConversationRecord, ConversationStatus, MessageId, MessageRecord, MessageRole,
    MessageStatus, NewConversation, RepositoryId, Store,
};
use serde::Deserialize;

use crate::AppState;
use crate::answers::{Inflight, Job, Outcome, Subscription};
use crate::dto::{Conversation, ConversationDetail, ConversationPage, Done, Message};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// Conversations listed when no `limit` is given.
pub const DEFAULT_CONVERSATION_LIMIT: i64 = 20;
/// Largest `limit` of a conversation listing.
pub const MAX_CONVERSATION_LIMIT: i64 = 100;
/// Longest conversation title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// The header naming an answer's message id.
pub const MESSAGE_ID_HEADER: &str = "x-message-id";
/// The header naming the question's message id.
pub const QUESTION_ID_HEADER: &str = "x-question-id";
/// The header naming the conversation.
pub const CONVERSATION_ID_HEADER: &str = "x-conversation-id";
/// The request header a reconnecting event-stream client sends (the last id it read).
pub const LAST_EVENT_ID_HEADER: &str = "last-event-id";

/// Longest piece of client input echoed back in a problem.
const ECHO_CHARS: usize = 64;

/// The body of `POST /api/v1/conversations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConversationBody {
    /// Repositories, each an id or `namespace/name`.
    pub repositories: Option<Vec<String>>,
    /// A title (the first question's first line when absent).
    pub title: Option<String>,
}

/// The body of `POST /api/v1/conversations/{id}/messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMessageBody {
    /// The question.
    pub content: Option<String>,
}

/// The body of `POST /api/v1/ask`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The question.
    pub question: Option<String>,
    /// Repositories, each an id or `namespace/name`.
    pub repositories: Option<Vec<String>>,
}

/// The query string of `GET /api/v1/conversations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Most conversations, 1–100 (default 20).
    pub limit: Option<String>,
    /// Conversations to skip (default 0).
    pub offset: Option<String>,
}

fn echo(raw: &str) -> String {
    raw.chars().take(ECHO_CHARS).collect()
}

fn parse_uuid<T: std::str::FromStr>(raw: &str, parameter: &'static str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid_parameter(parameter, "must be a UUID"))
}

/// The assistant, or a 503 when this server has none.
fn assistant(state: &AppState) -> Result<reposage_assistant::Assistant, ApiError> {
    state.assistant().cloned().ok_or_else(|| {
        ApiError::Unavailable("this server answers no questions: the assistant is not configured".into())
    })
}

/// True when the client asked for an event stream.
fn wants_events(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("text/event-stream"))
}

/// Resolves repository references (ids or `namespace/name`) to indexed repositories, in order,
/// once each.
async fn resolve_repositories(
    store: &Store,
    raw: Option<Vec<String>>,
    field: &'static str,
) -> Result<Vec<RepositoryId>, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::invalid_parameter(field, "is required"))?;
    if raw.is_empty() {
        return Err(ApiError::invalid_parameter(
            field,
            "must name at least one repository",
        ));
    }
    if raw.len() > MAX_REPOSITORIES {
        return Err(ApiError::invalid_parameter(
            field,
            format!("may name at most {MAX_REPOSITORIES} repositories"),
        ));
    }
    let mut ids = Vec::with_capacity(raw.len());
    for reference in &raw {
        let reference = reference.trim();
        let unknown = || {
            ApiError::invalid_parameter(
                field,
                format!("names an unknown repository `{}`", echo(reference)),
            )
        };
        let record = if let Ok(id) = reference.parse::<RepositoryId>() {
            match store.get_repository(id).await {
                Ok(record) => record,
                Err(reposage_store::Error::NotFound { .. }) => return Err(unknown()),
                Err(error) => return Err(error.into()),
            }
        } else if let Some((namespace, name)) = reference.split_once('/') {
            store
                .find_repository(namespace, name)
                .await?
                .ok_or_else(unknown)?
        } else {
            return Err(ApiError::invalid_parameter(
                field,
                format!(
                    "`{}` is neither a repository id nor `namespace/name`",
                    echo(reference)
                ),
            ));
        };
        if record.last_indexed_commit.is_none() {
            return Err(ApiError::invalid_parameter(
                field,
                format!(
                    "names {}/{}, which is not indexed yet",
                    record.namespace, record.name
                ),
            ));
        }
        if !ids.contains(&record.id) {
            ids.push(record.id);
        }
    }
    Ok(ids)
}

/// Refuses a question to a conversation that cannot take one, before anything is written.
async fn check_answerable(store: &Store, conversation: &ConversationRecord) -> Result<(), ApiError> {
    let conflict = |detail: String| ApiError::Conflict {
        parameter: Some("conversationId"),
        detail,
    };
    if conversation.status == ConversationStatus::Closed {
        return Err(conflict(format!("conversation {} is closed", conversation.id)));
    }
    if conversation.repositories.is_empty() {
        return Err(conflict(format!(
            "conversation {} has no repositories left (they were deleted)",
            conversation.id
        )));
    }
    for id in &conversation.repositories {
        let record = store.get_repository(*id).await?;
        if record.last_indexed_commit.is_none() {
            return Err(conflict(format!(
                "repository {}/{} of conversation {} is not indexed",
                record.namespace, record.name, conversation.id
            )));
        }
    }
    Ok(())
}

/// A store refusal of a write to the conversation (closed, still answering), naming it.
fn conversation_conflict(error: reposage_store::Error) -> ApiError {
    match ApiError::from(error) {
        ApiError::Conflict { detail, .. } => ApiError::Conflict {
            parameter: Some("conversationId"),
            detail,
        },
        other => other,
    }
}

/// The earlier exchanges with a complete answer (the latest one of each question), oldest first,
/// stopping at the question `before`.
pub fn history(messages: &[MessageRecord], before: Option<MessageId>) -> Vec<Turn> {
    let mut turns = Vec::new();
    for question in messages.iter().filter(|m| m.role == MessageRole::User) {
        if Some(question.id) == before {
            break;
        }
        let answer = messages
            .iter()
            .rev()
            .find(|m| m.parent_id == Some(question.id) && m.status == MessageStatus::Complete);
        if let Some(answer) = answer {
            turns.push(Turn {
                question: question.content.clone(),
                answer: answer.content.clone(),
            });
        }
    }
    turns
}

/// The message `mid` of the conversation `id`: 404 when unknown, 422 when it belongs to another
/// conversation.
async fn conversation_message(
    store: &Store,
    conversation: ConversationId,
    message: MessageId,
) -> Result<MessageRecord, ApiError> {
    store.get_conversation(conversation).await?;
    let record = store.get_message(message).await?;
    if record.conversation_id != conversation {
        return Err(ApiError::invalid_parameter(
            "messageId",
            format!("message {message} belongs to another conversation"),
        ));
    }
    Ok(record)
}

/// Starts writing an answer: registers it, attaches the asking client, spawns its task.
fn start(
    state: &AppState,
    assistant: reposage_assistant::Assistant,
    inflight: Arc<Inflight>,
    request: AskRequest,
    question_field: &'static str,
) -> Subscription {
    let reader = inflight.subscribe(0);
    Job {
        assistant,
        store: state.store().clone(),
        metrics: state.metrics().clone(),
        answers: state.answers().clone(),
        settings: state.chat_settings(),
        inflight,
        request,
        question_field,
    }
    .spawn();
    reader
}

/// Answers with the event stream, or (JSON) with the `done` document once the answer ended.
async fn respond(
    state: &AppState,
    inflight: &Inflight,
    reader: Subscription,
    events: bool,
    status: StatusCode,
) -> Response {
    let mut headers = HeaderMap::new();
    for (name, id) in [
        (MESSAGE_ID_HEADER, inflight.message_id.map(|id| id.0)),
        (QUESTION_ID_HEADER, inflight.question_id.map(|id| id.0)),
        (CONVERSATION_ID_HEADER, inflight.conversation_id.map(|id| id.0)),
    ] {
        if let Some(id) = id {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(&id.to_string()).expect("a UUID is a header value"),
            );
        }
    }
    if let (Some(conversation), Some(message)) = (inflight.conversation_id, inflight.message_id)
        && let Ok(location) = HeaderValue::from_str(&format!(
            "/api/v1/conversations/{conversation}/messages/{message}"
        ))
    {
        headers.insert(header::LOCATION, location);
    }
    if events {
        headers.insert(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        );
        return (headers, reader.into_sse(state.chat_settings().keep_alive)).into_response();
    }
    match reader.outcome().await {
        Outcome::Done(done) => (status, headers, Json(*done)).into_response(),
        Outcome::Failed(error) => error.into_response(),
    }
}

/// `POST /api/v1/conversations`.
pub async fn create_conversation(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewConversationBody>,
) -> Result<Response, ApiError> {
    let NewConversationBody { repositories, title } = body;
    let title = match title.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(title) if title.chars().count() > MAX_TITLE_CHARS => {
            return Err(ApiError::invalid_parameter(
                "title",
                format!("must be at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        Some(title) if title.chars().any(char::is_control) => {
            return Err(ApiError::invalid_parameter(
                "title",
                "must not contain control characters",
            ));
        }
        Some(title) => Some(title.to_string()),
    };
    let repositories = resolve_repositories(state.store(), repositories, "repositories").await?;
    let new = NewConversation {
        id: ConversationId::new_random(),
        title,
        repositories,
    };
    let record = match state.store().create_conversation(&new).await {
        Ok(record) => record,
        // Deleted since it was resolved.
        Err(reposage_store::Error::NotFound {
            what: "repository",
            id,
        }) => {
            return Err(ApiError::invalid_parameter(
                "repositories",
                format!("names an unknown repository `{id}`"),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let location = HeaderValue::from_str(&format!("/api/v1/conversations/{}", record.id))
        .expect("a UUID path is a header value");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Conversation::from(record)),
    )
        .into_response())
}

/// `GET /api/v1/conversations?limit=&offset=`.
pub async fn list_conversations(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ConversationPage>, ApiError> {
    let ListParams { limit, offset } = params;
    let limit = match limit {
        None => DEFAULT_CONVERSATION_LIMIT,
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_CONVERSATION_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_parameter(
                    "limit",
                    format!("must be an integer from 1 to {MAX_CONVERSATION_LIMIT}"),
                )
            })?,
    };
    let offset = match offset {
        None => 0,
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid_parameter("offset", "must be a non-negative integer"))?,
    };
    let page = state.store().list_conversations(limit, offset).await?;
    Ok(Json(ConversationPage {
        next_offset: page.has_more.then_some(offset + limit),
        items: page.items.into_iter().map(Conversation::from).collect(),
    }))
}

/// `GET /api/v1/conversations/{id}`.
pub async fn get_conversation(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ConversationDetail>, ApiError> {
    let id: ConversationId = parse_uuid(&id, "conversationId")?;
    let (conversation, messages) = state.store().get_conversation_with_messages(id).await?;
    Ok(Json(ConversationDetail {
        conversation: conversation.into(),
        messages: messages.into_iter().map(Message::from).collect(),
    }))
}

/// `DELETE /api/v1/conversations/{id}`: the conversation and its messages; answers being written
/// are cancelled.
pub async fn delete_conversation(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id: ConversationId = parse_uuid(&id, "conversationId")?;
    if !state.store().delete_conversation(id).await? {
        return Err(ApiError::NotFound(format!("conversation {id} not found")));
    }
    state.answers().cancel_conversation(id);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/conversations/{id}/close`: read only from now on.
pub async fn close_conversation(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Conversation>, ApiError> {
    let id: ConversationId = parse_uuid(&id, "conversationId")?;
    Ok(Json(state.store().close_conversation(id).await?.into()))
}

/// `POST /api/v1/conversations/{id}/messages` `{content}`: asks, with the conversation's earlier
/// exchanges as history.
pub async fn post_message(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewMessageBody>,
) -> Result<Response, ApiError> {
    let assistant = assistant(&state)?;
    let conversation_id: ConversationId = parse_uuid(&id, "conversationId")?;
    let NewMessageBody { content } = body;
    let content = content.ok_or_else(|| ApiError::invalid_parameter("content", "is required"))?;
    let (conversation, messages) = state
        .store()
        .get_conversation_with_messages(conversation_id)
        .await?;
    let request = AskRequest {
        question: content.trim().to_string(),
        history: history(&messages, None),
        repositories: conversation.repositories.clone(),
    };
    check_answerable(state.store(), &conversation).await?;
    request
        .validate()
        .map_err(|error| ApiError::from_assistant(error, "content"))?;

    let (question_id, answer_id) = (MessageId::new_random(), MessageId::new_random());
    let inflight = Inflight::new(Some((conversation_id, question_id, answer_id)));
    state.answers().insert(answer_id, inflight.clone());
    let stored = state
        .store()
        .ask_in_conversation(
            conversation_id,
            question_id,
            answer_id,
            &request.question,
            state.chat_settings().stale_after,
        )
        .await;
    if let Err(error) = stored {
        state.answers().remove(answer_id);
        return Err(conversation_conflict(error));
    }
    let reader = start(&state, assistant, inflight.clone(), request, "content");
    Ok(respond(
        &state,
        &inflight,
        reader,
        wants_events(&headers),
        StatusCode::CREATED,
    )
    .await)
}

/// `GET /api/v1/conversations/{id}/messages/{mid}`.
pub async fn get_message(
    State(state): State<AppState>,
    ApiPath((id, mid)): ApiPath<(String, String)>,
) -> Result<Json<Message>, ApiError> {
    let conversation: ConversationId = parse_uuid(&id, "conversationId")?;
    let message: MessageId = parse_uuid(&mid, "messageId")?;
    Ok(Json(
        conversation_message(state.store(), conversation, message)
            .await?
            .into(),
    ))
}

/// `GET /api/v1/conversations/{id}/messages/{mid}/stream`: an answer's events after the
/// `Last-Event-ID` header's (all without it) while it is being written; its `done` document once
/// it has ended.
pub async fn stream_message(
    State(state): State<AppState>,
    ApiPath((id, mid)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let conversation: ConversationId = parse_uuid(&id, "conversationId")?;
    let message: MessageId = parse_uuid(&mid, "messageId")?;
    let after = match headers.get(LAST_EVENT_ID_HEADER) {
        None => 0,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::invalid_parameter("Last-Event-ID", "must be an event id (an integer)")
            })?,
    };
    // The registry first: an answer leaves it only once it is stored.
    let inflight = state.answers().get(message);
    let record = conversation_message(state.store(), conversation, message).await?;
    if record.role == MessageRole::User {
        return Err(ApiError::invalid_parameter(
            "messageId",
            format!("message {message} is a question; only answers stream"),
        ));
    }
    let events = wants_events(&headers);
    if let Some(inflight) = inflight {
        let reader = inflight.subscribe(after);
        return Ok(respond(&state, &inflight, reader, events, StatusCode::OK).await);
    }
    finished(&record, events)
}

/// The `done` document of a stored answer that has ended, as one event or as JSON.
fn finished(record: &MessageRecord, events: bool) -> Result<Response, ApiError> {
    let answer = dto_answer(record)?;
    let done = Done {
        conversation_id: Some(record.conversation_id.0),
        question_id: record.parent_id.map(|id| id.0),
        message_id: Some(record.id.0),
        answer,
    };
    if !events {
        return Ok(Json(done).into_response());
    }
    let data = serde_json::to_string(&done).map_err(|error| ApiError::internal(&error))?;
    let event = axum::response::sse::Event::default().event("done").data(data);
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(event) });
    Ok(axum::response::sse::Sse::new(stream).into_response())
}

fn dto_answer(record: &MessageRecord) -> Result<crate::dto::Answer, ApiError> {
    crate::dto::Answer::from_record(record).ok_or_else(|| ApiError::Conflict {
        parameter: Some("messageId"),
        detail: format!(
            "message {} is being written by another server instance, or its writer stopped; read it \
             again later",
            record.id
        ),
    })
}

/// `POST /api/v1/conversations/{id}/messages/{mid}/cancel`: stops an answer being written; answers
/// its `done` document (status `interrupted`) once it is stored, 202 if that takes too long.
pub async fn cancel_message(
    State(state): State<AppState>,
    ApiPath((id, mid)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let conversation: ConversationId = parse_uuid(&id, "conversationId")?;
    let message: MessageId = parse_uuid(&mid, "messageId")?;
    let inflight = state.answers().get(message);
    let record = conversation_message(state.store(), conversation, message).await?;
    let Some(inflight) = inflight else {
        let detail = match record.status {
            MessageStatus::Streaming => format!(
                "message {message} is being written by another server instance, or its writer stopped"
            ),
            status => format!(
                "message {message} is not being written (it is {})",
                status.as_str()
            ),
        };
        return Err(ApiError::Conflict {
            parameter: Some("messageId"),
            detail,
        });
    };
    inflight.cancel.cancel();
    match tokio::time::timeout(state.chat_settings().cancel_wait, inflight.outcome()).await {
        Ok(Outcome::Done(done)) => Ok(Json(*done).into_response()),
        Ok(Outcome::Failed(error)) => Err(error),
        Err(_) => Ok(StatusCode::ACCEPTED.into_response()),
    }
}

/// `POST /api/v1/conversations/{id}/messages/{mid}/regenerate`: another answer to the question
/// `mid` answers (or to `mid` itself, a question), with the history before it; earlier answers are
/// kept.
pub async fn regenerate_message(
    State(state): State<AppState>,
    ApiPath((id, mid)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let assistant = assistant(&state)?;
    let conversation_id: ConversationId = parse_uuid(&id, "conversationId")?;
    let message: MessageId = parse_uuid(&mid, "messageId")?;
    let record = conversation_message(state.store(), conversation_id, message).await?;
    let (conversation, messages) = state
        .store()
        .get_conversation_with_messages(conversation_id)
        .await?;
    let question_id = match record.role {
        MessageRole::User => record.id,
        MessageRole::Assistant => record.parent_id.ok_or(ApiError::Internal)?,
    };
    let question = messages
        .iter()
        .find(|m| m.id == question_id)
        .ok_or_else(|| ApiError::NotFound(format!("message {message} not found")))?;
    let request = AskRequest {
        question: question.content.clone(),
        history: history(&messages, Some(question_id)),
        repositories: conversation.repositories.clone(),
    };
    check_answerable(state.store(), &conversation).await?;
    request
        .validate()
        .map_err(|error| ApiError::from_assistant(error, "content"))?;

    let answer_id = MessageId::new_random();
    let inflight = Inflight::new(Some((conversation_id, question_id, answer_id)));
    state.answers().insert(answer_id, inflight.clone());
    let stored = state
        .store()
        .start_regeneration(
            conversation_id,
            question_id,
            answer_id,
            state.chat_settings().stale_after,
        )
        .await;
    if let Err(error) = stored {
        state.answers().remove(answer_id);
        return Err(conversation_conflict(error));
    }
    let reader = start(&state, assistant, inflight.clone(), request, "content");
    Ok(respond(
        &state,
        &inflight,
        reader,
        wants_events(&headers),
        StatusCode::CREATED,
    )
    .await)
}

/// `POST /api/v1/ask` `{question, repositories}`: one question, no conversation stored.
pub async fn ask(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AskBody>,
) -> Result<Response, ApiError> {
    let assistant = assistant(&state)?;
    let AskBody {
        question,
        repositories,
    } = body;
    let question = question.ok_or_else(|| ApiError::invalid_parameter("question", "is required"))?;
    let repositories = resolve_repositories(state.store(), repositories, "repositories").await?;
    let request = AskRequest::new(question.trim(), repositories);
    request
        .validate()
        .map_err(|error| ApiError::from_assistant(error, "question"))?;
    let inflight = Inflight::new(None);
    let reader = start(&state, assistant, inflight.clone(), request, "question");
    Ok(respond(&state, &inflight, reader, wants_events(&headers), StatusCode::OK).await)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use reposage_store::AnswerDetails;

    use super::*;

    fn message(
        id: MessageId,
        parent: Option<MessageId>,
        content: &str,
        status: MessageStatus,
    ) -> MessageRecord {
        MessageRecord {
            id,
            conversation_id: ConversationId::new_random(),
            parent_id: parent,
            role: if parent.is_some() {
                MessageRole::Assistant
            } else {
                MessageRole::User
            },
            content: content.into(),
            citations: vec![],
            mode: None,
            model: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            latency_ms: None,
            confidence: None,
            status,
            error: None,
            details: AnswerDetails::default(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn history_keeps_the_latest_complete_answer_of_each_earlier_question() {
        let ids: Vec<MessageId> = (0..7).map(|_| MessageId::new_random()).collect();
        let messages = vec![
            message(ids[0], None, "one?", MessageStatus::Complete),
            message(ids[1], Some(ids[0]), "first try", MessageStatus::Complete),
            message(ids[2], Some(ids[0]), "second try", MessageStatus::Complete),
            message(ids[3], Some(ids[0]), "third, cut", MessageStatus::Interrupted),
            message(ids[4], None, "two?", MessageStatus::Complete),
            message(ids[5], Some(ids[4]), "broke", MessageStatus::Failed),
            message(ids[6], None, "three?", MessageStatus::Complete),
        ];
        let turns = history(&messages, None);
        assert_eq!(
            turns,
            [Turn {
                question: "one?".into(),
                answer: "second try".into()
            }],
            "an exchange without a complete answer is left out"
        );
        assert!(history(&messages, Some(ids[0])).is_empty());
    }

    #[test]
    fn only_an_accept_header_naming_event_streams_asks_for_one() {
        let mut headers = HeaderMap::new();
        assert!(!wants_events(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_events(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("Text/Event-Stream, application/json;q=0.5"),
        );
        assert!(wants_events(&headers));
    }
}
