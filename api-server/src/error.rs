//! Errors: [`Error`] for starting and running the server, [`ApiError`] for what clients see.
//!
//! Every error response is an RFC 9457 `application/problem+json` document. Internal failures are
//! logged (with their whole source chain) where they are converted into an [`ApiError`]; the client
//! only ever sees a generic detail, never SQL or driver text.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reposage_runtime::http::Problem;
use reposage_runtime::report;

/// Errors that stop the server from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be configured, reached or migrated.
    #[error("cannot set up the database")]
    Database(#[source] reposage_runtime::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server stopped with an error.
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
    /// The retrieval configuration (embedder, vector store) could not be resolved.
    #[error("cannot set up search")]
    Retrieval(#[source] reposage_retrieval::Error),
    /// The options do not fit together (e.g. `--embedder local` without a model folder).
    #[error("invalid configuration")]
    Config(#[source] reposage_runtime::Error),
}

/// Result with the server's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error answered to an API client as `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 422: a request parameter (path or query) is missing or invalid.
    #[error("invalid parameter `{parameter}`: {detail}")]
    InvalidParameter {
        /// The parameter's name, e.g. `q` or `id`.
        parameter: &'static str,
        /// What is wrong with it, fit for the client.
        detail: String,
    },
    /// 422: a search query the retrieval layer refused (bad regex, nothing to search for, …); the detail
    /// is the reason, verbatim.
    #[error("invalid query `{parameter}`: {detail}")]
    InvalidQuery {
        /// The parameter holding the query (`q` in a query string, `query` in a JSON body).
        parameter: &'static str,
        /// Why the query was refused, fit for the client.
        detail: String,
    },
    /// 400: the request could not be understood (e.g. a malformed query string or body).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 422: the JSON body is well-formed but does not fit the expected shape (unknown field, wrong type).
    #[error("invalid body: {0}")]
    InvalidBody(String),
    /// 415: the body is not of a media type the route accepts.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 404: the addressed resource (a repository, a run) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: the addressed resource's state forbids the request (a closed conversation, an answer
    /// still being written, an answer that is no longer being written).
    #[error("conflict: {detail}")]
    Conflict {
        /// The request parameter whose resource is in the way, when one is.
        parameter: Option<&'static str>,
        /// What is in the way, fit for the client.
        detail: String,
    },
    /// 404: no route matches the request path.
    #[error("no route for {0}")]
    RouteNotFound(String),
    /// 405: the route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413: the request body exceeds the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 408: the request did not complete within the configured timeout.
    #[error("request timed out")]
    Timeout,
    /// 503: a dependency (the database, the embedding service) is not available; the client may retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 502: a service the server calls (the embedding API) refused or failed the call.
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// 500: something failed inside the server; details are in the server logs only.
    #[error("internal error")]
    Internal,
    /// That status: any other error status produced below the API (kept so it still renders as a problem).
    #[error("HTTP {0}")]
    Status(StatusCode),
}

impl ApiError {
    /// Shorthand for [`ApiError::InvalidParameter`].
    pub fn invalid_parameter(parameter: &'static str, detail: impl Into<String>) -> Self {
        Self::InvalidParameter {
            parameter,
            detail: detail.into(),
        }
    }

    /// Converts an internal failure into [`ApiError::Internal`], logging it with its source chain.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %report(error), "request failed");
        Self::Internal
    }

    /// The problem for an error status that a layer produced without a body (408, 413, 405, …).
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => Self::Timeout,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::INTERNAL_SERVER_ERROR => Self::Internal,
            other => Self::Status(other),
        }
    }

    /// The HTTP status answered.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidParameter { .. } | Self::InvalidQuery { .. } | Self::InvalidBody(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound(_) | Self::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Status(status) => *status,
        }
    }

    /// The last segment of the problem `type` URI.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::InvalidParameter { .. } => "invalid-parameter",
            Self::InvalidQuery { .. } => "invalid-query",
            Self::BadRequest(_) => "bad-request",
            Self::InvalidBody(_) => "invalid-body",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::NotFound(_) => "not-found",
            Self::RouteNotFound(_) => "route-not-found",
            Self::Conflict { .. } => "conflict",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::PayloadTooLarge => "payload-too-large",
            Self::Timeout => "timeout",
            Self::Unavailable(_) => "unavailable",
            Self::BadGateway(_) => "bad-gateway",
            Self::Internal => "internal",
            Self::Status(_) => "http-error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::InvalidParameter { .. } => "Invalid parameter",
            Self::InvalidQuery { .. } => "Invalid search query",
            Self::BadRequest(_) => "Bad request",
            Self::InvalidBody(_) => "Invalid request body",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::NotFound(_) => "Not found",
            Self::RouteNotFound(_) => "Route not found",
            Self::Conflict { .. } => "Conflict",
            Self::MethodNotAllowed => "Method not allowed",
            Self::PayloadTooLarge => "Payload too large",
            Self::Timeout => "Request timed out",
            Self::Unavailable(_) => "Service unavailable",
            Self::BadGateway(_) => "Bad gateway",
            Self::Internal => "Internal server error",
            Self::Status(status) => status.canonical_reason().unwrap_or("HTTP error"),
        }
    }

    /// What the client is told (the problem's `detail`).
    pub fn detail(&self) -> String {
        match self {
            Self::InvalidParameter { parameter, detail } => format!("parameter `{parameter}` {detail}"),
            Self::InvalidQuery { detail, .. }
            | Self::BadRequest(detail)
            | Self::InvalidBody(detail)
            | Self::NotFound(detail)
            | Self::Conflict { detail, .. }
            | Self::Unavailable(detail)
            | Self::BadGateway(detail) => detail.clone(),
            Self::UnsupportedMediaType => {
                "the body must be JSON, sent with `Content-Type: application/json`".to_string()
            }
            Self::RouteNotFound(path) => format!("no route matches {path}"),
            Self::MethodNotAllowed => "this route does not accept the request method".to_string(),
            Self::PayloadTooLarge => "the request body exceeds the configured limit".to_string(),
            Self::Timeout => "the request did not complete within the configured timeout".to_string(),
            Self::Internal => "internal error; see server logs".to_string(),
            Self::Status(status) => format!("the request failed with HTTP status {}", status.as_u16()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}

impl ApiError {
    /// The problem document answered for this error (also the data of a streamed `error` event).
    pub fn problem(&self) -> Problem {
        let problem = Problem::new(self.status(), self.slug(), self.title(), self.detail());
        match self {
            Self::InvalidParameter { parameter, .. } | Self::InvalidQuery { parameter, .. } => {
                problem.with_parameter(*parameter)
            }
            Self::Conflict {
                parameter: Some(parameter),
                ..
            } => problem.with_parameter(*parameter),
            _ => problem,
        }
    }

    /// The answer to an assistant error that stopped a question before it was answered.
    /// `question` names the field holding the question (`question` or `content`).
    pub fn from_assistant(error: reposage_assistant::Error, question: &'static str) -> Self {
        use reposage_assistant::Error as E;
        match error {
            E::InvalidRequest { field, message } => Self::InvalidParameter {
                parameter: if field == "question" { question } else { field },
                detail: message,
            },
            E::NotIndexed { repository } => Self::invalid_parameter(
                "repositories",
                format!("names {repository}, which is not indexed yet"),
            ),
            E::Store(store) => Self::from(store),
            E::Retrieval(retrieval) => Self::from_search(retrieval, question, "mode"),
            E::Llm(llm) => {
                tracing::warn!(error = %report(&llm), "the language model failed");
                Self::BadGateway(
                    "the language model refused or failed the request; see server logs".to_string(),
                )
            }
            other => Self::internal(&other),
        }
    }
}

impl From<reposage_store::Error> for ApiError {
    fn from(error: reposage_store::Error) -> Self {
        match error {
            reposage_store::Error::NotFound { what, id } => Self::NotFound(format!("{what} {id} not found")),
            reposage_store::Error::Conflict { what, id, reason } => Self::Conflict {
                parameter: None,
                detail: format!("{what} {id} {reason}"),
            },
            other => Self::internal(&other),
        }
    }
}

impl ApiError {
    /// The answer to a failed search. `parameter` names where the query came from (`q` or `query`).
    ///
    /// The user's mistakes (a bad regex, a filter without a value, nothing to search for) are 422s
    /// with the retrieval layer's reason; a failing embedding API or vector store is a 502/503 whose
    /// detail says what to do, never what the service answered (that is logged); everything else is
    /// an internal error.
    pub fn from_search(
        error: reposage_retrieval::Error,
        parameter: &'static str,
        mode_parameter: &'static str,
    ) -> Self {
        use reposage_retrieval::Error as E;
        match error {
            E::InvalidQuery(detail) => Self::InvalidQuery { parameter, detail },
            E::SemanticNotConfigured => Self::invalid_parameter(
                mode_parameter,
                "cannot be `semantic`: this server has no embedding model configured (use `lexical` or \
                 `hybrid`)",
            ),
            E::Store(store) => Self::from(store),
            E::Unauthorized { .. } => {
                tracing::error!(error = %report(&error), "the embedding API refused the credentials");
                Self::BadGateway(
                    "the embedding service refused this server's request; see server logs, or search with \
                     mode=lexical"
                        .to_string(),
                )
            }
            E::ApiStatus { .. }
            | E::ApiUnreachable { .. }
            | E::ApiClient { .. }
            | E::UnusableEmbeddings { .. }
            | E::Dimension { .. } => {
                tracing::warn!(error = %report(&error), "the embedding API failed");
                Self::Unavailable(
                    "the embedding service is not available; retry later, or search with mode=lexical"
                        .to_string(),
                )
            }
            E::Qdrant { .. } => {
                tracing::warn!(error = %report(&error), "the vector store failed");
                Self::Unavailable(
                    "the vector store is not available; retry later, or search with mode=lexical".to_string(),
                )
            }
            other => Self::internal(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_reveal_their_cause_to_clients() {
        let error = ApiError::from(reposage_store::Error::Query(sqlx::Error::PoolClosed));
        assert_eq!(error, ApiError::Internal);
        assert_eq!(error.detail(), "internal error; see server logs");
    }

    #[test]
    fn store_not_found_becomes_a_404_naming_the_resource() {
        let error = ApiError::from(reposage_store::Error::NotFound {
            what: "run",
            id: "abc".into(),
        });
        assert_eq!(error.status(), StatusCode::NOT_FOUND);
        assert_eq!(error.detail(), "run abc not found");
    }

    #[test]
    fn error_chain_lists_every_source() {
        let io = std::io::Error::other("disk on fire");
        let error = Error::Bind {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: io,
        };
        assert_eq!(report(&error), "cannot listen on 127.0.0.1:1: disk on fire");
    }
}
