//! The OpenAI-compatible chat backend against an in-test server that streams scripted SSE
//! answers in the dialects of OpenAI, vLLM, Ollama and llama.cpp.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use reposage_llm::openai::{
    AzureDeployment, ContextWindowSource, DEFAULT_CONTEXT_WINDOW, OLLAMA_DEFAULT_NUM_CTX, OpenAiChat,
    OpenAiChatConfig,
};
use reposage_llm::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, Error, FinishReason, ToolCall, ToolSpec,
    Usage,
};
use serde_json::{Value, json};

/// The key the tests configure; it must show up in no error and no Debug output.
const KEY: &str = "test-key-3f9a1c7e5b2d8f6a4c0e";

/// Longest any scripted answer may take to be read, so that a bug hangs no test.
const TEST_DEADLINE: Duration = Duration::from_secs(30);

/// One step of a streamed answer's body.
#[derive(Debug, Clone)]
enum Step {
    /// `data: {json}` and a blank line.
    Data(String),
    /// Bytes as they are (`data: [DONE]`, comments, …).
    Raw(&'static str),
    /// A pause (which lets the server flush what it wrote), not a timing the test relies on.
    Pause(Duration),
    /// The connection breaks: the body ends with an error, so the chunked encoding is cut.
    Break,
    /// Nothing more, ever, with the connection open.
    Hang,
    /// This event, again and again, every interval, forever (a model still generating).
    Tick(String, Duration),
}

/// What the server answers to the next chat request.
#[derive(Debug, Clone)]
enum Reply {
    /// HTTP 200 with an event stream made of these steps (then the body ends).
    Sse(Vec<Step>),
    /// An error status with this body and these headers.
    Status(u16, Vec<(&'static str, &'static str)>, String),
    /// No answer at all, not even headers.
    Hang,
}

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Value,
}

struct ServerState {
    script: Mutex<VecDeque<Reply>>,
    /// Fixed JSON answers of the other endpoints (discovery), by method and path.
    routes: Mutex<HashMap<(Method, String), Value>>,
    seen: Mutex<Vec<Seen>>,
    /// When an answer's body was dropped by the server (its connection closed or it ended).
    dropped: tokio::sync::mpsc::UnboundedSender<Instant>,
}

struct TestServer {
    /// `http://127.0.0.1:port`.
    root: String,
    state: Arc<ServerState>,
    dropped: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Instant>>,
}

impl TestServer {
    async fn start(script: Vec<Reply>) -> Self {
        let (dropped, dropped_rx) = tokio::sync::mpsc::unbounded_channel();
        let state = Arc::new(ServerState {
            script: Mutex::new(script.into()),
            routes: Mutex::new(HashMap::new()),
            seen: Mutex::new(Vec::new()),
            dropped,
        });
        let app = axum::Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("test server runs");
        });
        Self {
            root: format!("http://{addr}"),
            state,
            dropped: tokio::sync::Mutex::new(dropped_rx),
        }
    }

    /// Serves `value` for `method path` (discovery endpoints).
    fn route(&self, method: Method, path: &str, value: Value) {
        self.state
            .routes
            .lock()
            .expect("lock")
            .insert((method, path.to_string()), value);
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("lock").clone()
    }

    /// The chat requests seen.
    fn chats(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|seen| seen.path.ends_with("/chat/completions"))
            .collect()
    }

    /// A config for this server with tiny backoffs and generous timeouts.
    fn config(&self) -> OpenAiChatConfig {
        OpenAiChatConfig {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10),
            ..OpenAiChatConfig::new(format!("{}/v1", self.root), "m")
        }
    }

    fn chat(&self) -> OpenAiChat {
        OpenAiChat::new(self.config()).expect("valid config")
    }

    /// Waits (at most the test deadline) for an answer body to be dropped by the server.
    async fn body_dropped(&self) -> Option<Instant> {
        let mut dropped = self.dropped.lock().await;
        tokio::time::timeout(TEST_DEADLINE, dropped.recv())
            .await
            .ok()
            .flatten()
    }
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    state.seen.lock().expect("lock").push(Seen {
        path: path.clone(),
        query: uri.query().map(String::from),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    if !path.ends_with("/chat/completions") {
        let route = state.routes.lock().expect("lock").get(&(method, path)).cloned();
        return match route {
            Some(value) => axum::Json(value).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let reply = state.script.lock().expect("lock").pop_front();
    match reply {
        None => (StatusCode::INTERNAL_SERVER_ERROR, "the test script ran out").into_response(),
        Some(Reply::Hang) => std::future::pending().await,
        Some(Reply::Status(status, extra, body)) => {
            let mut response = (
                StatusCode::from_u16(status).expect("a status"),
                [("content-type", "application/json")],
                body,
            )
                .into_response();
            for (name, value) in extra {
                response
                    .headers_mut()
                    .insert(name, value.parse().expect("a header value"));
            }
            response
        }
        Some(Reply::Sse(steps)) => Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(sse_body(steps, state.dropped.clone())))
            .expect("a response"),
    }
}

/// Tells the test when the server dropped an answer's body.
struct DropGuard(tokio::sync::mpsc::UnboundedSender<Instant>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        let _ = self.0.send(Instant::now());
    }
}

/// The body of a streamed answer.
fn sse_body(
    steps: Vec<Step>,
    dropped: tokio::sync::mpsc::UnboundedSender<Instant>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let state = (VecDeque::from(steps), DropGuard(dropped));
    futures::stream::unfold(state, |(mut steps, guard)| async move {
        let step = steps.pop_front()?;
        let item = match step {
            Step::Data(json) => Ok(Bytes::from(format!("data: {json}\n\n"))),
            Step::Raw(raw) => Ok(Bytes::from_static(raw.as_bytes())),
            Step::Pause(pause) => {
                tokio::time::sleep(pause).await;
                Ok(Bytes::new())
            }
            Step::Break => Err(std::io::Error::other("the test breaks the connection")),
            Step::Hang => std::future::pending().await,
            Step::Tick(json, every) => {
                tokio::time::sleep(every).await;
                steps.push_front(Step::Tick(json.clone(), every));
                Ok(Bytes::from(format!("data: {json}\n\n")))
            }
        };
        Some((item, (steps, guard)))
    })
}

/// A chunk of choice 0 with this delta and finish reason.
fn chunk(delta: Value, finish_reason: Option<&str>) -> Step {
    Step::Data(
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        })
        .to_string(),
    )
}

/// A text delta.
fn text(content: &str) -> Step {
    chunk(json!({"content": content}), None)
}

/// The first chunk OpenAI and vLLM send: the role, no text.
fn role() -> Step {
    chunk(json!({"role": "assistant", "content": ""}), None)
}

/// A chunk with only the finish reason (Ollama sends it alone).
fn finish(reason: &str) -> Step {
    chunk(json!({}), Some(reason))
}

/// OpenAI's usage chunk: no choices.
fn usage(prompt: u32, completion: u32) -> Step {
    Step::Data(
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        })
        .to_string(),
    )
}

fn done() -> Step {
    Step::Raw("data: [DONE]\n\n")
}

/// A complete plain answer "Hello".
fn hello() -> Reply {
    Reply::Sse(vec![role(), text("Hel"), text("lo"), finish("stop"), done()])
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::system("You answer questions about code."),
            ChatMessage::user("Where is main?"),
        ],
        tools: Vec::new(),
        max_output_tokens: 256,
        temperature: Some(0.25),
    }
}

fn search_tool() -> ToolSpec {
    ToolSpec {
        name: "search".into(),
        description: "Searches the repository.".into(),
        parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}}),
    }
}

/// Reads a stream to its end: the events, and the error that ended it, if any.
async fn drain(mut stream: ChatStream) -> (Vec<ChatEvent>, Option<Error>) {
    let mut events = Vec::new();
    let read = async {
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => events.push(event),
                Err(error) => {
                    assert!(stream.next().await.is_none(), "nothing follows an error");
                    return Some(error);
                }
            }
        }
        None
    };
    let error = tokio::time::timeout(TEST_DEADLINE, read)
        .await
        .expect("the stream ends in time");
    (events, error)
}

/// Asks `chat` once and reads the whole answer.
async fn ask(chat: &OpenAiChat, request: ChatRequest) -> Result<(Vec<ChatEvent>, Option<Error>), Error> {
    let stream = tokio::time::timeout(TEST_DEADLINE, chat.stream(request))
        .await
        .expect("the request ends in time")?;
    Ok(drain(stream).await)
}

fn delta(text: &str) -> ChatEvent {
    ChatEvent::Delta(text.into())
}

#[tokio::test]
async fn plain_text_arrives_in_several_deltas_then_usage_then_the_finish_reason() {
    let server = TestServer::start(vec![Reply::Sse(vec![
        role(),
        text("The "),
        text("entry point is "),
        text("`main`."),
        finish("stop"),
        usage(42, 7),
        done(),
    ])])
    .await;
    let (events, error) = ask(&server.chat(), request()).await.expect("an answer");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            delta("The "),
            delta("entry point is "),
            delta("`main`."),
            ChatEvent::Usage(Usage {
                prompt_tokens: 42,
                completion_tokens: 7
            }),
            ChatEvent::Finished(FinishReason::Stop),
        ]
    );
}

#[tokio::test]
async fn an_answer_without_usage_or_done_still_finishes() {
    // llama.cpp-like: the finish reason, then the body ends without a usage chunk or [DONE].
    let server = TestServer::start(vec![
        Reply::Sse(vec![text("a"), finish("stop"), done()]),
        Reply::Sse(vec![text("b"), finish("stop")]),
    ])
    .await;
    let chat = server.chat();
    let (events, error) = ask(&chat, request()).await.expect("an answer");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events, vec![delta("a"), ChatEvent::Finished(FinishReason::Stop)]);
    let (events, error) = ask(&chat, request()).await.expect("an answer");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events, vec![delta("b"), ChatEvent::Finished(FinishReason::Stop)]);
}

#[tokio::test]
async fn tool_call_fragments_interleaved_by_index_are_joined_vllm_style() {
    let call = |value: Value| chunk(json!({"tool_calls": [value]}), None);
    let server = TestServer::start(vec![Reply::Sse(vec![
        role(),
        call(json!({"index": 0, "id": "call_a", "type": "function", "function": {"name": "search", "arguments": ""}})),
        call(json!({"index": 0, "function": {"arguments": "{\"query\": "}})),
        call(json!({"index": 1, "id": "call_b", "type": "function", "function": {"name": "read_file", "arguments": "{\"pa"}})),
        call(json!({"index": 0, "function": {"arguments": "\"main\"}"}})),
        call(json!({"index": 1, "function": {"arguments": "th\": \"src/main.rs\"}"}})),
        finish("tool_calls"),
        usage(100, 30),
        done(),
    ])])
    .await;
    let request = ChatRequest {
        tools: vec![search_tool()],
        ..request()
    };
    let (events, error) = ask(&server.chat(), request).await.expect("an answer");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            ChatEvent::ToolCall(ToolCall {
                id: "call_a".into(),
                name: "search".into(),
                arguments: "{\"query\": \"main\"}".into(),
            }),
            ChatEvent::ToolCall(ToolCall {
                id: "call_b".into(),
                name: "read_file".into(),
                arguments: "{\"path\": \"src/main.rs\"}".into(),
            }),
            ChatEvent::Usage(Usage {
                prompt_tokens: 100,
                completion_tokens: 30
            }),
            ChatEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

#[tokio::test]
async fn whole_tool_calls_with_index_zero_or_none_are_separate_calls_ollama_style() {
    let server = TestServer::start(vec![
        // Every call claims index 0, each has its own id; the finish reason comes alone.
        Reply::Sse(vec![
            chunk(
                json!({"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_1", "index": 0, "type": "function", "function": {"name": "search", "arguments": "{\"query\":\"main\"}"}}
                ]}),
                None,
            ),
            chunk(
                json!({"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_2", "index": 0, "type": "function", "function": {"name": "search", "arguments": "{\"query\":\"init\"}"}}
                ]}),
                None,
            ),
            finish("tool_calls"),
            usage(10, 5),
            done(),
        ]),
        // No index and no id at all, both calls in one delta, then "stop".
        Reply::Sse(vec![
            chunk(
                json!({"tool_calls": [
                    {"function": {"name": "search", "arguments": "{\"query\":\"a\"}"}},
                    {"function": {"name": "search", "arguments": "{\"query\":\"b\"}"}}
                ]}),
                None,
            ),
            finish("stop"),
            done(),
        ]),
    ])
    .await;
    let chat = server.chat();
    let request = ChatRequest {
        tools: vec![search_tool()],
        ..request()
    };
    let (events, error) = ask(&chat, request.clone()).await.expect("an answer");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            ChatEvent::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "search".into(),
                arguments: "{\"query\":\"main\"}".into(),
            }),
            ChatEvent::ToolCall(ToolCall {
                id: "call_2".into(),
                name: "search".into(),
                arguments: "{\"query\":\"init\"}".into(),
            }),
            ChatEvent::Usage(Usage {
                prompt_tokens: 10,
                completion_tokens: 5
            }),
            ChatEvent::Finished(FinishReason::ToolCalls),
        ]
    );

    let (events, error) = ask(&chat, request).await.expect("an answer");
    assert!(error.is_none(), "{error:?}");
    let calls: Vec<&ToolCall> = events
        .iter()
        .filter_map(|event| match event {
            ChatEvent::ToolCall(call) => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2, "{events:?}");
    assert_eq!(calls[0].arguments, "{\"query\":\"a\"}");
    assert_eq!(calls[1].arguments, "{\"query\":\"b\"}");
    assert_ne!(calls[0].id, calls[1].id, "made-up ids differ");
    assert_eq!(events.last(), Some(&ChatEvent::Finished(FinishReason::Stop)));
}

#[tokio::test]
async fn finish_reason_length_says_the_answer_was_cut_short() {
    let server = TestServer::start(vec![Reply::Sse(vec![
        text("a long"),
        chunk(json!({"content": " answer"}), Some("length")),
        done(),
    ])])
    .await;
    let (events, error) = ask(&server.chat(), request()).await.expect("an answer");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            delta("a long"),
            delta(" answer"),
            ChatEvent::Finished(FinishReason::Length)
        ]
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_before_the_first_token() {
    let server = TestServer::start(vec![
        Reply::Status(
            429,
            vec![("retry-after", "0")],
            r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#
                .into(),
        ),
        hello(),
    ])
    .await;
    // A backoff of a minute: only the server's Retry-After of 0 lets this finish in time.
    let chat = OpenAiChat::new(OpenAiChatConfig {
        initial_backoff: Duration::from_secs(60),
        max_backoff: Duration::from_secs(60),
        ..server.config()
    })
    .expect("valid config");
    let (events, error) = ask(&chat, request()).await.expect("an answer after a retry");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events[..2], [delta("Hel"), delta("lo")]);
    assert_eq!(server.chats().len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_until_the_attempts_run_out() {
    let server = TestServer::start(vec![
        Reply::Status(500, vec![], "upstream exploded".into()),
        Reply::Status(502, vec![], "bad gateway".into()),
        Reply::Status(500, vec![], r#"{"error":{"message":"still exploding"}}"#.into()),
        hello(),
    ])
    .await;
    let chat = OpenAiChat::new(OpenAiChatConfig {
        max_retries: 2,
        ..server.config()
    })
    .expect("valid config");
    let error = ask(&chat, request()).await.expect_err("retries run out");
    assert!(
        matches!(&error, Error::ApiStatus { status: 500, attempts: 3, message } if message == "still exploding"),
        "{error:?}"
    );
    assert_eq!(server.chats().len(), 3);
}

#[tokio::test]
async fn a_disconnect_mid_stream_delivers_the_deltas_then_a_stream_error_without_retrying() {
    let server = TestServer::start(vec![
        Reply::Sse(vec![
            role(),
            text("Hel"),
            text("lo"),
            Step::Pause(Duration::from_millis(20)),
            Step::Break,
        ]),
        // A clean end of the body, but no finish reason.
        Reply::Sse(vec![text("Hel")]),
        hello(),
    ])
    .await;
    let chat = server.chat();
    let (events, error) = ask(&chat, request()).await.expect("the answer starts");
    assert_eq!(events, vec![delta("Hel"), delta("lo")]);
    assert!(matches!(error, Some(Error::Stream(_))), "{error:?}");
    let (events, error) = ask(&chat, request()).await.expect("the answer starts");
    assert_eq!(events, vec![delta("Hel")]);
    assert!(
        matches!(&error, Some(Error::Stream(message)) if message.contains("before the answer finished")),
        "{error:?}"
    );
    assert_eq!(server.chats().len(), 2, "nothing is retried after a token");
}

#[tokio::test]
async fn a_malformed_chunk_is_a_stream_error_naming_it() {
    let server = TestServer::start(vec![
        Reply::Sse(vec![
            text("ok"),
            Step::Raw("data: {\"choices\": [{\"delta\": \n\n"),
            text("never"),
        ]),
        Reply::Sse(vec![
            text("ok"),
            Step::Data(r#"{"choices": [{"index": 0, "delta": {"content": 5}}]}"#.into()),
        ]),
        Reply::Sse(vec![Step::Data(r#"{"choices": "none"}"#.into())]),
    ])
    .await;
    let chat = server.chat();
    let (events, error) = ask(&chat, request()).await.expect("the answer starts");
    assert_eq!(events, vec![delta("ok")]);
    assert!(
        matches!(&error, Some(Error::Stream(message)) if message.contains("malformed chunk #2")),
        "{error:?}"
    );
    let (events, error) = ask(&chat, request()).await.expect("the answer starts");
    assert_eq!(events, vec![delta("ok")]);
    assert!(
        matches!(&error, Some(Error::Stream(message)) if message.contains("malformed chunk #2")),
        "{error:?}"
    );
    // A malformed first chunk fails the request itself, and is not retried.
    let error = ask(&chat, request()).await.expect_err("no answer");
    assert!(
        matches!(&error, Error::Stream(message) if message.contains("malformed chunk #1")),
        "{error:?}"
    );
    assert_eq!(server.chats().len(), 3);
}

#[tokio::test]
async fn an_error_event_after_http_200_is_a_stream_error_with_its_message() {
    let server = TestServer::start(vec![
        Reply::Sse(vec![
            role(),
            text("partial"),
            Step::Data(
                json!({"error": {"message": "CUDA out of memory", "type": "InternalServerError", "code": 500}})
                    .to_string(),
            ),
            text("never"),
        ]),
        // vLLM's older shape, as the first event.
        Reply::Sse(vec![Step::Data(
            json!({"object": "error", "message": "engine dead", "type": "InternalServerError", "param": null, "code": 500})
                .to_string(),
        )]),
    ])
    .await;
    let chat = server.chat();
    let (events, error) = ask(&chat, request()).await.expect("the answer starts");
    assert_eq!(events, vec![delta("partial")]);
    assert!(
        matches!(&error, Some(Error::Stream(message)) if message.contains("CUDA out of memory")),
        "{error:?}"
    );
    let error = ask(&chat, request()).await.expect_err("no answer");
    assert!(
        matches!(&error, Error::Stream(message) if message.contains("engine dead")),
        "{error:?}"
    );
    assert_eq!(server.chats().len(), 2);
}

#[tokio::test]
async fn context_length_refusals_of_every_server_are_context_length_exceeded() {
    let bodies = [
        // OpenAI
        r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        // vLLM
        r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4744 in the messages, 256 in the completion).","type":"BadRequestError","param":null,"code":400}"#,
        // llama.cpp
        r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}"#,
    ];
    let server = TestServer::start(
        bodies
            .iter()
            .map(|body| Reply::Status(400, vec![], body.to_string()))
            .collect(),
    )
    .await;
    let chat = server.chat();
    for _ in bodies {
        let error = ask(&chat, request()).await.expect_err("refused");
        assert!(
            matches!(&error, Error::ContextLengthExceeded { message } if message.contains("context")),
            "{error:?}"
        );
    }
    assert_eq!(server.chats().len(), 3, "not retried");
}

#[tokio::test]
async fn a_refused_key_is_unauthorized_and_the_key_appears_in_no_error() {
    let echo =
        format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}.","code":"invalid_api_key"}}}}"#);
    let server = TestServer::start(vec![
        Reply::Status(401, vec![], echo.clone()),
        Reply::Status(403, vec![], echo.clone()),
        Reply::Status(400, vec![], echo.clone()),
        Reply::Sse(vec![
            text("x"),
            Step::Data(json!({"error": {"message": format!("key {KEY} revoked")}}).to_string()),
        ]),
    ])
    .await;
    let chat = OpenAiChat::new(OpenAiChatConfig {
        api_key: Some(KEY.into()),
        ..server.config()
    })
    .expect("valid config");
    let error = ask(&chat, request()).await.expect_err("refused");
    assert!(matches!(error, Error::Unauthorized { status: 401 }), "{error:?}");
    let error = ask(&chat, request()).await.expect_err("refused");
    assert!(matches!(error, Error::Unauthorized { status: 403 }), "{error:?}");
    let error = ask(&chat, request()).await.expect_err("refused");
    let Error::ApiStatus {
        status: 400,
        message,
        attempts: 1,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(
        message.starts_with("Incorrect API key provided: [REDACTED]"),
        "{message}"
    );
    assert!(!format!("{error} {error:?}").contains(KEY));
    let (_, error) = ask(&chat, request()).await.expect("the answer starts");
    let error = error.expect("an error event");
    assert!(!format!("{error} {error:?}").contains(KEY), "{error:?}");
    assert_eq!(server.chats().len(), 4, "a refused key is not retried");
    assert_eq!(
        server.chats()[0].headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
}

#[tokio::test]
async fn an_unknown_model_is_model_not_found() {
    let server = TestServer::start(vec![Reply::Status(
        404,
        vec![],
        r#"{"error":{"message":"model \"m\" not found, try pulling it first","type":"api_error"}}"#.into(),
    )])
    .await;
    let error = ask(&server.chat(), request()).await.expect_err("refused");
    assert!(
        matches!(&error, Error::ModelNotFound { model } if model == "m"),
        "{error:?}"
    );
}

#[tokio::test]
async fn azure_requests_go_to_the_deployment_with_the_api_key_header() {
    let server = TestServer::start(vec![hello()]).await;
    let mut chat = OpenAiChat::new(OpenAiChatConfig {
        api_key: Some(format!("{KEY}\n")),
        azure: Some(AzureDeployment {
            deployment: "gpt4o-prod".into(),
            api_version: "2024-10-21".into(),
        }),
        ..OpenAiChatConfig {
            base_url: server.root.clone(),
            ..server.config()
        }
    })
    .expect("valid config");
    assert_eq!(chat.info().provider, "azure");
    // Azure does not tell the context window: nothing is asked.
    assert_eq!(chat.discover().await, ContextWindowSource::Default);
    let (events, error) = ask(&chat, request()).await.expect("an answer");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events.last(), Some(&ChatEvent::Finished(FinishReason::Stop)));
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/openai/deployments/gpt4o-prod/chat/completions");
    assert_eq!(seen[0].query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(seen[0].headers["api-key"], KEY);
    assert!(seen[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output() {
    let config = OpenAiChatConfig {
        api_key: Some(KEY.into()),
        ..OpenAiChatConfig::new("https://user:password@example.com/v1", "gpt-4o-mini")
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains(KEY) && !shown.contains("password"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let chat = OpenAiChat::new(config).expect("valid config");
    let shown = format!("{chat:?}");
    assert!(!shown.contains(KEY) && !shown.contains("password"), "{shown}");
    assert!(shown.contains("gpt-4o-mini"), "{shown}");
}

#[tokio::test]
async fn the_request_asks_for_usage_and_carries_limits_and_tools_only_when_given() {
    let server = TestServer::start(vec![hello(), hello(), hello()]).await;
    let chat = server.chat();
    let with_tools = ChatRequest {
        tools: vec![search_tool()],
        ..request()
    };
    ask(&chat, with_tools.clone()).await.expect("an answer");
    ask(
        &chat,
        ChatRequest {
            temperature: None,
            ..request()
        },
    )
    .await
    .expect("an answer");
    let without_tool_support = OpenAiChat::new(OpenAiChatConfig {
        supports_tools: false,
        ..server.config()
    })
    .expect("valid config");
    ask(&without_tool_support, with_tools).await.expect("an answer");

    let chats = server.chats();
    assert_eq!(chats.len(), 3);
    let body = &chats[0].body;
    assert_eq!(chats[0].path, "/v1/chat/completions");
    assert_eq!(body["model"], "m");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["temperature"], 0.25);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You answer questions about code."},
            {"role": "user", "content": "Where is main?"},
        ])
    );
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {
            "name": "search",
            "description": "Searches the repository.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        }}])
    );
    assert_eq!(body["tool_choice"], "auto");
    assert!(
        chats[0].headers.get("authorization").is_none(),
        "no key, no credentials"
    );

    let plain = &chats[1].body;
    for absent in ["tools", "tool_choice", "temperature", "max_completion_tokens"] {
        assert!(plain.get(absent).is_none(), "{absent} in {plain}");
    }
    assert_eq!(plain["stream_options"]["include_usage"], true);
    let no_support = &chats[2].body;
    assert!(no_support.get("tools").is_none() && no_support.get("tool_choice").is_none());
}

#[tokio::test]
async fn a_tool_conversation_is_sent_back_with_its_calls_and_results() {
    let server = TestServer::start(vec![hello()]).await;
    let call = ToolCall {
        id: "call_1".into(),
        name: "search".into(),
        arguments: "{\"query\":\"main\"}".into(),
    };
    let request = ChatRequest {
        messages: vec![
            ChatMessage::user("Where is main?"),
            ChatMessage {
                tool_calls: vec![call],
                ..ChatMessage::assistant("")
            },
            ChatMessage::tool_result("call_1", "src/main.rs:1"),
        ],
        tools: vec![search_tool()],
        ..request()
    };
    ask(&server.chat(), request).await.expect("an answer");
    assert_eq!(
        server.chats()[0].body["messages"],
        json!([
            {"role": "user", "content": "Where is main?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"query\":\"main\"}"}}
            ]},
            {"role": "tool", "content": "src/main.rs:1", "tool_call_id": "call_1"},
        ])
    );
}

#[tokio::test]
async fn a_model_refusing_max_tokens_is_sent_max_completion_tokens_from_then_on() {
    let server = TestServer::start(vec![
        Reply::Status(
            400,
            vec![],
            r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#.into(),
        ),
        hello(),
        hello(),
    ])
    .await;
    let chat = server.chat();
    ask(&chat, request()).await.expect("an answer");
    ask(&chat, request()).await.expect("an answer");
    let chats = server.chats();
    assert_eq!(chats.len(), 3);
    assert_eq!(chats[0].body["max_tokens"], 256);
    for later in &chats[1..] {
        assert_eq!(later.body["max_completion_tokens"], 256);
        assert!(later.body.get("max_tokens").is_none());
    }
}

#[tokio::test]
async fn a_request_hanging_before_its_first_byte_times_out_and_is_retried() {
    // Every attempt hangs: before the headers, after the headers, before the headers again. The
    // test waits for the timeouts and counts the attempts, whatever the machine's speed.
    let server = TestServer::start(vec![
        Reply::Hang,
        Reply::Sse(vec![Step::Hang]),
        Reply::Hang,
        hello(),
    ])
    .await;
    let chat = OpenAiChat::new(OpenAiChatConfig {
        timeout: Duration::from_millis(300),
        max_retries: 2,
        ..server.config()
    })
    .expect("valid config");
    let error = ask(&chat, request()).await.expect_err("every attempt times out");
    assert!(
        matches!(&error, Error::Unreachable { attempts: 3, message } if message.contains("no answer within 300 ms")),
        "{error:?}"
    );
    assert_eq!(server.chats().len(), 3);
}

#[tokio::test]
async fn silence_mid_answer_ends_the_stream_after_the_idle_timeout() {
    let server = TestServer::start(vec![Reply::Sse(vec![text("Hel"), Step::Hang])]).await;
    let chat = OpenAiChat::new(OpenAiChatConfig {
        idle_timeout: Duration::from_millis(200),
        ..server.config()
    })
    .expect("valid config");
    let (events, error) = ask(&chat, request()).await.expect("the answer starts");
    assert_eq!(events, vec![delta("Hel")]);
    assert!(
        matches!(&error, Some(Error::Stream(message)) if message.contains("no data")),
        "{error:?}"
    );
    assert!(server.body_dropped().await.is_some(), "the connection was closed");
}

/// Drops a stream after two deltas and returns how long the server took to notice.
async fn time_to_close(server: &TestServer) -> Duration {
    let mut stream = server.chat().stream(request()).await.expect("the answer starts");
    for _ in 0..2 {
        let event = tokio::time::timeout(TEST_DEADLINE, stream.next())
            .await
            .expect("a delta in time");
        assert!(matches!(event, Some(Ok(ChatEvent::Delta(_)))), "{event:?}");
    }
    assert!(
        server.dropped.lock().await.try_recv().is_err(),
        "the answer is still open before the drop"
    );
    let dropped_at = Instant::now();
    drop(stream);
    let closed_at = server
        .body_dropped()
        .await
        .expect("the server sees the connection closed");
    closed_at.saturating_duration_since(dropped_at)
}

#[tokio::test]
async fn dropping_the_stream_mid_answer_closes_the_connection() {
    // A model still generating: a delta every 20 ms, forever.
    let generating = TestServer::start(vec![Reply::Sse(vec![
        text("a"),
        Step::Tick(
            json!({"choices": [{"index": 0, "delta": {"content": "b"}}]}).to_string(),
            Duration::from_millis(20),
        ),
    ])])
    .await;
    let elapsed = time_to_close(&generating).await;
    eprintln!("generating server saw the connection closed {elapsed:?} after the drop");

    // A server that went silent (still reading a prompt, say): nothing is written that could
    // fail, so only the client closing the connection ends the answer.
    let silent = TestServer::start(vec![Reply::Sse(vec![text("a"), text("b"), Step::Hang])]).await;
    let elapsed = time_to_close(&silent).await;
    eprintln!("silent server saw the connection closed {elapsed:?} after the drop");
}

/// Ollama's `/api/show` for a qwen2 model trained for 32768 tokens.
fn ollama_show(parameters: &str, capabilities: &[&str]) -> Value {
    json!({
        "modelfile": "FROM qwen2.5",
        "parameters": parameters,
        "template": "{{ .Prompt }}",
        "details": {"family": "qwen2", "parameter_size": "7.6B"},
        "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768, "qwen2.embedding_length": 3584},
        "capabilities": capabilities,
    })
}

/// Ollama's `/v1/models`: no lengths.
fn ollama_models() -> Value {
    json!({"object": "list", "data": [{"id": "m", "object": "model", "created": 1, "owned_by": "library"}]})
}

#[tokio::test]
async fn ollama_context_is_its_num_ctx_when_the_modelfile_sets_it() {
    let server = TestServer::start(vec![]).await;
    server.route(Method::GET, "/v1/models", ollama_models());
    server.route(
        Method::POST,
        "/api/show",
        ollama_show(
            "num_ctx                        16384\nstop \"<|im_end|>\"",
            &["completion", "tools"],
        ),
    );
    let chat = OpenAiChat::connect(server.config()).await.expect("valid config");
    assert_eq!(chat.info().context_window, 16384);
    assert_eq!(chat.context_window_source(), ContextWindowSource::OllamaNumCtx);
    assert!(chat.info().supports_tools);
    let show = server
        .seen()
        .into_iter()
        .find(|seen| seen.path == "/api/show")
        .expect("/api/show asked");
    assert_eq!(show.body, json!({"model": "m"}));
}

#[tokio::test]
async fn ollama_without_num_ctx_is_what_the_loaded_model_runs_with_or_the_default() {
    // Loaded: /api/ps tells (the name carries Ollama's :latest tag).
    let server = TestServer::start(vec![]).await;
    server.route(
        Method::POST,
        "/api/show",
        ollama_show("stop \"<|im_end|>\"", &["completion"]),
    );
    server.route(
        Method::GET,
        "/api/ps",
        json!({"models": [{"name": "m:latest", "model": "m:latest", "context_length": 8192}]}),
    );
    let chat = OpenAiChat::connect(server.config()).await.expect("valid config");
    assert_eq!(chat.info().context_window, 8192);
    assert_eq!(chat.context_window_source(), ContextWindowSource::OllamaLoaded);
    assert!(!chat.info().supports_tools, "the capabilities lack tools");

    // Not loaded: Ollama's default, or the configured window capped at the trained length.
    let server = TestServer::start(vec![]).await;
    server.route(
        Method::POST,
        "/api/show",
        ollama_show("", &["completion", "tools"]),
    );
    server.route(Method::GET, "/api/ps", json!({"models": []}));
    let chat = OpenAiChat::connect(server.config()).await.expect("valid config");
    assert_eq!(chat.info().context_window, OLLAMA_DEFAULT_NUM_CTX);
    assert_eq!(chat.context_window_source(), ContextWindowSource::OllamaDefault);
    let chat = OpenAiChat::connect(OpenAiChatConfig {
        context_window: Some(65536),
        ..server.config()
    })
    .await
    .expect("valid config");
    assert_eq!(chat.info().context_window, 32768);
}

#[tokio::test]
async fn vllm_context_is_the_models_max_model_len() {
    let server = TestServer::start(vec![]).await;
    server.route(
        Method::GET,
        "/v1/models",
        json!({"object": "list", "data": [
            {"id": "other", "object": "model", "max_model_len": 1024},
            {"id": "m", "object": "model", "root": "Qwen/Qwen2.5-7B-Instruct", "max_model_len": 24576},
        ]}),
    );
    let chat = OpenAiChat::connect(server.config()).await.expect("valid config");
    assert_eq!(chat.info().context_window, 24576);
    assert_eq!(chat.context_window_source(), ContextWindowSource::Vllm);
}

#[tokio::test]
async fn llama_cpp_context_is_the_slots_n_ctx() {
    let server = TestServer::start(vec![]).await;
    server.route(
        Method::GET,
        "/props",
        json!({"default_generation_settings": {"n_ctx": 6144, "params": {"n_predict": -1}}, "total_slots": 2}),
    );
    // llama.cpp also answers Ollama's /api/show, with its training length: not what counts.
    server.route(
        Method::POST,
        "/api/show",
        json!({"model_info": {"llama.context_length": 131072}, "capabilities": ["completion"]}),
    );
    let chat = OpenAiChat::connect(server.config()).await.expect("valid config");
    assert_eq!(chat.info().context_window, 6144);
    assert_eq!(chat.context_window_source(), ContextWindowSource::LlamaCpp);
}

#[tokio::test]
async fn a_server_that_does_not_tell_leaves_the_configured_or_default_window() {
    let server = TestServer::start(vec![]).await;
    server.route(Method::GET, "/v1/models", ollama_models());
    let mut chat = server.chat();
    assert_eq!(chat.discover().await, ContextWindowSource::Default);
    assert_eq!(chat.info().context_window, DEFAULT_CONTEXT_WINDOW);
    let mut chat = OpenAiChat::new(OpenAiChatConfig {
        context_window: Some(12000),
        ..server.config()
    })
    .expect("valid config");
    assert_eq!(chat.discover().await, ContextWindowSource::Configured);
    assert_eq!(chat.info().context_window, 12000);

    // Nothing listening at all: still no error.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let chat = OpenAiChat::connect(OpenAiChatConfig::new(format!("http://{closed}/v1"), "m"))
        .await
        .expect("valid config");
    assert_eq!(chat.context_window_source(), ContextWindowSource::Default);
}
