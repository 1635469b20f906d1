//! Prometheus metrics of the operator and the HTTP server exposing them with health endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Prefix of every metric name.
pub const PREFIX: &str = "reposage_operator";
/// Content type of the OpenMetrics text format served on `/metrics`.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of `reconcile_failures_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ErrorLabels {
    /// [`crate::Error::metric_label`] of the failure.
    pub error: String,
}

/// The operator's metrics. Cheap to clone: every metric is a shared handle.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Reconciliations started.
    pub reconciliations: Counter,
    /// Reconciliations that failed, by error label.
    pub failures: Family<ErrorLabels, Counter>,
    /// How long reconciliations take.
    pub reconcile_duration: Histogram,
    /// Index Jobs the operator created.
    pub index_jobs_created: Counter,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry` (which should carry [`PREFIX`]).
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Metrics {
            reconciliations: Counter::default(),
            failures: Family::default(),
            // 1 ms … ~33 s
            reconcile_duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            index_jobs_created: Counter::default(),
        };
        registry.register(
            "reconciliations",
            "Reconciliations of Repository resources",
            metrics.reconciliations.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Reconciliations that failed, by error",
            metrics.failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time taken by one reconciliation",
            metrics.reconcile_duration.clone(),
        );
        registry.register(
            "index_jobs_created",
            "Index Jobs created for Repository resources",
            metrics.index_jobs_created.clone(),
        );
        metrics
    }

    /// Counts a failed reconciliation under `label`.
    pub fn record_failure(&self, label: &str) {
        self.failures
            .get_or_create(&ErrorLabels {
                error: label.to_string(),
            })
            .inc();
    }

    /// Records how long one reconciliation took.
    pub fn observe_duration(&self, duration: Duration) {
        self.reconcile_duration.observe(duration.as_secs_f64());
    }
}

/// Shared state of the metrics server.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// The registry `/metrics` encodes.
    pub registry: Arc<Registry>,
    /// Set once the controller runs; `/readyz` answers 503 before.
    pub ready: Arc<AtomicBool>,
}

/// The router of the metrics server: `/metrics`, `/healthz` and `/readyz`.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

/// `GET /metrics`: the registry in the OpenMetrics text format.
async fn metrics(State(state): State<ServerState>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /readyz`: 200 once the controller runs, 503 before.
async fn ready(State(state): State<ServerState>) -> impl IntoResponse {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    fn server() -> (Metrics, ServerState) {
        let mut registry = Registry::with_prefix(PREFIX);
        let metrics = Metrics::new(&mut registry);
        let state = ServerState {
            registry: Arc::new(registry),
            ready: Arc::new(AtomicBool::new(false)),
        };
        (metrics, state)
    }

    async fn get(state: &ServerState, path: &str) -> (StatusCode, Option<String>, String) {
        let response = router(state.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, content_type, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn metrics_are_served_in_openmetrics_text_with_the_prefix() {
        let (metrics, state) = server();
        metrics.reconciliations.inc();
        metrics.record_failure("kube");
        metrics.index_jobs_created.inc();
        metrics.observe_duration(Duration::from_millis(20));
        let (status, content_type, body) = get(&state, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some(OPENMETRICS_CONTENT_TYPE));
        assert!(
            body.contains("reposage_operator_reconciliations_total 1"),
            "{body}"
        );
        assert!(
            body.contains("reposage_operator_reconcile_failures_total{error=\"kube\"} 1"),
            "{body}"
        );
        assert!(
            body.contains("reposage_operator_index_jobs_created_total 1"),
            "{body}"
        );
        assert!(
            body.contains("reposage_operator_reconcile_duration_seconds_count 1"),
            "{body}"
        );
        assert!(body.ends_with("# EOF\n"));
    }

    #[tokio::test]
    async fn health_is_always_ok_and_readiness_waits_for_the_controller() {
        let (_, state) = server();
        assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
        assert_eq!(get(&state, "/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
        state.ready.store(true, Ordering::Relaxed);
        assert_eq!(get(&state, "/readyz").await.0, StatusCode::OK);
    }
}
