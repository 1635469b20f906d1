//! Problem documents for unknown routes, wrong methods, oversized bodies; request ids.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use reposage_api_server::app;
use reposage_store::Store;
use sqlx::PgPool;

use crate::support::{get, send, small_limits, state};

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_unknown_route_is_a_404_problem(pool: PgPool) {
    let answer = get(&state(Store::from_pool(pool)), "/api/v1/nothing-here").await;

    let problem = answer.assert_problem(StatusCode::NOT_FOUND, "route-not-found");
    assert_eq!(problem["detail"], "no route matches /api/v1/nothing-here");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_wrong_method_on_a_known_route_is_a_405_problem(pool: PgPool) {
    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/api/v1/repositories")
        .body(Body::empty())
        .unwrap();

    let answer = send(app(state(Store::from_pool(pool))), request).await;

    answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
    assert_eq!(answer.headers[header::ALLOW], "GET,HEAD");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_body_over_the_limit_is_a_413_problem(pool: PgPool) {
    let state = state(Store::from_pool(pool)).with_limits(small_limits(64));
    let post = |size: usize| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/anything")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, size)
            .body(Body::from(vec![b'x'; size]))
            .unwrap()
    };

    let too_large = send(app(state.clone()), post(65)).await;
    let within_limit = send(app(state), post(64)).await;

    too_large.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    within_limit.assert_problem(StatusCode::NOT_FOUND, "route-not-found");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn every_response_carries_a_request_id_and_echoes_the_clients(pool: PgPool) {
    let state = state(Store::from_pool(pool));

    let generated = get(&state, "/healthz").await;
    let echoed = send(
        app(state),
        Request::builder()
            .uri("/nowhere")
            .header("x-request-id", "client-chosen-42")
            .body(Body::empty())
            .unwrap(),
    )
    .await;

    let id = generated.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(echoed.headers["x-request-id"], "client-chosen-42");
}
