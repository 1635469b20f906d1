use std::time::Duration;

use reposage_analysis::fetch::HttpsCredentials;
use reposage_analysis::{Error, FetchOptions, RefRequest, Source, open_or_fetch};
use reposage_testkit::{Entry, GitFixture};

fn options(git_ref: RefRequest) -> FetchOptions {
    FetchOptions {
        git_ref,
        // libgit2's `file://` transport cannot fetch shallow; servers (smart HTTP/SSH) get depth 1.
        depth: 0,
        ..FetchOptions::default()
    }
}

#[test]
fn source_parsing_accepts_https_ssh_scp_and_local_paths() {
    assert!(matches!(
        Source::parse("https://github.com/a/b").unwrap(),
        Source::Remote(_)
    ));
    assert!(matches!(
        Source::parse("ssh://git@github.com/a/b.git").unwrap(),
        Source::Remote(_)
    ));
    assert!(matches!(
        Source::parse("git@github.com:a/b.git").unwrap(),
        Source::Remote(_)
    ));
    let fixture = GitFixture::new();
    assert!(matches!(
        Source::parse(fixture.path().to_str().unwrap()).unwrap(),
        Source::Local(_)
    ));
}

#[test]
fn source_parsing_refuses_other_schemes_and_credentials_naming_the_rule() {
    for (input, rule) in [
        ("file:///etc", "file:// scheme is refused"),
        ("git://example.com/a", "git:// scheme is refused"),
        ("http://example.com/a", "http:// scheme is refused"),
        (
            "https://user:secret@example.com/a",
            "credentials in the URL are refused",
        ),
        (
            "https://token@example.com/a",
            "credentials in the URL are refused",
        ),
        ("ssh://git:pw@example.com/a", "credentials in the URL are refused"),
        ("ftp://example.com/a", "only https:// and ssh://"),
        (
            "/no/such/folder",
            "neither an https/ssh URL nor an existing local path",
        ),
    ] {
        let error = Source::parse(input).unwrap_err().to_string();
        assert!(error.contains(rule), "{input}: {error}");
        assert!(
            !error.contains("secret") && !error.contains(":pw"),
            "credentials leaked: {error}"
        );
    }
}

#[test]
fn a_local_repository_resolves_head_branches_tags_and_commits() {
    let fixture = GitFixture::new();
    let first = fixture.commit("main", "one", &[("a", Entry::text("1"))]);
    fixture.tag("v1", first);
    let second = fixture.commit("main", "two", &[("a", Entry::text("2"))]);
    let feature = fixture.commit("feature", "f", &[("b", Entry::text("f"))]);
    let source = Source::Local(fixture.path().to_path_buf());
    let work = tempfile::tempdir().unwrap();
    let open = |r| open_or_fetch(&source, work.path(), &options(r)).unwrap();

    let head = open(RefRequest::Default);
    assert_eq!((head.commit, head.resolved_ref.as_str()), (second, "main"));
    assert_eq!(open(RefRequest::Branch("feature".into())).commit, feature);
    assert_eq!(open(RefRequest::Tag("v1".into())).commit, first);
    assert_eq!(open(RefRequest::Commit(first.to_string())).commit, first);

    let missing = open_or_fetch(&source, work.path(), &options(RefRequest::Branch("nope".into())));
    assert!(matches!(missing, Err(Error::RefNotFound(_))));
}

#[test]
fn a_remote_fetch_takes_exactly_the_requested_ref_into_a_bare_repository() {
    let fixture = GitFixture::new();
    let main = fixture.commit("main", "one", &[("a.txt", Entry::text("main"))]);
    let release = fixture.commit("release", "r", &[("r.txt", Entry::text("release"))]);
    fixture.tag("v2", release);
    // The `file://` transport stands in for a server; `Source::parse` refuses it for users.
    let source = Source::Remote(fixture.file_url());
    let work = tempfile::tempdir().unwrap();

    let default = open_or_fetch(&source, work.path(), &options(RefRequest::Default)).unwrap();
    assert_eq!((default.commit, default.resolved_ref.as_str()), (main, "main"));
    assert!(default.repo.is_bare());
    assert!(default.fetched_bytes > 0);
    assert!(
        default.repo.find_reference("refs/heads/release").is_err(),
        "only one ref is fetched"
    );
    assert!(
        default.repo.find_reference("refs/tags/v2").is_err(),
        "tags are not fetched"
    );

    let tag = open_or_fetch(&source, work.path(), &options(RefRequest::Tag("v2".into()))).unwrap();
    assert_eq!(tag.commit, release);
    let missing = open_or_fetch(&source, work.path(), &options(RefRequest::Branch("gone".into())));
    assert!(matches!(missing, Err(Error::RefNotFound(m)) if m.contains("gone")));
}

#[test]
fn a_fetch_over_the_byte_cap_is_aborted() {
    let fixture = GitFixture::new();
    // incompressible content, so the pack really is this large
    let mut noise = Vec::with_capacity(256 * 1024);
    let mut x: u32 = 12345;
    for _ in 0..256 * 1024 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        noise.push((x >> 16) as u8);
    }
    fixture.commit("main", "big", &[("blob.bin", Entry::File(noise))]);
    let source = Source::Remote(fixture.file_url());
    let work = tempfile::tempdir().unwrap();
    let capped = FetchOptions {
        max_bytes: 64 * 1024,
        timeout: Duration::from_secs(60),
        ..options(RefRequest::Default)
    };
    let error = open_or_fetch(&source, work.path(), &capped).unwrap_err();
    assert!(matches!(error, Error::TooLarge { limit: 65536 }), "{error}");
}

#[test]
fn https_credentials_never_print_the_password() {
    let credentials = HttpsCredentials {
        username: "git".into(),
        password: "s3cr3t-token".into(),
    };
    let printed = format!(
        "{credentials:?} {:?}",
        FetchOptions {
            credentials: Some(credentials.clone()),
            ..FetchOptions::default()
        }
    );
    assert!(!printed.contains("s3cr3t"), "{printed}");
}
