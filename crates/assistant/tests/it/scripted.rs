//! A chat model that replays scripted events and records what it was asked.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use reposage_llm::{ChatEvent, ChatModel, ChatRequest, ChatStream, FinishReason, ModelInfo, ToolCall, Usage};

/// One scripted step of a reply.
#[derive(Debug, Clone)]
pub enum Step {
    Event(ChatEvent),
    /// Wait before the next event.
    Pause(Duration),
    /// Never send anything more (until dropped).
    Hang,
}

/// Replays one script per call, in order.
#[derive(Debug)]
pub struct ScriptedModel {
    info: ModelInfo,
    replies: Mutex<VecDeque<Vec<Step>>>,
    pub requests: Mutex<Vec<ChatRequest>>,
    /// Streams dropped so far (a dropped stream is a cancelled request).
    pub dropped: Arc<AtomicUsize>,
}

impl ScriptedModel {
    pub fn new(supports_tools: bool, replies: Vec<Vec<Step>>) -> Arc<Self> {
        Arc::new(ScriptedModel {
            info: ModelInfo {
                name: "scripted".into(),
                provider: "openai",
                context_window: 8_192,
                supports_tools,
            },
            replies: Mutex::new(replies.into()),
            requests: Mutex::new(Vec::new()),
            dropped: Arc::new(AtomicUsize::new(0)),
        })
    }

    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }
}

/// A reply of text deltas, a usage report and `stop`.
pub fn text_reply(deltas: &[&str]) -> Vec<Step> {
    let mut steps: Vec<Step> = deltas
        .iter()
        .map(|d| Step::Event(ChatEvent::Delta(d.to_string())))
        .collect();
    steps.push(Step::Event(ChatEvent::Usage(Usage {
        prompt_tokens: 100,
        completion_tokens: 10,
    })));
    steps.push(Step::Event(ChatEvent::Finished(FinishReason::Stop)));
    steps
}

/// A reply calling one tool.
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
        self.requests.lock().unwrap().push(request);
        let steps = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .expect("the script has a reply for every call");
        let counter = DropCounter(self.dropped.clone());
        let stream =
            futures::stream::unfold((steps.into_iter(), counter), |(mut steps, counter)| async move {
                loop {
                    match steps.next()? {
                        Step::Event(event) => return Some((Ok(event), (steps, counter))),
                        Step::Pause(duration) => tokio::time::sleep(duration).await,
                        Step::Hang => std::future::pending::<()>().await,
                    }
                }
            });
        Ok(stream.boxed())
    }
}
