//! Test fixtures: Repository builders, a mocked Kubernetes API server that checks each request
//! the reconciler makes, and run records seeded in Postgres the way the job-runner writes them.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use prometheus_client::registry::Registry;
use reposage_crd::{GitRef, REQUESTED_AT_ANNOTATION, Repository, RepositorySpec, RepositoryStatus};
use reposage_operator::{Context, FINALIZER, JobSettings, Metrics};
use reposage_store::{
    CommitSha, NewRepository, RefKind, RepositoryId, RunId, RunKind, RunOutcome, RunStats, Store,
};
use serde_json::{Value, json};
use tower_test::mock::{self, Handle, SendResponse};

/// Namespace of the test Repository.
pub const NAMESPACE: &str = "team-a";
/// Name of the test Repository.
pub const NAME: &str = "demo";
/// UID of the test Repository.
pub const UID: &str = "6f0c1b8e-4a7d-4c1e-9f3a-2b5d7e9c1a30";
/// The commit the seeded run indexed.
pub const SHA: &str = "4f2c9a1e0b7d3c5f8a6e2d4b1c9f7a3e5d8b0c2a";
/// Path of the test Repository.
pub const REPOSITORY_PATH: &str = "/apis/reposage.dev/v1alpha1/namespaces/team-a/repositories/demo";
/// Path of the Jobs in the test namespace.
pub const JOBS_PATH: &str = "/apis/batch/v1/namespaces/team-a/jobs";
/// Path events are posted to.
pub const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/team-a/events";
/// How long one expected request may take to arrive.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole reconciliation may take.
const RECONCILE_TIMEOUT: Duration = Duration::from_secs(15);

/// Builders for test Repositories.
pub trait RepositoryFixture: Sized {
    /// `team-a/demo`, generation 1, following branch `main` of an https URL, no finalizer.
    fn test() -> Self;
    /// With the operator's finalizer.
    fn finalized(self) -> Self;
    /// With `status`.
    fn with_status(self, status: RepositoryStatus) -> Self;
    /// With `reposage.dev/requestedAt` set to `value`.
    fn requested_at(self, value: &str) -> Self;
    /// At `generation`.
    fn at_generation(self, generation: i64) -> Self;
    /// Marked for deletion.
    fn deleting(self) -> Self;
}

impl RepositoryFixture for Repository {
    fn test() -> Self {
        let mut repo = Repository::new(
            NAME,
            RepositorySpec {
                url: "https://github.com/reposage/demo.git".into(),
                git_ref: Some(GitRef {
                    branch: Some("main".into()),
                    ..GitRef::default()
                }),
                interval: None,
                timeout: None,
                suspend: false,
                secret_ref: None,
                include: vec![],
                exclude: vec![],
                limits: None,
            },
        );
        repo.metadata.namespace = Some(NAMESPACE.into());
        repo.metadata.uid = Some(UID.into());
        repo.metadata.generation = Some(1);
        repo.metadata.resource_version = Some("100".into());
        repo
    }

    fn finalized(mut self) -> Self {
        self.finalizers_mut().push(FINALIZER.to_string());
        self
    }

    fn with_status(mut self, status: RepositoryStatus) -> Self {
        self.status = Some(status);
        self
    }

    fn requested_at(mut self, value: &str) -> Self {
        self.annotations_mut()
            .insert(REQUESTED_AT_ANNOTATION.into(), value.into());
        self
    }

    fn at_generation(mut self, generation: i64) -> Self {
        self.metadata.generation = Some(generation);
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(at(1_800_000_000)));
        self
    }
}

/// A fixed point in time (seconds since the epoch).
pub fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

/// The Repository's id in the database.
pub fn repository_id() -> RepositoryId {
    RepositoryId(UID.parse().unwrap())
}

/// Job settings as the defaults resolve them, with a test image and one allowed on-prem Git host.
pub fn settings() -> JobSettings {
    JobSettings {
        image: "ghcr.io/reposage/reposage-job-runner:test".into(),
        image_pull_policy: "IfNotPresent".into(),
        service_account: "reposage-job-runner".into(),
        database_secret_name: "reposage-database".into(),
        backoff_limit: 2,
        ttl_seconds_after_finished: 86_400,
        resources: ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".into(), Quantity("500m".into())),
                ("memory".into(), Quantity("512Mi".into())),
            ])),
            limits: Some(BTreeMap::from([
                ("cpu".into(), Quantity("2".into())),
                ("memory".into(), Quantity("2Gi".into())),
            ])),
            ..ResourceRequirements::default()
        },
        allowed_git_hosts: vec!["git.internal.example".into()],
        retrieval: reposage_operator::JobRetrieval {
            settings: reposage_contract::RetrievalSettings::lexical_only(),
            secrets: vec![],
        },
    }
}

/// A reconcile context on a mocked API server and the real database `pool`, and the verifier that
/// plays the API server.
pub fn context(store: Store) -> (Arc<Context>, ApiServerVerifier) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let metrics = Metrics::new(&mut Registry::default());
    let context = Context::new(client, store, settings(), metrics);
    (Arc::new(context), ApiServerVerifier(handle))
}

/// The index Job the operator builds for `repo`, as the API server returns it: with a uid and a
/// creation timestamp, and `status`.
pub fn existing_job(repo: &Repository, status: Option<JobStatus>) -> (Job, RunId) {
    let (mut job, run_id) = reposage_operator::build_index_job(repo, &settings()).unwrap();
    job.metadata.uid = Some("0b9e6a52-0000-4000-8000-000000000001".into());
    job.metadata.creation_timestamp = Some(Time(at(1_700_000_000)));
    job.status = status;
    (job, run_id)
}

/// A Job status with one true condition of `type_`.
pub fn job_status(type_: &str, reason: &str, message: &str) -> JobStatus {
    JobStatus {
        succeeded: (type_ == "Complete").then_some(1),
        failed: (type_ == "Failed").then_some(3),
        conditions: Some(vec![JobCondition {
            type_: type_.into(),
            status: "True".into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            ..JobCondition::default()
        }]),
        ..JobStatus::default()
    }
}

/// Seeds the repository row and run `run_id` as the job-runner writes them when it starts.
pub async fn seed_started_run(store: &Store, run_id: RunId) {
    store
        .upsert_repository(&NewRepository {
            id: repository_id(),
            namespace: NAMESPACE.into(),
            name: NAME.into(),
            url: "https://github.com/reposage/demo.git".into(),
            git_ref: Some((RefKind::Branch, "main".into())),
        })
        .await
        .unwrap();
    store
        .start_run(run_id, repository_id(), RunKind::Index, Some("main"))
        .await
        .unwrap();
}

/// Seeds run `run_id` finished with `outcome`, as the job-runner writes it.
pub async fn seed_finished_run(store: &Store, run_id: RunId, outcome: RunOutcome) {
    seed_started_run(store, run_id).await;
    store.finish_run(run_id, &outcome).await.unwrap();
}

/// A successful outcome: three files of Rust and Markdown at [`SHA`] on `main`.
pub fn succeeded_outcome() -> RunOutcome {
    RunOutcome::Succeeded {
        resolved_ref: "main".into(),
        commit: CommitSha::parse(SHA).unwrap(),
        stats: RunStats {
            files: 3,
            analysed_files: 3,
            changed_files: 3,
            lines: 120,
            bytes: 4_096,
            symbols: 17,
            chunks: 9,
            languages: BTreeMap::from([("Markdown".into(), 1), ("Rust".into(), 2)]),
            ..RunStats::default()
        },
    }
}

/// Runs `reconcile` for `repo` while `script` plays the API server, then checks that no request
/// is left unanswered. A failed expectation in the script fails the test with its own message.
pub async fn reconcile_with<F, Fut>(
    context: Arc<Context>,
    verifier: ApiServerVerifier,
    repo: Repository,
    script: F,
) -> (reposage_operator::Result<Action>, ApiServerVerifier)
where
    F: FnOnce(ApiServerVerifier) -> Fut,
    Fut: Future<Output = ApiServerVerifier> + Send + 'static,
{
    let scenario = tokio::spawn(script(verifier));
    let reconciled = tokio::time::timeout(
        RECONCILE_TIMEOUT,
        reposage_operator::reconcile(Arc::new(repo), context),
    );
    let (result, scenario) = tokio::join!(reconciled, scenario);
    let mut verifier = match scenario {
        Ok(verifier) => verifier,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };
    match result {
        Ok(result) => {
            verifier.expect_no_request().await;
            (result, verifier)
        }
        Err(_) => match verifier.try_next().await {
            Some((request, _)) => panic!(
                "reconcile made an unexpected request: {} {}",
                request.method(),
                request.uri()
            ),
            None => panic!("reconcile did not finish and made no further request"),
        },
    }
}

/// A request as the mocked API server received it.
#[derive(Debug)]
pub struct Received {
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body as JSON (`Null` when empty).
    pub body: Value,
}

/// Plays the Kubernetes API server: each `expect` awaits the next request, checks its method, path
/// and query, and hands back its body and a way to answer.
#[derive(Debug)]
pub struct ApiServerVerifier(pub Handle<Request<Body>, Response<Body>>);

/// Answers one request.
#[derive(Debug)]
pub struct Responder(SendResponse<Response<Body>>);

impl Responder {
    /// Answers with `status` and `body` as JSON.
    pub fn json(self, status: StatusCode, body: &impl serde::Serialize) {
        let response = Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap();
        self.0.send_response(response);
    }

    /// Answers 200 with `body`.
    pub fn ok(self, body: &impl serde::Serialize) {
        self.json(StatusCode::OK, body);
    }

    /// Answers 201 with `body`.
    pub fn created(self, body: &impl serde::Serialize) {
        self.json(StatusCode::CREATED, body);
    }

    /// Answers 404 with a `Status` naming the missing object.
    pub fn not_found(self, resource: &str, name: &str) {
        self.json(
            StatusCode::NOT_FOUND,
            &json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("{resource} \"{name}\" not found"), "reason": "NotFound",
                "details": {"name": name, "kind": resource}, "code": 404
            }),
        );
    }

    /// Answers 500 with a `Status`.
    pub fn internal_error(self) {
        self.json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "etcdserver: request timed out", "reason": "InternalError", "code": 500
            }),
        );
    }
}

impl ApiServerVerifier {
    /// The next request, if one arrives soon.
    async fn try_next(&mut self) -> Option<(Request<Body>, SendResponse<Response<Body>>)> {
        tokio::time::timeout(STEP_TIMEOUT, self.0.next_request())
            .await
            .ok()
            .flatten()
    }

    /// Awaits the next request and checks it is `method path` with exactly the `query` pairs
    /// (decoded, in any order).
    pub async fn expect(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> (Received, Responder) {
        let (request, send) = self
            .try_next()
            .await
            .unwrap_or_else(|| panic!("expected {method} {path}, but no request came"));
        let uri = request.uri().clone();
        assert_eq!(
            (request.method(), uri.path()),
            (&method, path),
            "unexpected request {} {uri}",
            request.method()
        );
        let mut actual: Vec<(String, String)> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        let mut expected: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        actual.sort();
        expected.sort();
        assert_eq!(actual, expected, "query of {method} {uri}");
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("request body is JSON")
        };
        (Received { content_type, body }, Responder(send))
    }

    /// Checks that no request arrives for a short while.
    pub async fn expect_no_request(&mut self) {
        if let Ok(Some((request, _))) =
            tokio::time::timeout(Duration::from_millis(200), self.0.next_request()).await
        {
            panic!("unexpected request {} {}", request.method(), request.uri());
        }
    }

    /// The JSON patch adding the finalizer to a Repository without finalizers; answers with the
    /// finalized Repository.
    pub async fn handle_finalizer_added(mut self, repo: Repository) -> Self {
        let (request, respond) = self.expect(Method::PATCH, REPOSITORY_PATH, &[]).await;
        assert_eq!(
            request.content_type.as_deref(),
            Some("application/json-patch+json")
        );
        assert_eq!(
            request.body,
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
            ])
        );
        respond.ok(&repo.finalized());
        self
    }

    /// The GET of Job `name`; answers with `job`, or 404 when `None`.
    pub async fn handle_job_get(mut self, name: &str, job: Option<&Job>) -> Self {
        let (_, respond) = self
            .expect(Method::GET, &format!("{JOBS_PATH}/{name}"), &[])
            .await;
        match job {
            Some(job) => respond.ok(job),
            None => respond.not_found("jobs.batch", name),
        }
        self
    }

    /// The server-side apply creating `expected`; answers with it as created.
    pub async fn handle_job_apply(mut self, expected: &Job) -> Self {
        let name = expected.name_any();
        let (request, respond) = self
            .expect(
                Method::PATCH,
                &format!("{JOBS_PATH}/{name}"),
                &[("fieldManager", "reposage-operator"), ("force", "true")],
            )
            .await;
        assert_eq!(
            request.content_type.as_deref(),
            Some("application/apply-patch+yaml")
        );
        assert_eq!(request.body["apiVersion"], "batch/v1");
        assert_eq!(request.body["kind"], "Job");
        assert_eq!(request.body, serde_json::to_value(expected).unwrap());
        let mut created = expected.clone();
        created.metadata.uid = Some("0b9e6a52-0000-4000-8000-000000000002".into());
        created.metadata.creation_timestamp = Some(Time(at(1_700_000_100)));
        respond.ok(&created);
        self
    }

    /// The server-side apply of the Repository's status; returns the applied status and answers
    /// with `repo` carrying it.
    pub async fn handle_status_apply(mut self, repo: &Repository) -> (Self, RepositoryStatus) {
        let (request, respond) = self
            .expect(
                Method::PATCH,
                &format!("{REPOSITORY_PATH}/status"),
                &[("fieldManager", "reposage-operator"), ("force", "true")],
            )
            .await;
        assert_eq!(
            request.content_type.as_deref(),
            Some("application/apply-patch+yaml")
        );
        assert_eq!(request.body["apiVersion"], "reposage.dev/v1alpha1");
        assert_eq!(request.body["kind"], "Repository");
        assert_eq!(
            request.body.as_object().unwrap().len(),
            3,
            "only apiVersion, kind and status are applied: {}",
            request.body
        );
        let status: RepositoryStatus = serde_json::from_value(request.body["status"].clone()).unwrap();
        let mut updated = repo.clone();
        updated.status = Some(status.clone());
        respond.ok(&updated);
        (self, status)
    }

    /// The event posted about the Repository; checks its type and reason and returns its note.
    pub async fn handle_event(mut self, type_: &str, reason: &str) -> (Self, String) {
        let (request, respond) = self.expect(Method::POST, EVENTS_PATH, &[]).await;
        let event = &request.body;
        assert_eq!(event["type"], type_, "{event}");
        assert_eq!(event["reason"], reason, "{event}");
        assert_eq!(event["regarding"]["kind"], "Repository");
        assert_eq!(event["regarding"]["name"], NAME);
        assert_eq!(event["regarding"]["uid"], UID);
        assert_eq!(event["reportingController"], "reposage-operator");
        let note = event["note"].as_str().unwrap_or_default().to_string();
        respond.created(event);
        (self, note)
    }

    /// The DELETE of every Job of the Repository, by its uid label, in the background.
    pub async fn handle_jobs_deleted(mut self) -> Self {
        let selector = format!("reposage.dev/repository-uid={UID}");
        let (request, respond) = self
            .expect(Method::DELETE, JOBS_PATH, &[("labelSelector", &selector)])
            .await;
        assert_eq!(request.body["propagationPolicy"], "Background");
        respond.ok(&json!({
            "apiVersion": "batch/v1", "kind": "JobList", "metadata": {"resourceVersion": "200"}, "items": []
        }));
        self
    }

    /// Awaits the JSON patch removing the finalizer and checks it; the caller answers.
    pub async fn expect_finalizer_removal(&mut self) -> Responder {
        let (request, respond) = self.expect(Method::PATCH, REPOSITORY_PATH, &[]).await;
        assert_eq!(
            request.content_type.as_deref(),
            Some("application/json-patch+json")
        );
        assert_eq!(
            request.body,
            json!([
                {"op": "test", "path": "/metadata/finalizers/0", "value": FINALIZER},
                {"op": "remove", "path": "/metadata/finalizers/0"},
            ])
        );
        respond
    }

    /// The JSON patch removing the finalizer; answers with the Repository without it.
    pub async fn handle_finalizer_removed(mut self, repo: &Repository) -> Self {
        let respond = self.expect_finalizer_removal().await;
        respond.ok(&without_finalizer(repo));
        self
    }
}

/// `repo` as the API server returns it once the finalizer is removed.
pub fn without_finalizer(repo: &Repository) -> Repository {
    let mut removed = repo.clone();
    removed.finalizers_mut().clear();
    removed
}

/// Decodes `%XX` escapes and `+` of a query component.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}
