//! The HTTP side of the chat client: the reqwest transport under async-openai, the retry policy,
//! the classification of failures, and the redaction of secrets in what servers say.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;

use super::wire::ApiErrorBody;
use crate::Error;

/// Longest wait a server's `Retry-After` is honoured with: an interactive answer should fail
/// rather than wait longer.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Longest part of a server's message kept in an error.
pub(super) const MAX_ERROR_MESSAGE: usize = 300;
/// Most bytes of an error answer read.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// When and how long to retry.
#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): the server's `Retry-After` when it gave one
    /// (capped at [`MAX_RETRY_AFTER`]), else `initial · 2^retry` capped at `max_backoff`, jittered
    /// uniformly in its upper half.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
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

/// Removes secrets from text a server or the transport produced before it goes into an error or
/// a log line: the configured API key wherever it appears, OpenAI-style `sk-…` keys and bearer
/// tokens.
#[derive(Clone)]
pub(super) struct Redactor {
    key: Option<Arc<str>>,
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
        }
    }

    /// `text` without secrets.
    pub fn clean(&self, text: &str) -> String {
        let text = match &self.key {
            Some(key) => text.replace(&**key, REDACTED),
            None => text.to_string(),
        };
        KEY_PATTERNS.replace_all(&text, REDACTED).into_owned()
    }

    /// `text` without secrets, on one line, at most [`MAX_ERROR_MESSAGE`] characters.
    pub fn short(&self, text: &str) -> String {
        let clean = self.clean(text);
        let mut words = clean.split_whitespace();
        let mut out = String::new();
        if let Some(first) = words.next() {
            out.push_str(first);
        }
        for word in words {
            out.push(' ');
            out.push_str(word);
        }
        match out.char_indices().nth(MAX_ERROR_MESSAGE) {
            Some((cut, _)) => {
                out.truncate(cut);
                out.push('…');
                out
            }
            None => out,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug)]
pub(super) enum Failure {
    /// Retry (after the server's `Retry-After` if it gave one); `error` is what to report when no
    /// retry is left.
    Transient {
        error: AttemptError,
        retry_after: Option<Duration>,
    },
    /// OpenAI refused `max_tokens` for this model: send `max_completion_tokens` instead.
    WantsMaxCompletionTokens(AttemptError),
    /// Give up with this error.
    Fatal(AttemptError),
}

/// How one attempt failed; [`AttemptError::after`] makes it the [`Error`] of the whole request.
#[derive(Debug)]
pub(super) enum AttemptError {
    /// The server answered an error status; `message` is redacted and short.
    Status { status: u16, message: String },
    /// The request did not reach the server, or no answer came in time; the message is redacted.
    Unreachable(String),
    /// Any other failure, already final.
    Final(Error),
}

impl AttemptError {
    /// The error of a request that made `attempts` attempts.
    pub fn after(self, attempts: u32) -> Error {
        match self {
            AttemptError::Status { status, message } => Error::ApiStatus {
                status,
                message,
                attempts,
            },
            AttemptError::Unreachable(message) => Error::Unreachable { attempts, message },
            AttemptError::Final(error) => error,
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
            AttemptError::Unreachable(message) => f.write_str(message),
            AttemptError::Final(error) => error.fmt(f),
        }
    }
}

/// Classifies the failure of opening a stream (async-openai's error) for the model `model`.
pub(super) fn classify(error: OpenAIError, model: &str, redactor: &Redactor) -> Failure {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpStatusError>() {
            Ok(status) => classify_status(*status, model, redactor),
            Err(other) => Failure::Fatal(AttemptError::Final(Error::Stream(
                redactor.short(&other.to_string()),
            ))),
        },
        OpenAIError::ApiError(response) => classify_status(
            HttpStatusError {
                status: response.status_code.as_u16(),
                retry_after: None,
                body: ApiErrorBody {
                    message: redactor.clean(&response.api_error.message),
                    code: response.api_error.code,
                    kind: response.api_error.r#type,
                    param: response.api_error.param,
                },
            },
            model,
            redactor,
        ),
        OpenAIError::Reqwest(error) if error.is_builder() => {
            Failure::Fatal(AttemptError::Final(Error::Config(format!(
                "cannot build the chat request: {}",
                describe_reqwest(&error, redactor)
            ))))
        }
        OpenAIError::Reqwest(error) => Failure::Transient {
            error: AttemptError::Unreachable(describe_reqwest(&error, redactor)),
            retry_after: None,
        },
        OpenAIError::InvalidArgument(message) => {
            Failure::Fatal(AttemptError::Final(Error::Config(redactor.short(&message))))
        }
        other => Failure::Fatal(AttemptError::Final(Error::Stream(
            redactor.short(&other.to_string()),
        ))),
    }
}

/// Classifies an error status: 401/403 refuse the key, 404 has no such model, a context-length
/// refusal is [`Error::ContextLengthExceeded`], 408/429/5xx are retried (except OpenAI's
/// `insufficient_quota` 429, which waiting does not cure), anything else is final.
pub(super) fn classify_status(error: HttpStatusError, model: &str, redactor: &Redactor) -> Failure {
    let HttpStatusError {
        status,
        retry_after,
        body,
    } = error;
    let message = redactor.short(&body.message);
    match status {
        401 | 403 => Failure::Fatal(AttemptError::Final(Error::Unauthorized { status })),
        404 => Failure::Fatal(AttemptError::Final(Error::ModelNotFound {
            model: model.to_string(),
        })),
        400 | 413 | 422 if body.is_context_length() => {
            Failure::Fatal(AttemptError::Final(Error::ContextLengthExceeded { message }))
        }
        400 if body.wants_max_completion_tokens() => {
            Failure::WantsMaxCompletionTokens(AttemptError::Status { status, message })
        }
        429 if body.code.as_deref() == Some("insufficient_quota") => {
            Failure::Fatal(AttemptError::Status { status, message })
        }
        408 | 429 | 500..=599 => Failure::Transient {
            error: AttemptError::Status { status, message },
            retry_after,
        },
        _ => Failure::Fatal(AttemptError::Status { status, message }),
    }
}

/// A reqwest error in words, with its causes, without the URL and without secrets.
pub(super) fn describe_reqwest(error: &reqwest::Error, redactor: &Redactor) -> String {
    let what = if error.is_timeout() {
        "the request timed out"
    } else if error.is_connect() {
        "cannot connect to the LLM endpoint"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut text = what.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    redactor.short(&text)
}

/// A non-success HTTP answer, as the transport reports it.
#[derive(Debug)]
pub(super) struct HttpStatusError {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// What the body says; its message already redacted (not yet cut short).
    pub body: ApiErrorBody,
}

impl fmt::Display for HttpStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)
    }
}

impl std::error::Error for HttpStatusError {}

/// The HTTP transport under async-openai's client: one attempt per call (retries are
/// [`super::OpenAiChat`]'s, which only it can keep to "before the first token"), and every
/// non-success answer turned into an [`HttpStatusError`] carrying its status, `Retry-After` and
/// the error body's code and type, which async-openai's own error parsing would lose.
#[derive(Clone)]
pub(super) struct Transport {
    pub http: reqwest::Client,
    pub redactor: Redactor,
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
fn strip_empty_credentials(headers: &mut reqwest::header::HeaderMap) {
    let empty = |value: &reqwest::header::HeaderValue| {
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
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
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

/// Makes sure reqwest's rustls finds a crypto provider (ring, as the workspace's other TLS users).
pub(super) fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either way there is one now.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// `url` without the user name and password it may carry, and without its query string (where
/// some gateways take keys).
pub(super) fn display_url(url: &str) -> String {
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

    fn status(status: u16, body: &[u8]) -> Failure {
        classify_status(
            HttpStatusError {
                status,
                retry_after: None,
                body: ApiErrorBody::from_body(body),
            },
            "m",
            &Redactor::new(""),
        )
    }

    #[test]
    fn statuses_are_classified() {
        assert!(matches!(
            status(401, b""),
            Failure::Fatal(AttemptError::Final(Error::Unauthorized { status: 401 }))
        ));
        assert!(matches!(
            status(403, b""),
            Failure::Fatal(AttemptError::Final(Error::Unauthorized { status: 403 }))
        ));
        assert!(matches!(
            status(404, b""),
            Failure::Fatal(AttemptError::Final(Error::ModelNotFound { model })) if model == "m"
        ));
        for transient in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(status(transient, b""), Failure::Transient { .. }));
        }
        assert!(matches!(
            status(
                429,
                br#"{"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}}"#
            ),
            Failure::Fatal(AttemptError::Status { status: 429, .. })
        ));
        for fatal in [400, 409, 422] {
            let Failure::Fatal(error) = status(fatal, b"nope") else {
                panic!("HTTP {fatal} must not be retried");
            };
            assert!(matches!(
                error.after(1),
                Error::ApiStatus { status, attempts: 1, message } if status == fatal && message == "nope"
            ));
        }
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
