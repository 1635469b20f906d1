//! The RepoSage operator: reconciles `Repository` resources into index Jobs that run the
//! job-runner, and reports each run's outcome in the Repository's status.
//!
//! - [`job`] builds the index Job (a pure function of the Repository and [`JobSettings`]);
//! - [`status`] computes the next status from what the reconciler observed (pure, kstatus rules);
//! - [`controller`] wires both to the Kubernetes API and the RepoSage database;
//! - [`metrics`] holds the Prometheus metrics (served with the health probes of
//!   [`reposage_runtime::http::Probes`]);
//! - [`config`] is the command-line configuration and its validation.
//!
//! The binary only parses the command line, sets up logging and calls [`run`], [`migrate`] or
//! [`write_crds`].

pub mod config;
pub mod controller;
pub mod error;
pub mod job;
pub mod metrics;
pub mod status;

use std::path::{Path, PathBuf};

pub use config::{Config, JobRetrieval, JobSettings, SecretMount, Settings};
pub use controller::{Context, FIELD_MANAGER, FINALIZER, error_policy, reconcile, run};
pub use error::{Error, Result};
pub use job::build_index_job;
pub use metrics::Metrics;
pub use status::{Observation, next_status};

/// Connects to the database and applies pending schema migrations.
pub async fn migrate(database: &reposage_runtime::DatabaseArgs) -> Result<()> {
    database
        .connect_and_migrate(config::DATABASE_MAX_CONNECTIONS)
        .await
        .map_err(Error::Database)?;
    Ok(())
}

/// Writes the CustomResourceDefinition YAML files into `dir` (created when missing) and returns
/// the paths written, in a stable order.
pub fn write_crds(dir: &Path) -> Result<Vec<PathBuf>> {
    let io_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    reposage_crd::generate::crd_files()
        .into_iter()
        .map(|(file, yaml)| {
            let path = dir.join(file);
            std::fs::write(&path, yaml).map_err(io_error(&path))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn crds_are_written_into_a_new_directory() {
        let dir = tempfile::tempdir().unwrap();
        let written = super::write_crds(&dir.path().join("nested")).unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "reposage.dev_repositories.yaml",
                "reposage.dev_analysisqueries.yaml"
            ]
        );
        for (path, (_, yaml)) in written.iter().zip(reposage_crd::generate::crd_files()) {
            assert_eq!(std::fs::read_to_string(path).unwrap(), yaml);
        }
    }
}
