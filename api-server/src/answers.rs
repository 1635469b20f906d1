//! Answers being written: each runs in a task of its own, which records its events in memory,
//! checkpoints its text to Postgres, stores how it ended and records the metrics.
//!
//! # Events, readers and resuming
//! Every event of an answer is kept in its [`Inflight`] log, numbered from 1 (the SSE `id`), until
//! the answer ends. A reader ([`Subscription`]) replays the log after a given id, then follows it
//! live: the client that asked reads from the start; `GET …/messages/{mid}/stream` with
//! `Last-Event-ID: n` reads from `n + 1`. Once the answer has ended and is stored, its log is
//! dropped and readers get the stored answer instead (one `done` event).
//!
//! # Interruption
//! The assistant is handed a channel whose receiver this task holds. When no reader has been
//! attached for [`ChatSettings::resume_grace`] (the client left and did not come back), the task
//! drops the receiver: the assistant notices the closed channel, drops the model's stream (which
//! cancels the generation) and ends `interrupted` with the text written so far, which is stored.
//! `POST …/cancel` does the same at once through the answer's cancellation token.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use reposage_assistant::{
    self as assistant, AnswerEvent, AnswerStatus, AskRequest, Assistant, CancellationToken,
};
use reposage_store::{
    AnswerDetails, ConversationId, FinishedAnswer, MessageId, MessageMode, MessageStatus, RejectedCounts,
    SearchedRecord, Store, StoredCitation,
};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::dto;
use crate::error::ApiError;
use crate::metrics::{AnswerObservation, Metrics, QueryResult};

/// How the server runs answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatSettings {
    /// How long an answer goes on with no client reading it (so a client that lost its connection
    /// can resume with `Last-Event-ID`) before it is interrupted. Zero interrupts as soon as the
    /// last reader leaves.
    pub resume_grace: Duration,
    /// Interval of the keep-alive comments of event streams.
    pub keep_alive: Duration,
    /// How often a streaming answer's text is saved (which also shows its writer is alive).
    pub checkpoint_interval: Duration,
    /// A streaming answer not saved for this long is taken for abandoned by a server that stopped.
    pub stale_after: Duration,
    /// Longest `POST …/cancel` waits for the answer to stop before answering 202.
    pub cancel_wait: Duration,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            resume_grace: Duration::from_secs(5),
            keep_alive: Duration::from_secs(15),
            checkpoint_interval: Duration::from_secs(1),
            stale_after: Duration::from_secs(60),
            cancel_wait: Duration::from_secs(5),
        }
    }
}

/// Capacity of the channel between the assistant and its task.
const EVENT_CHANNEL: usize = 64;

/// The answers this server is writing, by message id. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    inner: Arc<Mutex<HashMap<MessageId, Arc<Inflight>>>>,
}

impl Answers {
    fn lock(&self) -> MutexGuard<'_, HashMap<MessageId, Arc<Inflight>>> {
        // A panic while holding this lock cannot leave the map inconsistent: take it anyway.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers an answer about to be written.
    pub(crate) fn insert(&self, id: MessageId, inflight: Arc<Inflight>) {
        self.lock().insert(id, inflight);
    }

    /// The answer `id`, while this server writes it.
    pub(crate) fn get(&self, id: MessageId) -> Option<Arc<Inflight>> {
        self.lock().get(&id).cloned()
    }

    pub(crate) fn remove(&self, id: MessageId) {
        self.lock().remove(&id);
    }

    /// Answers being written.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no answer is being written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cancels the answers of a conversation (it is being deleted).
    pub(crate) fn cancel_conversation(&self, conversation: ConversationId) {
        for inflight in self.lock().values() {
            if inflight.conversation_id == Some(conversation) {
                inflight.cancel.cancel();
            }
        }
    }

    /// Cancels every answer (the server is shutting down): each stores what it has, `interrupted`.
    pub fn cancel_all(&self) {
        for inflight in self.lock().values() {
            inflight.cancel.cancel();
        }
    }

    /// Waits until every answer has been stored, or `timeout` passed; returns whether they were.
    pub async fn drained(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_empty() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }
}

/// One recorded event: its SSE id, name and JSON data.
#[derive(Debug)]
pub(crate) struct Logged {
    id: u64,
    name: &'static str,
    data: String,
}

impl Logged {
    fn sse(&self) -> Event {
        Event::default()
            .id(self.id.to_string())
            .event(self.name)
            .data(&self.data)
    }
}

/// How an answer ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// With an answer (complete, interrupted or failed): the `done` document.
    Done(Box<dto::Done>),
    /// Without one: the problem sent as the `error` event.
    Failed(ApiError),
}

#[derive(Debug, Default)]
struct Log {
    events: Vec<Arc<Logged>>,
    outcome: Option<Outcome>,
}

/// An answer being written: its events so far, its readers and its cancellation.
#[derive(Debug)]
pub(crate) struct Inflight {
    pub(crate) conversation_id: Option<ConversationId>,
    pub(crate) question_id: Option<MessageId>,
    pub(crate) message_id: Option<MessageId>,
    pub(crate) cancel: CancellationToken,
    log: Mutex<Log>,
    /// Bumped on every change of the log.
    version: watch::Sender<u64>,
    /// Readers attached.
    readers: watch::Sender<usize>,
}

impl Inflight {
    /// A new answer; `ids` are its conversation, question and message (none for a one-shot question).
    pub(crate) fn new(ids: Option<(ConversationId, MessageId, MessageId)>) -> Arc<Self> {
        Arc::new(Inflight {
            conversation_id: ids.map(|(c, _, _)| c),
            question_id: ids.map(|(_, q, _)| q),
            message_id: ids.map(|(_, _, m)| m),
            cancel: CancellationToken::new(),
            log: Mutex::new(Log::default()),
            version: watch::Sender::new(0),
            readers: watch::Sender::new(0),
        })
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push_locked(log: &mut Log, name: &'static str, data: &impl Serialize) {
        let data = serde_json::to_string(data).unwrap_or_else(|error| {
            tracing::error!(%error, event = name, "an answer event did not serialise");
            "{}".to_string()
        });
        let id = log.events.len() as u64 + 1;
        log.events.push(Arc::new(Logged { id, name, data }));
    }

    /// Records an event.
    fn push(&self, name: &'static str, data: &impl Serialize) {
        Self::push_locked(&mut self.log(), name, data);
        self.version.send_modify(|v| *v += 1);
    }

    /// Records the last event (`done` or `error`) and the outcome together.
    fn finish(&self, outcome: Outcome) {
        {
            let mut log = self.log();
            if log.outcome.is_some() {
                return;
            }
            match &outcome {
                Outcome::Done(done) => Self::push_locked(&mut log, "done", done),
                Outcome::Failed(error) => Self::push_locked(&mut log, "error", &error.problem()),
            }
            log.outcome = Some(outcome);
        }
        self.version.send_modify(|v| *v += 1);
    }

    /// Waits for the outcome.
    pub(crate) async fn outcome(&self) -> Outcome {
        let mut version = self.version.subscribe();
        loop {
            version.borrow_and_update();
            if let Some(outcome) = &self.log().outcome {
                return outcome.clone();
            }
            if version.changed().await.is_err() {
                return Outcome::Failed(ApiError::Internal);
            }
        }
    }

    /// A reader of the events after `after` (0: all of them).
    pub(crate) fn subscribe(self: &Arc<Self>, after: u64) -> Subscription {
        self.readers.send_modify(|n| *n += 1);
        Subscription {
            inflight: self.clone(),
            version: self.version.subscribe(),
            cursor: usize::try_from(after).unwrap_or(usize::MAX),
            pending: VecDeque::new(),
        }
    }

    /// Resolves once no reader has been attached for `grace`.
    async fn abandoned(&self, grace: Duration) {
        let mut readers = self.readers.subscribe();
        loop {
            if readers.wait_for(|n| *n == 0).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(grace) => return,
                changed = readers.changed() => if changed.is_err() { return },
            }
        }
    }
}

/// One reader of an answer's events. Dropping it detaches the reader.
#[derive(Debug)]
pub(crate) struct Subscription {
    inflight: Arc<Inflight>,
    version: watch::Receiver<u64>,
    /// Events read so far (the next event has id `cursor + 1`).
    cursor: usize,
    pending: VecDeque<Arc<Logged>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.inflight.readers.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Subscription {
    /// The next event; `None` after the last one.
    async fn next(&mut self) -> Option<Arc<Logged>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            self.version.borrow_and_update();
            {
                let log = self.inflight.log();
                if self.cursor < log.events.len() {
                    self.pending.extend(log.events[self.cursor..].iter().cloned());
                    self.cursor = log.events.len();
                    continue;
                }
                if log.outcome.is_some() {
                    return None;
                }
            }
            if self.version.changed().await.is_err() {
                return None;
            }
        }
    }

    /// Waits for the outcome, staying attached meanwhile (a client waiting for a JSON answer).
    pub(crate) async fn outcome(&self) -> Outcome {
        self.inflight.outcome().await
    }

    /// The events as an SSE response body with keep-alive comments.
    pub(crate) fn into_sse(
        self,
        keep_alive: Duration,
    ) -> Sse<impl Stream<Item = Result<Event, Infallible>> + Send + 'static> {
        let events = futures::stream::unfold(self, |mut reader| async move {
            let event = reader.next().await?;
            Some((Ok(event.sse()), reader))
        });
        Sse::new(events).keep_alive(KeepAlive::new().interval(keep_alive).text("keep-alive"))
    }
}

/// One answer to write.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) assistant: Assistant,
    pub(crate) store: Store,
    pub(crate) metrics: Metrics,
    pub(crate) answers: Answers,
    pub(crate) settings: ChatSettings,
    pub(crate) inflight: Arc<Inflight>,
    pub(crate) request: AskRequest,
    /// The request field holding the question (`content` or `question`), for problems.
    pub(crate) question_field: &'static str,
}

/// Ends an answer whose task stopped without an outcome (it panicked): readers get a 500 problem,
/// the registry forgets it. Its row stays `streaming` until it goes stale.
struct Unfinished {
    inflight: Arc<Inflight>,
    answers: Answers,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        self.inflight.finish(Outcome::Failed(ApiError::Internal));
        if let Some(id) = self.inflight.message_id {
            self.answers.remove(id);
        }
    }
}

impl Job {
    /// Runs the answer in a task of its own.
    pub(crate) fn spawn(self) {
        tokio::spawn(self.run());
    }

    async fn run(self) {
        let _unfinished = Unfinished {
            inflight: self.inflight.clone(),
            answers: self.answers.clone(),
        };
        let inflight = &self.inflight;
        let (sender, receiver) = mpsc::channel(EVENT_CHANNEL);
        let mut receiver = Some(receiver);
        let mut recorder = Recorder {
            min_relevance: self.assistant.settings().context.min_relevance,
            ..Recorder::default()
        };
        let mut checkpoints = tokio::time::interval(self.settings.checkpoint_interval);
        checkpoints.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        checkpoints.tick().await;
        let answer = self.assistant.answer(&self.request, &sender, &inflight.cancel);
        tokio::pin!(answer);
        let abandoned = inflight.abandoned(self.settings.resume_grace);
        tokio::pin!(abandoned);
        let result = loop {
            tokio::select! {
                result = &mut answer => break result,
                Some(event) = next_event(&mut receiver) => recorder.record(inflight, event),
                () = &mut abandoned, if receiver.is_some() => {
                    tracing::debug!(message_id = ?inflight.message_id, "no client reads the answer: interrupting it");
                    receiver = None;
                }
                _ = checkpoints.tick(), if inflight.message_id.is_some() => self.checkpoint(&recorder.text).await,
            }
        };
        if let Some(receiver) = receiver.as_mut() {
            while let Ok(event) = receiver.try_recv() {
                recorder.record(inflight, event);
            }
        }
        let outcome = match result {
            Ok(answer) => self.answered(answer, recorder.relevant).await,
            Err(error) => self.refused(error).await,
        };
        inflight.finish(outcome);
        if let Some(id) = inflight.message_id {
            self.answers.remove(id);
        }
    }

    async fn checkpoint(&self, text: &str) {
        let Some(id) = self.inflight.message_id else {
            return;
        };
        match self.store.checkpoint_answer(id, text).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(message_id = %id, "the answer's conversation was deleted: stopping it");
                self.inflight.cancel.cancel();
            }
            Err(error) => {
                tracing::warn!(message_id = %id, error = %reposage_runtime::report(&error), "cannot save the streamed text")
            }
        }
    }

    /// Stores and reports an answer; its `done` document.
    async fn answered(&self, answer: assistant::Answer, relevant_items: usize) -> Outcome {
        let inflight = &self.inflight;
        if let Some(id) = inflight.message_id {
            match self.store.finish_answer(id, &finished_answer(&answer)).await {
                Ok(_) => {}
                Err(reposage_store::Error::NotFound { .. }) => {
                    tracing::info!(message_id = %id, "the answer's conversation was deleted while it was written");
                }
                Err(error) => {
                    self.metrics.observe_query_result(QueryResult::Failed);
                    return Outcome::Failed(ApiError::internal(&error));
                }
            }
        }
        let result = match answer.status {
            AnswerStatus::Complete => QueryResult::Success,
            AnswerStatus::Interrupted => QueryResult::Interrupted,
            AnswerStatus::Failed => QueryResult::Failed,
        };
        let seconds = |ms: f64| ms / 1000.0;
        self.metrics.observe_answer(&AnswerObservation {
            mode: answer.mode.as_str(),
            result,
            first_token_seconds: answer.timings.first_token_ms.map(seconds),
            total_seconds: seconds(answer.timings.total_ms),
            relevant_items,
            prompt_tokens: u64::from(answer.usage.prompt_tokens),
            completion_tokens: u64::from(answer.usage.completion_tokens),
            rejected: [
                u64::from(answer.rejected_citations.not_given),
                u64::from(answer.rejected_citations.out_of_range),
                u64::from(answer.rejected_citations.unknown_path),
            ],
        });
        log_processed(
            &answer,
            relevant_items,
            inflight.conversation_id,
            inflight.message_id,
        );
        Outcome::Done(Box::new(dto::Done {
            conversation_id: inflight.conversation_id.map(|id| id.0),
            question_id: inflight.question_id.map(|id| id.0),
            message_id: inflight.message_id.map(|id| id.0),
            answer: answer.into(),
        }))
    }

    /// Stores an answer that could not start as failed; the problem its readers get.
    async fn refused(&self, error: assistant::Error) -> Outcome {
        let problem = ApiError::from_assistant(error, self.question_field);
        self.metrics.observe_query_result(QueryResult::Failed);
        if let Some(id) = self.inflight.message_id {
            let failed = FinishedAnswer {
                content: String::new(),
                citations: Vec::new(),
                mode: None,
                model: None,
                prompt_tokens: 0,
                completion_tokens: 0,
                latency_ms: 0.0,
                confidence: 0.0,
                status: MessageStatus::Failed,
                error: Some(problem.detail()),
                details: AnswerDetails::default(),
            };
            match self.store.finish_answer(id, &failed).await {
                Ok(_) | Err(reposage_store::Error::NotFound { .. }) => {}
                Err(error) => {
                    tracing::warn!(message_id = %id, error = %reposage_runtime::report(&error), "cannot store the failed answer");
                }
            }
        }
        Outcome::Failed(problem)
    }
}

/// The structured `ai.query.processed` event of one answer.
fn log_processed(
    answer: &assistant::Answer,
    relevant_items: usize,
    conversation_id: Option<ConversationId>,
    message_id: Option<MessageId>,
) {
    tracing::info!(
        name: "ai.query.processed",
        response_time_ms = answer.timings.total_ms,
        first_token_ms = answer.timings.first_token_ms,
        context_ms = answer.timings.context_ms,
        rag_hits = relevant_items,
        context_items = answer.context_items,
        confidence = answer.confidence,
        mode = answer.mode.as_str(),
        status = answer.status.as_str(),
        model = answer.model.as_deref(),
        citations = answer.citations.len(),
        citations_rejected = answer.rejected_citations.total(),
        prompt_tokens = answer.usage.prompt_tokens,
        completion_tokens = answer.usage.completion_tokens,
        conversation_id = conversation_id.map(|id| id.to_string()),
        message_id = message_id.map(|id| id.to_string()),
        "ai.query.processed"
    );
}

async fn next_event(receiver: &mut Option<mpsc::Receiver<AnswerEvent>>) -> Option<AnswerEvent> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// What the task keeps of the events besides the log: the text, for checkpoints; relevant context
/// items, for the hit rate.
#[derive(Debug, Default)]
struct Recorder {
    min_relevance: f32,
    text: String,
    relevant: usize,
}

impl Recorder {
    fn record(&mut self, inflight: &Inflight, event: AnswerEvent) {
        match event {
            AnswerEvent::Context(items) => {
                self.relevant += items.iter().filter(|i| i.score >= self.min_relevance).count();
                let items = items.into_iter().map(dto::ContextItem::from).collect();
                inflight.push("context", &dto::ContextEvent { items });
            }
            AnswerEvent::Tool(step) => inflight.push("tool", &dto::ToolEvent::from(step)),
            AnswerEvent::Delta(text) => {
                self.text.push_str(&text);
                inflight.push("delta", &dto::DeltaEvent { text });
            }
            AnswerEvent::Citation(citation) => inflight.push("citation", &dto::Citation::from(citation)),
            AnswerEvent::Usage(usage) => inflight.push("usage", &dto::Usage::from(usage)),
            // The task sends its own `done` once the answer is stored.
            AnswerEvent::Done(_) => {}
        }
    }
}

/// What the database keeps of an answer.
fn finished_answer(answer: &assistant::Answer) -> FinishedAnswer {
    let assistant::Answer {
        text,
        citations,
        mode,
        fallback,
        model,
        status,
        partial,
        error,
        confidence,
        nothing_found,
        rejected_citations:
            assistant::RejectedCitations {
                not_given,
                out_of_range,
                unknown_path,
            },
        usage,
        searched: assistant::Searched {
            queries,
            tools,
            files,
        },
        context_items,
        timings:
            assistant::AnswerTimings {
                context_ms,
                first_token_ms,
                total_ms,
            },
    } = answer;
    FinishedAnswer {
        content: text.clone(),
        citations: citations.iter().map(stored_citation).collect(),
        mode: Some(match mode {
            assistant::AnswerMode::Agent => MessageMode::Agent,
            assistant::AnswerMode::Retrieval => MessageMode::Retrieval,
            assistant::AnswerMode::Extractive => MessageMode::Extractive,
        }),
        model: model.clone(),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        latency_ms: *total_ms,
        confidence: *confidence,
        status: match status {
            AnswerStatus::Complete => MessageStatus::Complete,
            AnswerStatus::Interrupted => MessageStatus::Interrupted,
            AnswerStatus::Failed => MessageStatus::Failed,
        },
        error: match (status, error) {
            (AnswerStatus::Failed, None) => Some("the answer failed".to_string()),
            (_, error) => error.clone(),
        },
        details: AnswerDetails {
            partial: partial.map(|limit| dto::limit_name(limit).to_string()),
            fallback: fallback.clone(),
            nothing_found: *nothing_found,
            rejected_citations: RejectedCounts {
                not_given: *not_given,
                out_of_range: *out_of_range,
                unknown_path: *unknown_path,
            },
            searched: SearchedRecord {
                queries: queries.clone(),
                tools: tools.clone(),
                files: files.clone(),
            },
            context_items: u32::try_from(*context_items).unwrap_or(u32::MAX),
            context_ms: *context_ms,
            first_token_ms: *first_token_ms,
        },
    }
}

fn stored_citation(citation: &assistant::Citation) -> StoredCitation {
    let assistant::Citation {
        id,
        item,
        repository_id,
        repository,
        path,
        start_line,
        end_line,
        commit_sha,
        chunk_id,
        score,
        sentence,
    } = citation;
    let number = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    StoredCitation {
        id: number(*id),
        item: number(*item),
        repository_id: *repository_id,
        repository: repository.clone(),
        path: path.clone(),
        start_line: *start_line,
        end_line: *end_line,
        commit_sha: commit_sha.clone(),
        chunk_id: *chunk_id,
        score: *score,
        sentence: sentence.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Records the fields of every `ai.query.processed` event.
    struct Capture(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            struct Fields<'a>(&'a mut BTreeMap<String, String>);
            impl tracing::field::Visit for Fields<'_> {
                fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                    self.0.insert(field.name().into(), format!("{value:?}"));
                }
                fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                    self.0.insert(field.name().into(), value.into());
                }
            }
            if event.metadata().name() == "ai.query.processed" {
                let mut fields = BTreeMap::new();
                event.record(&mut Fields(&mut fields));
                self.0.lock().unwrap().push(fields);
            }
        }
    }

    #[test]
    fn every_answer_logs_one_structured_processed_event() {
        use tracing_subscriber::layer::SubscriberExt;
        let events = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture(events.clone()));
        let answer = assistant::Answer {
            text: "Retries happen in `send` [1].".into(),
            citations: vec![],
            mode: assistant::AnswerMode::Retrieval,
            fallback: None,
            model: Some("scripted".into()),
            status: AnswerStatus::Complete,
            partial: None,
            error: None,
            confidence: 0.5,
            nothing_found: false,
            rejected_citations: assistant::RejectedCitations {
                not_given: 1,
                out_of_range: 0,
                unknown_path: 2,
            },
            usage: reposage_llm::Usage {
                prompt_tokens: 100,
                completion_tokens: 10,
            },
            searched: assistant::Searched::default(),
            context_items: 4,
            timings: assistant::AnswerTimings {
                context_ms: 12.0,
                first_token_ms: Some(40.0),
                total_ms: 812.5,
            },
        };
        let message = MessageId::new_random();
        tracing::subscriber::with_default(subscriber, || {
            log_processed(&answer, 3, None, Some(message));
        });
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 1);
        let fields = &events[0];
        for (field, value) in [
            ("response_time_ms", "812.5"),
            ("first_token_ms", "40.0"),
            ("rag_hits", "3"),
            ("confidence", "0.5"),
            ("mode", "retrieval"),
            ("status", "complete"),
            ("model", "scripted"),
            ("citations_rejected", "3"),
            ("prompt_tokens", "100"),
            ("message_id", message.to_string().as_str()),
        ] {
            assert_eq!(
                fields.get(field).map(String::as_str),
                Some(value),
                "{field}: {fields:?}"
            );
        }
        assert!(
            !fields.contains_key("conversation_id"),
            "a one-shot answer has none: {fields:?}"
        );
    }

    fn drain(subscription: &mut Subscription) -> Vec<(u64, &'static str)> {
        let mut seen = Vec::new();
        while let Some(event) = subscription.pending.pop_front() {
            seen.push((event.id, event.name));
        }
        seen
    }

    #[tokio::test]
    async fn a_late_reader_replays_the_events_after_its_last_id_then_follows_live() {
        let inflight = Inflight::new(None);
        inflight.push("context", &serde_json::json!({"items": []}));
        inflight.push("delta", &serde_json::json!({"text": "a"}));
        inflight.push("delta", &serde_json::json!({"text": "b"}));
        let mut late = inflight.subscribe(1);
        let first = late.next().await.unwrap();
        assert_eq!((first.id, first.name), (2, "delta"));
        assert_eq!(drain(&mut late), [(3, "delta")]);
        let follower = tokio::spawn(async move {
            let mut ids = Vec::new();
            while let Some(event) = late.next().await {
                ids.push(event.id);
            }
            ids
        });
        tokio::task::yield_now().await;
        inflight.push("delta", &serde_json::json!({"text": "c"}));
        inflight.finish(Outcome::Failed(ApiError::Internal));
        assert_eq!(follower.await.unwrap(), [4, 5]);
        let mut everything = inflight.subscribe(0);
        let mut names = Vec::new();
        while let Some(event) = everything.next().await {
            names.push(event.name);
        }
        assert_eq!(names, ["context", "delta", "delta", "delta", "error"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_is_abandoned_only_after_its_last_reader_has_been_gone_for_the_grace() {
        let inflight = Inflight::new(None);
        let reader = inflight.subscribe(0);
        let abandoned = {
            let inflight = inflight.clone();
            tokio::spawn(async move { inflight.abandoned(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!abandoned.is_finished(), "a reader is attached");
        drop(reader);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let back = inflight.subscribe(0);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!abandoned.is_finished(), "the reader came back within the grace");
        drop(back);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(abandoned.is_finished());
    }
}
