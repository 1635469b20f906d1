//! Benchmarks of the whole index pipeline (structure, code analysis, chunking, Postgres writes;
//! fetch and embeddings excluded: the repositories are local and no embedder is configured).
//!
//! 1. **Incremental**: a 10,000-file repository of generated code (Rust, Python, Go, TypeScript,
//!    Java; 2–5 KB per file) is indexed fully, then one file changes in a new commit and the
//!    re-index is timed (target: ≤ 1 s).
//! 2. **Memory**: a ~200 MB repository of the same kind of code is indexed fully while the peak RSS
//!    of the process (VmHWM, reset before the run) is measured (target: ≤ 500 MB), with throughput.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p reposage-pipeline --bench pipeline
//! ```
//!
//! Each run creates its own database (dropped at the end). `REPOSAGE_BENCH_FILES` (default 10000)
//! and `REPOSAGE_BENCH_LARGE_MB` (default 200) scale the repositories; the arguments `incremental`
//! or `memory` run one part only. `REPOSAGE_BENCH_SLOW_MS=N` logs every SQL statement slower than
//! N ms (with its duration) to stderr, to see where a run's time goes.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository};
use reposage_store::{RunId, Store};

use common::{BenchDatabase, BenchResult, Rng, env_number, index_timed, signature};

const MIB: f64 = 1024.0 * 1024.0;

#[tokio::main]
async fn main() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!(
            "the pipeline bench needs Postgres: set DATABASE_URL, e.g.\n  \
             DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p reposage-pipeline --bench pipeline"
        );
        std::process::exit(2);
    };
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wants = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    let slow_ms = std::env::var("REPOSAGE_BENCH_SLOW_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    if slow_ms.is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("sqlx=warn"))
            .with_writer(std::io::stderr)
            .init();
    }
    let files = env_number("REPOSAGE_BENCH_FILES", 10_000);
    let large_mb = env_number("REPOSAGE_BENCH_LARGE_MB", 200);

    let database = BenchDatabase::create(&url, slow_ms).await.unwrap_or_else(|e| {
        eprintln!("cannot create the bench database: {e}");
        std::process::exit(1);
    });
    let mut result = Ok(());
    // memory first: its peak must not include what the other part left behind
    if wants("memory") {
        result = memory(&database.store, large_mb).await;
    }
    if result.is_ok() && wants("incremental") {
        result = incremental(&database.store, files).await;
    }
    database.drop().await;
    if let Err(error) = result {
        common::fail(error.as_ref());
    }
}

/// Part 1: full index of `files` files, then a one-file change re-indexed.
async fn incremental(store: &Store, files: usize) -> BenchResult<()> {
    println!("\n== incremental: {files}-file repository, then a one-file change ==");
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let built = build_repository(dir.path(), files, |i| 2_048 + (i * 7_919) % 3_072)?;
    println!(
        "built: {} files, {:.1} MB in {:.1} s",
        built.files,
        built.bytes as f64 / MIB,
        started.elapsed().as_secs_f64()
    );

    let full = index_timed(store, dir.path(), "incremental").await?;
    println!(
        "full index:        {:>8.2} s  ({} files analysed, {} symbols, {} chunks)",
        full.1.as_secs_f64(),
        full.0.stats.analysed_files,
        full.0.stats.symbols,
        full.0.stats.chunks
    );
    print_stages(store, full.0.run_id).await?;

    let changed = change_one_file(dir.path(), &built.sample_path)?;
    let again = index_timed(store, dir.path(), "incremental").await?;
    println!(
        "one-file re-index: {:>8.3} s  ({} changed, {} analysed of {} files; commit {})  target <= 1 s: {}",
        again.1.as_secs_f64(),
        again.0.stats.changed_files,
        again.0.stats.analysed_files,
        again.0.stats.files,
        &changed.to_string()[..12],
        if again.1 <= Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        }
    );
    print_stages(store, again.0.run_id).await?;
    Ok(())
}

/// Part 2: full index of a ~`mb` MB repository, peak RSS and throughput.
async fn memory(store: &Store, mb: usize) -> BenchResult<()> {
    println!("\n== memory: ~{mb} MB repository, full index ==");
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    // 2–5 KB files, like the incremental part, until the repository holds `mb` MB
    let average = 3_584;
    let files = mb * 1024 * 1024 / average;
    let built = build_repository(dir.path(), files, |i| 2_048 + (i * 7_919) % 3_072)?;
    println!(
        "built: {} files, {:.1} MB in {:.1} s (peak RSS while building: {:.0} MB)",
        built.files,
        built.bytes as f64 / MIB,
        started.elapsed().as_secs_f64(),
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    let reset = reset_peak_rss();
    let baseline = current_rss_mb().unwrap_or(f64::NAN);
    let (summary, elapsed) = index_timed(store, dir.path(), "memory").await?;
    let peak = peak_rss_mb().unwrap_or(f64::NAN);
    let mb_indexed = built.bytes as f64 / MIB;
    println!(
        "full index:  {:.1} s, {:.2} MB/s, {:.0} files/s ({} files analysed, {} symbols, {} chunks)",
        elapsed.as_secs_f64(),
        mb_indexed / elapsed.as_secs_f64(),
        built.files as f64 / elapsed.as_secs_f64(),
        summary.stats.analysed_files,
        summary.stats.symbols,
        summary.stats.chunks
    );
    println!(
        "peak RSS (VmHWM{}): {peak:.0} MB (RSS before the run {baseline:.0} MB)  target <= 500 MB: {}",
        if reset {
            ", reset before the run"
        } else {
            ", since process start"
        },
        if peak <= 500.0 { "met" } else { "MISSED" }
    );
    print_stages(store, summary.run_id).await?;
    Ok(())
}

/// Stage durations of a run, from its events.
async fn print_stages(store: &Store, run_id: RunId) -> BenchResult<()> {
    let mut line = String::from("  stages:");
    for event in store.run_events(run_id).await? {
        if let Some(ms) = event.duration_ms {
            let _ = write!(line, " {} {ms} ms,", event.stage);
        }
    }
    println!("{}", line.trim_end_matches(','));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Peak RSS

fn status_kb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok()
}

fn peak_rss_mb() -> Option<f64> {
    status_kb("VmHWM:").map(|kb| kb / 1024.0)
}

fn current_rss_mb() -> Option<f64> {
    status_kb("VmRSS:").map(|kb| kb / 1024.0)
}

/// Resets VmHWM to the current RSS (Linux >= 4.0: `5` written to `/proc/self/clear_refs`).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// ---------------------------------------------------------------------------------------------
// Repositories of generated code, written blob by blob (never the whole repository in memory)

struct Built {
    files: usize,
    bytes: u64,
    /// A file the incremental part changes.
    sample_path: String,
}

const FILES_PER_DIR: usize = 50;

fn build_repository(path: &Path, files: usize, size_of: impl Fn(usize) -> usize) -> BenchResult<Built> {
    let repo = Repository::init(path)?;
    repo.set_head("refs/heads/main")?;
    let mut root = repo.treebuilder(None)?;
    let mut bytes = 0u64;
    let mut sample_path = String::new();
    for (dir_index, first) in (0..files).step_by(FILES_PER_DIR).enumerate() {
        let mut dir = repo.treebuilder(None)?;
        for i in first..(first + FILES_PER_DIR).min(files) {
            let language = Language::ALL[i % Language::ALL.len()];
            let content = generate_file(language, i as u64, size_of(i));
            bytes += content.len() as u64;
            let name = format!("{}_{i:06}.{}", language.stem(), language.extension());
            dir.insert(&name, repo.blob(content.as_bytes())?, 0o100644)?;
            if sample_path.is_empty() && language == Language::Rust {
                sample_path = format!("pkg{dir_index:04}/{name}");
            }
        }
        root.insert(format!("pkg{dir_index:04}"), dir.write()?, 0o040000)?;
    }
    let readme = "# Bench\n\nA generated repository for the RepoSage pipeline benchmarks.\n";
    root.insert("README.md", repo.blob(readme.as_bytes())?, 0o100644)?;
    let tree = repo.find_tree(root.write()?)?;
    let signature = signature()?;
    repo.commit(
        Some("refs/heads/main"),
        &signature,
        &signature,
        "generated",
        &tree,
        &[],
    )?;
    Ok(Built {
        files: files + 1,
        bytes: bytes + readme.len() as u64,
        sample_path,
    })
}

/// Commits a change to one file (a function appended) on `main`.
fn change_one_file(path: &Path, file: &str) -> BenchResult<Oid> {
    let repo = Repository::open(path)?;
    let head = repo.head()?.peel_to_commit()?;
    let tree = head.tree()?;
    let entry = tree.get_path(Path::new(file))?;
    let old = repo.find_blob(entry.id())?;
    let mut content = String::from_utf8_lossy(old.content()).into_owned();
    content.push_str("\n/// Added by the incremental bench.\npub fn bench_added(x: u64) -> u64 {\n    if x > 1 { x * 2 } else { x }\n}\n");
    let blob = repo.blob(content.as_bytes())?;
    let mut update = TreeUpdateBuilder::new();
    update.upsert(file, blob, FileMode::Blob);
    let new_tree = repo.find_tree(update.create_updated(&repo, &tree)?)?;
    let signature = signature()?;
    Ok(repo.commit(
        Some("refs/heads/main"),
        &signature,
        &signature,
        "change one file",
        &new_tree,
        &[&head],
    )?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Rust,
    Python,
    Go,
    TypeScript,
    Java,
}

impl Language {
    const ALL: [Language; 5] = [
        Language::Rust,
        Language::Python,
        Language::Go,
        Language::TypeScript,
        Language::Java,
    ];

    fn extension(self) -> &'static str {
        match self {
            Language::Rust => "rs",
            Language::Python => "py",
            Language::Go => "go",
            Language::TypeScript => "ts",
            Language::Java => "java",
        }
    }

    fn stem(self) -> &'static str {
        match self {
            Language::Rust => "service",
            Language::Python => "handlers",
            Language::Go => "server",
            Language::TypeScript => "component",
            Language::Java => "Repository",
        }
    }
}

const VERBS: &[&str] = &[
    "load", "store", "parse", "render", "validate", "compute", "merge", "resolve", "fetch", "update",
    "build", "encode", "decode", "collect", "filter", "apply", "schedule", "index",
];
const NOUNS: &[&str] = &[
    "user", "order", "invoice", "session", "token", "record", "batch", "config", "request", "entry",
    "metric", "report", "account", "payload", "cursor", "segment", "policy", "snapshot",
];

fn ident(rng: &mut Rng, upper: bool) -> String {
    let (verb, noun) = (rng.pick(VERBS), rng.pick(NOUNS));
    if upper {
        let mut chars = noun.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('X');
        format!("{first}{}{}", chars.as_str(), rng.below(100))
    } else {
        format!("{verb}_{noun}_{}", rng.below(1000))
    }
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    for (i, part) in snake.split('_').enumerate() {
        let mut chars = part.chars();
        match (i, chars.next()) {
            (0, Some(c)) => out.push(c),
            (_, Some(c)) => out.push(c.to_ascii_uppercase()),
            _ => {}
        }
        out.push_str(chars.as_str());
    }
    out
}

/// About `target` bytes of plausible code in `language`: imports, a type, functions with branches,
/// loops and comments.
fn generate_file(language: Language, seed: u64, target: usize) -> String {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut out = String::with_capacity(target + 512);
    let ty = ident(&mut rng, true);
    match language {
        Language::Rust => {
            let _ = writeln!(
                out,
                "//! The {ty} service.\n\nuse std::collections::HashMap;\nuse crate::store::Store;\n"
            );
            let _ = writeln!(
                out,
                "/// A {ty} with its fields.\n#[derive(Debug, Clone)]\npub struct {ty} {{\n    pub id: u64,\n    pub name: String,\n    pub tags: Vec<String>,\n}}\n\nimpl {ty} {{"
            );
            while out.len() < target {
                let f = ident(&mut rng, false);
                let (a, b) = (rng.below(50), rng.below(9) + 1);
                let _ = writeln!(
                    out,
                    "    /// {} the {} entries.\n    pub fn {f}(&self, items: &[u64], limit: usize) -> Result<u64, String> {{\n        let mut total = 0u64;\n        for (i, item) in items.iter().enumerate() {{\n            if i >= limit {{\n                break;\n            }}\n            if *item > {a} && self.id % {b} == 0 {{\n                total += item * {b};\n            }} else if *item == 0 {{\n                return Err(format!(\"empty item at {{i}} in {{}}\", self.name));\n            }}\n        }}\n        let cache: HashMap<u64, u64> = HashMap::new();\n        Ok(total + cache.len() as u64)\n    }}\n",
                    rng.pick(VERBS),
                    rng.pick(NOUNS)
                );
            }
            out.push_str("}\n");
        }
        Language::Python => {
            let _ = writeln!(
                out,
                "\"\"\"Handlers for {ty}.\"\"\"\n\nimport json\nfrom typing import List, Optional\n\n\nclass {ty}:\n    \"\"\"A {ty} record.\"\"\"\n\n    def __init__(self, ident: int, name: str) -> None:\n        self.ident = ident\n        self.name = name\n"
            );
            while out.len() < target {
                let f = ident(&mut rng, false);
                let a = rng.below(50);
                let _ = writeln!(
                    out,
                    "    def {f}(self, items: List[int], limit: Optional[int] = None) -> int:\n        \"\"\"{} the {} items.\"\"\"\n        total = 0\n        for i, item in enumerate(items):\n            if limit is not None and i >= limit:\n                break\n            if item > {a} and self.ident % 3 == 0:\n                total += item\n            elif item == 0:\n                raise ValueError(json.dumps({{\"index\": i}}))\n        return total\n",
                    rng.pick(VERBS),
                    rng.pick(NOUNS)
                );
            }
        }
        Language::Go => {
            let _ = writeln!(
                out,
                "// Package server serves {ty} values.\npackage server\n\nimport (\n\t\"errors\"\n\t\"fmt\"\n)\n\n// {ty} is a record.\ntype {ty} struct {{\n\tID   uint64\n\tName string\n}}\n"
            );
            while out.len() < target {
                let f = camel(&ident(&mut rng, false));
                let a = rng.below(50);
                let _ = writeln!(
                    out,
                    "// {f} handles the {} items.\nfunc (s *{ty}) {f}(items []uint64, limit int) (uint64, error) {{\n\tvar total uint64\n\tfor i, item := range items {{\n\t\tif i >= limit {{\n\t\t\tbreak\n\t\t}}\n\t\tif item > {a} && s.ID%3 == 0 {{\n\t\t\ttotal += item\n\t\t}} else if item == 0 {{\n\t\t\treturn 0, errors.New(fmt.Sprintf(\"empty item %d in %s\", i, s.Name))\n\t\t}}\n\t}}\n\treturn total, nil\n}}\n",
                    rng.pick(NOUNS)
                );
            }
        }
        Language::TypeScript => {
            let _ = writeln!(
                out,
                "import {{ Store }} from \"./store\";\n\n/** A {ty} record. */\nexport interface {ty}Props {{\n  id: number;\n  name: string;\n}}\n\nexport class {ty} {{\n  constructor(private readonly props: {ty}Props, private readonly store: Store) {{}}\n"
            );
            while out.len() < target {
                let f = camel(&ident(&mut rng, false));
                let a = rng.below(50);
                let _ = writeln!(
                    out,
                    "  /** {} the {} items. */\n  public {f}(items: number[], limit = 10): number {{\n    let total = 0;\n    for (let i = 0; i < items.length; i++) {{\n      if (i >= limit) {{\n        break;\n      }}\n      const item = items[i];\n      if (item > {a} && this.props.id % 3 === 0) {{\n        total += item;\n      }} else if (item === 0) {{\n        throw new Error(`empty item ${{i}} in ${{this.props.name}}`);\n      }}\n    }}\n    return total ?? 0;\n  }}\n",
                    rng.pick(VERBS),
                    rng.pick(NOUNS)
                );
            }
            out.push_str("}\n");
        }
        Language::Java => {
            let _ = writeln!(
                out,
                "package com.example.bench;\n\nimport java.util.List;\nimport java.util.Map;\n\n/** Repository of {ty} records. */\npublic class {ty}Repository {{\n    private final Map<Long, String> names;\n\n    public {ty}Repository(Map<Long, String> names) {{\n        this.names = names;\n    }}\n"
            );
            while out.len() < target {
                let f = camel(&ident(&mut rng, false));
                let a = rng.below(50);
                let _ = writeln!(
                    out,
                    "    /** {} the {} items. */\n    public long {f}(List<Long> items, int limit) {{\n        long total = 0;\n        for (int i = 0; i < items.size(); i++) {{\n            if (i >= limit) {{\n                break;\n            }}\n            long item = items.get(i);\n            if (item > {a} && names.containsKey(item)) {{\n                total += item;\n            }} else if (item == 0) {{\n                throw new IllegalStateException(\"empty item \" + i);\n            }}\n        }}\n        return total;\n    }}\n",
                    rng.pick(VERBS),
                    rng.pick(NOUNS)
                );
            }
            out.push_str("}\n");
        }
    }
    out
}
