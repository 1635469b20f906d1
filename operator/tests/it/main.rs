//! Integration tests of the operator: reconcile scenarios against a mocked Kubernetes API server
//! and a real Postgres (`DATABASE_URL`, e.g. `postgres://postgres@127.0.0.1:5432/postgres`; each
//! test gets a fresh database), and the binary's command line.

mod cli;
mod fixtures;
mod reconcile;
