//! The assistant over the real OpenAI-compatible client (`reposage_llm::openai`) against an
//! in-test HTTP server, for what a scripted model cannot show: how the real client reports an
//! endpoint's refusal, and that the assistant understands it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reposage_assistant::{AnswerMode, AnswerStatus, AskRequest, AssistantSettings};
use reposage_llm::ChatModel;
use reposage_llm::openai::{OpenAiChat, OpenAiChatConfig};
use reposage_store::Store;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{ask, assistant, fixture, index, streamed_text};

/// What a server that takes no tool definitions answers a request carrying `tools` (llama.cpp,
/// older vLLM and Ollama models word it much like this).
const NO_TOOLS: &str =
    r#"{"error":{"message":"tools are not supported by this model","type":"invalid_request_error"}}"#;

/// The plain answer streamed to a request without tools.
const ANSWER: &str = "Retries are handled in `backoff_send` [1].";

/// The request bodies the server saw, in order.
type Seen = Arc<Mutex<Vec<Value>>>;

/// An OpenAI-compatible chat endpoint that refuses tool definitions with HTTP 400 and streams
/// [`ANSWER`] to any request without them.
async fn refuses_tools(State(seen): State<Seen>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).expect("a JSON request");
    let offers_tools = body.get("tools").is_some();
    seen.lock().unwrap().push(body);
    if offers_tools {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            NO_TOOLS,
        )
            .into_response();
    }
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    };
    let usage = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": 200, "completion_tokens": 12, "total_tokens": 212},
    });
    let (first, rest) = ANSWER.split_at(ANSWER.find('[').unwrap() + 1);
    let events = [
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": first}), None),
        chunk(json!({"content": rest}), None),
        chunk(json!({}), Some("stop")),
        usage,
    ];
    let mut sse: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    sse.push_str("data: [DONE]\n\n");
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(sse))
        .unwrap()
}

/// Serves [`refuses_tools`] on a free local port; its base URL (`…/v1`) and what it saw.
async fn serve_refusing_tools() -> (String, Seen) {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(refuses_tools))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/v1"), seen)
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_endpoint_refusing_tool_definitions_gets_a_one_shot_answer_that_keeps_its_citation(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let (base_url, seen) = serve_refusing_tools().await;
    let model = OpenAiChat::new(OpenAiChatConfig {
        supports_tools: true,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        timeout: Duration::from_secs(10),
        ..OpenAiChatConfig::new(base_url, "m")
    })
    .expect("a valid config");
    assert!(model.info().supports_tools, "the client offers tools");
    let assistant = assistant(&store, Some(Arc::new(model)), AssistantSettings::default());

    let (answer, events) = ask(
        &assistant,
        &AskRequest::new("where are HTTP retries handled", vec![summary.repository_id]),
    )
    .await;

    assert_eq!(answer.status, AnswerStatus::Complete, "{:?}", answer.error);
    assert_eq!(answer.mode, AnswerMode::Retrieval, "the one-shot mode ran");
    let fallback = answer
        .fallback
        .as_deref()
        .expect("the answer says why it fell back");
    assert!(
        fallback.contains("refused tool definitions") && fallback.contains("tools are not supported"),
        "{fallback}"
    );
    assert_eq!(answer.model.as_deref(), Some("m"));
    assert_eq!(answer.text, ANSWER, "the citation survives verification");
    assert_eq!(streamed_text(&events), answer.text);
    assert_eq!(answer.citations.len(), 1);
    let citation = &answer.citations[0];
    assert_eq!(citation.id, 1);
    assert_eq!(citation.path, "src/net/client.rs");
    assert_eq!(citation.commit_sha, summary.commit);
    assert_eq!(answer.rejected_citations.total(), 0);
    assert_eq!(
        (answer.usage.prompt_tokens, answer.usage.completion_tokens),
        (200, 12),
        "only the answered request reports usage"
    );

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        2,
        "one refused request, one retried without tools: {seen:#?}"
    );
    assert!(seen[0]["tools"].as_array().is_some_and(|t| !t.is_empty()));
    assert!(seen[1].get("tools").is_none() && seen[1].get("tool_choice").is_none());
}
