//! Embedders: texts in, unit-length vectors out.
//!
//! Every backend reports the [`ModelInfo`] it embeds with; its `id` is half of the embedding cache
//! key (the other half is the chunk's content hash), so vectors of two models never mix.

pub mod local;
pub mod openai;

use std::fmt;

use async_trait::async_trait;

use crate::Result;

/// Which model an embedder runs, and the shape of what it returns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelInfo {
    /// Stable identifier, part of the cache key and of Qdrant collection names
    /// (`sentence-transformers/all-MiniLM-L6-v2`, `openai/text-embedding-3-small`).
    pub id: String,
    /// Length of every vector.
    pub dimension: usize,
    /// Longest input in model tokens; longer texts are truncated.
    pub max_tokens: usize,
}

impl ModelInfo {
    /// `Ok` when a vector of `len` entries fits this model, [`Error::Dimension`](crate::Error) otherwise.
    pub fn check_dimension(&self, len: usize) -> Result<()> {
        if len == self.dimension {
            Ok(())
        } else {
            Err(crate::Error::Dimension {
                expected: self.dimension,
                actual: len,
            })
        }
    }
}

/// Turns texts into vectors.
#[async_trait]
pub trait Embedder: Send + Sync + fmt::Debug {
    /// The model this embedder runs.
    fn model(&self) -> &ModelInfo;

    /// Embeds `texts`, one vector per text in the same order, each of `model().dimension` entries
    /// and unit L2 norm (so a dot product is the cosine similarity).
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;

    /// Embeds a search query.
    async fn embed_query(&self, query: &str) -> Result<Vec<f32>> {
        let mut vectors = self.embed(&[query.to_string()]).await?;
        vectors
            .pop()
            .ok_or_else(|| crate::Error::unusable("no vector returned for the query"))
    }
}

/// Scales `vector` to unit L2 norm in place (a zero vector stays zero).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_makes_unit_vectors_and_leaves_zero_alone() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }
}
