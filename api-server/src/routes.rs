//! Request handlers of the API routes (the probes are [`reposage_runtime::http::Probes`]).

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use reposage_store::{RepositoryId, RunId, Store};

use crate::AppState;
use crate::dto::{CodeMetrics, List, Overview, Repository, RepositoryDetail, Run};
use crate::error::ApiError;
use crate::extract::ApiPath;

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
) -> Result<Json<Overview>, ApiError> {
    let id: RepositoryId = parse_id(&id)?;
    state.store.get_repository(id).await?;
    Ok(Json(state.store.repository_overview(id).await?.into()))
}

/// How many hotspots the code-metrics endpoint lists.
const HOTSPOTS: i64 = 10;

/// `GET /api/v1/repositories/{id}/metrics`: complexity distribution, maintainability, hotspots and
/// technical debt of the repository's current index.
pub async fn get_code_metrics(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CodeMetrics>, ApiError> {
    let id: RepositoryId = parse_id(&id)?;
    // a 404 for an unknown repository rather than all-zero metrics
    state.store.get_repository(id).await?;
    Ok(Json(state.store.code_metrics(id, HOTSPOTS).await?.into()))
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

/// Fallback: no route matches.
pub async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_string())
}

fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid_parameter("id", "must be a UUID"))
}
