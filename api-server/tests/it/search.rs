//! Substring search over indexed paths and contents.

use axum::http::StatusCode;
use reposage_api_server::AppState;
use reposage_store::Store;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{COMMIT, SeedFile, Seeded, get, seed_indexed_repository, state};

struct Fixture {
    state: AppState,
    alpha: Seeded,
    beta: Seeded,
}

async fn fixture(pool: PgPool) -> Fixture {
    let store = Store::from_pool(pool);
    let alpha = seed_indexed_repository(
        &store,
        "team-a",
        "alpha",
        &[
            SeedFile::text(
                "src/config.rs",
                "rust",
                "use std::fs;\n\npub fn load_config(path: &str) -> String {\n    fs::read_to_string(path).unwrap()\n}\n",
            ),
            SeedFile::text("src/main.rs", "rust", "fn main() {\n    load_config(\"app.toml\");\n}\n"),
            SeedFile::text("docs/discount.md", "markdown", "Save 50% today\nno wildcard here\n"),
            SeedFile::text("notes.txt", "text", "old code\nnew code\n"),
            SeedFile::Skipped {
                path: "assets/config.bin",
                reason: "binary",
            },
        ],
    )
    .await;
    let beta = seed_indexed_repository(
        &store,
        "team-b",
        "beta",
        &[SeedFile::text(
            "src/config_loader.py",
            "python",
            "def load_config():\n    return {}\n",
        )],
    )
    .await;
    Fixture {
        state: state(store),
        alpha,
        beta,
    }
}

fn paths(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["path"].as_str().unwrap().to_string())
        .collect()
}

fn item<'a>(body: &'a Value, path: &str) -> &'a Value {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {body}"))
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn search_finds_matching_lines_with_their_numbers_and_text(pool: PgPool) {
    let f = fixture(pool).await;

    let answer = get(&f.state, "/api/v1/search?q=load_config").await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    let body = answer.json();
    assert_eq!(body["query"], "load_config");
    let mut found = paths(&body);
    found.sort();
    assert_eq!(found, ["src/config.rs", "src/config_loader.py", "src/main.rs"]);
    let config = item(&body, "src/config.rs");
    assert_eq!(
        config,
        &json!({
            "repositoryId": f.alpha.repository.to_string(),
            "namespace": "team-a",
            "repository": "alpha",
            "commitSha": COMMIT,
            "path": "src/config.rs",
            "language": "rust",
            "pathMatch": false,
            "matches": [{ "line": 3, "text": "pub fn load_config(path: &str) -> String {" }],
        })
    );
    assert_eq!(
        item(&body, "src/main.rs")["matches"],
        json!([{ "line": 2, "text": "    load_config(\"app.toml\");" }])
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn search_is_case_insensitive_and_lists_path_matches_first(pool: PgPool) {
    let f = fixture(pool).await;

    let answer = get(&f.state, "/api/v1/search?q=CONFIG").await;

    let body = answer.json();
    assert_eq!(
        paths(&body),
        [
            "assets/config.bin",
            "src/config.rs",
            "src/config_loader.py",
            "src/main.rs"
        ]
    );
    let flags: Vec<&Value> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["pathMatch"])
        .collect();
    assert_eq!(flags, [true, true, true, false]);
    assert_eq!(
        item(&body, "assets/config.bin")["matches"],
        json!([]),
        "skipped files match by path only"
    );
    assert_eq!(item(&body, "src/config_loader.py")["matches"][0]["line"], 1);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn search_can_be_restricted_to_one_repository(pool: PgPool) {
    let f = fixture(pool).await;

    let answer = get(
        &f.state,
        &format!("/api/v1/search?q=load_config&repository={}", f.beta.repository),
    )
    .await;

    let body = answer.json();
    assert_eq!(paths(&body), ["src/config_loader.py"]);
    assert_eq!(body["items"][0]["repositoryId"], f.beta.repository.to_string());
    assert_eq!(body["items"][0]["namespace"], "team-b");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn percent_and_underscore_are_matched_literally_not_as_wildcards(pool: PgPool) {
    let f = fixture(pool).await;

    let percent = get(&f.state, "/api/v1/search?q=%25").await.json();
    let underscore = get(&f.state, "/api/v1/search?q=d_c").await.json();

    assert_eq!(percent["query"], "%");
    assert_eq!(paths(&percent), ["docs/discount.md"]);
    assert_eq!(
        percent["items"][0]["matches"],
        json!([{ "line": 1, "text": "Save 50% today" }])
    );
    let mut found = paths(&underscore);
    found.sort();
    assert_eq!(
        found,
        ["src/config.rs", "src/config_loader.py", "src/main.rs"],
        "`d_c` must not match `old code` in notes.txt"
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn limit_bounds_the_number_of_files_returned(pool: PgPool) {
    let f = fixture(pool).await;

    let limited = get(&f.state, "/api/v1/search?q=o&limit=2").await.json();
    let unlimited = get(&f.state, "/api/v1/search?q=o").await.json();

    assert_eq!(limited["items"].as_array().unwrap().len(), 2);
    assert!(unlimited["items"].as_array().unwrap().len() > 2);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_query_that_matches_nothing_returns_no_items(pool: PgPool) {
    let f = fixture(pool).await;

    let answer = get(&f.state, "/api/v1/search?q=zebra").await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({ "query": "zebra", "items": [] }));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn missing_empty_or_oversized_queries_are_422_problems_naming_q(pool: PgPool) {
    let f = fixture(pool).await;
    let oversized = "a".repeat(257);
    let longest = "a".repeat(256);

    for uri in [
        "/api/v1/search".to_string(),
        "/api/v1/search?q=".to_string(),
        "/api/v1/search?q=%20%20%20".to_string(),
        format!("/api/v1/search?q={oversized}"),
    ] {
        let problem = get(&f.state, &uri)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-parameter");
        assert_eq!(problem["parameter"], "q", "{uri}");
    }
    let at_the_limit = get(&f.state, &format!("/api/v1/search?q={longest}")).await;
    assert_eq!(at_the_limit.status, StatusCode::OK);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_limit_outside_one_to_a_hundred_or_not_a_number_is_a_422_problem(pool: PgPool) {
    let f = fixture(pool).await;

    for limit in ["0", "101", "-5", "abc", ""] {
        let problem = get(&f.state, &format!("/api/v1/search?q=config&limit={limit}"))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-parameter");
        assert_eq!(problem["parameter"], "limit", "limit={limit}");
    }
    let hundred = get(&f.state, "/api/v1/search?q=config&limit=100").await;
    assert_eq!(hundred.status, StatusCode::OK);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_repository_filter_that_is_not_a_uuid_is_a_422_problem(pool: PgPool) {
    let f = fixture(pool).await;

    let problem = get(&f.state, "/api/v1/search?q=config&repository=alpha")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid-parameter");

    assert_eq!(problem["parameter"], "repository");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_malformed_query_string_is_a_400_problem_not_plain_text(pool: PgPool) {
    let f = fixture(pool).await;

    let answer = get(&f.state, "/api/v1/search?q=a&q=b").await;

    answer.assert_problem(StatusCode::BAD_REQUEST, "bad-request");
}
