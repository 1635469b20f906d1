//! Prometheus metrics of the API server, served under `/metrics` by
//! [`reposage_runtime::http::Probes`].

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// Prefix of every metric name.
pub const PREFIX: &str = "reposage_api";

/// Route label of requests no route matched (never the raw path: it would be unbounded).
pub const UNMATCHED_ROUTE: &str = "<unmatched>";

/// Labels of [`Metrics::requests`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

/// Labels of [`Metrics::durations`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    method: String,
    route: String,
}

/// Labels of [`Metrics::search_durations`] and [`Metrics::search_degraded`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SearchLabels {
    mode: &'static str,
}

/// Labels of [`Metrics::search_results`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SearchResultLabels {
    mode: &'static str,
    /// `hits` or `empty`.
    result: &'static str,
}

/// The metrics the server records. Cheap to clone: every metric is a shared handle.
#[derive(Debug, Clone)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram, fn() -> Histogram>,
    search_durations: Family<SearchLabels, Histogram, fn() -> Histogram>,
    search_results: Family<SearchResultLabels, Counter>,
    search_degraded: Family<SearchLabels, Counter>,
}

fn duration_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    /// Creates the metrics and registers them in `registry` (which should carry [`PREFIX`]).
    pub fn new(registry: &mut Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            requests.clone(),
        );
        let durations =
            Family::<DurationLabels, Histogram, fn() -> Histogram>::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method and route template",
            Unit::Seconds,
            durations.clone(),
        );
        let search_durations =
            Family::<SearchLabels, Histogram, fn() -> Histogram>::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "search_duration",
            "Time to run a successful search (query embedding included), by the mode asked for",
            Unit::Seconds,
            search_durations.clone(),
        );
        let search_results = Family::<SearchResultLabels, Counter>::default();
        registry.register(
            "search_results",
            "Successful searches by mode and whether they found anything (result=\"hits\"|\"empty\"); \
             the hit rate is hits / (hits + empty)",
            search_results.clone(),
        );
        let search_degraded = Family::<SearchLabels, Counter>::default();
        registry.register(
            "search_degraded",
            "Searches answered with less than the mode asked for (no embedder, or the embedder failed)",
            search_degraded.clone(),
        );
        Self {
            requests,
            durations,
            search_durations,
            search_results,
            search_degraded,
        }
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status: status.to_string(),
            })
            .inc();
        self.durations
            .get_or_create(&DurationLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// Records one successful search in `mode` (`lexical`, `semantic` or `hybrid`).
    pub fn observe_search(&self, mode: &'static str, seconds: f64, hits: usize, degraded: bool) {
        self.search_durations
            .get_or_create(&SearchLabels { mode })
            .observe(seconds);
        self.search_results
            .get_or_create(&SearchResultLabels {
                mode,
                result: if hits == 0 { "empty" } else { "hits" },
            })
            .inc();
        if degraded {
            self.search_degraded.get_or_create(&SearchLabels { mode }).inc();
        }
    }
}

/// Middleware recording [`Metrics::observe_request`] for every request, labelled with the matched
/// route template (e.g. `/api/v1/repositories/{id}`), never the raw path.
pub async fn track_requests(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The method as a label value; extension methods collapse to `OTHER` so clients cannot create
/// unbounded label values.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metrics and the text exposition of their registry.
    fn metrics() -> (Metrics, impl Fn() -> String) {
        let mut registry = Registry::with_prefix(PREFIX);
        let metrics = Metrics::new(&mut registry);
        let encode = move || {
            let mut text = String::new();
            prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
            text
        };
        (metrics, encode)
    }

    #[test]
    fn extension_methods_share_one_label_value() {
        let method = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&method), "OTHER");
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
    }

    #[test]
    fn exposition_uses_the_prefix_and_openmetrics_suffixes() {
        let (metrics, encode) = metrics();
        metrics.observe_request("GET", "/healthz", 200, 0.002);
        let text = encode();
        assert!(
            text.contains(
                r#"reposage_api_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("reposage_api_http_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn searches_are_timed_by_mode_and_counted_as_hits_or_empty() {
        let (metrics, encode) = metrics();
        metrics.observe_search("hybrid", 0.004, 3, false);
        metrics.observe_search("hybrid", 0.002, 0, true);
        metrics.observe_search("lexical", 0.001, 1, false);
        let text = encode();
        for expected in [
            r#"reposage_api_search_duration_seconds_count{mode="hybrid"} 2"#,
            r#"reposage_api_search_duration_seconds_count{mode="lexical"} 1"#,
            r#"reposage_api_search_results_total{mode="hybrid",result="hits"} 1"#,
            r#"reposage_api_search_results_total{mode="hybrid",result="empty"} 1"#,
            r#"reposage_api_search_results_total{mode="lexical",result="hits"} 1"#,
            r#"reposage_api_search_degraded_total{mode="hybrid"} 1"#,
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
    }
}
