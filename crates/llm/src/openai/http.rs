//! The HTTP side shared by RepoSage's clients of OpenAI-compatible APIs: this crate's chat client
//! ([`super::OpenAiChat`]) and `reposage-retrieval`'s embedder. Each client keeps what is its own
//! (which statuses mean what for it, its error type, its defaults); what is the same for any
//! OpenAI-compatible endpoint is here:
//!
//! - [`Endpoint`]: a checked base URL, API key and optional [`AzureDeployment`];
//!   [`Endpoint::client`] builds async-openai's client over the [`Transport`].
//! - [`Transport`]: the reqwest transport under async-openai. One attempt per call (retrying is the
//!   client's), every non-success answer turned into an [`HttpStatusError`] that keeps its status,
//!   `Retry-After` and [`ApiErrorBody`] (async-openai's own parsing loses them), and no empty
//!   credential headers sent to servers without authentication.
//! - [`ApiFailure`]: async-openai's error sorted into what a client decides on — an error status,
//!   a request that cannot be built, an unreachable server, anything else.
//! - [`RetryPolicy`] and [`Failure`]: exponential backoff jittered in its upper half, a server's
//!   `Retry-After` honoured up to [`RetryPolicy::max_retry_after`], and the wait-and-log step of a
//!   client's retry loop ([`RetryPolicy::after_failure`]).
//! - [`Redactor`]: secrets out of what servers say (the configured key, key-shaped text, and any
//!   rule set of the caller's), cut to [`MAX_ERROR_MESSAGE`] characters on one line;
//!   [`display_url`] for base URLs in `Debug` output.
//! - [`install_crypto_provider`]: rustls' ring provider for reqwest, installed once.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::{AzureConfig, Config, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use reqwest::header::{HeaderMap, HeaderValue};

/// Longest part of a server's message kept in an error, in characters (an ellipsis marks a cut).
pub const MAX_ERROR_MESSAGE: usize = 300;
/// Most bytes of an error answer's body read.
pub const MAX_ERROR_BODY: usize = 16 * 1024;

/// An Azure OpenAI deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureDeployment {
    /// The deployment name (in the request path).
    pub deployment: String,
    /// The `api-version` query parameter, e.g. `2024-10-21`.
    pub api_version: String,
}

/// Where an OpenAI-compatible API is and the key it takes, checked. Its [`fmt::Debug`] output
/// hides the key and any credentials in the URL.
#[derive(Clone)]
pub struct Endpoint {
    base_url: String,
    api_key: String,
    azure: Option<AzureDeployment>,
}

/// Why an [`Endpoint`] cannot work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointError {
    /// The base URL is not http(s).
    BaseUrl,
    /// The API key holds characters an HTTP header cannot carry.
    ApiKey,
    /// The Azure deployment name or api-version is empty.
    Azure,
}

impl EndpointError {
    /// The problem in words, for the API called `api` (`"chat"`, `"embedding"`); never echoes
    /// the key.
    pub fn describe(self, api: &str) -> String {
        match self {
            EndpointError::BaseUrl => {
                format!("the {api} API base URL must start with http:// or https://")
            }
            EndpointError::ApiKey => {
                format!("the {api} API key holds characters an HTTP header cannot carry")
            }
            EndpointError::Azure => {
                "an Azure deployment needs a deployment name and an api-version".to_string()
            }
        }
    }
}

impl Endpoint {
    /// Checks an endpoint: `base_url` (trimmed, without trailing slashes) must be http(s), the
    /// key (trimmed: a mounted Secret's trailing newline goes) must fit an HTTP header, an Azure
    /// deployment needs a name and an api-version. `None` or an empty key: no authentication.
    pub fn new(
        base_url: &str,
        api_key: Option<&str>,
        azure: Option<AzureDeployment>,
    ) -> Result<Self, EndpointError> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(EndpointError::BaseUrl);
        }
        let azure = match azure {
            Some(AzureDeployment {
                deployment,
                api_version,
            }) => {
                let (deployment, api_version) = (deployment.trim(), api_version.trim());
                if deployment.is_empty() || api_version.is_empty() {
                    return Err(EndpointError::Azure);
                }
                Some(AzureDeployment {
                    deployment: deployment.to_string(),
                    api_version: api_version.to_string(),
                })
            }
            None => None,
        };
        let endpoint = Endpoint {
            base_url,
            api_key: api_key.map(str::trim).unwrap_or_default().to_string(),
            azure,
        };
        endpoint.key_header().ok_or(EndpointError::ApiKey)?;
        Ok(endpoint)
    }

    /// The base URL, without trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API key, empty when none is configured.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The Azure deployment, when the base URL is an Azure resource.
    pub fn azure(&self) -> Option<&AzureDeployment> {
        self.azure.as_ref()
    }

    /// The `Authorization: Bearer …` value for requests made without async-openai, when a key is
    /// configured and the endpoint is not Azure (which takes an `api-key` header instead).
    pub fn bearer(&self) -> Option<HeaderValue> {
        if self.azure.is_some() || self.api_key.is_empty() {
            return None;
        }
        self.key_header()
    }

    /// The header value the key travels in (Azure: `api-key`; else `Authorization`), marked
    /// sensitive; `None` when the key cannot be a header.
    fn key_header(&self) -> Option<HeaderValue> {
        let value = match self.azure {
            Some(_) => HeaderValue::from_str(&self.api_key),
            None => HeaderValue::from_str(&format!("Bearer {}", self.api_key)),
        };
        let mut value = value.ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// async-openai's client for this endpoint over `http`, through a [`Transport`] whose error
    /// bodies `redactor` cleans.
    pub fn client(&self, http: reqwest::Client, redactor: Redactor) -> Client<Box<dyn Config>> {
        let config: Box<dyn Config> = match &self.azure {
            Some(AzureDeployment {
                deployment,
                api_version,
            }) => Box::new(
                AzureConfig::new()
                    .with_api_base(self.base_url.clone())
                    .with_deployment_id(deployment.clone())
                    .with_api_version(api_version.clone())
                    .with_api_key(self.api_key.clone()),
            ),
            // Every field is set: OpenAIConfig's defaults come from OPENAI_* environment
            // variables, and a library does not read the environment.
            None => Box::new(
                OpenAIConfig::new()
                    .with_api_base(self.base_url.clone())
                    .with_api_key(self.api_key.clone())
                    .with_org_id("")
                    .with_project_id(""),
            ),
        };
        Client::build(http.clone(), config).with_http_service(Transport::new(http, redactor))
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("base_url", &display_url(&self.base_url))
            .field("api_key", &(!self.api_key.is_empty()).then_some("<redacted>"))
            .field("azure", &self.azure)
            .finish()
    }
}

/// When and how long to retry a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before the first retry when the server does not say; doubled at each retry.
    pub initial_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Longest wait a server's `Retry-After` is honoured with.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): the server's `Retry-After` when it gave one
    /// (capped at [`RetryPolicy::max_retry_after`]), else `initial_backoff · 2^retry` capped at
    /// `max_backoff`, jittered uniformly in its upper half.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
        let base = self
            .initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        base / 2 + base.mul_f64(random_fraction() / 2.0)
    }

    /// The retry step after a failed attempt, `retry` being the retries made so far: a fatal
    /// failure, or a transient one with no retry left, gives its error back; otherwise this logs
    /// a warning (`"{what}, retrying"`, with `model`, the reason and the delay), waits
    /// [`RetryPolicy::delay`] and counts the retry.
    pub async fn after_failure<E: fmt::Display>(
        &self,
        failure: Failure<E>,
        retry: &mut u32,
        model: &str,
        what: &str,
    ) -> Result<(), E> {
        let (error, retry_after) = match failure {
            Failure::Fatal(error) => return Err(error),
            Failure::Transient { error, retry_after } => (error, retry_after),
        };
        if *retry >= self.max_retries {
            return Err(error);
        }
        let delay = self.delay(*retry, retry_after);
        tracing::warn!(
            model = %model,
            reason = %error,
            retry = *retry + 1,
            max_retries = self.max_retries,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "{what}, retrying"
        );
        tokio::time::sleep(delay).await;
        *retry += 1;
        Ok(())
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

/// What to do after a failed attempt; `E` is the client's own attempt error.
#[derive(Debug)]
pub enum Failure<E> {
    /// Retry (after the server's `Retry-After` if it gave one); `error` is what to report when no
    /// retry is left.
    Transient {
        /// The failure, reported when no retry is left.
        error: E,
        /// The wait the server asked for.
        retry_after: Option<Duration>,
    },
    /// Give up with this error.
    Fatal(E),
}

/// async-openai's error, sorted into what a client decides on.
#[derive(Debug)]
pub enum ApiFailure {
    /// The server answered an error status.
    Status(HttpStatusError),
    /// The request could not be built (a bad URL or header): retrying cannot help. Without the URL.
    Request(reqwest::Error),
    /// The request did not reach the server, or its answer did not come. Without the URL.
    Unreachable(reqwest::Error),
    /// Anything else (an answer that does not parse, an invalid argument, …).
    Other(OpenAIError),
}

impl ApiFailure {
    /// Sorts `error`; an error status that async-openai parsed itself (not through the
    /// [`Transport`]) has its message cleaned by `redactor`.
    pub fn new(error: OpenAIError, redactor: &Redactor) -> Self {
        match error {
            OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpStatusError>() {
                Ok(status) => ApiFailure::Status(*status),
                Err(other) => ApiFailure::Other(OpenAIError::Boxed(other)),
            },
            OpenAIError::ApiError(response) => ApiFailure::Status(HttpStatusError {
                status: response.status_code.as_u16(),
                retry_after: None,
                body: ApiErrorBody {
                    message: redactor.clean(&response.api_error.message),
                    code: response.api_error.code,
                    kind: response.api_error.r#type,
                    param: response.api_error.param,
                },
            }),
            OpenAIError::Reqwest(error) if error.is_builder() => ApiFailure::Request(error.without_url()),
            OpenAIError::Reqwest(error) => ApiFailure::Unreachable(error.without_url()),
            other => ApiFailure::Other(other),
        }
    }
}

/// A non-success HTTP answer, as the [`Transport`] reports it. Its [`fmt::Display`] shows the
/// status only.
#[derive(Debug)]
pub struct HttpStatusError {
    /// The HTTP status.
    pub status: u16,
    /// The wait the server asked for ([`retry_after`]).
    pub retry_after: Option<Duration>,
    /// What the body says; its message already redacted, not yet cut short.
    pub body: ApiErrorBody,
}

impl HttpStatusError {
    /// 401 or 403: the key is refused, and retrying it only burns quota.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.status, 401 | 403)
    }

    /// 408, 429 or 5xx: worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(self.status, 408 | 429 | 500..=599)
    }
}

impl fmt::Display for HttpStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)
    }
}

impl std::error::Error for HttpStatusError {}

/// What an error body (an HTTP error answer, or an error event in a stream) says, from any of the
/// shapes servers use: OpenAI's and llama.cpp's `{"error":{"message","type","code","param"}}`,
/// vLLM's `{"object":"error","message",…}` (older versions) or wrapped like OpenAI's, Ollama's
/// `{"error":"…"}`; else the body's text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApiErrorBody {
    /// The message (redacted by the [`Transport`]; as parsed by [`ApiErrorBody::from_body`] and
    /// [`ApiErrorBody::from_value`]).
    pub message: String,
    /// `code`, as text (OpenAI: `context_length_exceeded`; vLLM and llama.cpp: the HTTP status).
    pub code: Option<String>,
    /// `type` (llama.cpp: `exceed_context_size_error`).
    pub kind: Option<String>,
    /// `param` (OpenAI: the parameter refused).
    pub param: Option<String>,
}

impl ApiErrorBody {
    /// The error a JSON value describes, if it is an error object in one of the known shapes.
    pub fn from_value(value: &serde_json::Value) -> Option<Self> {
        let object = value.as_object()?;
        let text = |v: Option<&serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let fields = |o: &serde_json::Map<String, serde_json::Value>| ApiErrorBody {
            message: text(o.get("message")).unwrap_or_default(),
            code: text(o.get("code")),
            kind: text(o.get("type")),
            param: text(o.get("param")),
        };
        match object.get("error") {
            Some(serde_json::Value::Object(inner)) => Some(fields(inner)),
            Some(serde_json::Value::String(message)) => Some(ApiErrorBody {
                message: message.clone(),
                ..ApiErrorBody::default()
            }),
            Some(other) if !other.is_null() => Some(ApiErrorBody {
                message: other.to_string(),
                ..ApiErrorBody::default()
            }),
            _ if object.get("object").and_then(|o| o.as_str()) == Some("error") => Some(fields(object)),
            _ => None,
        }
    }

    /// The error a non-success answer's body describes: its error object, else the body's text.
    pub fn from_body(body: &[u8]) -> Self {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|value| Self::from_value(&value))
            .unwrap_or_else(|| ApiErrorBody {
                message: String::from_utf8_lossy(body).into_owned(),
                ..ApiErrorBody::default()
            })
    }
}

/// Removes secrets from text a server or the transport produced before it goes into an error or
/// a log line: the configured API key wherever it appears, the caller's own rules if it has
/// some ([`Redactor::with_rules`]), then OpenAI-style `sk-…` keys and bearer tokens.
#[derive(Clone)]
pub struct Redactor {
    key: Option<Arc<str>>,
    rules: Option<fn(&str) -> String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
    }
}

/// Key-shaped text: OpenAI keys (`sk-…`, `sk-proj-…`) and bearer tokens.
static KEY_PATTERNS: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?i)\bsk-[A-Za-z0-9_\-]{8,}|\bbearer\s+[A-Za-z0-9._~+/=\-]{8,}")
        .expect("the key pattern is valid")
});

/// What replaces a secret.
const REDACTED: &str = "[REDACTED]";

impl Redactor {
    /// A redactor for the API key `key` (empty: none configured).
    pub fn new(key: &str) -> Self {
        Redactor {
            key: (!key.is_empty()).then(|| Arc::from(key)),
            rules: None,
        }
    }

    /// This redactor, also applying `rules` (e.g. a crate's fuller secret scanner) after removing
    /// the key and before the key patterns.
    pub fn with_rules(self, rules: fn(&str) -> String) -> Self {
        Redactor {
            rules: Some(rules),
            ..self
        }
    }

    /// `text` without secrets.
    pub fn clean(&self, text: &str) -> String {
        let text = match &self.key {
            Some(key) => text.replace(&**key, REDACTED),
            None => text.to_string(),
        };
        let text = match self.rules {
            Some(rules) => rules(&text),
            None => text,
        };
        KEY_PATTERNS.replace_all(&text, REDACTED).into_owned()
    }

    /// `text` without secrets, on one line, at most [`MAX_ERROR_MESSAGE`] characters (then an
    /// ellipsis).
    pub fn short(&self, text: &str) -> String {
        let clean = self.clean(text);
        let mut out = clean.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some((cut, _)) = out.char_indices().nth(MAX_ERROR_MESSAGE) {
            out.truncate(cut);
            out.push('…');
        }
        out
    }
}

/// The HTTP transport under async-openai's client ([`Endpoint::client`] installs it): one attempt
/// per call (retries are the client's, which alone knows when a retry is still possible), and
/// every non-success answer turned into an [`HttpStatusError`] carrying its status, `Retry-After`
/// and the error body (its message cleaned by the [`Redactor`]), which async-openai's own error
/// parsing would lose.
#[derive(Clone, Debug)]
pub struct Transport {
    http: reqwest::Client,
    redactor: Redactor,
}

impl Transport {
    /// A transport sending through `http`.
    pub fn new(http: reqwest::Client, redactor: Redactor) -> Self {
        Transport { http, redactor }
    }
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
        let redactor = self.redactor.clone();
        Box::pin(async move {
            let mut request = request.build().await?;
            strip_empty_credentials(request.headers_mut());
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
            let mut body = ApiErrorBody::from_body(&body);
            body.message = redactor.clean(&body.message);
            Err(OpenAIError::Boxed(Box::new(HttpStatusError {
                status: status.as_u16(),
                retry_after,
                body,
            })))
        })
    }
}

/// Removes the `Authorization: Bearer ` (or Azure `api-key`) header async-openai adds even when
/// no key is configured: a server without authentication should see no credentials at all.
fn strip_empty_credentials(headers: &mut HeaderMap) {
    let empty = |value: &HeaderValue| {
        let value = value.as_bytes().trim_ascii();
        value.is_empty() || value.eq_ignore_ascii_case(b"bearer")
    };
    if headers.get(reqwest::header::AUTHORIZATION).is_some_and(empty) {
        headers.remove(reqwest::header::AUTHORIZATION);
    }
    if headers.get("api-key").is_some_and(empty) {
        headers.remove("api-key");
    }
}

/// The wait a 429/503 answer asks for: `retry-after-ms` (OpenAI, Azure) or `Retry-After` in
/// seconds. The HTTP-date form of `Retry-After` is ignored (the backoff applies).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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

/// Makes sure reqwest's rustls finds a crypto provider (ring, as the workspace's other TLS users);
/// call it before building a `reqwest::Client`.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either way there is one now.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// `url` without the user name and password it may carry, and without its query string (where
/// some gateways take keys).
pub fn display_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(slash) => rest.split_at(slash),
                None => (rest, ""),
            };
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{REDACTED}@{host}{path}"),
                None => without_query.to_string(),
            }
        }
        None => without_query.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_in_its_upper_half() {
        let policy = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(60),
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
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(60)
        );
    }

    #[tokio::test]
    async fn the_retry_step_gives_up_on_fatal_failures_and_when_retries_run_out() {
        let policy = RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(60),
        };
        let mut retry = 0;
        let fatal = policy.after_failure(Failure::Fatal("no"), &mut retry, "m", "it failed");
        assert_eq!(fatal.await, Err("no"));
        let transient = || Failure::Transient {
            error: "later",
            retry_after: Some(Duration::from_millis(20)),
        };
        let started = std::time::Instant::now();
        assert_eq!(
            policy
                .after_failure(transient(), &mut retry, "m", "it failed")
                .await,
            Ok(())
        );
        assert_eq!(retry, 1);
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(
            policy
                .after_failure(transient(), &mut retry, "m", "it failed")
                .await,
            Err("later")
        );
    }

    #[test]
    fn retry_after_headers_are_read_in_milliseconds_or_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "2".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "250".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        let mut date = HeaderMap::new();
        date.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&date), None);
    }

    #[test]
    fn statuses_are_sorted_into_refused_retried_and_final() {
        let status = |status| HttpStatusError {
            status,
            retry_after: None,
            body: ApiErrorBody::default(),
        };
        assert!(status(401).is_unauthorized() && status(403).is_unauthorized());
        for transient in [408, 429, 500, 502, 503, 504] {
            assert!(status(transient).is_transient(), "{transient}");
        }
        for fatal in [400, 401, 404, 413, 422] {
            assert!(!status(fatal).is_transient(), "{fatal}");
        }
    }

    #[test]
    fn error_bodies_of_every_server_shape_are_understood() {
        let openai = ApiErrorBody::from_body(
            br#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        );
        assert_eq!(openai.code.as_deref(), Some("context_length_exceeded"));
        assert_eq!(openai.param.as_deref(), Some("messages"));
        let vllm = ApiErrorBody::from_body(
            br#"{"object":"error","message":"maximum context length is 4096 tokens","type":"BadRequestError","param":null,"code":400}"#,
        );
        assert_eq!(vllm.message, "maximum context length is 4096 tokens");
        assert_eq!(vllm.code.as_deref(), Some("400"));
        assert_eq!(vllm.kind.as_deref(), Some("BadRequestError"));
        let ollama = ApiErrorBody::from_body(br#"{"error":"model \"x\" not found"}"#);
        assert_eq!(ollama.message, "model \"x\" not found");
        assert_eq!(ApiErrorBody::from_body(b"Bad Gateway").message, "Bad Gateway");
        assert_eq!(
            ApiErrorBody::from_body(b"\xff\xfe oops").message,
            "\u{fffd}\u{fffd} oops"
        );
        assert_eq!(
            ApiErrorBody::from_value(&serde_json::json!({"choices": []})),
            None
        );
        assert_eq!(
            ApiErrorBody::from_value(&serde_json::json!({"error": null})),
            None
        );
    }

    #[test]
    fn messages_lose_the_key_and_other_secrets_and_are_cut_short() {
        let key = "my-very-secret-key-1234";
        let redactor = Redactor::new(key);
        let message = redactor.short(&format!(
            "Incorrect API key provided: {key}.\n  Also sk-proj-Ab12Cd34Ef56Gh78 and Bearer abcdefgh12345678"
        ));
        assert_eq!(
            message,
            "Incorrect API key provided: [REDACTED]. Also [REDACTED] and [REDACTED]"
        );
        let long = redactor.short(&"x ".repeat(10_000));
        assert_eq!(long.chars().count(), MAX_ERROR_MESSAGE + 1);
        assert!(long.ends_with('…'));
        let ruled = Redactor::new("").with_rules(|text| text.replace("hunter2", "[PASSWORD]"));
        assert_eq!(ruled.clean("password hunter2"), "password [PASSWORD]");
    }

    #[test]
    fn endpoints_are_checked_and_hide_their_key() {
        let endpoint = Endpoint::new(" https://example.com/v1/ ", Some("sk-key\n"), None).expect("valid");
        assert_eq!(endpoint.base_url(), "https://example.com/v1");
        assert_eq!(endpoint.api_key(), "sk-key");
        assert_eq!(
            endpoint.bearer().expect("a key").to_str().expect("ascii"),
            "Bearer sk-key"
        );
        assert!(!format!("{endpoint:?}").contains("sk-key"));
        assert!(
            Endpoint::new("http://localhost:11434/v1", None, None)
                .expect("valid")
                .bearer()
                .is_none()
        );
        let azure = |deployment: &str| {
            Some(AzureDeployment {
                deployment: deployment.into(),
                api_version: "2024-10-21".into(),
            })
        };
        let on_azure = Endpoint::new("https://r.openai.azure.com", Some("k"), azure(" d ")).expect("valid");
        assert_eq!(on_azure.azure().expect("azure").deployment, "d");
        assert!(on_azure.bearer().is_none());
        for (url, key, azure, problem) in [
            ("file:///etc/passwd", None, None, EndpointError::BaseUrl),
            ("http://h/v1", Some("bad\u{7}key"), None, EndpointError::ApiKey),
            (
                "https://r.openai.azure.com",
                None,
                azure(" "),
                EndpointError::Azure,
            ),
        ] {
            assert_eq!(Endpoint::new(url, key, azure).err(), Some(problem));
        }
        assert!(!EndpointError::ApiKey.describe("chat").contains("bad"));
    }

    #[test]
    fn urls_are_shown_without_credentials_or_query() {
        assert_eq!(
            display_url("https://user:pw@example.com/v1?key=abc"),
            "https://[REDACTED]@example.com/v1"
        );
        assert_eq!(
            display_url("http://localhost:11434/v1"),
            "http://localhost:11434/v1"
        );
    }
}
