//! Integration tests of the assistant over a real index (git fixture → pipeline → Postgres, the
//! local MiniLM embedder) with scripted models (`reposage_testkit::chat`): a `ChatModel` that
//! replays events, so what the assistant does with each kind of model behaviour is tested exactly.
//! The HTTP protocol of real servers is tested in `reposage-llm`; the real local model in
//! `local_model.rs`, the real OpenAI-compatible client against an in-test server in `openai.rs`.

mod agent;
mod answers;
mod local_model;
mod openai;

use std::sync::{Arc, OnceLock};

use reposage_assistant::{Answer, AnswerEvent, AskRequest, Assistant, AssistantSettings, CancellationToken};
use reposage_llm::ChatModel;
use reposage_pipeline::{
    EmbeddingStage, IndexRequest, IndexSummary, NoProgress, SharedTokenCounter, run_index,
};
use reposage_retrieval::embed::local::LocalEmbedder;
use reposage_retrieval::vector::embedded::EmbeddedStore;
use reposage_retrieval::{SearchParams, Searcher};
use reposage_store::Store;
use reposage_testkit::samples::{CLIENT_RS, PARSER_PY, POOL_GO, embedding_model_dir};
use reposage_testkit::{Entry, GitFixture};
use tokio::sync::mpsc;

/// The local embedding model, loaded once per test binary.
pub fn embedder() -> LocalEmbedder {
    static MODEL: OnceLock<LocalEmbedder> = OnceLock::new();
    MODEL
        .get_or_init(|| LocalEmbedder::load(embedding_model_dir()).expect("loading the embedding model"))
        .clone()
}

pub const README: &str =
    "# Demo service\n\nA small demo.\n\n## Running\n\nRun `cargo run` and point it at a database.\n";

/// A repository with a README, a Rust client with retries, a Python config parser and a Go pool.
pub fn fixture() -> GitFixture {
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "initial",
        &[
            ("README.md", Entry::text(README)),
            ("src/net/client.rs", Entry::text(CLIENT_RS)),
            ("tools/parser.py", Entry::text(PARSER_PY)),
            ("db/pool.go", Entry::text(POOL_GO)),
        ],
    );
    fixture
}

/// Indexes `fixture` as `local/<name>`, embedding with the local model.
pub async fn index(store: &Store, fixture: &GitFixture, name: &str) -> IndexSummary {
    let model = embedder();
    let request = IndexRequest {
        parse_timeout: std::time::Duration::from_secs(10),
        token_counter: SharedTokenCounter(Arc::new(model.token_counter())),
        embedding: Some(EmbeddingStage {
            embedder: Arc::new(model),
            vectors: Arc::new(EmbeddedStore::new(store.clone())),
            batch_size: 16,
        }),
        ..IndexRequest::local(fixture.path(), "local", name)
    };
    run_index(store, request, Arc::new(NoProgress))
        .await
        .expect("index run")
}

/// A searcher with the local embedder.
pub fn searcher(store: &Store) -> Searcher {
    Searcher::new(
        store.clone(),
        Some((Arc::new(embedder()), Arc::new(EmbeddedStore::new(store.clone())))),
        SearchParams::default(),
    )
}

/// An assistant over `store` writing with `model`.
pub fn assistant(store: &Store, model: Option<Arc<dyn ChatModel>>, settings: AssistantSettings) -> Assistant {
    Assistant::new(store.clone(), searcher(store), model, settings)
}

/// Asks and collects every event.
pub async fn ask(assistant: &Assistant, request: &AskRequest) -> (Answer, Vec<AnswerEvent>) {
    let (sender, mut receiver) = mpsc::channel(1024);
    let collect = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(event) = receiver.recv().await {
            events.push(event);
        }
        events
    });
    let answer = assistant
        .answer(request, &sender, &CancellationToken::new())
        .await
        .expect("an answer");
    drop(sender);
    (answer, collect.await.unwrap())
}

/// The text of the `delta` events, joined.
pub fn streamed_text(events: &[AnswerEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            AnswerEvent::Delta(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
