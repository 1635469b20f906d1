//! The local backend with the real SmolLM2-135M-Instruct GGUF file (`REPOSAGE_LLM_MODEL`).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reposage_llm::local::{LocalModel, LocalModelConfig};
use reposage_llm::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, Error, FinishReason, ToolCall, ToolSpec, Usage,
};

/// The model with its default configuration, loaded once for the tests that only read it.
fn model() -> &'static LocalModel {
    static MODEL: OnceLock<LocalModel> = OnceLock::new();
    MODEL.get_or_init(|| load(LocalModelConfig::new(reposage_testkit::samples::local_llm_model())))
}

/// A model of its own, for tests that read its generation counters.
fn load(config: LocalModelConfig) -> LocalModel {
    LocalModel::load(config).expect("the SmolLM2 GGUF file loads")
}

fn request(messages: Vec<ChatMessage>, max_output_tokens: u32) -> ChatRequest {
    ChatRequest {
        messages,
        tools: Vec::new(),
        max_output_tokens,
        temperature: None,
    }
}

fn question(text: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("You are a helpful assistant. Answer in one short sentence."),
        ChatMessage::user(text),
    ]
}

/// What a finished stream said.
#[derive(Debug)]
struct Answer {
    text: String,
    usage: Usage,
    finish: FinishReason,
}

/// Reads `request`'s stream to its end, checking the events come in order: deltas, then one usage,
/// then the finish reason, then nothing.
async fn answer(model: &LocalModel, request: ChatRequest) -> Answer {
    let mut stream = model.stream(request).await.expect("the request starts");
    let mut text = String::new();
    let mut usage = None;
    let mut finish = None;
    while let Some(event) = stream.next().await {
        assert!(finish.is_none(), "an event after Finished: {event:?}");
        match event.expect("generation does not fail") {
            ChatEvent::Delta(delta) => {
                assert!(usage.is_none(), "text after the usage: {delta:?}");
                assert!(!delta.is_empty(), "an empty delta");
                text.push_str(&delta);
            }
            ChatEvent::Usage(u) => usage = Some(u),
            ChatEvent::Finished(reason) => finish = Some(reason),
            ChatEvent::ToolCall(call) => panic!("a model without tools called {call:?}"),
        }
    }
    Answer {
        text,
        usage: usage.expect("a usage event"),
        finish: finish.expect("a finish event"),
    }
}

#[test]
fn the_model_describes_itself_as_a_local_model_offered_tools() {
    let info = model().info();
    assert_eq!(info.provider, "local");
    assert!(info.name.to_lowercase().contains("smollm2"), "{}", info.name);
    // SmolLM2 was trained on 8192 tokens; candle's rotary table stops at 4096.
    assert_eq!(info.context_window, 4096);
    // Offered in the prompt (Hermes/Qwen `<tool_call>` convention); garbled calls come back as text.
    assert!(info.supports_tools);
}

#[test]
fn a_configured_context_window_caps_the_models_own() {
    let mut config = LocalModelConfig::new(reposage_testkit::samples::local_llm_model());
    config.context_window = Some(1000);
    assert_eq!(load(config).info().context_window, 1000);
}

#[test]
fn tokens_are_counted_with_the_models_own_tokenizer() {
    let model = model();
    // "Hello" "," "Ġworld" "!" in SmolLM2's vocabulary; digits are one token each.
    assert_eq!(model.count_tokens("Hello, world!"), 4);
    assert_eq!(model.count_tokens("2024"), 4);
    assert_eq!(model.count_tokens(""), 0);
    // Text that spells a control token is text, many tokens long.
    assert!(model.count_tokens("<|im_end|>") > 1);
}

#[test]
fn the_prompt_is_chatml_with_each_control_token_a_single_id() {
    let model = model();
    let ids = model.prompt_tokens(&[ChatMessage::user("Hi")]).expect("renders");
    let (im_start, im_end) = (1, 2);
    let user = model.count_tokens("user\nHi");
    let newline = model.count_tokens("\n");
    let assistant = model.count_tokens("assistant\n");
    assert_eq!(ids.len(), 1 + user + 1 + newline + 1 + assistant);
    assert_eq!(ids[0], im_start);
    assert_eq!(ids[1 + user], im_end);
    assert_eq!(ids[1 + user + 1 + newline], im_start);
    assert_eq!(ids.iter().filter(|id| **id == im_start).count(), 2);
}

#[tokio::test]
async fn a_short_question_is_answered_with_text_usage_and_a_stop() {
    let model = model();
    let messages = question("What is the capital of France?");
    let prompt_tokens = model.prompt_tokens(&messages).expect("renders").len();
    let answer = answer(model, request(messages, 48)).await;
    assert!(!answer.text.trim().is_empty(), "{answer:?}");
    assert!(answer.text.contains("Paris"), "{answer:?}");
    assert_eq!(answer.finish, FinishReason::Stop, "{answer:?}");
    assert_eq!(answer.usage.prompt_tokens as usize, prompt_tokens);
    // Every generated token is counted, the closing <|im_end|> included.
    assert_eq!(
        answer.usage.completion_tokens as usize,
        model.count_tokens(&answer.text) + 1,
        "{answer:?}"
    );
}

#[tokio::test]
async fn generation_stops_at_the_output_limit_with_exactly_that_many_tokens() {
    let answer = answer(
        model(),
        request(question("Write a long story about a dragon."), 5),
    )
    .await;
    assert_eq!(answer.finish, FinishReason::Length, "{answer:?}");
    assert_eq!(answer.usage.completion_tokens, 5);
    assert!(!answer.text.is_empty());
}

#[tokio::test]
async fn an_output_limit_of_zero_answers_nothing_and_says_so() {
    let answer = answer(model(), request(question("Hi"), 0)).await;
    assert_eq!(answer.text, "");
    assert_eq!(answer.usage.completion_tokens, 0);
    assert_eq!(answer.finish, FinishReason::Length);
}

#[tokio::test]
async fn a_prompt_that_does_not_fit_is_refused_before_anything_is_generated() {
    let mut config = LocalModelConfig::new(reposage_testkit::samples::local_llm_model());
    config.context_window = Some(96);
    let model = load(config);
    let messages = question(&"The quick brown fox jumps over the lazy dog. ".repeat(4));
    let prompt_tokens = model.prompt_tokens(&messages).expect("renders").len();
    assert!(prompt_tokens < 90, "the prompt alone fits: {prompt_tokens}");

    let too_many = (96 - prompt_tokens + 1) as u32;
    let Err(error) = model.stream(request(messages.clone(), too_many)).await else {
        panic!("a prompt and output over the window must be refused");
    };
    let Error::ContextLengthExceeded { message } = &error else {
        panic!("expected ContextLengthExceeded, got {error:?}");
    };
    assert!(
        message.contains(&format!("{prompt_tokens} prompt tokens")),
        "{message}"
    );
    assert!(
        message.contains(&format!("{too_many} output tokens")),
        "{message}"
    );
    assert!(message.contains("96-token window"), "{message}");
    assert_eq!(model.generation_stats().active, 0, "nothing may have started");

    // Exactly the window is allowed.
    let answer = answer(&model, request(messages, too_many - 1)).await;
    assert!(answer.usage.completion_tokens < too_many);
}

#[tokio::test]
async fn dropping_the_stream_stops_the_generation() {
    let model = load(LocalModelConfig::new(reposage_testkit::samples::local_llm_model()));
    let mut stream = model
        .stream(request(
            question("Write a long story about a dragon, in many chapters."),
            2000,
        ))
        .await
        .expect("the request starts");
    let first = stream.next().await.expect("an event").expect("no error");
    assert!(matches!(first, ChatEvent::Delta(_)), "{first:?}");
    assert_eq!(model.generation_stats().active, 1);
    drop(stream);

    // Only a guard against hanging forever: a stopped generation ends after its current token.
    let deadline = Instant::now() + Duration::from_secs(60);
    while model.generation_stats().active > 0 {
        assert!(Instant::now() < deadline, "the generation did not stop");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        model.generation_stats().cancelled,
        1,
        "it stopped because its stream was dropped"
    );
}

#[tokio::test]
async fn greedy_decoding_answers_the_same_prompt_with_the_same_text() {
    let model = model();
    let ask = || request(question("Name three colours."), 24);
    let first = answer(model, ask()).await;
    let second = answer(model, ask()).await;
    assert_eq!(first.text, second.text);
    assert!(!first.text.is_empty());
}

#[tokio::test]
async fn concurrent_requests_each_have_their_own_cache() {
    let model = model();
    let ask = |text: &str| request(question(text), 16);
    let alone = answer(model, ask("Name three colours.")).await;
    let (together, other) = tokio::join!(
        answer(model, ask("Name three colours.")),
        answer(model, ask("What is the capital of France?"))
    );
    assert_eq!(together.text, alone.text);
    assert_ne!(other.text, alone.text);
}

#[tokio::test]
async fn sampling_with_a_temperature_is_reproducible_with_the_seed() {
    let model = model();
    let ask = || ChatRequest {
        temperature: Some(0.9),
        ..request(question("Tell me about the sea."), 16)
    };
    let first = answer(model, ask()).await;
    let second = answer(model, ask()).await;
    assert_eq!(first.text, second.text);
}

#[test]
fn a_file_that_is_not_gguf_is_refused_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.gguf");
    std::fs::write(&path, b"definitely not a model").expect("write");
    let error = LocalModel::load(LocalModelConfig::new(&path)).expect_err("refused");
    let Error::ModelFile {
        path: reported,
        problem,
    } = &error
    else {
        panic!("expected ModelFile, got {error:?}");
    };
    assert_eq!(reported, &path);
    assert!(problem.contains("GGUF"), "{problem}");
}

#[test]
fn a_missing_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-model.gguf");
    let error = LocalModel::load(LocalModelConfig::new(&path)).expect_err("refused");
    assert!(
        matches!(&error, Error::ModelFile { path: reported, .. } if reported == &path),
        "{error:?}"
    );
}

fn search_tool() -> ToolSpec {
    ToolSpec {
        name: "search".into(),
        description: "Searches the repository's code. Returns the best matching excerpts.".into(),
        parameters: serde_json::json!({
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to look for."}},
            "required": ["query"]
        }),
    }
}

#[test]
fn tools_offered_are_described_in_the_prompt() {
    let model = model();
    let messages = question("Where are retries handled?");
    let without = model.prompt_tokens(&messages).expect("renders").len();
    let with = model
        .prompt_tokens_with_tools(&messages, &[search_tool()])
        .expect("renders")
        .len();
    // The instruction, the schema and the form of a call: well over a hundred tokens.
    assert!(with > without + 100, "{without} without tools, {with} with");
    // Still one system and one user turn, and the assistant's opener.
    let im_start = 1;
    let turns = |ids: &[u32]| ids.iter().filter(|id| **id == im_start).count();
    assert_eq!(
        turns(
            &model
                .prompt_tokens_with_tools(&messages, &[search_tool()])
                .unwrap()
        ),
        3
    );
}

/// What a stream with tools offered said.
#[derive(Debug, Default)]
struct ToolAnswer {
    text: String,
    calls: Vec<ToolCall>,
    finish: Option<FinishReason>,
}

/// Reads a stream to its end, checking the order the OpenAI client keeps: deltas, then tool calls,
/// then the usage, then the finish reason.
async fn tool_answer(model: &LocalModel, request: ChatRequest) -> ToolAnswer {
    let mut stream = model.stream(request).await.expect("the request starts");
    let mut answer = ToolAnswer::default();
    let mut usage = None;
    while let Some(event) = stream.next().await {
        assert!(answer.finish.is_none(), "an event after Finished: {event:?}");
        match event.expect("generation does not fail") {
            ChatEvent::Delta(delta) => {
                assert!(
                    answer.calls.is_empty() && usage.is_none(),
                    "text after calls: {delta:?}"
                );
                answer.text.push_str(&delta);
            }
            ChatEvent::ToolCall(call) => {
                assert!(usage.is_none(), "a call after the usage: {call:?}");
                answer.calls.push(call);
            }
            ChatEvent::Usage(u) => usage = Some(u),
            ChatEvent::Finished(reason) => answer.finish = Some(reason),
        }
    }
    assert!(usage.is_some(), "a usage event");
    answer
}

#[tokio::test]
async fn offered_a_tool_the_model_calls_it_well_formed_or_its_text_comes_back_whole() {
    let messages = vec![
        ChatMessage::system("You are a code assistant. Use the tools to look things up."),
        ChatMessage::user("Where are HTTP retries handled in this repository?"),
    ];
    let answer = tool_answer(
        model(),
        ChatRequest {
            tools: vec![search_tool()],
            ..request(messages, 48)
        },
    )
    .await;
    eprintln!("SmolLM2 offered a tool: {answer:?}");
    if answer.calls.is_empty() {
        // Plain text, or a garbled call as the text it was (tags included), for the assistant to
        // recognise: never a call's tag without its body.
        assert!(
            matches!(answer.finish, Some(FinishReason::Stop | FinishReason::Length)),
            "{answer:?}"
        );
        if answer.text.contains("<tool_call") {
            assert!(answer.text.contains("<tool_call>"), "{answer:?}");
        }
    } else {
        assert_eq!(answer.finish, Some(FinishReason::ToolCalls), "{answer:?}");
        for call in &answer.calls {
            assert_eq!(call.name, "search");
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&call.arguments)
                .expect("the arguments of a call are a JSON object");
        }
        assert!(!answer.text.contains("<tool_call>"), "{answer:?}");
    }
}

#[tokio::test]
async fn tool_definitions_that_do_not_fit_are_left_out_rather_than_refusing() {
    let messages = question("Hi");
    let without = model().prompt_tokens(&messages).expect("renders").len();
    let mut config = LocalModelConfig::new(reposage_testkit::samples::local_llm_model());
    config.context_window = Some(without + 4);
    let model = load(config);
    let answer = tool_answer(
        &model,
        ChatRequest {
            tools: vec![search_tool()],
            ..request(messages, 4)
        },
    )
    .await;
    assert!(answer.calls.is_empty(), "{answer:?}");
    assert!(answer.finish.is_some());
}

#[tokio::test]
async fn asked_for_a_call_the_model_garbles_it_and_it_comes_back_whole_as_text() {
    // Greedy SmolLM2-135M answers "The tool call is:\n<tool_call>\n{"name": "search",
    // "description": …" — the schema, not a call — until the output limit.
    let messages = vec![
        ChatMessage::system("You are a code assistant. Use the tools to look things up."),
        ChatMessage::user("Search the code for retries. Answer only with the tool call."),
    ];
    let answer = tool_answer(
        model(),
        ChatRequest {
            tools: vec![search_tool()],
            ..request(messages, 40)
        },
    )
    .await;
    assert!(answer.calls.is_empty(), "{answer:?}");
    assert_eq!(answer.finish, Some(FinishReason::Length), "{answer:?}");
    let at = answer
        .text
        .find("<tool_call>")
        .unwrap_or_else(|| panic!("the garbled call comes back as text: {answer:?}"));
    assert!(!answer.text[..at].contains('<'), "{answer:?}");
    assert!(answer.text[at..].contains("\"name\": \"search\""), "{answer:?}");
}
