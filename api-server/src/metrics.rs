//! Prometheus metrics of the API server, served under `/metrics` by
//! [`reposage_runtime::http::Probes`]: the HTTP and search metrics under [`PREFIX`], the assistant's
//! under [`AI_PREFIX`] (`reposage_ai_*`, `reposage_rag_*`, the names the platform's dashboards use).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// Prefix of the HTTP and search metrics.
pub const PREFIX: &str = "reposage_api";

/// Prefix of the assistant's metrics.
pub const AI_PREFIX: &str = "reposage";

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

/// Labels of [`Metrics::ai_response_time`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AiTimeLabels {
    /// `agent`, `retrieval` or `extractive`.
    mode: &'static str,
    /// `first_token` or `total`.
    phase: &'static str,
}

/// Labels of [`Metrics::ai_queries`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AiResultLabels {
    /// `success`, `interrupted` or `failed`.
    result: &'static str,
}

/// Labels of [`Metrics::ai_tokens`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    /// `prompt` or `completion`.
    direction: &'static str,
}

/// Labels of [`Metrics::citations_rejected`].
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    /// `not_given`, `out_of_range` or `unknown_path`.
    reason: &'static str,
}

/// How one question ended, for [`Metrics::observe_answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryResult {
    /// Answered whole (or up to a limit).
    Success,
    /// Cancelled, or the client left.
    Interrupted,
    /// The model, the index or the server failed.
    Failed,
}

impl QueryResult {
    fn as_str(self) -> &'static str {
        match self {
            QueryResult::Success => "success",
            QueryResult::Interrupted => "interrupted",
            QueryResult::Failed => "failed",
        }
    }
}

/// What [`Metrics::observe_answer`] records of one answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerObservation {
    /// `agent`, `retrieval` or `extractive`.
    pub mode: &'static str,
    /// How it ended.
    pub result: QueryResult,
    /// Seconds to the first text, when there was text.
    pub first_token_seconds: Option<f64>,
    /// Seconds for the whole answer.
    pub total_seconds: f64,
    /// Context items at or above the relevance floor.
    pub relevant_items: usize,
    /// Prompt tokens over all model calls.
    pub prompt_tokens: u64,
    /// Generated tokens over all model calls.
    pub completion_tokens: u64,
    /// Citations rejected: item never given, lines out of range, unknown path.
    pub rejected: [u64; 3],
}

/// The metrics the server records. Cheap to clone: every metric is a shared handle.
#[derive(Debug, Clone)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram, fn() -> Histogram>,
    search_durations: Family<SearchLabels, Histogram, fn() -> Histogram>,
    search_results: Family<SearchResultLabels, Counter>,
    search_degraded: Family<SearchLabels, Counter>,
    ai_response_time: Family<AiTimeLabels, Histogram, fn() -> Histogram>,
    ai_queries: Family<AiResultLabels, Counter>,
    rag_hit_rate: Gauge<f64, AtomicU64>,
    /// Answers that searched (the hit rate's denominator) and those with a relevant item.
    rag_answers: Arc<[AtomicU64; 2]>,
    ai_tokens: Family<TokenLabels, Counter>,
    citations_rejected: Family<RejectionLabels, Counter>,
}

fn duration_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn answer_histogram() -> Histogram {
    // 10 ms … ~164 s: answers take seconds, local models minutes.
    Histogram::new(exponential_buckets(0.01, 2.0, 15))
}

impl Metrics {
    /// Creates the metrics and registers them in sub-registries of `registry` (a registry without
    /// a prefix): [`PREFIX`] for the HTTP and search metrics, [`AI_PREFIX`] for the assistant's.
    pub fn new(root: &mut Registry) -> Self {
        let ai = Self::register_ai(root.sub_registry_with_prefix(AI_PREFIX));
        let registry = root.sub_registry_with_prefix(PREFIX);
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
        let (ai_response_time, ai_queries, rag_hit_rate, ai_tokens, citations_rejected) = ai;
        Self {
            requests,
            durations,
            search_durations,
            search_results,
            search_degraded,
            ai_response_time,
            ai_queries,
            rag_hit_rate,
            rag_answers: Arc::new([AtomicU64::new(0), AtomicU64::new(0)]),
            ai_tokens,
            citations_rejected,
        }
    }

    #[allow(clippy::type_complexity)]
    fn register_ai(
        registry: &mut Registry,
    ) -> (
        Family<AiTimeLabels, Histogram, fn() -> Histogram>,
        Family<AiResultLabels, Counter>,
        Gauge<f64, AtomicU64>,
        Family<TokenLabels, Counter>,
        Family<RejectionLabels, Counter>,
    ) {
        let response_time =
            Family::<AiTimeLabels, Histogram, fn() -> Histogram>::new_with_constructor(answer_histogram);
        registry.register_with_unit(
            "ai_query_response_time",
            "Time of the assistant's answers by mode, to the first token (phase=\"first_token\") and in \
             total (phase=\"total\")",
            Unit::Seconds,
            response_time.clone(),
        );
        let queries = Family::<AiResultLabels, Counter>::default();
        registry.register(
            "ai_query",
            "Questions the assistant took, by how they ended (result=\"success\"|\"interrupted\"|\"failed\")",
            queries.clone(),
        );
        let hit_rate = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "rag_search_hit_rate",
            "Share of the answers since the server started whose context held at least one item at or \
             above the relevance floor",
            hit_rate.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "ai_tokens",
            "Language-model tokens used by answers (direction=\"prompt\"|\"completion\")",
            tokens.clone(),
        );
        let rejected = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "ai_citations_rejected",
            "Citations removed from answers because they could not be verified, by reason \
             (not_given, out_of_range, unknown_path)",
            rejected.clone(),
        );
        (response_time, queries, hit_rate, tokens, rejected)
    }

    /// Records one answer: its times by mode, how it ended, whether its search found something
    /// relevant, its tokens and rejected citations.
    pub fn observe_answer(&self, answer: &AnswerObservation) {
        let AnswerObservation {
            mode,
            result,
            first_token_seconds,
            total_seconds,
            relevant_items,
            prompt_tokens,
            completion_tokens,
            rejected: [not_given, out_of_range, unknown_path],
        } = *answer;
        if let Some(seconds) = first_token_seconds {
            self.ai_response_time
                .get_or_create(&AiTimeLabels {
                    mode,
                    phase: "first_token",
                })
                .observe(seconds);
        }
        self.ai_response_time
            .get_or_create(&AiTimeLabels { mode, phase: "total" })
            .observe(total_seconds);
        self.observe_query_result(result);
        let [answers, hits] = &*self.rag_answers;
        let answered = answers.fetch_add(1, Ordering::Relaxed) + 1;
        let hit =
            hits.fetch_add(u64::from(relevant_items > 0), Ordering::Relaxed) + u64::from(relevant_items > 0);
        self.rag_hit_rate.set(hit as f64 / answered as f64);
        for (direction, tokens) in [("prompt", prompt_tokens), ("completion", completion_tokens)] {
            self.ai_tokens
                .get_or_create(&TokenLabels { direction })
                .inc_by(tokens);
        }
        for (reason, count) in [
            ("not_given", not_given),
            ("out_of_range", out_of_range),
            ("unknown_path", unknown_path),
        ] {
            let counter = self.citations_rejected.get_or_create(&RejectionLabels { reason });
            counter.inc_by(count);
        }
    }

    /// Counts a question that ended without an answer document (it failed before answering).
    pub fn observe_query_result(&self, result: QueryResult) {
        self.ai_queries
            .get_or_create(&AiResultLabels {
                result: result.as_str(),
            })
            .inc();
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
        let mut registry = Registry::default();
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
    fn answers_are_timed_by_mode_and_phase_and_counted_by_result_tokens_and_rejections() {
        let (metrics, encode) = metrics();
        let answer = AnswerObservation {
            mode: "retrieval",
            result: QueryResult::Success,
            first_token_seconds: Some(0.2),
            total_seconds: 1.5,
            relevant_items: 3,
            prompt_tokens: 100,
            completion_tokens: 10,
            rejected: [1, 0, 2],
        };
        metrics.observe_answer(&answer);
        metrics.observe_answer(&AnswerObservation {
            mode: "extractive",
            result: QueryResult::Interrupted,
            first_token_seconds: None,
            relevant_items: 0,
            ..answer
        });
        metrics.observe_query_result(QueryResult::Failed);
        let text = encode();
        for expected in [
            r#"reposage_ai_query_response_time_seconds_count{mode="retrieval",phase="first_token"} 1"#,
            r#"reposage_ai_query_response_time_seconds_count{mode="retrieval",phase="total"} 1"#,
            r#"reposage_ai_query_response_time_seconds_count{mode="extractive",phase="total"} 1"#,
            r#"reposage_ai_query_total{result="success"} 1"#,
            r#"reposage_ai_query_total{result="interrupted"} 1"#,
            r#"reposage_ai_query_total{result="failed"} 1"#,
            "reposage_rag_search_hit_rate 0.5",
            r#"reposage_ai_tokens_total{direction="prompt"} 200"#,
            r#"reposage_ai_tokens_total{direction="completion"} 20"#,
            r#"reposage_ai_citations_rejected_total{reason="not_given"} 2"#,
            r#"reposage_ai_citations_rejected_total{reason="out_of_range"} 0"#,
            r#"reposage_ai_citations_rejected_total{reason="unknown_path"} 4"#,
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
        assert!(
            !text.contains(r#"mode="extractive",phase="first_token""#),
            "no first token, no observation: {text}"
        );
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
