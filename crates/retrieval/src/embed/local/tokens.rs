//! [`MiniLmTokens`]: the model's WordPiece tokenizer as a [`TokenCounter`] for chunking, loadable
//! without the weights.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use reposage_analysis::chunk::{ApproximateTokens, TokenCounter};
use tokenizers::Tokenizer;

use crate::{Error, Result};

/// Counts tokens with a model's WordPiece tokenizer, for chunking: tokens without `[CLS]`/`[SEP]`,
/// never truncated. Cheap to clone (the tokenizer is shared).
///
/// BERT's tokenizer splits on white space (and punctuation) before cutting words into vocabulary
/// pieces, so the count is additive over white space: the count of lines joined with `\n` is the sum
/// of the lines' counts, as [`reposage_analysis::chunk`]'s prefix sums assume.
#[derive(Clone)]
pub struct MiniLmTokens {
    pub(super) tokenizer: Arc<Tokenizer>,
}

impl MiniLmTokens {
    /// Reads the tokenizer of the model in `model_dir` (its `tokenizer.json`), without loading the
    /// weights.
    ///
    /// # Errors
    /// [`Error::ModelMissing`] when `tokenizer.json` is missing (saying how to get a model),
    /// [`Error::ModelInvalid`] when it is not a tokenizer.
    pub fn load(model_dir: impl AsRef<Path>) -> Result<Self> {
        let path = model_dir.as_ref().join("tokenizer.json");
        if !path.is_file() {
            return Err(Error::ModelMissing {
                dir: model_dir.as_ref().to_path_buf(),
                missing: vec!["tokenizer.json"],
            });
        }
        let mut tokenizer =
            Tokenizer::from_file(&path).map_err(|e| Error::model_invalid(&path, "not a tokenizer", e))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::model_invalid(&path, "cannot turn truncation off", e))?;
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
