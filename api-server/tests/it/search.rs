//! `GET` and `POST /api/v1/search`: lexical, semantic and hybrid search over repositories indexed by
//! the real pipeline (git2 fixtures, tree-sitter, chunking) and, for semantic search, embedded with
//! the real all-MiniLM-L6-v2 weights.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use reposage_api_server::{AppState, app};
use reposage_pipeline::NoProgress;
use reposage_pipeline::{EmbeddingStage, IndexRequest, IndexSummary, SharedTokenCounter, run_index};
use reposage_retrieval::embed::local::LocalEmbedder;
use reposage_retrieval::vector::embedded::EmbeddedStore;
use reposage_retrieval::{Embedder, ModelInfo, SearchParams, Searcher};
use reposage_store::Store;
use reposage_testkit::samples::{CLIENT_RS, PARSER_PY, POOL_GO, embedding_model_dir};
use reposage_testkit::{Entry, GitFixture};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{Answer, get, post, post_json, send, small_limits, state};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The local model, loaded once per test binary.
fn model() -> LocalEmbedder {
    static MODEL: OnceLock<LocalEmbedder> = OnceLock::new();
    MODEL
        .get_or_init(|| LocalEmbedder::load(embedding_model_dir()).expect("loading the embedding model"))
        .clone()
}

const PRICING_MD: &str = "# Pricing\n\nSave 50% today on every plan.\n";

const NOTES_TXT: &str = "old code\nnew code\n";

const LOADER_PY: &str = r#"def load_config(path):
    """Opens the settings file and returns its text."""
    with open(path) as handle:
        return handle.read()
"#;

/// Two repositories indexed by the pipeline: `team-a/svc` (Rust, Python, Go, Markdown, text) and
/// `team-b/web` (Python).
struct Fixture {
    store: Store,
    svc: IndexSummary,
    web: IndexSummary,
}

impl Fixture {
    /// Lexical search only (no embedder).
    fn lexical(&self) -> AppState {
        state(self.store.clone())
    }

    /// Lexical, semantic and hybrid search with the local model.
    fn semantic(&self) -> AppState {
        let searcher = Searcher::new(
            self.store.clone(),
            Some((
                Arc::new(model()),
                Arc::new(EmbeddedStore::new(self.store.clone())),
            )),
            SearchParams::default(),
        );
        state(self.store.clone()).with_searcher(searcher)
    }

    /// Semantic search through `embedder` (a failing one, in the fault tests).
    fn with_embedder(&self, embedder: impl Embedder + 'static) -> AppState {
        let searcher = Searcher::new(
            self.store.clone(),
            Some((
                Arc::new(embedder),
                Arc::new(EmbeddedStore::new(self.store.clone())),
            )),
            SearchParams::default(),
        );
        state(self.store.clone()).with_searcher(searcher)
    }
}

/// An index request for `repo` recorded as `namespace/name`; `embed` adds the embedding stage with
/// the local model writing to the embedded vector store.
fn index_request(store: &Store, repo: &GitFixture, namespace: &str, name: &str, embed: bool) -> IndexRequest {
    let (token_counter, embedding) = if embed {
        let model = model();
        (
            SharedTokenCounter(Arc::new(model.token_counter())),
            Some(EmbeddingStage {
                embedder: Arc::new(model),
                vectors: Arc::new(EmbeddedStore::new(store.clone())),
                batch_size: 16,
            }),
        )
    } else {
        (SharedTokenCounter::approximate(), None)
    };
    IndexRequest {
        parse_timeout: Duration::from_secs(10),
        token_counter,
        embedding,
        ..IndexRequest::local(repo.path(), namespace, name)
    }
}

async fn index(store: &Store, request: IndexRequest) -> IndexSummary {
    run_index(store, request, Arc::new(NoProgress))
        .await
        .expect("index run")
}

/// Indexes both repositories; with `embed`, their chunks are embedded too.
async fn fixture(pool: PgPool, embed: bool) -> Fixture {
    let store = Store::from_pool(pool);
    let svc_repo = GitFixture::new();
    svc_repo.commit(
        "main",
        "initial",
        &[
            ("src/net/client.rs", Entry::text(CLIENT_RS)),
            ("tools/parser.py", Entry::text(PARSER_PY)),
            ("db/pool.go", Entry::text(POOL_GO)),
            ("docs/pricing.md", Entry::text(PRICING_MD)),
            ("notes.txt", Entry::text(NOTES_TXT)),
        ],
    );
    let web_repo = GitFixture::new();
    web_repo.commit(
        "main",
        "initial",
        &[("app/config_loader.py", Entry::text(LOADER_PY))],
    );
    let svc = index(&store, index_request(&store, &svc_repo, "team-a", "svc", embed)).await;
    let web = index(&store, index_request(&store, &web_repo, "team-b", "web", embed)).await;
    if embed {
        assert!(svc.stats.chunks_embedded >= 3, "{:?}", svc.stats);
    }
    Fixture { store, svc, web }
}

/// An embedder whose service is down (or refuses the key): every call fails with `error()`.
#[derive(Debug)]
struct FailingEmbedder {
    model: ModelInfo,
    error: fn() -> reposage_retrieval::Error,
}

impl FailingEmbedder {
    fn new(error: fn() -> reposage_retrieval::Error) -> Self {
        Self {
            // The local model's id, so the vector store holds vectors for it.
            model: model().model().clone(),
            error,
        }
    }
}

#[async_trait]
impl Embedder for FailingEmbedder {
    fn model(&self) -> &ModelInfo {
        &self.model
    }

    async fn embed(&self, _texts: &[String]) -> reposage_retrieval::Result<Vec<Vec<f32>>> {
        Err((self.error)())
    }
}

const UPSTREAM_SECRET: &str = "upstream said: internal-host-10.0.0.7 token sk-live-123";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn search_uri(params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    format!("/api/v1/search?{}", query.join("&"))
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn search_get(state: &AppState, params: &[(&str, &str)]) -> Value {
    let answer = get(state, &search_uri(params)).await;
    assert_eq!(answer.status, StatusCode::OK, "{params:?}: {}", answer.text);
    assert_eq!(answer.content_type(), "application/json");
    answer.json()
}

async fn search_post(state: &AppState, body: Value) -> Value {
    let answer = post_json(state, "/api/v1/search", &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{body}: {}", answer.text);
    answer.json()
}

fn hits(body: &Value) -> &Vec<Value> {
    body["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits in {body}"))
}

/// Each hit's symbol path, or its path when it covers no symbol.
fn symbols(body: &Value) -> Vec<String> {
    hits(body)
        .iter()
        .map(|h| {
            h["symbolPath"]
                .as_str()
                .or(h["path"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

fn paths(body: &Value) -> Vec<String> {
    let mut paths: Vec<String> = hits(body)
        .iter()
        .map(|h| h["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn repositories(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = hits(body)
        .iter()
        .map(|h| h["repository"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The problem's `parameter`, after asserting a 422 of type `slug`.
#[track_caller]
fn rejected(answer: &Answer, slug: &str) -> String {
    let problem = answer.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, slug);
    problem["parameter"].as_str().unwrap_or_default().to_string()
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

// ---------------------------------------------------------------------------------------------
// Modes and explanations
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn get_and_post_answer_the_same_hits_for_the_same_search(pool: PgPool) {
    let f = fixture(pool, true).await;
    let state = f.semantic();
    let web = f.web.repository_id.to_string();

    for (mode, query) in [
        ("hybrid", "where are HTTP retries handled"),
        ("semantic", "connect to the database"),
        ("lexical", "config"),
    ] {
        let got = search_get(
            &state,
            &[("q", query), ("mode", mode), ("limit", "5"), ("repository", &web)],
        )
        .await;
        let posted = search_post(
            &state,
            json!({ "query": query, "mode": mode, "limit": 5, "repositories": [web] }),
        )
        .await;
        for field in ["query", "mode", "degraded", "hits"] {
            assert_eq!(got[field], posted[field], "{mode} {field}");
        }
        assert_eq!(got["mode"], mode);
    }
    let unfiltered = search_get(&state, &[("q", "where are HTTP retries handled")]).await;
    let posted = search_post(&state, json!({ "query": "where are HTTP retries handled" })).await;
    assert_eq!(unfiltered["hits"], posted["hits"]);
    assert!(!hits(&unfiltered).is_empty());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn hybrid_search_finds_by_meaning_what_lexical_search_misses_and_explains_the_fusion(pool: PgPool) {
    let f = fixture(pool, true).await;
    let state = f.semantic();
    // No chunk holds any of its words in any form ("handled" would match load_config's `handle`
    // in the some-words tier).
    let question = "where are HTTP retries dealt with";

    let lexical = search_get(&state, &[("q", question), ("mode", "lexical")]).await;
    let hybrid = search_get(&state, &[("q", question), ("mode", "hybrid")]).await;

    assert_eq!(lexical["mode"], "lexical");
    assert!(hits(&lexical).is_empty(), "no chunk holds any word: {lexical}");
    assert_eq!(hybrid["mode"], "hybrid");
    assert_eq!(hybrid["degraded"], Value::Null);
    assert_eq!(symbols(&hybrid)[0], "backoff_send", "{:?}", symbols(&hybrid));
    let top = &hits(&hybrid)[0];
    assert_eq!(top["path"], "src/net/client.rs");
    assert_eq!(top["repository"], "svc");
    assert_eq!(top["namespace"], "team-a");
    assert_eq!(top["repositoryId"], f.svc.repository_id.to_string());
    assert_eq!(top["commitSha"], f.svc.commit);
    let explanation = &top["explanation"];
    assert_eq!(explanation["lexical"], Value::Null);
    assert_eq!(explanation["semantic"]["rank"], 1);
    let fused = explanation["fused"].as_f64().unwrap();
    assert!((fused - 1.0 / 61.0).abs() < 1e-6, "RRF with k = 60: {fused}");
    assert!(
        hybrid["timings"]["embedMs"].as_f64().unwrap() > 0.0,
        "{}",
        hybrid["timings"]
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn semantic_search_ranks_by_cosine_similarity(pool: PgPool) {
    let f = fixture(pool, true).await;

    let body = search_get(
        &f.semantic(),
        &[("q", "connect to the database"), ("mode", "semantic")],
    )
    .await;

    assert_eq!(body["mode"], "semantic");
    assert_eq!(symbols(&body)[0], "OpenPool", "{:?}", symbols(&body));
    let mut previous = f64::INFINITY;
    for (i, hit) in hits(&body).iter().enumerate() {
        let explanation = &hit["explanation"];
        assert_eq!(explanation["lexical"], Value::Null);
        assert_eq!(explanation["semantic"]["rank"], i + 1);
        let score = explanation["semantic"]["score"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&score), "a cosine: {score}");
        assert!(score <= previous, "best first");
        assert_eq!(explanation["fused"].as_f64().unwrap(), score);
        previous = score;
    }
    assert_eq!(body["timings"]["lexicalMs"], 0.0);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_hit_carries_its_location_symbol_snippet_and_explanation(pool: PgPool) {
    let f = fixture(pool, false).await;

    let body = search_get(&f.lexical(), &[("q", "backoff_send"), ("mode", "lexical")]).await;

    assert_eq!(keys(&body), ["degraded", "hits", "mode", "query", "timings"]);
    assert_eq!(body["query"], "backoff_send");
    assert_eq!(
        keys(&body["timings"]),
        ["embedMs", "lexicalMs", "semanticMs", "totalMs"]
    );
    assert_eq!(symbols(&body), ["backoff_send"]);
    let hit = &hits(&body)[0];
    assert_eq!(
        keys(hit),
        [
            "chunkId",
            "commitSha",
            "endLine",
            "explanation",
            "language",
            "namespace",
            "path",
            "repository",
            "repositoryId",
            "snippet",
            "startLine",
            "symbolKind",
            "symbolPath",
        ]
    );
    assert!(hit["chunkId"].is_i64());
    assert_eq!(hit["path"], "src/net/client.rs");
    assert_eq!(hit["language"].as_str().unwrap().to_lowercase(), "rust");
    assert_eq!(hit["symbolKind"], "function");
    assert_eq!(hit["commitSha"], f.svc.commit);
    let (start, end) = (
        hit["startLine"].as_i64().unwrap(),
        hit["endLine"].as_i64().unwrap(),
    );
    assert!(
        start <= 4 && end >= 15,
        "the function spans lines 3/4–15: {start}–{end}"
    );
    let matched: Vec<&Value> = hit["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["matched"] == true)
        .collect();
    assert_eq!(
        matched,
        [
            &json!({ "line": 4, "text": "pub fn backoff_send(client: &Client, req: Request) -> Result<Response, Error> {", "matched": true })
        ]
    );
    assert_eq!(hit["explanation"]["lexical"]["rank"], 1);
    assert!(hit["explanation"]["lexical"]["score"].as_f64().unwrap() > 0.0);
    assert_eq!(hit["explanation"]["semantic"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// Without an embedder, and with a failing one
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn hybrid_search_without_an_embedder_is_lexical_and_says_it_is_degraded(pool: PgPool) {
    let f = fixture(pool, false).await;

    let body = search_get(&f.lexical(), &[("q", "backoff_send")]).await;

    assert_eq!(body["mode"], "hybrid", "hybrid is the default");
    let reason = body["degraded"].as_str().expect("a degraded reason");
    assert!(reason.contains("no embedding model"), "{reason}");
    assert_eq!(symbols(&body), ["backoff_send"]);
    assert_eq!(hits(&body)[0]["explanation"]["semantic"], Value::Null);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn semantic_search_without_an_embedder_is_a_422_naming_mode(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();

    let got = get(&state, &search_uri(&[("q", "retries"), ("mode", "semantic")])).await;
    let posted = post_json(
        &state,
        "/api/v1/search",
        &json!({ "query": "retries", "mode": "semantic" }),
    )
    .await;

    for answer in [got, posted] {
        assert_eq!(rejected(&answer, "invalid-parameter"), "mode");
        let detail = answer.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.contains("no embedding model"), "{detail}");
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_failing_embedding_service_degrades_hybrid_search_and_fails_semantic_search_without_leaking(
    pool: PgPool,
) {
    let f = fixture(pool, true).await;
    let down = f.with_embedder(FailingEmbedder::new(|| reposage_retrieval::Error::ApiStatus {
        status: 503,
        message: UPSTREAM_SECRET.into(),
        attempts: 3,
    }));
    let refused = f.with_embedder(FailingEmbedder::new(|| reposage_retrieval::Error::Unauthorized {
        status: 401,
    }));

    let hybrid = search_get(&down, &[("q", "backoff_send"), ("mode", "hybrid")]).await;
    let semantic = get(&down, &search_uri(&[("q", "retries"), ("mode", "semantic")])).await;
    let unauthorized = get(&refused, &search_uri(&[("q", "retries"), ("mode", "semantic")])).await;

    assert_eq!(hybrid["mode"], "hybrid");
    assert_eq!(
        hybrid["degraded"],
        "the embedding service failed: lexical results only"
    );
    assert_eq!(symbols(&hybrid), ["backoff_send"]);
    semantic.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    unauthorized.assert_problem(StatusCode::BAD_GATEWAY, "bad-gateway");
    for answer in [&semantic, &unauthorized] {
        assert!(!answer.text.contains("10.0.0.7"), "{}", answer.text);
        assert!(!answer.text.contains("sk-live"), "{}", answer.text);
        assert!(
            answer.text.contains("mode=lexical"),
            "says what to do: {}",
            answer.text
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn filters_in_the_query_narrow_the_hits(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();

    let everywhere = search_get(&state, &[("q", "config")]).await;
    let python = search_get(&state, &[("q", "lang:python config")]).await;
    let under_app = search_get(&state, &[("q", "path:app/ config")]).await;
    let in_web = search_get(&state, &[("q", "repo:web config")]).await;
    let qualified = search_get(&state, &[("q", "repo:team-a/svc config")]).await;
    let nowhere = search_get(&state, &[("q", "repo:no-such-repo config")]).await;
    let functions = search_get(&state, &[("q", "kind:function sym:load config")]).await;

    assert_eq!(paths(&everywhere), ["app/config_loader.py", "tools/parser.py"]);
    assert_eq!(repositories(&everywhere), ["svc", "web"]);
    assert!(
        hits(&python)
            .iter()
            .all(|h| h["language"].as_str().unwrap().eq_ignore_ascii_case("python"))
    );
    assert_eq!(paths(&python), ["app/config_loader.py", "tools/parser.py"]);
    assert_eq!(paths(&under_app), ["app/config_loader.py"]);
    assert_eq!(repositories(&in_web), ["web"]);
    assert_eq!(repositories(&qualified), ["svc"]);
    assert_eq!(hits(&nowhere).len(), 0);
    assert_eq!(symbols(&functions), ["load_config"]);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_repository_parameter_restricts_the_search_and_is_repeatable_or_a_comma_list(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();
    let (svc, web) = (f.svc.repository_id.to_string(), f.web.repository_id.to_string());

    let only_web = search_get(&state, &[("q", "config"), ("repository", &web)]).await;
    let repeated = search_get(
        &state,
        &[("q", "config"), ("repository", &svc), ("repository", &web)],
    )
    .await;
    let comma = search_get(
        &state,
        &[("q", "config"), ("repository", &format!("{svc},{web}"))],
    )
    .await;
    let posted = search_post(&state, json!({ "query": "config", "repositories": [web] })).await;
    let unknown = search_get(
        &state,
        &[
            ("q", "config"),
            ("repository", "6f1c1f0e-0000-4000-8000-000000000001"),
        ],
    )
    .await;
    let disjoint = search_get(&state, &[("q", "repo:svc config"), ("repository", &web)]).await;

    assert_eq!(repositories(&only_web), ["web"]);
    assert!(hits(&only_web).iter().all(|h| h["repositoryId"] == web.as_str()));
    assert_eq!(repositories(&repeated), ["svc", "web"]);
    assert_eq!(repositories(&comma), ["svc", "web"]);
    assert_eq!(posted["hits"], only_web["hits"]);
    assert_eq!(hits(&unknown).len(), 0);
    assert_eq!(
        hits(&disjoint).len(),
        0,
        "repo: narrows the parameter, never widens it"
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile and careless clients
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_invalid_regex_is_a_422_problem_with_the_reason(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();

    let unclosed = get(&state, &search_uri(&[("q", "/(retry/")])).await;
    let backreference = post_json(&state, "/api/v1/search", &json!({ "query": r"/(a)\1/" })).await;
    let no_end = get(&state, &search_uri(&[("q", "/retry")])).await;
    let valid = search_get(&state, &[("q", r"/delay \*= \d/"), ("mode", "lexical")]).await;

    assert_eq!(rejected(&unclosed, "invalid-query"), "q");
    assert_eq!(rejected(&backreference, "invalid-query"), "query");
    assert_eq!(rejected(&no_end, "invalid-query"), "q");
    for answer in [&unclosed, &backreference] {
        let detail = answer.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.starts_with("invalid /regex/"), "{detail}");
    }
    assert_eq!(no_end.json()["detail"], "a /regex/ has no closing `/`");
    assert_eq!(symbols(&valid), ["backoff_send"]);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn invalid_query_string_parameters_are_422_problems_naming_the_parameter(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();
    let too_long = "a".repeat(1001);
    let longest = "a".repeat(1000);

    let cases: Vec<(String, &str)> = vec![
        ("/api/v1/search".into(), "q"),
        ("/api/v1/search?q=".into(), "q"),
        ("/api/v1/search?q=%20%20%20".into(), "q"),
        (format!("/api/v1/search?q={too_long}"), "q"),
        ("/api/v1/search?q=config&limit=0".into(), "limit"),
        ("/api/v1/search?q=config&limit=101".into(), "limit"),
        ("/api/v1/search?q=config&limit=-5".into(), "limit"),
        ("/api/v1/search?q=config&limit=abc".into(), "limit"),
        ("/api/v1/search?q=config&limit=".into(), "limit"),
        ("/api/v1/search?q=config&limit=1e3".into(), "limit"),
        (
            "/api/v1/search?q=config&limit=18446744073709551616".into(),
            "limit",
        ),
        ("/api/v1/search?q=config&mode=dense".into(), "mode"),
        ("/api/v1/search?q=config&mode=".into(), "mode"),
        ("/api/v1/search?q=config&repository=svc".into(), "repository"),
    ];
    for (uri, parameter) in cases {
        let answer = get(&state, &uri).await;
        assert_eq!(rejected(&answer, "invalid-parameter"), parameter, "{uri}");
    }
    let at_the_limits = get(&state, &format!("/api/v1/search?q={longest}&limit=100")).await;
    assert_eq!(at_the_limits.status, StatusCode::OK, "{}", at_the_limits.text);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn invalid_body_fields_are_422_problems_naming_the_field(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();
    let many: Vec<String> = (0..101)
        .map(|i| format!("6f1c1f0e-0000-4000-8000-{i:012}"))
        .collect();

    let cases = [
        (json!({}), "query"),
        (json!({ "query": null }), "query"),
        (json!({ "query": " " }), "query"),
        (json!({ "query": "a".repeat(1001) }), "query"),
        // a 100 kB question: refused by length, never searched
        (json!({ "query": "why ".repeat(25_000) }), "query"),
        (json!({ "query": "x", "limit": 0 }), "limit"),
        (json!({ "query": "x", "limit": 101 }), "limit"),
        (json!({ "query": "x", "limit": -1 }), "limit"),
        (json!({ "query": "x", "limit": 2.5 }), "limit"),
        (json!({ "query": "x", "limit": 1e300 }), "limit"),
        (json!({ "query": "x", "limit": u64::MAX }), "limit"),
        (json!({ "query": "x", "mode": "dense" }), "mode"),
        (json!({ "query": "x", "repositories": ["svc"] }), "repositories"),
        (json!({ "query": "x", "repositories": many }), "repositories"),
    ];
    for (body, parameter) in cases {
        let answer = post_json(&state, "/api/v1/search", &body).await;
        assert_eq!(rejected(&answer, "invalid-parameter"), parameter, "{body:.80}");
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn malformed_or_mistyped_json_and_other_media_types_are_problems(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();
    let uri = "/api/v1/search";
    let json_type = Some("application/json");

    let truncated = post(&state, uri, json_type, r#"{"query": "con"#).await;
    let unknown_field = post(&state, uri, json_type, r#"{"query": "config", "topK": 5}"#).await;
    let wrong_type = post(&state, uri, json_type, r#"{"query": 5}"#).await;
    let not_an_object = post(&state, uri, json_type, "[]").await;
    let plain_text = post(&state, uri, Some("text/plain"), r#"{"query": "config"}"#).await;
    let no_type = post(&state, uri, None, r#"{"query": "config"}"#).await;

    truncated.assert_problem(StatusCode::BAD_REQUEST, "bad-request");
    let problem = unknown_field.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-body");
    assert!(problem["detail"].as_str().unwrap().contains("topK"), "{problem}");
    wrong_type.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-body");
    not_an_object.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-body");
    plain_text.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");
    no_type.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn unknown_and_repeated_query_string_parameters_are_400_problems(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();

    for uri in [
        "/api/v1/search?q=a&q=b",
        "/api/v1/search?q=a&mode=lexical&mode=hybrid",
        "/api/v1/search?q=a&query=b",
        "/api/v1/search?q=a&topK=5",
    ] {
        get(&state, uri)
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "bad-request");
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_search_body_over_the_limit_is_a_413_problem(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical().with_limits(small_limits(256));
    let body = json!({ "query": "a".repeat(300) }).to_string();
    let request = |with_length: bool| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/search")
            .header(header::CONTENT_TYPE, "application/json");
        if with_length {
            request = request.header(header::CONTENT_LENGTH, body.len());
        }
        request.body(Body::from(body.clone())).unwrap()
    };

    let declared = send(app(state.clone()), request(true)).await;
    let streamed = send(app(state.clone()), request(false)).await;
    let small = post_json(&state, "/api/v1/search", &json!({ "query": "backoff_send" })).await;

    declared.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    streamed.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    assert_eq!(small.status, StatusCode::OK, "{}", small.text);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn sql_and_like_metacharacters_in_the_query_are_matched_as_data(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();

    let percent = search_get(&state, &[("q", r#""50%""#)]).await;
    let underscore = search_get(&state, &[("q", r#""d_c""#)]).await;
    let percent_path = search_get(&state, &[("q", "path:% config")]).await;
    let percent_symbol = search_get(&state, &[("q", "sym:% config")]).await;
    let injection = get(
        &state,
        &search_uri(&[("q", "'; DROP TABLE chunks; --"), ("mode", "lexical")]),
    )
    .await;
    let quote = search_get(&state, &[("q", r"config' OR '1'='1"), ("mode", "lexical")]).await;
    let afterwards = search_get(&state, &[("q", "backoff_send")]).await;

    assert_eq!(percent["query"], r#""50%""#);
    assert_eq!(paths(&percent), ["docs/pricing.md"]);
    assert_eq!(
        paths(&underscore),
        ["app/config_loader.py"],
        "`d_c` is in load_config, and must not match `old code` in notes.txt"
    );
    assert_eq!(hits(&percent_path).len(), 0);
    assert_eq!(hits(&percent_symbol).len(), 0);
    assert_eq!(injection.status, StatusCode::OK, "{}", injection.text);
    assert_eq!(hits(&injection.json()).len(), 0);
    // No chunk holds every word (`OR` and `1` are not in the index): the some-words tier ranks the
    // chunks holding `config`, and only those; the quotes are data.
    assert!(!hits(&quote).is_empty(), "{quote}");
    assert!(
        symbols(&quote).iter().all(|s| s.contains("config")),
        "{:?}",
        symbols(&quote)
    );
    assert_eq!(symbols(&afterwards), ["backoff_send"], "the index is intact");
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn searches_are_timed_by_mode_and_counted_as_hits_or_empty(pool: PgPool) {
    let f = fixture(pool, false).await;
    let state = f.lexical();

    search_get(&state, &[("q", "backoff_send"), ("mode", "lexical")]).await;
    search_get(&state, &[("q", "zebra"), ("mode", "lexical")]).await;
    search_get(&state, &[("q", "backoff_send")]).await;
    let metrics = get(&state, "/metrics").await.text;

    for expected in [
        r#"reposage_api_search_duration_seconds_count{mode="lexical"} 2"#,
        r#"reposage_api_search_duration_seconds_count{mode="hybrid"} 1"#,
        r#"reposage_api_search_results_total{mode="lexical",result="hits"} 1"#,
        r#"reposage_api_search_results_total{mode="lexical",result="empty"} 1"#,
        r#"reposage_api_search_results_total{mode="hybrid",result="hits"} 1"#,
        r#"reposage_api_search_degraded_total{mode="hybrid"} 1"#,
    ] {
        assert!(metrics.contains(expected), "{expected} missing from\n{metrics}");
    }
}
