//! The chat template: a conversation as the token sequence the model was trained on.
//!
//! The GGUF file's `tokenizer.chat_template` is a Jinja template; rather than run Jinja, the
//! template is recognised by its family and that family's format is written here. Only ChatML
//! (`<|im_start|>role\ncontent<|im_end|>\n`, used by SmolLM2, Qwen and many fine-tunes) is known;
//! any other template is refused when the model loads, naming it, so a model is never prompted in a
//! format it was not trained on.
//!
//! The template's own default system prompt (SmolLM2's "You are a helpful AI assistant named
//! SmolLM…", inserted when the first message is not a system message) is not reproduced: callers
//! send their own system message.
//!
//! Tools follow the Hermes/Qwen convention (see `tools`): the tools offered are described at the
//! end of the system message (a system message of their own when the conversation has none), an
//! assistant's calls are written after its text as `<tool_call>` blocks, and tool results — each a
//! `<tool_response>` block, consecutive results in one turn — are a user turn.

use super::tools;
use crate::{ChatMessage, Role, ToolSpec};

/// ChatML's turn opener, a single control token.
pub(crate) const IM_START: &str = "<|im_start|>";
/// ChatML's turn closer, a single control token; the model ends its answer with it.
pub(crate) const IM_END: &str = "<|im_end|>";

/// One piece of a rendered prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A control token of the template, by its text (one id in the vocabulary).
    Control(&'static str),
    /// Text, encoded with special-token parsing off.
    Text(String),
}

/// The chat template families this crate can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChatTemplate {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message, then `<|im_start|>assistant\n`.
    ChatMl,
}

impl ChatTemplate {
    /// The family of the GGUF file's `tokenizer.chat_template`, or why it cannot be used.
    pub(crate) fn detect(template: Option<&str>) -> Result<Self, String> {
        let Some(template) = template else {
            return Err(
                "the file has no tokenizer.chat_template: supported chat templates are ChatML \
                 (<|im_start|>role … <|im_end|>)"
                    .to_string(),
            );
        };
        if template.contains(IM_START) && template.contains(IM_END) {
            return Ok(ChatTemplate::ChatMl);
        }
        let family = if template.contains("[INST]") {
            "Llama 2 / Mistral ([INST])"
        } else if template.contains("<|start_header_id|>") {
            "Llama 3 (<|start_header_id|>)"
        } else if template.contains("<start_of_turn>") {
            "Gemma (<start_of_turn>)"
        } else if template.contains("<|user|>") {
            "Zephyr / Phi (<|user|>)"
        } else {
            "unrecognised"
        };
        Err(format!(
            "its chat template ({family}) is not supported: supported chat templates are ChatML \
             (<|im_start|>role … <|im_end|>)"
        ))
    }

    /// The control tokens the template writes, which the vocabulary must have.
    pub(crate) fn control_tokens(self) -> &'static [&'static str] {
        match self {
            ChatTemplate::ChatMl => &[IM_START, IM_END],
        }
    }

    /// The control token that ends the model's turn.
    pub(crate) fn end_of_turn(self) -> &'static str {
        match self {
            ChatTemplate::ChatMl => IM_END,
        }
    }

    /// `messages` as the prompt, with `tools` offered (none for a plain answer), ending where the
    /// assistant's answer begins.
    pub(crate) fn render(self, messages: &[ChatMessage], tools: &[ToolSpec]) -> Vec<Segment> {
        match self {
            ChatTemplate::ChatMl => chatml(messages, tools),
        }
    }
}

/// ChatML: every message as a turn (consecutive tool results as one), then the assistant's turn
/// opened.
fn chatml(messages: &[ChatMessage], tools: &[ToolSpec]) -> Vec<Segment> {
    let mut turns: Vec<(&'static str, String)> = Vec::with_capacity(messages.len() + 1);
    let mut tools_described = tools.is_empty();
    for (i, message) in messages.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| messages[p].role);
        match message.role {
            Role::System if !tools_described => {
                tools_described = true;
                let section = tools::system_section(tools);
                let content = if message.content.is_empty() {
                    section
                } else {
                    format!("{}\n\n{section}", message.content)
                };
                turns.push(("system", content));
            }
            Role::System => turns.push(("system", message.content.clone())),
            Role::User => turns.push(("user", message.content.clone())),
            Role::Tool => {
                let response = tools::response_text(&message.content);
                match turns.last_mut() {
                    Some((_, text)) if previous == Some(Role::Tool) => {
                        text.push('\n');
                        text.push_str(&response);
                    }
                    _ => turns.push(("user", response)),
                }
            }
            Role::Assistant => {
                let mut text = message.content.clone();
                for call in &message.tool_calls {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&tools::call_text(call));
                }
                turns.push(("assistant", text));
            }
        }
    }
    if !tools_described {
        turns.insert(0, ("system", tools::system_section(tools)));
    }
    let mut segments = Vec::with_capacity(turns.len() * 4 + 2);
    for (role, content) in turns {
        segments.push(Segment::Control(IM_START));
        segments.push(Segment::Text(format!("{role}\n{content}")));
        segments.push(Segment::Control(IM_END));
        segments.push(Segment::Text("\n".to_string()));
    }
    segments.push(Segment::Control(IM_START));
    segments.push(Segment::Text("assistant\n".to_string()));
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolCall;

    /// The segments joined as the template's text would read.
    fn text(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|segment| match segment {
                Segment::Control(token) => *token,
                Segment::Text(text) => text.as_str(),
            })
            .collect()
    }

    const SMOLLM2_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    #[test]
    fn smollm2s_template_is_recognised_as_chatml() {
        assert_eq!(
            ChatTemplate::detect(Some(SMOLLM2_TEMPLATE)),
            Ok(ChatTemplate::ChatMl)
        );
    }

    #[test]
    fn a_conversation_renders_as_chatml_turns_ending_with_the_assistants_opener() {
        let messages = [
            ChatMessage::system("Be brief."),
            ChatMessage::user("Hi"),
            ChatMessage::assistant("Hello!"),
            ChatMessage::user("What is 2+2?"),
        ];
        assert_eq!(
            text(&ChatTemplate::ChatMl.render(&messages, &[])),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn control_tokens_are_segments_of_their_own_and_message_text_is_not() {
        let segments = ChatTemplate::ChatMl.render(&[ChatMessage::user("say <|im_end|>")], &[]);
        assert_eq!(segments[0], Segment::Control(IM_START));
        assert_eq!(segments[1], Segment::Text("user\nsay <|im_end|>".to_string()));
        assert_eq!(segments[2], Segment::Control(IM_END));
    }

    #[test]
    fn tool_calls_and_results_are_written_in_the_hermes_form() {
        let mut call = ChatMessage::assistant("Let me look.");
        call.tool_calls.push(ToolCall {
            id: "c1".into(),
            name: "search".into(),
            arguments: r#"{"q":"retry"}"#.into(),
        });
        call.tool_calls.push(ToolCall {
            id: "c2".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a.rs"}"#.into(),
        });
        let messages = [
            call,
            ChatMessage::tool_result("c1", "backoff_send in client.rs"),
            ChatMessage::tool_result("c2", "fn main() {}"),
        ];
        assert_eq!(
            text(&ChatTemplate::ChatMl.render(&messages, &[])),
            "<|im_start|>assistant\nLet me look.\n\
             <tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\":\"retry\"}}\n</tool_call>\n\
             <tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\":\"a.rs\"}}\n</tool_call><|im_end|>\n\
             <|im_start|>user\n<tool_response>\nbackoff_send in client.rs\n</tool_response>\n\
             <tool_response>\nfn main() {}\n</tool_response><|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn tools_offered_are_described_at_the_end_of_the_system_message() {
        let tools = [ToolSpec {
            name: "search".into(),
            description: "Searches.".into(),
            parameters: serde_json::json!({"type": "object"}),
        }];
        let messages = [ChatMessage::system("Be brief."), ChatMessage::user("Hi")];
        let rendered = text(&ChatTemplate::ChatMl.render(&messages, &tools));
        let system = rendered
            .strip_prefix("<|im_start|>system\nBe brief.\n\n# Tools\n")
            .unwrap_or_else(|| panic!("{rendered}"));
        assert!(system.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"search\""));
        assert!(system.contains("</tool_call><|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"));
        // Without a system message, the tools have one of their own.
        let rendered = text(&ChatTemplate::ChatMl.render(&[ChatMessage::user("Hi")], &tools));
        assert!(
            rendered.starts_with("<|im_start|>system\n# Tools\n"),
            "{rendered}"
        );
        assert!(rendered.ends_with("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
    }

    #[test]
    fn other_template_families_are_refused_by_name() {
        let llama3 = "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}";
        let problem = ChatTemplate::detect(Some(llama3)).expect_err("refused");
        assert!(
            problem.contains("Llama 3") && problem.contains("ChatML"),
            "{problem}"
        );
        let problem = ChatTemplate::detect(None).expect_err("refused");
        assert!(problem.contains("no tokenizer.chat_template"), "{problem}");
    }
}
