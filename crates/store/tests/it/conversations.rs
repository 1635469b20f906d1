//! Conversations: creation over existing repositories, listing, questions with their streaming
//! answers, checkpoints, finishing, regeneration, closing, deleting and abandoned answers — and that
//! every refused write leaves nothing behind.

use std::time::Duration;

use reposage_store::{
    ABANDONED_ANSWER, AnswerDetails, ConversationId, ConversationStatus, Error, FinishedAnswer, MessageId,
    MessageMode, MessageRole, MessageStatus, NewConversation, RejectedCounts, RepositoryId, SearchedRecord,
    Store, StoredCitation,
};
use sqlx::PgPool;

use crate::new_repository;

/// Long enough that no answer of a test goes stale by itself.
const STALE_AFTER: Duration = Duration::from_secs(600);

async fn count(store: &Store, table: &str) -> i64 {
    let query = match table {
        "conversations" => "SELECT COUNT(*) FROM conversations",
        "conversation_repositories" => "SELECT COUNT(*) FROM conversation_repositories",
        "messages" => "SELECT COUNT(*) FROM messages",
        "repositories" => "SELECT COUNT(*) FROM repositories",
        other => panic!("no count query for {other}"),
    };
    sqlx::query_scalar(query)
        .fetch_one(store.pool())
        .await
        .expect("count")
}

/// Rows of the three conversation tables.
async fn rows(store: &Store) -> [i64; 3] {
    [
        count(store, "conversations").await,
        count(store, "conversation_repositories").await,
        count(store, "messages").await,
    ]
}

async fn repositories(store: &Store, names: &[&str]) -> Vec<RepositoryId> {
    let mut ids = Vec::new();
    for name in names {
        let repo = new_repository("team", name);
        store.upsert_repository(&repo).await.expect("repository");
        ids.push(repo.id);
    }
    ids
}

async fn conversation(store: &Store, repositories: Vec<RepositoryId>) -> ConversationId {
    let id = ConversationId::new_random();
    store
        .create_conversation(&NewConversation {
            id,
            title: None,
            repositories,
        })
        .await
        .expect("conversation");
    id
}

fn citation(repository_id: RepositoryId) -> StoredCitation {
    StoredCitation {
        id: 1,
        item: 2,
        repository_id,
        repository: "team/api".into(),
        path: "src/lib.rs".into(),
        start_line: 3,
        end_line: 9,
        commit_sha: "0123456789abcdef0123456789abcdef01234567".into(),
        chunk_id: Some(42),
        score: 0.5,
        sentence: "Retries double the delay".into(),
    }
}

fn finished(status: MessageStatus, content: &str, citations: Vec<StoredCitation>) -> FinishedAnswer {
    FinishedAnswer {
        content: content.into(),
        citations,
        mode: Some(MessageMode::Retrieval),
        model: Some("scripted".into()),
        prompt_tokens: 120,
        completion_tokens: 30,
        latency_ms: 812.5,
        confidence: 0.64,
        status,
        error: (status == MessageStatus::Failed).then(|| "the stream broke".to_string()),
        details: AnswerDetails {
            partial: Some("output_tokens".into()),
            fallback: None,
            nothing_found: false,
            rejected_citations: RejectedCounts {
                not_given: 1,
                out_of_range: 0,
                unknown_path: 2,
            },
            searched: SearchedRecord {
                queries: vec!["retries".into()],
                tools: vec![],
                files: vec!["team/api:src/lib.rs".into()],
            },
            context_items: 4,
            context_ms: 12.0,
            first_token_ms: Some(40.0),
        },
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_conversation_keeps_its_repositories_in_order_once_each_and_lists_newest_first(pool: PgPool) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api", "web", "cli"]).await;
    let first = store
        .create_conversation(&NewConversation {
            id: ConversationId::new_random(),
            title: Some("Retries".into()),
            repositories: vec![ids[2], ids[0], ids[2]],
        })
        .await
        .expect("conversation");
    assert_eq!(first.repositories, [ids[2], ids[0]]);
    assert_eq!(first.title.as_deref(), Some("Retries"));
    assert_eq!(first.status, ConversationStatus::Open);
    assert_eq!(first.messages, 0);
    let second = conversation(&store, vec![ids[1]]).await;
    let third = conversation(&store, vec![ids[0]]).await;

    let page = store.list_conversations(2, 0).await.expect("page");
    let listed: Vec<ConversationId> = page.items.iter().map(|c| c.id).collect();
    assert_eq!(listed, [third, second]);
    assert!(page.has_more);
    let rest = store.list_conversations(2, 2).await.expect("page");
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0], first);
    assert!(!rest.has_more);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_conversation_naming_an_unknown_repository_is_refused_naming_it_and_nothing_is_written(
    pool: PgPool,
) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api"]).await;
    let missing = RepositoryId::new_random();
    let error = store
        .create_conversation(&NewConversation {
            id: ConversationId::new_random(),
            title: None,
            repositories: vec![ids[0], missing],
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotFound { what: "repository", id } if *id == missing.to_string()),
        "{error}"
    );
    assert_eq!(rows(&store).await, [0, 0, 0]);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_question_is_stored_with_its_streaming_answer_which_checkpoints_and_finishes_in_one_write(
    pool: PgPool,
) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api"]).await;
    let id = conversation(&store, ids.clone()).await;
    let (question_id, answer_id) = (MessageId::new_random(), MessageId::new_random());
    let exchange = store
        .ask_in_conversation(
            id,
            question_id,
            answer_id,
            "\nHow are retries done?\nThanks",
            STALE_AFTER,
        )
        .await
        .expect("exchange");
    assert_eq!(exchange.question.id, question_id);
    assert_eq!(exchange.question.role, MessageRole::User);
    assert_eq!(exchange.question.status, MessageStatus::Complete);
    assert_eq!(exchange.question.parent_id, None);
    assert_eq!(exchange.answer.parent_id, Some(question_id));
    assert_eq!(exchange.answer.role, MessageRole::Assistant);
    assert_eq!(exchange.answer.status, MessageStatus::Streaming);
    assert_eq!(exchange.answer.content, "");
    let titled = store.get_conversation(id).await.expect("conversation");
    assert_eq!(titled.title.as_deref(), Some("How are retries done?"));
    assert_eq!(titled.messages, 2);

    assert!(store.checkpoint_answer(answer_id, "Retries are").await.unwrap());
    assert_eq!(store.get_message(answer_id).await.unwrap().content, "Retries are");

    let done = finished(
        MessageStatus::Complete,
        "Retries are done in `send` [1].",
        vec![citation(ids[0])],
    );
    let record = store.finish_answer(answer_id, &done).await.expect("finish");
    assert_eq!(record.status, MessageStatus::Complete);
    assert_eq!(record.content, done.content);
    assert_eq!(record.citations, done.citations);
    assert_eq!(record.mode, Some(MessageMode::Retrieval));
    assert_eq!(record.model.as_deref(), Some("scripted"));
    assert_eq!((record.prompt_tokens, record.completion_tokens), (120, 30));
    assert_eq!(record.latency_ms, Some(812.5));
    assert_eq!(record.confidence, Some(0.64));
    assert_eq!(record.details, done.details);
    assert_eq!(record.error, None);

    let (conversation, messages) = store.get_conversation_with_messages(id).await.expect("detail");
    assert!(conversation.updated_at >= titled.updated_at);
    assert_eq!(
        messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        [question_id, answer_id]
    );
    assert_eq!(messages[1], record);

    assert!(
        !store.checkpoint_answer(answer_id, "late").await.unwrap(),
        "a finished answer takes no checkpoint"
    );
    assert!(matches!(
        store.finish_answer(answer_id, &done).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.get_message(answer_id).await.unwrap(), record);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_answer_cannot_end_streaming_nor_fail_without_an_error(pool: PgPool) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api"]).await;
    let id = conversation(&store, ids).await;
    let answer_id = MessageId::new_random();
    store
        .ask_in_conversation(id, MessageId::new_random(), answer_id, "why?", STALE_AFTER)
        .await
        .unwrap();
    let streaming = finished(MessageStatus::Streaming, "x", vec![]);
    assert!(matches!(
        store.finish_answer(answer_id, &streaming).await,
        Err(Error::Conflict { .. })
    ));
    let silent_failure = FinishedAnswer {
        error: None,
        ..finished(MessageStatus::Failed, "x", vec![])
    };
    assert!(matches!(
        store.finish_answer(answer_id, &silent_failure).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        store.get_message(answer_id).await.unwrap().status,
        MessageStatus::Streaming
    );
    let failed = store
        .finish_answer(answer_id, &finished(MessageStatus::Failed, "Retr", vec![]))
        .await
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some("the stream broke"));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_second_question_while_an_answer_streams_is_refused_until_that_writer_is_stale(pool: PgPool) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api"]).await;
    let id = conversation(&store, ids).await;
    let first_answer = MessageId::new_random();
    store
        .ask_in_conversation(id, MessageId::new_random(), first_answer, "one?", STALE_AFTER)
        .await
        .unwrap();
    let before = rows(&store).await;
    let error = store
        .ask_in_conversation(
            id,
            MessageId::new_random(),
            MessageId::new_random(),
            "two?",
            STALE_AFTER,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Conflict { what: "conversation", reason, .. } if reason.contains("still answering")),
        "{error}"
    );
    assert_eq!(rows(&store).await, before, "nothing written");

    // The writer stops checkpointing: after `stale_after` its answer counts as abandoned.
    tokio::time::sleep(Duration::from_millis(50)).await;
    store
        .ask_in_conversation(
            id,
            MessageId::new_random(),
            MessageId::new_random(),
            "two?",
            Duration::from_millis(10),
        )
        .await
        .expect("the stale answer no longer blocks");
    let abandoned = store.get_message(first_answer).await.unwrap();
    assert_eq!(abandoned.status, MessageStatus::Interrupted);
    assert_eq!(abandoned.error.as_deref(), Some(ABANDONED_ANSWER));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_sweep_interrupts_only_answers_whose_writer_stopped_checkpointing(pool: PgPool) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api", "web"]).await;
    let (old, fresh) = (
        conversation(&store, vec![ids[0]]).await,
        conversation(&store, vec![ids[1]]).await,
    );
    let (old_answer, fresh_answer) = (MessageId::new_random(), MessageId::new_random());
    store
        .ask_in_conversation(old, MessageId::new_random(), old_answer, "one?", STALE_AFTER)
        .await
        .unwrap();
    store
        .ask_in_conversation(fresh, MessageId::new_random(), fresh_answer, "two?", STALE_AFTER)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    store
        .checkpoint_answer(fresh_answer, "still going")
        .await
        .unwrap();
    assert_eq!(
        store
            .interrupt_stale_answers(Duration::from_millis(200))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.get_message(old_answer).await.unwrap().status,
        MessageStatus::Interrupted
    );
    assert_eq!(
        store.get_message(fresh_answer).await.unwrap().status,
        MessageStatus::Streaming
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn regenerating_adds_a_sibling_answer_to_the_same_question_and_keeps_the_old_one(pool: PgPool) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api"]).await;
    let id = conversation(&store, ids.clone()).await;
    let other = conversation(&store, ids).await;
    let (question, first) = (MessageId::new_random(), MessageId::new_random());
    store
        .ask_in_conversation(id, question, first, "why?", STALE_AFTER)
        .await
        .unwrap();
    store
        .finish_answer(first, &finished(MessageStatus::Complete, "Because.", vec![]))
        .await
        .unwrap();

    let before = rows(&store).await;
    for (conversation, parent) in [(other, question), (id, first)] {
        let error = store
            .start_regeneration(conversation, parent, MessageId::new_random(), STALE_AFTER)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::NotFound { what: "question", .. }),
            "{error}"
        );
    }
    assert_eq!(rows(&store).await, before, "nothing written");

    let second = MessageId::new_random();
    let sibling = store
        .start_regeneration(id, question, second, STALE_AFTER)
        .await
        .expect("regeneration");
    assert_eq!(sibling.parent_id, Some(question));
    assert_eq!(sibling.status, MessageStatus::Streaming);
    let (_, messages) = store.get_conversation_with_messages(id).await.unwrap();
    assert_eq!(
        messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        [question, first, second]
    );
    assert_eq!(messages[1].content, "Because.", "the old answer is kept");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_closed_conversation_stays_readable_and_refuses_questions_and_regenerations(pool: PgPool) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api"]).await;
    let id = conversation(&store, ids).await;
    let (question, answer) = (MessageId::new_random(), MessageId::new_random());
    store
        .ask_in_conversation(id, question, answer, "why?", STALE_AFTER)
        .await
        .unwrap();
    store
        .finish_answer(answer, &finished(MessageStatus::Interrupted, "Be", vec![]))
        .await
        .unwrap();
    let closed = store.close_conversation(id).await.expect("close");
    assert_eq!(closed.status, ConversationStatus::Closed);
    assert_eq!(
        store.close_conversation(id).await.unwrap(),
        closed,
        "closing twice changes nothing"
    );

    let before = rows(&store).await;
    let refused = [
        store
            .ask_in_conversation(
                id,
                MessageId::new_random(),
                MessageId::new_random(),
                "more?",
                STALE_AFTER,
            )
            .await
            .map(|_| ()),
        store
            .start_regeneration(id, question, MessageId::new_random(), STALE_AFTER)
            .await
            .map(|_| ()),
    ];
    for result in refused {
        assert!(
            matches!(&result, Err(Error::Conflict { reason, .. }) if reason == "is closed"),
            "{result:?}"
        );
    }
    assert_eq!(rows(&store).await, before, "nothing written");
    assert_eq!(store.get_conversation_with_messages(id).await.unwrap().1.len(), 2);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn deleting_a_conversation_removes_its_messages_and_deleting_a_repository_drops_it_from_conversations(
    pool: PgPool,
) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api", "web"]).await;
    let id = conversation(&store, ids.clone()).await;
    store
        .ask_in_conversation(
            id,
            MessageId::new_random(),
            MessageId::new_random(),
            "why?",
            STALE_AFTER,
        )
        .await
        .unwrap();
    assert!(store.delete_repository(ids[1]).await.unwrap());
    assert_eq!(store.get_conversation(id).await.unwrap().repositories, [ids[0]]);

    assert!(store.delete_conversation(id).await.unwrap());
    assert!(!store.delete_conversation(id).await.unwrap());
    assert_eq!(rows(&store).await, [0, 0, 0]);
    assert!(matches!(
        store.get_conversation(id).await,
        Err(Error::NotFound {
            what: "conversation",
            ..
        })
    ));
    assert_eq!(count(&store, "repositories").await, 1, "repositories stay");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_schema_refuses_unknown_statuses_and_answers_to_questions_of_another_conversation(pool: PgPool) {
    let store = Store::from_pool(pool);
    let ids = repositories(&store, &["api"]).await;
    let (one, two) = (
        conversation(&store, ids.clone()).await,
        conversation(&store, ids).await,
    );
    let question = MessageId::new_random();
    store
        .ask_in_conversation(one, question, MessageId::new_random(), "why?", STALE_AFTER)
        .await
        .unwrap();
    let insert = |conversation: ConversationId, parent: Option<MessageId>, role: &str, status: &str| {
        sqlx::query(
            "INSERT INTO messages (id, conversation_id, parent_id, role, status) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(MessageId::new_random())
        .bind(conversation)
        .bind(parent)
        .bind(role.to_string())
        .bind(status.to_string())
        .execute(store.pool())
    };
    for (conversation, parent, role, status) in [
        (one, Some(question), "assistant", "pending"),
        (one, Some(question), "system", "complete"),
        (two, Some(question), "assistant", "streaming"),
        (one, None, "assistant", "streaming"),
        (one, None, "user", "streaming"),
        (one, Some(question), "assistant", "failed"),
    ] {
        assert!(
            insert(conversation, parent, role, status).await.is_err(),
            "{role} {status} in {conversation} with parent {parent:?} was accepted"
        );
    }
    assert!(
        sqlx::query("UPDATE conversations SET status = 'archived'")
            .execute(store.pool())
            .await
            .is_err()
    );
    insert(one, Some(question), "assistant", "complete")
        .await
        .expect("a valid row is accepted");
}
