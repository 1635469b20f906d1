//! The assistant with the real local model (SmolLM2-135M-Instruct): a weak model that cannot call
//! tools, answering from the retrieved context.

use std::sync::Arc;

use reposage_assistant::{AnswerMode, AnswerStatus, AskRequest, AssistantSettings};
use reposage_llm::local::{LocalModel, LocalModelConfig};
use reposage_store::Store;
use reposage_testkit::samples::local_llm_model;
use sqlx::PgPool;

use crate::{ask, assistant, fixture, index, streamed_text};

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_local_model_answers_from_the_context_in_retrieval_mode(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let model = tokio::task::spawn_blocking(|| LocalModel::load(LocalModelConfig::new(local_llm_model())))
        .await
        .unwrap()
        .expect("the GGUF loads");
    let settings = AssistantSettings {
        max_output_tokens: 48,
        temperature: None,
        ..AssistantSettings::default()
    };
    let assistant = assistant(&store, Some(Arc::new(model)), settings);
    let (answer, events) = ask(
        &assistant,
        &AskRequest::new("where are HTTP retries handled", vec![summary.repository_id]),
    )
    .await;
    assert_eq!(answer.status, AnswerStatus::Complete, "{:?}", answer.error);
    assert_eq!(
        answer.mode,
        AnswerMode::Retrieval,
        "the local model takes no tools"
    );
    assert!(!answer.text.trim().is_empty());
    assert_eq!(streamed_text(&events), answer.text);
    assert!(answer.usage.completion_tokens > 0 && answer.usage.completion_tokens <= 48);
    assert!(
        answer
            .model
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("smollm2"),
        "{:?}",
        answer.model
    );
    // Whatever the small model cites is verified: every citation kept is pinned to the commit.
    assert!(answer.citations.iter().all(|c| c.commit_sha == summary.commit));
}
