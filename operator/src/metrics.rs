//! Prometheus metrics of the operator, served with the health probes by
//! [`reposage_runtime::http::Probes`].

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Prefix of every metric name.
pub const PREFIX: &str = "reposage_operator";

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use reposage_runtime::http::{Probes, ReadyFlag};

    use super::*;

    #[test]
    fn metrics_are_exposed_with_the_prefix() {
        let mut registry = Registry::with_prefix(PREFIX);
        let metrics = Metrics::new(&mut registry);
        metrics.reconciliations.inc();
        metrics.record_failure("kube");
        metrics.index_jobs_created.inc();
        metrics.observe_duration(Duration::from_millis(20));

        let text = Probes::new(Arc::new(registry), ReadyFlag::new())
            .encode_metrics()
            .unwrap();

        for expected in [
            "reposage_operator_reconciliations_total 1",
            "reposage_operator_reconcile_failures_total{error=\"kube\"} 1",
            "reposage_operator_index_jobs_created_total 1",
            "reposage_operator_reconcile_duration_seconds_count 1",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
    }
}
