use std::path::PathBuf;

use reposage_crd::{AnalysisQuery, Repository};
use serde::Deserialize;

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/samples")
}

/// Every document of every sample file, with its kind.
fn documents() -> Vec<(String, serde_yaml::Value)> {
    let mut docs = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(doc).unwrap();
            let kind = value["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{} has a document without kind", path.display()));
            docs.push((kind.to_string(), value));
        }
    }
    docs
}

#[test]
fn every_sample_parses_as_the_rust_types_and_validates() {
    let docs = documents();
    let mut repositories = 0;
    let mut queries = 0;
    for (kind, value) in docs {
        match kind.as_str() {
            "Repository" => {
                let repo: Repository = serde_yaml::from_value(value).unwrap();
                repo.validate().unwrap();
                repositories += 1;
            }
            "AnalysisQuery" => {
                let query: AnalysisQuery = serde_yaml::from_value(value).unwrap();
                query.spec.validate().unwrap();
                queries += 1;
            }
            "Secret" | "Application" => {}
            other => panic!("unexpected sample kind {other}"),
        }
    }
    assert!(repositories >= 2, "a public repository and one with a secretRef");
    assert!(queries >= 1);
}

#[test]
fn the_private_repository_sample_names_a_secret_that_is_in_the_samples() {
    let docs = documents();
    let secret_names: Vec<String> = docs
        .iter()
        .filter(|(kind, _)| kind == "Secret")
        .map(|(_, v)| v["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let referenced: Vec<String> = docs
        .iter()
        .filter(|(kind, _)| kind == "Repository")
        .filter_map(|(_, v)| v["spec"]["secretRef"]["name"].as_str().map(str::to_string))
        .collect();
    assert!(!referenced.is_empty());
    for name in referenced {
        assert!(
            secret_names.contains(&name),
            "secret {name} is referenced but not in config/samples"
        );
    }
}
