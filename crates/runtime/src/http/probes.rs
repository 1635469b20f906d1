//! `/healthz`, `/readyz` and `/metrics`, answered alike by the API server and the operator.
//!
//! - `GET /healthz`: `200 {"status":"ok"}` while the process runs. No I/O, so a slow dependency
//!   never gets a live process restarted.
//! - `GET /readyz`: `200 {"status":"ok"}` when the [`Readiness`] check passes, otherwise a `503`
//!   problem document (type `…/unavailable`) whose detail says why.
//! - `GET /metrics`: the Prometheus registry in the OpenMetrics text format.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use reposage_store::Store;
use serde_json::json;

use super::Problem;
use crate::report;

/// Content type of the `/metrics` exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why a process is not ready; the `/readyz` problem's detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotReady(pub String);

/// The future a [`Readiness`] check returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NotReady>> + Send + 'a>>;

/// What `/readyz` asks before it answers 200.
pub trait Readiness: Send + Sync + 'static {
    /// Passes when the process can do its work; otherwise says why not.
    fn check(&self) -> CheckFuture<'_>;
}

/// The database answers a ping. The cause of a failure is logged, never answered.
impl Readiness for Store {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            self.ping().await.map_err(|error| {
                tracing::warn!(error = %report(&error), "readiness check failed");
                NotReady("the database is not reachable".to_string())
            })
        })
    }
}

/// A flag the process raises once it works (e.g. when its controller runs) and lowers when it
/// stops. Cheap to clone: clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct ReadyFlag(Arc<AtomicBool>);

impl ReadyFlag {
    /// A lowered flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises (`true`) or lowers the flag.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    /// True while raised.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Readiness for ReadyFlag {
    fn check(&self) -> CheckFuture<'_> {
        let ready = self.is_set();
        Box::pin(async move {
            if ready {
                Ok(())
            } else {
                Err(NotReady("starting".to_string()))
            }
        })
    }
}

/// The probe routes over a metrics registry and a readiness check. Cheap to clone.
#[derive(Clone)]
pub struct Probes {
    registry: Arc<Registry>,
    readiness: Arc<dyn Readiness>,
}

impl fmt::Debug for Probes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probes").finish_non_exhaustive()
    }
}

impl Probes {
    /// Probes serving `registry` on `/metrics` and asking `readiness` on `/readyz`.
    pub fn new(registry: Arc<Registry>, readiness: impl Readiness) -> Self {
        Self {
            registry,
            readiness: Arc::new(readiness),
        }
    }

    /// The three routes, to serve alone or to merge into a server's router (whose layers then wrap
    /// them too).
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(self)
    }

    /// The registry in the OpenMetrics text format.
    pub fn encode_metrics(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(probes): State<Probes>) -> Response {
    match probes.readiness.check().await {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(NotReady(reason)) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            reason,
        )
        .into_response(),
    }
}

async fn metrics(State(probes): State<Probes>) -> Response {
    match probes.encode_metrics() {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode metrics");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
                "internal error; see server logs",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use prometheus_client::metrics::counter::Counter;
    use tower::ServiceExt;

    use super::*;
    use crate::http::PROBLEM_JSON;

    struct Answer {
        status: StatusCode,
        content_type: String,
        body: String,
    }

    async fn get(probes: &Probes, path: &str) -> Answer {
        let response = probes
            .clone()
            .router::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        Answer {
            status,
            content_type,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    fn probes(flag: &ReadyFlag) -> Probes {
        let mut registry = Registry::with_prefix("reposage_test");
        let counter = Counter::<u64>::default();
        counter.inc();
        registry.register("things", "Things counted", counter);
        Probes::new(Arc::new(registry), flag.clone())
    }

    #[tokio::test]
    async fn health_is_always_ok() {
        let answer = get(&probes(&ReadyFlag::new()), "/healthz").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(answer.body, r#"{"status":"ok"}"#);
    }

    #[tokio::test]
    async fn readiness_is_a_503_problem_until_the_flag_is_raised() {
        let flag = ReadyFlag::new();
        let probes = probes(&flag);

        let starting = get(&probes, "/readyz").await;
        assert_eq!(starting.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(starting.content_type, PROBLEM_JSON);
        let problem: serde_json::Value = serde_json::from_str(&starting.body).unwrap();
        assert_eq!(problem["type"], "https://reposage.dev/problems/unavailable");
        assert_eq!(problem["status"], 503);
        assert_eq!(problem["detail"], "starting");

        flag.set(true);
        let ready = get(&probes, "/readyz").await;
        assert_eq!(ready.status, StatusCode::OK);
        assert_eq!(ready.body, r#"{"status":"ok"}"#);
    }

    #[tokio::test]
    async fn metrics_are_the_registry_in_openmetrics_text() {
        let answer = get(&probes(&ReadyFlag::new()), "/metrics").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.content_type, OPENMETRICS_CONTENT_TYPE);
        assert!(
            answer.body.contains("reposage_test_things_total 1"),
            "{}",
            answer.body
        );
        assert!(answer.body.ends_with("# EOF\n"), "{}", answer.body);
    }
}
