//! Code analysis through the pipeline: what tree-sitter finds lands in Postgres.

use reposage_store::Store;
use reposage_testkit::{Entry, GitFixture};
use sqlx::PgPool;

use crate::{index, request};

// rows are compared as plain tuples of SQL columns, spelled out where they are used
#[allow(clippy::type_complexity)]
#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn symbols_imports_calls_and_metrics_are_stored_and_linked(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "code",
        &[
            (
                "src/net.rs",
                Entry::text(
                    "use std::time::Duration;\n\n/// A client.\npub struct Client;\n\nimpl Client {\n    /// Sends with retries.\n    pub fn backoff_send(&self) {\n        if ready() && self.ok() { wait(); }\n    }\n}\n",
                ),
            ),
            ("src/util.rs", Entry::text("pub fn ready() -> bool { true }\npub fn wait() {}\n")),
            ("tool.py", Entry::text("import os\n\ndef main():\n    return os.getcwd()\n")),
        ],
    );
    let summary = index(&store, request(&fixture, "code")).await;
    assert_eq!(summary.stats.symbols, 6);

    let symbols: Vec<(
        String,
        String,
        String,
        Option<String>,
        Option<i32>,
        Option<String>,
    )> = sqlx::query_as(
        "SELECT s.qualified_name, s.kind, f.path, p.qualified_name, s.complexity, s.doc
         FROM symbols s JOIN files f ON f.id = s.file_id LEFT JOIN symbols p ON p.id = s.parent_id
         ORDER BY f.path, s.start_line",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let expected: Vec<(&str, &str, &str, Option<&str>, Option<i32>, Option<&str>)> = vec![
        ("Client", "struct", "src/net.rs", None, None, Some("A client.")),
        ("Client", "impl", "src/net.rs", None, None, None),
        (
            "Client::backoff_send",
            "method",
            "src/net.rs",
            Some("Client"),
            Some(3),
            Some("Sends with retries."),
        ),
        ("ready", "function", "src/util.rs", None, Some(1), None),
        ("wait", "function", "src/util.rs", None, Some(1), None),
        ("main", "function", "tool.py", None, Some(1), None),
    ];
    let actual: Vec<_> = symbols
        .iter()
        .map(|s| {
            (
                s.0.as_str(),
                s.1.as_str(),
                s.2.as_str(),
                s.3.as_deref(),
                s.4,
                s.5.as_deref(),
            )
        })
        .collect();
    assert_eq!(actual, expected);

    let imports: Vec<(String, String, i32)> = sqlx::query_as(
        "SELECT f.path, i.target, i.line FROM imports i JOIN files f ON f.id = i.file_id ORDER BY f.path",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        imports,
        [
            ("src/net.rs".into(), "std::time::Duration".into(), 1),
            ("tool.py".into(), "os".into(), 1)
        ]
    );

    // calls are linked to the repository's symbol when exactly one has the name
    let calls: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT c.callee_name, caller.qualified_name, callee.qualified_name
         FROM calls c LEFT JOIN symbols caller ON caller.id = c.caller_symbol_id
                      LEFT JOIN symbols callee ON callee.id = c.callee_symbol_id
         ORDER BY c.line, c.callee_name",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let backoff = Some("Client::backoff_send".to_string());
    assert!(
        calls.contains(&("ready".into(), backoff.clone(), Some("ready".into()))),
        "{calls:?}"
    );
    assert!(calls.contains(&("wait".into(), backoff.clone(), Some("wait".into()))));
    assert!(
        calls.contains(&("ok".into(), backoff, None)),
        "no `ok` symbol in the repository"
    );
    assert!(calls.contains(&("getcwd".into(), Some("main".into()), None)));

    let (status, functions, complexity, maintainability): (String, i32, i32, f64) = sqlx::query_as(
        "SELECT parse_status, functions, complexity, maintainability FROM files WHERE path = 'src/net.rs'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((status.as_str(), functions, complexity), ("parsed", 1, 3));
    assert!((0.0..=100.0).contains(&maintainability));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_file_past_the_parse_deadline_is_recorded_and_the_run_goes_on(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    let nested = format!(
        "fn deep() {{ {} }}\n",
        "if a {\n".repeat(10_000) + &"}\n".repeat(10_000)
    );
    fixture.commit(
        "main",
        "pathological",
        &[
            ("deep.rs", Entry::text(&nested)),
            ("ok.rs", Entry::text("fn ok() {}\n")),
        ],
    );
    let mut request = request(&fixture, "deadline");
    request.parse_timeout = std::time::Duration::from_nanos(1);
    let summary = index(&store, request).await;
    assert_eq!(summary.stats.analysed_files, 2);
    let statuses: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT path, parse_status, parse_error FROM files ORDER BY path")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(statuses[0].1.as_deref(), Some("timeout"));
    assert!(statuses[0].2.as_deref().unwrap().contains("deadline"));
    let events = store.run_events(summary.run_id).await.unwrap();
    let structure = events
        .iter()
        .find(|e| e.stage == "analyse" && e.status == "completed")
        .unwrap();
    // tree-sitter checks the deadline periodically: a tiny file may finish before the first check
    assert!(structure.data["parseFailures"].as_u64().unwrap() >= 1);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn ten_thousand_nested_blocks_are_analysed_on_the_analysis_thread(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    let nested = format!(
        "fn deep() {{ {} }}\n",
        "{\n".repeat(10_000) + &"}\n".repeat(10_000)
    );
    fixture.commit("main", "deep", &[("deep.rs", Entry::text(&nested))]);
    let summary = index(&store, request(&fixture, "nesting")).await;
    assert_eq!(summary.stats.symbols, 1);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn files_are_chunked_along_symbols_with_stable_content_hashes(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    let body = |name: &str| {
        let statements: String = (0..15)
            .map(|i| format!("    let v{i} = {name}_step({i});\n"))
            .collect();
        format!("/// {name} does work.\npub fn {name}() {{\n{statements}}}\n")
    };
    let source = format!("{}\n{}", body("first"), body("second"));
    fixture.commit(
        "main",
        "A",
        &[
            ("src/work.rs", Entry::text(&source)),
            ("README.md", Entry::text("# Work\n\nIt works.\n")),
        ],
    );
    let first = index(&store, request(&fixture, "chunks")).await;
    let chunks = || async {
        sqlx::query_as::<_, (String, Option<String>, i32, i32, String, String)>(
            "SELECT f.path, c.symbol_path, c.start_line, c.end_line, c.content_hash, c.context_header
             FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY f.path, c.start_line",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
    };
    let before = chunks().await;
    let work: Vec<_> = before.iter().filter(|c| c.0 == "src/work.rs").collect();
    assert_eq!(work.len(), 2, "one chunk per function: {before:?}");
    assert_eq!(
        (work[0].1.as_deref(), work[0].2, work[0].3),
        (Some("first"), 1, 18)
    );
    assert_eq!(
        (work[1].1.as_deref(), work[1].2, work[1].3),
        (Some("second"), 20, 37)
    );
    assert_eq!(work[0].5, "src/work.rs · first");
    assert!(before.iter().any(|c| c.0 == "README.md" && c.1.is_none()));
    assert_eq!(first.stats.chunks, before.len() as u64);

    // re-indexing an unchanged tree keeps every chunk and its hash
    let again = index(&store, request(&fixture, "chunks")).await;
    assert_eq!(again.stats.changed_files, 0);
    let after = chunks().await;
    assert_eq!(before, after);
}
