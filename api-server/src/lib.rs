//! The RepoSage API server: REST over the Postgres store — repositories, runs and their events,
//! lexical, semantic and hybrid search ([`reposage_retrieval::Searcher`]), the assistant's
//! conversations and one-shot questions with streamed answers ([`chat`]) — plus health, readiness
//! and Prometheus metrics.
//!
//! [`app`] builds the whole router from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` without a socket; [`run`] serves it until a shutdown future resolves.
//! Every error answer is an RFC 9457 `application/problem+json` document ([`ApiError`]).

#![warn(missing_docs)]

mod answers;
pub mod chat;
mod config;
pub mod dto;
mod error;
mod extract;
mod metrics;
mod routes;
mod search;

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::registry::Registry;
use reposage_assistant::Assistant;
use reposage_retrieval::{SearchParams as SearcherParams, Searcher};
use reposage_runtime::http::Probes;
use reposage_store::Store;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use answers::{Answers, ChatSettings};
pub use config::{Config, DATABASE_URL_HELP, DEFAULT_MAX_CONNECTIONS, HttpLimits};
pub use error::{ApiError, Error, Result};
pub use extract::{ApiJson, ApiPath, ApiQuery};
pub use metrics::{
    AI_PREFIX as AI_METRICS_PREFIX, AnswerObservation, Metrics, PREFIX as METRICS_PREFIX, QueryResult,
    UNMATCHED_ROUTE,
};
pub use reposage_runtime::http::{OPENMETRICS_CONTENT_TYPE, PROBLEM_JSON, PROBLEM_TYPE_BASE};
pub use search::{
    DEFAULT_SEARCH_LIMIT, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT, MAX_SEARCH_REPOSITORIES, SearchBody, parse_body,
    parse_query_string,
};

/// Header carrying the request id (generated when the client sends none, echoed on the response).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Store,
    searcher: Searcher,
    assistant: Option<Assistant>,
    answers: Answers,
    chat: ChatSettings,
    metrics: Metrics,
    probes: Probes,
    limits: HttpLimits,
}

impl AppState {
    /// State over `store` with a fresh metrics registry, the default [`HttpLimits`] and lexical search
    /// only (hybrid searches say they are `degraded`; semantic ones are refused), and no assistant
    /// (questions are answered 503). `/readyz` pings the database.
    pub fn new(store: Store) -> Self {
        let mut registry = Registry::default();
        let metrics = Metrics::new(&mut registry);
        Self {
            searcher: Searcher::new(store.clone(), None, SearcherParams::default()),
            assistant: None,
            answers: Answers::default(),
            chat: ChatSettings::default(),
            probes: Probes::new(Arc::new(registry), store.clone()),
            store,
            metrics,
            limits: HttpLimits::default(),
        }
    }

    /// The same state searching with `searcher` (e.g. one with an embedder and a vector store).
    pub fn with_searcher(self, searcher: Searcher) -> Self {
        Self { searcher, ..self }
    }

    /// The same state answering questions with `assistant` (with a model, or extractively).
    pub fn with_assistant(self, assistant: Assistant) -> Self {
        Self {
            assistant: Some(assistant),
            ..self
        }
    }

    /// The assistant behind the conversation and ask routes, when there is one.
    pub fn assistant(&self) -> Option<&Assistant> {
        self.assistant.as_ref()
    }

    /// The same state running answers with other [`ChatSettings`].
    pub fn with_chat_settings(self, chat: ChatSettings) -> Self {
        Self { chat, ..self }
    }

    /// How answers are run.
    pub fn chat_settings(&self) -> ChatSettings {
        self.chat
    }

    /// The answers this server is writing.
    pub fn answers(&self) -> &Answers {
        &self.answers
    }

    /// The searcher behind `/api/v1/search`.
    pub fn searcher(&self) -> &Searcher {
        &self.searcher
    }

    /// The same state with other HTTP limits.
    pub fn with_limits(self, limits: HttpLimits) -> Self {
        Self { limits, ..self }
    }

    /// The database handle.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The metrics the server records.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The HTTP limits the router enforces.
    pub fn limits(&self) -> HttpLimits {
        self.limits
    }
}

/// The complete router: the probes (`/healthz`, `/readyz`, `/metrics`, shared with the operator),
/// the API routes, the problem+json fallback and the middleware stack (request ids, tracing,
/// metrics, panic catching, timeout, body limit), which wraps the probes too.
pub fn app(state: AppState) -> Router {
    let HttpLimits {
        request_timeout,
        max_body_bytes,
    } = state.limits;
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track_requests,
        ))
        .layer(middleware::from_fn(problem_for_bare_errors))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ));

    Router::new()
        .merge(state.probes.clone().router())
        .route("/api/v1/repositories", get(routes::list_repositories))
        .route("/api/v1/repositories/{id}", get(routes::get_repository))
        .route("/api/v1/repositories/{id}/metrics", get(routes::get_code_metrics))
        .route(
            "/api/v1/repositories/{id}/overview",
            get(routes::get_repository_overview),
        )
        .route("/api/v1/runs/{id}", get(routes::get_run))
        .route(
            "/api/v1/search",
            get(search::search_get).post(search::search_post),
        )
        .route(
            "/api/v1/conversations",
            get(chat::list_conversations).post(chat::create_conversation),
        )
        .route(
            "/api/v1/conversations/{id}",
            get(chat::get_conversation).delete(chat::delete_conversation),
        )
        .route("/api/v1/conversations/{id}/close", post(chat::close_conversation))
        .route("/api/v1/conversations/{id}/messages", post(chat::post_message))
        .route(
            "/api/v1/conversations/{id}/messages/{mid}",
            get(chat::get_message),
        )
        .route(
            "/api/v1/conversations/{id}/messages/{mid}/stream",
            get(chat::stream_message),
        )
        .route(
            "/api/v1/conversations/{id}/messages/{mid}/cancel",
            post(chat::cancel_message),
        )
        .route(
            "/api/v1/conversations/{id}/messages/{mid}/regenerate",
            post(chat::regenerate_message),
        )
        .route("/api/v1/ask", post(chat::ask))
        .fallback(routes::route_not_found)
        .layer(middleware)
        .with_state(state)
}

/// The span of one request: method, matched route template and request id.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id,
    )
}

/// Turns the bodiless error answers of layers and axum itself (413 from the body limit, 408 from
/// the timeout, 405 from method routing) into problem documents, keeping their headers.
async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == PROBLEM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (problem_parts, body) = ApiError::from_status(status).into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        problem_parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static(PROBLEM_JSON)),
    );
    Response::from_parts(parts, body)
}

/// The answer to a handler that panicked: logged here, a generic 500 problem for the client.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    tracing::error!(panic = message, "request handler panicked");
    ApiError::Internal.into_response()
}

/// Connects to the database named by `config` and applies pending migrations.
pub async fn migrate(config: Config) -> Result<()> {
    config
        .database
        .connect_and_migrate(DEFAULT_MAX_CONNECTIONS)
        .await
        .map_err(Error::Database)?;
    tracing::info!("database migrations applied");
    Ok(())
}

/// Longest the server waits at shutdown for cancelled answers to be stored.
const ANSWER_DRAIN: Duration = Duration::from_secs(10);

/// Applies pending migrations, sets up search (loads the embedding model or connects to the
/// embedding API and vector store the retrieval flags name; `--embedder none` searches lexically
/// only) and the assistant (the language model the `--llm` flags name; without one it answers
/// extractively), then serves the API as configured until `shutdown` resolves: answers being
/// written are then cancelled and stored `interrupted`, and in-flight requests drain.
/// (Migrations take an advisory lock, so replicas starting together wait for each other.)
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
    let Config {
        listen,
        database,
        request_timeout,
        max_body_bytes,
        retrieval,
        llm,
        answer_resume_grace,
    } = config;
    let settings = retrieval.settings().map_err(Error::Config)?;
    let assistant_settings = llm.assistant_settings().map_err(Error::Config)?;
    let store = database
        .connect_and_migrate(DEFAULT_MAX_CONNECTIONS)
        .await
        .map_err(Error::Database)?;
    let semantic = reposage_retrieval::connect(&settings, &store)
        .await
        .map_err(Error::Retrieval)?
        .semantic;
    match &semantic {
        Some((embedder, _)) => tracing::info!(model = %embedder.model().id, "semantic and hybrid search on"),
        None => tracing::info!("no embedder configured: lexical search only"),
    }
    let searcher = Searcher::new(store.clone(), semantic, SearcherParams::default());
    let model = llm.connect().await.map_err(Error::Config)?;
    match &model {
        Some(model) => tracing::info!(
            model = %model.info().name,
            provider = model.info().provider,
            tools = model.info().supports_tools && assistant_settings.tools,
            "the assistant answers with a language model"
        ),
        None => tracing::info!("no language model configured: the assistant answers extractively"),
    }
    let assistant = Assistant::new(store.clone(), searcher.clone(), model, assistant_settings);
    let chat = ChatSettings {
        resume_grace: Duration::from_secs(answer_resume_grace),
        ..ChatSettings::default()
    };
    match store.interrupt_stale_answers(chat.stale_after).await {
        Ok(0) => {}
        Ok(stale) => tracing::info!(
            stale,
            "answers left streaming by a stopped server marked interrupted"
        ),
        Err(error) => return Err(Error::Database(reposage_runtime::Error::from(error))),
    }
    let state = AppState::new(store)
        .with_searcher(searcher)
        .with_assistant(assistant)
        .with_chat_settings(chat)
        .with_limits(HttpLimits {
            request_timeout: Duration::from_secs(request_timeout),
            max_body_bytes,
        });
    let answers = state.answers().clone();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Bind { addr: listen, source })?;
    tracing::info!(addr = %listener.local_addr().unwrap_or(listen), "serving the RepoSage API");
    let stopping = answers.clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.cancel_all();
        })
        .await
        .map_err(Error::Serve)?;
    if !answers.drained(ANSWER_DRAIN).await {
        tracing::warn!(
            answers = answers.len(),
            "answers still being stored at shutdown; they will be marked interrupted by the next server"
        );
    }
    tracing::info!("server stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_generic_500_problem() {
        let response = panic_response(Box::new("secret internals"));
        assert_eq!(response.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
