//! Answering one question: context, then the agent loop, a one-shot answer or an extractive one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reposage_llm::{ChatEvent, ChatMessage, ChatModel, ChatRequest, FinishReason, Role, ToolCall, Usage};
use reposage_retrieval::Searcher;
use reposage_store::{RepositoryId, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::answer::{
    Answer, AnswerEvent, AnswerMode, AnswerStatus, AnswerTimings, LimitHit, Searched, ToolStep,
};
use crate::citations::{CitationTracker, Output};
use crate::context::{Budget, Context, ContextBuilder, ContextSettings, FoundBy, pack};
use crate::extractive::{extractive_text, nothing_found_text};
use crate::prompt::{self, AGENT_RULES, RETRIEVAL_RULES};
use crate::request::{AskRequest, Turn};
use crate::tools::{self, Tools};
use crate::{Error, Result, confidence};

/// Where answer events go. A closed receiver (the client left) interrupts the answer.
pub type EventSender = mpsc::Sender<AnswerEvent>;

/// Bounds on one answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerLimits {
    /// Most agent steps (model calls that may use tools); one more call writes the answer.
    pub max_steps: usize,
    /// Most tokens over all model calls, prompt and output.
    pub max_tokens: u32,
    /// Longest time for the whole answer.
    pub max_duration: Duration,
    /// Most tokens of one tool result.
    pub max_tool_result_tokens: usize,
    /// Most context items given up front.
    pub max_items: usize,
}

impl Default for AnswerLimits {
    fn default() -> Self {
        AnswerLimits {
            max_steps: 6,
            max_tokens: 100_000,
            max_duration: Duration::from_secs(120),
            max_tool_result_tokens: 2_000,
            max_items: 12,
        }
    }
}

/// How the assistant answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssistantSettings {
    /// What context is gathered.
    pub context: ContextSettings,
    /// Bounds on each answer.
    pub limits: AnswerLimits,
    /// Most tokens the model writes per call.
    pub max_output_tokens: u32,
    /// Sampling temperature (`None`: the model's default; greedy for the local model).
    pub temperature: Option<f32>,
    /// Offer tools to models that support them (the agent loop).
    pub tools: bool,
}

impl Default for AssistantSettings {
    fn default() -> Self {
        AssistantSettings {
            context: ContextSettings::default(),
            limits: AnswerLimits::default(),
            max_output_tokens: 1_024,
            temperature: Some(0.1),
            tools: true,
        }
    }
}

/// Tokens kept free besides the context, the question and the output: message framing, facts.
const PROMPT_MARGIN_TOKENS: usize = 256;
/// Share of the context window the conversation's earlier turns may take.
const HISTORY_SHARE: usize = 4;
/// Context budget (estimated tokens) of an extractive answer.
const EXTRACTIVE_BUDGET_TOKENS: usize = 6_000;

/// Answers questions about indexed repositories.
#[derive(Debug, Clone)]
pub struct Assistant {
    builder: ContextBuilder,
    model: Option<Arc<dyn ChatModel>>,
    settings: AssistantSettings,
}

impl Assistant {
    /// An assistant reading `store`, searching with `searcher`, writing with `model` (extractive
    /// answers without one).
    pub fn new(
        store: Store,
        searcher: Searcher,
        model: Option<Arc<dyn ChatModel>>,
        settings: AssistantSettings,
    ) -> Self {
        Assistant {
            builder: ContextBuilder::new(store, searcher, settings.context),
            model,
            settings,
        }
    }

    /// The model, when one is configured.
    pub fn model(&self) -> Option<&Arc<dyn ChatModel>> {
        self.model.as_ref()
    }

    /// The settings.
    pub fn settings(&self) -> &AssistantSettings {
        &self.settings
    }

    /// Answers `request`, streaming its events to `events`; `cancel` (or closing the receiver)
    /// interrupts it. Errors are what stops an answer before it starts (a bad request, a
    /// repository that is not indexed, an unreadable index); afterwards the answer ends `failed`
    /// or `interrupted` with what it had.
    pub async fn answer(
        &self,
        request: &AskRequest,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<Answer> {
        request.validate()?;
        let started = Instant::now();
        let mut repositories = Vec::with_capacity(request.repositories.len());
        for id in &request.repositories {
            let record = match self.builder.store().get_repository(*id).await {
                Ok(record) => record,
                Err(reposage_store::Error::NotFound { .. }) => {
                    return Err(Error::NotIndexed {
                        repository: id.to_string(),
                    });
                }
                Err(error) => return Err(error.into()),
            };
            let name = format!("{}/{}", record.namespace, record.name);
            if record.last_indexed_commit.is_none() {
                return Err(Error::NotIndexed { repository: name });
            }
            repositories.push((*id, name));
        }

        let count: Box<dyn Fn(&str) -> usize + Send + Sync> = match &self.model {
            Some(model) => {
                let model = model.clone();
                Box::new(move |text: &str| model.count_tokens(text))
            }
            None => Box::new(reposage_llm::estimate_tokens),
        };
        let history = self.fitting_history(&request.history, &*count);
        let gathered = self
            .builder
            .gather(&request.question, &history, &request.repositories)
            .await?;
        let budget = self.budget(&request.question, &history, &*count);
        let (items, dropped) = pack(gathered.candidates, budget, &*count);
        let context = Context {
            items,
            queries: gathered.queries,
            facts: gathered.facts,
            dropped,
        };
        let mut run = Run {
            assistant: self,
            events,
            cancel,
            started,
            deadline: started + self.settings.limits.max_duration,
            count: &*count,
            searched: Searched {
                queries: context.queries.clone(),
                ..Searched::default()
            },
            context,
            tracker: CitationTracker::new(),
            usage: Usage::default(),
            first_token: None,
            context_time: started.elapsed(),
            status: AnswerStatus::Complete,
            partial: None,
            error: None,
            steps: 0,
        };
        run.emit(AnswerEvent::Context(run.context.items.clone())).await;

        let relevant = run.context.best_score() >= self.settings.context.min_relevance;
        let (mode, fallback, nothing_found) = match &self.model {
            None if !relevant => (AnswerMode::Extractive, None, run.nothing_found().await),
            _ if !relevant && !self.agent_possible() => {
                (AnswerMode::Retrieval, None, run.nothing_found().await)
            }
            None => {
                run.extractive().await;
                (AnswerMode::Extractive, None, false)
            }
            Some(model) if self.agent_possible() => match run
                .agent(model.clone(), &repositories, &request.question, &history)
                .await
            {
                AgentEnd::Answered => {
                    let unsupported = run.tracker.citations().is_empty() && !relevant;
                    (AnswerMode::Agent, None, unsupported)
                }
                AgentEnd::FallBack(reason) => {
                    tracing::info!(reason = %reason, "agent mode fell back to a one-shot answer");
                    run.retrieval(model.clone(), &request.question, &history).await;
                    (AnswerMode::Retrieval, Some(reason), false)
                }
            },
            Some(model) => {
                run.retrieval(model.clone(), &request.question, &history).await;
                (AnswerMode::Retrieval, None, false)
            }
        };
        Ok(run.finish(mode, fallback, nothing_found).await)
    }

    fn agent_possible(&self) -> bool {
        self.settings.tools && self.model.as_ref().is_some_and(|m| m.info().supports_tools)
    }

    /// The most recent turns that fit in a share of the context window.
    fn fitting_history(&self, history: &[Turn], count: &dyn Fn(&str) -> usize) -> Vec<Turn> {
        let window = self.model.as_ref().map_or(8_192, |m| m.info().context_window);
        let mut left = window / HISTORY_SHARE;
        let mut kept = Vec::new();
        for turn in history.iter().rev() {
            let cost = count(&turn.question) + count(&turn.answer) + 8;
            if cost > left {
                break;
            }
            left -= cost;
            kept.push(turn.clone());
        }
        kept.reverse();
        kept
    }

    /// Room for context items: the model's window less the rules, history, question and output.
    fn budget(&self, question: &str, history: &[Turn], count: &dyn Fn(&str) -> usize) -> Budget {
        let Some(model) = &self.model else {
            return Budget {
                tokens: EXTRACTIVE_BUDGET_TOKENS,
                max_items: self.settings.limits.max_items.min(8),
            };
        };
        let rules = if self.agent_possible() {
            AGENT_RULES
        } else {
            RETRIEVAL_RULES
        };
        let history_tokens: usize = history
            .iter()
            .map(|t| count(&t.question) + count(&t.answer) + 8)
            .sum();
        let reserved = count(rules)
            + history_tokens
            + count(question)
            + self.settings.max_output_tokens as usize
            + PROMPT_MARGIN_TOKENS;
        let window = model.info().context_window;
        // An agent needs room for its tool results: it starts with half the budget.
        let share = if self.agent_possible() { 2 } else { 1 };
        Budget {
            tokens: window.saturating_sub(reserved) / share,
            max_items: self.settings.limits.max_items,
        }
    }
}

/// How an agent loop ended.
enum AgentEnd {
    Answered,
    FallBack(String),
}

/// How one model call ended.
enum StepEnd {
    /// The model finished; tool calls and any text held back are returned.
    Finished {
        reason: FinishReason,
        tool_calls: Vec<ToolCall>,
        held: String,
    },
    /// The model could not be started: the error, before anything was written.
    Refused(reposage_llm::Error),
    /// Cancelled, out of time, the client left, or the stream broke: the run's status says which.
    Stopped,
}

/// Whether a step's text is shown as it streams.
#[derive(Debug, PartialEq)]
enum Hold {
    /// Streamed as it comes.
    Live,
    /// Not known yet: a model may be writing a tool call as text.
    Undecided(String),
    /// It looks like a tool call written as text: held until the step ends.
    Holding(String),
}

/// One answer in progress.
struct Run<'a> {
    assistant: &'a Assistant,
    events: &'a EventSender,
    cancel: &'a CancellationToken,
    started: Instant,
    deadline: Instant,
    count: &'a (dyn Fn(&str) -> usize + Send + Sync),
    context: Context,
    tracker: CitationTracker,
    usage: Usage,
    searched: Searched,
    first_token: Option<Duration>,
    context_time: Duration,
    status: AnswerStatus,
    partial: Option<LimitHit>,
    error: Option<String>,
    steps: usize,
}

impl Run<'_> {
    /// Sends an event; false (and the answer interrupted) when the client is gone.
    async fn emit(&mut self, event: AnswerEvent) -> bool {
        if self.status == AnswerStatus::Interrupted {
            return false;
        }
        if self.events.send(event).await.is_err() {
            self.status = AnswerStatus::Interrupted;
            return false;
        }
        true
    }

    /// Shows answer text: citations checked, events sent.
    async fn show(&mut self, text: &str) -> bool {
        let outputs = self.tracker.push(text, &self.context);
        self.send_outputs(outputs).await
    }

    async fn send_outputs(&mut self, outputs: Vec<Output>) -> bool {
        for output in outputs {
            let event = match output {
                Output::Text(text) => {
                    if self.first_token.is_none() && !text.trim().is_empty() {
                        self.first_token = Some(self.started.elapsed());
                    }
                    AnswerEvent::Delta(text)
                }
                Output::Citation(citation) => AnswerEvent::Citation(citation),
            };
            if !self.emit(event).await {
                return false;
            }
        }
        true
    }

    async fn nothing_found(&mut self) -> bool {
        self.searched.files = self.files_given();
        let text = nothing_found_text(&self.searched);
        self.show(&text).await;
        true
    }

    async fn extractive(&mut self) {
        let text = extractive_text(&self.context);
        self.show(&text).await;
    }

    /// One model call over the context: the retrieval mode.
    async fn retrieval(&mut self, model: Arc<dyn ChatModel>, question: &str, history: &[Turn]) {
        let message = prompt::render_question(&self.context, &self.context.items, question);
        let request = self.request(prompt::messages(RETRIEVAL_RULES, history, message), Vec::new());
        match self.step(&*model, request, Hold::Live).await {
            StepEnd::Finished { reason, held, .. } => {
                self.show(&held).await;
                if reason == FinishReason::Length {
                    self.partial = Some(LimitHit::OutputTokens);
                }
            }
            StepEnd::Refused(error) => self.fail(&error),
            StepEnd::Stopped => {}
        }
    }

    /// The agent loop: the model calls tools until it answers, a limit is hit, or its tool calls
    /// prove unusable (then the caller falls back to the retrieval mode).
    async fn agent(
        &mut self,
        model: Arc<dyn ChatModel>,
        repositories: &[(RepositoryId, String)],
        question: &str,
        history: &[Turn],
    ) -> AgentEnd {
        let assistant: &Assistant = self.assistant;
        let limits = assistant.settings.limits;
        let count = self.count;
        let builder = &assistant.builder;
        let tools = Tools::new(builder, repositories, limits.max_tool_result_tokens, count);
        let message = prompt::render_question(&self.context, &self.context.items, question);
        let mut messages = prompt::messages(AGENT_RULES, history, message);
        let mut forced: Option<LimitHit> = None;
        let mut refused_steps = 0;
        loop {
            let last = forced.is_some();
            self.fit_window(&*model, &mut messages);
            let offered = if last { Vec::new() } else { tools::specs() };
            let hold = if last {
                Hold::Live
            } else {
                Hold::Undecided(String::new())
            };
            let request = self.request(messages.clone(), offered);
            let prompt_tokens: usize = messages.iter().map(|m| (self.count)(&m.content) + 4).sum();
            let usage_before = self.usage;
            let end = self.step(&*model, request, hold).await;
            self.steps += 1;
            let (reason, tool_calls, held) = match end {
                StepEnd::Finished {
                    reason,
                    tool_calls,
                    held,
                } => (reason, tool_calls, held),
                StepEnd::Refused(error) if self.steps == 1 && refusal_means_no_tools(&error) => {
                    return AgentEnd::FallBack(format!("the endpoint refused tool definitions: {error}"));
                }
                StepEnd::Refused(error) => {
                    self.fail(&error);
                    return AgentEnd::Answered;
                }
                StepEnd::Stopped => return AgentEnd::Answered,
            };
            // Servers that report no usage: count the prompt and the output ourselves.
            if self.usage == usage_before {
                self.usage.prompt_tokens += prompt_tokens as u32;
                self.usage.completion_tokens += (self.count)(&held) as u32;
            }
            if tool_calls.is_empty() {
                if !last && looks_like_tool_call_text(&held) {
                    if self.tracker.text().is_empty() && self.steps == 1 {
                        return AgentEnd::FallBack(
                            "the model wrote its tool call as text instead of calling the tool".into(),
                        );
                    }
                    messages.push(ChatMessage::assistant(held));
                    messages.push(ChatMessage::user(
                        "Call tools through the tool interface, or answer now from the items you have.",
                    ));
                    forced = Some(LimitHit::Steps);
                    continue;
                }
                self.show(&held).await;
                if reason == FinishReason::Length {
                    self.partial = Some(LimitHit::OutputTokens);
                } else if let Some(limit) = forced.filter(|_| last && self.partial.is_none()) {
                    self.partial = Some(limit);
                }
                return AgentEnd::Answered;
            }
            if last {
                // Tools were not offered; a model calling them anyway has nothing more to say.
                return AgentEnd::Answered;
            }
            let mut assistant_message = ChatMessage::assistant(held);
            assistant_message.tool_calls = tool_calls.clone();
            messages.push(assistant_message);
            let mut refused = 0;
            for call in &tool_calls {
                self.searched
                    .tools
                    .push(format!("{}({})", call.name, shorten(&call.arguments, 200)));
                let (content, summary, numbers) = match tools.call(&call.name, &call.arguments).await {
                    Ok(Ok(result)) => {
                        self.searched.queries.extend(result.queries.iter().cloned());
                        let numbers = self.context.extend(result.items.clone());
                        let items: Vec<_> = numbers
                            .iter()
                            .filter_map(|n| self.context.item(*n).cloned())
                            .collect();
                        let rendered = crate::tools::ToolResult {
                            items: items.clone(),
                            ..result.clone()
                        }
                        .render();
                        if !items.is_empty() && !self.emit(AnswerEvent::Context(items)).await {
                            return AgentEnd::Answered;
                        }
                        (rendered, result.summary, numbers)
                    }
                    Ok(Err(refusal)) => {
                        refused += 1;
                        (format!("error: {}", refusal.0), refusal.0, Vec::new())
                    }
                    Err(error) => {
                        self.fail(&error);
                        return AgentEnd::Answered;
                    }
                };
                messages.push(ChatMessage::tool_result(call.id.clone(), content));
                let step = ToolStep {
                    step: self.steps,
                    name: call.name.clone(),
                    arguments: shorten(&call.arguments, 500),
                    summary,
                    items: numbers,
                };
                if !self.emit(AnswerEvent::Tool(step)).await {
                    return AgentEnd::Answered;
                }
            }
            refused_steps = if refused == tool_calls.len() {
                refused_steps + 1
            } else {
                0
            };
            if refused_steps >= 2
                && self.tracker.text().is_empty()
                && self
                    .context
                    .items
                    .iter()
                    .all(|i| !matches!(i.found_by, FoundBy::Tool { .. }))
            {
                return AgentEnd::FallBack("the model's tool calls could not be run".into());
            }
            if self.steps >= limits.max_steps {
                forced = Some(LimitHit::Steps);
            } else if self.usage.prompt_tokens + self.usage.completion_tokens >= limits.max_tokens {
                forced = Some(LimitHit::Tokens);
            }
            if forced.is_some() {
                messages.push(ChatMessage::user(
                    "Answer now from the items you have, citing them.",
                ));
            }
        }
    }

    /// Shrinks the oldest tool results until the conversation fits the model's window.
    fn fit_window(&self, model: &dyn ChatModel, messages: &mut [ChatMessage]) {
        let window = model.info().context_window;
        let output = self.assistant.settings.max_output_tokens as usize;
        let total = |messages: &[ChatMessage]| -> usize {
            messages
                .iter()
                .map(|m| (self.count)(&m.content) + 4)
                .sum::<usize>()
                + PROMPT_MARGIN_TOKENS
        };
        for i in 0..messages.len() {
            if total(messages) + output <= window {
                break;
            }
            if messages[i].role == Role::Tool && messages[i].content.len() > 80 {
                messages[i].content =
                    "(result elided to fit the context window; its items stay citable)".into();
            }
        }
    }

    fn request(&self, messages: Vec<ChatMessage>, tools: Vec<reposage_llm::ToolSpec>) -> ChatRequest {
        ChatRequest {
            messages,
            tools,
            max_output_tokens: self.assistant.settings.max_output_tokens,
            temperature: self.assistant.settings.temperature,
        }
    }

    /// One model call, streamed. Text is shown as it comes unless `hold` says to wait.
    async fn step(&mut self, model: &dyn ChatModel, request: ChatRequest, mut hold: Hold) -> StepEnd {
        let started = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return self.interrupted(),
            _ = self.events.closed() => return self.interrupted(),
            _ = tokio::time::sleep_until(self.deadline.into()) => return self.out_of_time(),
            started = model.stream(request) => started,
        };
        let mut stream = match started {
            Ok(stream) => stream,
            Err(error) => return StepEnd::Refused(error),
        };
        let mut tool_calls = Vec::new();
        loop {
            let next = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return self.interrupted(),
                _ = self.events.closed() => return self.interrupted(),
                _ = tokio::time::sleep_until(self.deadline.into()) => return self.out_of_time(),
                next = stream.next() => next,
            };
            match next {
                Some(Ok(ChatEvent::Delta(text))) => match &mut hold {
                    Hold::Live => {
                        if !self.show(&text).await {
                            return StepEnd::Stopped;
                        }
                    }
                    Hold::Holding(held) => held.push_str(&text),
                    Hold::Undecided(held) => {
                        held.push_str(&text);
                        let start = held.trim_start();
                        if looks_like_tool_call_start(start) {
                            hold = Hold::Holding(std::mem::take(held));
                        } else if start.chars().count() >= 12 || start.contains('\n') {
                            let shown = std::mem::take(held);
                            hold = Hold::Live;
                            if !self.show(&shown).await {
                                return StepEnd::Stopped;
                            }
                        }
                    }
                },
                Some(Ok(ChatEvent::ToolCall(call))) => tool_calls.push(call),
                Some(Ok(ChatEvent::Usage(usage))) => {
                    self.usage.prompt_tokens += usage.prompt_tokens;
                    self.usage.completion_tokens += usage.completion_tokens;
                    if !self.emit(AnswerEvent::Usage(usage)).await {
                        return StepEnd::Stopped;
                    }
                }
                Some(Ok(ChatEvent::Finished(reason))) => {
                    let held = match hold {
                        Hold::Live => String::new(),
                        Hold::Undecided(held) | Hold::Holding(held) => held,
                    };
                    return StepEnd::Finished {
                        reason,
                        tool_calls,
                        held,
                    };
                }
                Some(Err(error)) => {
                    self.fail(&error);
                    return StepEnd::Stopped;
                }
                None => {
                    self.fail(&reposage_llm::Error::Stream(
                        "the stream ended without a finish reason".into(),
                    ));
                    return StepEnd::Stopped;
                }
            }
        }
    }

    fn interrupted(&mut self) -> StepEnd {
        self.status = AnswerStatus::Interrupted;
        StepEnd::Stopped
    }

    fn out_of_time(&mut self) -> StepEnd {
        self.partial = Some(LimitHit::Seconds);
        StepEnd::Stopped
    }

    fn fail(&mut self, error: &dyn std::error::Error) {
        self.status = AnswerStatus::Failed;
        self.error = Some(error_chain(error));
    }

    fn files_given(&self) -> Vec<String> {
        let mut files: Vec<String> = self
            .context
            .items
            .iter()
            .map(|i| format!("{}:{}", i.repository, i.path))
            .collect();
        files.sort();
        files.dedup();
        files
    }

    /// Ends the answer: held text flushed, the `done` event sent.
    async fn finish(mut self, mode: AnswerMode, fallback: Option<String>, nothing_found: bool) -> Answer {
        let rest = self.tracker.finish();
        if self.status != AnswerStatus::Interrupted {
            self.send_outputs(rest).await;
        }
        self.searched.files = self.files_given();
        let total = self.started.elapsed();
        let answer = Answer {
            text: self.tracker.text().to_string(),
            citations: self.tracker.citations().to_vec(),
            mode,
            fallback,
            model: match mode {
                AnswerMode::Extractive => None,
                _ => self.assistant.model.as_ref().map(|m| m.info().name.clone()),
            },
            status: self.status,
            partial: self.partial,
            error: self.error.clone(),
            confidence: confidence(mode, &self.context, self.tracker.coverage(), nothing_found),
            nothing_found,
            rejected_citations: self.tracker.rejected(),
            usage: self.usage,
            searched: self.searched.clone(),
            context_items: self.context.items.len(),
            timings: AnswerTimings {
                context_ms: AnswerTimings::ms(self.context_time),
                first_token_ms: self.first_token.map(AnswerTimings::ms),
                total_ms: AnswerTimings::ms(total),
            },
        };
        self.emit(AnswerEvent::Done(Box::new(answer.clone()))).await;
        answer
    }
}

/// True for an error that means the endpoint does not take tool definitions (so the retrieval mode
/// may still work), as opposed to a bad key or an unknown model.
fn refusal_means_no_tools(error: &reposage_llm::Error) -> bool {
    matches!(error, reposage_llm::Error::ApiStatus { status: 400 | 422, message, .. }
        if message.to_ascii_lowercase().contains("tool"))
}

/// True when a step's text starts like a tool call written as text.
fn looks_like_tool_call_start(text: &str) -> bool {
    text.starts_with('{')
        || text.starts_with("[{")
        || text.starts_with("<tool")
        || text.starts_with("<|")
        || text.starts_with("```json")
        || text.starts_with("<function")
}

/// True when a whole step's text is a tool call written as text (JSON naming a tool, or a
/// `<tool_call>` block), not an answer.
pub(crate) fn looks_like_tool_call_text(text: &str) -> bool {
    let text = text.trim();
    if text.contains("<tool_call>") || text.contains("<function") {
        return true;
    }
    let json = text
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    if !(json.starts_with('{') || json.starts_with('[')) {
        return false;
    }
    let names: Vec<String> = tools::specs().into_iter().map(|s| s.name).collect();
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(value) => {
            let mentions = |v: &serde_json::Value| {
                ["name", "function", "tool", "tool_name"]
                    .iter()
                    .any(|k| v.get(k).is_some())
            };
            mentions(&value) || value.as_array().is_some_and(|a| a.iter().any(mentions))
        }
        // Garbled JSON that names a tool is still a tool call, badly written.
        Err(_) => names.iter().any(|n| json.contains(n.as_str())),
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// `error: cause: cause` on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_written_as_text_are_recognised() {
        for text in [
            r#"{"name": "search", "arguments": {"query": "retry"}}"#,
            "```json\n{\"function\": \"read_file\"}\n```",
            "<tool_call>\n{\"name\": \"search\"}\n</tool_call>",
            r#"[{"tool": "find_symbol"}]"#,
            r#"{"name": "search", "arguments": {"query": "retry""#,
        ] {
            assert!(looks_like_tool_call_text(text), "{text}");
        }
        for text in [
            "The retry loop lives in client.rs [1].",
            "{braces} in prose",
            "[1] says so",
        ] {
            assert!(!looks_like_tool_call_text(text), "{text}");
        }
    }
}
