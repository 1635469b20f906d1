//! `reposage-job-runner`: index a repository into Postgres, or search what is indexed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use reposage_analysis::chunk::ChunkBudget;
use reposage_analysis::{Credentials, FetchOptions, RefRequest, Source, UrlPolicy};
use reposage_job_runner::index::{self, IndexRequest, IndexSummary, run_index};
use reposage_job_runner::progress::{NoProgress, Progress, Stage};
use reposage_job_runner::retrieval_config::RetrievalArgs;
use reposage_retrieval::vector::{SyncMode, SyncStats, sync_repository};
use reposage_retrieval::{SearchMode, SearchParams, SearchRequest, Searcher};
use reposage_store::{NewRepository, RefKind, RepositoryId, RunId, Store};
use uuid::Uuid;

/// Fetch, analyse and index a git repository into the RepoSage database, or search it.
#[derive(Debug, Parser)]
#[command(
    name = "reposage-job-runner",
    version,
    after_help = "Environment:\n  DATABASE_URL  Postgres URL, e.g. postgres://reposage@127.0.0.1:5432/reposage \
                  (a secret: never passed as an argument)"
)]
struct Cli {
    /// Read the database URL from this file (a mounted Secret) instead of DATABASE_URL.
    #[arg(long, env = "REPOSAGE_DATABASE_URL_FILE", global = true)]
    database_url_file: Option<PathBuf>,
    /// Log format: `auto` (pretty on a terminal, JSON otherwise), `json` or `pretty`.
    #[arg(long, env = "REPOSAGE_LOG_FORMAT", default_value = "auto", global = true)]
    log_format: LogFormat,
    #[arg(skip = std::env::var("DATABASE_URL").ok())]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Auto,
    Json,
    Pretty,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index a repository: fetch it, walk the tree of the resolved commit, record files and the run.
    Index(Box<IndexArgs>),
    /// Search indexed repositories: lexical, semantic or hybrid (see the query syntax in --help).
    Search(SearchArgs),
    /// Bring the vector store's points (a Qdrant collection) in line with the embeddings in
    /// Postgres: write the missing and changed points, remove those of chunks gone.
    ReindexVectors(ReindexArgs),
    /// Apply database migrations and exit.
    Migrate,
}

#[derive(Debug, Args)]
struct IndexArgs {
    /// Repository to index: an https:// or ssh:// URL, scp-like `git@host:org/repo`, or a local path.
    #[arg(long, env = "REPOSAGE_URL")]
    url: String,
    /// Branch to index (default: the remote's default branch, or HEAD of a local repository).
    #[arg(long, group = "git_ref")]
    branch: Option<String>,
    /// Tag to index.
    #[arg(long, group = "git_ref")]
    tag: Option<String>,
    /// Full commit sha to index.
    #[arg(long, group = "git_ref")]
    commit: Option<String>,
    /// Repository id (the Repository resource's UID); derived from namespace/name when absent.
    #[arg(long)]
    repository_id: Option<Uuid>,
    /// Namespace the repository is recorded under.
    #[arg(long, default_value = "local")]
    namespace: String,
    /// Name the repository is recorded under (default: the last segment of the URL or path).
    #[arg(long)]
    name: Option<String>,
    /// Run id (the operator derives it from the Job); random when absent.
    #[arg(long)]
    run_id: Option<Uuid>,
    /// Gitignore-style pattern of paths to analyse; repeatable. All paths when none is given.
    #[arg(long = "include", value_name = "PATTERN")]
    include: Vec<String>,
    /// Gitignore-style pattern of paths not to analyse; repeatable; wins over --include.
    #[arg(long = "exclude", value_name = "PATTERN")]
    exclude: Vec<String>,
    /// Files larger than this many bytes are recorded as too large and not analysed.
    #[arg(long, default_value_t = index::DEFAULT_MAX_FILE_BYTES)]
    max_file_bytes: u64,
    /// At most this many files are analysed; the rest are recorded as skipped.
    #[arg(long, default_value_t = index::DEFAULT_MAX_FILES)]
    max_files: u64,
    /// A file whose parse takes longer than this many milliseconds is recorded as timed out.
    #[arg(long, default_value_t = index::DEFAULT_PARSE_TIMEOUT_MS)]
    parse_timeout_ms: u64,
    /// Largest retrieval chunk, in tokens of the embedding model (functions and classes that fit are
    /// one chunk; larger ones are split on statement boundaries; small neighbours are merged).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(16..=8192))]
    chunk_max_tokens: u64,
    /// A fetch receiving more than this many bytes is aborted.
    #[arg(long, default_value_t = 2 * 1024 * 1024 * 1024)]
    max_repository_bytes: u64,
    /// A fetch still running after this many seconds is aborted.
    #[arg(long, default_value_t = 600)]
    fetch_timeout_seconds: u64,
    /// Host that may be fetched from even though it resolves to a private or loopback address (an
    /// on-prem Git server); repeatable. All other hosts must resolve to public addresses only.
    #[arg(
        long = "allowed-host",
        value_name = "HOST",
        env = "REPOSAGE_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// Folder with git credentials (a mounted Secret): `username` and `password` files for https;
    /// `identity` (SSH private key), optional `passphrase`, and `known_hosts` (required: SSH host
    /// keys are always verified) for ssh.
    #[arg(long, env = "REPOSAGE_CREDENTIALS_DIR")]
    credentials_dir: Option<PathBuf>,
    /// Scratch folder for fetched repositories (default: a temporary folder, removed afterwards).
    #[arg(long, env = "REPOSAGE_WORK_DIR")]
    work_dir: Option<PathBuf>,
    /// Print the run summary as JSON on stdout (no progress bar).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    retrieval: RetrievalArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Query syntax: words (all must match, identifiers split at camelCase and \
                        snake_case), \"exact phrase\", /regex/, and filters repo:NAME lang:LANGUAGE \
                        path:PREFIX sym:SYMBOL kind:KIND."
)]
struct SearchArgs {
    /// The query.
    query: String,
    /// Only this repository (its name in the namespace given by --namespace).
    #[arg(long)]
    repository: Option<String>,
    /// Namespace of --repository.
    #[arg(long, default_value = "local")]
    namespace: String,
    /// `lexical`, `semantic` or `hybrid` (reciprocal rank fusion of both).
    #[arg(long, default_value = "hybrid")]
    mode: SearchMode,
    /// Most hits to show.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    limit: u64,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    retrieval: RetrievalArgs,
}

#[derive(Debug, Args)]
struct ReindexArgs {
    /// Only this repository (namespace/name or name); every repository when absent.
    #[arg(long)]
    repository: Option<String>,
    /// Rewrite every point, vectors included, not only the missing and changed ones (a repair for
    /// damaged vectors). Either way no repository's points are removed first, so searches keep
    /// finding them meanwhile.
    #[arg(long)]
    rewrite: bool,
    #[command(flatten)]
    retrieval: RetrievalArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli {
        database_url_file,
        log_format,
        database_url,
        command,
    } = Cli::parse();
    init_tracing(log_format);
    let url = reposage_store::resolve_database_url(database_url, database_url_file.as_deref())?;
    let store = Store::connect(&url, 4).await.context("connecting to Postgres")?;
    store.migrate().await?;
    match command {
        Command::Index(args) => index(&store, *args).await,
        Command::Search(args) => search(&store, args).await,
        Command::ReindexVectors(args) => reindex_vectors(&store, args).await,
        Command::Migrate => Ok(()),
    }
}

async fn index(store: &Store, args: IndexArgs) -> anyhow::Result<()> {
    let IndexArgs {
        url,
        branch,
        tag,
        commit,
        repository_id,
        namespace,
        name,
        run_id,
        include,
        exclude,
        max_file_bytes,
        max_files,
        parse_timeout_ms,
        chunk_max_tokens,
        max_repository_bytes,
        fetch_timeout_seconds,
        allowed_hosts,
        credentials_dir,
        work_dir,
        json,
        retrieval,
    } = args;
    let retrieval = retrieval.resolve(store).await?;
    let source = Source::parse(&url)?;
    let name = match name {
        Some(name) => name,
        None => derive_name(&source)?,
    };
    let (git_ref, recorded_ref) = match (branch, tag, commit) {
        (Some(b), _, _) => (RefRequest::Branch(b.clone()), Some((RefKind::Branch, b))),
        (_, Some(t), _) => (RefRequest::Tag(t.clone()), Some((RefKind::Tag, t))),
        (_, _, Some(c)) => (RefRequest::Commit(c.clone()), Some((RefKind::Commit, c))),
        _ => (RefRequest::Default, None),
    };
    let id = repository_id
        .map(RepositoryId)
        .unwrap_or_else(|| index::local_repository_id(&namespace, &name));
    let scratch = match work_dir {
        Some(dir) => tempfile::Builder::new().prefix("run-").tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let recorded_url = match &source {
        Source::Local(path) => path
            .canonicalize()
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string(),
        Source::Remote(url) => url.clone(),
    };
    let request = IndexRequest {
        run_id: run_id.map(RunId).unwrap_or_else(RunId::new_random),
        repository: NewRepository {
            id,
            namespace,
            name,
            url: recorded_url,
            git_ref: recorded_ref,
        },
        source,
        fetch: FetchOptions {
            git_ref,
            max_bytes: max_repository_bytes,
            timeout: Duration::from_secs(fetch_timeout_seconds),
            depth: 1,
            credentials: match credentials_dir {
                Some(dir) => Credentials::from_dir(&dir)?,
                None => Credentials::default(),
            },
        },
        url_policy: UrlPolicy::with_allowed_hosts(allowed_hosts),
        include,
        exclude,
        max_file_bytes,
        max_files,
        parse_timeout: Duration::from_millis(parse_timeout_ms),
        chunk_budget: ChunkBudget {
            max_tokens: chunk_max_tokens as usize,
            ..ChunkBudget::default()
        },
        token_counter: retrieval.token_counter.clone(),
        embedding: retrieval.embedding_stage(),
        work_dir: scratch.path().to_path_buf(),
    };
    let progress: Arc<dyn Progress> = if !json && std::io::stderr().is_terminal() {
        Arc::new(BarProgress::new())
    } else {
        Arc::new(NoProgress)
    };
    let summary = run_index(store, request, progress).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

async fn search(store: &Store, args: SearchArgs) -> anyhow::Result<()> {
    let SearchArgs {
        query,
        repository,
        namespace,
        mode,
        limit,
        json,
        retrieval,
    } = args;
    let repositories = match repository {
        Some(name) => vec![
            store
                .find_repository(&namespace, &name)
                .await?
                .with_context(|| format!("no repository {namespace}/{name} is indexed"))?
                .id,
        ],
        None => Vec::new(),
    };
    let retrieval = retrieval.resolve(store).await?;
    let searcher = Searcher::new(store.clone(), retrieval.semantic, SearchParams::default());
    let results = searcher
        .search(&SearchRequest {
            query,
            mode,
            limit: limit as usize,
            repositories,
        })
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    if let Some(reason) = &results.degraded {
        eprintln!("note: {reason}");
    }
    for (rank, hit) in results.hits.iter().enumerate() {
        let commit = hit
            .commit_sha
            .as_deref()
            .map(|c| &c[..c.len().min(12)])
            .unwrap_or("-");
        let symbol = hit
            .symbol_path
            .as_deref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default();
        println!(
            "{}. {}/{} {}:{}-{}{symbol} @ {commit}  [{}]",
            rank + 1,
            hit.namespace,
            hit.repository,
            hit.path,
            hit.start_line,
            hit.end_line,
            explain(&hit.explanation),
        );
        for line in &hit.snippet {
            println!(
                "    {:>5}{} {}",
                line.line,
                if line.matched { ">" } else { ":" },
                line.text.trim_end()
            );
        }
    }
    println!(
        "{} hit(s), {} search in {:.1} ms",
        results.hits.len(),
        results.mode.as_str(),
        results.timings.total_ms
    );
    Ok(())
}

/// `lexical #1 (0.42), semantic #3 (0.61), fused 0.032`.
fn explain(e: &reposage_retrieval::search::Explanation) -> String {
    let mut parts = Vec::new();
    if let Some(l) = e.lexical {
        parts.push(format!("lexical #{} ({:.3})", l.rank, l.score));
    }
    if let Some(s) = e.semantic {
        parts.push(format!("semantic #{} ({:.3})", s.rank, s.score));
    }
    parts.push(format!("score {:.4}", e.fused));
    parts.join(", ")
}

async fn reindex_vectors(store: &Store, args: ReindexArgs) -> anyhow::Result<()> {
    let ReindexArgs {
        repository,
        rewrite,
        retrieval,
    } = args;
    let mode = if rewrite {
        SyncMode::Rewrite
    } else {
        SyncMode::Changed
    };
    let retrieval = retrieval.resolve(store).await?;
    let Some((embedder, vectors)) = retrieval.semantic else {
        bail!("--embedder none has no vectors to reindex");
    };
    let repositories = match repository {
        Some(name) => {
            let ids = store.repositories_named(std::slice::from_ref(&name)).await?;
            if ids.is_empty() {
                bail!("no repository named {name} is indexed");
            }
            ids
        }
        None => store
            .list_repositories()
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect(),
    };
    for id in repositories {
        let SyncStats {
            unchanged,
            written,
            deleted,
        } = sync_repository(store, vectors.as_ref(), embedder.model(), id, mode).await?;
        println!(
            "{id}: {written} point(s) written, {deleted} deleted, {unchanged} unchanged in the {} store",
            vectors.backend()
        );
    }
    Ok(())
}

fn print_summary(summary: &IndexSummary) {
    let stats = &summary.stats;
    println!(
        "Indexed {}/{} at {}: {} files ({} analysed, {} changed, {} removed, {} skipped), {} lines, in {:.1}s",
        summary.namespace,
        summary.name,
        summary.revision,
        stats.files,
        stats.analysed_files,
        stats.changed_files,
        stats.removed_files,
        stats.skipped.values().sum::<u64>(),
        stats.lines,
        summary.duration_ms as f64 / 1000.0,
    );
    let mut languages: Vec<_> = stats.languages.iter().collect();
    languages.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = languages
        .iter()
        .take(8)
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    if !top.is_empty() {
        println!("Languages: {}", top.join(", "));
    }
    if !stats.skipped.is_empty() {
        let skipped: Vec<String> = stats.skipped.iter().map(|(r, n)| format!("{r} {n}")).collect();
        println!("Skipped: {}", skipped.join(", "));
    }
    println!("Run id: {}", summary.run_id);
}

/// The last segment of the URL or of the canonical local path, without `.git`.
fn derive_name(source: &Source) -> anyhow::Result<String> {
    let raw = match source {
        Source::Local(path) => path
            .canonicalize()
            .with_context(|| format!("resolving {}", path.display()))?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Source::Remote(url) => url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let name: String = raw
        .trim_end_matches(".git")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        bail!("cannot derive a repository name from {source:?}; pass --name");
    }
    Ok(name)
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,reposage=info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

/// A progress bar on the terminal.
struct BarProgress {
    bar: ProgressBar,
}

impl BarProgress {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar }
    }
}

impl Progress for BarProgress {
    fn stage_started(&self, stage: Stage) {
        self.bar.set_message(stage.as_str().to_string());
    }
    fn files_total(&self, total: u64) {
        self.bar.set_length(total);
        self.bar.set_style(
            ProgressStyle::with_template("{spinner} {msg:10} [{bar:40}] {pos}/{len} files ({per_sec})")
                .expect("static template")
                .progress_chars("=> "),
        );
    }
    fn file_done(&self) {
        self.bar.inc(1);
    }
    fn stage_completed(&self, stage: Stage) {
        if stage == Stage::Persist {
            self.bar.finish_and_clear();
        }
    }
}
