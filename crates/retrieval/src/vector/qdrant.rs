//! Vectors in a Qdrant server (gRPC, qdrant-client).
//!
//! - **Collections.** One per (model, dimension), named `{prefix}_{sanitised model id}_{dimension}`
//!   (see [`collection_name`]), created on the first write when missing: cosine distance, keyword
//!   payload indexes on `repository_id`, `language` and `symbol_kind`.
//! - **Points.** One per (repository, chunk content hash), with the deterministic id
//!   [`point_id`] — UUID v5 of `"{repository id}/{content hash}"` in [`POINT_NAMESPACE`] — so an
//!   upsert retried after a timeout (Qdrant may have applied it) replaces the same points instead of
//!   adding copies. Payload: `repository_id`, `content_hash`, `path`, and `language` and
//!   `symbol_kind` when known.
//! - **Writes** wait for Qdrant to apply them (`wait=true`) and go in batches of
//!   [`UPSERT_BATCH`] points.
//! - **Listing** a repository's points (what a sync compares with Postgres) scrolls through them
//!   with the repository filter, [`SCROLL_PAGE`] per page, payload only — never the vectors (see
//!   [`scroll_request`]).
//! - **Searches** always carry a filter built from the [`VectorFilter`] (see [`filter`]): the
//!   repositories (every repository only when the list is empty, as the trait documents), languages
//!   and symbol kinds as match-any conditions inside Qdrant's query. The path prefix is checked here
//!   on the returned `path` payload, over-fetching [`PATH_OVERFETCH`] times `k` per page: Qdrant's
//!   keyword indexes match exact values, and the prefix match qdrant-client 1.20 exposes
//!   (`Condition::matches_prefix`) needs a prefix-enabled keyword index that servers older than the
//!   client do not have — an older server would not apply the condition at all.
//!
//! Errors become [`Error::Qdrant`] with Qdrant's status code and message, never the API key.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::qdrant::{
    Condition, CountPoints, CountPointsBuilder, CreateCollection, CreateCollectionBuilder,
    CreateFieldIndexCollection, CreateFieldIndexCollectionBuilder, DeletePoints, DeletePointsBuilder,
    Distance, FieldType, Filter, PayloadIncludeSelector, PointId, PointStruct, PointsIdsList, QueryPoints,
    QueryPointsBuilder, RetrievedPoint, ScoredPoint, ScrollPoints, ScrollPointsBuilder, UpsertPoints,
    UpsertPointsBuilder, Value, VectorParamsBuilder,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use reposage_store::RepositoryId;
use uuid::Uuid;

use super::{PointPayload, VectorFilter, VectorHit, VectorPoint, VectorStore};
use crate::{Error, ModelInfo, Result};

/// Default collection name prefix.
pub const DEFAULT_COLLECTION_PREFIX: &str = "reposage";
/// Default time limit of one Qdrant request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Points per upsert request.
pub const UPSERT_BATCH: usize = 256;
/// Point ids per delete request.
pub const DELETE_BATCH: usize = 1024;
/// Points per page when a repository's points are listed.
pub const SCROLL_PAGE: u32 = 1024;
/// How many times `k` points a page fetches when a path prefix is filtered here.
pub const PATH_OVERFETCH: usize = 8;
/// Most points a path-prefix search reads before it returns what it has.
pub const MAX_PATH_SCAN: usize = 10_000;

/// Namespace of the UUID v5 point ids: `Uuid::new_v5(&Uuid::NAMESPACE_URL,
/// b"https://reposage.dev/qdrant/point")` (a unit test pins it). Changing it orphans every stored
/// point.
pub const POINT_NAMESPACE: Uuid = Uuid::from_u128(0xf807_8d99_c07b_5e69_8072_b08e_70ae_57eb);

/// Payload keys.
const REPOSITORY_ID: &str = "repository_id";
const CONTENT_HASH: &str = "content_hash";
const LANGUAGE: &str = "language";
const PATH: &str = "path";
const SYMBOL_KIND: &str = "symbol_kind";

/// Payload fields with a keyword index.
const INDEXED_FIELDS: [&str; 3] = [REPOSITORY_ID, LANGUAGE, SYMBOL_KIND];

/// Where the Qdrant server is and how to name collections. Its [`fmt::Debug`] output hides the API
/// key.
#[derive(Clone)]
pub struct QdrantConfig {
    /// gRPC URL of the server, e.g. `http://localhost:6334` (`https://…` for TLS).
    pub url: String,
    /// API key (Qdrant Cloud, or a server with `service.api_key`).
    pub api_key: Option<String>,
    /// Time limit of one request.
    pub timeout: Duration,
    /// Prefix of collection names (lower-case letters, digits, `_` and `-`).
    pub collection_prefix: String,
}

impl QdrantConfig {
    /// A configuration for the server at `url`, without API key, with the default timeout and
    /// prefix.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            collection_prefix: DEFAULT_COLLECTION_PREFIX.into(),
        }
    }
}

impl fmt::Debug for QdrantConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            url,
            api_key,
            timeout,
            collection_prefix,
        } = self;
        f.debug_struct("QdrantConfig")
            .field("url", &crate::secrets::redact(url).text)
            .field("api_key", &api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", timeout)
            .field("collection_prefix", collection_prefix)
            .finish()
    }
}

/// A [`VectorStore`] in Qdrant (see the [module documentation](self)).
pub struct QdrantStore {
    client: Qdrant,
    prefix: String,
    /// The URL with any credentials redacted, for Debug and errors.
    display_url: String,
    /// Collections known to exist with their indexes (checked once per process).
    ready: Mutex<HashSet<String>>,
}

impl fmt::Debug for QdrantStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QdrantStore")
            .field("url", &self.display_url)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl QdrantStore {
    /// Connects to the server and checks that it answers (a health check).
    pub async fn connect(config: QdrantConfig) -> Result<Self> {
        let QdrantConfig {
            url,
            api_key,
            timeout,
            collection_prefix,
        } = config;
        let url = url.trim().to_string();
        let display_url = crate::secrets::redact(&url).text.into_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "the Qdrant URL {display_url} must start with http:// or https://"
            )));
        }
        let prefix = sanitise(&collection_prefix);
        if prefix.is_empty() {
            return Err(Error::Config(
                "the Qdrant collection prefix needs a letter or digit".into(),
            ));
        }
        let api_key = api_key
            .map(|key| key.trim().to_string())
            .filter(|key| !key.is_empty());
        // The compatibility check would block this async task on a second runtime; the health
        // check below tells the same (the server answers) without that.
        let client = Qdrant::from_url(&url)
            .api_key(api_key)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .skip_compatibility_check()
            .build()
            .map_err(|e| qdrant_error(&format!("connecting to {display_url}"), e))?;
        let health = client
            .health_check()
            .await
            .map_err(|e| qdrant_error(&format!("the health check of {display_url}"), e))?;
        tracing::debug!(url = %display_url, version = %health.version, "connected to Qdrant");
        Ok(Self {
            client,
            prefix,
            display_url,
            ready: Mutex::new(HashSet::new()),
        })
    }

    /// Drops the model's whole collection (nothing happens when it does not exist); the next
    /// write creates it afresh. For rebuilding a collection from Postgres, and for tests.
    pub async fn delete_collection(&self, model: &ModelInfo) -> Result<()> {
        let collection = self.collection(model);
        if let Ok(mut ready) = self.ready.lock() {
            ready.remove(&collection);
        }
        let exists = self
            .client
            .collection_exists(collection.as_str())
            .await
            .map_err(|e| qdrant_error("checking the collection", e))?;
        if exists {
            self.client
                .delete_collection(collection.as_str())
                .await
                .map_err(|e| qdrant_error("deleting the collection", e))?;
        }
        Ok(())
    }

    fn collection(&self, model: &ModelInfo) -> String {
        collection_name(&self.prefix, model)
    }

    fn is_ready(&self, collection: &str) -> bool {
        self.ready
            .lock()
            .map(|ready| ready.contains(collection))
            .unwrap_or(false)
    }

    fn mark_ready(&self, collection: &str) {
        if let Ok(mut ready) = self.ready.lock() {
            ready.insert(collection.to_string());
        }
    }

    /// Whether the model's collection exists; with `create`, makes it (and its payload indexes)
    /// when missing.
    async fn prepare(&self, model: &ModelInfo, create: bool) -> Result<Option<String>> {
        let collection = self.collection(model);
        if self.is_ready(&collection) {
            return Ok(Some(collection));
        }
        let exists = self
            .client
            .collection_exists(collection.as_str())
            .await
            .map_err(|e| qdrant_error("checking the collection", e))?;
        if !exists {
            if !create {
                return Ok(None);
            }
            let request = create_collection_request(&collection, model.dimension)?;
            if let Err(error) = self.client.create_collection(request).await {
                // Another writer may have created it meanwhile.
                let exists_now = self
                    .client
                    .collection_exists(collection.as_str())
                    .await
                    .unwrap_or(false);
                if !exists_now {
                    return Err(qdrant_error("creating the collection", error));
                }
            } else {
                tracing::info!(%collection, dimension = model.dimension, "created Qdrant collection");
            }
        }
        // Idempotent: also repairs a collection whose creation was interrupted before its
        // indexes.
        for request in field_index_requests(&collection) {
            self.client
                .create_field_index(request)
                .await
                .map_err(|e| qdrant_error("creating a payload index", e))?;
        }
        self.mark_ready(&collection);
        Ok(Some(collection))
    }
}

#[async_trait]
impl VectorStore for QdrantStore {
    fn backend(&self) -> &'static str {
        "qdrant"
    }

    async fn upsert(&self, model: &ModelInfo, points: &[VectorPoint]) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        for point in points {
            model.check_dimension(point.vector.len())?;
        }
        let Some(collection) = self.prepare(model, true).await? else {
            return Err(Error::Qdrant {
                operation: "creating the collection".into(),
                code: None,
                message: "the collection is still missing after creating it".into(),
            });
        };
        for request in upsert_points(&collection, points) {
            self.client
                .upsert_points(request)
                .await
                .map_err(|e| qdrant_error("upserting points", e))?;
        }
        Ok(())
    }

    async fn delete_repository(&self, model: &ModelInfo, repository: RepositoryId) -> Result<()> {
        let Some(collection) = self.prepare(model, false).await? else {
            return Ok(());
        };
        self.client
            .delete_points(delete_repository_request(&collection, repository))
            .await
            .map_err(|e| qdrant_error("deleting the repository's points", e))?;
        Ok(())
    }

    async fn delete_chunks(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
        content_hashes: &[String],
    ) -> Result<()> {
        if content_hashes.is_empty() {
            return Ok(());
        }
        let Some(collection) = self.prepare(model, false).await? else {
            return Ok(());
        };
        for request in delete_chunks_requests(&collection, repository, content_hashes) {
            self.client
                .delete_points(request)
                .await
                .map_err(|e| qdrant_error("deleting points", e))?;
        }
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
        if k == 0 {
            return Ok(Vec::new());
        }
        let Some(collection) = self.prepare(model, false).await? else {
            return Ok(Vec::new());
        };
        let Some(prefix) = filter.path_prefix.as_deref().filter(|p| !p.is_empty()) else {
            let request = search_request(&collection, query, filter, to_u64(k), 0);
            let response = self
                .client
                .query(request)
                .await
                .map_err(|e| qdrant_error("searching", e))?;
            return Ok(response.result.into_iter().filter_map(hit).collect());
        };

        let page = k.saturating_mul(PATH_OVERFETCH).clamp(64, MAX_PATH_SCAN);
        let mut hits = Vec::with_capacity(k);
        let mut offset = 0usize;
        while hits.len() < k && offset < MAX_PATH_SCAN {
            let request = search_request(&collection, query, filter, to_u64(page), to_u64(offset));
            let response = self
                .client
                .query(request)
                .await
                .map_err(|e| qdrant_error("searching", e))?;
            let returned = response.result.len();
            hits.extend(
                response
                    .result
                    .into_iter()
                    .filter(|point| payload_str(&point.payload, PATH).is_some_and(|p| p.starts_with(prefix)))
                    .filter_map(hit),
            );
            if returned < page {
                break;
            }
            offset += page;
        }
        hits.truncate(k);
        Ok(hits)
    }

    /// Scrolls through the repository's points page by page (see [`scroll_request`]), following
    /// each page's `next_page_offset` until there is none. Points without RepoSage's payload are
    /// skipped (logged).
    async fn repository_points(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
    ) -> Result<Vec<PointPayload>> {
        let Some(collection) = self.prepare(model, false).await? else {
            return Ok(Vec::new());
        };
        let mut points = Vec::new();
        let mut offset = None;
        loop {
            let response = self
                .client
                .scroll(scroll_request(&collection, repository, offset))
                .await
                .map_err(|e| qdrant_error("listing the repository's points", e))?;
            points.extend(response.result.into_iter().filter_map(point_payload));
            match response.next_page_offset {
                Some(next) => offset = Some(next),
                None => break,
            }
        }
        Ok(points)
    }

    async fn count(&self, model: &ModelInfo, repository: Option<RepositoryId>) -> Result<u64> {
        let Some(collection) = self.prepare(model, false).await? else {
            return Ok(0);
        };
        let response = self
            .client
            .count(count_request(&collection, repository))
            .await
            .map_err(|e| qdrant_error("counting points", e))?;
        Ok(response.result.map_or(0, |r| r.count))
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Lower-case ASCII letters and digits kept, every other run of characters one `_`, no `_` at
/// either end, at most 180 bytes (Qdrant allows 255 per name).
fn sanitise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out.truncate(180);
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// `{prefix}_{sanitised model id}_{dimension}`, e.g.
/// `reposage_sentence_transformers_all_minilm_l6_v2_384`. Two model ids that differ only in
/// punctuation or case share a name, which is why the dimension is part of it too.
pub fn collection_name(prefix: &str, model: &ModelInfo) -> String {
    format!("{}_{}_{}", sanitise(prefix), sanitise(&model.id), model.dimension)
}

/// The point id of a chunk: UUID v5 of `"{repository}/{content_hash}"` in [`POINT_NAMESPACE`].
pub fn point_id(repository: RepositoryId, content_hash: &str) -> Uuid {
    Uuid::new_v5(
        &POINT_NAMESPACE,
        format!("{repository}/{content_hash}").as_bytes(),
    )
}

fn qdrant_point_id(repository: RepositoryId, content_hash: &str) -> PointId {
    PointId::from(point_id(repository, content_hash).to_string())
}

/// The request creating a collection of `dimension`-long vectors compared by cosine.
fn create_collection_request(collection: &str, dimension: usize) -> Result<CreateCollection> {
    let size =
        u64::try_from(dimension).map_err(|_| Error::Config(format!("dimension {dimension} is too large")))?;
    Ok(CreateCollectionBuilder::new(collection)
        .vectors_config(VectorParamsBuilder::new(size, Distance::Cosine))
        .build())
}

/// The keyword payload index requests of a collection.
fn field_index_requests(collection: &str) -> Vec<CreateFieldIndexCollection> {
    INDEXED_FIELDS
        .iter()
        .map(|field| {
            CreateFieldIndexCollectionBuilder::new(collection, *field, FieldType::Keyword)
                .wait(true)
                .build()
        })
        .collect()
}

/// A point's payload.
fn payload(point: &VectorPoint) -> Payload {
    let mut payload = Payload::with_capacity(5);
    payload.insert(REPOSITORY_ID, point.repository.to_string());
    payload.insert(CONTENT_HASH, point.content_hash.clone());
    payload.insert(PATH, point.path.clone());
    if let Some(language) = &point.language {
        payload.insert(LANGUAGE, language.clone());
    }
    if let Some(kind) = &point.symbol_kind {
        payload.insert(SYMBOL_KIND, kind.clone());
    }
    payload
}

/// The upsert requests for `points`: [`UPSERT_BATCH`] per request, each waiting to be applied.
pub fn upsert_points(collection: &str, points: &[VectorPoint]) -> Vec<UpsertPoints> {
    points
        .chunks(UPSERT_BATCH)
        .map(|batch| {
            let structs: Vec<PointStruct> = batch
                .iter()
                .map(|point| {
                    PointStruct::new(
                        qdrant_point_id(point.repository, &point.content_hash),
                        point.vector.clone(),
                        payload(point),
                    )
                })
                .collect();
            UpsertPointsBuilder::new(collection, structs).wait(true).build()
        })
        .collect()
}

/// The filter of one repository's points: `repository_id` is `repository`.
fn repository_filter(repository: RepositoryId) -> Filter {
    Filter::must([Condition::matches(REPOSITORY_ID, repository.to_string())])
}

/// Deleting every point of `repository` (by filter on `repository_id`).
pub fn delete_repository_request(collection: &str, repository: RepositoryId) -> DeletePoints {
    DeletePointsBuilder::new(collection)
        .points(repository_filter(repository))
        .wait(true)
        .build()
}

/// Deleting the points of `repository` with these content hashes (by id), [`DELETE_BATCH`] per
/// request.
pub fn delete_chunks_requests(
    collection: &str,
    repository: RepositoryId,
    content_hashes: &[String],
) -> Vec<DeletePoints> {
    content_hashes
        .chunks(DELETE_BATCH)
        .map(|batch| {
            let ids: Vec<PointId> = batch
                .iter()
                .map(|hash| qdrant_point_id(repository, hash))
                .collect();
            DeletePointsBuilder::new(collection)
                .points(PointsIdsList { ids })
                .wait(true)
                .build()
        })
        .collect()
}

/// The Qdrant filter of a [`VectorFilter`]: `must` hold `repository_id` ∈ repositories (left out
/// only when the list is empty: every repository), `language` ∈ languages and `symbol_kind` ∈
/// symbol kinds when given. The path prefix is not in it (see the module documentation).
pub fn filter(filter: &VectorFilter) -> Filter {
    let VectorFilter {
        repositories,
        languages,
        path_prefix: _,
        symbol_kinds,
    } = filter;
    let mut must = Vec::new();
    if !repositories.is_empty() {
        let ids: Vec<String> = repositories.iter().map(ToString::to_string).collect();
        must.push(Condition::matches(REPOSITORY_ID, ids));
    }
    if !languages.is_empty() {
        must.push(Condition::matches(LANGUAGE, languages.clone()));
    }
    if !symbol_kinds.is_empty() {
        must.push(Condition::matches(SYMBOL_KIND, symbol_kinds.clone()));
    }
    Filter::must(must)
}

/// The query for the `limit` points nearest to `query` that pass `vector_filter`, skipping
/// `offset`, with the payload fields a hit needs.
pub fn search_request(
    collection: &str,
    query: &[f32],
    vector_filter: &VectorFilter,
    limit: u64,
    offset: u64,
) -> QueryPoints {
    let mut builder = QueryPointsBuilder::new(collection)
        .query(query.to_vec())
        .filter(filter(vector_filter))
        .limit(limit)
        .with_payload(PayloadIncludeSelector {
            fields: vec![REPOSITORY_ID.into(), CONTENT_HASH.into(), PATH.into()],
        });
    if offset > 0 {
        builder = builder.offset(offset);
    }
    builder.build()
}

/// Counting the points (of one repository), exactly.
pub fn count_request(collection: &str, repository: Option<RepositoryId>) -> CountPoints {
    let builder = CountPointsBuilder::new(collection).exact(true);
    match repository {
        Some(repository) => builder.filter(repository_filter(repository)).build(),
        None => builder.build(),
    }
}

/// One page of the listing of `repository`'s points: [`SCROLL_PAGE`] points from `offset` (the
/// previous page's `next_page_offset`; the first page without), with the payload fields of a
/// [`PointPayload`] and no vectors.
pub fn scroll_request(collection: &str, repository: RepositoryId, offset: Option<PointId>) -> ScrollPoints {
    let mut builder = ScrollPointsBuilder::new(collection)
        .filter(repository_filter(repository))
        .limit(SCROLL_PAGE)
        .with_payload(PayloadIncludeSelector {
            fields: vec![
                CONTENT_HASH.into(),
                PATH.into(),
                LANGUAGE.into(),
                SYMBOL_KIND.into(),
            ],
        })
        .with_vectors(false);
    if let Some(offset) = offset {
        builder = builder.offset(offset);
    }
    builder.build()
}

fn payload_str<'a>(payload: &'a HashMap<String, Value>, key: &str) -> Option<&'a str> {
    payload
        .get(key)
        .and_then(|value| value.as_str())
        .map(String::as_str)
}

/// The payload of a listed point; `None` (logged) for a point without RepoSage's `content_hash`
/// and `path`.
fn point_payload(point: RetrievedPoint) -> Option<PointPayload> {
    let payload = &point.payload;
    match (payload_str(payload, CONTENT_HASH), payload_str(payload, PATH)) {
        (Some(content_hash), Some(path)) => Some(PointPayload {
            content_hash: content_hash.to_string(),
            path: path.to_string(),
            language: payload_str(payload, LANGUAGE).map(String::from),
            symbol_kind: payload_str(payload, SYMBOL_KIND).map(String::from),
        }),
        _ => {
            tracing::warn!(id = ?point.id, "Qdrant point without content_hash/path payload skipped");
            None
        }
    }
}

/// A hit from a returned point; `None` (logged) for a point without RepoSage's payload.
fn hit(point: ScoredPoint) -> Option<VectorHit> {
    let repository = payload_str(&point.payload, REPOSITORY_ID).and_then(|id| id.parse().ok());
    let content_hash = payload_str(&point.payload, CONTENT_HASH);
    match (repository, content_hash) {
        (Some(repository), Some(content_hash)) => Some(VectorHit {
            repository,
            content_hash: content_hash.to_string(),
            score: point.score,
        }),
        _ => {
            tracing::warn!(id = ?point.id, "Qdrant point without repository_id/content_hash payload skipped");
            None
        }
    }
}

/// An [`Error::Qdrant`] saying what failed and Qdrant's code and message (redacted).
fn qdrant_error(context: &str, error: QdrantError) -> Error {
    let (code, message) = match &error {
        QdrantError::ResponseError { status } => {
            (Some(format!("{:?}", status.code())), status.message().to_string())
        }
        QdrantError::ResourceExhaustedError {
            status,
            retry_after_seconds,
        } => (
            Some(format!("{:?}", status.code())),
            format!("{} (retry after {retry_after_seconds} s)", status.message()),
        ),
        other => (None, other.to_string()),
    };
    Error::Qdrant {
        operation: context.to_string(),
        code,
        message: crate::secrets::redact(&message).text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use qdrant_client::qdrant::{
        PointsSelector, condition::ConditionOneOf, r#match::MatchValue, point_id::PointIdOptions,
        points_selector::PointsSelectorOneOf, vectors_config, with_payload_selector::SelectorOptions,
        with_vectors_selector,
    };

    use super::*;

    fn model() -> ModelInfo {
        ModelInfo {
            id: "sentence-transformers/all-MiniLM-L6-v2".into(),
            dimension: 3,
            max_tokens: 256,
        }
    }

    fn repo(n: u128) -> RepositoryId {
        RepositoryId(Uuid::from_u128(n))
    }

    fn point(repository: RepositoryId, hash: &str) -> VectorPoint {
        VectorPoint {
            repository,
            content_hash: hash.into(),
            vector: vec![1.0, 0.0, 0.0],
            language: Some("rust".into()),
            path: "src/lib.rs".into(),
            symbol_kind: None,
        }
    }

    /// The keyword values a field condition matches.
    fn keywords(condition: &Condition) -> (String, Vec<String>) {
        match &condition.condition_one_of {
            Some(ConditionOneOf::Field(field)) => {
                let values = match field.r#match.as_ref().and_then(|m| m.match_value.as_ref()) {
                    Some(MatchValue::Keyword(k)) => vec![k.clone()],
                    Some(MatchValue::Keywords(list)) => list.strings.clone(),
                    other => panic!("unexpected match {other:?}"),
                };
                (field.key.clone(), values)
            }
            other => panic!("unexpected condition {other:?}"),
        }
    }

    #[test]
    fn the_point_namespace_is_the_documented_v5_uuid() {
        assert_eq!(
            POINT_NAMESPACE,
            Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://reposage.dev/qdrant/point")
        );
    }

    #[test]
    fn point_ids_are_deterministic_per_repository_and_hash() {
        let a = point_id(repo(1), "abc");
        assert_eq!(a, point_id(repo(1), "abc"));
        assert_eq!(a.get_version_num(), 5);
        assert_ne!(a, point_id(repo(2), "abc"));
        assert_ne!(a, point_id(repo(1), "abd"));
        assert_eq!(
            a,
            Uuid::new_v5(&POINT_NAMESPACE, b"00000000-0000-0000-0000-000000000001/abc")
        );
    }

    #[test]
    fn collection_names_are_sanitised_and_carry_the_dimension() {
        assert_eq!(
            collection_name("reposage", &model()),
            "reposage_sentence_transformers_all_minilm_l6_v2_3"
        );
        let odd = ModelInfo {
            id: "openai/text-embedding-3-small@256".into(),
            dimension: 256,
            max_tokens: 8191,
        };
        assert_eq!(
            collection_name("Team A!", &odd),
            "team_a_openai_text_embedding_3_small_256_256"
        );
        let long = ModelInfo {
            id: "x".repeat(1000),
            ..model()
        };
        assert!(collection_name("reposage", &long).len() <= 255);
        assert_eq!(sanitise("__Ünïcode//model__"), "n_code_model");
    }

    #[test]
    fn new_collections_use_cosine_and_index_the_filtered_fields() {
        let request = create_collection_request("c", 384).expect("request");
        assert_eq!(request.collection_name, "c");
        match request.vectors_config.and_then(|c| c.config) {
            Some(vectors_config::Config::Params(params)) => {
                assert_eq!(params.size, 384);
                assert_eq!(params.distance, Distance::Cosine as i32);
            }
            other => panic!("unexpected vectors config {other:?}"),
        }
        let indexes = field_index_requests("c");
        let fields: Vec<_> = indexes.iter().map(|r| r.field_name.as_str()).collect();
        assert_eq!(fields, vec!["repository_id", "language", "symbol_kind"]);
        assert!(
            indexes
                .iter()
                .all(|r| r.wait == Some(true) && r.field_type == Some(FieldType::Keyword as i32))
        );
    }

    #[test]
    fn upserts_wait_are_batched_and_carry_the_payload() {
        let points: Vec<VectorPoint> = (0..600).map(|i| point(repo(7), &format!("hash{i}"))).collect();
        let requests = upsert_points("c", &points);
        assert_eq!(
            requests.iter().map(|r| r.points.len()).collect::<Vec<_>>(),
            vec![256, 256, 88]
        );
        assert!(
            requests
                .iter()
                .all(|r| r.wait == Some(true) && r.collection_name == "c")
        );
        let first = &requests[0].points[0];
        assert_eq!(
            first.id.as_ref().and_then(|id| id.point_id_options.clone()),
            Some(PointIdOptions::Uuid(point_id(repo(7), "hash0").to_string()))
        );
        let str_of = |key: &str| first.payload.get(key).and_then(|v| v.as_str()).cloned();
        assert_eq!(str_of("repository_id"), Some(repo(7).to_string()));
        assert_eq!(str_of("content_hash"), Some("hash0".into()));
        assert_eq!(str_of("language"), Some("rust".into()));
        assert_eq!(str_of("path"), Some("src/lib.rs".into()));
        assert_eq!(str_of("symbol_kind"), None, "absent, not null");
        assert!(upsert_points("c", &[]).is_empty());
    }

    #[test]
    fn the_filter_holds_every_restriction_as_match_any_conditions() {
        let vector_filter = VectorFilter {
            repositories: vec![repo(1), repo(2)],
            languages: vec!["rust".into(), "go".into()],
            path_prefix: Some("src/".into()),
            symbol_kinds: vec!["function".into()],
        };
        let built = filter(&vector_filter);
        assert!(built.should.is_empty() && built.must_not.is_empty());
        let conditions: Vec<_> = built.must.iter().map(keywords).collect();
        assert_eq!(
            conditions,
            vec![
                (
                    "repository_id".into(),
                    vec![repo(1).to_string(), repo(2).to_string()]
                ),
                ("language".into(), vec!["rust".into(), "go".into()]),
                ("symbol_kind".into(), vec!["function".into()]),
            ]
        );
        // No repositories: every repository, and nothing else restricted.
        assert!(filter(&VectorFilter::default()).must.is_empty());
    }

    #[test]
    fn search_requests_carry_the_filter_limit_offset_and_needed_payload() {
        let vector_filter = VectorFilter {
            repositories: vec![repo(3)],
            ..VectorFilter::default()
        };
        let request = search_request("c", &[0.1, 0.2, 0.3], &vector_filter, 10, 0);
        assert_eq!(request.collection_name, "c");
        assert_eq!(request.limit, Some(10));
        assert_eq!(request.offset, None);
        assert_eq!(request.filter, Some(filter(&vector_filter)));
        let query = format!("{:?}", request.query);
        assert!(query.contains("0.1") && query.contains("0.3"), "{query}");
        match request.with_payload.and_then(|p| p.selector_options) {
            Some(SelectorOptions::Include(include)) => {
                assert_eq!(include.fields, vec!["repository_id", "content_hash", "path"])
            }
            other => panic!("unexpected payload selector {other:?}"),
        }
        let paged = search_request("c", &[0.1, 0.2, 0.3], &vector_filter, 80, 160);
        assert_eq!(paged.offset, Some(160));
    }

    #[test]
    fn deletes_wait_and_target_the_repository_or_its_point_ids() {
        let by_repo = delete_repository_request("c", repo(4));
        assert_eq!(by_repo.wait, Some(true));
        match by_repo
            .points
            .and_then(|p: PointsSelector| p.points_selector_one_of)
        {
            Some(PointsSelectorOneOf::Filter(f)) => assert_eq!(
                f.must.iter().map(keywords).collect::<Vec<_>>(),
                vec![("repository_id".into(), vec![repo(4).to_string()])]
            ),
            other => panic!("unexpected selector {other:?}"),
        }
        let hashes: Vec<String> = (0..1500).map(|i| format!("h{i}")).collect();
        let requests = delete_chunks_requests("c", repo(4), &hashes);
        assert_eq!(requests.len(), 2);
        match requests[0].points.clone().and_then(|p| p.points_selector_one_of) {
            Some(PointsSelectorOneOf::Points(list)) => {
                assert_eq!(list.ids.len(), DELETE_BATCH);
                assert_eq!(
                    list.ids[0].point_id_options,
                    Some(PointIdOptions::Uuid(point_id(repo(4), "h0").to_string()))
                );
            }
            other => panic!("unexpected selector {other:?}"),
        }
    }

    #[test]
    fn counts_are_exact_and_filtered_by_repository_when_asked() {
        let all = count_request("c", None);
        assert_eq!(all.exact, Some(true));
        assert_eq!(all.filter, None);
        let one = count_request("c", Some(repo(5)));
        assert_eq!(one.exact, Some(true));
        assert_eq!(
            one.filter
                .map(|f| f.must.iter().map(keywords).collect::<Vec<_>>()),
            Some(vec![("repository_id".into(), vec![repo(5).to_string()])])
        );
    }

    #[test]
    fn listing_scrolls_one_repository_by_pages_of_payload_without_vectors() {
        let first = scroll_request("c", repo(6), None);
        assert_eq!(first.collection_name, "c");
        assert_eq!(
            first
                .filter
                .map(|f| f.must.iter().map(keywords).collect::<Vec<_>>()),
            Some(vec![("repository_id".into(), vec![repo(6).to_string()])])
        );
        assert_eq!(first.limit, Some(SCROLL_PAGE));
        assert_eq!(first.offset, None, "the first page starts at the beginning");
        assert_eq!(
            first.with_vectors.and_then(|v| v.selector_options),
            Some(with_vectors_selector::SelectorOptions::Enable(false))
        );
        match first.with_payload.and_then(|p| p.selector_options) {
            Some(SelectorOptions::Include(include)) => assert_eq!(
                include.fields,
                vec!["content_hash", "path", "language", "symbol_kind"]
            ),
            other => panic!("unexpected payload selector {other:?}"),
        }
        // The next page starts at the previous page's `next_page_offset`.
        let next = qdrant_point_id(repo(6), "h1024");
        let second = scroll_request("c", repo(6), Some(next.clone()));
        assert_eq!(second.offset, Some(next));
        assert_eq!(second.limit, Some(SCROLL_PAGE));
    }

    #[test]
    fn listed_points_are_read_from_the_payload_and_foreign_points_skipped() {
        let mut listed = point(repo(8), "hh");
        listed.symbol_kind = Some("function".into());
        let retrieved = RetrievedPoint {
            id: Some(qdrant_point_id(repo(8), "hh")),
            payload: payload(&listed).into(),
            ..RetrievedPoint::default()
        };
        assert_eq!(point_payload(retrieved), Some(listed.payload()));
        // Absent language and kind stay absent.
        let mut bare = point(repo(8), "h2");
        bare.language = None;
        let retrieved = RetrievedPoint {
            payload: payload(&bare).into(),
            ..RetrievedPoint::default()
        };
        assert_eq!(
            point_payload(retrieved),
            Some(PointPayload {
                content_hash: "h2".into(),
                path: "src/lib.rs".into(),
                language: None,
                symbol_kind: None,
            })
        );
        let mut foreign = HashMap::new();
        foreign.insert("content_hash".to_string(), "h3".into());
        let retrieved = RetrievedPoint {
            payload: foreign,
            ..RetrievedPoint::default()
        };
        assert_eq!(point_payload(retrieved), None, "no path");
    }

    #[test]
    fn hits_are_read_from_the_payload_and_foreign_points_skipped() {
        let mut payload = std::collections::HashMap::new();
        payload.insert("repository_id".to_string(), repo(9).to_string().into());
        payload.insert("content_hash".to_string(), "hh".into());
        let good = ScoredPoint {
            payload: payload.clone(),
            score: 0.5,
            ..ScoredPoint::default()
        };
        assert_eq!(
            hit(good),
            Some(VectorHit {
                repository: repo(9),
                content_hash: "hh".into(),
                score: 0.5
            })
        );
        payload.insert("repository_id".to_string(), "not-a-uuid".into());
        let bad = ScoredPoint {
            payload,
            ..ScoredPoint::default()
        };
        assert_eq!(hit(bad), None);
    }

    #[test]
    fn the_config_debug_hides_the_api_key() {
        let config = QdrantConfig {
            api_key: Some("qdrant-secret-key-value".into()),
            ..QdrantConfig::new("https://xyz.cloud.qdrant.io:6334")
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("qdrant-secret-key-value"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }
}
