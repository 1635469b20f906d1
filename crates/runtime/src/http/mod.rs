//! What every RepoSage HTTP server answers the same way (feature `http`): RFC 9457 problem
//! documents ([`Problem`]) and the probe routes ([`Probes`]: `/healthz`, `/readyz`, `/metrics`).

mod probes;
mod problem;

pub use probes::{NotReady, OPENMETRICS_CONTENT_TYPE, Probes, Readiness, ReadyFlag};
pub use problem::{PROBLEM_JSON, PROBLEM_TYPE_BASE, Problem};
