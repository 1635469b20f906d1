//! reposage-llm's integration tests: one binary, a module per backend.

mod local;
mod openai;
