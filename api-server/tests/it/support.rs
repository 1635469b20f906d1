//! Fixtures: seed the database exactly as the job-runner does, and drive the router in-process.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use reposage_api_server::{AppState, HttpLimits, app};
use reposage_store::{
    BlobRow, CommitSha, FileKind, FileRow, NewRepository, RefKind, RepositoryId, RunId, RunKind, RunOutcome,
    RunStats, StageStatus, Store,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// A response, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts an RFC 9457 problem document with this status and type slug; returns it.
    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, slug: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.content_type(), "application/problem+json", "{}", self.text);
        let problem = self.json();
        assert_eq!(
            problem["type"],
            format!("https://reposage.dev/problems/{slug}"),
            "{problem}"
        );
        assert_eq!(problem["status"], status.as_u16(), "{problem}");
        assert!(problem["title"].is_string(), "{problem}");
        assert!(problem["detail"].is_string(), "{problem}");
        problem
    }
}

pub fn state(store: Store) -> AppState {
    AppState::new(store)
}

pub async fn send(router: Router, request: Request<Body>) -> Answer {
    let response = router.oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
        .await
        .expect("a readable body");
    Answer {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).expect("a UTF-8 body"),
    }
}

pub async fn get(state: &AppState, uri: &str) -> Answer {
    let request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    send(app(state.clone()), request).await
}

/// A POST of `body` with `content_type` (none when `None`).
pub async fn post(state: &AppState, uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> Answer {
    let mut request = Request::builder().method(Method::POST).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    send(app(state.clone()), request.body(body.into()).unwrap()).await
}

/// A POST of a JSON document.
pub async fn post_json(state: &AppState, uri: &str, body: &Value) -> Answer {
    post(state, uri, Some("application/json"), body.to_string()).await
}

/// Default limits with a small body limit, for the 413 tests.
pub fn small_limits(max_body_bytes: usize) -> HttpLimits {
    HttpLimits {
        max_body_bytes,
        ..HttpLimits::default()
    }
}

/// A file of a seeded repository.
#[derive(Debug, Clone)]
pub enum SeedFile {
    /// An analysed text file.
    Text {
        path: &'static str,
        language: &'static str,
        content: String,
    },
    /// A skipped entry (its content never stored).
    Skipped {
        path: &'static str,
        reason: reposage_store::SkipReason,
    },
}

impl SeedFile {
    pub fn text(path: &'static str, language: &'static str, content: &str) -> Self {
        SeedFile::Text {
            path,
            language,
            content: content.to_string(),
        }
    }
}

/// What was seeded.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub repository: RepositoryId,
    pub run: RunId,
}

/// A 40-hex object id unique to this test run (blobs are shared across repositories by id).
fn object_id() -> String {
    format!("{}{:08x}", Uuid::new_v4().simple(), 0)
}

pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Registers a repository, runs a complete index run over `files` the way the job-runner does (start,
/// stage events, blobs, files, commit) and returns the ids.
pub async fn seed_indexed_repository(
    store: &Store,
    namespace: &str,
    name: &str,
    files: &[SeedFile],
) -> Seeded {
    let repository = RepositoryId::new_random();
    store
        .upsert_repository(&NewRepository {
            id: repository,
            namespace: namespace.to_string(),
            name: name.to_string(),
            url: format!("https://git.example.org/{namespace}/{name}.git"),
            git_ref: Some((RefKind::Branch, "main".to_string())),
        })
        .await
        .unwrap();
    let run = RunId::new_random();
    store
        .start_run(run, repository, RunKind::Index, Some("main"))
        .await
        .unwrap();
    let stages = ["fetch", "analyse", "persist"];
    for (i, stage) in stages.iter().enumerate() {
        store
            .record_event(run, stage, StageStatus::Started, json!({}), None, None)
            .await
            .unwrap();
        store
            .record_event(
                run,
                stage,
                StageStatus::Completed,
                json!({ "step": i }),
                Some(10 * (i as i64 + 1)),
                None,
            )
            .await
            .unwrap();
    }

    let mut blobs = Vec::new();
    let mut rows = Vec::new();
    let mut stats = RunStats::default();
    for file in files {
        stats.files += 1;
        match file {
            SeedFile::Text {
                path,
                language,
                content,
            } => {
                let sha = object_id();
                let lines = content.lines().count() as i32;
                blobs.push(BlobRow {
                    sha: sha.clone(),
                    content: content.clone(),
                });
                rows.push(FileRow {
                    path: path.to_string(),
                    kind: FileKind::File,
                    blob_sha: Some(sha),
                    language: Some(language.to_string()),
                    size_bytes: content.len() as i64,
                    lines,
                    code_lines: lines,
                    comment_lines: 0,
                    blank_lines: 0,
                    skip_reason: None,
                    symlink_target: None,
                });
                stats.analysed_files += 1;
                stats.changed_files += 1;
                stats.lines += lines as u64;
                stats.bytes += content.len() as u64;
                *stats.languages.entry(language.to_string()).or_default() += 1;
            }
            SeedFile::Skipped { path, reason } => {
                rows.push(FileRow {
                    path: path.to_string(),
                    kind: FileKind::File,
                    blob_sha: Some(object_id()),
                    language: None,
                    size_bytes: 4096,
                    lines: 0,
                    code_lines: 0,
                    comment_lines: 0,
                    blank_lines: 0,
                    skip_reason: Some(*reason),
                    symlink_target: None,
                });
                *stats.skipped.entry(reason.to_string()).or_default() += 1;
            }
        }
    }
    store.upsert_blobs(&blobs).await.unwrap();
    store
        .commit_index_run(
            run,
            repository,
            &rows,
            &[],
            &RunOutcome::Succeeded {
                resolved_ref: "main".to_string(),
                commit: CommitSha::parse(COMMIT).unwrap(),
                stats,
            },
        )
        .await
        .unwrap();
    Seeded { repository, run }
}

/// Registers a repository that has never run.
pub async fn seed_repository(store: &Store, namespace: &str, name: &str) -> RepositoryId {
    let id = RepositoryId::new_random();
    store
        .upsert_repository(&NewRepository {
            id,
            namespace: namespace.to_string(),
            name: name.to_string(),
            url: format!("https://git.example.org/{namespace}/{name}.git"),
            git_ref: None,
        })
        .await
        .unwrap();
    id
}
