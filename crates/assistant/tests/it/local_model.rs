//! The assistant with the real local model (SmolLM2-135M-Instruct): a weak model, offered tools
//! in its prompt (the Hermes `<tool_call>` convention), that ignores or garbles them. Ignored, the
//! agent loop ends with the model's answer from the context given up front; garbled, it falls back
//! to a one-shot answer and says why. Either way the answer completes.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reposage_assistant::{
    Answer, AnswerEvent, AnswerLimits, AnswerMode, AnswerStatus, AskRequest, AssistantSettings, LimitHit,
};
use reposage_llm::ChatModel;
use reposage_llm::local::{LocalModel, LocalModelConfig};
use reposage_store::Store;
use reposage_testkit::samples::local_llm_model;
use sqlx::PgPool;

use crate::{ask, assistant, fixture, index, streamed_text};

/// The model, loaded once per test binary (the weights are shared between requests).
async fn model() -> Arc<dyn ChatModel> {
    static MODEL: OnceLock<LocalModel> = OnceLock::new();
    if let Some(model) = MODEL.get() {
        return Arc::new(model.clone());
    }
    let model = tokio::task::spawn_blocking(|| LocalModel::load(LocalModelConfig::new(local_llm_model())))
        .await
        .unwrap()
        .expect("the GGUF loads");
    Arc::new(MODEL.get_or_init(|| model).clone())
}

/// Short answers, greedy decoding: the test runs in seconds and answers the same every time.
fn settings(tools: bool) -> AssistantSettings {
    AssistantSettings {
        max_output_tokens: 48,
        temperature: None,
        tools,
        limits: AnswerLimits {
            max_steps: 3,
            max_duration: Duration::from_secs(120),
            // A shorter prompt: SmolLM2 reads it on the CPU.
            max_items: 4,
            ..AnswerLimits::default()
        },
        ..AssistantSettings::default()
    }
}

/// What every answer of the local model must be, whichever mode ran.
fn assert_a_sane_answer(answer: &Answer, events: &[AnswerEvent]) {
    assert_eq!(answer.status, AnswerStatus::Complete, "{:?}", answer.error);
    assert!(
        matches!(
            answer.partial,
            None | Some(LimitHit::OutputTokens | LimitHit::Steps)
        ),
        "{:?}",
        answer.partial
    );
    assert!(!answer.text.trim().is_empty());
    assert_eq!(streamed_text(events), answer.text);
    assert!(
        !answer.text.contains("<tool_call>"),
        "a garbled call is never shown: {:?}",
        answer.text
    );
    assert!(answer.usage.completion_tokens > 0);
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
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_local_model_answers_from_the_context_in_retrieval_mode_when_tools_are_off(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let assistant = assistant(&store, Some(model().await), settings(false));
    let (answer, events) = ask(
        &assistant,
        &AskRequest::new("where are HTTP retries handled", vec![summary.repository_id]),
    )
    .await;
    assert_a_sane_answer(&answer, &events);
    assert_eq!(answer.mode, AnswerMode::Retrieval);
    assert_eq!(answer.fallback, None, "one-shot by configuration, not a fallback");
    assert!(answer.usage.completion_tokens <= 48);
    // Whatever the small model cites is verified: every citation kept is pinned to the commit.
    assert!(answer.citations.iter().all(|c| c.commit_sha == summary.commit));
}

/// Tool steps the answer ran.
fn tool_steps(events: &[AnswerEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, AnswerEvent::Tool(_)))
        .count()
}

fn describe(answer: &Answer) -> String {
    format!(
        "mode {:?}, fallback {:?}, tools {:?}, partial {:?}, usage {:?}, text {:?}",
        answer.mode, answer.fallback, answer.searched.tools, answer.partial, answer.usage, answer.text
    )
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_local_model_goes_through_the_agent_loop_and_its_answer_completes(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let model = model().await;
    assert!(model.info().supports_tools, "the local model is offered tools");
    let assistant = assistant(&store, Some(model), settings(true));
    let (answer, events) = ask(
        &assistant,
        &AskRequest::new("where are HTTP retries handled", vec![summary.repository_id]),
    )
    .await;
    eprintln!("offered tools: {}", describe(&answer));
    assert_a_sane_answer(&answer, &events);
    match (answer.mode, tool_steps(&events)) {
        // SmolLM2-135M ignores the protocol and answers from the items it was given.
        (AnswerMode::Agent, 0) => assert_eq!(answer.fallback, None),
        // It wrote a call that could not be used: the one-shot answer, and why.
        (AnswerMode::Retrieval, 0) => {
            let reason = answer.fallback.as_deref().expect("the fallback says why");
            assert!(reason.contains("tool"), "{reason}");
        }
        // It called a tool well-formed: the agent answered, or its calls failed and it fell back.
        (AnswerMode::Agent, _) => {}
        (AnswerMode::Retrieval, _) => assert!(answer.fallback.is_some(), "{}", describe(&answer)),
        (AnswerMode::Extractive, _) => panic!("a model was configured: {}", describe(&answer)),
    }
    assert!(answer.citations.iter().all(|c| c.commit_sha == summary.commit));
}
