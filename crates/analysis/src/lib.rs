//! Repository analysis: fetching with git2, walking the tree of one commit straight from the object
//! database, and classifying every entry (language, line counts, or the reason it is skipped).
//!
//! A repository is hostile input. Nothing here checks out a worktree, follows a symlink, runs a hook
//! or a filter, or spawns the git CLI; every path is confined to the repository root.

#![warn(missing_docs)]

pub mod chunk;
pub mod classify;
pub mod code;
mod error;
pub mod fetch;
pub mod known_hosts;
pub mod language;
pub mod lines;
pub mod metadata;
pub mod tree;
pub mod url_policy;

pub use classify::{Classifier, SkipReason};
pub use error::{Error, Result};
pub use fetch::{Checkout, Credentials, FetchOptions, RefRequest, Source, open_or_fetch};
pub use language::Language;
pub use lines::LineStats;
pub use tree::{EntryKind, TreeEntry};
pub use url_policy::UrlPolicy;
