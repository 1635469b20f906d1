//! `index`: one index run, from flags or from an index Job's contract, with a progress bar on a
//! terminal and a summary (or `--json`) at the end.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use reposage_contract::{GitRef, INDEX_JOB_ENV, IndexJob, IndexLimits};
use reposage_pipeline::{IndexRequest, IndexSummary, NoProgress, Progress, Stage, run_index};
use reposage_runtime::{DatabaseArgs, RetrievalArgs};
use uuid::Uuid;

/// Options of `index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The whole run as an index Job's contract (JSON, `reposage.dev/index-job/v1`), as the
    /// operator sets it; replaces the repository, ref, pattern, limit and retrieval options.
    #[arg(long = "job", env = INDEX_JOB_ENV, value_name = "JSON",
          conflicts_with_all = ["url", "branch", "tag", "commit", "repository_id", "name", "run_id", "include", "exclude"])]
    job: Option<String>,
    /// Repository to index: an https:// or ssh:// URL, scp-like `git@host:org/repo`, or a local path.
    #[arg(long, env = "REPOSAGE_URL", required_unless_present = "job")]
    url: Option<String>,
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
    #[arg(long, default_value_t = IndexLimits::MAX_FILE_BYTES)]
    max_file_bytes: u64,
    /// At most this many files are analysed; the rest are recorded as skipped.
    #[arg(long, default_value_t = IndexLimits::MAX_FILES)]
    max_files: u64,
    /// A file whose parse takes longer than this many milliseconds is recorded as timed out.
    #[arg(long, default_value_t = IndexLimits::PARSE_TIMEOUT_MS)]
    parse_timeout_ms: u64,
    /// Largest retrieval chunk, in tokens of the embedding model (functions and classes that fit are
    /// one chunk; larger ones are split on statement boundaries; small neighbours are merged).
    #[arg(long, default_value_t = IndexLimits::CHUNK_MAX_TOKENS,
          value_parser = clap::value_parser!(u64).range(16..=8192))]
    chunk_max_tokens: u64,
    /// A fetch receiving more than this many bytes is aborted.
    #[arg(long, default_value_t = IndexLimits::MAX_REPOSITORY_BYTES)]
    max_repository_bytes: u64,
    /// A fetch still running after this many seconds is aborted.
    #[arg(long, default_value_t = IndexLimits::FETCH_TIMEOUT_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..))]
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
    /// Check the options and print the index job they describe (its JSON contract) without
    /// connecting to anything or running it.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    retrieval: RetrievalArgs,
}

impl IndexArgs {
    /// The run the options describe, as the same contract an index Job carries.
    pub fn into_job(self) -> anyhow::Result<(IndexJob, bool)> {
        let IndexArgs {
            job,
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
            dry_run: _,
            retrieval,
        } = self;
        if let Some(contract) = job {
            let mut job = IndexJob::from_json(&contract)
                .with_context(|| format!("reading the index job from --job / {INDEX_JOB_ENV}"))?;
            job.work_dir = job.work_dir.or(work_dir);
            return Ok((job, json));
        }
        let git_ref = match (branch, tag, commit) {
            (Some(b), _, _) => GitRef::Branch(b),
            (_, Some(t), _) => GitRef::Tag(t),
            (_, _, Some(c)) => GitRef::Commit(c),
            _ => GitRef::Default,
        };
        let job = IndexJob {
            git_ref,
            repository_id,
            name,
            run_id,
            include,
            exclude,
            limits: IndexLimits {
                max_file_bytes,
                max_files,
                parse_timeout_ms,
                chunk_max_tokens,
                max_repository_bytes,
                fetch_timeout_seconds,
            },
            allowed_hosts,
            credentials_dir,
            work_dir,
            retrieval: retrieval.settings()?,
            ..IndexJob::new(url.unwrap_or_default(), namespace)
        };
        job.validate()?;
        Ok((job, json))
    }
}

/// Runs `index`.
pub async fn run(database: &DatabaseArgs, args: IndexArgs) -> anyhow::Result<()> {
    let dry_run = args.dry_run;
    let (job, json) = args.into_job()?;
    if dry_run {
        let contract = job
            .to_json()
            .context("an API key given as a value cannot be printed: name its file instead")?;
        println!("{contract}");
        return Ok(());
    }
    let store = super::connect_and_migrate(database).await?;
    let retrieval = reposage_retrieval::connect(&job.retrieval, &store).await?;
    let scratch = match &job.work_dir {
        Some(dir) => tempfile::Builder::new().prefix("run-").tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let request = IndexRequest::from_job(job, &retrieval, scratch.path().to_path_buf())?;
    let progress: Arc<dyn Progress> = if !json && std::io::stderr().is_terminal() {
        Arc::new(BarProgress::new())
    } else {
        Arc::new(NoProgress)
    };
    let summary = run_index(&store, request, progress).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        index: IndexArgs,
    }

    fn parse(args: &[&str]) -> IndexJob {
        let cli = Cli::try_parse_from(std::iter::once("index").chain(args.iter().copied())).unwrap();
        cli.index.into_job().unwrap().0
    }

    #[test]
    fn flags_and_a_contract_describe_the_same_run() {
        let from_flags = parse(&[
            "--url",
            "https://git.example/org/tool.git",
            "--namespace",
            "team-a",
            "--tag",
            "v1",
            "--exclude",
            "docs/**",
            "--max-files",
            "9",
            "--embedder",
            "none",
        ]);
        let contract = from_flags.to_json().unwrap();
        let from_contract = parse(&["--job", &contract, "--embedder", "none"]);
        assert_eq!(from_contract, from_flags);
        assert_eq!(from_flags.git_ref, GitRef::Tag("v1".into()));
        assert_eq!(from_flags.limits.max_files, 9);
    }

    #[test]
    fn a_contract_and_repository_flags_cannot_be_mixed() {
        let contract = IndexJob::new("https://git.example/r", "ns").to_json().unwrap();
        assert!(Cli::try_parse_from(["index", "--job", &contract, "--url", "https://other/r"]).is_err());
        assert!(
            Cli::try_parse_from(["index"]).is_err(),
            "--url or --job is required"
        );
    }
}
