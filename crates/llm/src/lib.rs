//! Chat models for RepoSage's assistant, behind one streaming interface.
//!
//! - [`ChatModel`]: send a conversation (and, when the model can use them, tool definitions),
//!   receive a stream of [`ChatEvent`]s — text deltas, whole tool calls, token usage, the finish
//!   reason. Dropping the stream cancels the request: the HTTP connection is closed, or the local
//!   generation stops after the token it is computing.
//! - [`openai`]: any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, Ollama,
//!   vLLM, llama.cpp's server), with the differences between them smoothed over.
//! - [`local`]: a GGUF llama-family instruct model (e.g. SmolLM2-135M-Instruct) run in process
//!   with candle, no server and no key.
//!
//! Nothing here knows about repositories, retrieval or citations: that is `reposage-assistant`.
//! Nothing here reads the environment: callers resolve configuration and pass it in.

#![warn(missing_docs)]

mod error;
pub mod local;
pub mod openai;
mod types;

pub use error::{Error, Result};
pub use types::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, FinishReason, ModelInfo, Role, ToolCall,
    ToolSpec, Usage, estimate_tokens,
};
