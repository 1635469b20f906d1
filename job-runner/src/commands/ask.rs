//! `ask`: a question about indexed repositories, answered on the terminal as it is written, with
//! its verified citations (or, with `--json`, the final document an AnalysisQuery's status is
//! written from). Reads only: no migrations.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use reposage_assistant::{Answer, AnswerEvent, AnswerStatus, AskRequest, Assistant, CancellationToken};
use reposage_retrieval::{SearchParams, Searcher};
use reposage_runtime::llm::LlmArgs;
use reposage_runtime::{DatabaseArgs, RetrievalArgs};
use serde::Serialize;
use tokio::sync::mpsc;

/// Options of `ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question, in natural language.
    question: String,
    /// Answer from this repository (its name in --namespace); repeatable. Every indexed
    /// repository when omitted.
    #[arg(long)]
    repository: Vec<String>,
    /// Namespace of --repository.
    #[arg(long, default_value = "local")]
    namespace: String,
    /// Print only the final answer document, as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    retrieval: RetrievalArgs,
    #[command(flatten)]
    llm: LlmArgs,
}

/// A repository an answer was computed from.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AnsweredRepository {
    /// `namespace/name`.
    repository: String,
    /// The indexed revision, `<ref>@sha1:<commit>` (an AnalysisQuery's `answeredRevision`).
    revision: Option<String>,
    /// The indexed commit.
    commit_sha: Option<String>,
}

/// What `ask --json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AskDocument {
    question: String,
    repositories: Vec<AnsweredRepository>,
    answer: Answer,
}

/// Runs `ask`.
pub async fn run(database: &DatabaseArgs, args: AskArgs) -> anyhow::Result<()> {
    let AskArgs {
        question,
        repository,
        namespace,
        json,
        retrieval,
        llm,
    } = args;
    let store = database
        .connect(super::POOL_SIZE)
        .await
        .context("connecting to Postgres")?;
    let records = if repository.is_empty() {
        store.list_repositories().await?
    } else {
        let mut records = Vec::new();
        for name in &repository {
            records.push(
                store
                    .find_repository(&namespace, name)
                    .await?
                    .with_context(|| format!("no repository {namespace}/{name} is indexed"))?,
            );
        }
        records
    };
    anyhow::ensure!(
        !records.is_empty(),
        "no repository is indexed yet: run `index` first"
    );

    let settings = llm.assistant_settings()?;
    let model = llm.connect().await?;
    let retrieval = reposage_retrieval::connect(&retrieval.settings()?, &store).await?;
    let searcher = Searcher::new(store.clone(), retrieval.semantic, SearchParams::default());
    let assistant = Assistant::new(store.clone(), searcher, model, settings);

    let request = AskRequest::new(question.clone(), records.iter().map(|r| r.id).collect());
    let (sender, mut receiver) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let printer = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            if !json && let AnswerEvent::Delta(text) = &event {
                let mut out = std::io::stdout().lock();
                let _ = write!(out, "{text}");
                let _ = out.flush();
            }
        }
    });
    let interrupt = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let answer = assistant.answer(&request, &sender, &cancel).await?;
    drop(sender);
    printer.await.context("printing the answer")?;
    interrupt.abort();

    if json {
        let document = AskDocument {
            question,
            repositories: records
                .iter()
                .map(|r| AnsweredRepository {
                    repository: format!("{}/{}", r.namespace, r.name),
                    revision: r.last_indexed_revision(),
                    commit_sha: r.last_indexed_commit.clone(),
                })
                .collect(),
            answer,
        };
        println!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(());
    }
    println!();
    if !answer.citations.is_empty() {
        println!("\nCitations:");
        for citation in &answer.citations {
            println!(
                "  [{}] {} {}:{}-{} @ {}",
                citation.id,
                citation.repository,
                citation.path,
                citation.start_line,
                citation.end_line,
                &citation.commit_sha[..citation.commit_sha.len().min(12)],
            );
        }
    }
    let model = answer.model.as_deref().unwrap_or("no model");
    let fallback = answer
        .fallback
        .as_deref()
        .map(|reason| format!(" (agent mode fell back: {reason})"))
        .unwrap_or_default();
    let partial = answer
        .partial
        .map(|limit| format!(", cut short by the {limit:?} limit"))
        .unwrap_or_default();
    eprintln!(
        "\n{} answer by {model}{fallback}: confidence {:.2}, {} citation(s) ({} rejected), {} context item(s), {:.0} ms{partial}",
        answer.mode.as_str(),
        answer.confidence,
        answer.citations.len(),
        answer.rejected_citations.total(),
        answer.context_items,
        answer.timings.total_ms,
    );
    match answer.status {
        AnswerStatus::Complete => Ok(()),
        AnswerStatus::Interrupted => anyhow::bail!("the answer was interrupted"),
        AnswerStatus::Failed => anyhow::bail!(
            "the answer failed: {}",
            answer.error.as_deref().unwrap_or("unknown error")
        ),
    }
}
