//! The OpenAI-compatible embedder against an in-test `/v1/embeddings` server.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use reposage_retrieval::Embedder;
use reposage_retrieval::Error;
use reposage_retrieval::embed::openai::{AzureDeployment, OpenAiEmbedder, OpenAiEmbedderConfig};
use serde_json::{Value, json};

/// What the server answers next.
#[derive(Debug, Clone, Copy)]
enum Reply {
    /// An error status with an OpenAI error body.
    Status(u16),
    /// No answer ever: the request ends only when the client gives up on it (its timeout), so
    /// the test does not race the wall clock.
    Hang,
}

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    inputs: Vec<String>,
    authorization: Option<String>,
    /// Azure's key header.
    api_key: Option<String>,
    /// Path and query of the request.
    uri: String,
    model: String,
}

struct ServerState {
    /// Length of the vectors the server returns.
    dimension: usize,
    /// Answers before the normal ones, in order.
    script: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
    /// Leave out `object`, `model`, `usage` and `index`, as minimal compatible servers do.
    minimal: bool,
}

struct TestServer {
    base_url: String,
    state: Arc<ServerState>,
}

impl TestServer {
    async fn start(dimension: usize, script: &[Reply]) -> Self {
        Self::start_with(dimension, script, false).await
    }

    async fn start_with(dimension: usize, script: &[Reply], minimal: bool) -> Self {
        let state = Arc::new(ServerState {
            dimension,
            script: Mutex::new(script.iter().copied().collect()),
            seen: Mutex::new(Vec::new()),
            minimal,
        });
        let app = axum::Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/openai/deployments/{deployment}/embeddings", post(embeddings))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("test server runs");
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            state,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("lock").clone()
    }

    /// A config for this server with short backoffs.
    fn config(&self, dimension: usize) -> OpenAiEmbedderConfig {
        OpenAiEmbedderConfig {
            dimension: Some(dimension),
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            timeout: Duration::from_secs(10),
            ..OpenAiEmbedderConfig::new(&self.base_url, "test-embedder")
        }
    }
}

/// The server's deterministic, not normalised vector for `text`.
fn raw_vector(text: &str, dimension: usize) -> Vec<f32> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..dimension)
        .map(|j| 1.0 + ((hash >> ((j * 5) % 60)) & 0x1f) as f32)
        .collect()
}

fn unit(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    vector.iter_mut().for_each(|x| *x /= norm);
    vector
}

async fn embeddings(
    State(state): State<Arc<ServerState>>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let model = body["model"].as_str().unwrap_or_default().to_string();
    state.seen.lock().expect("lock").push(Seen {
        inputs: inputs.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        api_key: headers
            .get("api-key")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        uri: uri.to_string(),
        model: model.clone(),
    });
    let next = state.script.lock().expect("lock").pop_front();
    if let Some(Reply::Hang) = next {
        std::future::pending::<()>().await;
    }
    if let Some(Reply::Status(code)) = next {
        let status = StatusCode::from_u16(code).expect("valid status");
        let mut response = (
            status,
            Json(json!({"error": {"message": format!("scripted {code}"), "type": "test", "param": null, "code": null}})),
        )
            .into_response();
        if code == 429 {
            response
                .headers_mut()
                .insert("retry-after-ms", "1".parse().expect("header"));
        }
        return response;
    }
    // Answer in reverse order: the client must place vectors by `index`.
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, text)| {
            if state.minimal {
                json!({"embedding": raw_vector(text, state.dimension)})
            } else {
                json!({"object": "embedding", "index": i, "embedding": raw_vector(text, state.dimension)})
            }
        })
        .collect();
    let data = if state.minimal {
        data.into_iter().rev().collect()
    } else {
        data
    };
    if state.minimal {
        Json(json!({ "data": data })).into_response()
    } else {
        Json(json!({
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": inputs.len(), "total_tokens": inputs.len()}
        }))
        .into_response()
    }
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("text number {i}")).collect()
}

fn assert_close(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 1e-6, "{actual:?} != {expected:?}");
    }
}

#[tokio::test]
async fn vectors_come_back_in_input_order_unit_length_in_batches_of_the_configured_size() {
    let server = TestServer::start(8, &[]).await;
    let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
        batch_size: 3,
        max_concurrency: 2,
        ..server.config(8)
    })
    .expect("embedder");
    assert_eq!(embedder.model().id, "openai/test-embedder");
    assert_eq!(embedder.model().dimension, 8);

    let input = texts(8);
    let vectors = embedder.embed(&input).await.expect("embeddings");
    assert_eq!(vectors.len(), 8);
    for (text, vector) in input.iter().zip(&vectors) {
        assert_close(vector, &unit(raw_vector(text, 8)));
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    let seen = server.seen();
    let mut sizes: Vec<usize> = seen.iter().map(|s| s.inputs.len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![2, 3, 3]);
    let mut batches: Vec<Vec<String>> = seen.iter().map(|s| s.inputs.clone()).collect();
    batches.sort();
    assert_eq!(
        batches,
        vec![input[0..3].to_vec(), input[3..6].to_vec(), input[6..8].to_vec()]
    );
    assert!(seen.iter().all(|s| s.model == "test-embedder"));

    let query = embedder.embed_query("text number 5").await.expect("query");
    assert_close(&query, &vectors[5]);
}

#[tokio::test]
async fn no_text_means_no_request() {
    let server = TestServer::start(8, &[]).await;
    let embedder = OpenAiEmbedder::new(server.config(8)).expect("embedder");
    assert!(embedder.embed(&[]).await.expect("nothing").is_empty());
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn a_429_is_retried_and_the_batch_then_succeeds() {
    let server = TestServer::start(4, &[Reply::Status(429)]).await;
    let embedder = OpenAiEmbedder::new(server.config(4)).expect("embedder");
    let vectors = embedder.embed(&texts(2)).await.expect("embeddings");
    assert_eq!(vectors.len(), 2);
    assert_eq!(server.seen().len(), 2, "one 429, one success");
}

#[tokio::test]
async fn two_500s_are_retried_and_the_batch_then_succeeds() {
    let server = TestServer::start(4, &[Reply::Status(500), Reply::Status(500)]).await;
    let embedder = OpenAiEmbedder::new(server.config(4)).expect("embedder");
    let vectors = embedder.embed(&texts(3)).await.expect("embeddings");
    assert_eq!(vectors.len(), 3);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.inputs == texts(3)), "the same batch resent");
}

#[tokio::test]
async fn retries_stop_after_max_retries_with_an_api_error() {
    let server = TestServer::start(4, &[Reply::Status(503); 10]).await;
    let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
        max_retries: 2,
        ..server.config(4)
    })
    .expect("embedder");
    let error = embedder.embed(&texts(1)).await.expect_err("gives up");
    assert!(
        matches!(
            &error,
            Error::ApiStatus {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_401_fails_at_once_as_unauthorized() {
    let server = TestServer::start(4, &[Reply::Status(401)]).await;
    let embedder = OpenAiEmbedder::new(server.config(4)).expect("embedder");
    let error = embedder.embed(&texts(5)).await.expect_err("refused");
    assert!(matches!(error, Error::Unauthorized { status: 401 }), "{error}");
    assert_eq!(server.seen().len(), 1, "no retry on 401");
}

#[tokio::test]
async fn a_400_is_not_retried_and_says_what_the_server_said() {
    let server = TestServer::start(4, &[Reply::Status(400)]).await;
    let embedder = OpenAiEmbedder::new(server.config(4)).expect("embedder");
    let error = embedder.embed(&texts(1)).await.expect_err("refused");
    assert!(
        matches!(&error, Error::ApiStatus { status: 400, message, attempts: 1 } if message == "scripted 400"),
        "{error}"
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn vectors_of_another_dimension_are_refused() {
    let server = TestServer::start(8, &[]).await;
    let embedder = OpenAiEmbedder::new(server.config(16)).expect("embedder");
    let error = embedder.embed(&texts(2)).await.expect_err("wrong size");
    assert!(
        matches!(
            error,
            Error::Dimension {
                expected: 16,
                actual: 8
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_minimal_answer_without_usage_or_index_is_understood() {
    let server = TestServer::start_with(4, &[], true).await;
    let embedder = OpenAiEmbedder::new(server.config(4)).expect("embedder");
    let input = texts(3);
    let vectors = embedder.embed(&input).await.expect("embeddings");
    for (text, vector) in input.iter().zip(&vectors) {
        assert_close(vector, &unit(raw_vector(text, 4)));
    }
}

#[tokio::test]
async fn the_api_key_is_sent_as_a_bearer_token_and_never_shown_in_debug() {
    let server = TestServer::start(4, &[]).await;
    let key = "test-key-0123456789-abcdef";
    let config = OpenAiEmbedderConfig {
        api_key: Some(format!("{key}\n")),
        ..server.config(4)
    };
    assert!(!format!("{config:?}").contains(key));
    let embedder = OpenAiEmbedder::new(config).expect("embedder");
    assert!(!format!("{embedder:?}").contains(key));
    assert!(!format!("{embedder:#?}").contains(key));
    embedder.embed(&texts(1)).await.expect("embeddings");
    assert_eq!(
        server.seen()[0].authorization.as_deref(),
        Some(format!("Bearer {key}").as_str())
    );
}

#[tokio::test]
async fn a_request_over_the_timeout_is_abandoned_and_retried() {
    // Every request hangs, so each attempt ends only by the client's timeout: the test holds
    // however slow the machine is. Two requests reaching the server show the first was abandoned
    // and retried; the error counts both attempts and keeps the transport's timeout as its source.
    let server = TestServer::start(4, &[Reply::Hang, Reply::Hang]).await;
    let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..server.config(4)
    })
    .expect("embedder");
    let error = embedder
        .embed(&texts(2))
        .await
        .expect_err("every attempt timed out");
    match &error {
        Error::ApiUnreachable { attempts: 2, source } => assert!(source.is_timeout(), "{source:?}"),
        other => panic!("expected a timed-out, unreachable API: {other:?}"),
    }
    assert_eq!(server.seen().len(), 2, "both attempts reached the server");
}

#[tokio::test]
async fn azure_deployments_get_the_deployment_path_api_version_and_api_key_header() {
    let server = TestServer::start(4, &[]).await;
    let base_url = server.base_url.trim_end_matches("/v1").to_string();
    let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
        base_url,
        model: "text-embedding-3-small".into(),
        dimension: Some(4),
        api_key: Some("azure-test-key-42".into()),
        azure: Some(AzureDeployment {
            deployment: "my-embeddings".into(),
            api_version: "2024-10-21".into(),
        }),
        ..server.config(4)
    })
    .expect("embedder");
    assert_eq!(embedder.model().id, "openai/text-embedding-3-small@4");
    embedder.embed(&texts(1)).await.expect("embeddings");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].uri,
        "/openai/deployments/my-embeddings/embeddings?api-version=2024-10-21"
    );
    assert_eq!(seen[0].api_key.as_deref(), Some("azure-test-key-42"));
    assert_eq!(seen[0].authorization, None);
    assert!(!format!("{embedder:?}").contains("azure-test-key-42"));
}

#[tokio::test]
async fn an_unreachable_server_is_retried_then_reported() {
    // A port that was free a moment ago: connections are refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
        dimension: Some(4),
        max_retries: 1,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        ..OpenAiEmbedderConfig::new(format!("http://127.0.0.1:{port}/v1"), "m")
    })
    .expect("embedder");
    let error = embedder.embed(&texts(1)).await.expect_err("unreachable");
    assert!(
        matches!(&error, Error::ApiUnreachable { attempts: 2, .. }),
        "{error}"
    );
}
