//! Integration tests of the API server against a real Postgres (`DATABASE_URL`); `#[sqlx::test]`
//! creates a fresh, migrated database per test.

mod chat;
mod errors;
mod health;
mod repositories;
mod search;
mod support;
