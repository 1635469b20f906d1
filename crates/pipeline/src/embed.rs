//! The embed stage: every distinct chunk the run will commit that has no cached vector of the model
//! yet, embedded page by page; vectors are cached by content hash outside the run's transaction.

use std::time::{Duration, Instant};

use reposage_store::{IndexWriter, Store};

use crate::Result;
use crate::request::EmbeddingStage;

/// Pages of chunks read for embedding.
const EMBED_PAGE: i64 = 512;

/// What the embedding stage did.
pub(crate) struct Embedded {
    pub(crate) embedded: u64,
    pub(crate) time: Duration,
}

impl Embedded {
    pub(crate) fn per_second(&self) -> f64 {
        match self.time.as_secs_f64() {
            0.0 => 0.0,
            secs => (self.embedded as f64 / secs * 10.0).round() / 10.0,
        }
    }
}

/// Embeds every distinct chunk of the repository (as the run will commit it) that has no cached
/// vector of the model yet, page by page. Vectors are cached outside the run's transaction, so a
/// failed run keeps what it embedded and its retry starts where it stopped.
pub(crate) async fn embed_chunks(
    store: &Store,
    writer: &mut IndexWriter,
    stage: &EmbeddingStage,
) -> Result<Embedded> {
    let started = Instant::now();
    let model = stage.embedder.model().clone();
    let mut embedded = 0u64;
    let mut after: Option<String> = None;
    loop {
        let page = writer
            .chunks_to_embed(&model.id, after.as_deref(), EMBED_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.content_hash.clone());
        for batch in page.chunks(stage.batch_size.max(1)) {
            let texts: Vec<String> = batch.iter().map(|c| c.text.clone()).collect();
            let vectors = stage.embedder.embed(&texts).await?;
            let hashes: Vec<String> = batch.iter().map(|c| c.content_hash.clone()).collect();
            store.insert_embeddings(&model.id, &hashes, &vectors).await?;
            embedded += batch.len() as u64;
        }
    }
    Ok(Embedded {
        embedded,
        time: started.elapsed(),
    })
}
