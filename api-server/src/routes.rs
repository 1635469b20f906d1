//! Request handlers.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use reposage_store::{RepositoryId, RunId, SearchQuery, Store};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::dto::{List, Repository, RepositoryDetail, Run, SearchItem, SearchResults};
use crate::error::{ApiError, error_chain};
use crate::extract::{ApiPath, ApiQuery};
use crate::metrics::OPENMETRICS_CONTENT_TYPE;

/// Most characters a search query may have (after trimming).
pub const MAX_QUERY_CHARS: usize = 256;
/// Files returned by a search when no `limit` is given.
pub const DEFAULT_SEARCH_LIMIT: i64 = 20;
/// Largest `limit` a search accepts.
pub const MAX_SEARCH_LIMIT: i64 = 100;

/// `GET /healthz`: the process is alive. No I/O.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ok" }))),
        Err(error) => {
            tracing::warn!(error = %error_chain(&error), "readiness check failed");
            Err(ApiError::Unavailable("the database is not reachable".to_string()))
        }
    }
}

/// `GET /metrics`: OpenMetrics text exposition.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state
        .metrics
        .encode()
        .map_err(|error| ApiError::internal(&error))?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
    );
    Ok(response)
}

/// `GET /api/v1/repositories`.
pub async fn list_repositories(State(state): State<AppState>) -> Result<Json<List<Repository>>, ApiError> {
    let records = state.store.list_repositories().await?;
    let mut items = Vec::with_capacity(records.len());
    for record in records {
        let counts = state.store.count_files(record.id).await?;
        items.push(Repository::from_record(record, counts));
    }
    Ok(Json(List { items }))
}

/// `GET /api/v1/repositories/{id}`: the repository and its last run with events.
pub async fn get_repository(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RepositoryDetail>, ApiError> {
    let id: RepositoryId = parse_id(&id)?;
    let record = state.store.get_repository(id).await?;
    let counts = state.store.count_files(id).await?;
    let last_run = match record.last_run_id {
        Some(run_id) => run_with_events(&state.store, run_id).await?,
        None => None,
    };
    Ok(Json(RepositoryDetail {
        repository: Repository::from_record(record, counts),
        last_run,
    }))
}

/// `GET /api/v1/repositories/{id}/overview`: what the repository says about itself — README summary,
/// license, manifests with dependencies, CI and container files, charts, Kubernetes objects.
pub async fn get_repository_overview(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<reposage_store::RepositoryOverview>, ApiError> {
    let id: RepositoryId = parse_id(&id)?;
    state.store.get_repository(id).await?;
    Ok(Json(state.store.repository_overview(id).await?))
}

/// How many hotspots the metrics endpoint lists.
const HOTSPOTS: i64 = 10;

/// `GET /api/v1/repositories/{id}/metrics`: complexity distribution, maintainability, hotspots and
/// technical debt of the repository's current index.
pub async fn get_repository_metrics(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<reposage_store::RepositoryMetrics>, ApiError> {
    let id: RepositoryId = parse_id(&id)?;
    // a 404 for an unknown repository rather than all-zero metrics
    state.store.get_repository(id).await?;
    Ok(Json(state.store.repository_metrics(id, HOTSPOTS).await?))
}

/// `GET /api/v1/runs/{id}`: a run with its events.
pub async fn get_run(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Run>, ApiError> {
    let id: RunId = parse_id(&id)?;
    let run = state.store.get_run(id).await?;
    let events = state.store.run_events(id).await?;
    Ok(Json(Run::from_record(run, events)))
}

async fn run_with_events(store: &Store, id: RunId) -> Result<Option<Run>, ApiError> {
    let Some(run) = store.find_run(id).await? else {
        return Ok(None);
    };
    let events = store.run_events(id).await?;
    Ok(Some(Run::from_record(run, events)))
}

/// The raw query string of `GET /api/v1/search`; every value is validated by [`parse_search`] so
/// errors name the parameter.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    /// The text to find.
    pub q: Option<String>,
    /// A repository id to restrict the search to.
    pub repository: Option<String>,
    /// Most files returned.
    pub limit: Option<String>,
}

/// Validates search parameters into a store query.
pub fn parse_search(params: SearchParams) -> Result<SearchQuery, ApiError> {
    let SearchParams { q, repository, limit } = params;
    let text = q
        .ok_or_else(|| ApiError::invalid_parameter("q", "is required"))?
        .trim()
        .to_string();
    if text.is_empty() {
        return Err(ApiError::invalid_parameter("q", "must not be empty"));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::invalid_parameter(
            "q",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let limit = match limit {
        None => DEFAULT_SEARCH_LIMIT,
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_SEARCH_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_parameter(
                    "limit",
                    format!("must be an integer from 1 to {MAX_SEARCH_LIMIT}"),
                )
            })?,
    };
    let repository = repository
        .map(|raw| {
            raw.trim()
                .parse::<RepositoryId>()
                .map_err(|_| ApiError::invalid_parameter("repository", "must be a UUID"))
        })
        .transpose()?;
    Ok(SearchQuery {
        text,
        repository,
        limit,
    })
}

/// `GET /api/v1/search?q=…&repository=…&limit=…`: substring search over paths and contents.
pub async fn search(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let query = parse_search(params)?;
    let hits = state.store.search_substring(&query).await?;
    Ok(Json(SearchResults {
        query: query.text,
        items: hits.into_iter().map(SearchItem::from).collect(),
    }))
}

/// Fallback: no route matches.
pub async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_string())
}

fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid_parameter("id", "must be a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: Option<&str>, repository: Option<&str>, limit: Option<&str>) -> SearchParams {
        SearchParams {
            q: q.map(str::to_string),
            repository: repository.map(str::to_string),
            limit: limit.map(str::to_string),
        }
    }

    fn rejected_parameter(params: SearchParams) -> &'static str {
        match parse_search(params) {
            Err(ApiError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("expected an invalid parameter, got {other:?}"),
        }
    }

    #[test]
    fn query_is_trimmed_and_limit_defaults_to_twenty() {
        let query = parse_search(params(Some("  fn main "), None, None)).unwrap();
        assert_eq!(query.text, "fn main");
        assert_eq!(query.limit, DEFAULT_SEARCH_LIMIT);
        assert_eq!(query.repository, None);
    }

    #[test]
    fn missing_blank_and_oversized_queries_are_rejected() {
        assert_eq!(rejected_parameter(params(None, None, None)), "q");
        assert_eq!(rejected_parameter(params(Some("   "), None, None)), "q");
        let long = "é".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(rejected_parameter(params(Some(&long), None, None)), "q");
        let longest = "é".repeat(MAX_QUERY_CHARS);
        assert!(parse_search(params(Some(&longest), None, None)).is_ok());
    }

    #[test]
    fn limit_outside_one_to_a_hundred_or_not_a_number_is_rejected() {
        for bad in ["0", "101", "-1", "abc", "", "1e3"] {
            assert_eq!(
                rejected_parameter(params(Some("x"), None, Some(bad))),
                "limit",
                "{bad}"
            );
        }
        assert_eq!(
            parse_search(params(Some("x"), None, Some("100"))).unwrap().limit,
            100
        );
    }

    #[test]
    fn repository_must_be_a_uuid() {
        assert_eq!(
            rejected_parameter(params(Some("x"), Some("nope"), None)),
            "repository"
        );
        let id = "6f1c1f0e-0000-4000-8000-000000000001";
        let query = parse_search(params(Some("x"), Some(id), None)).unwrap();
        assert_eq!(query.repository.unwrap().to_string(), id);
    }
}
