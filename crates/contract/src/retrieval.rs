//! Which embedder and vector store a process uses: plain data the binaries build from their flags
//! and the operator writes into an index Job's contract. `reposage-retrieval` turns it into live
//! components (`reposage_retrieval::connect`).
//!
//! Settings never carry a secret's value across a process boundary: an API key is a [`Secret`] — a
//! mounted file, or a value the process read from its own environment, which is never serialised.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Chunks per embedding call when nothing else is said.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Which embedder and vector store to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrievalSettings {
    /// The embedder.
    pub embedder: EmbedderSettings,
    /// Where vectors are kept.
    pub vector_store: VectorStoreSettings,
    /// Chunks per embedding call (the local model spreads a call's chunks over every core).
    pub batch_size: usize,
}

/// Which embedder turns chunks and queries into vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum EmbedderSettings {
    /// No embeddings: lexical search only.
    None,
    /// all-MiniLM-L6-v2 (or another sentence-transformers BERT) in process.
    #[serde(rename_all = "camelCase")]
    Local {
        /// Folder with `model.safetensors`, `tokenizer.json` and `config.json`.
        model_dir: PathBuf,
    },
    /// An OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, TEI).
    #[serde(rename = "openai", rename_all = "camelCase")]
    OpenAi {
        /// Base URL, up to `/v1`.
        base_url: String,
        /// The model's name at that API.
        model: String,
        /// Vector length (required for models other than OpenAI's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dimension: Option<usize>,
        /// Requests in flight at once.
        max_concurrency: usize,
        /// The API key, if the endpoint needs one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key: Option<Secret>,
    },
}

/// Where vectors are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum VectorStoreSettings {
    /// In Postgres, searched in process.
    Embedded,
    /// A Qdrant server.
    #[serde(rename_all = "camelCase")]
    Qdrant {
        /// gRPC URL, e.g. `http://qdrant:6334`.
        url: String,
        /// The API key, if the server needs one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key: Option<Secret>,
    },
}

/// A secret: the path of a mounted file holding it, or a value this process read from its own
/// environment. Only the path is ever serialised; `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Secret {
    /// Read from this file when connecting (surrounding white space trimmed).
    File(PathBuf),
    /// The value itself; refused by serialisation, so it cannot leak into a Job or a log.
    #[serde(skip)]
    Value(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::File(path) => f.debug_tuple("File").field(path).finish(),
            Secret::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

impl Secret {
    /// The secret's value: the file's content without surrounding white space, or the value.
    pub fn reveal(&self) -> std::io::Result<String> {
        match self {
            Secret::Value(value) => Ok(value.clone()),
            Secret::File(path) => std::fs::read_to_string(path).map(|text| text.trim().to_string()),
        }
    }
}

impl RetrievalSettings {
    /// Lexical search only: no embedder.
    pub fn lexical_only() -> Self {
        RetrievalSettings {
            embedder: EmbedderSettings::None,
            vector_store: VectorStoreSettings::Embedded,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_json_with_secrets_as_file_paths() {
        let settings = RetrievalSettings {
            embedder: EmbedderSettings::OpenAi {
                base_url: "http://llm:8000/v1".into(),
                model: "bge-small".into(),
                dimension: Some(384),
                max_concurrency: 4,
                api_key: Some(Secret::File("/var/run/secrets/openai/key".into())),
            },
            vector_store: VectorStoreSettings::Qdrant {
                url: "http://qdrant:6334".into(),
                api_key: None,
            },
            batch_size: 16,
        };
        let json = serde_json::to_value(&settings).unwrap();
        assert_eq!(json["embedder"]["kind"], "openai");
        assert_eq!(json["embedder"]["apiKey"]["file"], "/var/run/secrets/openai/key");
        assert_eq!(
            serde_json::from_value::<RetrievalSettings>(json).unwrap(),
            settings
        );
    }

    #[test]
    fn a_secret_value_is_never_serialised_or_shown() {
        let secret = Secret::Value("sk-very-secret".into());
        assert!(serde_json::to_string(&secret).is_err());
        assert!(!format!("{secret:?}").contains("very-secret"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json = serde_json::json!({"kind": "local", "modelDir": "/m", "extra": 1});
        assert!(serde_json::from_value::<EmbedderSettings>(json).is_err());
    }
}
