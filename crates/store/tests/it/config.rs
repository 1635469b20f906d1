//! Where the database URL comes from, and what connecting to a bad one says.

use std::io::Write;
use std::time::Duration;

use reposage_store::{Error, Store, resolve_database_url};

fn url_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(content.as_bytes()).expect("write");
    file
}

#[test]
fn the_url_from_the_environment_is_used_when_no_file_is_named() {
    let url = resolve_database_url(Some("postgres://env@db/reposage".into()), None).expect("url");
    assert_eq!(url, "postgres://env@db/reposage");
}

#[test]
fn a_url_file_wins_over_the_environment() {
    let file = url_file("postgres://file@db/reposage");
    let url =
        resolve_database_url(Some("postgres://env@db/reposage".into()), Some(file.path())).expect("url");
    assert_eq!(url, "postgres://file@db/reposage");
}

#[test]
fn the_url_file_content_is_trimmed() {
    let file = url_file("  postgres://file@db/reposage \n\n");
    let url = resolve_database_url(None, Some(file.path())).expect("url");
    assert_eq!(url, "postgres://file@db/reposage");
}

#[test]
fn a_missing_or_empty_environment_url_is_an_error_saying_what_to_set() {
    for from_env in [None, Some(String::new()), Some("   ".to_string())] {
        let error = resolve_database_url(from_env.clone(), None).expect_err("no url");
        assert!(matches!(error, Error::MissingUrl), "{from_env:?}: {error:?}");
        assert!(error.to_string().contains("DATABASE_URL"), "{error}");
    }
}

#[test]
fn an_unreadable_url_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-file");
    let error =
        resolve_database_url(Some("postgres://env@db/reposage".into()), Some(&path)).expect_err("no file");
    assert!(matches!(&error, Error::ReadUrlFile { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

#[tokio::test]
async fn connecting_with_an_unparsable_url_is_an_invalid_url_error() {
    let error = Store::connect("not a database url", 1)
        .await
        .expect_err("bad url");
    assert!(matches!(&error, Error::InvalidUrl { .. }), "{error:?}");
    assert_eq!(error.to_string(), "invalid database URL");
}

#[tokio::test]
async fn connecting_to_a_server_that_is_not_there_is_a_connect_error() {
    // A port that was free a moment ago: connections are refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let url = format!("postgres://reposage@127.0.0.1:{port}/reposage");
    let connecting = Store::connect(&url, 1);
    // The pool's own acquire timeout is 10 s; this bound only keeps a broken test from hanging.
    let error = tokio::time::timeout(Duration::from_secs(60), connecting)
        .await
        .expect("connect gives up")
        .expect_err("nothing listens there");
    assert!(matches!(&error, Error::Connect { .. }), "{error:?}");
    assert_eq!(error.to_string(), "cannot connect to the database");
}
