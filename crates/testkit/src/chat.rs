//! A scripted chat model (feature `chat`): a [`ChatModel`] that replays one scripted reply per
//! call, in order, and records what it was asked — so a test says exactly what the model does
//! (text, tool calls, usage, a broken stream, a hang) and checks what the caller sent it.
//!
//! ```no_run
//! use std::sync::Arc;
//! use reposage_llm::ChatModel;
//! use reposage_testkit::chat::{ScriptedModel, text_reply, tool_reply};
//!
//! // First call: the model calls `search`; second call: it answers.
//! let model = ScriptedModel::with_tools(vec![
//!     tool_reply("search", r#"{"query": "retry"}"#),
//!     text_reply(&["Retries are in `backoff_send` [1]."]),
//! ]);
//! let shared: Arc<dyn ChatModel> = model.clone();
//! // … hand `shared` to the code under test; afterwards `model.requests()` holds what it was
//! // asked and `model.dropped()` how many reply streams it let go of.
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use reposage_llm::{
    ChatEvent, ChatModel, ChatRequest, ChatStream, Error, FinishReason, ModelInfo, ToolCall, Usage,
};

/// The name a [`ScriptedModel`] reports (and answers record as their model).
pub const SCRIPTED_MODEL_NAME: &str = "scripted";

/// The usage [`text_reply`] reports.
pub const TEXT_REPLY_USAGE: Usage = Usage {
    prompt_tokens: 100,
    completion_tokens: 10,
};

/// One scripted step of a reply.
#[derive(Debug, Clone)]
pub enum Step {
    /// Send this event.
    Event(ChatEvent),
    /// Wait (on tokio's clock) before the next step.
    Pause(Duration),
    /// Never send anything more; the stream stays open until it is dropped.
    Hang,
    /// The stream breaks: it yields [`Error::Stream`] with this message (the caller is expected to
    /// stop reading; if it reads on, the next steps follow).
    Fail(String),
}

/// A chat model replaying one script per [`ChatModel::stream`] call, in order, and recording
/// each request. It reports the name [`SCRIPTED_MODEL_NAME`], the provider `openai` and a context
/// window of 8192 tokens.
///
/// A call beyond the script panics: a test that scripts too few replies fails loudly.
#[derive(Debug)]
pub struct ScriptedModel {
    info: ModelInfo,
    replies: Mutex<VecDeque<Vec<Step>>>,
    requests: Mutex<Vec<ChatRequest>>,
    dropped: Arc<AtomicUsize>,
}

impl ScriptedModel {
    /// A model that does not take tool definitions (`supports_tools` false), replaying `replies`.
    pub fn new(replies: Vec<Vec<Step>>) -> Arc<Self> {
        Self::build(false, replies)
    }

    /// A model that takes tool definitions (`supports_tools` true), replaying `replies`.
    pub fn with_tools(replies: Vec<Vec<Step>>) -> Arc<Self> {
        Self::build(true, replies)
    }

    fn build(supports_tools: bool, replies: Vec<Vec<Step>>) -> Arc<Self> {
        Arc::new(ScriptedModel {
            info: ModelInfo {
                name: SCRIPTED_MODEL_NAME.into(),
                provider: "openai",
                context_window: 8_192,
                supports_tools,
            },
            replies: Mutex::new(replies.into()),
            requests: Mutex::new(Vec::new()),
            dropped: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().expect("requests lock").clone()
    }

    /// Reply streams dropped so far — finished or not: a stream dropped before its script ran
    /// out is a cancelled request.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// A reply of these text deltas, then [`TEXT_REPLY_USAGE`] and [`FinishReason::Stop`].
pub fn text_reply(deltas: &[&str]) -> Vec<Step> {
    let mut steps: Vec<Step> = deltas
        .iter()
        .map(|d| Step::Event(ChatEvent::Delta(d.to_string())))
        .collect();
    steps.push(Step::Event(ChatEvent::Usage(TEXT_REPLY_USAGE)));
    steps.push(Step::Event(ChatEvent::Finished(FinishReason::Stop)));
    steps
}

/// A reply calling the tool `name` once (call id `call-{name}`) with these arguments (JSON text,
/// not checked), then [`FinishReason::ToolCalls`].
pub fn tool_reply(name: &str, arguments: &str) -> Vec<Step> {
    vec![
        Step::Event(ChatEvent::ToolCall(ToolCall {
            id: format!("call-{name}"),
            name: name.into(),
            arguments: arguments.into(),
        })),
        Step::Event(ChatEvent::Finished(FinishReason::ToolCalls)),
    ]
}

/// A reply that writes `text` and then never finishes ([`Step::Hang`]).
pub fn hanging_reply(text: &str) -> Vec<Step> {
    vec![Step::Event(ChatEvent::Delta(text.into())), Step::Hang]
}

/// Counts a reply stream as dropped when it is.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    async fn stream(&self, request: ChatRequest) -> reposage_llm::Result<ChatStream> {
        self.requests.lock().expect("requests lock").push(request);
        let calls = self.requests.lock().expect("requests lock").len();
        let steps = self
            .replies
            .lock()
            .expect("replies lock")
            .pop_front()
            .unwrap_or_else(|| panic!("the script has no reply for call {calls}"));
        let counter = DropCounter(self.dropped.clone());
        let stream =
            futures::stream::unfold((steps.into_iter(), counter), |(mut steps, counter)| async move {
                loop {
                    match steps.next()? {
                        Step::Event(event) => return Some((Ok(event), (steps, counter))),
                        Step::Pause(duration) => tokio::time::sleep(duration).await,
                        Step::Hang => std::future::pending::<()>().await,
                        Step::Fail(why) => return Some((Err(Error::Stream(why)), (steps, counter))),
                    }
                }
            });
        Ok(stream.boxed())
    }
}
