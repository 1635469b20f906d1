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
//!
//! The HTTP side (transport, retry policy, `Retry-After`, redaction of server messages) is the
//! one the chat client uses too: [`reposage_llm::openai::http`].

use std::fmt;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use reposage_llm::openai::http::{
    ApiFailure, Endpoint, HttpStatusError, Redactor, RetryPolicy, install_crypto_provider,
};
use serde::{Deserialize, Serialize};

pub use reposage_llm::openai::http::AzureDeployment;

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

/// OpenAI models whose dimension and input length are known: (name, dimension, max tokens,
/// accepts `dimensions`).
const KNOWN_MODELS: [(&str, usize, usize, bool); 3] = [
    ("text-embedding-3-small", 1536, 8191, true),
    ("text-embedding-3-large", 3072, 8191, true),
    ("text-embedding-ada-002", 1536, 8191, false),
];

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
    redactor: Redactor,
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

        let endpoint = Endpoint::new(&base_url, api_key.as_deref(), azure)
            .map_err(|problem| invalid(problem.describe("embedding")))?;
        let redactor = Redactor::new(endpoint.api_key()).with_rules(redact_secrets);

        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        let client = endpoint.client(http, redactor.clone());

        Ok(Self {
            client,
            info: ModelInfo {
                id,
                dimension,
                max_tokens,
            },
            request_model: model,
            request_dimensions,
            display_url: redact_secrets(endpoint.base_url()),
            batch_size,
            max_concurrency,
            retry: RetryPolicy {
                max_retries,
                initial_backoff,
                max_backoff,
                max_retry_after: MAX_RETRY_AFTER,
            },
            redactor,
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
                Err(error) => classify(error, &self.redactor),
            };
            let attempts = retry + 1;
            let what = "embedding request failed";
            if let Err(error) = self
                .retry
                .after_failure(failure, &mut retry, &self.info.id, what)
                .await
            {
                return Err(error.after(attempts));
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
type Failure = reposage_llm::openai::http::Failure<AttemptError>;

/// How one attempt failed; [`AttemptError::after`] makes it the [`Error`] of the whole request.
#[derive(Debug)]
enum AttemptError {
    /// The server answered an error status; `message` is redacted and short.
    Status { status: u16, message: String },
    /// The request did not reach the server, or no answer came in time.
    Transport(reqwest::Error),
    /// Any other failure, already final.
    Other(Error),
}

impl AttemptError {
    /// The error of a request that made `attempts` attempts.
    fn after(self, attempts: u32) -> Error {
        match self {
            AttemptError::Status { status, message } => Error::ApiStatus {
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
            AttemptError::Status { status, message } if message.is_empty() => {
                write!(f, "HTTP {status}")
            }
            AttemptError::Status { status, message } => write!(f, "HTTP {status}: {message}"),
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

fn classify(error: OpenAIError, redactor: &Redactor) -> Failure {
    match ApiFailure::new(error, redactor) {
        ApiFailure::Status(status) => classify_status(status, redactor),
        ApiFailure::Request(error) => Failure::Fatal(AttemptError::Other(Error::ApiClient {
            source: OpenAIError::Reqwest(error),
        })),
        ApiFailure::Unreachable(error) => Failure::Transient {
            error: AttemptError::Transport(error),
            retry_after: None,
        },
        ApiFailure::Other(OpenAIError::JSONDeserialize(error, _content)) => {
            Failure::Fatal(AttemptError::Other(Error::UnusableEmbeddings {
                problem: "the answer is not an embedding list".to_string(),
                source: Some(error),
            }))
        }
        ApiFailure::Other(other) => Failure::Fatal(AttemptError::Other(Error::ApiClient { source: other })),
    }
}

/// 401/403 refuse the key, 408/429/5xx are retried, anything else is final.
fn classify_status(error: HttpStatusError, redactor: &Redactor) -> Failure {
    if error.is_unauthorized() {
        return Failure::Fatal(AttemptError::Other(Error::Unauthorized { status: error.status }));
    }
    let status = AttemptError::Status {
        status: error.status,
        message: redactor.short(&error.body.message),
    };
    if error.is_transient() {
        Failure::Transient {
            error: status,
            retry_after: error.retry_after,
        }
    } else {
        Failure::Fatal(status)
    }
}

/// `text` through the crate's secret rules ([`crate::secrets`]).
fn redact_secrets(text: &str) -> String {
    crate::secrets::redact(text).text.into_owned()
}

#[cfg(test)]
mod tests {
    use reposage_llm::openai::http::{ApiErrorBody, MAX_ERROR_MESSAGE};

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
    fn statuses_are_classified() {
        let status = |status| {
            classify_status(
                HttpStatusError {
                    status,
                    retry_after: None,
                    body: ApiErrorBody::default(),
                },
                &Redactor::new(""),
            )
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
    fn error_messages_lose_what_the_secret_rules_find_and_are_short() {
        let key = ["sk-", "proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90"].concat();
        let body = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {key}","type":"invalid_request_error"}}}}"#
        );
        let redactor = Redactor::new("").with_rules(redact_secrets);
        let message = redactor.short(&ApiErrorBody::from_body(body.as_bytes()).message);
        assert!(message.starts_with("Incorrect API key provided: [REDACTED:openai-key]"));
        let long = redactor.short(&"x ".repeat(10_000));
        assert!(long.chars().count() <= MAX_ERROR_MESSAGE + 1, "{long}");
    }
}
