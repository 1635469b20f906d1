//! Embeddings from any OpenAI-compatible `POST {base_url}/embeddings` endpoint: OpenAI, Azure
//! OpenAI, Ollama (`http://localhost:11434/v1`), vLLM, Hugging Face TEI, LiteLLM, …
//!
//! [`OpenAiEmbedder`] cuts the texts into batches of [`OpenAiEmbedderConfig::batch_size`], sends at
//! most [`OpenAiEmbedderConfig::max_concurrency`] of them at once (answers keep the input order),
//! checks every answer (one vector per text, each of the model's dimension, finite) and normalises the
//! vectors to unit length.
//!
//! # Failures
//!
//! - HTTP 429, 408 and 5xx, timeouts and network errors are retried up to
//!   [`OpenAiEmbedderConfig::max_retries`] times, waiting what the server's `retry-after-ms` or
//!   `Retry-After` (seconds) header asks for, or else an exponential backoff from
//!   [`OpenAiEmbedderConfig::initial_backoff`] (doubling, capped at
//!   [`OpenAiEmbedderConfig::max_backoff`], with random jitter in its upper half).
//! - HTTP 401 and 403 fail at once with [`Error::Unauthorized`]: retrying a wrong key only burns
//!   quota.
//! - Anything else fails at once: another status (400 for an unknown model) with
//!   [`Error::ApiStatus`], an answer that is not a usable embedding list with
//!   [`Error::UnusableEmbeddings`], vectors of the wrong size with [`Error::Dimension`]. Retries
//!   that run out end with [`Error::ApiStatus`] or [`Error::ApiUnreachable`], counting the
//!   attempts.
//!
//! The API key is sent as `Authorization: Bearer …` (or Azure's `api-key` header) and appears
//! nowhere else: not in [`fmt::Debug`] output, errors or logs.
//!
//! # Model id
//!
//! [`ModelInfo::id`] is `openai/<model>` whatever the base URL: the same model name served by
//! OpenAI, a proxy or a local server is promised to give the same vectors, so they share the
//! embedding cache and the Qdrant collection. Serve a different model under a different name. When
//! [`OpenAiEmbedderConfig::dimension`] shortens a `text-embedding-3-*` model (sent as the API's
//! `dimensions` parameter), the id is `openai/<model>@<dimension>`, since those vectors differ.
//!
//! # Azure OpenAI
//!
//! Set [`OpenAiEmbedderConfig::azure`]: the base URL is then the resource
//! (`https://my-resource.openai.azure.com`), requests go to
//! `{base_url}/openai/deployments/{deployment}/embeddings?api-version={api_version}` with the key in
//! the `api-key` header, and `model` names the model the deployment runs (it makes the model id).
//!
//! # TLS
//!
//! HTTPS uses rustls with the ring provider. When the process has not installed a rustls crypto
//! provider, [`OpenAiEmbedder::new`] installs ring's as the process default.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::{AzureConfig, Config, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{Embedder, ModelInfo, normalize};
use crate::{Error, Result};

/// Default number of texts per request.
pub const DEFAULT_BATCH_SIZE: usize = 64;
/// Default number of requests in flight at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 4;
/// Default number of retries of one request.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// Default wait before the first retry (doubled at each further retry).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Default longest backoff between two attempts.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Default time limit of one HTTP request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait a server's `Retry-After` is honoured with.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// Model input length assumed for models this module does not know, in tokens.
pub const DEFAULT_MAX_TOKENS: usize = 512;

/// Longest part of an error answer's message kept in an [`Error::ApiStatus`].
const MAX_ERROR_MESSAGE: usize = 300;
/// Most bytes of an error answer read.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// OpenAI models whose dimension and input length are known: (name, dimension, max tokens,
/// accepts `dimensions`).
const KNOWN_MODELS: [(&str, usize, usize, bool); 3] = [
    ("text-embedding-3-small", 1536, 8191, true),
    ("text-embedding-3-large", 3072, 8191, true),
    ("text-embedding-ada-002", 1536, 8191, false),
];

/// An Azure OpenAI deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureDeployment {
    /// The deployment name (in the request path).
    pub deployment: String,
    /// The `api-version` query parameter, e.g. `2024-10-21`.
    pub api_version: String,
}

/// Configuration of an [`OpenAiEmbedder`]. Its [`fmt::Debug`] output hides the API key.
#[derive(Clone)]
pub struct OpenAiEmbedderConfig {
    /// Base URL of the API, up to `/v1`: `https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` (Ollama), a vLLM or TEI server; for Azure, the resource URL.
    pub base_url: String,
    /// Model name sent with every request (`text-embedding-3-small`, `nomic-embed-text`, …).
    pub model: String,
    /// API key, sent as a bearer token (Azure: the `api-key` header); surrounding whitespace (a
    /// trailing newline of a mounted Secret) is trimmed. `None` for servers without
    /// authentication.
    pub api_key: Option<String>,
    /// Vector length. Required for models this module does not know (every non-OpenAI model);
    /// for `text-embedding-3-*`, a smaller value is requested with the API's `dimensions`.
    pub dimension: Option<usize>,
    /// Longest input in model tokens (8191 for OpenAI's models, [`DEFAULT_MAX_TOKENS`] for others
    /// when unset).
    pub max_tokens: Option<usize>,
    /// Texts per request (at least 1).
    pub batch_size: usize,
    /// Requests in flight at once (at least 1).
    pub max_concurrency: usize,
    /// Retries of a request after a 429, 408, 5xx, timeout or network error.
    pub max_retries: u32,
    /// Wait before the first retry when the server does not say; doubled at each retry.
    pub initial_backoff: Duration,
    /// Longest backoff between two attempts.
    pub max_backoff: Duration,
    /// Time limit of one HTTP request (connection, upload and answer).
    pub timeout: Duration,
    /// Azure OpenAI deployment, when the base URL is an Azure resource.
    pub azure: Option<AzureDeployment>,
}

impl OpenAiEmbedderConfig {
    /// A configuration for `model` at `base_url`, without API key, with the default batch size,
    /// concurrency, retries, backoff and timeout.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            dimension: None,
            max_tokens: None,
            batch_size: DEFAULT_BATCH_SIZE,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            timeout: DEFAULT_TIMEOUT,
            azure: None,
        }
    }
}

impl fmt::Debug for OpenAiEmbedderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            base_url,
            model,
            api_key,
            dimension,
            max_tokens,
            batch_size,
            max_concurrency,
            max_retries,
            initial_backoff,
            max_backoff,
            timeout,
            azure,
        } = self;
        f.debug_struct("OpenAiEmbedderConfig")
            .field("base_url", &crate::secrets::redact(base_url).text)
            .field("model", model)
            .field("api_key", &api_key.as_ref().map(|_| "<redacted>"))
            .field("dimension", dimension)
            .field("max_tokens", max_tokens)
            .field("batch_size", batch_size)
            .field("max_concurrency", max_concurrency)
            .field("max_retries", max_retries)
            .field("initial_backoff", initial_backoff)
            .field("max_backoff", max_backoff)
            .field("timeout", timeout)
            .field("azure", azure)
            .finish()
    }
}

/// An [`Embedder`] calling an OpenAI-compatible embeddings API (see the [module
/// documentation](self)).
pub struct OpenAiEmbedder {
    client: Client<Box<dyn Config>>,
    info: ModelInfo,
    /// The model name sent in requests.
    request_model: String,
    /// `dimensions` sent in requests (shortened `text-embedding-3-*` vectors).
    request_dimensions: Option<u32>,
    /// Base URL with any credentials in it redacted, for Debug.
    display_url: String,
    batch_size: usize,
    max_concurrency: usize,
    retry: RetryPolicy,
}

impl fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("base_url", &self.display_url)
            .field("model", &self.info)
            .field("batch_size", &self.batch_size)
            .field("max_concurrency", &self.max_concurrency)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// When and how long to retry.
#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): the server's `Retry-After` when it gave one
    /// (capped at [`MAX_RETRY_AFTER`]), else `initial · 2^retry` capped at `max_backoff`, jittered
    /// uniformly in its upper half.
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(MAX_RETRY_AFTER);
        }
        let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
        let base = self
            .initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        base / 2 + base.mul_f64(random_fraction() / 2.0)
    }
}

/// A number in [0, 1) that differs from call to call (std's randomly keyed hasher: no RNG crate).
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    hasher.write_u128(nanos);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl OpenAiEmbedder {
    /// Checks `config` and builds the HTTP client; sends no request.
    ///
    /// Fails with [`Error::Config`] when the configuration cannot work: an empty model name, a base
    /// URL that is not http(s), no dimension for an unknown model, a zero batch size or concurrency,
    /// or an API key with characters an HTTP header cannot carry.
    pub fn new(config: OpenAiEmbedderConfig) -> Result<Self> {
        let OpenAiEmbedderConfig {
            base_url,
            model,
            api_key,
            dimension,
            max_tokens,
            batch_size,
            max_concurrency,
            max_retries,
            initial_backoff,
            max_backoff,
            timeout,
            azure,
        } = config;
        let invalid = |message: String| Error::Config(message);
        let model = model.trim().to_string();
        if model.is_empty() {
            return Err(invalid("the embedding model name is empty".into()));
        }
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(invalid(
                "the embedding API base URL must start with http:// or https://".into(),
            ));
        }
        if batch_size == 0 || max_concurrency == 0 {
            return Err(invalid(
                "the embedding batch size and concurrency must be at least 1".into(),
            ));
        }

        let known = KNOWN_MODELS.iter().find(|(name, ..)| *name == model).copied();
        let (dimension, request_dimensions) = match (known, dimension) {
            (Some((_, native, _, _)), None) => (native, None),
            (Some((_, native, _, _)), Some(d)) if d == native => (native, None),
            (Some((_, native, _, true)), Some(d)) if d > 0 && d < native => {
                let requested =
                    u32::try_from(d).map_err(|_| invalid(format!("dimension {d} is too large")))?;
                (d, Some(requested))
            }
            (Some((_, native, _, _)), Some(d)) => {
                return Err(invalid(format!(
                    "{model} returns {native}-dimensional vectors, not {d}"
                )));
            }
            (None, Some(d)) if d > 0 => (d, None),
            (None, _) => {
                return Err(invalid(format!(
                    "the dimension of embedding model {model} is unknown: set it in the \
                     configuration (e.g. 768 for nomic-embed-text, 1024 for bge-m3)"
                )));
            }
        };
        let id = match request_dimensions {
            Some(d) => format!("openai/{model}@{d}"),
            None => format!("openai/{model}"),
        };
        let max_tokens = max_tokens
            .or(known.map(|(_, _, tokens, _)| tokens))
            .unwrap_or(DEFAULT_MAX_TOKENS);

        let api_key = api_key.map(|key| key.trim().to_string()).unwrap_or_default();
        let header_ok = if azure.is_some() {
            reqwest::header::HeaderValue::from_str(&api_key).is_ok()
        } else {
            reqwest::header::HeaderValue::from_str(&format!("Bearer {api_key}")).is_ok()
        };
        if !header_ok {
            return Err(invalid(
                "the embedding API key holds characters an HTTP header cannot carry".into(),
            ));
        }

        let config: Box<dyn Config> = match &azure {
            Some(AzureDeployment {
                deployment,
                api_version,
            }) => Box::new(
                AzureConfig::new()
                    .with_api_base(base_url.clone())
                    .with_deployment_id(deployment.clone())
                    .with_api_version(api_version.clone())
                    .with_api_key(api_key),
            ),
            // Every field is set: OpenAIConfig's defaults come from OPENAI_* environment
            // variables, and a library does not read the environment.
            None => Box::new(
                OpenAIConfig::new()
                    .with_api_base(base_url.clone())
                    .with_api_key(api_key)
                    .with_org_id("")
                    .with_project_id(""),
            ),
        };

        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        let client = Client::build(http.clone(), config).with_http_service(Transport { http });

        Ok(Self {
            client,
            info: ModelInfo {
                id,
                dimension,
                max_tokens,
            },
            request_model: model,
            request_dimensions,
            display_url: crate::secrets::redact(&base_url).text.into_owned(),
            batch_size,
            max_concurrency,
            retry: RetryPolicy {
                max_retries,
                initial_backoff,
                max_backoff,
            },
        })
    }

    /// Embeds one batch, retrying as the policy says; vectors normalised, in input order.
    async fn embed_batch(&self, batch: &[String]) -> Result<Vec<Vec<f32>>> {
        let request = EmbeddingRequest {
            model: &self.request_model,
            input: batch,
            dimensions: self.request_dimensions,
        };
        let mut retry = 0;
        loop {
            let outcome = self
                .client
                .embeddings()
                .create_byot::<_, EmbeddingResponse>(&request)
                .await;
            let failure = match outcome {
                Ok(response) => return self.vectors(response, batch.len()),
                Err(error) => classify(error),
            };
            let attempts = retry + 1;
            match failure {
                Failure::Fatal(error) => return Err(error.after(attempts)),
                Failure::Transient { error, retry_after } => {
                    if retry >= self.retry.max_retries {
                        return Err(error.after(attempts));
                    }
                    let delay = self.retry.delay(retry, retry_after);
                    tracing::warn!(
                        model = %self.info.id,
                        reason = %error,
                        retry = retry + 1,
                        max_retries = self.retry.max_retries,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "embedding request failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
            }
        }
    }

    /// Checks an answer for `expected` texts and returns its vectors in input order, normalised.
    fn vectors(&self, response: EmbeddingResponse, expected: usize) -> Result<Vec<Vec<f32>>> {
        if response.data.len() != expected {
            return Err(Error::unusable(format!(
                "asked for {expected} embeddings, the API returned {}",
                response.data.len()
            )));
        }
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; expected];
        for (position, item) in response.data.into_iter().enumerate() {
            let index = item.index.unwrap_or(position);
            let slot = vectors.get_mut(index).ok_or_else(|| {
                Error::unusable(format!(
                    "the API returned an embedding for input {index} of {expected}"
                ))
            })?;
            if slot.is_some() {
                return Err(Error::unusable(format!(
                    "the API returned input {index}'s embedding twice"
                )));
            }
            if item.embedding.len() != self.info.dimension {
                return Err(Error::Dimension {
                    expected: self.info.dimension,
                    actual: item.embedding.len(),
                });
            }
            if item.embedding.iter().any(|x| !x.is_finite()) {
                return Err(Error::unusable(
                    "the API returned an embedding with non-finite values",
                ));
            }
            let mut vector = item.embedding;
            normalize(&mut vector);
            *slot = Some(vector);
        }
        // Every slot is filled: as many items as slots, none twice, none out of range.
        Ok(vectors.into_iter().flatten().collect())
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &ModelInfo {
        &self.info
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Batches by index: a closure over `&[String]` items trips the compiler's higher-ranked
        // lifetime check inside async_trait's boxed future.
        let size = self.batch_size;
        let batches: Vec<Vec<Vec<f32>>> = futures::stream::iter((0..texts.len()).step_by(size))
            .map(|start| self.embed_batch(&texts[start..texts.len().min(start + size)]))
            .buffered(self.max_concurrency)
            .try_collect()
            .await?;
        Ok(batches.into_iter().flatten().collect())
    }
}

/// The request body: OpenAI's, with only what every compatible server understands.
#[derive(Debug, Serialize)]
struct EmbeddingRequest<'a> {
    model: &'a str,
    input: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
}

/// The answer, leniently: servers that omit `object`, `model`, `usage` or `index` are fine.
#[derive(Debug, Deserialize)]
struct EmbeddingResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Debug, Deserialize)]
struct EmbeddingItem {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

/// What to do after a failed attempt.
enum Failure {
    /// Retry (after the server's `Retry-After` if it gave one); `error` is what to report when no
    /// retry is left.
    Transient {
        error: AttemptError,
        retry_after: Option<Duration>,
    },
    /// Give up with this error.
    Fatal(AttemptError),
}

/// How one attempt failed; [`AttemptError::after`] makes it the [`Error`] of the whole request.
#[derive(Debug)]
enum AttemptError {
    /// The server answered an error status.
    Status(HttpStatusError),
    /// The request did not reach the server, or no answer came in time.
    Transport(reqwest::Error),
    /// Any other failure, already final.
    Other(Error),
}

impl AttemptError {
    /// The error of a request that made `attempts` attempts.
    fn after(self, attempts: u32) -> Error {
        match self {
            AttemptError::Status(HttpStatusError { status, message, .. }) => Error::ApiStatus {
                status,
                message,
                attempts,
            },
            AttemptError::Transport(source) => Error::ApiUnreachable { attempts, source },
            AttemptError::Other(error) => error,
        }
    }
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptError::Status(error) => error.fmt(f),
            AttemptError::Transport(error) if error.is_timeout() => {
                f.write_str("the embedding request timed out")
            }
            AttemptError::Transport(error) if error.is_connect() => {
                f.write_str("cannot connect to the embedding API")
            }
            AttemptError::Transport(error) => write!(f, "embedding request failed: {error}"),
            AttemptError::Other(error) => error.fmt(f),
        }
    }
}

fn classify(error: OpenAIError) -> Failure {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpStatusError>() {
            Ok(status) => classify_status(*status),
            Err(other) => Failure::Fatal(AttemptError::Other(Error::ApiClient {
                source: OpenAIError::Boxed(other),
            })),
        },
        OpenAIError::ApiError(response) => classify_status(HttpStatusError {
            status: response.status_code.as_u16(),
            retry_after: None,
            message: response.api_error.message,
        }),
        OpenAIError::Reqwest(error) if error.is_builder() => {
            Failure::Fatal(AttemptError::Other(Error::ApiClient {
                source: OpenAIError::Reqwest(error.without_url()),
            }))
        }
        OpenAIError::Reqwest(error) => Failure::Transient {
            error: AttemptError::Transport(error.without_url()),
            retry_after: None,
        },
        OpenAIError::JSONDeserialize(error, _content) => {
            Failure::Fatal(AttemptError::Other(Error::UnusableEmbeddings {
                problem: "the answer is not an embedding list".to_string(),
                source: Some(error),
            }))
        }
        other => Failure::Fatal(AttemptError::Other(Error::ApiClient { source: other })),
    }
}

fn classify_status(error: HttpStatusError) -> Failure {
    match error.status {
        401 | 403 => Failure::Fatal(AttemptError::Other(Error::Unauthorized { status: error.status })),
        408 | 429 | 500..=599 => Failure::Transient {
            retry_after: error.retry_after,
            error: AttemptError::Status(error),
        },
        _ => Failure::Fatal(AttemptError::Status(error)),
    }
}

/// A non-success HTTP answer, as the transport reports it.
#[derive(Debug)]
struct HttpStatusError {
    status: u16,
    retry_after: Option<Duration>,
    /// The server's message (OpenAI's `error.message` or the start of the body), redacted.
    message: String,
}

impl fmt::Display for HttpStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "HTTP {}", self.status)
        } else {
            write!(f, "HTTP {}: {}", self.status, self.message)
        }
    }
}

impl std::error::Error for HttpStatusError {}

/// The HTTP transport under async-openai's client: one attempt per call (retries are
/// [`OpenAiEmbedder::embed_batch`]'s), and every non-success answer turned into an
/// [`HttpStatusError`] carrying its status and `Retry-After`, which async-openai's own error
/// parsing would lose.
#[derive(Clone)]
struct Transport {
    http: reqwest::Client,
}

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        Box::pin(async move {
            let request = request.build().await?;
            let mut response = http.execute(request).await?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let retry_after = retry_after(response.headers());
            let mut body = Vec::new();
            while body.len() < MAX_ERROR_BODY {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) | Err(_) => break,
                }
            }
            Err(OpenAIError::Boxed(Box::new(HttpStatusError {
                status: status.as_u16(),
                retry_after,
                message: error_message(&body),
            })))
        })
    }
}

/// The wait a 429/503 answer asks for: `retry-after-ms` (OpenAI, Azure) or `Retry-After` in
/// seconds. The HTTP-date form of `Retry-After` is ignored (the backoff applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    if let Some(ms) = value("retry-after-ms") {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(1e6)));
    }
    value("retry-after").map(|s| Duration::from_secs_f64(s.min(1e6)))
}

/// OpenAI's `{"error":{"message":…}}` message, or the start of the body; secrets redacted, at
/// most [`MAX_ERROR_MESSAGE`] characters.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Wrapped {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: String,
    }
    let text = match serde_json::from_slice::<Wrapped>(body) {
        Ok(wrapped) => wrapped.error.message,
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let short: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_ERROR_MESSAGE)
        .collect();
    crate::secrets::redact(&short).text.into_owned()
}

/// Makes sure reqwest's rustls finds a crypto provider (ring, as the workspace's other TLS users).
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either way there is one now.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OpenAiEmbedderConfig {
        OpenAiEmbedderConfig::new("http://127.0.0.1:9/v1", "text-embedding-3-small")
    }

    #[test]
    fn known_models_know_their_dimension_and_unknown_ones_need_it() {
        let embedder = OpenAiEmbedder::new(config()).expect("valid config");
        assert_eq!(
            embedder.model(),
            &ModelInfo {
                id: "openai/text-embedding-3-small".into(),
                dimension: 1536,
                max_tokens: 8191
            }
        );
        let unknown = OpenAiEmbedderConfig::new("http://localhost:11434/v1", "nomic-embed-text");
        assert!(matches!(
            OpenAiEmbedder::new(unknown.clone()),
            Err(Error::Config(_))
        ));
        let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
            dimension: Some(768),
            ..unknown
        })
        .expect("valid config");
        assert_eq!(embedder.model().id, "openai/nomic-embed-text");
        assert_eq!(embedder.model().dimension, 768);
        assert_eq!(embedder.model().max_tokens, DEFAULT_MAX_TOKENS);
    }

    #[test]
    fn a_shortened_text_embedding_3_model_has_its_own_id() {
        let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
            dimension: Some(256),
            ..config()
        })
        .expect("valid config");
        assert_eq!(embedder.model().id, "openai/text-embedding-3-small@256");
        assert_eq!(embedder.request_dimensions, Some(256));
        let wrong = OpenAiEmbedderConfig {
            model: "text-embedding-ada-002".into(),
            dimension: Some(256),
            ..config()
        };
        assert!(matches!(OpenAiEmbedder::new(wrong), Err(Error::Config(_))));
    }

    #[test]
    fn bad_configurations_are_refused_without_echoing_the_key() {
        let cases = [
            OpenAiEmbedderConfig {
                batch_size: 0,
                ..config()
            },
            OpenAiEmbedderConfig {
                max_concurrency: 0,
                ..config()
            },
            OpenAiEmbedderConfig {
                base_url: "file:///etc/passwd".into(),
                ..config()
            },
            OpenAiEmbedderConfig {
                model: " ".into(),
                ..config()
            },
            OpenAiEmbedderConfig {
                api_key: Some("sk-bad\u{7}key-with-a-bell".into()),
                ..config()
            },
        ];
        for case in cases {
            let error = OpenAiEmbedder::new(case).expect_err("refused");
            assert!(!error.to_string().contains("bell"), "{error}");
        }
        // A trailing newline (a mounted Secret file) is trimmed, not refused.
        let key = OpenAiEmbedderConfig {
            api_key: Some("key-from-a-file\n".into()),
            ..config()
        };
        assert!(OpenAiEmbedder::new(key).is_ok());
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_in_its_upper_half() {
        let policy = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        for retry in 0..40 {
            let base = Duration::from_millis(100)
                .saturating_mul(2u32.saturating_pow(retry))
                .min(Duration::from_millis(1000));
            let delay = policy.delay(retry, None);
            assert!(delay >= base / 2 && delay <= base, "{retry}: {delay:?}");
        }
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(policy.delay(0, Some(Duration::from_secs(3600))), MAX_RETRY_AFTER);
    }

    #[test]
    fn retry_after_headers_are_read_in_milliseconds_or_seconds() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "2".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "250".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        let mut date = reqwest::header::HeaderMap::new();
        date.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&date), None);
    }

    #[test]
    fn statuses_are_classified() {
        let status = |status| {
            classify_status(HttpStatusError {
                status,
                retry_after: None,
                message: String::new(),
            })
        };
        assert!(matches!(
            status(401),
            Failure::Fatal(AttemptError::Other(Error::Unauthorized { status: 401 }))
        ));
        assert!(matches!(
            status(403),
            Failure::Fatal(AttemptError::Other(Error::Unauthorized { status: 403 }))
        ));
        for transient in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(status(transient), Failure::Transient { .. }));
        }
        for fatal in [400, 404, 413, 422] {
            let Failure::Fatal(error) = status(fatal) else {
                panic!("HTTP {fatal} must not be retried");
            };
            assert!(matches!(
                error.after(1),
                Error::ApiStatus { status, attempts: 1, .. } if status == fatal
            ));
        }
    }

    #[test]
    fn error_messages_are_short_and_redacted() {
        let key = ["sk-", "proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90"].concat();
        let body = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {key}","type":"invalid_request_error"}}}}"#
        );
        let message = error_message(body.as_bytes());
        assert!(message.starts_with("Incorrect API key provided: [REDACTED:openai-key]"));
        let long = "x ".repeat(10_000);
        assert!(error_message(long.as_bytes()).chars().count() <= MAX_ERROR_MESSAGE);
        assert_eq!(error_message(b"\xff\xfe oops"), "\u{fffd}\u{fffd} oops");
    }
}
