//! The `AnalysisQuery` kind: a question about a Repository, answered with citations.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Longest question accepted, in bytes.
pub const MAX_QUESTION_BYTES: usize = 4096;
/// Default number of chunks retrieved to answer a question.
pub const DEFAULT_TOP_K: u32 = 8;
/// Most chunks one question may retrieve.
pub const MAX_TOP_K: u32 = 50;

/// A question about a Repository. The operator answers it with a Job once the Repository is indexed
/// and writes the answer, with citations pinned to the indexed commit, into the status.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "reposage.dev",
    version = "v1alpha1",
    kind = "AnalysisQuery",
    plural = "analysisqueries",
    namespaced,
    status = "AnalysisQueryStatus",
    shortname = "aq",
    category = "reposage",
    doc = "A question about a Repository, answered with citations pinned to the indexed commit.",
    printcolumn(name = "Repository", type_ = "string", json_path = ".spec.repositoryRef.name"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Revision", type_ = "string", json_path = ".status.answeredRevision"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisQuerySpec {
    /// The Repository (same namespace) the question is about.
    pub repository_ref: RepositoryReference,

    /// The question, in natural language (at most 4096 bytes).
    #[schemars(length(min = 1, max = 4096))]
    pub question: String,

    /// How many code chunks to retrieve as context for the answer (1 to 50). Defaults to 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50))]
    pub top_k: Option<u32>,

    /// When to answer again: `OnNewRevision` (default) re-answers after the Repository indexes a new
    /// revision; `Never` keeps the first answer.
    #[serde(default)]
    pub refresh: RefreshPolicy,
}

/// A reference to a Repository in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryReference {
    /// Name of the Repository.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// When an answered query is answered again.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RefreshPolicy {
    /// Answer again whenever the Repository's indexed revision changes.
    #[default]
    OnNewRevision,
    /// Answer once and keep that answer.
    Never,
}

/// Observed state of an AnalysisQuery, written by the operator only.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisQueryStatus {
    /// The `metadata.generation` whose outcome the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Ready`, `Reconciling` and `Stalled` conditions (kstatus conventions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,

    /// The answer, as plain text (Markdown allowed). Render it as text, never as HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,

    /// The code the answer stands on, pinned to the answered commit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,

    /// The Repository revision the answer was computed from, as `<ref>@sha1:<commit>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_revision: Option<String>,

    /// The model that wrote the answer, or `extractive` when no LLM is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,

    /// When the answer was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
}

/// A span of code an answer cites.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Citation {
    /// Path of the file, relative to the repository root.
    pub path: String,
    /// First cited line (1-based).
    pub start_line: u32,
    /// Last cited line (inclusive).
    pub end_line: u32,
    /// The commit the lines belong to.
    pub commit_sha: String,
    /// Retrieval score of the cited chunk (higher is better).
    pub score: f64,
}

impl AnalysisQuerySpec {
    /// The number of chunks to retrieve, with the default applied.
    pub fn top_k(&self) -> u32 {
        self.top_k.unwrap_or(DEFAULT_TOP_K)
    }

    /// Checks what the schema cannot express (or what a cluster without the schema let through).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.repository_ref.name.trim().is_empty() {
            return Err(ValidationError::new(
                "spec.repositoryRef.name",
                "must not be empty",
            ));
        }
        if self.question.trim().is_empty() {
            return Err(ValidationError::new("spec.question", "must not be empty"));
        }
        if self.question.len() > MAX_QUESTION_BYTES {
            return Err(ValidationError::new(
                "spec.question",
                format!(
                    "is {} bytes; at most {MAX_QUESTION_BYTES} are accepted",
                    self.question.len()
                ),
            ));
        }
        if !(1..=MAX_TOP_K).contains(&self.top_k()) {
            return Err(ValidationError::new(
                "spec.topK",
                format!("must be between 1 and {MAX_TOP_K}"),
            ));
        }
        Ok(())
    }
}
