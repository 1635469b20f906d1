//! The assistant's routes over a real index (a git fixture indexed by the pipeline, embedded with
//! the real all-MiniLM-L6-v2 weights) with a scripted chat model, served on a TCP port and read
//! with a real SSE parser (`eventsource-stream` over reqwest's byte stream).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use reposage_api_server::{AppState, ChatSettings, app};
use reposage_assistant::{Assistant, AssistantSettings};
use reposage_llm::openai::{OpenAiChat, OpenAiChatConfig};
use reposage_llm::{ChatEvent, ChatModel, FinishReason, Role, Usage};
use reposage_pipeline::{
    EmbeddingStage, IndexRequest, IndexSummary, NoProgress, SharedTokenCounter, run_index,
};
use reposage_retrieval::embed::local::LocalEmbedder;
use reposage_retrieval::vector::embedded::EmbeddedStore;
use reposage_retrieval::{SearchParams, Searcher};
use reposage_store::Store;
use reposage_testkit::chat::{ScriptedModel, Step, hanging_reply, text_reply};
use reposage_testkit::samples::{CLIENT_RS, PARSER_PY, POOL_GO, embedding_model_dir};
use reposage_testkit::{Entry, GitFixture};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{post_json, seed_repository};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const RETRY_QUESTION: &str = "where are HTTP retries handled";

/// The reply of the citation tests: two verifiable citations, one unknown item, one unknown path.
const CITING_REPLY: [&str; 3] = [
    "Retries happen in `backoff_send` [",
    "1]. It doubles the delay each time [1:7-8]. ",
    "It also retries forever [42]. See [src/nowhere.rs:1-3].",
];

/// What [`CITING_REPLY`] comes to once its citations are verified and renumbered.
const CITING_TEXT: &str = "Retries happen in `backoff_send` [1]. It doubles the delay each time [2]. It also retries forever . See .";

/// The local embedding model, loaded once per test binary.
fn embedder() -> LocalEmbedder {
    static MODEL: OnceLock<LocalEmbedder> = OnceLock::new();
    MODEL
        .get_or_init(|| LocalEmbedder::load(embedding_model_dir()).expect("loading the embedding model"))
        .clone()
}

/// A repository with a README, a Rust client with retries, a Python parser and a Go pool, indexed
/// as `local/svc` by the pipeline with the local embedder.
async fn index(store: &Store) -> IndexSummary {
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "initial",
        &[
            (
                "README.md",
                Entry::text("# Demo service\n\nA small demo.\n\n## Running\n\nRun `cargo run`.\n"),
            ),
            ("src/net/client.rs", Entry::text(CLIENT_RS)),
            ("tools/parser.py", Entry::text(PARSER_PY)),
            ("db/pool.go", Entry::text(POOL_GO)),
        ],
    );
    let model = embedder();
    let request = IndexRequest {
        parse_timeout: Duration::from_secs(10),
        token_counter: SharedTokenCounter(Arc::new(model.token_counter())),
        embedding: Some(EmbeddingStage {
            embedder: Arc::new(model),
            vectors: Arc::new(EmbeddedStore::new(store.clone())),
            batch_size: 16,
        }),
        ..IndexRequest::local(fixture.path(), "local", "svc")
    };
    run_index(store, request, Arc::new(NoProgress))
        .await
        .expect("index run")
}

/// Settings that make the tests quick: a short resume grace, frequent checkpoints.
fn quick() -> ChatSettings {
    ChatSettings {
        resume_grace: Duration::from_millis(200),
        checkpoint_interval: Duration::from_millis(50),
        ..ChatSettings::default()
    }
}

/// An indexed repository, a chat model (scripted, unless a test brings its own) and the API
/// serving them on a TCP port.
struct Chat {
    state: AppState,
    store: Store,
    summary: IndexSummary,
    scripted: Option<Arc<ScriptedModel>>,
    base: String,
    http: reqwest::Client,
}

impl Chat {
    /// The API answering with a [`ScriptedModel`] replaying `replies`.
    async fn new(pool: PgPool, replies: Vec<Vec<Step>>, settings: ChatSettings) -> Chat {
        let model = ScriptedModel::new(replies);
        let mut chat = Chat::with_model(pool, model.clone(), settings).await;
        chat.scripted = Some(model);
        chat
    }

    /// The API answering with `model`.
    async fn with_model(pool: PgPool, model: Arc<dyn ChatModel>, settings: ChatSettings) -> Chat {
        let store = Store::from_pool(pool);
        let summary = index(&store).await;
        let searcher = Searcher::new(
            store.clone(),
            Some((Arc::new(embedder()), Arc::new(EmbeddedStore::new(store.clone())))),
            SearchParams::default(),
        );
        let assistant = Assistant::new(
            store.clone(),
            searcher.clone(),
            Some(model),
            AssistantSettings::default(),
        );
        let state = AppState::new(store.clone())
            .with_searcher(searcher)
            .with_assistant(assistant)
            .with_chat_settings(settings);
        Chat {
            base: serve(state.clone()).await,
            state,
            store,
            summary,
            scripted: None,
            http: http_client(),
        }
    }

    /// The scripted model of a [`Chat::new`] API.
    fn model(&self) -> &ScriptedModel {
        self.scripted
            .as_deref()
            .expect("the API answers with a scripted model")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, body: &Value) -> (reqwest::StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("accept", "application/json")
            .json(body)
            .send()
            .await
            .expect("a response");
        let status = response.status();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self.http.get(self.url(path)).send().await.expect("a response");
        let status = response.status();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Creates a conversation over the indexed repository; its id.
    async fn conversation(&self) -> String {
        let (status, body) = self
            .post("/api/v1/conversations", &json!({"repositories": ["local/svc"]}))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// Asks [`RETRY_QUESTION`] in `conversation` as an event stream; with the new message's id
    /// (the `x-message-id` header).
    async fn ask_streaming(&self, conversation: &str) -> (Events, String) {
        let stream = self
            .events(
                &format!("/api/v1/conversations/{conversation}/messages"),
                Some(&json!({"content": RETRY_QUESTION})),
                None,
            )
            .await;
        let message = stream.message_id.clone().expect("the x-message-id header");
        (stream, message)
    }

    /// Opens an event stream with a POST of `body` (or a GET without one).
    async fn events(&self, path: &str, body: Option<&Value>, last_event_id: Option<u64>) -> Events {
        let request = match body {
            Some(body) => self.http.post(self.url(path)).json(body),
            None => self.http.get(self.url(path)),
        };
        let mut request = request.header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("a response");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let message_id = header("x-message-id");
        let question_id = header("x-question-id");
        Events {
            message_id,
            question_id,
            stream: Box::pin(response.bytes_stream().eventsource()),
        }
    }

    async fn message(&self, conversation: &str, message: &str) -> Value {
        let (status, body) = self
            .get(&format!(
                "/api/v1/conversations/{conversation}/messages/{message}"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits until the stored answer is no longer streaming; returns it.
    async fn settled(&self, conversation: &str, message: &str) -> Value {
        for _ in 0..400 {
            let body = self.message(conversation, message).await;
            if body["status"] != "streaming" {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("message {message} is still streaming");
    }

    /// Rows of the conversation tables.
    async fn rows(&self) -> [i64; 3] {
        let mut counts = [0; 3];
        for (count, query) in counts.iter_mut().zip([
            "SELECT COUNT(*) FROM conversations",
            "SELECT COUNT(*) FROM conversation_repositories",
            "SELECT COUNT(*) FROM messages",
        ]) {
            *count = sqlx::query_scalar(query)
                .fetch_one(self.store.pool())
                .await
                .expect("count");
        }
        counts
    }

    async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("an HTTP client")
}

/// Serves the router on a free local port; its base URL.
async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    format!("http://{address}")
}

/// One event read from a stream.
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    event: String,
    id: String,
    data: Value,
}

type EventStream = Pin<
    Box<
        dyn Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// An open event stream.
struct Events {
    message_id: Option<String>,
    question_id: Option<String>,
    stream: EventStream,
}

impl Events {
    async fn next(&mut self) -> Option<Sse> {
        let event = tokio::time::timeout(Duration::from_secs(30), self.stream.next())
            .await
            .expect("an event within 30 s")?
            .expect("a well-formed event");
        Some(Sse {
            data: serde_json::from_str(&event.data)
                .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {}", event.data)),
            event: event.event,
            id: event.id,
        })
    }

    /// Reads until an event named `name`; every event read, that one last.
    async fn until(&mut self, name: &str) -> Vec<Sse> {
        let mut seen = Vec::new();
        while let Some(event) = self.next().await {
            let last = event.event == name;
            seen.push(event);
            if last {
                return seen;
            }
        }
        panic!("the stream ended before a `{name}` event: {seen:?}");
    }

    /// Every event until the stream ends.
    async fn all(mut self) -> Vec<Sse> {
        let mut seen = Vec::new();
        while let Some(event) = self.next().await {
            seen.push(event);
        }
        seen
    }
}

/// Asserts a stored answer's document is the live one (timings within float rounding: they go
/// through JSON in the database).
#[track_caller]
fn assert_same_done(stored: &Value, live: &Value) {
    let without_timings = |done: &Value| {
        let mut done = done.clone();
        done.as_object_mut().unwrap().remove("timings");
        done
    };
    assert_eq!(
        without_timings(stored),
        without_timings(live),
        "a finished answer reads back as it was"
    );
    for timing in ["contextMs", "firstTokenMs", "totalMs"] {
        let (a, b) = (&stored["timings"][timing], &live["timings"][timing]);
        assert!(
            a.as_f64()
                .zip(b.as_f64())
                .is_some_and(|(a, b)| (a - b).abs() < 1e-6)
                || a == b,
            "{timing}: {a} vs {b}"
        );
    }
}

fn names(events: &[Sse]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

fn streamed_text(events: &[Sse]) -> String {
    events
        .iter()
        .filter(|e| e.event == "delta")
        .map(|e| e.data["text"].as_str().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_answer_streams_context_deltas_citations_usage_then_done_with_increasing_ids(pool: PgPool) {
    let chat = Chat::new(pool, vec![text_reply(&CITING_REPLY)], quick()).await;
    let conversation = chat.conversation().await;
    let (stream, message_id) = chat.ask_streaming(&conversation).await;
    let question_id = stream.question_id.clone().expect("the x-question-id header");
    let events = stream.all().await;

    let ids: Vec<u64> = events.iter().map(|e| e.id.parse().unwrap()).collect();
    assert_eq!(
        ids,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "ids count up from 1"
    );
    let names = names(&events);
    assert_eq!(names[0], "context", "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "usage").count(), 1, "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "citation").count(), 2, "{names:?}");
    assert!(
        names[1..names.len() - 1]
            .iter()
            .all(|n| ["delta", "citation", "usage"].contains(n)),
        "{names:?}"
    );
    let first_delta = names.iter().position(|n| *n == "delta").unwrap();
    let first_citation = names.iter().position(|n| *n == "citation").unwrap();
    assert!(
        first_delta < first_citation,
        "a citation follows its sentence: {names:?}"
    );

    let items = &events[0].data["items"];
    assert_eq!(items[0]["path"], "src/net/client.rs", "{items}");
    assert_eq!(items[0]["number"], 1);
    assert_eq!(items[0]["commitSha"], chat.summary.commit.as_str());
    assert_eq!(items[0]["foundBy"]["by"], "search");
    assert!(items[0]["score"].as_f64().unwrap() > 0.0);
    let citation = &events[first_citation].data;
    assert_eq!(citation["path"], "src/net/client.rs");
    assert_eq!(citation["repository"], "local/svc");
    assert_eq!(citation["commitSha"], chat.summary.commit.as_str());
    let usage = &events.iter().find(|e| e.event == "usage").unwrap().data;
    assert_eq!(usage, &json!({"promptTokens": 100, "completionTokens": 10}));

    let done = &events.last().unwrap().data;
    assert_eq!(done["messageId"], message_id.as_str());
    assert_eq!(done["questionId"], question_id.as_str());
    assert_eq!(done["conversationId"], conversation.as_str());
    assert_eq!(done["text"], CITING_TEXT);
    assert_eq!(
        streamed_text(&events),
        CITING_TEXT,
        "the deltas make the final text"
    );
    assert_eq!(done["status"], "complete");
    assert_eq!(done["mode"], "retrieval");
    assert_eq!(done["model"], "scripted");
    assert_eq!(done["citations"].as_array().unwrap().len(), 2);
    assert_eq!(
        done["rejectedCitations"],
        json!({"notGiven": 1, "outOfRange": 0, "unknownPath": 1})
    );
    let confidence = done["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0, "{confidence}");
    assert!(
        done["timings"]["firstTokenMs"].as_f64().unwrap() <= done["timings"]["totalMs"].as_f64().unwrap()
    );

    let stored = chat.settled(&conversation, &message_id).await;
    assert_eq!(stored["status"], "complete");
    assert_eq!(stored["content"], CITING_TEXT);
    assert_eq!(stored["parentId"], question_id.as_str());
    assert_eq!(stored["citations"], done["citations"]);
    assert_eq!(stored["mode"], "retrieval");
    assert_eq!(stored["model"], "scripted");
    assert_eq!(
        stored["usage"],
        json!({"promptTokens": 100, "completionTokens": 10})
    );
    assert_eq!(stored["confidence"].as_f64().unwrap(), confidence);
    assert!(stored["latencyMs"].as_f64().unwrap() > 0.0);
    let question = chat.message(&conversation, &question_id).await;
    assert_eq!(
        (question["role"].as_str(), question["content"].as_str()),
        (Some("user"), Some(RETRY_QUESTION))
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_event_stream_is_framed_as_sse_with_keep_alive_comments(pool: PgPool) {
    let settings = ChatSettings {
        keep_alive: Duration::from_millis(50),
        ..quick()
    };
    let reply = vec![
        Step::Event(ChatEvent::Delta("Retries happen in `backoff_send`.".into())),
        Step::Pause(Duration::from_millis(400)),
        Step::Event(ChatEvent::Finished(FinishReason::Stop)),
    ];
    let chat = Chat::new(pool, vec![reply], settings).await;
    let response = chat
        .http
        .post(chat.url("/api/v1/ask"))
        .header("accept", "text/event-stream")
        .json(&json!({"question": RETRY_QUESTION, "repositories": ["local/svc"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let raw = response.text().await.unwrap();
    assert!(raw.contains(": keep-alive\n\n"), "{raw}");
    let blocks: Vec<&str> = raw
        .split("\n\n")
        .filter(|b| !b.is_empty() && !b.starts_with(':'))
        .collect();
    for (i, block) in blocks.iter().enumerate() {
        let fields: BTreeMap<&str, &str> = block
            .lines()
            .map(|line| line.split_once(": ").unwrap_or((line, "")))
            .collect();
        assert_eq!(
            fields.len(),
            3,
            "an event is its id, name and one data line: {block:?}"
        );
        assert_eq!(fields["id"], (i + 1).to_string(), "{block:?}");
        assert!(
            ["context", "delta", "usage", "done"].contains(&fields["event"]),
            "{block:?}"
        );
        serde_json::from_str::<Value>(fields["data"]).expect("the data is one JSON document");
    }
    assert!(blocks.last().unwrap().contains("event: done"), "{raw}");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_json_answer_is_the_done_document_and_the_exchange_is_stored(pool: PgPool) {
    let chat = Chat::new(pool, vec![text_reply(&CITING_REPLY)], quick()).await;
    let conversation = chat.conversation().await;
    let response = chat
        .http
        .post(chat.url(&format!("/api/v1/conversations/{conversation}/messages")))
        .json(&json!({"content": RETRY_QUESTION}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/json");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let done: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!(
            "/api/v1/conversations/{conversation}/messages/{}",
            done["messageId"].as_str().unwrap()
        )
    );
    assert_eq!(done["text"], CITING_TEXT);
    assert_eq!(done["status"], "complete");
    assert!(
        done["searched"]["files"]
            .as_array()
            .unwrap()
            .contains(&json!("local/svc:src/net/client.rs")),
        "{done}"
    );

    let (status, detail) = chat.get(&format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        detail["title"], RETRY_QUESTION,
        "the first question titles the conversation"
    );
    assert_eq!(detail["status"], "open");
    assert_eq!(
        detail["repositories"],
        json!([chat.summary.repository_id.to_string()])
    );
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["id"], done["questionId"]);
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["id"], done["messageId"]);
    assert_eq!(messages[1]["content"], CITING_TEXT);
    assert_eq!(messages[1]["status"], "complete");

    let (status, done_again) = chat.get(&format!("{location}/stream")).await;
    assert_eq!(status, 200);
    assert_same_done(&done_again, &done);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_second_question_sends_the_first_exchange_to_the_model_as_history(pool: PgPool) {
    let chat = Chat::new(
        pool,
        vec![
            text_reply(&["Retries happen in `backoff_send` [1]."]),
            text_reply(&["It waits 100 ms first [1]."]),
        ],
        quick(),
    )
    .await;
    let conversation = chat.conversation().await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let (status, first) = chat.post(&path, &json!({"content": RETRY_QUESTION})).await;
    assert_eq!(status, 201, "{first}");
    let (status, second) = chat
        .post(&path, &json!({"content": "How long does it wait at first?"}))
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["text"], "It waits 100 ms first [1].");

    let requests = chat.model().requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].messages.iter().map(|m| m.role).collect::<Vec<_>>(),
        [Role::System, Role::User],
        "the first question has no history"
    );
    let messages = &requests[1].messages;
    assert_eq!(
        messages.iter().map(|m| m.role).collect::<Vec<_>>(),
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    assert_eq!(messages[1].content, RETRY_QUESTION);
    assert_eq!(messages[2].content, first["text"].as_str().unwrap());
    assert!(
        messages[3]
            .content
            .ends_with("Question: How long does it wait at first?\n"),
        "{}",
        messages[3].content
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_model_failing_mid_answer_ends_it_failed_with_the_text_so_far(pool: PgPool) {
    let reply = vec![
        Step::Event(ChatEvent::Delta("Retries happen in `backoff_send`.".into())),
        Step::Fail("connection reset by peer".into()),
    ];
    let chat = Chat::new(pool, vec![reply], quick()).await;
    let conversation = chat.conversation().await;
    let (stream, message) = chat.ask_streaming(&conversation).await;
    let events = stream.all().await;
    let done = &events.last().unwrap();
    assert_eq!(done.event, "done");
    assert_eq!(done.data["status"], "failed");
    assert_eq!(done.data["text"], "Retries happen in `backoff_send`.");
    assert!(
        done.data["error"].as_str().unwrap().contains("connection reset"),
        "{}",
        done.data
    );
    let stored = chat.message(&conversation, &message).await;
    assert_eq!(stored["status"], "failed");
    assert_eq!(stored["content"], "Retries happen in `backoff_send`.");
    assert_eq!(stored["error"], done.data["error"]);
    assert!(
        chat.metrics()
            .await
            .contains(r#"reposage_ai_query_total{result="failed"} 1"#)
    );
    let (_, detail) = chat.get(&format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(detail["status"], "open", "the conversation goes on");
}

// ---------------------------------------------------------------------------------------------
// Stopping, resuming, regenerating
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn cancelling_stops_the_answer_drops_the_model_stream_and_stores_it_interrupted(pool: PgPool) {
    let chat = Chat::new(pool, vec![hanging_reply("Retries are handled in")], quick()).await;
    let conversation = chat.conversation().await;
    let (mut stream, message) = chat.ask_streaming(&conversation).await;
    stream.until("delta").await;
    assert_eq!(
        chat.settled_or_streaming(&conversation, &message).await,
        "streaming"
    );

    let cancelled = tokio::time::timeout(
        Duration::from_secs(5),
        chat.post(
            &format!("/api/v1/conversations/{conversation}/messages/{message}/cancel"),
            &json!({}),
        ),
    )
    .await
    .expect("cancel answers once the answer stopped");
    assert_eq!(cancelled.0, 200, "{}", cancelled.1);
    assert_eq!(cancelled.1["status"], "interrupted");
    assert_eq!(cancelled.1["text"], "Retries are handled in");
    let rest = stream.all().await;
    assert_eq!(
        names(&rest),
        ["done"],
        "the stream ends with the interrupted answer"
    );
    assert_eq!(rest[0].data, cancelled.1);
    assert_eq!(chat.model().dropped(), 1, "the model's stream was dropped");

    let stored = chat.message(&conversation, &message).await;
    assert_eq!(stored["status"], "interrupted");
    assert_eq!(stored["content"], "Retries are handled in");

    let (status, again) = chat
        .post(
            &format!("/api/v1/conversations/{conversation}/messages/{message}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["parameter"], "messageId");
    assert!(
        chat.metrics()
            .await
            .contains(r#"reposage_ai_query_total{result="interrupted"} 1"#)
    );
}

impl Chat {
    /// The stored status of a message, read once.
    async fn settled_or_streaming(&self, conversation: &str, message: &str) -> String {
        self.message(conversation, message).await["status"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_client_leaving_mid_stream_interrupts_the_answer_and_stores_what_was_written(pool: PgPool) {
    let chat = Chat::new(pool, vec![hanging_reply("Retries are handled in")], quick()).await;
    let conversation = chat.conversation().await;
    let (mut stream, message) = chat.ask_streaming(&conversation).await;
    stream.until("delta").await;
    drop(stream);

    let stored = chat.settled(&conversation, &message).await;
    assert_eq!(stored["status"], "interrupted");
    assert_eq!(stored["content"], "Retries are handled in");
    assert_eq!(chat.model().dropped(), 1, "the model's stream was dropped");
}

/// An OpenAI-compatible chat endpoint that streams one delta and then stalls forever with the
/// connection open (a model still thinking); it reports the instant an answer's body is dropped,
/// which is when its connection closed.
struct StallingUpstream {
    /// `http://127.0.0.1:port/v1`.
    base_url: String,
    /// Chat requests received.
    requests: Arc<AtomicUsize>,
    closed: tokio::sync::mpsc::UnboundedReceiver<Instant>,
}

/// The text the stalling upstream writes before it stalls.
const STALLED_TEXT: &str = "Retries are handled in";

#[derive(Clone)]
struct StallingState {
    requests: Arc<AtomicUsize>,
    closed: tokio::sync::mpsc::UnboundedSender<Instant>,
}

/// Sends the instant it is dropped.
struct ClosedAt(tokio::sync::mpsc::UnboundedSender<Instant>);

impl Drop for ClosedAt {
    fn drop(&mut self) {
        let _ = self.0.send(Instant::now());
    }
}

impl StallingUpstream {
    async fn start() -> StallingUpstream {
        let (closed, closed_rx) = tokio::sync::mpsc::unbounded_channel();
        let requests = Arc::new(AtomicUsize::new(0));
        let state = StallingState {
            requests: requests.clone(),
            closed,
        };
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(stall_after_a_delta))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        StallingUpstream {
            base_url: format!("http://{address}/v1"),
            requests,
            closed: closed_rx,
        }
    }
}

async fn stall_after_a_delta(
    axum::extract::State(state): axum::extract::State<StallingState>,
) -> axum::response::Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let chunk = |delta: Value| {
        let chunk = json!({
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": null}],
        });
        format!("data: {chunk}\n\n")
    };
    let written =
        chunk(json!({"role": "assistant", "content": ""})) + &chunk(json!({"content": STALLED_TEXT}));
    let guard = ClosedAt(state.closed);
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(axum::body::Bytes::from(written)) })
            .chain(futures::stream::once(async move {
                let _guard = guard;
                std::future::pending::<Result<axum::body::Bytes, std::io::Error>>().await
            }));
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from_stream(body))
        .unwrap()
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn cancelling_closes_the_real_clients_upstream_request_within_a_second(pool: PgPool) {
    let mut upstream = StallingUpstream::start().await;
    let model = OpenAiChat::new(OpenAiChatConfig {
        supports_tools: false,
        ..OpenAiChatConfig::new(upstream.base_url.clone(), "m")
    })
    .expect("a valid config");
    let chat = Chat::with_model(pool, Arc::new(model), ChatSettings::default()).await;
    let conversation = chat.conversation().await;
    let (mut stream, message) = chat.ask_streaming(&conversation).await;
    let first = stream.until("delta").await;
    assert_eq!(streamed_text(&first), STALLED_TEXT);
    assert!(
        upstream.closed.try_recv().is_err(),
        "the upstream request is open while the answer streams"
    );

    let cancelled_at = Instant::now();
    let (status, cancelled) = chat
        .post(
            &format!("/api/v1/conversations/{conversation}/messages/{message}/cancel"),
            &json!({}),
        )
        .await;
    let closed_at = tokio::time::timeout(Duration::from_secs(30), upstream.closed.recv())
        .await
        .expect("the upstream connection closes")
        .expect("the upstream server runs");
    let elapsed = closed_at.saturating_duration_since(cancelled_at);
    eprintln!("the upstream request was closed {elapsed:?} after the client sent its cancel");
    assert!(
        elapsed <= Duration::from_secs(1),
        "the upstream request was closed {elapsed:?} after the cancel, over the 1 s allowed"
    );
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "interrupted");
    assert_eq!(names(&stream.all().await), ["done"]);

    let stored = chat.message(&conversation, &message).await;
    assert_eq!(stored["status"], "interrupted");
    assert_eq!(stored["content"], STALLED_TEXT);
    assert_eq!(
        upstream.requests.load(Ordering::SeqCst),
        1,
        "the cancelled request is not retried"
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_reader_with_last_event_id_gets_the_events_after_it_then_the_rest_live(pool: PgPool) {
    let reply = vec![
        Step::Event(ChatEvent::Delta("Retries happen in `backoff_send` [1].\n".into())),
        Step::Pause(Duration::from_millis(600)),
        Step::Event(ChatEvent::Delta("It doubles the delay each time [1:7-8].".into())),
        Step::Event(ChatEvent::Usage(Usage {
            prompt_tokens: 100,
            completion_tokens: 10,
        })),
        Step::Event(ChatEvent::Finished(FinishReason::Stop)),
    ];
    let chat = Chat::new(pool, vec![reply], quick()).await;
    let conversation = chat.conversation().await;
    let (mut original, message) = chat.ask_streaming(&conversation).await;
    let mut read = original.until("delta").await;
    let last: u64 = read.last().unwrap().id.parse().unwrap();

    // The streamed text is checkpointed while the model pauses.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let partial = chat.message(&conversation, &message).await;
    assert_eq!(partial["status"], "streaming");
    let partial = partial["content"].as_str().unwrap().to_string();
    assert!(partial.starts_with(&streamed_text(&read)), "{partial:?}");

    let stream_path = format!("/api/v1/conversations/{conversation}/messages/{message}/stream");
    let resumed = chat.events(&stream_path, None, Some(last)).await.all().await;
    read.extend(original.all().await);
    assert_eq!(
        resumed,
        read.iter()
            .filter(|e| e.id.parse::<u64>().unwrap() > last)
            .cloned()
            .collect::<Vec<_>>(),
        "the resumed stream is the original after id {last}"
    );
    assert_eq!(resumed.last().unwrap().event, "done");
    let text = resumed.last().unwrap().data["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with(&partial) && text.len() > partial.len(),
        "{text:?} after {partial:?}"
    );

    let after_the_end = chat.events(&stream_path, None, Some(last)).await.all().await;
    assert_eq!(
        names(&after_the_end),
        ["done"],
        "a finished answer is its done document"
    );
    assert_eq!(after_the_end[0].id, "");
    assert_same_done(&after_the_end[0].data, &resumed.last().unwrap().data);

    let (status, problem) = chat
        .get(&format!(
            "/api/v1/conversations/{conversation}/messages/{}/stream",
            read.last().unwrap().data["questionId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 422, "a question does not stream: {problem}");
    assert_eq!(problem["parameter"], "messageId");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn regenerating_adds_a_sibling_answer_to_the_same_question_and_keeps_the_old_one(pool: PgPool) {
    let chat = Chat::new(
        pool,
        vec![
            text_reply(&["Retries happen in `backoff_send` [1]."]),
            text_reply(&["`backoff_send` resends the request [1]."]),
        ],
        quick(),
    )
    .await;
    let conversation = chat.conversation().await;
    let (_, first) = chat
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &json!({"content": RETRY_QUESTION}),
        )
        .await;
    let first_id = first["messageId"].as_str().unwrap();
    let (status, second) = chat
        .post(
            &format!("/api/v1/conversations/{conversation}/messages/{first_id}/regenerate"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(second["messageId"], first["messageId"]);
    assert_eq!(second["questionId"], first["questionId"]);
    assert_eq!(second["text"], "`backoff_send` resends the request [1].");
    assert_eq!(
        chat.model().requests()[1].messages.len(),
        2,
        "the regenerated answer has the same (empty) history"
    );

    let (_, detail) = chat.get(&format!("/api/v1/conversations/{conversation}")).await;
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1]["content"], first["text"], "the old answer is kept");
    assert_eq!(messages[1]["parentId"], first["questionId"]);
    assert_eq!(messages[2]["parentId"], first["questionId"]);
    assert_eq!(messages[2]["id"], second["messageId"]);
}

// ---------------------------------------------------------------------------------------------
// One-shot questions, bad input, metrics
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_one_shot_question_is_answered_by_json_or_events_and_stores_nothing(pool: PgPool) {
    let chat = Chat::new(
        pool,
        vec![text_reply(&CITING_REPLY), text_reply(&CITING_REPLY)],
        quick(),
    )
    .await;
    let body = json!({"question": RETRY_QUESTION, "repositories": [chat.summary.repository_id.to_string()]});
    let (status, done) = chat.post("/api/v1/ask", &body).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["text"], CITING_TEXT);
    assert_eq!(
        (&done["messageId"], &done["questionId"], &done["conversationId"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let events = chat.events("/api/v1/ask", Some(&body), None).await.all().await;
    assert_eq!(events[0].event, "context");
    let last = &events.last().unwrap().data;
    assert_eq!(last["text"], CITING_TEXT);
    assert_eq!(chat.rows().await, [0, 0, 0]);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn without_a_model_the_conversation_answers_extractively(pool: PgPool) {
    let store = Store::from_pool(pool);
    index(&store).await;
    let searcher = Searcher::new(
        store.clone(),
        Some((Arc::new(embedder()), Arc::new(EmbeddedStore::new(store.clone())))),
        SearchParams::default(),
    );
    let assistant = Assistant::new(store.clone(), searcher, None, AssistantSettings::default());
    let base = serve(AppState::new(store).with_assistant(assistant)).await;
    let http = http_client();
    let done: Value = http
        .post(format!("{base}/api/v1/ask"))
        .json(&json!({"question": RETRY_QUESTION, "repositories": ["local/svc"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["mode"], "extractive", "{done}");
    assert_eq!(done["model"], Value::Null);
    assert!(
        done["text"].as_str().unwrap().contains("`backoff_send`"),
        "{done}"
    );
    assert!(!done["citations"].as_array().unwrap().is_empty());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn bad_input_is_a_problem_naming_the_field_and_writes_nothing(pool: PgPool) {
    let chat = Chat::new(pool, vec![hanging_reply("Retries")], quick()).await;
    let unindexed = seed_repository(&chat.store, "team", "fresh").await;
    let conversation = chat.conversation().await;
    let other = chat.conversation().await;

    // A question in `other`, answered and kept, whose message the first conversation cannot use.
    let (mut stream, other_message) = chat.ask_streaming(&other).await;
    stream.until("delta").await;
    let messages = format!("/api/v1/conversations/{conversation}/messages");
    let busy = format!("/api/v1/conversations/{other}/messages");
    let before = chat.rows().await;

    let long = "x".repeat(reposage_assistant::MAX_QUESTION_CHARS + 1);
    let unknown = uuid::Uuid::new_v4();
    let cases: Vec<(&str, String, Value, u16, &str)> = vec![
        (
            "empty content",
            messages.clone(),
            json!({"content": ""}),
            422,
            "content",
        ),
        (
            "blank content",
            messages.clone(),
            json!({"content": " \n\t"}),
            422,
            "content",
        ),
        (
            "oversized content",
            messages.clone(),
            json!({"content": long}),
            422,
            "content",
        ),
        (
            "NUL in content",
            messages.clone(),
            json!({"content": "why\u{0}?"}),
            422,
            "content",
        ),
        ("missing content", messages.clone(), json!({}), 422, "content"),
        (
            "unknown conversation",
            format!("/api/v1/conversations/{unknown}/messages"),
            json!({"content": "why?"}),
            404,
            "",
        ),
        (
            "malformed conversation id",
            "/api/v1/conversations/nope/messages".into(),
            json!({"content": "why?"}),
            422,
            "conversationId",
        ),
        (
            "a conversation still answering",
            busy,
            json!({"content": "why?"}),
            409,
            "conversationId",
        ),
        (
            "regenerating a message of another conversation",
            format!("/api/v1/conversations/{conversation}/messages/{other_message}/regenerate"),
            json!({}),
            422,
            "messageId",
        ),
        (
            "cancelling a message of another conversation",
            format!("/api/v1/conversations/{conversation}/messages/{other_message}/cancel"),
            json!({}),
            422,
            "messageId",
        ),
        (
            "regenerating an unknown message",
            format!("/api/v1/conversations/{conversation}/messages/{unknown}/regenerate"),
            json!({}),
            404,
            "",
        ),
        (
            "an unknown repository",
            "/api/v1/conversations".into(),
            json!({"repositories": ["local/svc", "team/missing"]}),
            422,
            "repositories",
        ),
        (
            "an unknown repository id",
            "/api/v1/conversations".into(),
            json!({"repositories": [unknown.to_string()]}),
            422,
            "repositories",
        ),
        (
            "a repository never indexed",
            "/api/v1/conversations".into(),
            json!({"repositories": [unindexed.to_string()]}),
            422,
            "repositories",
        ),
        (
            "no repositories",
            "/api/v1/conversations".into(),
            json!({"repositories": []}),
            422,
            "repositories",
        ),
        (
            "a reference that is neither id nor name",
            "/api/v1/conversations".into(),
            json!({"repositories": ["svc"]}),
            422,
            "repositories",
        ),
        (
            "an oversized title",
            "/api/v1/conversations".into(),
            json!({"repositories": ["local/svc"], "title": "t".repeat(201)}),
            422,
            "title",
        ),
        (
            "an empty one-shot question",
            "/api/v1/ask".into(),
            json!({"question": "", "repositories": ["local/svc"]}),
            422,
            "question",
        ),
        (
            "a one-shot question about an unknown repository",
            "/api/v1/ask".into(),
            json!({"question": "why?", "repositories": ["team/missing"]}),
            422,
            "repositories",
        ),
    ];
    for (case, path, body, status, parameter) in cases {
        let (got, problem) = chat.post(&path, &body).await;
        assert_eq!(got.as_u16(), status, "{case}: {problem}");
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("https://reposage.dev/problems/")),
            "{case}: {problem}"
        );
        if !parameter.is_empty() {
            assert_eq!(problem["parameter"], parameter, "{case}: {problem}");
        }
        assert_eq!(chat.rows().await, before, "{case} wrote something");
    }

    for (case, body, status) in [
        ("malformed JSON", "{\"content\": ", 400),
        ("an unknown field", "{\"content\": \"why?\", \"topK\": 5}", 422),
        ("a wrong type", "{\"content\": 5}", 422),
    ] {
        let response = chat
            .http
            .post(chat.url(&messages))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{case}"
        );
        assert_eq!(chat.rows().await, before, "{case} wrote something");
    }
    // A 1 MiB question is over the body limit (sent in process: a server refusing a body early may
    // reset a TCP client still sending it).
    let huge = json!({"content": "x".repeat(1024 * 1024)});
    post_json(&chat.state, &messages, &huge)
        .await
        .assert_problem(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    assert_eq!(chat.rows().await, before, "an oversized body wrote something");

    let (status, closed) = chat
        .post(&format!("/api/v1/conversations/{conversation}/close"), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(closed["status"], "closed");
    let before = chat.rows().await;
    let (status, problem) = chat.post(&messages, &json!({"content": "why?"})).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["parameter"], "conversationId");
    assert!(
        problem["detail"].as_str().unwrap().contains("closed"),
        "{problem}"
    );
    assert_eq!(chat.rows().await, before, "a closed conversation takes nothing");

    assert_eq!(
        chat.model().requests().len(),
        1,
        "only the valid question reached the model"
    );
    drop(stream);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn conversations_are_listed_newest_first_in_pages_and_deleted_with_their_messages(pool: PgPool) {
    let chat = Chat::new(
        pool,
        vec![text_reply(&["Retries happen in `backoff_send` [1]."])],
        quick(),
    )
    .await;
    let ids = [
        chat.conversation().await,
        chat.conversation().await,
        chat.conversation().await,
    ];
    let (status, page) = chat.get("/api/v1/conversations?limit=2").await;
    assert_eq!(status, 200, "{page}");
    let listed: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(page["nextOffset"], 2);
    let (_, rest) = chat.get("/api/v1/conversations?limit=2&offset=2").await;
    assert_eq!(rest["items"][0]["id"], ids[0].as_str());
    assert_eq!(rest["nextOffset"], Value::Null);
    let (status, problem) = chat.get("/api/v1/conversations?limit=0").await;
    assert_eq!((status.as_u16(), &problem["parameter"]), (422, &json!("limit")));

    let (status, _) = chat
        .post(
            &format!("/api/v1/conversations/{}/messages", ids[0]),
            &json!({"content": RETRY_QUESTION}),
        )
        .await;
    assert_eq!(status, 201);
    let deleted = chat
        .http
        .delete(chat.url(&format!("/api/v1/conversations/{}", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (status, _) = chat.get(&format!("/api/v1/conversations/{}", ids[0])).await;
    assert_eq!(status, 404);
    assert_eq!(chat.rows().await, [2, 2, 0]);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn metrics_are_exposed_after_an_answer(pool: PgPool) {
    let chat = Chat::new(pool, vec![text_reply(&CITING_REPLY)], quick()).await;
    let (status, done) = chat
        .post(
            "/api/v1/ask",
            &json!({"question": RETRY_QUESTION, "repositories": ["local/svc"]}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let text = chat.metrics().await;
    for expected in [
        r#"reposage_ai_query_response_time_seconds_count{mode="retrieval",phase="first_token"} 1"#,
        r#"reposage_ai_query_response_time_seconds_count{mode="retrieval",phase="total"} 1"#,
        r#"reposage_ai_query_total{result="success"} 1"#,
        "reposage_rag_search_hit_rate 1.0",
        r#"reposage_ai_tokens_total{direction="prompt"} 100"#,
        r#"reposage_ai_tokens_total{direction="completion"} 10"#,
        r#"reposage_ai_citations_rejected_total{reason="not_given"} 1"#,
        r#"reposage_ai_citations_rejected_total{reason="out_of_range"} 0"#,
        r#"reposage_ai_citations_rejected_total{reason="unknown_path"} 1"#,
        r#"reposage_api_http_requests_total{method="POST",route="/api/v1/ask",status="200"} 1"#,
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn without_an_assistant_questions_are_answered_503(pool: PgPool) {
    let store = Store::from_pool(pool);
    let base = serve(AppState::new(store)).await;
    let response = http_client()
        .post(format!("{base}/api/v1/ask"))
        .json(&json!({"question": "why?", "repositories": ["local/svc"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}
