//! Turning the server-sent chunks of one answer into [`ChatEvent`]s, smoothing over how servers
//! differ.
//!
//! # Why async-openai's stream is used as it is
//!
//! async-openai parses the SSE framing and, since 0.43, reads the body in a task that also watches
//! for the consumer going away: dropping the stream drops the response at once, which closes the
//! HTTP connection even while the server is silent. Its items are deserialized as
//! [`serde_json::Value`] (byot) rather than its own chunk type, so that an `{"error": …}` event
//! after HTTP 200 (vLLM) is seen as the error it is, and a chunk that does not parse is reported
//! rather than skipped. What its stream cannot tell apart is `data: [DONE]` and a connection that
//! closed cleanly: both end it. The end of an answer is therefore its `finish_reason`, which every
//! listed server sends: a stream that ends before one is a broken answer ([`Error::Stream`]), one
//! that ends after it is complete, with or without `[DONE]`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_openai::error::OpenAIError;
use futures::{Stream, StreamExt};

use super::failure::describe_reqwest;
use super::http::{ApiErrorBody, Redactor};
use super::wire::{Chunk, ToolCallDelta};
use crate::{ChatEvent, ChatStream, Error, FinishReason, Result, ToolCall, Usage};

/// async-openai's stream of parsed SSE `data`.
pub(super) type Upstream =
    std::pin::Pin<Box<dyn Stream<Item = Result<serde_json::Value, OpenAIError>> + Send>>;

/// One answer being streamed.
pub(super) struct Answer {
    /// The server's events; `None` once the answer ended (which drops the connection).
    upstream: Option<Upstream>,
    /// Longest wait for the next event.
    idle_timeout: Duration,
    /// Events parsed but not yet handed out.
    pending: VecDeque<ChatEvent>,
    /// Tool calls being assembled.
    calls: ToolCalls,
    /// The finish reason, once the server sent it.
    finish: Option<FinishReason>,
    /// The last usage the server reported.
    usage: Option<Usage>,
    /// Events received, for error messages.
    received: usize,
    redactor: Redactor,
}

impl Answer {
    /// An answer read from `upstream`.
    pub fn new(upstream: Upstream, idle_timeout: Duration, redactor: Redactor) -> Self {
        Answer {
            upstream: Some(upstream),
            idle_timeout,
            pending: VecDeque::new(),
            calls: ToolCalls::default(),
            finish: None,
            usage: None,
            received: 0,
            redactor,
        }
    }

    /// Reads the server's first event (the caller bounds the wait). Fails with
    /// [`First::Broken`] when the connection broke before any event, which is worth another
    /// attempt, and with [`First::Final`] when there was no event at all, or the first is an error
    /// or does not parse.
    pub async fn first(&mut self) -> std::result::Result<(), First> {
        let Some(upstream) = self.upstream.as_mut() else {
            return Err(First::Final(Error::Stream("the answer already ended".into())));
        };
        match upstream.next().await {
            None => Err(First::Final(Error::Stream(
                "the server answered HTTP 200 without any event (does it support `stream: true`?)".into(),
            ))),
            Some(Err(error @ OpenAIError::JSONDeserialize(..))) => {
                Err(First::Final(self.upstream_error(error)))
            }
            Some(Err(error)) => match self.upstream_error(error) {
                Error::Stream(message) => Err(First::Broken(message)),
                other => Err(First::Final(other)),
            },
            Some(Ok(value)) => self.absorb(value).map_err(First::Final),
        }
    }

    /// The answer as a stream of events.
    pub fn into_stream(self) -> ChatStream {
        futures::stream::unfold(self, |mut answer| async move {
            let event = answer.next_event().await?;
            Some((event, answer))
        })
        .boxed()
    }

    /// The next event: a parsed one, else the next from the server; `None` after the end or an
    /// error.
    async fn next_event(&mut self) -> Option<Result<ChatEvent>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            let upstream = self.upstream.as_mut()?;
            let value = match tokio::time::timeout(self.idle_timeout, upstream.next()).await {
                Ok(Some(Ok(value))) => value,
                Ok(Some(Err(error))) => {
                    let error = self.upstream_error(error);
                    return Some(Err(self.fail(error)));
                }
                Ok(None) => match self.finish.take() {
                    Some(reason) => {
                        self.end(reason);
                        continue;
                    }
                    None => {
                        let error = Error::Stream(format!(
                            "the connection closed before the answer finished (after {} event{})",
                            self.received,
                            if self.received == 1 { "" } else { "s" }
                        ));
                        return Some(Err(self.fail(error)));
                    }
                },
                Err(_elapsed) => match self.finish.take() {
                    // The answer is complete; only the usage chunk or `[DONE]` is late.
                    Some(reason) => {
                        tracing::debug!(
                            idle_timeout_ms = millis(self.idle_timeout),
                            "the LLM stream went silent after its finish reason; ending it"
                        );
                        self.end(reason);
                        continue;
                    }
                    None => {
                        let error = Error::Stream(format!(
                            "no data from the server for {} ms",
                            millis(self.idle_timeout)
                        ));
                        return Some(Err(self.fail(error)));
                    }
                },
            };
            if let Err(error) = self.absorb(value) {
                return Some(Err(self.fail(error)));
            }
        }
    }

    /// Adds one server event to the answer.
    fn absorb(&mut self, value: serde_json::Value) -> Result<()> {
        self.received += 1;
        if let Some(error) = ApiErrorBody::from_value(&value) {
            let message = self.redactor.short(&error.message);
            return Err(if error.is_context_length() {
                Error::ContextLengthExceeded { message }
            } else {
                Error::Stream(format!("the server reported an error: {message}"))
            });
        }
        let chunk: Chunk = serde_json::from_value(value).map_err(|error| {
            Error::Stream(format!(
                "malformed chunk #{}: {}",
                self.received,
                self.redactor.short(&error.to_string())
            ))
        })?;
        if let Some(usage) = chunk.usage {
            self.usage = Some(Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
            });
        }
        for choice in chunk.choices {
            if choice.index.unwrap_or(0) != 0 {
                continue;
            }
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|text| !text.is_empty()) {
                    self.pending.push_back(ChatEvent::Delta(text));
                }
                for call in delta.tool_calls.into_iter().flatten() {
                    self.calls.absorb(call)?;
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|reason| !reason.is_empty()) {
                self.finish = Some(FinishReason::from_api(&reason));
                let calls = self.calls.finish()?;
                self.pending.extend(calls.into_iter().map(ChatEvent::ToolCall));
            }
        }
        Ok(())
    }

    /// Ends the answer: its usage (if reported) and finish reason are the last events, and the
    /// connection is released.
    fn end(&mut self, reason: FinishReason) {
        self.upstream = None;
        if let Some(usage) = self.usage.take() {
            self.pending.push_back(ChatEvent::Usage(usage));
        }
        self.pending.push_back(ChatEvent::Finished(reason));
    }

    /// Ends the answer with `error`: nothing follows it, and the connection is closed now.
    fn fail(&mut self, error: Error) -> Error {
        self.upstream = None;
        self.pending.clear();
        error
    }

    /// What an error of async-openai's stream means here.
    fn upstream_error(&self, error: OpenAIError) -> Error {
        match error {
            OpenAIError::JSONDeserialize(error, _) => Error::Stream(format!(
                "malformed chunk #{}: not JSON ({})",
                self.received + 1,
                self.redactor.short(&error.to_string())
            )),
            OpenAIError::Reqwest(error) => Error::Stream(describe_reqwest(&error, &self.redactor)),
            other => Error::Stream(format!(
                "the connection broke: {}",
                self.redactor.short(&other.to_string())
            )),
        }
    }
}

/// Why the first event did not come.
#[derive(Debug)]
pub(super) enum First {
    /// The connection broke before it: worth another attempt.
    Broken(String),
    /// The answer cannot work: give up.
    Final(Error),
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Made-up ids for calls the server sent without one, unique in the process.
static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(1);

/// One tool call being assembled.
#[derive(Debug, Default)]
struct PartialCall {
    /// The index the server gave it, if any.
    index: Option<u32>,
    id: Option<String>,
    name: String,
    arguments: String,
}

impl PartialCall {
    /// True when its arguments so far are a whole JSON object, so further text cannot belong to
    /// it.
    fn arguments_complete(&self) -> bool {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&self.arguments).is_ok()
    }
}

/// The tool calls of one answer, assembled from what the server streams.
///
/// - OpenAI and vLLM stream each call as fragments keyed by `index`: the first carries `id` and
///   the function name, the rest pieces of the arguments, and the calls may interleave.
/// - Ollama sends each call whole in one delta, with no `index` or with `index` 0 for every call.
///   A fragment therefore starts a new call when it names a different `id` than the call its
///   index points to, or when it names a function while that call is already named and its
///   arguments are a complete JSON object.
#[derive(Debug, Default)]
struct ToolCalls {
    calls: Vec<PartialCall>,
}

impl ToolCalls {
    /// Adds one fragment.
    fn absorb(&mut self, delta: ToolCallDelta) -> Result<()> {
        let (name, arguments) = match delta.function {
            Some(function) => {
                let arguments = match function.arguments {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(text)) => text,
                    // Arguments sent as a JSON object rather than its text.
                    Some(object @ serde_json::Value::Object(_)) => object.to_string(),
                    Some(other) => {
                        return Err(Error::Stream(format!(
                            "malformed tool call: its arguments are {}, not a string",
                            json_kind(&other)
                        )));
                    }
                };
                (function.name.filter(|name| !name.is_empty()), arguments)
            }
            None => (None, String::new()),
        };
        let id = delta.id.filter(|id| !id.is_empty());
        let target = match delta.index {
            Some(index) => self.calls.iter().rposition(|call| call.index == Some(index)),
            None => self.calls.len().checked_sub(1),
        };
        let continues = target.filter(|&position| {
            let call = &self.calls[position];
            let other_id = matches!((&id, &call.id), (Some(new), Some(old)) if new != old);
            let renamed = name.is_some() && !call.name.is_empty() && call.arguments_complete();
            !other_id && !renamed
        });
        let call = match continues {
            Some(position) => &mut self.calls[position],
            None => {
                self.calls.push(PartialCall {
                    index: delta.index,
                    ..PartialCall::default()
                });
                self.calls.last_mut().expect("a call was just added")
            }
        };
        if call.id.is_none() {
            call.id = id;
        }
        if let Some(name) = name {
            if call.name.is_empty() {
                call.name = name;
            } else if call.name != name {
                return Err(Error::Stream(format!(
                    "malformed tool call: renamed from {:?} to {name:?} mid-call",
                    call.name
                )));
            }
        }
        call.arguments.push_str(&arguments);
        Ok(())
    }

    /// The complete calls, in the order they started; empty arguments become `{}`.
    fn finish(&mut self) -> Result<Vec<ToolCall>> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .enumerate()
            .map(|(position, call)| {
                if call.name.is_empty() {
                    return Err(Error::Stream(format!(
                        "malformed tool call #{}: no function name",
                        position + 1
                    )));
                }
                let id = call
                    .id
                    .unwrap_or_else(|| format!("call_{}", NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed)));
                let arguments = if call.arguments.trim().is_empty() {
                    "{}".to_string()
                } else {
                    call.arguments
                };
                Ok(ToolCall {
                    id,
                    name: call.name,
                    arguments,
                })
            })
            .collect()
    }
}

/// A JSON value's kind, for messages.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delta(value: serde_json::Value) -> ToolCallDelta {
        serde_json::from_value(value).expect("a tool call delta")
    }

    fn assembled(deltas: Vec<serde_json::Value>) -> Result<Vec<ToolCall>> {
        let mut calls = ToolCalls::default();
        for d in deltas {
            calls.absorb(delta(d))?;
        }
        calls.finish()
    }

    #[test]
    fn interleaved_fragments_are_joined_by_index() {
        let calls = assembled(vec![
            json!({"index": 0, "id": "a", "function": {"name": "search", "arguments": ""}}),
            json!({"index": 1, "id": "b", "function": {"name": "read", "arguments": "{\"pa"}}),
            json!({"index": 0, "function": {"arguments": "{\"q\": "}}),
            json!({"index": 1, "function": {"arguments": "th\": \"x\"}"}}),
            json!({"index": 0, "function": {"arguments": "\"y\"}"}}),
        ])
        .expect("calls");
        assert_eq!(
            calls,
            vec![
                ToolCall {
                    id: "a".into(),
                    name: "search".into(),
                    arguments: "{\"q\": \"y\"}".into()
                },
                ToolCall {
                    id: "b".into(),
                    name: "read".into(),
                    arguments: "{\"path\": \"x\"}".into()
                },
            ]
        );
    }

    #[test]
    fn whole_calls_with_the_same_index_or_none_are_separate_calls() {
        // Ollama: every call index 0, new ids.
        let calls = assembled(vec![
            json!({"index": 0, "id": "c1", "function": {"name": "a", "arguments": "{}"}}),
            json!({"index": 0, "id": "c2", "function": {"name": "b", "arguments": "{\"x\":1}"}}),
        ])
        .expect("calls");
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[1].id.as_str(), calls[1].name.as_str()), ("c2", "b"));
        // No index and no id: a complete object followed by a new name is a new call.
        let calls = assembled(vec![
            json!({"function": {"name": "a", "arguments": {"x": 1}}}),
            json!({"function": {"name": "a", "arguments": "{\"x\":2}"}}),
        ])
        .expect("calls");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].arguments, "{\"x\":1}");
        assert_ne!(calls[0].id, calls[1].id);
    }

    #[test]
    fn a_call_without_a_name_or_with_odd_arguments_is_malformed() {
        assert!(matches!(
            assembled(vec![json!({"index": 0, "function": {"arguments": "{}"}})]),
            Err(Error::Stream(_))
        ));
        assert!(matches!(
            assembled(vec![
                json!({"index": 0, "function": {"name": "a", "arguments": 5}})
            ]),
            Err(Error::Stream(_))
        ));
        let no_arguments =
            assembled(vec![json!({"index": 0, "id": "x", "function": {"name": "now"}})]).expect("calls");
        assert_eq!(no_arguments[0].arguments, "{}");
    }
}
