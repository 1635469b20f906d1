//! RepoSage's assistant: answers questions about indexed repositories.
#![warn(missing_docs)]
