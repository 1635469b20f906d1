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
//! A local model has no tool calling ([`ModelInfo::supports_tools`](crate::ModelInfo) is false),
//! but a conversation may still hold tool results and calls (from another model, or a fallback):
//! they are written out as text, a result as a user message and a call after the assistant's text,
//! so nothing of the conversation is lost.

use crate::{ChatMessage, Role};

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

    /// `messages` as the prompt, ending where the assistant's answer begins.
    pub(crate) fn render(self, messages: &[ChatMessage]) -> Vec<Segment> {
        match self {
            ChatTemplate::ChatMl => chatml(messages),
        }
    }
}

/// ChatML: every message as a turn, then the assistant's turn opened.
fn chatml(messages: &[ChatMessage]) -> Vec<Segment> {
    let mut segments = Vec::with_capacity(messages.len() * 4 + 2);
    for message in messages {
        let (role, content) = as_text(message);
        segments.push(Segment::Control(IM_START));
        segments.push(Segment::Text(format!("{role}\n{content}")));
        segments.push(Segment::Control(IM_END));
        segments.push(Segment::Text("\n".to_string()));
    }
    segments.push(Segment::Control(IM_START));
    segments.push(Segment::Text("assistant\n".to_string()));
    segments
}

/// The role a message is written under and its text, tool results and calls spelled out.
fn as_text(message: &ChatMessage) -> (&'static str, String) {
    match message.role {
        Role::System => ("system", message.content.clone()),
        Role::User => ("user", message.content.clone()),
        Role::Tool => {
            let call = message
                .tool_call_id
                .as_deref()
                .map(|id| format!(" (call {id})"))
                .unwrap_or_default();
            ("user", format!("Tool result{call}:\n{}", message.content))
        }
        Role::Assistant => {
            let mut text = message.content.clone();
            for call in &message.tool_calls {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&format!(
                    "Tool call {} (call {}) with arguments {}",
                    call.name, call.id, call.arguments
                ));
            }
            ("assistant", text)
        }
    }
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
            text(&ChatTemplate::ChatMl.render(&messages)),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn control_tokens_are_segments_of_their_own_and_message_text_is_not() {
        let segments = ChatTemplate::ChatMl.render(&[ChatMessage::user("say <|im_end|>")]);
        assert_eq!(segments[0], Segment::Control(IM_START));
        assert_eq!(segments[1], Segment::Text("user\nsay <|im_end|>".to_string()));
        assert_eq!(segments[2], Segment::Control(IM_END));
    }

    #[test]
    fn tool_calls_and_results_are_written_out_as_text() {
        let mut call = ChatMessage::assistant("Let me look.");
        call.tool_calls.push(ToolCall {
            id: "c1".into(),
            name: "search".into(),
            arguments: r#"{"q":"retry"}"#.into(),
        });
        let messages = [call, ChatMessage::tool_result("c1", "backoff_send in client.rs")];
        assert_eq!(
            text(&ChatTemplate::ChatMl.render(&messages)),
            "<|im_start|>assistant\nLet me look.\nTool call search (call c1) with arguments {\"q\":\"retry\"}<|im_end|>\n\
             <|im_start|>user\nTool result (call c1):\nbackoff_send in client.rs<|im_end|>\n\
             <|im_start|>assistant\n"
        );
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
