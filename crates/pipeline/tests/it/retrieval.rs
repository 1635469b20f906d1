//! Embedding, secrets and search over a real index: the local MiniLM model, real Postgres.

use std::sync::{Arc, OnceLock};

use reposage_pipeline::{EmbeddingStage, IndexRequest, SharedTokenCounter};
use reposage_retrieval::embed::local::LocalEmbedder;
use reposage_retrieval::vector::embedded::EmbeddedStore;
use reposage_retrieval::{SearchMode, SearchParams, SearchRequest, SearchResults, Searcher};
use reposage_store::Store;
use reposage_testkit::samples::{CLIENT_RS, PARSER_PY, POOL_GO, embedding_model_dir};
use reposage_testkit::{Entry, GitFixture};
use sqlx::PgPool;

use crate::{index, request};

/// The local model, loaded once per test binary.
pub fn model() -> LocalEmbedder {
    static MODEL: OnceLock<LocalEmbedder> = OnceLock::new();
    MODEL
        .get_or_init(|| LocalEmbedder::load(embedding_model_dir()).expect("loading the embedding model"))
        .clone()
}

/// An index request that embeds with the local model into the embedded store.
fn embedding_request(store: &Store, fixture: &GitFixture, name: &str) -> IndexRequest {
    let model = model();
    IndexRequest {
        token_counter: SharedTokenCounter(Arc::new(model.token_counter())),
        embedding: Some(EmbeddingStage {
            embedder: Arc::new(model),
            vectors: Arc::new(EmbeddedStore::new(store.clone())),
            batch_size: 16,
        }),
        ..request(fixture, name)
    }
}

fn searcher(store: &Store) -> Searcher {
    Searcher::new(
        store.clone(),
        Some((Arc::new(model()), Arc::new(EmbeddedStore::new(store.clone())))),
        SearchParams::default(),
    )
}

async fn search(store: &Store, query: &str, mode: SearchMode) -> SearchResults {
    searcher(store)
        .search(&SearchRequest {
            query: query.into(),
            mode,
            limit: 5,
            repositories: vec![],
        })
        .await
        .unwrap_or_else(|e| panic!("search {query:?}: {e}"))
}

fn symbols(results: &SearchResults) -> Vec<String> {
    results
        .hits
        .iter()
        .map(|h| h.symbol_path.clone().unwrap_or_else(|| h.path.clone()))
        .collect()
}

/// parse_config with a small camelCase function after it.
fn parser_py() -> String {
    format!("{PARSER_PY}\n\ndef getUserName(record):\n    return record[\"user\"][\"name\"]\n")
}

fn fixture() -> GitFixture {
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "initial",
        &[
            ("src/net/client.rs", Entry::text(CLIENT_RS)),
            ("tools/parser.py", Entry::text(parser_py())),
            ("db/pool.go", Entry::text(POOL_GO)),
        ],
    );
    fixture
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn hybrid_search_finds_what_lexical_search_misses(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, embedding_request(&store, &fixture, "svc")).await;
    assert!(summary.stats.chunks_embedded >= 3, "{:?}", summary.stats);

    let question = "where are HTTP retries handled";
    let lexical = search(&store, question, SearchMode::Lexical).await;
    assert!(
        lexical.hits.is_empty(),
        "no chunk holds every word: {:?}",
        symbols(&lexical)
    );

    let hybrid = search(&store, question, SearchMode::Hybrid).await;
    assert_eq!(symbols(&hybrid)[0], "backoff_send", "{:?}", symbols(&hybrid));
    let top = &hybrid.hits[0];
    assert_eq!(top.path, "src/net/client.rs");
    assert_eq!(top.commit_sha.as_deref(), Some(summary.commit.as_str()));
    assert_eq!(top.explanation.lexical, None);
    let dense = top.explanation.semantic.expect("a dense rank");
    assert_eq!(dense.rank, 1);
    assert!(
        (top.explanation.fused - 1.0 / 61.0).abs() < 1e-6,
        "RRF with k = 60: {}",
        top.explanation.fused
    );
    assert!(!top.snippet.is_empty());

    let semantic = search(&store, "connect to the database", SearchMode::Semantic).await;
    assert_eq!(symbols(&semantic)[0], "OpenPool");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn lexical_search_splits_identifiers_and_honours_filters_phrases_and_regexes(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    index(&store, embedding_request(&store, &fixture, "svc")).await;

    // getUserName is small: it shares a chunk with parse_config above it (merged neighbours).
    let camel = search(&store, "user name", SearchMode::Lexical).await;
    assert_eq!(camel.hits.len(), 1);
    assert_eq!(camel.hits[0].path, "tools/parser.py");
    let matched: Vec<i32> = camel.hits[0]
        .snippet
        .iter()
        .filter(|l| l.matched)
        .map(|l| l.line)
        .collect();
    assert_eq!(matched, [11, 12]);
    // A one-letter word beside real ones narrows nothing: it is not matched as a substring (the
    // chunk holds no `z`). Alone, it is.
    let with_letter = search(&store, "z user name", SearchMode::Lexical).await;
    assert_eq!(symbols(&with_letter), symbols(&camel));
    let letter_alone = search(&store, "z", SearchMode::Lexical).await;
    assert!(letter_alone.hits.is_empty(), "{:?}", symbols(&letter_alone));

    let whole = search(&store, "backoff_send", SearchMode::Lexical).await;
    assert_eq!(symbols(&whole), ["backoff_send"]);
    assert_eq!(whole.hits[0].explanation.lexical.map(|l| l.rank), Some(1));

    // Words without identifier characters are matched literally, never dropped.
    let arrow = search(&store, "->", SearchMode::Lexical).await;
    assert_eq!(symbols(&arrow), ["backoff_send"]);
    let percent = search(&store, "%", SearchMode::Lexical).await;
    assert!(
        percent.hits.is_empty(),
        "no chunk holds a %: {:?}",
        symbols(&percent)
    );

    let regex = search(&store, r"/delay \*= \d/", SearchMode::Lexical).await;
    assert_eq!(symbols(&regex), ["backoff_send"]);
    let phrase = search(&store, r#""into a dictionary""#, SearchMode::Lexical).await;
    assert_eq!(symbols(&phrase), ["parse_config"]);

    let python = search(&store, "lang:python value", SearchMode::Lexical).await;
    assert!(
        python
            .hits
            .iter()
            .all(|h| h.language.as_deref() == Some("Python"))
    );
    assert!(!python.hits.is_empty());
    let in_db = search(&store, "path:db/ err", SearchMode::Hybrid).await;
    assert!(!in_db.hits.is_empty());
    assert!(in_db.hits.iter().all(|h| h.path.starts_with("db/")));
    let functions = search(&store, "kind:function sym:parse text", SearchMode::Lexical).await;
    assert_eq!(symbols(&functions), ["parse_config"]);
    let other_repo = search(&store, "repo:nothing-here backoff_send", SearchMode::Lexical).await;
    assert!(other_repo.hits.is_empty());
    let named_repo = search(&store, "repo:local/svc backoff_send", SearchMode::Lexical).await;
    assert_eq!(named_repo.hits.len(), 1);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_question_no_chunk_wholly_holds_is_ranked_by_its_rarer_words(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, request(&fixture, "svc")).await;

    // No chunk holds every word; backoff_send holds the rarest ones, in other forms ("waiting",
    // "attempts" → `_attempt`, "overloaded"): BM25 ranks it first.
    let question = "how long does the client keep waiting between attempts while the server is overloaded";
    let lexical = search(&store, question, SearchMode::Lexical).await;
    assert_eq!(symbols(&lexical)[0], "backoff_send", "{:?}", symbols(&lexical));
    let top = lexical.hits[0].explanation.lexical.expect("a lexical rank");
    assert_eq!(top.rank, 1);
    assert!(top.score > 0.0);
    // Words no chunk holds in any form find nothing.
    let absent = search(&store, "where are HTTP retries handled", SearchMode::Lexical).await;
    assert!(absent.hits.is_empty(), "{:?}", symbols(&absent));

    // The statistics behind it, refreshed by the run.
    let stats = store
        .term_statistics(
            &[summary.repository_id],
            &["backoff".into(), "server".into(), "nowhere".into()],
        )
        .await
        .unwrap();
    assert_eq!(stats.chunks, summary.stats.chunks as i64);
    assert!(stats.average_lexemes > 1.0, "{stats:?}");
    let mut documents = stats.documents.clone();
    documents.sort();
    assert_eq!(documents, [("backoff".to_string(), 1), ("server".to_string(), 1)]);

    // A run that removes the file takes its words out of the statistics.
    fixture.commit(
        "main",
        "drop the client",
        &[
            ("tools/parser.py", Entry::text(parser_py())),
            ("db/pool.go", Entry::text(POOL_GO)),
        ],
    );
    index(&store, request(&fixture, "svc")).await;
    let after = store
        .term_statistics(&[summary.repository_id], &["backoff".into()])
        .await
        .unwrap();
    assert!(after.documents.is_empty(), "{after:?}");
    assert_eq!(after.chunks, stats.chunks - 1);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn whole_identifier_matches_rank_before_matches_of_its_parts(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "init",
        &[
            // Its path and symbol name hold both parts (weight A), but not the identifier.
            (
                "src/invalid/key.rs",
                Entry::text("/// Checks a key.\npub fn invalid_key_check(key: &str, invalid: bool) -> bool {\n    invalid || key.is_empty()\n}\n"),
            ),
            (
                "src/errors.rs",
                Entry::text("pub fn lookup(name: &str) -> Result<u32, InvalidKey> {\n    Err(InvalidKey)\n}\n"),
            ),
            ("src/other.rs", Entry::text("pub fn unrelated() -> u32 {\n    7\n}\n")),
        ],
    );
    index(&store, request(&fixture, "keys")).await;
    let results = search(&store, "InvalidKey", SearchMode::Lexical).await;
    let paths: Vec<&str> = results.hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths, ["src/errors.rs", "src/invalid/key.rs"]);
    let ranks: Vec<Option<usize>> = results
        .hits
        .iter()
        .map(|h| h.explanation.lexical.map(|l| l.rank))
        .collect();
    assert_eq!(ranks, [Some(1), Some(2)]);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn search_rejects_bad_queries_with_a_reason(pool: PgPool) {
    let store = Store::from_pool(pool);
    let s = searcher(&store);
    for (query, expected) in [
        ("/(a)\\1/", "invalid /regex/"),
        ("lang:rust", "nothing to search for"),
        ("\"unclosed", "closing"),
    ] {
        let err = s
            .search(&SearchRequest {
                query: query.into(),
                mode: SearchMode::Hybrid,
                limit: 5,
                repositories: vec![],
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{query}: {err}");
    }
    // SQL metacharacters are data: parameterised queries, LIKE patterns escaped.
    let injected = search(&store, r#""'; DROP TABLE chunks; --" 100%"#, SearchMode::Lexical).await;
    assert!(injected.hits.is_empty());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn unchanged_chunks_are_never_embedded_twice(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let first = index(&store, embedding_request(&store, &fixture, "svc")).await;
    let all = first.stats.chunks_embedded;
    assert!(all >= 3);

    // The same commit again, and the same code under another repository: all cached.
    let again = index(&store, embedding_request(&store, &fixture, "svc")).await;
    assert_eq!(again.stats.chunks_embedded, 0);
    let copy = index(&store, embedding_request(&store, &fixture, "fork")).await;
    assert_eq!(
        copy.stats.chunks_embedded, 0,
        "a repository sharing the code reuses its vectors"
    );

    // A new commit changing one small file embeds that file's chunk only.
    fixture.commit(
        "main",
        "change the pool",
        &[
            ("src/net/client.rs", Entry::text(CLIENT_RS)),
            ("tools/parser.py", Entry::text(parser_py())),
            ("db/pool.go", Entry::text(POOL_GO.replace("max int", "limit int"))),
        ],
    );
    let changed = index(&store, embedding_request(&store, &fixture, "svc")).await;
    assert_eq!(changed.stats.changed_files, 1);
    assert_eq!(changed.stats.chunks_embedded, 1);
    let embed_event = crate::stage_data(&store, changed.run_id, "embed").await;
    assert_eq!(embed_event["embedded"], 1);
    assert_eq!(embed_event["backend"], "embedded");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn secrets_are_redacted_before_anything_is_stored_or_embedded(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    let key = "AKIAIOSFODNN7EXAMPLQ";
    fixture.commit(
        "main",
        "oops",
        &[(
            "deploy/settings.py",
            Entry::text(format!(
                "REGION = 'eu-west-1'\nAWS_ACCESS_KEY_ID = '{key}'\nDEBUG = False\n"
            )),
        )],
    );
    let summary = index(&store, embedding_request(&store, &fixture, "leaky")).await;
    assert_eq!(summary.stats.secrets_redacted, 1);
    let structure = crate::stage_data(&store, summary.run_id, "analyse").await;
    assert_eq!(structure["secretsByRule"]["aws-access-key-id"], 1);
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT text FROM chunks UNION ALL SELECT content FROM blobs")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert!(!stored.is_empty());
    for text in &stored {
        assert!(!text.contains(key), "the key is stored: {text}");
        assert!(text.contains("[REDACTED:aws-access-key-id]"));
        assert_eq!(text.lines().count(), 3, "line structure is kept");
    }
    let found = search(&store, key, SearchMode::Hybrid).await;
    assert!(
        found
            .hits
            .iter()
            .all(|h| h.snippet.iter().all(|l| !l.text.contains(key)))
    );
}

/// An embedder whose service is down.
#[derive(Debug)]
struct DownEmbedder(reposage_retrieval::ModelInfo);

#[async_trait::async_trait]
impl reposage_retrieval::Embedder for DownEmbedder {
    fn model(&self) -> &reposage_retrieval::ModelInfo {
        &self.0
    }

    async fn embed(&self, _texts: &[String]) -> reposage_retrieval::Result<Vec<Vec<f32>>> {
        Err(reposage_retrieval::Error::ApiStatus {
            status: 503,
            message: "connection refused".into(),
            attempts: 3,
        })
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_searcher_owns_the_fallback_policy_for_every_entry_point(pool: PgPool) {
    use reposage_retrieval::search::SEMANTIC_FAILED;
    let store = Store::from_pool(pool);
    let fixture = fixture();
    index(&store, request(&fixture, "svc")).await;
    let down = Searcher::new(
        store.clone(),
        Some((
            Arc::new(DownEmbedder(
                reposage_retrieval::Embedder::model(&model()).clone(),
            )),
            Arc::new(EmbeddedStore::new(store.clone())),
        )),
        SearchParams::default(),
    );
    let lexical_only = Searcher::new(store.clone(), None, SearchParams::default());
    let ask = |mode| SearchRequest {
        query: "backoff_send".into(),
        mode,
        limit: 5,
        repositories: vec![],
    };

    // A hybrid search whose semantic half fails answers with its lexical half and says so.
    let hybrid = down.search(&ask(SearchMode::Hybrid)).await.unwrap();
    assert_eq!(hybrid.degraded.as_deref(), Some(SEMANTIC_FAILED));
    assert_eq!(symbols(&hybrid), ["backoff_send"]);
    // A semantic one has nothing to fall back to: the failure is the answer.
    let error = down.search(&ask(SearchMode::Semantic)).await.unwrap_err();
    assert!(error.allows_lexical_fallback(), "{error}");
    // Without an embedder, semantic is refused with a typed error and hybrid is lexical.
    let error = lexical_only.search(&ask(SearchMode::Semantic)).await.unwrap_err();
    assert!(
        matches!(error, reposage_retrieval::Error::SemanticNotConfigured),
        "{error}"
    );
    let hybrid = lexical_only.search(&ask(SearchMode::Hybrid)).await.unwrap();
    assert!(hybrid.degraded.unwrap().contains("no embedding model"));
}
