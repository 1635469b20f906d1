//! RFC 9457 `application/problem+json` documents.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Base of the `type` URI of every problem document; the slug follows it.
pub const PROBLEM_TYPE_BASE: &str = "https://reposage.dev/problems/";

/// Media type of problem documents (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem document. Its response carries the status and the `application/problem+json`
/// content type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `https://reposage.dev/problems/<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary that does not change between occurrences.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened this time, fit for the client.
    pub detail: String,
    /// The request parameter at fault, when one is (an extension member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

impl Problem {
    /// A problem of type `slug` (e.g. `unavailable`) answered with `status`.
    pub fn new(status: StatusCode, slug: &str, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            parameter: None,
        }
    }

    /// The same problem naming the request parameter at fault.
    pub fn with_parameter(self, parameter: impl Into<String>) -> Self {
        Self {
            parameter: Some(parameter.into()),
            ..self
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}
