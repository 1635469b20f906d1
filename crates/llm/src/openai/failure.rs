//! What a failed chat request means: the chat client's reading of the shared HTTP failures
//! ([`super::http`]) into this crate's [`Error`]s.

use std::fmt;

use async_openai::error::OpenAIError;

use super::http::{ApiFailure, HttpStatusError, Redactor};
use crate::Error;

/// What to do after a failed attempt.
pub(super) type Failure = super::http::Failure<AttemptError>;

/// How one attempt failed; [`AttemptError::after`] makes it the [`Error`] of the whole request.
#[derive(Debug)]
pub(super) enum AttemptError {
    /// The server answered an error status; `message` is redacted and short.
    Status { status: u16, message: String },
    /// OpenAI refused `max_tokens` for this model: send `max_completion_tokens` instead.
    WantsMaxCompletionTokens { status: u16, message: String },
    /// The request did not reach the server, or no answer came in time; the message is redacted.
    Unreachable(String),
    /// Any other failure, already final.
    Final(Error),
}

impl AttemptError {
    /// The error of a request that made `attempts` attempts.
    pub fn after(self, attempts: u32) -> Error {
        match self {
            AttemptError::Status { status, message }
            | AttemptError::WantsMaxCompletionTokens { status, message } => Error::ApiStatus {
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
            AttemptError::Status { status, message }
            | AttemptError::WantsMaxCompletionTokens { status, message } => {
                if message.is_empty() {
                    write!(f, "HTTP {status}")
                } else {
                    write!(f, "HTTP {status}: {message}")
                }
            }
            AttemptError::Unreachable(message) => f.write_str(message),
            AttemptError::Final(error) => error.fmt(f),
        }
    }
}

/// Classifies the failure of opening a stream (async-openai's error) for the model `model`.
pub(super) fn classify(error: OpenAIError, model: &str, redactor: &Redactor) -> Failure {
    match ApiFailure::new(error, redactor) {
        ApiFailure::Status(status) => classify_status(status, model, redactor),
        ApiFailure::Request(error) => Failure::Fatal(AttemptError::Final(Error::Config(format!(
            "cannot build the chat request: {}",
            describe_reqwest(&error, redactor)
        )))),
        ApiFailure::Unreachable(error) => Failure::Transient {
            error: AttemptError::Unreachable(describe_reqwest(&error, redactor)),
            retry_after: None,
        },
        ApiFailure::Other(OpenAIError::InvalidArgument(message)) => {
            Failure::Fatal(AttemptError::Final(Error::Config(redactor.short(&message))))
        }
        ApiFailure::Other(other) => Failure::Fatal(AttemptError::Final(Error::Stream(
            redactor.short(&other.to_string()),
        ))),
    }
}

/// Classifies an error status: 401/403 refuse the key, 404 has no such model, a context-length
/// refusal is [`Error::ContextLengthExceeded`], 408/429/5xx are retried (except OpenAI's
/// `insufficient_quota` 429, which waiting does not cure), anything else is final.
pub(super) fn classify_status(error: HttpStatusError, model: &str, redactor: &Redactor) -> Failure {
    let HttpStatusError { status, body, .. } = &error;
    let (status, message) = (*status, redactor.short(&body.message));
    if error.is_unauthorized() {
        return Failure::Fatal(AttemptError::Final(Error::Unauthorized { status }));
    }
    match status {
        404 => Failure::Fatal(AttemptError::Final(Error::ModelNotFound {
            model: model.to_string(),
        })),
        400 | 413 | 422 if body.is_context_length() => {
            Failure::Fatal(AttemptError::Final(Error::ContextLengthExceeded { message }))
        }
        400 if body.wants_max_completion_tokens() => {
            Failure::Fatal(AttemptError::WantsMaxCompletionTokens { status, message })
        }
        429 if body.code.as_deref() == Some("insufficient_quota") => {
            Failure::Fatal(AttemptError::Status { status, message })
        }
        _ if error.is_transient() => Failure::Transient {
            error: AttemptError::Status { status, message },
            retry_after: error.retry_after,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::http::ApiErrorBody;

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
        assert!(matches!(
            status(
                400,
                br#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","param":"max_tokens"}}"#
            ),
            Failure::Fatal(AttemptError::WantsMaxCompletionTokens { status: 400, .. })
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
}
