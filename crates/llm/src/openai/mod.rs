//! Chat answers from any OpenAI-compatible `POST {base_url}/chat/completions` endpoint: OpenAI,
//! Azure OpenAI, Ollama (`http://localhost:11434/v1`), vLLM (`http://host:8000/v1`), llama.cpp's
//! server (`http://host:8080/v1`), LiteLLM, …
//!
//! [`OpenAiChat`] streams every answer (`stream: true`, with `stream_options.include_usage` so
//! servers that can report token usage do) and turns the chunks into [`ChatEvent`]s, whatever the
//! server's dialect (see [`stream`](self#streamed-answers)).
//!
//! # Request
//!
//! The body carries `model`, `messages`, `temperature` (when the request sets one), `max_tokens`
//! and, only when the request offers tools and [`OpenAiChatConfig::supports_tools`] is set, the
//! tools as OpenAI `function` tools with `tool_choice: "auto"`. The output limit is sent as
//! `max_tokens`, the one name OpenAI, Azure, Ollama, vLLM and llama.cpp all accept; OpenAI's
//! reasoning models refuse it (HTTP 400 naming `max_completion_tokens`), and the client then sends
//! `max_completion_tokens` instead, for that request and the later ones.
//!
//! # Streamed answers
//!
//! - Text deltas become [`ChatEvent::Delta`]s as they arrive.
//! - Tool calls are assembled and each is one [`ChatEvent::ToolCall`] once the choice finishes:
//!   OpenAI and vLLM stream the arguments in fragments keyed by `index`, possibly interleaved;
//!   Ollama sends each call whole, with no `index` or `index` 0 for every call (a new `id`, or a
//!   new function name after complete JSON arguments, starts a new call).
//! - The finish reason may come alone in a chunk (Ollama); the usage in a last chunk with no
//!   choices (OpenAI, vLLM, Ollama), or not at all (then there is no [`ChatEvent::Usage`]). The
//!   answer ends with the usage, if any, then [`ChatEvent::Finished`].
//! - An `{"error": …}` (or vLLM's `{"object": "error", …}`) event after HTTP 200, a chunk that does
//!   not parse, silence longer than [`OpenAiChatConfig::idle_timeout`] and a connection that ends
//!   before the finish reason all end the stream with [`Error::Stream`], after the events already
//!   delivered.
//! - Dropping the stream closes the HTTP connection at once, which makes the server stop
//!   generating.
//!
//! # Failures before the first token
//!
//! [`ChatModel::stream`] returns once the server's first event arrived, so everything that goes
//! wrong before it is its error:
//!
//! - HTTP 401 and 403: [`Error::Unauthorized`]; 404: [`Error::ModelNotFound`]; a 400 saying the
//!   prompt does not fit (OpenAI's code `context_length_exceeded`, vLLM's "maximum context
//!   length", llama.cpp's "exceeds the available context size"):
//!   [`Error::ContextLengthExceeded`].
//! - HTTP 429, 408 and 5xx, network errors and no first event within
//!   [`OpenAiChatConfig::timeout`] are retried up to [`OpenAiChatConfig::max_retries`] times,
//!   waiting what the server's `retry-after-ms` or `Retry-After` asks for (at most
//!   [`MAX_RETRY_AFTER`]), else an exponential backoff from
//!   [`OpenAiChatConfig::initial_backoff`] (doubling, capped at
//!   [`OpenAiChatConfig::max_backoff`], jittered in its upper half). Retries that run out end with
//!   [`Error::ApiStatus`] or [`Error::Unreachable`], counting the attempts. Nothing is retried
//!   once the stream was handed out.
//! - Any other status: [`Error::ApiStatus`] at once.
//!
//! The API key is sent as `Authorization: Bearer …` (Azure: the `api-key` header) and appears
//! nowhere else: not in [`fmt::Debug`] output, errors or logs; server messages are stripped of it
//! (and of anything shaped like a key) and cut short.
//!
//! # Context window
//!
//! [`OpenAiChat::connect`] (or [`OpenAiChat::discover`]) asks the server how large the context
//! really is (llama.cpp's `/props`, vLLM's `/v1/models`, Ollama's `/api/show`; see
//! [`ContextWindowSource`]); without an answer, [`ModelInfo::context_window`] is
//! [`OpenAiChatConfig::context_window`], else [`DEFAULT_CONTEXT_WINDOW`].
//!
//! # Azure OpenAI
//!
//! Set [`OpenAiChatConfig::azure`]: the base URL is then the resource
//! (`https://my-resource.openai.azure.com`), requests go to
//! `{base_url}/openai/deployments/{deployment}/chat/completions?api-version={api_version}` with the
//! key in the `api-key` header (`stream_options` needs api-version 2024-09-01-preview or later).
//!
//! # TLS
//!
//! HTTPS uses rustls with the ring provider. When the process has not installed a rustls crypto
//! provider, [`OpenAiChat::new`] installs ring's as the process default.
//!
//! [`ChatEvent`]: crate::ChatEvent
//! [`ChatEvent::Delta`]: crate::ChatEvent::Delta
//! [`ChatEvent::ToolCall`]: crate::ChatEvent::ToolCall
//! [`ChatEvent::Usage`]: crate::ChatEvent::Usage
//! [`ChatEvent::Finished`]: crate::ChatEvent::Finished

mod discover;
mod failure;
pub mod http;
mod stream;
mod wire;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::Config;
use async_trait::async_trait;

pub use discover::{ContextWindowSource, DISCOVERY_TIMEOUT, OLLAMA_DEFAULT_NUM_CTX};
pub use http::AzureDeployment;

use self::failure::{AttemptError, Failure, classify};
use self::http::{Endpoint, Redactor, RetryPolicy, display_url, install_crypto_provider};
use self::stream::{Answer, First, Upstream};
use self::wire::ChatBody;
use crate::{ChatModel, ChatRequest, ChatStream, Error, ModelInfo, Result};

/// Default number of retries of a request that failed before its first token.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Default wait before the first retry (doubled at each further retry).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Default longest backoff between two attempts.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Default longest wait for the first event of an answer: generous, since a CPU server reads a
/// long prompt slowly before it sends anything.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Default longest silence between two events of an answer.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Context window assumed when the server does not tell and none is configured, in tokens.
pub const DEFAULT_CONTEXT_WINDOW: usize = 8192;
/// Longest wait a server's `Retry-After` is honoured with: an interactive answer should fail
/// rather than wait longer.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Configuration of an [`OpenAiChat`]. Its [`fmt::Debug`] output hides the API key.
#[derive(Clone)]
pub struct OpenAiChatConfig {
    /// Base URL of the API, up to `/v1`: `https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` (Ollama), a vLLM or llama.cpp server; for Azure, the resource
    /// URL.
    pub base_url: String,
    /// Model name sent with every request (`gpt-4o-mini`, `qwen2.5-coder:7b`, …); for Azure, the
    /// model the deployment runs.
    pub model: String,
    /// API key, sent as a bearer token (Azure: the `api-key` header); surrounding whitespace (a
    /// trailing newline of a mounted Secret) is trimmed. `None` for servers without
    /// authentication.
    pub api_key: Option<String>,
    /// Azure OpenAI deployment, when the base URL is an Azure resource.
    pub azure: Option<AzureDeployment>,
    /// The model's context window in tokens, used when the server does not tell (see
    /// [`ContextWindowSource`]); [`DEFAULT_CONTEXT_WINDOW`] when unset.
    pub context_window: Option<usize>,
    /// Whether requests offer the model tools. Set it off for a server or model without tool
    /// support (vLLM without `--enable-auto-tool-choice` refuses them); discovery turns it off for
    /// an Ollama model whose capabilities lack `tools`.
    pub supports_tools: bool,
    /// Longest wait from sending a request to the answer's first event (connection, headers and
    /// prompt processing); a request that waits longer is retried.
    pub timeout: Duration,
    /// Longest silence between two events of an answer.
    pub idle_timeout: Duration,
    /// Retries of a request after a 429, 408, 5xx, timeout or network error before its first
    /// token.
    pub max_retries: u32,
    /// Wait before the first retry when the server does not say; doubled at each retry.
    pub initial_backoff: Duration,
    /// Longest backoff between two attempts.
    pub max_backoff: Duration,
}

impl OpenAiChatConfig {
    /// A configuration for `model` at `base_url`, without API key, offering tools, with the
    /// default timeouts, retries and backoff.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            azure: None,
            context_window: None,
            supports_tools: true,
            timeout: DEFAULT_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
        }
    }
}

impl fmt::Debug for OpenAiChatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            base_url,
            model,
            api_key,
            azure,
            context_window,
            supports_tools,
            timeout,
            idle_timeout,
            max_retries,
            initial_backoff,
            max_backoff,
        } = self;
        f.debug_struct("OpenAiChatConfig")
            .field("base_url", &display_url(base_url))
            .field("model", model)
            .field("api_key", &api_key.as_ref().map(|_| "<redacted>"))
            .field("azure", azure)
            .field("context_window", context_window)
            .field("supports_tools", supports_tools)
            .field("timeout", timeout)
            .field("idle_timeout", idle_timeout)
            .field("max_retries", max_retries)
            .field("initial_backoff", initial_backoff)
            .field("max_backoff", max_backoff)
            .finish()
    }
}

/// A [`ChatModel`] calling an OpenAI-compatible chat-completions API (see the [module
/// documentation](self)).
pub struct OpenAiChat {
    client: Client<Box<dyn Config>>,
    /// The plain HTTP client under it, for discovery.
    http: reqwest::Client,
    info: ModelInfo,
    context_source: ContextWindowSource,
    /// The configured window, which discovery may replace.
    configured_window: Option<usize>,
    /// Base URL without trailing slash, for discovery.
    base_url: String,
    /// Base URL with any credentials in it redacted, for Debug.
    display_url: String,
    /// `Authorization` header for discovery (not Azure), if a key is configured.
    auth: Option<reqwest::header::HeaderValue>,
    azure: bool,
    timeout: Duration,
    idle_timeout: Duration,
    retry: RetryPolicy,
    /// Set once OpenAI refused `max_tokens` for the model: send `max_completion_tokens`.
    max_completion_tokens: AtomicBool,
    redactor: Redactor,
}

impl fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiChat")
            .field("base_url", &self.display_url)
            .field("model", &self.info)
            .field("context_source", &self.context_source)
            .field("timeout", &self.timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl OpenAiChat {
    /// Checks `config` and builds the HTTP client; sends no request. The context window is the
    /// configured one (or [`DEFAULT_CONTEXT_WINDOW`]) until [`OpenAiChat::discover`] runs.
    ///
    /// Fails with [`Error::Config`] when the configuration cannot work: an empty model name, a
    /// base URL that is not http(s), an empty Azure deployment or api-version, a zero timeout or
    /// context window, or an API key with characters an HTTP header cannot carry.
    pub fn new(config: OpenAiChatConfig) -> Result<Self> {
        let OpenAiChatConfig {
            base_url,
            model,
            api_key,
            azure,
            context_window,
            supports_tools,
            timeout,
            idle_timeout,
            max_retries,
            initial_backoff,
            max_backoff,
        } = config;
        let invalid = |message: &str| Error::Config(message.to_string());
        let model = model.trim().to_string();
        if model.is_empty() {
            return Err(invalid("the chat model name is empty"));
        }
        if timeout.is_zero() || idle_timeout.is_zero() {
            return Err(invalid("the chat timeouts must be longer than zero"));
        }
        if context_window == Some(0) {
            return Err(invalid("the context window must be at least one token"));
        }
        let endpoint = Endpoint::new(&base_url, api_key.as_deref(), azure)
            .map_err(|problem| Error::Config(problem.describe("chat")))?;
        let redactor = Redactor::new(endpoint.api_key());
        let provider = if endpoint.azure().is_some() {
            "azure"
        } else {
            "openai"
        };

        install_crypto_provider();
        // No overall request timeout: it would cut long answers. The wait for the first event
        // and the silences between events are bounded by the stream itself.
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let client = endpoint.client(http.clone(), redactor.clone());

        let (context_window, context_source) = match context_window {
            Some(window) => (window, ContextWindowSource::Configured),
            None => (DEFAULT_CONTEXT_WINDOW, ContextWindowSource::Default),
        };
        Ok(Self {
            client,
            http,
            info: ModelInfo {
                name: model,
                provider,
                context_window,
                supports_tools,
            },
            context_source,
            configured_window: context_window_config(context_source, context_window),
            display_url: display_url(endpoint.base_url()),
            base_url: endpoint.base_url().to_string(),
            auth: endpoint.bearer(),
            azure: endpoint.azure().is_some(),
            timeout,
            idle_timeout,
            retry: RetryPolicy {
                max_retries,
                initial_backoff,
                max_backoff,
                max_retry_after: MAX_RETRY_AFTER,
            },
            max_completion_tokens: AtomicBool::new(false),
            redactor,
        })
    }

    /// [`OpenAiChat::new`], then [`OpenAiChat::discover`].
    pub async fn connect(config: OpenAiChatConfig) -> Result<Self> {
        let mut chat = Self::new(config)?;
        chat.discover().await;
        Ok(chat)
    }

    /// Asks the server for the model's context window (and, for Ollama, whether it takes tools)
    /// and updates [`ModelInfo`]; returns where the window now comes from. Azure and
    /// `api.openai.com` do not tell, and are not asked. A server that does not answer leaves
    /// the configured window: discovery never fails.
    pub async fn discover(&mut self) -> ContextWindowSource {
        if self.azure || self.base_url.contains("://api.openai.com") {
            return self.context_source;
        }
        let probe = discover::Probe {
            http: &self.http,
            base_url: &self.base_url,
            model: &self.info.name,
            auth: self.auth.as_ref(),
            configured: self.configured_window,
        };
        match probe.run().await {
            Some(found) => {
                tracing::debug!(
                    model = %self.info.name,
                    context_window = found.context_window,
                    source = ?found.source,
                    "discovered the model's context window"
                );
                self.info.context_window = found.context_window;
                self.context_source = found.source;
                if found.supports_tools == Some(false) && self.info.supports_tools {
                    tracing::debug!(model = %self.info.name, "the server says the model takes no tools");
                    self.info.supports_tools = false;
                }
            }
            None => tracing::debug!(
                model = %self.info.name,
                context_window = self.info.context_window,
                source = ?self.context_source,
                "the server does not tell the context window; keeping the configured one"
            ),
        }
        self.context_source
    }

    /// Where [`ModelInfo::context_window`] comes from.
    pub fn context_window_source(&self) -> ContextWindowSource {
        self.context_source
    }

    /// One attempt: sends the request and waits (at most the timeout) for the first event.
    async fn attempt(&self, body: &ChatBody<'_>) -> std::result::Result<Answer, Failure> {
        let open = async {
            let upstream: Upstream = self
                .client
                .chat()
                .create_stream_byot::<_, serde_json::Value>(body)
                .await
                .map_err(|error| classify(error, &self.info.name, &self.redactor))?;
            let mut answer = Answer::new(upstream, self.idle_timeout, self.redactor.clone());
            answer.first().await.map_err(|first| match first {
                First::Broken(message) => Failure::Transient {
                    error: AttemptError::Unreachable(message),
                    retry_after: None,
                },
                First::Final(error) => Failure::Fatal(AttemptError::Final(error)),
            })?;
            Ok(answer)
        };
        match tokio::time::timeout(self.timeout, open).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => Err(Failure::Transient {
                error: AttemptError::Unreachable(format!(
                    "no answer within {} ms",
                    u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX)
                )),
                retry_after: None,
            }),
        }
    }
}

/// The configured window, if the window came from the configuration.
fn context_window_config(source: ContextWindowSource, window: usize) -> Option<usize> {
    (source == ContextWindowSource::Configured).then_some(window)
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let with_tools = self.info.supports_tools && !request.tools.is_empty();
        let mut completion_field = self.max_completion_tokens.load(Ordering::Relaxed);
        let mut retry = 0;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let body = ChatBody::new(&self.info.name, &request, with_tools, completion_field);
            let failure = match self.attempt(&body).await {
                Ok(answer) => return Ok(answer.into_stream()),
                Err(failure) => failure,
            };
            if let Failure::Fatal(AttemptError::WantsMaxCompletionTokens { .. }) = failure
                && !completion_field
            {
                tracing::debug!(
                    model = %self.info.name,
                    "the model refuses max_tokens; sending max_completion_tokens"
                );
                self.max_completion_tokens.store(true, Ordering::Relaxed);
                completion_field = true;
                continue;
            }
            let what = "chat request failed before its first token";
            if let Err(error) = self
                .retry
                .after_failure(failure, &mut retry, &self.info.name, what)
                .await
            {
                return Err(error.after(attempts));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OpenAiChatConfig {
        OpenAiChatConfig::new("http://127.0.0.1:9/v1", "gpt-4o-mini")
    }

    #[test]
    fn the_window_is_configured_or_the_default_until_discovered() {
        let chat = OpenAiChat::new(config()).expect("valid config");
        assert_eq!(chat.info().context_window, DEFAULT_CONTEXT_WINDOW);
        assert_eq!(chat.info().provider, "openai");
        assert!(chat.info().supports_tools);
        assert_eq!(chat.context_window_source(), ContextWindowSource::Default);
        let chat = OpenAiChat::new(OpenAiChatConfig {
            context_window: Some(32_768),
            ..config()
        })
        .expect("valid config");
        assert_eq!(chat.info().context_window, 32_768);
        assert_eq!(chat.context_window_source(), ContextWindowSource::Configured);
    }

    #[test]
    fn bad_configurations_are_refused_without_echoing_the_key() {
        let cases = [
            OpenAiChatConfig {
                base_url: "file:///etc/passwd".into(),
                ..config()
            },
            OpenAiChatConfig {
                model: " ".into(),
                ..config()
            },
            OpenAiChatConfig {
                timeout: Duration::ZERO,
                ..config()
            },
            OpenAiChatConfig {
                context_window: Some(0),
                ..config()
            },
            OpenAiChatConfig {
                azure: Some(AzureDeployment {
                    deployment: String::new(),
                    api_version: "2024-10-21".into(),
                }),
                ..config()
            },
            OpenAiChatConfig {
                api_key: Some("sk-bad\u{7}key-with-a-bell".into()),
                ..config()
            },
        ];
        for case in cases {
            let error = OpenAiChat::new(case).expect_err("refused");
            assert!(matches!(error, Error::Config(_)), "{error}");
            assert!(!error.to_string().contains("bell"), "{error}");
        }
        let key = OpenAiChatConfig {
            api_key: Some("key-from-a-file\n".into()),
            ..config()
        };
        assert!(OpenAiChat::new(key).is_ok());
    }
}
