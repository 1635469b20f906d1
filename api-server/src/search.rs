//! `GET /api/v1/search` and `POST /api/v1/search`: lexical, semantic or hybrid search over the index
//! through [`reposage_retrieval::Searcher`], every hit explained.
//!
//! Both routes take the same four inputs and answer the same [`SearchResults`](crate::dto::SearchResults)
//! document:
//!
//! | Query string | JSON body | Meaning |
//! |---|---|---|
//! | `q` | `query` | the query, in the [query language](reposage_retrieval::query) (1–1000 characters) |
//! | `mode` | `mode` | `lexical`, `semantic` or `hybrid` (the default) |
//! | `limit` | `limit` | most hits, 1–100 (default 20) |
//! | `repository` (repeatable, or a comma list) | `repositories` (array) | only these repository ids |
//!
//! Every input is validated before anything runs; a problem names the input by the name the client
//! used (`q` or `query`, `repository` or `repositories`). Unknown or repeated query-string parameters
//! and unknown body fields are refused rather than ignored, so a typo never widens a search silently.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use reposage_retrieval::{SearchMode, SearchRequest};
use reposage_store::RepositoryId;
use serde::Deserialize;

use crate::AppState;
use crate::dto::SearchResults;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};

/// Most characters a query may have (after trimming); the retrieval layer's own bound.
pub const MAX_QUERY_CHARS: usize = reposage_retrieval::query::MAX_QUERY_CHARS;
/// Hits returned when no `limit` is given.
pub const DEFAULT_SEARCH_LIMIT: usize = 20;
/// Largest `limit` accepted.
pub const MAX_SEARCH_LIMIT: usize = reposage_retrieval::search::MAX_LIMIT;
/// Most repository ids one search may name.
pub const MAX_SEARCH_REPOSITORIES: usize = 100;

/// Longest unknown parameter name echoed back in a problem.
const ECHO_CHARS: usize = 64;

/// The JSON body of `POST /api/v1/search`. Unknown fields are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// The query, in the query language.
    pub query: Option<String>,
    /// `lexical`, `semantic` or `hybrid` (default).
    pub mode: Option<String>,
    /// Most hits, 1–100 (default 20). Kept as a JSON number so `0`, `-1` or `1e9` are answered with
    /// a problem naming `limit` rather than a generic type error.
    pub limit: Option<serde_json::Number>,
    /// Repository ids to search (all when absent or empty).
    pub repositories: Option<Vec<String>>,
}

/// How the client named each input, so problems point at what it wrote.
#[derive(Debug, Clone, Copy)]
struct Names {
    query: &'static str,
    mode: &'static str,
    limit: &'static str,
    repositories: &'static str,
}

const QUERY_STRING: Names = Names {
    query: "q",
    mode: "mode",
    limit: "limit",
    repositories: "repository",
};

const JSON_BODY: Names = Names {
    query: "query",
    mode: "mode",
    limit: "limit",
    repositories: "repositories",
};

/// Validates the pairs of a search query string (`q`, `mode`, `limit` once each; `repository`
/// repeatable, each value a comma-separated list of ids) into a search request.
pub fn parse_query_string(pairs: Vec<(String, String)>) -> Result<SearchRequest, ApiError> {
    let mut q = None;
    let mut mode = None;
    let mut limit = None;
    let mut repositories = Vec::new();
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "q" => &mut q,
            "mode" => &mut mode,
            "limit" => &mut limit,
            "repository" => {
                for id in value.split(',') {
                    push_repository(&mut repositories, id, QUERY_STRING.repositories)?;
                }
                continue;
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter `{}`: search takes q, mode, limit and repository",
                    other.chars().take(ECHO_CHARS).collect::<String>()
                )));
            }
        };
        if slot.replace(value).is_some() {
            return Err(ApiError::BadRequest(format!(
                "parameter `{key}` is given more than once"
            )));
        }
    }
    validate(QUERY_STRING, q, mode, limit, repositories)
}

/// Validates the JSON body of a search into a search request.
pub fn parse_body(body: SearchBody) -> Result<SearchRequest, ApiError> {
    let SearchBody {
        query,
        mode,
        limit,
        repositories,
    } = body;
    let raw = repositories.unwrap_or_default();
    if raw.len() > MAX_SEARCH_REPOSITORIES {
        return Err(too_many_repositories(JSON_BODY.repositories));
    }
    let mut ids = Vec::with_capacity(raw.len());
    for id in &raw {
        push_repository(&mut ids, id, JSON_BODY.repositories)?;
    }
    validate(JSON_BODY, query, mode, limit.map(|n| n.to_string()), ids)
}

fn validate(
    names: Names,
    query: Option<String>,
    mode: Option<String>,
    limit: Option<String>,
    repositories: Vec<RepositoryId>,
) -> Result<SearchRequest, ApiError> {
    let query = query.ok_or_else(|| ApiError::invalid_parameter(names.query, "is required"))?;
    let query = query.trim();
    if query.is_empty() {
        return Err(ApiError::invalid_parameter(names.query, "must not be empty"));
    }
    if query.chars().nth(MAX_QUERY_CHARS).is_some() {
        return Err(ApiError::invalid_parameter(
            names.query,
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mode = match mode.as_deref().map(str::trim) {
        None => SearchMode::default(),
        Some("lexical") => SearchMode::Lexical,
        Some("semantic") => SearchMode::Semantic,
        Some("hybrid") => SearchMode::Hybrid,
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                names.mode,
                "must be `lexical`, `semantic` or `hybrid`",
            ));
        }
    };
    let limit = match limit {
        None => DEFAULT_SEARCH_LIMIT,
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_SEARCH_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_parameter(
                    names.limit,
                    format!("must be an integer from 1 to {MAX_SEARCH_LIMIT}"),
                )
            })?,
    };
    Ok(SearchRequest {
        query: query.to_string(),
        mode,
        limit,
        repositories,
    })
}

fn push_repository(ids: &mut Vec<RepositoryId>, raw: &str, parameter: &'static str) -> Result<(), ApiError> {
    if ids.len() == MAX_SEARCH_REPOSITORIES {
        return Err(too_many_repositories(parameter));
    }
    let id = raw
        .trim()
        .parse::<RepositoryId>()
        .map_err(|_| ApiError::invalid_parameter(parameter, "must hold repository UUIDs"))?;
    if !ids.contains(&id) {
        ids.push(id);
    }
    Ok(())
}

fn too_many_repositories(parameter: &'static str) -> ApiError {
    ApiError::invalid_parameter(
        parameter,
        format!("may name at most {MAX_SEARCH_REPOSITORIES} repositories"),
    )
}

/// `GET /api/v1/search?q=…&mode=…&limit=…&repository=…`.
pub async fn search_get(
    State(state): State<AppState>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<SearchResults>, ApiError> {
    let request = parse_query_string(pairs)?;
    run(&state, request, QUERY_STRING).await.map(Json)
}

/// `POST /api/v1/search` with a [`SearchBody`].
pub async fn search_post(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SearchBody>,
) -> Result<Json<SearchResults>, ApiError> {
    let request = parse_body(body)?;
    run(&state, request, JSON_BODY).await.map(Json)
}

/// Runs a validated search through the [`Searcher`](reposage_retrieval::Searcher), which owns the
/// policy every entry point shares: semantic without an embedder is refused, and a hybrid search
/// whose semantic half fails (embedding API down, vector store unreachable) answers lexically and
/// says so in `degraded`.
async fn run(state: &AppState, request: SearchRequest, names: Names) -> Result<SearchResults, ApiError> {
    let started = Instant::now();
    let results = state
        .searcher()
        .search(&request)
        .await
        .map_err(|error| ApiError::from_search(error, names.query, names.mode))?;
    state.metrics().observe_search(
        request.mode.as_str(),
        started.elapsed().as_secs_f64(),
        results.hits.len(),
        results.degraded.is_some(),
    );
    Ok(results.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rejected_parameter(result: Result<SearchRequest, ApiError>) -> &'static str {
        match result {
            Err(ApiError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("expected an invalid parameter, got {other:?}"),
        }
    }

    const A: &str = "6f1c1f0e-0000-4000-8000-000000000001";
    const B: &str = "6f1c1f0e-0000-4000-8000-000000000002";

    #[test]
    fn defaults_are_hybrid_and_twenty_hits_over_every_repository() {
        let request = parse_query_string(pairs(&[("q", "  fn main ")])).unwrap();
        assert_eq!(
            request,
            SearchRequest {
                query: "fn main".into(),
                mode: SearchMode::Hybrid,
                limit: DEFAULT_SEARCH_LIMIT,
                repositories: vec![],
            }
        );
        assert_eq!(
            parse_body(SearchBody {
                query: Some(" fn main".into()),
                ..SearchBody::default()
            })
            .unwrap(),
            request
        );
    }

    #[test]
    fn repository_is_repeatable_and_takes_comma_lists() {
        let request = parse_query_string(pairs(&[
            ("q", "x"),
            ("repository", &format!("{A}, {B}")),
            ("repository", A),
        ]))
        .unwrap();
        assert_eq!(
            request.repositories,
            [A.parse().unwrap(), B.parse().unwrap()],
            "duplicates collapse"
        );
        for bad in ["", "nope", &format!("{A},,{B}")] {
            assert_eq!(
                rejected_parameter(parse_query_string(pairs(&[("q", "x"), ("repository", bad)]))),
                "repository",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn more_repositories_than_allowed_are_refused_before_any_are_parsed() {
        let many = vec![A.to_string(); MAX_SEARCH_REPOSITORIES + 1];
        let body = SearchBody {
            query: Some("x".into()),
            repositories: Some(many),
            ..SearchBody::default()
        };
        assert_eq!(rejected_parameter(parse_body(body)), "repositories");
        let distinct: Vec<String> = (0..=MAX_SEARCH_REPOSITORIES)
            .map(|i| format!("6f1c1f0e-0000-4000-8000-{i:012}"))
            .collect();
        let q = pairs(&[("q", "x"), ("repository", &distinct.join(","))]);
        assert_eq!(rejected_parameter(parse_query_string(q)), "repository");
    }

    #[test]
    fn missing_blank_and_oversized_queries_name_the_query_parameter() {
        assert_eq!(rejected_parameter(parse_query_string(pairs(&[]))), "q");
        assert_eq!(rejected_parameter(parse_query_string(pairs(&[("q", "  ")]))), "q");
        let long = "é".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(
            rejected_parameter(parse_query_string(pairs(&[("q", &long)]))),
            "q"
        );
        let longest = "é".repeat(MAX_QUERY_CHARS);
        assert!(parse_query_string(pairs(&[("q", &longest)])).is_ok());
        assert_eq!(rejected_parameter(parse_body(SearchBody::default())), "query");
    }

    #[test]
    fn limits_outside_one_to_a_hundred_or_not_integers_are_refused() {
        for bad in ["0", "101", "-1", "abc", "", "1e3", "99999999999999999999999999"] {
            assert_eq!(
                rejected_parameter(parse_query_string(pairs(&[("q", "x"), ("limit", bad)]))),
                "limit",
                "{bad}"
            );
        }
        for bad in ["0", "101", "-1", "2.5", "1e3"] {
            let body: SearchBody =
                serde_json::from_str(&format!(r#"{{"query":"x","limit":{bad}}}"#)).unwrap();
            assert_eq!(rejected_parameter(parse_body(body)), "limit", "{bad}");
        }
        let q = pairs(&[("q", "x"), ("limit", "100")]);
        assert_eq!(parse_query_string(q).unwrap().limit, 100);
    }

    #[test]
    fn modes_are_the_three_lowercase_names() {
        for (raw, mode) in [
            ("lexical", SearchMode::Lexical),
            ("semantic", SearchMode::Semantic),
            ("hybrid", SearchMode::Hybrid),
        ] {
            let q = pairs(&[("q", "x"), ("mode", raw)]);
            assert_eq!(parse_query_string(q).unwrap().mode, mode);
        }
        for bad in ["dense", "Hybrid", ""] {
            let q = pairs(&[("q", "x"), ("mode", bad)]);
            assert_eq!(rejected_parameter(parse_query_string(q)), "mode", "{bad}");
        }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_bad_requests() {
        for q in [
            pairs(&[("q", "x"), ("query", "y")]),
            pairs(&[("q", "x"), ("q", "y")]),
            pairs(&[("q", "x"), ("limit", "1"), ("limit", "2")]),
        ] {
            assert!(
                matches!(parse_query_string(q.clone()), Err(ApiError::BadRequest(_))),
                "{q:?}"
            );
        }
    }

    #[test]
    fn unknown_body_fields_do_not_deserialize() {
        assert!(serde_json::from_str::<SearchBody>(r#"{"query":"x","topK":5}"#).is_err());
    }
}
