//! Tool calling in the prompt, the Hermes/Qwen convention ChatML models are tuned on.
//!
//! The tools go into the system message — a short instruction, one JSON schema per tool inside
//! `<tools></tools>`, and the form of a call: `<tool_call>{"name": …, "arguments": {…}}</tool_call>`.
//! Earlier calls are written back in that form and tool results as `<tool_response>` blocks, so the
//! model reads its own conversation in the format it writes.
//!
//! [`ToolCallScanner`] reads the generated text as it comes: text before a `<tool_call>` passes
//! through (all but a possible tag prefix, held until the next text tells), the call's body is held
//! until `</tool_call>` and parsed. A well-formed call naming an offered tool becomes a
//! [`ToolCall`]; any other — JSON that does not parse, no name, an unknown tool, a tag never closed —
//! comes out as its raw text, exactly as an OpenAI-compatible server (vLLM's or llama.cpp's Hermes
//! parser, Ollama) returns a call it cannot parse: the assistant recognises a tool call written as
//! text and falls back to a one-shot answer. After a call only another call may follow: any other
//! text ends the turn, as the model has nothing to say until the tools have run.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::{ToolCall, ToolSpec};

/// Opens a call.
pub(crate) const OPEN: &str = "<tool_call>";
/// Closes a call.
pub(crate) const CLOSE: &str = "</tool_call>";

/// Ids of calls, unique within the process.
static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(1);

/// The system message's section describing `tools` and how to call them (Qwen2.5's wording).
pub(crate) fn system_section(tools: &[ToolSpec]) -> String {
    let mut text = String::from(
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n\
         You are provided with function signatures within <tools></tools> XML tags:\n<tools>",
    );
    for tool in tools {
        // Written by hand to keep the convention's key order (name first), which serde_json's
        // sorted maps would not.
        text.push_str(&format!(
            "\n{{\"type\": \"function\", \"function\": {{\"name\": {}, \"description\": {}, \"parameters\": {}}}}}",
            Value::String(tool.name.clone()),
            Value::String(tool.description.clone()),
            tool.parameters
        ));
    }
    text.push_str(
        "\n</tools>\n\nFor each function call, return a json object with function name and \
         arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n\
         {\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>",
    );
    text
}

/// An earlier call as the model would have written it.
pub(crate) fn call_text(call: &ToolCall) -> String {
    let name = Value::String(call.name.clone());
    // Arguments that do not parse (a garbled call kept in the conversation) are quoted as a string.
    let arguments = serde_json::from_str::<Value>(&call.arguments)
        .unwrap_or_else(|_| Value::String(call.arguments.clone()));
    format!("{OPEN}\n{{\"name\": {name}, \"arguments\": {arguments}}}\n{CLOSE}")
}

/// A tool's result as the model reads it.
pub(crate) fn response_text(content: &str) -> String {
    format!("<tool_response>\n{content}\n</tool_response>")
}

/// One piece of the generated text, as the scanner sorts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Answer text.
    Text(String),
    /// A well-formed call of an offered tool.
    Call(ToolCall),
    /// A call that cannot be used, as the model wrote it (tags included), and why.
    Garbled {
        /// The raw text, `<tool_call>` and all.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Where the scanner is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Answer text; `pending` is a possible prefix of [`OPEN`].
    Text,
    /// Inside a call; `pending` is its body so far.
    InCall,
    /// After a call; `pending` is whitespace and perhaps a prefix of [`OPEN`].
    AfterCall,
}

/// Sorts generated text into answer text and tool calls as it streams.
#[derive(Debug)]
pub(crate) struct ToolCallScanner {
    /// The tools offered: a call of any other is garbled.
    names: Vec<String>,
    state: State,
    /// Text held back (see [`State`]).
    pending: String,
    /// True once text other than a call followed a call: the turn is over.
    ended: bool,
}

impl ToolCallScanner {
    /// A scanner accepting calls of `tools`.
    pub(crate) fn new(tools: &[ToolSpec]) -> Self {
        ToolCallScanner {
            names: tools.iter().map(|tool| tool.name.clone()).collect(),
            state: State::Text,
            pending: String::new(),
            ended: false,
        }
    }

    /// True once the model went on with something other than a call after a call: generation
    /// should stop, the calls are to be run.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Sorts the next generated `text`; what cannot be decided yet is held.
    pub(crate) fn push(&mut self, text: &str) -> Vec<Piece> {
        let mut pieces = Vec::new();
        if self.ended {
            return pieces;
        }
        self.pending.push_str(text);
        loop {
            match self.state {
                State::Text => {
                    if let Some(at) = self.pending.find(OPEN) {
                        if at > 0 {
                            pieces.push(Piece::Text(self.pending[..at].to_string()));
                        }
                        self.pending.drain(..at + OPEN.len());
                        self.state = State::InCall;
                        continue;
                    }
                    let keep = tag_prefix_len(&self.pending);
                    let ready = self.pending.len() - keep;
                    if ready > 0 {
                        pieces.push(Piece::Text(self.pending[..ready].to_string()));
                        self.pending.drain(..ready);
                    }
                    break;
                }
                State::InCall => {
                    let Some(at) = self.pending.find(CLOSE) else { break };
                    let body = self.pending[..at].to_string();
                    self.pending.drain(..at + CLOSE.len());
                    match self.parse(&body) {
                        Ok(call) => {
                            pieces.push(Piece::Call(call));
                            self.state = State::AfterCall;
                        }
                        Err(problem) => {
                            pieces.push(Piece::Garbled {
                                text: format!("{OPEN}{body}{CLOSE}"),
                                problem,
                            });
                            self.state = State::Text;
                        }
                    }
                }
                State::AfterCall => {
                    let rest = self.pending.trim_start();
                    if let Some(body) = rest.strip_prefix(OPEN) {
                        self.pending = body.to_string();
                        self.state = State::InCall;
                        continue;
                    }
                    if !OPEN.starts_with(rest) {
                        self.ended = true;
                        self.pending.clear();
                    }
                    break;
                }
            }
        }
        pieces
    }

    /// The end of the generated text: held text comes out, a call never closed is garbled.
    pub(crate) fn finish(&mut self) -> Vec<Piece> {
        let pending = std::mem::take(&mut self.pending);
        match self.state {
            State::Text if !pending.is_empty() => vec![Piece::Text(pending)],
            State::Text | State::AfterCall => Vec::new(),
            State::InCall => vec![Piece::Garbled {
                text: format!("{OPEN}{pending}"),
                problem: format!("the answer ended before {CLOSE}"),
            }],
        }
    }

    /// A call's body as a call of an offered tool, or what is wrong with it.
    fn parse(&self, body: &str) -> Result<ToolCall, String> {
        let value: Value =
            serde_json::from_str(body.trim()).map_err(|e| format!("its JSON does not parse: {e}"))?;
        let Value::Object(call) = value else {
            return Err("it is not a JSON object".into());
        };
        let name = match call.get("name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => return Err("it names no tool".into()),
        };
        if !self.names.contains(&name) {
            return Err(format!(
                "it calls {name:?}, which is not one of the tools offered ({})",
                self.names.join(", ")
            ));
        }
        let arguments = match call.get("arguments").or_else(|| call.get("parameters")) {
            None | Some(Value::Null) => "{}".to_string(),
            Some(arguments @ Value::Object(_)) => arguments.to_string(),
            // Some models write the arguments as a JSON string, the way the OpenAI API sends them.
            Some(Value::String(text))
                if serde_json::from_str::<serde_json::Map<String, Value>>(text).is_ok() =>
            {
                text.clone()
            }
            Some(_) => return Err("its arguments are not a JSON object".into()),
        };
        Ok(ToolCall {
            id: format!("call_local_{}", NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed)),
            name,
            arguments,
        })
    }
}

/// Length of the longest end of `text` that begins [`OPEN`] (not all of it).
fn tag_prefix_len(text: &str) -> usize {
    (1..OPEN.len())
        .rev()
        .find(|&n| text.ends_with(&OPEN[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tools() -> Vec<ToolSpec> {
        ["search", "read_file"]
            .into_iter()
            .map(|name| ToolSpec {
                name: name.into(),
                description: format!("The {name} tool."),
                parameters: json!({"type": "object", "properties": {}}),
            })
            .collect()
    }

    /// Every piece `chunks` make, held text flushed at the end, and whether the turn ended early.
    fn scan(chunks: &[&str]) -> (Vec<Piece>, bool) {
        let mut scanner = ToolCallScanner::new(&tools());
        let mut pieces = Vec::new();
        for chunk in chunks {
            pieces.extend(scanner.push(chunk));
        }
        let ended = scanner.ended();
        pieces.extend(scanner.finish());
        (pieces, ended)
    }

    /// The text pieces joined.
    fn text(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn calls(pieces: &[Piece]) -> Vec<(String, String)> {
        pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Call(call) => Some((call.name.clone(), call.arguments.clone())),
                _ => None,
            })
            .collect()
    }

    fn garbled(pieces: &[Piece]) -> Vec<(String, String)> {
        pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Garbled { text, problem } => Some((text.clone(), problem.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_well_formed_call_becomes_a_tool_call_and_no_text() {
        let (pieces, _) = scan(&[
            "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"retry\"}}\n</tool_call>",
        ]);
        assert_eq!(
            calls(&pieces),
            [("search".to_string(), r#"{"query":"retry"}"#.to_string())]
        );
        assert_eq!(text(&pieces), "");
        assert!(garbled(&pieces).is_empty());
    }

    #[test]
    fn a_tag_split_across_chunks_is_held_not_streamed() {
        let chunks = [
            "Let me look",
            " <",
            "tool",
            "_c",
            "all>\n{\"name\": \"re",
            "ad_file\", \"argu",
            "ments\": {\"path\": \"a.rs\"}}\n</tool",
            "_call>",
        ];
        let mut scanner = ToolCallScanner::new(&tools());
        let mut streamed = String::new();
        let mut found = Vec::new();
        for chunk in chunks {
            for piece in scanner.push(chunk) {
                match piece {
                    Piece::Text(text) => streamed.push_str(&text),
                    Piece::Call(call) => found.push(call),
                    Piece::Garbled { text, .. } => panic!("garbled: {text}"),
                }
            }
            assert!(!streamed.contains('<'), "a tag prefix was streamed: {streamed:?}");
        }
        assert!(scanner.finish().is_empty());
        assert_eq!(streamed, "Let me look ");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "read_file");
        assert_eq!(found[0].arguments, r#"{"path":"a.rs"}"#);
    }

    #[test]
    fn text_before_the_call_streams_and_a_lone_angle_bracket_is_released() {
        let (pieces, _) = scan(&[
            "if a <",
            " b then",
            "\n<tool_call>{\"name\": \"search\"}</tool_call>",
        ]);
        assert_eq!(text(&pieces), "if a < b then\n");
        assert_eq!(calls(&pieces), [("search".to_string(), "{}".to_string())]);
        // A prefix of the tag at the very end is text after all.
        let (pieces, _) = scan(&["x <tool_c"]);
        assert_eq!(text(&pieces), "x <tool_c");
    }

    #[test]
    fn bad_json_comes_out_as_the_raw_text_it_was() {
        let raw = "<tool_call>{\"name\": \"search\" \"arguments\": {query: retry}}</tool_call>";
        let (pieces, _) = scan(&[raw, " and more"]);
        let garbled = garbled(&pieces);
        assert_eq!(garbled.len(), 1);
        assert_eq!(garbled[0].0, raw);
        assert!(garbled[0].1.contains("JSON"), "{}", garbled[0].1);
        assert!(calls(&pieces).is_empty());
        assert_eq!(
            text(&pieces),
            " and more",
            "text after a garbled call still streams"
        );
    }

    #[test]
    fn an_unknown_tool_or_a_missing_name_is_garbled() {
        let (pieces, _) = scan(&["<tool_call>{\"name\": \"get_weather\", \"arguments\": {}}</tool_call>"]);
        let problem = &garbled(&pieces)[0].1;
        assert!(
            problem.contains("get_weather") && problem.contains("search"),
            "{problem}"
        );
        let (pieces, _) = scan(&["<tool_call>{\"arguments\": {\"query\": \"x\"}}</tool_call>"]);
        assert!(garbled(&pieces)[0].1.contains("names no tool"));
        let (pieces, _) = scan(&["<tool_call>{\"name\": \"search\", \"arguments\": [1]}</tool_call>"]);
        assert!(garbled(&pieces)[0].1.contains("arguments"));
        assert!(calls(&pieces).is_empty());
    }

    #[test]
    fn arguments_written_as_a_json_string_are_accepted() {
        let (pieces, _) =
            scan(&[r#"<tool_call>{"name": "search", "arguments": "{\"query\": \"x\"}"}</tool_call>"#]);
        assert_eq!(
            calls(&pieces),
            [("search".to_string(), r#"{"query": "x"}"#.to_string())]
        );
    }

    #[test]
    fn an_unclosed_tag_at_the_output_limit_is_garbled_with_its_text() {
        let (pieces, _) = scan(&["Sure. ", "<tool_call>\n{\"name\": \"search\", \"argu"]);
        assert_eq!(text(&pieces), "Sure. ");
        let garbled = garbled(&pieces);
        assert_eq!(garbled[0].0, "<tool_call>\n{\"name\": \"search\", \"argu");
        assert!(garbled[0].1.contains("ended before"), "{}", garbled[0].1);
    }

    #[test]
    fn calls_may_follow_each_other_but_other_text_ends_the_turn() {
        let call = |name: &str| format!("<tool_call>{{\"name\": \"{name}\"}}</tool_call>");
        let (pieces, ended) = scan(&[&call("search"), "\n", "<tool", &call("read_file")[5..]]);
        assert_eq!(calls(&pieces).len(), 2);
        assert!(!ended);
        let (pieces, ended) = scan(&[&call("search"), "\nNow I wait for the result."]);
        assert_eq!(calls(&pieces).len(), 1);
        assert_eq!(text(&pieces), "", "nothing after a call is shown");
        assert!(ended);
    }

    #[test]
    fn calls_are_written_back_as_the_model_writes_them() {
        let call = ToolCall {
            id: "c1".into(),
            name: "search".into(),
            arguments: r#"{"query":"retry"}"#.into(),
        };
        assert_eq!(
            call_text(&call),
            "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\":\"retry\"}}\n</tool_call>"
        );
        let garbled = ToolCall {
            arguments: "{query".into(),
            ..call
        };
        assert!(call_text(&garbled).contains(r#""arguments": "{query""#));
        let section = system_section(&tools());
        assert!(
            section.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"search\", \"description\": \"The search tool.\", \"parameters\": {"),
            "{section}"
        );
        assert!(section.contains("<tool_call></tool_call>"));
    }
}
