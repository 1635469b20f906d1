//! Tests of the `reposage-job-runner` binary itself (the pipeline's own tests live in
//! `crates/pipeline`).

mod contract;
