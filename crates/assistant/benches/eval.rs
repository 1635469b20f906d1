//! The assistant's quality benchmark: how often the code that answers a newcomer's question reaches
//! the context, and how fast.
//!
//! For each repository of `eval/questions.toml` (real crates, read from the cargo registry's sources):
//! 1. the crate's files are committed into a temporary git repository (git2) and indexed by the
//!    pipeline into a database of its own (created for the run, dropped at the end), embedding with
//!    the local MiniLM model;
//! 2. each question is answered by the [`Assistant`] without a model (extractive mode: the context is
//!    gathered and packed exactly as for a model, and every listed item is cited), and searched with
//!    plain [`Searcher`] hybrid, semantic and lexical search (limit 10, the raw question as the query,
//!    as `POST /api/v1/search` receives it) — the baselines;
//! 3. with `--llm local` (or `REPOSAGE_EVAL_LLM=local`) also by the local model
//!    (`REPOSAGE_LLM_MODEL`, SmolLM2), whose citations are scored the same way. Slow: off by default.
//!
//! Figures, overall, for the questions that share no identifier with their answer, and per repository:
//! - **hit@1 / hit@5**: an item among the first 1 / 5 (context in packed order, hits in rank order)
//!   overlaps a gold range; **hit@all**: any item of the context (at most 8 in extractive mode) or any
//!   of the 10 hits (of the 100 for the diagnostic deep semantic search, which shows whether a
//!   missed gold chunk ranks low or is not found at all);
//! - **file@1**: the first item's file is a gold file;
//! - **MRR**: mean of 1 / rank of the first item overlapping a gold range (0 when none does);
//! - **cite-prec**: share of an answer's citations overlapping a gold range, averaged over answers
//!   with citations;
//! - latency: the assistant's own context and total times (p50/p95), each search's wall time.
//!
//! Quality figures are deterministic for a given index; timings are not (and the machine may be
//! shared). This is a benchmark, not a test: it prints, it asserts nothing about the figures.
//!
//! ```sh
//! source /tmp/env.sh   # DATABASE_URL, REPOSAGE_EMBEDDING_MODEL_DIR, REPOSAGE_LLM_MODEL
//! cargo bench -p reposage-assistant --bench eval                       # extractive + search baselines
//! cargo bench -p reposage-assistant --bench eval -- --llm local        # + the local model's answers
//! cargo bench -p reposage-assistant --bench eval -- --repo walkdir     # one repository
//! ```
//!
//! Options: `--questions PATH` (default `eval/questions.toml`), `--repo NAME` (repeatable),
//! `--llm local|off`, `--quiet` (no per-question lines). `REPOSAGE_EVAL_SOURCES` names a directory
//! holding the crates' source folders instead of `$CARGO_HOME/registry/src/*/`;
//! `REPOSAGE_BENCH_KEEP_DATABASE=1` keeps the databases; `REPOSAGE_EVAL_LEXICAL_WEIGHT` sets the
//! lexical list's weight in the hybrid fusion (default 0.7), to measure another before changing it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Repository, Signature};
use reposage_assistant::{
    Answer, AnswerEvent, AnswerStatus, AskRequest, Assistant, AssistantSettings, CancellationToken,
    ContextItem, FoundBy,
};
use reposage_llm::ChatModel;
use reposage_llm::local::{LocalModel, LocalModelConfig};
use reposage_pipeline::{
    EmbeddingStage, IndexRequest, IndexSummary, NoProgress, SharedTokenCounter, run_index,
};
use reposage_retrieval::embed::local::LocalEmbedder;
use reposage_retrieval::vector::embedded::EmbeddedStore;
use reposage_retrieval::{SearchMode, SearchParams, SearchRequest, Searcher};
use reposage_store::{RepositoryId, Store};
use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::mpsc;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Hits asked of each baseline search (what the issue's figures used).
const SEARCH_LIMIT: usize = 10;
/// Hits of the diagnostic deep semantic search.
const DEEP_LIMIT: usize = 100;
/// Files of a crate's source folder that are packaging artefacts, not the project's.
const PACKAGING_FILES: [&str; 3] = [".cargo-ok", ".cargo_vcs_info.json", "Cargo.toml.orig"];

// ----------------------------------------------------------------------------------------------
// The question set
// ----------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionSet {
    repository: Vec<RepositorySpec>,
    question: Vec<Question>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepositorySpec {
    /// Name in the question set and in the index (`eval/<name>`).
    name: String,
    /// The crate.
    #[serde(rename = "crate")]
    krate: String,
    version: String,
    license: String,
    /// Its folder under the registry's `src/<index>/`.
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Question {
    id: String,
    repository: String,
    question: String,
    identifier_overlap: bool,
    gold: Vec<Gold>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Gold {
    path: String,
    start_line: i32,
    end_line: i32,
    /// Text on `start_line`: checked before the run, so line numbers cannot drift silently.
    anchor: String,
}

impl Question {
    /// Rank (1-based) of the first range overlapping a gold range.
    fn first_hit<'a>(&self, ranges: impl IntoIterator<Item = (&'a str, i32, i32)>) -> Option<usize> {
        ranges
            .into_iter()
            .position(|(path, start, end)| self.overlaps(path, start, end))
            .map(|i| i + 1)
    }

    fn overlaps(&self, path: &str, start: i32, end: i32) -> bool {
        self.gold
            .iter()
            .any(|g| g.path == path && start <= g.end_line && g.start_line <= end)
    }

    fn is_gold_file(&self, path: &str) -> bool {
        self.gold.iter().any(|g| g.path == path)
    }
}

// ----------------------------------------------------------------------------------------------
// Options
// ----------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Options {
    questions: PathBuf,
    repositories: Vec<String>,
    llm: bool,
    quiet: bool,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Options {
            questions: Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/questions.toml"),
            repositories: Vec::new(),
            llm: false,
            quiet: false,
        };
        let mut llm = std::env::var("REPOSAGE_EVAL_LLM").ok();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                // what `cargo bench` passes to every bench binary
                "--bench" => {}
                "--questions" => options.questions = value("--questions")?.into(),
                "--repo" => options.repositories.push(value("--repo")?),
                "--llm" => llm = Some(value("--llm")?),
                "--quiet" => options.quiet = true,
                other if other.starts_with("--") => return Err(format!("unknown option {other}")),
                // a cargo bench filter: not used
                _ => {}
            }
        }
        options.llm = match llm.as_deref() {
            None | Some("" | "off" | "none") => false,
            Some("local") => true,
            Some(other) => return Err(format!("--llm {other}: only `local` or `off`")),
        };
        Ok(options)
    }
}

// ----------------------------------------------------------------------------------------------
// Measurements
// ----------------------------------------------------------------------------------------------

/// What one method returned for one question.
#[derive(Debug, Clone, Default)]
struct Outcome {
    /// Rank of the first item overlapping a gold range.
    rank: Option<usize>,
    /// The first item's file is a gold file.
    file_at_1: bool,
    /// Items returned (context items, or hits).
    items: usize,
    /// Citations and those overlapping a gold range (answers only).
    citations: Option<(usize, usize)>,
    /// Milliseconds: the context (answers) or the search.
    context_ms: f64,
    /// Milliseconds of the whole answer (answers only).
    total_ms: Option<f64>,
    /// The first item, `path:start-end (how found)`.
    top: String,
    /// The answer said nothing relevant was found, or the search failed.
    note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    Assistant,
    Llm,
    Hybrid,
    Semantic,
    Lexical,
    /// Semantic search with limit 100: how far down the gold chunks are (a diagnostic).
    SemanticDeep,
}

impl Method {
    fn label(self) -> &'static str {
        match self {
            Method::Assistant => "assistant context (extractive, packed order)",
            Method::Llm => "assistant + local LLM (retrieval mode)",
            Method::Hybrid => "hybrid search, limit 10",
            Method::Semantic => "semantic search, limit 10",
            Method::Lexical => "lexical search, limit 10",
            Method::SemanticDeep => "semantic search, limit 100 (diagnostic)",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Method::Assistant => "ctx",
            Method::Llm => "llm",
            Method::Hybrid => "hyb",
            Method::Semantic => "sem",
            Method::Lexical => "lex",
            Method::SemanticDeep => "sem100",
        }
    }
}

/// All outcomes of one question.
struct Record<'a> {
    question: &'a Question,
    outcomes: BTreeMap<Method, Outcome>,
}

// ----------------------------------------------------------------------------------------------
// Main
// ----------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("eval: {message}");
            std::process::exit(2);
        }
    };
    let (Ok(url), Ok(model_dir)) = (
        std::env::var("DATABASE_URL"),
        std::env::var("REPOSAGE_EMBEDDING_MODEL_DIR"),
    ) else {
        eprintln!(
            "the eval bench needs DATABASE_URL (a Postgres it may create databases in) and \
             REPOSAGE_EMBEDDING_MODEL_DIR (the all-MiniLM-L6-v2 folder); `source /tmp/env.sh` sets both"
        );
        std::process::exit(2);
    };
    if let Err(error) = run(&options, &url, Path::new(&model_dir)).await {
        let mut message = format!("eval failed: {error}");
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        eprintln!("{message}");
        std::process::exit(1);
    }
}

async fn run(options: &Options, url: &str, model_dir: &Path) -> BenchResult<()> {
    let set: QuestionSet = toml::from_str(&std::fs::read_to_string(&options.questions)?)?;
    let mut sources = BTreeMap::new();
    for repository in &set.repository {
        if options.repositories.is_empty() || options.repositories.contains(&repository.name) {
            sources.insert(repository.name.clone(), crate_source(&repository.source)?);
        }
    }
    check_question_set(&set, &sources)?;

    let llm_path = match options.llm {
        true => Some(PathBuf::from(std::env::var("REPOSAGE_LLM_MODEL").map_err(
            |_| "--llm local needs REPOSAGE_LLM_MODEL (the GGUF file; `source /tmp/env.sh` sets it)",
        )?)),
        false => None,
    };
    print_setup(options, &set, &sources, model_dir, llm_path.as_deref());

    let embedder = LocalEmbedder::load(model_dir)?;
    let model: Option<Arc<dyn ChatModel>> = match &llm_path {
        Some(path) => {
            let config = LocalModelConfig::new(path.clone());
            let model = tokio::task::spawn_blocking(move || LocalModel::load(config)).await??;
            Some(Arc::new(model))
        }
        None => None,
    };

    let mut records = Vec::new();
    for repository in &set.repository {
        let Some(source) = sources.get(&repository.name) else {
            continue;
        };
        let questions: Vec<&Question> = set
            .question
            .iter()
            .filter(|q| q.repository == repository.name)
            .collect();
        let database = BenchDatabase::create(url).await?;
        let result = evaluate_repository(
            options,
            &database.store,
            repository,
            source,
            &questions,
            &embedder,
            model.clone(),
        )
        .await;
        database.drop().await;
        records.extend(result?);
    }
    report(&records, &set, options.llm);
    Ok(())
}

/// Indexes one repository and runs its questions.
async fn evaluate_repository<'a>(
    options: &Options,
    store: &Store,
    spec: &RepositorySpec,
    source: &Path,
    questions: &[&'a Question],
    embedder: &LocalEmbedder,
    model: Option<Arc<dyn ChatModel>>,
) -> BenchResult<Vec<Record<'a>>> {
    let scratch = tempfile::tempdir()?;
    let files = source_files(source)?;
    commit_files(scratch.path(), &files)?;
    let started = Instant::now();
    let summary = index(store, scratch.path(), &spec.name, embedder).await?;
    println!(
        "\n== {} {} ({} files committed): indexed {} files, {} lines, {} symbols, {} chunks in {:.1} s",
        spec.krate,
        spec.version,
        files.len(),
        summary.stats.analysed_files,
        summary.stats.lines,
        summary.stats.symbols,
        summary.stats.chunks,
        started.elapsed().as_secs_f64()
    );

    let searcher = Searcher::new(
        store.clone(),
        Some((
            Arc::new(embedder.clone()),
            Arc::new(EmbeddedStore::new(store.clone())),
        )),
        search_params(),
    );
    let extractive = Assistant::new(
        store.clone(),
        searcher.clone(),
        None,
        AssistantSettings::default(),
    );
    let with_model = model.map(|model| {
        let settings = AssistantSettings {
            max_output_tokens: 256,
            temperature: None,
            ..AssistantSettings::default()
        };
        Assistant::new(store.clone(), searcher.clone(), Some(model), settings)
    });
    // Warm-up: the first search loads the vectors into memory, as a running server has them.
    let _ = search(
        &searcher,
        summary.repository_id,
        "warm up",
        SearchMode::Hybrid,
        SEARCH_LIMIT,
    )
    .await;

    let mut records = Vec::new();
    for question in questions {
        let mut outcomes = BTreeMap::new();
        let (answer, items) = ask(&extractive, summary.repository_id, &question.question).await?;
        outcomes.insert(Method::Assistant, answer_outcome(question, &answer, &items));
        if let Some(assistant) = &with_model {
            let (answer, items) = ask(assistant, summary.repository_id, &question.question).await?;
            outcomes.insert(Method::Llm, answer_outcome(question, &answer, &items));
        }
        for (method, mode, limit) in [
            (Method::Hybrid, SearchMode::Hybrid, SEARCH_LIMIT),
            (Method::Semantic, SearchMode::Semantic, SEARCH_LIMIT),
            (Method::Lexical, SearchMode::Lexical, SEARCH_LIMIT),
            (Method::SemanticDeep, SearchMode::Semantic, DEEP_LIMIT),
        ] {
            let started = Instant::now();
            let hits = search(&searcher, summary.repository_id, &question.question, mode, limit).await;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let outcome = match hits {
                Ok(hits) => Outcome {
                    rank: question
                        .first_hit(hits.iter().map(|h| (h.path.as_str(), h.start_line, h.end_line))),
                    file_at_1: hits.first().is_some_and(|h| question.is_gold_file(&h.path)),
                    items: hits.len(),
                    context_ms: ms,
                    top: hits
                        .first()
                        .map(|h| format!("{}:{}-{}", h.path, h.start_line, h.end_line))
                        .unwrap_or_default(),
                    note: hits.is_empty().then(|| "no hits".to_string()),
                    ..Outcome::default()
                },
                Err(error) => Outcome {
                    context_ms: ms,
                    note: Some(format!("search failed: {error}")),
                    ..Outcome::default()
                },
            };
            outcomes.insert(method, outcome);
        }
        if !options.quiet {
            print_question(question, &outcomes);
        }
        records.push(Record { question, outcomes });
    }
    Ok(records)
}

/// Scores an answer: its context items (packed order) and its citations.
fn answer_outcome(question: &Question, answer: &Answer, items: &[ContextItem]) -> Outcome {
    let cited = answer.citations.len();
    let good = answer
        .citations
        .iter()
        .filter(|c| question.overlaps(&c.path, c.start_line, c.end_line))
        .count();
    let mut note = Vec::new();
    if answer.nothing_found {
        note.push("nothing found".to_string());
    }
    if let Some(error) = &answer.error {
        note.push(format!("error: {error}"));
    }
    if answer.status != AnswerStatus::Complete {
        note.push(answer.status.as_str().to_string());
    }
    if let Some(limit) = answer.partial {
        note.push(format!("cut short: {limit:?}"));
    }
    Outcome {
        rank: question.first_hit(items.iter().map(|i| (i.path.as_str(), i.start_line, i.end_line))),
        file_at_1: items.first().is_some_and(|i| question.is_gold_file(&i.path)),
        items: items.len(),
        citations: (cited > 0).then_some((cited, good)),
        context_ms: answer.timings.context_ms,
        total_ms: Some(answer.timings.total_ms),
        top: items
            .first()
            .map(|i| {
                format!(
                    "{}:{}-{} ({})",
                    i.path,
                    i.start_line,
                    i.end_line,
                    found_by(&i.found_by)
                )
            })
            .unwrap_or_default(),
        note: (!note.is_empty()).then(|| note.join("; ")),
    }
}

fn found_by(found: &FoundBy) -> &'static str {
    match found {
        FoundBy::Search { .. } => "search",
        FoundBy::Symbol { .. } => "symbol",
        FoundBy::Path { .. } => "path",
        FoundBy::Overview => "overview",
        FoundBy::Tool { .. } => "tool",
    }
}

/// Asks `question`; returns the answer and the context items first given (packed order).
async fn ask(
    assistant: &Assistant,
    repository: RepositoryId,
    question: &str,
) -> BenchResult<(Answer, Vec<ContextItem>)> {
    let (sender, mut receiver) = mpsc::channel(1024);
    let collect = tokio::spawn(async move {
        let mut first_context = None;
        while let Some(event) = receiver.recv().await {
            if let AnswerEvent::Context(items) = event
                && first_context.is_none()
            {
                first_context = Some(items);
            }
        }
        first_context.unwrap_or_default()
    });
    let request = AskRequest::new(question, vec![repository]);
    let answer = assistant
        .answer(&request, &sender, &CancellationToken::new())
        .await?;
    drop(sender);
    Ok((answer, collect.await?))
}

async fn search(
    searcher: &Searcher,
    repository: RepositoryId,
    query: &str,
    mode: SearchMode,
    limit: usize,
) -> reposage_retrieval::Result<Vec<reposage_retrieval::SearchHit>> {
    let request = SearchRequest {
        query: query.to_string(),
        mode,
        limit,
        repositories: vec![repository],
    };
    Ok(searcher.search(&request).await?.hits)
}

// ----------------------------------------------------------------------------------------------
// Reporting
// ----------------------------------------------------------------------------------------------

fn print_question(question: &Question, outcomes: &BTreeMap<Method, Outcome>) {
    let ranks: Vec<String> = outcomes
        .iter()
        .map(|(method, o)| {
            let rank = o.rank.map_or("-".to_string(), |r| r.to_string());
            format!("{} {rank:>2}", method.short())
        })
        .collect();
    let assistant = &outcomes[&Method::Assistant];
    let mut line = format!(
        "  {:<11} {} | {} | top: {}",
        question.id,
        if question.identifier_overlap { "id " } else { "nl " },
        ranks.join("  "),
        assistant.top
    );
    if let Some(note) = &assistant.note {
        line.push_str(&format!(" [{note}]"));
    }
    if let Some(llm) = outcomes.get(&Method::Llm) {
        match llm.citations {
            Some((cited, good)) => line.push_str(&format!(" | llm cites {good}/{cited} gold")),
            None => line.push_str(" | llm cites nothing"),
        }
        if let Some(note) = &llm.note {
            line.push_str(&format!(" [llm: {note}]"));
        }
    }
    println!("{line}");
}

/// Quality figures of one method over some questions.
#[derive(Debug, Default)]
struct Figures {
    n: usize,
    hit1: usize,
    hit5: usize,
    hit_all: usize,
    file1: usize,
    rr: f64,
    precision: Vec<f64>,
    empty: usize,
    /// Answers without a citation, and answers cut short or failed (answers only).
    uncited: usize,
    unfinished: usize,
}

impl Figures {
    fn of<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Self {
        let mut f = Figures::default();
        for o in outcomes {
            f.n += 1;
            f.hit1 += usize::from(o.rank.is_some_and(|r| r <= 1));
            f.hit5 += usize::from(o.rank.is_some_and(|r| r <= 5));
            f.hit_all += usize::from(o.rank.is_some());
            f.file1 += usize::from(o.file_at_1);
            f.rr += o.rank.map_or(0.0, |r| 1.0 / r as f64);
            if let Some((cited, good)) = o.citations {
                f.precision.push(good as f64 / cited as f64);
            }
            f.empty += usize::from(o.items == 0);
            f.uncited += usize::from(o.total_ms.is_some() && o.citations.is_none());
            f.unfinished += usize::from(o.note.as_deref().is_some_and(|n| {
                n.contains("cut short") || n.contains("error") || n.contains("interrupted")
            }));
        }
        f
    }

    fn row(&self, label: &str, answers: bool) -> String {
        let share = |k: usize| format!("{:.3}", k as f64 / self.n.max(1) as f64);
        let precision = if !answers {
            "    -".to_string()
        } else if self.precision.is_empty() {
            "  n/a".to_string()
        } else {
            format!(
                "{:.3}",
                self.precision.iter().sum::<f64>() / self.precision.len() as f64
            )
        };
        let mut row = format!(
            "    {label:<46} {:>3}  {}  {}  {}   {}  {}   {}",
            self.n,
            share(self.hit1),
            share(self.hit5),
            share(self.hit_all),
            share(self.file1),
            format_args!("{:.3}", self.rr / self.n.max(1) as f64),
            precision,
        );
        if self.empty > 0 {
            row.push_str(&format!("   (empty: {}/{})", self.empty, self.n));
        }
        if answers && self.uncited > 0 {
            row.push_str(&format!("   (no citation: {}/{})", self.uncited, self.n));
        }
        if self.unfinished > 0 {
            row.push_str(&format!(
                "   (cut short or failed: {}/{})",
                self.unfinished, self.n
            ));
        }
        row
    }
}

fn report(records: &[Record<'_>], set: &QuestionSet, llm: bool) {
    let mut methods = vec![Method::Assistant];
    if llm {
        methods.push(Method::Llm);
    }
    methods.extend([
        Method::Hybrid,
        Method::Semantic,
        Method::Lexical,
        Method::SemanticDeep,
    ]);

    let mut groups: Vec<(String, Vec<&Record<'_>>)> = vec![
        ("all questions".into(), records.iter().collect()),
        (
            "no identifier overlap".into(),
            records
                .iter()
                .filter(|r| !r.question.identifier_overlap)
                .collect(),
        ),
        (
            "identifier overlap".into(),
            records.iter().filter(|r| r.question.identifier_overlap).collect(),
        ),
    ];
    for repository in &set.repository {
        let of_repo: Vec<&Record<'_>> = records
            .iter()
            .filter(|r| r.question.repository == repository.name)
            .collect();
        if !of_repo.is_empty() {
            groups.push((format!("{} {}", repository.krate, repository.version), of_repo));
        }
    }

    println!("\n== quality (hit@all: any context item, or any of the search's hits)");
    for (name, group) in &groups {
        println!(
            "  {name}\n    {:<46} {:>3}  hit@1  hit@5  hit@all file@1  MRR    cite-prec",
            "", "n"
        );
        for method in &methods {
            let figures = Figures::of(group.iter().filter_map(|r| r.outcomes.get(method)));
            println!(
                "{}",
                figures.row(method.label(), matches!(method, Method::Assistant | Method::Llm))
            );
        }
    }

    println!("\n== latency (ms; shared machine: noisy)");
    println!("    {:<46}  p50 ctx  p95 ctx  p50 total  p95 total", "");
    for method in &methods {
        let outcomes: Vec<&Outcome> = records.iter().filter_map(|r| r.outcomes.get(method)).collect();
        let mut context: Vec<f64> = outcomes.iter().map(|o| o.context_ms).collect();
        let mut total: Vec<f64> = outcomes.iter().filter_map(|o| o.total_ms).collect();
        let (c50, c95) = percentiles(&mut context);
        let total = if total.is_empty() {
            "        -          -".to_string()
        } else {
            let (t50, t95) = percentiles(&mut total);
            format!("{t50:>9.1}  {t95:>9.1}")
        };
        println!("    {:<46} {c50:>8.1} {c95:>8.1} {total}", method.label());
    }
    println!("    (search rows: the search's wall time, query embedding included)");
}

fn percentiles(values: &mut [f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() as f64 * p).ceil() as usize).clamp(1, values.len()) - 1];
    (at(0.50), at(0.95))
}

fn print_setup(
    options: &Options,
    set: &QuestionSet,
    sources: &BTreeMap<String, PathBuf>,
    model_dir: &Path,
    llm: Option<&Path>,
) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("unknown CPU");
    let logical = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let usable = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cpu}, {logical} logical CPUs ({usable} usable by this process)");
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    println!(
        "command: cargo bench -p reposage-assistant --bench eval{}",
        if args.is_empty() {
            String::new()
        } else {
            format!(" -- {}", args.join(" "))
        }
    );
    let questions: Vec<&Question> = set
        .question
        .iter()
        .filter(|q| sources.contains_key(&q.repository))
        .collect();
    let natural = questions.iter().filter(|q| !q.identifier_overlap).count();
    println!(
        "questions: {} ({} without identifier overlap) from {}",
        questions.len(),
        natural,
        options.questions.display()
    );
    for repository in &set.repository {
        if let Some(source) = sources.get(&repository.name) {
            let n = questions
                .iter()
                .filter(|q| q.repository == repository.name)
                .count();
            println!(
                "  {} {} ({}), {n} questions, from {}",
                repository.krate,
                repository.version,
                repository.license,
                source.display()
            );
        }
    }
    println!("embedding model: {}", model_dir.display());
    println!(
        "answers: extractive (no model){}",
        llm.map_or(String::new(), |p| format!(
            ", and the local model {}",
            p.display()
        ))
    );
    println!(
        "per question: first rank of a gold overlap per method ({}), then the assistant's top item",
        [
            Method::Assistant,
            Method::Llm,
            Method::Hybrid,
            Method::Semantic,
            Method::Lexical,
            Method::SemanticDeep,
        ]
        .iter()
        .map(|m| format!("{}: {}", m.short(), m.label()))
        .collect::<Vec<_>>()
        .join("; ")
    );
}

// ----------------------------------------------------------------------------------------------
// The question set's checks
// ----------------------------------------------------------------------------------------------

/// Fails when a gold range does not exist as written; warns when an `identifier_overlap = false`
/// question names something a gold range defines (a hint that the label is wrong).
fn check_question_set(set: &QuestionSet, sources: &BTreeMap<String, PathBuf>) -> BenchResult<()> {
    let names: BTreeSet<&str> = set.repository.iter().map(|r| r.name.as_str()).collect();
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for question in &set.question {
        if !ids.insert(question.id.as_str()) {
            problems.push(format!("{}: duplicate id", question.id));
        }
        if !names.contains(question.repository.as_str()) {
            problems.push(format!(
                "{}: unknown repository {}",
                question.id, question.repository
            ));
            continue;
        }
        if question.gold.is_empty() {
            problems.push(format!("{}: no gold range", question.id));
        }
        let Some(source) = sources.get(&question.repository) else {
            continue;
        };
        let mut defined = BTreeSet::new();
        for gold in &question.gold {
            let text = match std::fs::read_to_string(source.join(&gold.path)) {
                Ok(text) => text,
                Err(error) => {
                    problems.push(format!("{}: {}: {error}", question.id, gold.path));
                    continue;
                }
            };
            let lines: Vec<&str> = text.lines().collect();
            let (start, end) = (gold.start_line, gold.end_line);
            if start < 1 || end < start || end as usize > lines.len() {
                problems.push(format!(
                    "{}: {}:{start}-{end} is not inside the file's {} lines",
                    question.id,
                    gold.path,
                    lines.len()
                ));
                continue;
            }
            if !lines[start as usize - 1].contains(&gold.anchor) {
                problems.push(format!(
                    "{}: {}:{start} reads {:?}, not the anchor {:?}",
                    question.id,
                    gold.path,
                    lines[start as usize - 1].trim(),
                    gold.anchor
                ));
            }
            defined.extend(defined_names(&lines[start as usize - 1..end as usize]));
            if let Some(file) = Path::new(&gold.path).file_name().and_then(|f| f.to_str()) {
                defined.insert(file.to_lowercase());
                if let Some((stem, _)) = file.rsplit_once('.') {
                    defined.insert(stem.to_lowercase());
                }
            }
        }
        if !question.identifier_overlap {
            let named: Vec<String> = question_words(&question.question)
                .into_iter()
                .filter(|w| defined.contains(w))
                .collect();
            if !named.is_empty() {
                println!(
                    "warning: {} is marked identifier_overlap = false but names {named:?}, defined by its gold code",
                    question.id
                );
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("the question set has problems:\n  {}", problems.join("\n  ")).into())
    }
}

/// Lower-cased names a Rust excerpt defines: items, fields, variants, and the types of its `impl`s.
fn defined_names(lines: &[&str]) -> BTreeSet<String> {
    const ITEMS: [&str; 9] = [
        "fn",
        "struct",
        "enum",
        "trait",
        "const",
        "static",
        "type",
        "mod",
        "macro_rules!",
    ];
    let mut names = BTreeSet::new();
    // inside a `struct`/`enum` body, where `name: Type` declares a field (elsewhere: a parameter,
    // a struct literal's value)
    let mut in_type = false;
    for line in lines {
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '!'))
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            if ITEMS.contains(&pair[0]) {
                names.insert(pair[1].to_lowercase());
            }
        }
        let trimmed = line.trim_start();
        // `impl<G> Trait for Type<G>` → Type; `impl Type` → Type
        if let Some(rest) = trimmed.strip_prefix("impl")
            && rest.starts_with([' ', '<'])
        {
            let rest = skip_generics(rest.trim_start());
            let target = rest.split_once(" for ").map_or(rest, |(_, target)| target);
            let path: String = target
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if let Some(name) = path.rsplit("::").next().filter(|n| !n.is_empty()) {
                names.insert(name.to_lowercase());
            }
        }
        if words.windows(2).any(|w| w[0] == "struct" || w[0] == "enum") && trimmed.ends_with('{') {
            in_type = true;
            continue;
        }
        if trimmed.starts_with('}') {
            in_type = false;
        }
        // a field or a struct-like variant: `name: Type,` at the start of a line
        if let Some((name, _)) = trimmed.trim_start_matches("pub ").split_once(':')
            && in_type
            && !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !trimmed.contains("::")
        {
            names.insert(name.to_lowercase());
        }
    }
    names
}

/// `text` after a leading `<…>` (balanced), or `text` itself.
fn skip_generics(text: &str) -> &str {
    if !text.starts_with('<') {
        return text;
    }
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return &text[i + 1..];
                }
            }
            _ => {}
        }
    }
    ""
}

/// The question's words, lower-cased; `Type::method` and `a.b` also give their parts.
fn question_words(question: &str) -> Vec<String> {
    let mut words = Vec::new();
    for raw in question.split(|c: char| c.is_whitespace() || "`'\",?()[]{}".contains(c)) {
        let word = raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
        if word.is_empty() {
            continue;
        }
        words.push(word.to_lowercase());
        for part in word.split("::").flat_map(|p| p.split('.')) {
            if !part.is_empty() && part != word {
                words.push(part.to_lowercase());
            }
        }
    }
    words
}

// ----------------------------------------------------------------------------------------------
// Sources, git, database, index
// ----------------------------------------------------------------------------------------------

/// The folder holding the crate source `name` (`semver-1.0.28`).
fn crate_source(name: &str) -> BenchResult<PathBuf> {
    let mut roots = Vec::new();
    if let Some(dir) = std::env::var_os("REPOSAGE_EVAL_SOURCES") {
        roots.push(PathBuf::from(dir));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home
        && let Ok(entries) = std::fs::read_dir(home.join("registry/src"))
    {
        let mut indexes: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        indexes.sort();
        roots.extend(indexes);
    }
    roots
        .iter()
        .map(|root| root.join(name))
        .find(|candidate| candidate.join("Cargo.toml").is_file())
        .ok_or_else(|| {
            format!(
                "the crate source {name} is in none of {roots:?}: fetch it with \
                 `cargo fetch` in a project depending on it, or set REPOSAGE_EVAL_SOURCES"
            )
            .into()
        })
}

/// The crate's files (path relative to `root`, bytes), packaging artefacts left out, sorted.
fn source_files(root: &Path) -> BenchResult<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if entry.file_name() != ".git" {
                    pending.push(path);
                }
            } else if kind.is_file() {
                let relative = path.strip_prefix(root)?.to_string_lossy().replace('\\', "/");
                if !PACKAGING_FILES.contains(&relative.as_str()) {
                    files.push((relative, std::fs::read(&path)?));
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// A new repository at `path` whose `main` holds `files` in one commit (fixed author and time).
fn commit_files(path: &Path, files: &[(String, Vec<u8>)]) -> BenchResult<()> {
    let repo = Repository::init(path)?;
    repo.set_head("refs/heads/main")?;
    let empty = repo.find_tree(repo.treebuilder(None)?.write()?)?;
    let mut update = TreeUpdateBuilder::new();
    for (file, bytes) in files {
        update.upsert(file.as_str(), repo.blob(bytes)?, FileMode::Blob);
    }
    let tree = repo.find_tree(update.create_updated(&repo, &empty)?)?;
    let signature = Signature::new(
        "RepoSage Eval",
        "eval@reposage.dev",
        &git2::Time::new(1_700_000_000, 0),
    )?;
    repo.commit(
        Some("refs/heads/main"),
        &signature,
        &signature,
        "crate source",
        &tree,
        &[],
    )?;
    Ok(())
}

async fn index(
    store: &Store,
    path: &Path,
    name: &str,
    embedder: &LocalEmbedder,
) -> BenchResult<IndexSummary> {
    let request = IndexRequest {
        token_counter: SharedTokenCounter(Arc::new(embedder.token_counter())),
        embedding: Some(EmbeddingStage {
            embedder: Arc::new(embedder.clone()),
            vectors: Arc::new(EmbeddedStore::new(store.clone())),
            batch_size: 16,
        }),
        ..IndexRequest::local(path, "eval", name)
    };
    Ok(run_index(store, request, Arc::new(NoProgress)).await?)
}

/// A database of its own, created for one repository and dropped after it.
struct BenchDatabase {
    admin: PgPool,
    name: String,
    store: Store,
}

impl BenchDatabase {
    async fn create(url: &str) -> BenchResult<Self> {
        use sqlx::ConnectOptions;
        let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let name = format!("reposage_eval_{}", uuid::Uuid::new_v4().simple());
        // the name is generated above (hex digits only): safe to splice
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.database(&name))
            .await?;
        let store = Store::from_pool(pool);
        store.migrate().await?;
        Ok(Self { admin, name, store })
    }

    /// Drops the database, unless `REPOSAGE_BENCH_KEEP_DATABASE` is set.
    async fn drop(self) {
        self.store.pool().close().await;
        if std::env::var_os("REPOSAGE_BENCH_KEEP_DATABASE").is_some() {
            println!("database {} kept (REPOSAGE_BENCH_KEEP_DATABASE)", self.name);
            return;
        }
        let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await;
        if let Err(error) = dropped {
            eprintln!("could not drop database {}: {error}", self.name);
        }
    }
}

/// The search's tunables: the defaults, or `REPOSAGE_EVAL_LEXICAL_WEIGHT` for the lexical list's
/// weight in the fusion (to measure a change before making it the default).
fn search_params() -> SearchParams {
    let mut params = SearchParams::default();
    if let Some(weight) = std::env::var("REPOSAGE_EVAL_LEXICAL_WEIGHT")
        .ok()
        .and_then(|w| w.parse().ok())
    {
        params.rrf.lexical_weight = weight;
    }
    params
}
