//! A GGUF llama-family instruct model run in process with candle: no server, no key.
//!
//! [`LocalModel::load`] reads a GGUF file (SmolLM2-135M-Instruct's Q4_1 file is the model this is
//! built and measured with): the quantized weights go to candle-transformers' quantized llama, the
//! tokenizer is rebuilt from the file's `tokenizer.ggml.*` metadata, and the chat template is
//! recognised from `tokenizer.chat_template` (ChatML only; other families are refused at load).
//!
//! [`ChatModel::stream`] renders the conversation, checks the prompt and the requested output fit
//! the context window, and generates on a thread of its own: the prompt in batches, then one token
//! at a time, each sent as a [`ChatEvent::Delta`] as soon as its text is complete UTF-8. Tools are
//! offered in the prompt, the Hermes/Qwen way ChatML models are tuned on (`<tools>` in the system
//! message, calls written as `<tool_call>{…}</tool_call>`): a well-formed call of an offered tool
//! is sent as a [`ChatEvent::ToolCall`], a garbled one as the text it was, which the assistant
//! recognises as a tool call written as text and answers without tools. Every
//! request runs on its own copy of the model — the weights are shared (candle keeps them behind
//! `Arc`s), only the KV cache is per request — so concurrent requests do not wait for each other
//! beyond sharing the cores. Dropping the stream stops the generation before its next token.
//!
//! - this file: [`LocalModelConfig`], [`LocalModel`] and loading a file;
//! - `generate`: the generation loop on its thread;
//! - `template`: the chat template;
//! - `tools`: the tool protocol — the tools as a prompt, and finding calls in the generated text;
//! - `tokenizer`: the GGUF vocabulary as a `tokenizers` BPE, and incremental UTF-8 decoding.

mod generate;
mod template;
mod tokenizer;
mod tools;
mod weights;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_trait::async_trait;
use candle_core::Device;
use candle_core::quantized::gguf_file;
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};
use tokio::sync::mpsc;

use self::generate::Generation;
use self::template::{ChatTemplate, Segment};
use self::tokenizer::GgufTokenizer;
use self::tools::ToolCallScanner;
pub use self::weights::WeightFormat;
use crate::{
    ChatMessage, ChatModel, ChatRequest, ChatStream, Error, ModelInfo, Result, ToolSpec, estimate_tokens,
};

/// Repetition penalty unless [`LocalModelConfig::repeat_penalty`] says otherwise: llama.cpp's
/// long-standing default, enough to keep a small model out of loops.
pub const DEFAULT_REPEAT_PENALTY: f32 = 1.1;

/// Tokens the repetition penalty looks back over, unless configured otherwise (llama.cpp's default).
pub const DEFAULT_REPEAT_LAST_N: usize = 64;

/// Prompt tokens per forward pass unless [`LocalModelConfig::prompt_batch_size`] says otherwise.
/// Larger batches make larger (more efficient) matrix products but a quadratic attention score
/// matrix per batch; `benches/local.rs` compares sizes.
pub const DEFAULT_PROMPT_BATCH_SIZE: usize = 512;

/// How to load and run a local model.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalModelConfig {
    /// The GGUF file.
    pub path: PathBuf,
    /// Most prompt plus output tokens per request; `None` for the model's own window
    /// (`llama.context_length`). Either way at most candle's rotary table of
    /// [`MAX_SEQ_LEN`] (4096) positions.
    pub context_window: Option<usize>,
    /// Seed of the sampler for requests with a temperature: the same request samples the same
    /// answer. Greedy requests (no temperature) do not use it.
    pub seed: u64,
    /// Divides the logits of tokens seen in the last [`repeat_last_n`](Self::repeat_last_n) tokens
    /// (prompt and answer) — multiplies them when negative; 1.0 turns the penalty off.
    pub repeat_penalty: f32,
    /// Tokens the repetition penalty looks back over.
    pub repeat_last_n: usize,
    /// Prompt tokens per forward pass (at least 1).
    pub prompt_batch_size: usize,
    /// How weights of block types candle has no SIMD kernels for (Q4_1, Q5_0, Q5_1) are held.
    pub weight_format: WeightFormat,
}

impl LocalModelConfig {
    /// The defaults for the model in `path`: its own context window, seed 0, repetition penalty
    /// [`DEFAULT_REPEAT_PENALTY`] over [`DEFAULT_REPEAT_LAST_N`] tokens.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalModelConfig {
            path: path.into(),
            context_window: None,
            seed: 0,
            repeat_penalty: DEFAULT_REPEAT_PENALTY,
            repeat_last_n: DEFAULT_REPEAT_LAST_N,
            prompt_batch_size: DEFAULT_PROMPT_BATCH_SIZE,
            weight_format: WeightFormat::default(),
        }
    }
}

/// A GGUF llama-family instruct model run in process.
///
/// Cheap to clone: the weights and tokenizer are shared behind an [`Arc`].
#[derive(Clone)]
pub struct LocalModel {
    inner: Arc<Inner>,
    info: ModelInfo,
}

/// What every request of a [`LocalModel`] shares.
struct Inner {
    /// The weights with an empty KV cache; each request runs on a clone.
    weights: ModelWeights,
    tokenizer: GgufTokenizer,
    template: ChatTemplate,
    /// Tokens that end the answer: the end-of-sequence token and the template's end of turn.
    stop: Vec<u32>,
    config: LocalModelConfig,
    stats: Stats,
}

/// Counters of the generations of one [`LocalModel`].
#[derive(Debug, Default)]
struct Stats {
    active: AtomicUsize,
    cancelled: AtomicU64,
}

/// What a [`LocalModel`]'s generations have done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Generations running now (their threads have not ended).
    pub active: usize,
    /// Generations stopped early because their stream was dropped.
    pub cancelled: u64,
}

impl fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalModel")
            .field("info", &self.info)
            .field("path", &self.inner.config.path)
            .field("template", &self.inner.template)
            .field("tokenizer", &self.inner.tokenizer)
            .finish_non_exhaustive()
    }
}

impl LocalModel {
    /// Loads the model `config` names. Blocking (it reads the whole file, ~100 MB for
    /// SmolLM2-135M's Q4_1, and builds the tokenizer): async callers run it in
    /// `tokio::task::spawn_blocking`.
    ///
    /// Fails with [`Error::ModelFile`] when the file is missing or not GGUF, its architecture is
    /// not llama, its tokenizer is not byte-level BPE, or its chat template is not ChatML; with
    /// [`Error::Config`] when the configuration cannot work (an empty context window or batch).
    pub fn load(config: LocalModelConfig) -> Result<LocalModel> {
        if config.context_window == Some(0) {
            return Err(Error::Config(
                "the local model's context window must be at least 1 token".into(),
            ));
        }
        if config.prompt_batch_size == 0 {
            return Err(Error::Config(
                "the local model's prompt batch size must be at least 1".into(),
            ));
        }
        let path = config.path.clone();
        let bad = |problem: String| Error::ModelFile {
            path: path.clone(),
            problem,
        };
        let bytes = std::fs::read(&path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let weights::GgufBytes {
            content,
            mut reader,
            converted,
        } = weights::read(bytes, config.weight_format.target()).map_err(&bad)?;

        let architecture = metadata_string(&content, "general.architecture").unwrap_or_default();
        if architecture != "llama" {
            return Err(bad(format!(
                "its architecture is {architecture:?}: only llama-family models (general.architecture = \"llama\") are supported"
            )));
        }
        let tokenizer = GgufTokenizer::from_gguf(&content, &path)?;
        let template = ChatTemplate::detect(metadata_string(&content, "tokenizer.chat_template").as_deref())
            .map_err(&bad)?;
        for token in template.control_tokens() {
            if tokenizer.special(token).is_none() {
                return Err(bad(format!(
                    "its chat template writes {token} but the vocabulary has no such control token"
                )));
            }
        }
        let mut stop: Vec<u32> = tokenizer.eos().into_iter().collect();
        stop.extend(tokenizer.special(template.end_of_turn()));
        stop.sort_unstable();
        stop.dedup();

        let trained_window = content
            .metadata
            .get("llama.context_length")
            .and_then(|value| value.to_u32().ok())
            .map_or(MAX_SEQ_LEN, |n| n as usize);
        let context_window = trained_window
            .min(MAX_SEQ_LEN)
            .min(config.context_window.unwrap_or(usize::MAX));
        let name = metadata_string(&content, "general.name").unwrap_or_else(|| file_stem(&path));

        let weights = ModelWeights::from_gguf(content, &mut reader, &Device::Cpu)
            .map_err(|e| bad(format!("its weights do not load: {e}")))?;
        tracing::debug!(
            path = %path.display(),
            %name,
            context_window,
            converted_weights = converted,
            weight_format = ?config.weight_format,
            vocabulary = tokenizer.vocabulary_size(),
            "local model loaded"
        );
        Ok(LocalModel {
            info: ModelInfo {
                name,
                provider: "local",
                context_window,
                // Offered in the prompt; a small model often garbles them, and the assistant then
                // falls back to a one-shot answer (see the `tools` module).
                supports_tools: true,
            },
            inner: Arc::new(Inner {
                weights,
                tokenizer,
                template,
                stop,
                config,
                stats: Stats::default(),
            }),
        })
    }

    /// The prompt `messages` make, as token ids: the template's control tokens by id, message text
    /// encoded with special-token parsing off.
    pub fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        self.prompt_tokens_with_tools(messages, &[])
    }

    /// The prompt `messages` make with `tools` offered (described in the system message).
    pub fn prompt_tokens_with_tools(&self, messages: &[ChatMessage], tools: &[ToolSpec]) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        for segment in self.inner.template.render(messages, tools) {
            match segment {
                Segment::Control(token) => ids.push(
                    self.inner
                        .tokenizer
                        .special(token)
                        .expect("the template's control tokens are checked at load"),
                ),
                Segment::Text(text) => ids.extend(self.inner.tokenizer.encode(&text)?),
            }
        }
        Ok(ids)
    }

    /// What this model's generations have done so far.
    pub fn generation_stats(&self) -> GenerationStats {
        GenerationStats {
            active: self.inner.stats.active.load(Ordering::SeqCst),
            cancelled: self.inner.stats.cancelled.load(Ordering::SeqCst),
        }
    }
}

/// Events a generation may run ahead of its reader before it waits.
const CHANNEL_CAPACITY: usize = 16;

#[async_trait]
impl ChatModel for LocalModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn count_tokens(&self, text: &str) -> usize {
        // Encoding never fails for a byte-level vocabulary; the estimate is a safe fallback.
        self.inner
            .tokenizer
            .encode(text)
            .map_or_else(|_| estimate_tokens(text), |ids| ids.len())
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let max_output = request.max_output_tokens as usize;
        let window = self.info.context_window;
        let mut tools = request.tools.as_slice();
        let mut prompt = self.prompt_tokens_with_tools(&request.messages, tools)?;
        if !tools.is_empty() && prompt.len() + max_output > window {
            // The tool definitions are what does not fit (a caller budgets for the conversation):
            // the model answers without tools rather than not at all.
            let without = self.prompt_tokens(&request.messages)?;
            if without.len() + max_output <= window {
                tracing::warn!(
                    with_tools = prompt.len(),
                    without_tools = without.len(),
                    max_output,
                    window,
                    "the tool definitions do not fit the local model's context window: asking without them"
                );
                prompt = without;
                tools = &[];
            }
        }
        if prompt.len() + max_output > window {
            return Err(Error::ContextLengthExceeded {
                message: format!(
                    "{} prompt tokens + {max_output} output tokens exceed the {window}-token window of {}",
                    prompt.len(),
                    self.info.name
                ),
            });
        }
        let (events, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let generation = Generation::new(
            Arc::clone(&self.inner),
            prompt,
            max_output,
            request.temperature,
            events,
            (!tools.is_empty()).then(|| ToolCallScanner::new(tools)),
        );
        std::thread::Builder::new()
            .name("reposage-llm-generate".into())
            .spawn(move || generation.run())
            .map_err(|e| Error::Inference(format!("cannot start the generation thread: {e}")))?;
        let mut receiver = receiver;
        Ok(Box::pin(futures::stream::poll_fn(move |cx| {
            receiver.poll_recv(cx)
        })))
    }
}

/// A GGUF string value, if the file has it.
fn metadata_string(content: &gguf_file::Content, key: &str) -> Option<String> {
    content.metadata.get(key)?.to_string().ok().cloned()
}

/// The file's name without its extension, for a model without `general.name`.
fn file_stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    )
}
