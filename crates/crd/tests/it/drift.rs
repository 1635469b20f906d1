use std::path::PathBuf;

fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crds")
}

#[test]
fn committed_crd_yaml_matches_the_rust_types() {
    for (file, generated) in reposage_crd::generate::crd_files() {
        let path = crds_dir().join(file);
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}); run `cargo run -p reposage-operator -- crds --output-dir crds`",
                path.display()
            )
        });
        assert!(
            committed == generated,
            "{} drifted from the Rust types; run `cargo run -p reposage-operator -- crds --output-dir crds`",
            path.display()
        );
    }
}

#[test]
fn repository_crd_has_the_printer_columns_short_name_and_category() {
    let (_, yaml) = &reposage_crd::generate::crd_files()[0];
    let crd: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
    let names = &crd["spec"]["names"];
    assert_eq!(names["shortNames"], serde_json::json!(["repo"]));
    assert_eq!(names["categories"], serde_json::json!(["reposage"]));
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert_eq!(version["subresources"]["status"], serde_json::json!({}));
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["URL", "Revision", "Ready", "Status", "Files", "Chunks", "Age"]
    );
}

#[test]
fn repository_schema_carries_the_ref_rule_the_url_pattern_and_field_docs() {
    let (_, yaml) = &reposage_crd::generate::crd_files()[0];
    let crd: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(spec["required"], serde_json::json!(["url"]));
    let git_ref = &spec["properties"]["ref"];
    assert_eq!(
        git_ref["x-kubernetes-validations"][0]["message"],
        "exactly one of branch, tag or commit must be set"
    );
    assert!(
        git_ref["description"]
            .as_str()
            .unwrap()
            .starts_with("Which revision to index")
    );
    assert_eq!(
        spec["properties"]["url"]["pattern"],
        reposage_crd::repository::URL_PATTERN
    );
    // schemars writes bounds as JSON numbers (1.0); the API server compares them numerically
    assert_eq!(
        spec["properties"]["limits"]["properties"]["maxFiles"]["minimum"].as_f64(),
        Some(1.0)
    );
    // every property documents itself, so `kubectl explain` reads well
    fn assert_described(path: &str, schema: &serde_json::Value) {
        if let Some(props) = schema["properties"].as_object() {
            for (name, prop) in props {
                let here = format!("{path}.{name}");
                if !matches!(name.as_str(), "apiVersion" | "kind" | "metadata") {
                    assert!(prop["description"].is_string(), "{here} has no description");
                }
                assert_described(&here, prop);
                assert_described(&here, &prop["items"]);
            }
        }
    }
    assert_described(
        "repository",
        &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
    );
    let (_, yaml) = &reposage_crd::generate::crd_files()[1];
    let crd: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
    assert_described(
        "analysisquery",
        &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
    );
}
