//! The interface every chat model implements.

use std::fmt;

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::Result;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The person asking.
    User,
    /// The model.
    Assistant,
    /// A tool's result, answering one of the assistant's tool calls.
    Tool,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// Its text (empty for an assistant message that only calls tools).
    pub content: String,
    /// Tool calls the assistant made in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::plain(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::plain(Role::User, content)
    }

    /// An assistant message with text only.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::plain(Role::Assistant, content)
    }

    /// A tool's result for the call `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(tool_call_id.into()),
        }
    }

    fn plain(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A tool the model may call: an OpenAI `function` tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The function's name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments (an object schema).
    pub parameters: serde_json::Value,
}

/// One complete tool call of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id (made up when the server sends none).
    pub id: String,
    /// The function called.
    pub name: String,
    /// Its arguments, as the JSON text the model wrote (not checked: it may not even parse).
    pub arguments: String,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The conversation, oldest first; usually a system message first.
    pub messages: Vec<ChatMessage>,
    /// Tools offered; empty for a plain answer. A model whose [`ModelInfo::supports_tools`] is false
    /// ignores them.
    pub tools: Vec<ToolSpec>,
    /// Most tokens to generate.
    pub max_output_tokens: u32,
    /// Sampling temperature; `None` for the model's default (the local model then decodes greedily).
    pub temperature: Option<f32>,
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model finished its answer.
    Stop,
    /// The output token limit was reached: the answer is cut short.
    Length,
    /// The model stopped to have its tool calls run.
    ToolCalls,
    /// The server's content filter stopped it.
    ContentFilter,
    /// A reason this crate does not know, as the server spelled it.
    Other(String),
}

impl FinishReason {
    /// Parses a chat-completions `finish_reason`.
    pub fn from_api(reason: &str) -> Self {
        match reason {
            "stop" | "eos" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        }
    }
}

/// Tokens a request used, as the server (or the local model) counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// More text of the answer.
    Delta(String),
    /// A complete tool call (its argument fragments already joined).
    ToolCall(ToolCall),
    /// Token usage, when the server reports it (not every server does).
    Usage(Usage),
    /// The end of the answer; nothing follows.
    Finished(FinishReason),
}

/// A streamed answer. Dropping it cancels the generation.
pub type ChatStream = BoxStream<'static, Result<ChatEvent>>;

/// What the caller needs to know about a model to use it well.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// The model's name, as requests name it (e.g. `gpt-4o-mini`, `SmolLM2-135M-Instruct`).
    pub name: String,
    /// Where it runs: `openai` (any compatible endpoint), `azure` or `local`.
    pub provider: &'static str,
    /// Prompt plus output tokens it can take. Read from the server where it tells it (Ollama,
    /// vLLM), else configured, else a conservative default.
    pub context_window: usize,
    /// True when the model is offered tool definitions. A model that garbles them still has this
    /// set; the assistant falls back when the calls do not parse.
    pub supports_tools: bool,
}

/// A chat model.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync + fmt::Debug {
    /// The model's name, provider and limits.
    fn info(&self) -> &ModelInfo;

    /// Tokens `text` takes in this model's prompt (exact for the local model, an estimate for a
    /// remote one).
    fn count_tokens(&self, text: &str) -> usize {
        estimate_tokens(text)
    }

    /// Starts generating an answer to `request`. Errors before the first event (bad key, unknown
    /// model, prompt too long, server unreachable after retries) are returned here; later ones
    /// arrive in the stream.
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream>;
}

/// A deliberately high estimate of the tokens of `text` for a model whose tokenizer is not at hand:
/// one token per three bytes, plus one per line break. BPE tokenizers average about four bytes a
/// token on English and code, so a budget computed with this leaves room rather than overflowing
/// the context window.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(3) + text.bytes().filter(|b| *b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_of_every_server_are_understood() {
        assert_eq!(FinishReason::from_api("stop"), FinishReason::Stop);
        assert_eq!(FinishReason::from_api("length"), FinishReason::Length);
        assert_eq!(FinishReason::from_api("tool_calls"), FinishReason::ToolCalls);
        assert_eq!(
            FinishReason::from_api("weird"),
            FinishReason::Other("weird".into())
        );
    }

    #[test]
    fn the_estimate_never_undercounts_typical_text() {
        // all-MiniLM's tokenizer, GPT-4's and SmolLM2's all need fewer tokens than this for prose.
        let text = "The quick brown fox jumps over the lazy dog.\n";
        assert!(estimate_tokens(text) >= 12);
        assert_eq!(estimate_tokens(""), 0);
    }
}
