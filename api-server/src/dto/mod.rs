//! The API's wire format: every JSON document the API server answers (problem documents aside,
//! which are [`reposage_runtime::http::Problem`]) is a type of this module.
//!
//! These types are the public contract, and the OpenAPI description is generated from them. Each
//! maps from a library type (a store record, a retrieval result) field by field with an exhaustive
//! destructuring, so a field added below shows up here as a compile error, never silently on the
//! wire; the database schema and the libraries may change without the API changing.

mod code_metrics;
mod conversations;
mod overview;
mod repositories;
mod runs;
mod search;

use serde::Serialize;

pub use code_metrics::{CodeMetrics, ComplexityDistribution, Hotspot, TechnicalDebt};
pub use conversations::{
    Answer, AnswerTimings, Citation, ContextEvent, ContextItem, Conversation, ConversationDetail,
    ConversationPage, DeltaEvent, Done, FoundBy, Message, RejectedCitations, Searched, ToolEvent, Usage,
    limit_name,
};
pub use overview::{Dependency, KubernetesObject, License, Manifest, Overview, ProjectFile, Readme};
pub use repositories::{FileCounts, GitRef, Repository, RepositoryDetail};
pub use runs::{Event, Kind, Run, Stats, Status};
pub use search::{Explanation, RankScore, SearchHit, SearchResults, SnippetLine, Timings};

/// `{"items": [...]}`.
#[derive(Debug, Serialize)]
pub struct List<T> {
    /// The items.
    pub items: Vec<T>,
}
