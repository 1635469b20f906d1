//! The chat-completions wire format: the request body this module sends, lenient types for the
//! streamed chunks every compatible server sends back, and what error bodies say about the chat.

use serde::{Deserialize, Serialize};

use super::http::ApiErrorBody;
use crate::{ChatMessage, ChatRequest, Role, ToolSpec};

/// The request body: OpenAI's, with only what OpenAI, Azure OpenAI, Ollama, vLLM and llama.cpp's
/// server all understand.
#[derive(Debug, Serialize)]
pub(super) struct ChatBody<'a> {
    pub model: &'a str,
    pub messages: Vec<WireMessage<'a>>,
    /// Always true: answers are streamed.
    pub stream: bool,
    pub stream_options: StreamOptions,
    /// The output limit under its classic name, which every listed server accepts (OpenAI's
    /// reasoning models refuse it: the client then switches to `max_completion_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The output limit under OpenAI's newer name, sent instead of `max_tokens` once OpenAI
    /// said the model needs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<WireTool<'a>>,
    /// `auto` when tools are offered (Ollama ignores it; vLLM needs it for its tool parser).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<&'static str>,
}

impl<'a> ChatBody<'a> {
    /// The body for `request`; tools only when `with_tools`, the output limit as
    /// `max_completion_tokens` when `completion_tokens_field`.
    pub fn new(
        model: &'a str,
        request: &'a ChatRequest,
        with_tools: bool,
        completion_tokens_field: bool,
    ) -> Self {
        let tools: Vec<WireTool<'a>> = if with_tools {
            request.tools.iter().map(WireTool::new).collect()
        } else {
            Vec::new()
        };
        let limit = Some(request.max_output_tokens);
        ChatBody {
            model,
            messages: request.messages.iter().map(WireMessage::new).collect(),
            stream: true,
            stream_options: StreamOptions { include_usage: true },
            max_tokens: limit.filter(|_| !completion_tokens_field),
            max_completion_tokens: limit.filter(|_| completion_tokens_field),
            temperature: request.temperature,
            tool_choice: (!tools.is_empty()).then_some("auto"),
            tools,
        }
    }
}

/// `stream_options`: asks for the usage chunk at the end of the stream.
#[derive(Debug, Serialize)]
pub(super) struct StreamOptions {
    pub include_usage: bool,
}

/// One message of the conversation.
#[derive(Debug, Serialize)]
pub(super) struct WireMessage<'a> {
    role: &'static str,
    /// Always a string, empty for an assistant message that only calls tools: Ollama's and older
    /// llama.cpp servers' compatibility layers refuse `null`.
    content: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

impl<'a> WireMessage<'a> {
    fn new(message: &'a ChatMessage) -> Self {
        WireMessage {
            role: match message.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
            },
            content: &message.content,
            tool_calls: message
                .tool_calls
                .iter()
                .map(|call| WireToolCall {
                    id: &call.id,
                    kind: "function",
                    function: WireFunctionCall {
                        name: &call.name,
                        arguments: &call.arguments,
                    },
                })
                .collect(),
            tool_call_id: message.tool_call_id.as_deref(),
        }
    }
}

/// A tool call of an earlier assistant message.
#[derive(Debug, Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Debug, Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

/// A tool offered: an OpenAI `function` tool.
#[derive(Debug, Serialize)]
pub(super) struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

impl<'a> WireTool<'a> {
    fn new(spec: &'a ToolSpec) -> Self {
        WireTool {
            kind: "function",
            function: WireFunction {
                name: &spec.name,
                description: &spec.description,
                parameters: &spec.parameters,
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

/// One streamed chunk, leniently: `id`, `object`, `model`, `created` are not needed and may be
/// missing; `choices` may be empty (OpenAI's usage chunk) or missing.
#[derive(Debug, Deserialize)]
pub(super) struct Chunk {
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub usage: Option<ChunkUsage>,
}

/// One choice of a chunk (there is only choice 0: `n` is never sent).
#[derive(Debug, Deserialize)]
pub(super) struct ChunkChoice {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub delta: Option<ChunkDelta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// What a chunk adds to the answer. Reasoning text (vLLM's and DeepSeek's `reasoning_content`,
/// Ollama's `reasoning`) is not part of the answer and is ignored.
#[derive(Debug, Deserialize)]
pub(super) struct ChunkDelta {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// A tool call, or a fragment of one.
#[derive(Debug, Deserialize)]
pub(super) struct ToolCallDelta {
    /// Which call a fragment belongs to: OpenAI and vLLM number the calls; Ollama omits it or
    /// sends 0 for every call.
    #[serde(default)]
    pub index: Option<u32>,
    /// Sent with a call's first fragment.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

/// A fragment of the function called.
#[derive(Debug, Deserialize)]
pub(super) struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    /// A fragment of the arguments' JSON text; a server that sends the arguments as a JSON object
    /// instead of a string is understood too.
    #[serde(default)]
    pub arguments: Option<serde_json::Value>,
}

/// Token usage, in the final chunk when the server reports it.
#[derive(Debug, Deserialize)]
pub(super) struct ChunkUsage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
}

/// What only the chat client reads in an error body.
impl ApiErrorBody {
    /// True when the server says the prompt does not fit the context window: OpenAI's code
    /// `context_length_exceeded`, llama.cpp's type `exceed_context_size_error` or message
    /// "exceeds the available context size", vLLM's "maximum context length".
    pub(super) fn is_context_length(&self) -> bool {
        let message = self.message.to_ascii_lowercase();
        self.code.as_deref() == Some("context_length_exceeded")
            || self.kind.as_deref() == Some("exceed_context_size_error")
            || message.contains("context_length_exceeded")
            || message.contains("maximum context length")
            || message.contains("exceeds the available context size")
    }

    /// True when OpenAI refuses `max_tokens` for this model and asks for
    /// `max_completion_tokens` (its reasoning models do).
    pub(super) fn wants_max_completion_tokens(&self) -> bool {
        self.message.contains("max_completion_tokens")
            && (self.param.as_deref() == Some("max_tokens") || self.message.contains("max_tokens"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_length_refusals_of_every_server_are_recognised() {
        let openai = ApiErrorBody::from_body(
            br#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        );
        assert!(openai.is_context_length());
        let vllm = ApiErrorBody::from_body(
            br#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens","type":"BadRequestError","param":null,"code":400}"#,
        );
        assert!(vllm.is_context_length());
        let llama = ApiErrorBody::from_body(
            br#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}"#,
        );
        assert!(llama.is_context_length());
        let ollama = ApiErrorBody::from_body(br#"{"error":"model \"x\" not found"}"#);
        assert!(!ollama.is_context_length());
    }

    #[test]
    fn the_request_for_a_reasoning_model_names_the_output_limit_differently() {
        let refusal = ApiErrorBody::from_body(
            br#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#,
        );
        assert!(refusal.wants_max_completion_tokens());
        let request = ChatRequest {
            messages: vec![ChatMessage::user("hi")],
            tools: Vec::new(),
            max_output_tokens: 100,
            temperature: None,
        };
        let body = serde_json::to_value(ChatBody::new("o3", &request, true, true)).expect("json");
        assert_eq!(body["max_completion_tokens"], 100);
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("temperature").is_none());
        assert!(body.get("tools").is_none());
        assert!(body.get("tool_choice").is_none());
    }
}
