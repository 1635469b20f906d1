//! Asking the server how large the model's context window really is.
//!
//! Tried in this order, each with a short timeout; a probe that fails (404 on other servers, a
//! refused connection, an answer without the field) is logged at debug level and the next is
//! tried:
//!
//! 1. llama.cpp's server: `GET {root}/props`, `default_generation_settings.n_ctx` (the context of
//!    one slot, what one request can use). First, because llama.cpp also answers Ollama's
//!    `/api/show` for compatibility, without the settings that matter.
//! 2. vLLM: `GET {base_url}/models`, `max_model_len` of the entry whose `id` is the model.
//! 3. Ollama: `POST {root}/api/show {"model": …}`. Ollama silently cuts prompts longer than the
//!    `num_ctx` it runs the model with, so that is the window: the Modelfile's `num_ctx` (in
//!    `parameters`) when set; else, when the model is loaded, the `context_length` `GET
//!    {root}/api/ps` reports; else the configured window, else [`OLLAMA_DEFAULT_NUM_CTX`]
//!    (Ollama's default; its `OLLAMA_CONTEXT_LENGTH` setting cannot be read over the API). Each
//!    is capped at the length the model was trained for (`model_info["<arch>.context_length"]`),
//!    as Ollama caps it. `/api/show`'s `capabilities` also tell whether the model takes tools.
//!
//! `{root}` is the base URL without its trailing `/v1`.

use std::time::Duration;

use serde_json::Value;

use super::http::display_url;

/// Time limit of one discovery request.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// The context Ollama runs a model with when neither its Modelfile nor the request sets
/// `num_ctx` (and the server's `OLLAMA_CONTEXT_LENGTH` is not set): 4096 tokens in current
/// versions on machines with less than 24 GiB of VRAM (versions before 0.6 used 2048).
pub const OLLAMA_DEFAULT_NUM_CTX: usize = 4096;

/// Where [`crate::ModelInfo::context_window`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextWindowSource {
    /// llama.cpp's server: `/props`' `default_generation_settings.n_ctx`.
    LlamaCpp,
    /// vLLM: `/v1/models`' `max_model_len`.
    Vllm,
    /// Ollama: the model's `num_ctx` parameter.
    OllamaNumCtx,
    /// Ollama: the context the loaded model runs with (`/api/ps`).
    OllamaLoaded,
    /// Ollama without `num_ctx`: the configured window, else Ollama's default
    /// ([`OLLAMA_DEFAULT_NUM_CTX`]), capped at the model's trained length.
    OllamaDefault,
    /// [`super::OpenAiChatConfig::context_window`] (not discovered, or discovery found nothing).
    Configured,
    /// [`super::DEFAULT_CONTEXT_WINDOW`]: nothing configured, nothing discovered.
    Default,
}

/// What discovery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Discovered {
    pub context_window: usize,
    pub source: ContextWindowSource,
    /// Whether the model takes tools, when the server says (Ollama's `capabilities`).
    pub supports_tools: Option<bool>,
}

/// The probes of one server.
pub(super) struct Probe<'a> {
    pub http: &'a reqwest::Client,
    /// The base URL, up to `/v1`, without trailing slash.
    pub base_url: &'a str,
    pub model: &'a str,
    /// The authorization header to send, if a key is configured.
    pub auth: Option<&'a reqwest::header::HeaderValue>,
    /// The configured window.
    pub configured: Option<usize>,
}

impl Probe<'_> {
    /// Asks the server; `None` when it does not tell.
    pub async fn run(&self) -> Option<Discovered> {
        let root = self.base_url.strip_suffix("/v1").unwrap_or(self.base_url);
        if let Some(found) = self.llama_cpp(root).await {
            return Some(found);
        }
        if let Some(found) = self.vllm().await {
            return Some(found);
        }
        self.ollama(root).await
    }

    async fn llama_cpp(&self, root: &str) -> Option<Discovered> {
        let props = self.json(self.http.get(format!("{root}/props"))).await?;
        let n_ctx = positive(props.pointer("/default_generation_settings/n_ctx"))?;
        Some(Discovered {
            context_window: n_ctx,
            source: ContextWindowSource::LlamaCpp,
            supports_tools: None,
        })
    }

    async fn vllm(&self) -> Option<Discovered> {
        let models = self
            .json(self.http.get(format!("{}/models", self.base_url)))
            .await?;
        let entry = models
            .get("data")?
            .as_array()?
            .iter()
            .find(|entry| entry.get("id").and_then(Value::as_str) == Some(self.model))?;
        let max_model_len = positive(entry.get("max_model_len"))?;
        Some(Discovered {
            context_window: max_model_len,
            source: ContextWindowSource::Vllm,
            supports_tools: None,
        })
    }

    async fn ollama(&self, root: &str) -> Option<Discovered> {
        let show = self
            .json(
                self.http
                    .post(format!("{root}/api/show"))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(serde_json::json!({ "model": self.model }).to_string()),
            )
            .await?;
        let model_info = show.get("model_info").and_then(Value::as_object);
        let parameters = show.get("parameters").and_then(Value::as_str);
        let capabilities = show.get("capabilities").and_then(Value::as_array);
        if model_info.is_none() && parameters.is_none() && capabilities.is_none() {
            tracing::debug!("/api/show answered without model_info, parameters or capabilities");
            return None;
        }
        let trained = model_info.and_then(|info| {
            let architecture = info.get("general.architecture").and_then(Value::as_str);
            architecture
                .and_then(|arch| positive(info.get(&format!("{arch}.context_length"))))
                .or_else(|| {
                    info.iter()
                        .filter(|(key, _)| key.ends_with(".context_length"))
                        .find_map(|(_, value)| positive(Some(value)))
                })
        });
        let supports_tools = capabilities.map(|list| list.iter().any(|c| c.as_str() == Some("tools")));
        let (window, source) = match parameters.and_then(num_ctx) {
            Some(n) => (n, ContextWindowSource::OllamaNumCtx),
            None => match self.ollama_loaded(root).await {
                Some(n) => (n, ContextWindowSource::OllamaLoaded),
                None => (
                    self.configured.unwrap_or(OLLAMA_DEFAULT_NUM_CTX),
                    ContextWindowSource::OllamaDefault,
                ),
            },
        };
        Some(Discovered {
            context_window: trained.map_or(window, |trained| window.min(trained)),
            source,
            supports_tools,
        })
    }

    /// The context the model runs with, when Ollama has it loaded.
    async fn ollama_loaded(&self, root: &str) -> Option<usize> {
        let ps = self.json(self.http.get(format!("{root}/api/ps"))).await?;
        let tagged = format!("{}:latest", self.model);
        let names = [self.model, tagged.as_str()];
        ps.get("models")?
            .as_array()?
            .iter()
            .find(|entry| {
                ["name", "model"].iter().any(|field| {
                    entry
                        .get(*field)
                        .and_then(Value::as_str)
                        .is_some_and(|name| names.contains(&name))
                })
            })
            .and_then(|entry| positive(entry.get("context_length")))
    }

    /// Sends one probe; its JSON answer, or `None` (logged at debug level).
    async fn json(&self, request: reqwest::RequestBuilder) -> Option<Value> {
        let mut request = request.timeout(DISCOVERY_TIMEOUT);
        if let Some(auth) = self.auth {
            request = request.header(reqwest::header::AUTHORIZATION, auth.clone());
        }
        let request = match request.build() {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(%error, "cannot build a context-window probe");
                return None;
            }
        };
        let url = display_url(request.url().as_str());
        let response = match self.http.execute(request).await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(url, error = %error.without_url(), "context-window probe failed");
                return None;
            }
        };
        if !response.status().is_success() {
            tracing::debug!(
                url,
                status = response.status().as_u16(),
                "context-window probe refused"
            );
            return None;
        }
        match response
            .bytes()
            .await
            .map(|body| serde_json::from_slice::<Value>(&body))
        {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                tracing::debug!(url, %error, "context-window probe answered something else than JSON");
                None
            }
            Err(error) => {
                tracing::debug!(url, error = %error.without_url(), "context-window probe broke off");
                None
            }
        }
    }
}

/// A positive integer JSON value as a `usize`.
fn positive(value: Option<&Value>) -> Option<usize> {
    value
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .and_then(|n| usize::try_from(n).ok())
}

/// `num_ctx` in the text of an Ollama model's `parameters` (one `name value` per line).
fn num_ctx(parameters: &str) -> Option<usize> {
    parameters.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("num_ctx"))
            .then(|| words.next()?.parse::<usize>().ok())
            .flatten()
            .filter(|n| *n > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_ctx_is_read_from_ollama_parameters() {
        assert_eq!(
            num_ctx(
                "stop                           \"<|im_end|>\"\nnum_ctx                        8192\ntemperature 0.7"
            ),
            Some(8192)
        );
        assert_eq!(num_ctx("temperature 0.7"), None);
        assert_eq!(num_ctx("num_ctx lots"), None);
    }
}
