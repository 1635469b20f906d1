//! The embedded vector store: vectors live in Postgres (the embedding cache), searches run in
//! process, exactly.
//!
//! A repository's vectors are loaded once into one contiguous row-major `f32` matrix (plus the
//! path, language and symbol kind of each row, for filters) and kept while the repository's index
//! does not change: every search first reads each repository's `last_indexed_at` (one small
//! query), and a repository indexed since it was loaded is loaded again. Loaded repositories are
//! evicted least recently used first beyond a byte budget.
//!
//! Search is brute force in two passes. Every row that passes the filter is first scored with an
//! 8-bit dot product: each vector is also kept quantised to `i8` with a per-row scale (`x ≈ q ·
//! max|x| / 127`), a quarter of the bytes to stream through memory, which is what bounds a scan
//! of 100k × 384 values. The best `max(4k, k + 32)` rows of that pass are then re-scored exactly
//! with `f32` dot products (the vectors are unit length, so that is the cosine), and the best `k`
//! of those are returned with their exact scores. Large repositories are scanned on all cores.
//! Both dot products are written over fixed-width lane blocks so the compiler vectorises them.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use reposage_store::{RepositoryId, Store, extend_from_bytes};

use crate::vector::PointPayload;
use crate::{Error, ModelInfo, Result, VectorFilter, VectorHit, VectorPoint, VectorStore};

/// Default memory budget of loaded repositories (vectors only), in bytes.
pub const DEFAULT_CACHE_BYTES: usize = 1 << 30;
/// Candidates of the quantised pass re-scored exactly: `max(RESCORE_FACTOR · k, k + RESCORE_EXTRA)`.
const RESCORE_FACTOR: usize = 4;
const RESCORE_EXTRA: usize = 32;
/// Rows per thread below which a search stays on one thread.
const ROWS_PER_THREAD: usize = 16_384;
/// Rows whose quantised dot products are computed in one call (a block of i8 rows fits in L2).
const SCAN_BLOCK: usize = 1_024;

/// Vectors in Postgres, searched in process.
#[derive(Debug)]
pub struct EmbeddedStore {
    store: Store,
    cache_bytes: usize,
    cache: Mutex<HashMap<(RepositoryId, String), Arc<Loaded>>>,
}

/// One repository's vectors of one model.
#[derive(Debug)]
struct Loaded {
    version: Option<DateTime<Utc>>,
    vectors: RepositoryVectors,
    last_used: Mutex<Instant>,
}

/// A repository's vectors as one matrix, with what filters look at.
#[derive(Debug, Default)]
pub struct RepositoryVectors {
    /// Length of each vector.
    pub dimension: usize,
    /// Row-major, `len() * dimension` values.
    data: Vec<f32>,
    /// The same rows quantised to `i8`.
    quantized: Vec<i8>,
    /// Per-row scale of `quantized` (`x ≈ q · scale`).
    scales: Vec<f32>,
    /// Content hash of each row.
    hashes: Vec<String>,
    /// Path of each row.
    paths: Vec<String>,
    /// Lowercased language of each row.
    languages: Vec<Option<String>>,
    /// Symbol kind of each row.
    kinds: Vec<Option<String>>,
}

/// A vector quantised to `i8` with its scale.
fn quantize(vector: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = vector.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    out.extend(
        vector
            .iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

impl RepositoryVectors {
    /// No rows yet, vectors of `dimension` entries.
    pub fn new(dimension: usize) -> Self {
        RepositoryVectors {
            dimension,
            ..Default::default()
        }
    }

    /// Appends a row (`vector` must have `dimension` entries).
    pub fn push(
        &mut self,
        content_hash: String,
        path: String,
        language: Option<&str>,
        symbol_kind: Option<String>,
        vector: &[f32],
    ) {
        debug_assert_eq!(vector.len(), self.dimension);
        self.data.extend_from_slice(vector);
        let scale = quantize(vector, &mut self.quantized);
        self.scales.push(scale);
        self.hashes.push(content_hash);
        self.paths.push(path);
        self.languages.push(language.map(str::to_lowercase));
        self.kinds.push(symbol_kind);
    }

    /// The content hash of row `i`.
    pub fn hash(&self, i: usize) -> &str {
        &self.hashes[i]
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    fn bytes(&self) -> usize {
        self.data.len() * 4 + self.quantized.len()
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dimension..(i + 1) * self.dimension]
    }

    fn passes(&self, i: usize, filter: &RowFilter) -> bool {
        (filter.languages.is_empty()
            || self.languages[i]
                .as_deref()
                .is_some_and(|l| filter.languages.iter().any(|f| f == l)))
            && (filter.kinds.is_empty()
                || self.kinds[i]
                    .as_deref()
                    .is_some_and(|k| filter.kinds.iter().any(|f| f == k)))
            && filter
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| self.paths[i].starts_with(prefix))
    }

    /// The `k` rows nearest to `query` that pass `filter`, as (score, row), best first.
    pub fn nearest(&self, query: &[f32], filter: &VectorFilter, k: usize) -> Vec<(f32, usize)> {
        let filter = RowFilter::new(filter);
        let mut quantized_query = Vec::with_capacity(query.len());
        let query_scale = quantize(query, &mut quantized_query);
        let query_q = (quantized_query.as_slice(), query_scale);
        let candidates = (RESCORE_FACTOR * k).max(k + RESCORE_EXTRA);
        let rows = self.len();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(rows / ROWS_PER_THREAD)
            .max(1);
        let per_thread = rows.div_ceil(threads);
        let partial: Vec<Vec<(f32, usize)>> = if threads == 1 {
            vec![self.scan(query_q, &filter, 0..rows, candidates)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let range = t * per_thread..((t + 1) * per_thread).min(rows);
                        let filter = &filter;
                        scope.spawn(move || self.scan(query_q, filter, range, candidates))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        // The quantised pass's best candidates, re-scored exactly.
        let mut all: Vec<(f32, usize)> = partial
            .into_iter()
            .flatten()
            .map(|(_, i)| (dot(query, self.row(i)), i))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.truncate(k);
        all
    }

    /// The `k` rows of `rows` with the best quantised scores for `query` (quantised, with its scale).
    fn scan(
        &self,
        (query, query_scale): (&[i8], f32),
        filter: &RowFilter,
        rows: std::ops::Range<usize>,
        k: usize,
    ) -> Vec<(f32, usize)> {
        let mut best: BinaryHeap<Reverse<Scored>> = BinaryHeap::with_capacity(k + 1);
        let mut dots = vec![0i32; SCAN_BLOCK.min(rows.len())];
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + SCAN_BLOCK).min(rows.end);
            let dots = &mut dots[..end - start];
            dot_i8_rows(
                query,
                &self.quantized[start * self.dimension..end * self.dimension],
                dots,
            );
            for (i, &dot) in (start..end).zip(dots.iter()) {
                if !self.passes(i, filter) {
                    continue;
                }
                let score = dot as f32 * self.scales[i] * query_scale;
                if best.len() < k {
                    best.push(Reverse(Scored(score, i)));
                } else if best.peek().is_some_and(|worst| score > worst.0.0) {
                    best.pop();
                    best.push(Reverse(Scored(score, i)));
                }
            }
            start = end;
        }
        best.into_iter().map(|Reverse(Scored(s, i))| (s, i)).collect()
    }
}

/// A filter prepared for row tests (lowercased languages).
struct RowFilter {
    languages: Vec<String>,
    kinds: Vec<String>,
    path_prefix: Option<String>,
}

impl RowFilter {
    fn new(filter: &VectorFilter) -> Self {
        RowFilter {
            languages: filter.languages.iter().map(|l| l.to_lowercase()).collect(),
            kinds: filter.symbol_kinds.clone(),
            path_prefix: filter.path_prefix.clone(),
        }
    }
}

/// A score and its row, ordered by score (then row, so the order is total).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored(f32, usize);

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

/// Dot products of `query` with each row of `rows` (contiguous rows of `query.len()` values) into
/// `scores`: the quantised pass's hot loop, compiled for AVX-512 (with VNNI) and AVX2 as well as
/// plain x86-64, the best one chosen at run time.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512vnni",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn dot_i8_rows(query: &[i8], rows: &[i8], scores: &mut [i32]) {
    for (row, score) in rows.chunks_exact(query.len().max(1)).zip(scores) {
        *score = dot_i8(query, row);
    }
}

/// Dot product of `i8` vectors over 16-lane blocks with `i32` sums (vectorised by the compiler).
#[inline(always)]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let (blocks_a, tail_a) = a.as_chunks::<16>();
    let (blocks_b, tail_b) = b.as_chunks::<16>();
    let mut lanes = [0i32; 16];
    for (x, y) in blocks_a.iter().zip(blocks_b) {
        for lane in 0..16 {
            lanes[lane] += i32::from(x[lane]) * i32::from(y[lane]);
        }
    }
    let tail: i32 = tail_a
        .iter()
        .zip(tail_b)
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum();
    lanes.iter().sum::<i32>() + tail
}

/// Dot product over 8-lane blocks (vectorised by the compiler), then the tail.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (blocks_a, tail_a) = a.as_chunks::<8>();
    let (blocks_b, tail_b) = b.as_chunks::<8>();
    let mut lanes = [0f32; 8];
    for (x, y) in blocks_a.iter().zip(blocks_b) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    let tail: f32 = tail_a.iter().zip(tail_b).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

impl EmbeddedStore {
    /// A store over `store`'s embedding cache, keeping up to [`DEFAULT_CACHE_BYTES`] of vectors loaded.
    pub fn new(store: Store) -> Self {
        Self::with_cache_bytes(store, DEFAULT_CACHE_BYTES)
    }

    /// A store keeping up to `cache_bytes` of vectors loaded.
    pub fn with_cache_bytes(store: Store, cache_bytes: usize) -> Self {
        EmbeddedStore {
            store,
            cache_bytes,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The vectors of `repository` for `model`, from the cache when its index has not changed.
    async fn repository(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
        version: Option<DateTime<Utc>>,
    ) -> Result<Arc<Loaded>> {
        let key = (repository, model.id.clone());
        if let Some(loaded) = self.lock().get(&key).filter(|l| l.version == version) {
            *loaded.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            return Ok(loaded.clone());
        }
        let vectors = self.load(model, repository).await?;
        let loaded = Arc::new(Loaded {
            version,
            vectors,
            last_used: Mutex::new(Instant::now()),
        });
        let mut cache = self.lock();
        cache.insert(key, loaded.clone());
        evict(&mut cache, self.cache_bytes);
        Ok(loaded)
    }

    async fn load(&self, model: &ModelInfo, repository: RepositoryId) -> Result<RepositoryVectors> {
        let mut vectors = RepositoryVectors::new(model.dimension);
        let mut vector = Vec::with_capacity(model.dimension);
        let mut rows = self.store.repository_vectors(repository, &model.id);
        while let Some(row) = rows.try_next().await.map_err(reposage_store::Error::from)? {
            if row.bytes.len() != model.dimension * 4 {
                return Err(Error::Dimension {
                    expected: model.dimension,
                    actual: row.bytes.len() / 4,
                });
            }
            vector.clear();
            extend_from_bytes(&mut vector, &row.bytes);
            vectors.push(
                row.content_hash,
                row.path,
                row.language.as_deref(),
                row.symbol_kind,
                &vector,
            );
        }
        Ok(vectors)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(RepositoryId, String), Arc<Loaded>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self, repository: RepositoryId) {
        self.lock().retain(|(id, _), _| *id != repository);
    }
}

/// Drops least recently used entries while the cache is over `budget` (never the last one).
fn evict(cache: &mut HashMap<(RepositoryId, String), Arc<Loaded>>, budget: usize) {
    while cache.len() > 1 && cache.values().map(|l| l.vectors.bytes()).sum::<usize>() > budget {
        let oldest = cache
            .iter()
            .min_by_key(|(_, l)| *l.last_used.lock().unwrap_or_else(|e| e.into_inner()))
            .map(|(k, _)| k.clone());
        match oldest {
            Some(key) => cache.remove(&key),
            None => break,
        };
    }
}

#[async_trait]
impl VectorStore for EmbeddedStore {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    fn reads_postgres(&self) -> bool {
        true
    }

    /// Caches the vectors by content hash (the chunk rows already say where they occur).
    async fn upsert(&self, model: &ModelInfo, points: &[VectorPoint]) -> Result<()> {
        let mut hashes = Vec::with_capacity(points.len());
        let mut vectors = Vec::with_capacity(points.len());
        for point in points {
            model.check_dimension(point.vector.len())?;
            hashes.push(point.content_hash.clone());
            vectors.push(point.vector.clone());
        }
        self.store.insert_embeddings(&model.id, &hashes, &vectors).await?;
        for repository in points.iter().map(|p| p.repository) {
            self.forget(repository);
        }
        Ok(())
    }

    /// Forgets the loaded vectors; the cached embeddings stay for other repositories sharing the
    /// same code and go with garbage collection when no chunk has them.
    async fn delete_repository(&self, _model: &ModelInfo, repository: RepositoryId) -> Result<()> {
        self.forget(repository);
        Ok(())
    }

    /// The chunk rows are the source of truth: forgetting the loaded vectors is enough.
    async fn delete_chunks(
        &self,
        _model: &ModelInfo,
        repository: RepositoryId,
        _hashes: &[String],
    ) -> Result<()> {
        self.forget(repository);
        Ok(())
    }

    async fn search(
        &self,
        model: &ModelInfo,
        query: &[f32],
        filter: &VectorFilter,
        k: usize,
    ) -> Result<Vec<VectorHit>> {
        model.check_dimension(query.len())?;
        let mut hits = Vec::new();
        for (repository, version) in self.store.index_versions(&filter.repositories).await? {
            let loaded = self.repository(model, repository, version).await?;
            let (query, filter) = (query.to_vec(), filter.clone());
            let nearest = {
                let loaded = loaded.clone();
                tokio::task::spawn_blocking(move || loaded.vectors.nearest(&query, &filter, k))
                    .await
                    .map_err(|source| Error::Worker {
                        task: "vector search",
                        source,
                    })?
            };
            hits.extend(nearest.into_iter().map(|(score, row)| VectorHit {
                repository,
                content_hash: loaded.vectors.hash(row).to_string(),
                score,
            }));
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(k);
        Ok(hits)
    }

    async fn count(&self, model: &ModelInfo, repository: Option<RepositoryId>) -> Result<u64> {
        let repositories: Vec<RepositoryId> = repository.into_iter().collect();
        let mut total = 0u64;
        for (repository, version) in self.store.index_versions(&repositories).await? {
            total += self.repository(model, repository, version).await?.vectors.len() as u64;
        }
        Ok(total)
    }

    /// The repository's distinct chunks with a cached embedding, read from Postgres, which is this
    /// store (the rows' vectors are read along and dropped; the loaded matrix is not asked, as it
    /// keeps languages lowercased). A sync never needs it: this store
    /// [reads Postgres](VectorStore::reads_postgres).
    async fn repository_points(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
    ) -> Result<Vec<PointPayload>> {
        let mut rows = self.store.repository_vectors(repository, &model.id);
        let mut points = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(reposage_store::Error::from)? {
            points.push(PointPayload::from_row(row).0);
        }
        Ok(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(rows: &[(&str, &[f32], &str, Option<&str>)]) -> RepositoryVectors {
        let mut v = RepositoryVectors::new(rows[0].1.len());
        for (hash, vector, path, language) in rows {
            v.push(
                hash.to_string(),
                path.to_string(),
                *language,
                Some("function".into()),
                vector,
            );
        }
        v
    }

    #[test]
    fn quantised_dot_products_track_exact_ones() {
        let a: Vec<i8> = (0..37).map(|i| (i * 7 % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..37).map(|i| (127 - i * 3) as i8).collect();
        let exact: i32 = a.iter().zip(&b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
        assert_eq!(dot_i8(&a, &b), exact);
        let x = [0.6f32, -0.8, 0.0];
        let mut q = Vec::new();
        let scale = quantize(&x, &mut q);
        assert_eq!(q, [95, -127, 0]);
        assert!((dot_i8(&q, &q) as f32 * scale * scale - 1.0).abs() < 0.01);
    }

    #[test]
    fn dot_handles_blocks_and_tails() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let b = vec![2.0; 19];
        assert_eq!(dot(&a, &b), (0..19).sum::<i32>() as f32 * 2.0);
    }

    #[test]
    fn nearest_filters_by_language_and_path_and_orders_by_score() {
        let v = vectors(&[
            ("a", &[1.0, 0.0], "src/a.rs", Some("Rust")),
            ("b", &[0.8, 0.6], "src/b.py", Some("Python")),
            ("c", &[0.6, 0.8], "docs/c.rs", Some("Rust")),
        ]);
        let all = v.nearest(&[1.0, 0.0], &VectorFilter::default(), 10);
        assert_eq!(all.iter().map(|h| h.1).collect::<Vec<_>>(), [0, 1, 2]);
        let rust = VectorFilter {
            languages: vec!["rust".into()],
            ..Default::default()
        };
        assert_eq!(
            v.nearest(&[1.0, 0.0], &rust, 10)
                .iter()
                .map(|h| h.1)
                .collect::<Vec<_>>(),
            [0, 2]
        );
        let docs = VectorFilter {
            path_prefix: Some("docs/".into()),
            ..Default::default()
        };
        assert_eq!(
            v.nearest(&[1.0, 0.0], &docs, 10)
                .iter()
                .map(|h| h.1)
                .collect::<Vec<_>>(),
            [2]
        );
        let classes = VectorFilter {
            symbol_kinds: vec!["class".into()],
            ..Default::default()
        };
        assert!(v.nearest(&[1.0, 0.0], &classes, 10).is_empty());
    }

    #[test]
    fn nearest_matches_a_brute_force_sort_across_threads() {
        // Enough rows to spread over threads; pseudo-random unit vectors from a fixed LCG.
        let (rows, dim) = (40_000, 16);
        let mut state = 42u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let mut v = RepositoryVectors::new(dim);
        for i in 0..rows {
            let mut row: Vec<f32> = (0..dim).map(|_| next()).collect();
            crate::embed::normalize(&mut row);
            v.push(i.to_string(), format!("f{}.rs", i % 7), Some("Rust"), None, &row);
        }
        let mut query: Vec<f32> = (0..dim).map(|_| next()).collect();
        crate::embed::normalize(&mut query);
        let filter = VectorFilter {
            path_prefix: Some("f3".into()),
            ..Default::default()
        };
        let got = v.nearest(&query, &filter, 25);
        let mut reference: Vec<(f32, usize)> = (0..rows)
            .filter(|i| v.paths[*i].starts_with("f3"))
            .map(|i| (v.row(i).iter().zip(&query).map(|(a, b)| a * b).sum::<f32>(), i))
            .collect();
        reference.sort_by(|a, b| b.0.total_cmp(&a.0));
        reference.truncate(25);
        assert_eq!(
            got.iter().map(|h| h.1).collect::<Vec<_>>(),
            reference.iter().map(|h| h.1).collect::<Vec<_>>()
        );
        for (g, r) in got.iter().zip(&reference) {
            assert!((g.0 - r.0).abs() < 1e-5);
        }
    }
}
