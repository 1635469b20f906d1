use reposage_crd::{AnalysisQuerySpec, GitRef, RepositorySpec};

fn spec(url: &str) -> RepositorySpec {
    serde_json::from_value(serde_json::json!({ "url": url })).unwrap()
}

#[test]
fn https_ssh_and_scp_like_urls_are_accepted() {
    for url in [
        "https://github.com/kube-rs/kube",
        "https://gitlab.example.com/group/sub/repo.git",
        "ssh://git@github.com/kube-rs/kube.git",
        "git@github.com:kube-rs/kube.git",
    ] {
        spec(url).validate().unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

#[test]
fn refused_url_forms_name_the_rule() {
    for (url, expected) in [
        ("file:///etc", "file:// scheme is refused"),
        ("git://github.com/a/b", "git:// scheme is refused"),
        ("http://github.com/a/b", "http:// scheme is refused"),
        (
            "https://user:token@github.com/a/b",
            "credentials in the URL are refused",
        ),
        ("https://github.com", "needs a host and a repository path"),
        ("ftp://example.com/a", "only https:// and ssh://"),
        ("/etc/passwd", "expected https://"),
        ("https://github.com/a b", "whitespace"),
    ] {
        let error = spec(url).validate().unwrap_err();
        assert_eq!(error.field, "spec.url");
        assert!(error.message.contains(expected), "{url}: {}", error.message);
    }
}

#[test]
fn a_ref_must_name_exactly_one_of_branch_tag_or_commit() {
    let both = GitRef {
        branch: Some("main".into()),
        tag: Some("v1".into()),
        commit: None,
    };
    assert!(both.validate().unwrap_err().message.contains("exactly one"));
    assert!(GitRef::default().validate().is_err());
    let short_sha = GitRef {
        commit: Some("abc123".into()),
        ..GitRef::default()
    };
    assert_eq!(short_sha.validate().unwrap_err().field, "spec.ref.commit");
    let bad_branch = GitRef {
        branch: Some("main..evil".into()),
        ..GitRef::default()
    };
    assert_eq!(bad_branch.validate().unwrap_err().field, "spec.ref.branch");
    let tag = GitRef {
        tag: Some("v1.2.0".into()),
        ..GitRef::default()
    };
    tag.validate().unwrap();
    assert_eq!(tag.display_name(), "v1.2.0");
}

#[test]
fn a_secret_ref_must_name_a_secret() {
    let with_secret = |name: &str| -> RepositorySpec {
        serde_json::from_value(serde_json::json!({
            "url": "https://github.com/a/b",
            "secretRef": { "name": name },
        }))
        .unwrap()
    };
    with_secret("git-credentials").validate().unwrap();
    with_secret("team.git-credentials").validate().unwrap();
    for bad in ["Git", "a..b", "-a.b", "a.b-", "../etc", "a b"] {
        let error = with_secret(bad).validate().unwrap_err();
        assert_eq!(error.field, "spec.secretRef.name", "{bad}");
        assert!(
            error.message.contains("not a Secret name"),
            "{bad}: {}",
            error.message
        );
    }
}

#[test]
fn intervals_and_timeouts_are_go_durations_with_defaults() {
    let mut s = spec("https://github.com/a/b");
    assert_eq!(s.interval().unwrap(), std::time::Duration::from_secs(600));
    assert_eq!(s.timeout().unwrap(), std::time::Duration::from_secs(1800));
    s.interval = Some("1h30m".into());
    assert_eq!(s.interval().unwrap(), std::time::Duration::from_secs(5400));
    s.interval = Some("0s".into());
    assert_eq!(s.validate().unwrap_err().field, "spec.interval");
    s.interval = Some("soon".into());
    assert_eq!(s.validate().unwrap_err().field, "spec.interval");
}

#[test]
fn limits_default_when_unset() {
    let limits = spec("https://github.com/a/b").limits();
    assert_eq!(limits.max_file_bytes(), 1024 * 1024);
    assert_eq!(limits.max_files(), 100_000);
}

#[test]
fn analysis_queries_bound_the_question_and_top_k() {
    let query = |question: &str, top_k: Option<u32>| -> AnalysisQuerySpec {
        serde_json::from_value(serde_json::json!({
            "repositoryRef": { "name": "kube" },
            "question": question,
            "topK": top_k,
        }))
        .unwrap()
    };
    query("What does this project do?", None).validate().unwrap();
    assert_eq!(query("q", None).top_k(), 8);
    assert_eq!(query("q", Some(0)).validate().unwrap_err().field, "spec.topK");
    assert_eq!(query("q", Some(51)).validate().unwrap_err().field, "spec.topK");
    assert_eq!(query("   ", None).validate().unwrap_err().field, "spec.question");
    let long = "x".repeat(4097);
    assert!(
        query(&long, None)
            .validate()
            .unwrap_err()
            .message
            .contains("4097 bytes")
    );
}
