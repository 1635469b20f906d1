//! Liveness, readiness and metrics.

use std::time::Duration;

use axum::http::StatusCode;
use reposage_api_server::{AppState, HttpLimits};
use reposage_store::Store;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::support::{get, state};

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn healthz_answers_ok_even_when_the_database_is_gone(pool: PgPool) {
    let state = state(Store::from_pool(pool.clone()));
    pool.close().await;

    let answer = get(&state, "/healthz").await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(answer.json(), json!({ "status": "ok" }));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn readyz_is_ok_when_the_database_answers(pool: PgPool) {
    let answer = get(&state(Store::from_pool(pool)), "/readyz").await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({ "status": "ok" }));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn readyz_is_a_503_problem_when_the_pool_is_closed(pool: PgPool) {
    let state = state(Store::from_pool(pool.clone()));
    pool.close().await;

    let answer = get(&state, "/readyz").await;

    let problem = answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(problem["detail"], "the database is not reachable");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_request_stuck_waiting_for_a_connection_times_out_with_a_408_problem(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = pool_options
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(connect_options)
        .await
        .unwrap();
    let held = pool.acquire().await.unwrap();
    let state = AppState::new(Store::from_pool(pool.clone())).with_limits(HttpLimits {
        request_timeout: Duration::from_millis(200),
        ..HttpLimits::default()
    });

    let answer = get(&state, "/readyz").await;

    answer.assert_problem(StatusCode::REQUEST_TIMEOUT, "timeout");
    drop(held);
    pool.close().await;
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn metrics_count_requests_by_route_template_never_by_raw_path(pool: PgPool) {
    let state = state(Store::from_pool(pool));
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(get(&state, "/healthz").await.status, StatusCode::OK);
    let missing = get(&state, &format!("/api/v1/repositories/{unknown}")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&state, "/no/such/route").await.status, StatusCode::NOT_FOUND);

    let answer = get(&state, "/metrics").await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = &answer.text;
    assert!(
        text.contains(r#"reposage_api_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"reposage_api_http_requests_total{method="GET",route="/api/v1/repositories/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"reposage_api_http_requests_total{method="GET",route="<unmatched>",status="404"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"reposage_api_http_request_duration_seconds_count{method="GET",route="/healthz"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains(&unknown.to_string()),
        "raw path leaked into labels: {text}"
    );
    assert!(
        !text.contains("/no/such/route"),
        "raw path leaked into labels: {text}"
    );
}
