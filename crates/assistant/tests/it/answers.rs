//! Retrieval-mode, extractive and "nothing found" answers; history, cancelling, bad requests.

use std::sync::Arc;
use std::time::Duration;

use reposage_assistant::extractive::EXTRACTIVE_NOTICE;
use reposage_assistant::prompt::RETRIEVAL_RULES;
use reposage_assistant::{
    AnswerEvent, AnswerLimits, AnswerMode, AnswerStatus, AskRequest, AssistantSettings, CancellationToken,
    Error, LimitHit, Turn,
};
use reposage_llm::{ChatEvent, FinishReason, Role};
use reposage_retrieval::{SearchParams, Searcher};
use reposage_store::{RepositoryId, Store};
use reposage_testkit::chat::{ScriptedModel, Step, text_reply};
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::{ask, assistant, fixture, index, streamed_text};

const RETRY_QUESTION: &str = "where are HTTP retries handled";

fn context_items(events: &[AnswerEvent]) -> Vec<reposage_assistant::ContextItem> {
    events
        .iter()
        .find_map(|e| match e {
            AnswerEvent::Context(items) => Some(items.clone()),
            _ => None,
        })
        .expect("a context event")
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_retrieval_answer_keeps_verified_citations_pinned_to_the_commit_and_drops_invented_ones(
    pool: PgPool,
) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let model = ScriptedModel::new(vec![text_reply(&[
        "Retries happen in `backoff_send` [",
        "1]. It doubles the delay each time [1:7-8]. ",
        "It also retries forever [42]. See [src/nowhere.rs:1-3].",
    ])]);
    let assistant = assistant(&store, Some(model.clone()), AssistantSettings::default());
    let (answer, events) = ask(
        &assistant,
        &AskRequest::new(RETRY_QUESTION, vec![summary.repository_id]),
    )
    .await;

    let items = context_items(&events);
    assert_eq!(
        items[0].path,
        "src/net/client.rs",
        "{:?}",
        items.iter().map(|i| &i.path).collect::<Vec<_>>()
    );
    assert_eq!(items[0].commit_sha, summary.commit);
    assert_eq!(answer.mode, AnswerMode::Retrieval);
    assert_eq!(answer.status, AnswerStatus::Complete);
    assert_eq!(answer.model.as_deref(), Some("scripted"));
    assert_eq!(
        answer.text,
        "Retries happen in `backoff_send` [1]. It doubles the delay each time [2]. It also retries forever . See ."
    );
    assert_eq!(
        streamed_text(&events),
        answer.text,
        "the stream carries the final text"
    );
    assert_eq!(answer.citations.len(), 2);
    for citation in &answer.citations {
        assert_eq!(citation.path, "src/net/client.rs");
        assert_eq!(citation.commit_sha, summary.commit);
        assert_eq!(citation.repository, "local/svc");
    }
    assert_eq!(answer.citations[0].chunk_id, items[0].chunk_id);
    assert_eq!(
        (answer.citations[1].start_line, answer.citations[1].end_line),
        (7, 8)
    );
    assert_eq!(answer.citations[1].sentence, "It doubles the delay each time");
    assert_eq!(answer.rejected_citations.not_given, 1);
    assert_eq!(answer.rejected_citations.unknown_path, 1);
    let citation_events = events
        .iter()
        .filter(|e| matches!(e, AnswerEvent::Citation(_)))
        .count();
    assert_eq!(citation_events, 2);
    assert!(matches!(events.last(), Some(AnswerEvent::Done(done)) if **done == answer));
    assert!(
        answer.confidence > 0.0 && answer.confidence <= 1.0,
        "{}",
        answer.confidence
    );
    assert_eq!(
        (answer.usage.prompt_tokens, answer.usage.completion_tokens),
        (100, 10)
    );
    assert!(answer.timings.first_token_ms.is_some());

    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].tools.is_empty());
    let messages = &requests[0].messages;
    assert_eq!(messages[0].role, Role::System);
    assert_eq!(messages[0].content, RETRIEVAL_RULES);
    let prompt = &messages.last().unwrap().content;
    let short = &summary.commit[..7];
    assert!(prompt.contains("[1] src/net/client.rs:"), "{prompt}");
    assert!(prompt.contains(&format!("@ {short} · backoff_send")), "{prompt}");
    assert!(
        prompt.ends_with(&format!("Question: {RETRY_QUESTION}\n")),
        "{prompt}"
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn without_a_model_the_answer_is_extractive_labelled_and_cited(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let assistant = assistant(&store, None, AssistantSettings::default());
    let (answer, events) = ask(
        &assistant,
        &AskRequest::new(RETRY_QUESTION, vec![summary.repository_id]),
    )
    .await;
    assert_eq!(answer.mode, AnswerMode::Extractive);
    assert_eq!(answer.model, None);
    assert!(answer.text.starts_with(EXTRACTIVE_NOTICE), "{}", answer.text);
    assert!(answer.text.contains("**src/net/client.rs**"), "{}", answer.text);
    assert!(answer.text.contains("`backoff_send`"), "{}", answer.text);
    assert!(
        answer
            .text
            .contains("Sends the request again while the server is overloaded"),
        "the doc comment is shown: {}",
        answer.text
    );
    assert!(!answer.citations.is_empty());
    assert!(answer.citations.iter().all(|c| c.commit_sha == summary.commit));
    assert_eq!(answer.rejected_citations.total(), 0);
    assert_eq!(streamed_text(&events), answer.text);
    assert!(answer.confidence > 0.0);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn when_nothing_relevant_is_found_the_answer_says_so_and_lists_what_was_searched(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    // Lexical search only (no embedder): no chunk holds every word of the question.
    let lexical = Searcher::new(store.clone(), None, SearchParams::default());
    let model = ScriptedModel::new(vec![]);
    let assistant = reposage_assistant::Assistant::new(
        store.clone(),
        lexical,
        Some(model.clone()),
        AssistantSettings::default(),
    );
    let question = "which quantum chromodynamics solver renders the galaxy";
    let (answer, _) = ask(
        &assistant,
        &AskRequest::new(question, vec![summary.repository_id]),
    )
    .await;
    assert!(answer.nothing_found);
    assert_eq!(answer.confidence, 0.0);
    assert!(answer.citations.is_empty());
    assert!(
        answer
            .text
            .starts_with("I could not find anything in the indexed code"),
        "{}",
        answer.text
    );
    assert!(
        answer.text.contains("quantum chromodynamics solver"),
        "the query is listed: {}",
        answer.text
    );
    assert!(model.requests().is_empty(), "the model is not asked to guess");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn questions_about_the_project_get_the_readme_and_the_history_reaches_the_model(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let model = ScriptedModel::new(vec![text_reply(&["It is a demo service [1]."])]);
    let assistant = assistant(&store, Some(model.clone()), AssistantSettings::default());
    let request = AskRequest {
        question: "How do I run this project?".into(),
        history: vec![Turn {
            question: "What does the retry loop do?".into(),
            answer: "It waits longer each time [1].".into(),
        }],
        repositories: vec![summary.repository_id],
    };
    let (answer, events) = ask(&assistant, &request).await;
    let items = context_items(&events);
    assert!(
        items.iter().any(|i| i.path == "README.md" && i.start_line == 1),
        "{items:?}"
    );
    assert_eq!(
        answer.searched.queries.len(),
        2,
        "the follow-up is searched with the previous question"
    );
    assert!(
        answer.searched.queries[1].contains("retry loop"),
        "{:?}",
        answer.searched.queries
    );
    let messages = &model.requests()[0].messages;
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::User]);
    assert_eq!(messages[1].content, "What does the retry loop do?");
    assert!(
        messages[3].content.contains("README.md:1-"),
        "{}",
        messages[3].content
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn cancelling_stops_the_model_and_keeps_the_partial_answer_as_interrupted(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let model = ScriptedModel::new(vec![vec![
        Step::Event(ChatEvent::Delta("Retries are handled in".into())),
        Step::Hang,
    ]]);
    let assistant = assistant(&store, Some(model.clone()), AssistantSettings::default());
    let (sender, mut receiver) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let canceller = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                if matches!(event, AnswerEvent::Delta(_)) {
                    cancel.cancel();
                }
            }
        })
    };
    let request = AskRequest::new(RETRY_QUESTION, vec![summary.repository_id]);
    let answer = assistant.answer(&request, &sender, &cancel).await.unwrap();
    drop(sender);
    canceller.await.unwrap();
    assert_eq!(answer.status, AnswerStatus::Interrupted);
    assert_eq!(answer.text, "Retries are handled in");
    assert_eq!(model.dropped(), 1, "the model's stream was dropped");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_client_that_leaves_interrupts_the_answer(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let model = ScriptedModel::new(vec![vec![Step::Hang]]);
    let assistant = assistant(&store, Some(model.clone()), AssistantSettings::default());
    let (sender, receiver) = mpsc::channel(64);
    let request = AskRequest::new(RETRY_QUESTION, vec![summary.repository_id]);
    let leave = tokio::spawn(async move {
        let mut receiver = receiver;
        let _context = receiver.recv().await;
        drop(receiver);
    });
    let answer = assistant
        .answer(&request, &sender, &CancellationToken::new())
        .await
        .unwrap();
    leave.await.unwrap();
    assert_eq!(answer.status, AnswerStatus::Interrupted);
    assert_eq!(model.dropped(), 1);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn limits_end_the_answer_with_what_it_has_marked_partial(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let request = AskRequest::new(RETRY_QUESTION, vec![summary.repository_id]);

    let cut = ScriptedModel::new(vec![vec![
        Step::Event(ChatEvent::Delta("Retries are".into())),
        Step::Event(ChatEvent::Finished(FinishReason::Length)),
    ]]);
    let (answer, _) = ask(
        &assistant(&store, Some(cut), AssistantSettings::default()),
        &request,
    )
    .await;
    assert_eq!(answer.partial, Some(LimitHit::OutputTokens));
    assert_eq!(answer.status, AnswerStatus::Complete);
    assert_eq!(answer.text, "Retries are");

    let slow = ScriptedModel::new(vec![vec![
        Step::Event(ChatEvent::Delta("Retries".into())),
        Step::Pause(Duration::from_secs(60)),
        Step::Event(ChatEvent::Delta(" never shown".into())),
    ]]);
    let settings = AssistantSettings {
        limits: AnswerLimits {
            max_duration: Duration::from_millis(1_500),
            ..AnswerLimits::default()
        },
        ..AssistantSettings::default()
    };
    let (answer, _) = ask(&assistant(&store, Some(slow.clone()), settings), &request).await;
    assert_eq!(answer.partial, Some(LimitHit::Seconds));
    assert_eq!(answer.text, "Retries");
    assert_eq!(slow.dropped(), 1);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_stream_that_breaks_fails_the_answer_and_keeps_its_text(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = fixture();
    let summary = index(&store, &fixture, "svc").await;
    let model = ScriptedModel::new(vec![vec![Step::Event(ChatEvent::Delta("Retries are".into()))]]);
    let (answer, events) = ask(
        &assistant(&store, Some(model), AssistantSettings::default()),
        &AskRequest::new(RETRY_QUESTION, vec![summary.repository_id]),
    )
    .await;
    assert_eq!(answer.status, AnswerStatus::Failed);
    assert_eq!(answer.text, "Retries are");
    assert!(
        answer
            .error
            .as_deref()
            .unwrap()
            .contains("without a finish reason"),
        "{:?}",
        answer.error
    );
    assert!(matches!(events.last(), Some(AnswerEvent::Done(_))));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn bad_questions_and_unknown_repositories_are_refused_before_anything_runs(pool: PgPool) {
    let store = Store::from_pool(pool);
    let model = ScriptedModel::new(vec![]);
    let assistant = assistant(&store, Some(model.clone()), AssistantSettings::default());
    let (sender, _receiver) = mpsc::channel(8);
    let cancel = CancellationToken::new();
    let empty = AskRequest::new("  ", vec![RepositoryId::new_random()]);
    assert!(matches!(
        assistant.answer(&empty, &sender, &cancel).await,
        Err(Error::InvalidRequest {
            field: "question",
            ..
        })
    ));
    let unknown = AskRequest::new("why?", vec![RepositoryId::new_random()]);
    assert!(matches!(
        assistant.answer(&unknown, &sender, &cancel).await,
        Err(Error::NotIndexed { .. })
    ));
    assert!(model.requests().is_empty());
    let _ = Arc::clone(&model);
}
