//! Connecting to what [`RetrievalSettings`] name: the embedder (loading the local model or setting up
//! an API client) and the vector store, as a [`Retrieval`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reposage_analysis::chunk::{ApproximateTokens, TokenCounter};
pub use reposage_contract::retrieval::{
    DEFAULT_BATCH_SIZE, EmbedderSettings, RetrievalSettings, Secret, VectorStoreSettings,
};
use reposage_store::Store;

use crate::embed::local::LocalEmbedder;
use crate::embed::openai::{OpenAiEmbedder, OpenAiEmbedderConfig};
use crate::vector::embedded::EmbeddedStore;
use crate::vector::qdrant::{QdrantConfig, QdrantStore};
use crate::{Embedder, Error, Result, VectorStore};

/// Loads the model or connects to the services `settings` name.
pub async fn connect(settings: &RetrievalSettings, store: &Store) -> Result<Retrieval> {
    let RetrievalSettings {
        embedder,
        vector_store,
        batch_size,
    } = settings;
    let batch_size = (*batch_size).max(1);
    let mut token_counter: Arc<dyn TokenCounter + Send + Sync> = Arc::new(ApproximateTokens);
    let embedder: Arc<dyn Embedder> = match embedder {
        EmbedderSettings::None => {
            return Ok(Retrieval {
                semantic: None,
                token_counter,
                batch_size,
            });
        }
        EmbedderSettings::Local { model_dir } => {
            // A call's chunks are spread over the cores one text per forward pass (the
            // fastest on CPUs); `batch_size` is how many chunks a call hands over.
            let local = LocalEmbedder::load(model_dir)?;
            token_counter = Arc::new(local.token_counter());
            Arc::new(local)
        }
        EmbedderSettings::OpenAi {
            base_url,
            model,
            dimension,
            max_concurrency,
            api_key,
        } => Arc::new(OpenAiEmbedder::new(OpenAiEmbedderConfig {
            api_key: reveal(api_key)?,
            dimension: *dimension,
            batch_size,
            max_concurrency: (*max_concurrency).max(1),
            ..OpenAiEmbedderConfig::new(base_url.clone(), model.clone())
        })?),
    };
    let vectors: Arc<dyn VectorStore> = match vector_store {
        VectorStoreSettings::Embedded => Arc::new(EmbeddedStore::new(store.clone())),
        VectorStoreSettings::Qdrant { url, api_key } => Arc::new(
            QdrantStore::connect(QdrantConfig {
                api_key: reveal(api_key)?,
                timeout: Duration::from_secs(30),
                ..QdrantConfig::new(url.clone())
            })
            .await?,
        ),
    };
    Ok(Retrieval {
        semantic: Some((embedder, vectors)),
        token_counter,
        batch_size,
    })
}

/// The value of an optional secret.
fn reveal(secret: &Option<Secret>) -> Result<Option<String>> {
    secret
        .as_ref()
        .map(|secret| {
            secret.reveal().map_err(|source| match secret {
                Secret::File(path) => Error::SecretFile {
                    path: path.clone(),
                    source,
                },
                Secret::Value(_) => Error::Config(source.to_string()),
            })
        })
        .transpose()
}

/// The retrieval components settings resolve to.
#[derive(Clone)]
pub struct Retrieval {
    /// Embedder and vector store, unless embeddings are off.
    pub semantic: Option<(Arc<dyn Embedder>, Arc<dyn VectorStore>)>,
    /// Counts chunk tokens (the local model's tokenizer when it is loaded, else an estimate).
    pub token_counter: Arc<dyn TokenCounter + Send + Sync>,
    /// Chunks per embedding call.
    pub batch_size: usize,
}

impl fmt::Debug for Retrieval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrieval")
            .field("semantic", &self.semantic)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}
