//! The BERT forward pass: [`Bert`] loads an encoder's weights from a safetensors file and runs
//! token ids to hidden states, calling the fused passes and the skinny product of [`super::kernels`].

use candle_core::{CpuStorage, Device, Layout, Storage, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config as BertConfig, HiddenAct};

use super::kernels::{AddBias, AddBiasResidual, BiasGelu, MaskedSoftmax, skinny_matmul};

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
pub(super) struct Bert {
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
    pub(super) hidden: usize,
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
    pub(super) fn load(vb: VarBuilder, config: &BertConfig) -> candle_core::Result<Self> {
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
    pub(super) fn forward(
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
