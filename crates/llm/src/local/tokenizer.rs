//! The model's tokenizer, rebuilt from the GGUF file's `tokenizer.ggml.*` metadata, and the
//! incremental decoding of generated tokens into text.
//!
//! Only byte-level BPE vocabularies (`tokenizer.ggml.model` = `gpt2`) are supported: the tokens and
//! merges become a [`tokenizers`] BPE model behind a byte-level pre-tokenizer (with digits split one
//! by one first when `tokenizer.ggml.pre` asks for it, as SmolLM's and StarCoder's do). Control and
//! user-defined tokens (`<|im_start|>`, `<|im_end|>`, …) are added as special tokens, so each is one
//! id; text from a conversation is encoded with special-token parsing off, so a message that spells
//! `<|im_end|>` stays text and cannot end its turn.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper, Tokenizer};

use crate::{Error, Result};

/// `tokenizer.ggml.token_type` of a control token (`<|endoftext|>`, `<|im_start|>`, …).
const TOKEN_TYPE_CONTROL: i32 = 3;
/// `tokenizer.ggml.token_type` of a user-defined token (added to the vocabulary as a whole).
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// `tokenizer.ggml.pre` values whose pre-tokenization is GPT-2's regex alone.
const PRE_GPT2: &[&str] = &["default", "gpt2", "gpt-2", "mpt", "olmo", "jais"];
/// `tokenizer.ggml.pre` values that split every digit off before GPT-2's regex (llama.cpp's
/// `\p{N}` rule).
const PRE_DIGITS_THEN_GPT2: &[&str] = &[
    "smollm",
    "starcoder",
    "refact",
    "command-r",
    "codeshell",
    "exaone",
    "minerva-7b",
];

/// The tokenizer of a GGUF model: text to ids for prompts, ids to bytes for generated text.
#[derive(Clone)]
pub(crate) struct GgufTokenizer {
    /// Encodes text with special-token parsing off (`<|im_end|>` in a message is text).
    text: Tokenizer,
    /// Every token's bytes, by id; empty for control tokens (they are never shown).
    bytes: Vec<Vec<u8>>,
    /// The control and user-defined tokens, by their text.
    special: HashMap<String, u32>,
    /// `tokenizer.ggml.eos_token_id`.
    eos: Option<u32>,
}

impl std::fmt::Debug for GgufTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("vocabulary", &self.bytes.len())
            .field("special", &self.special.len())
            .field("eos", &self.eos)
            .finish_non_exhaustive()
    }
}

impl GgufTokenizer {
    /// Builds the tokenizer from `content`'s metadata; `path` only names the file in errors.
    pub(crate) fn from_gguf(content: &Content, path: &Path) -> Result<Self> {
        let bad = |problem: String| Error::ModelFile {
            path: path.to_path_buf(),
            problem,
        };
        let model = string(content, "tokenizer.ggml.model").map_err(bad)?;
        if model != "gpt2" {
            return Err(bad(format!(
                "tokenizer.ggml.model is {model:?}: only byte-level BPE (\"gpt2\") vocabularies are supported"
            )));
        }
        let pre = match content.metadata.get("tokenizer.ggml.pre") {
            Some(value) => value
                .to_string()
                .map_err(|e| bad(format!("tokenizer.ggml.pre: {e}")))?
                .clone(),
            None => "default".to_string(),
        };
        let tokens = strings(content, "tokenizer.ggml.tokens").map_err(bad)?;
        let merges = strings(content, "tokenizer.ggml.merges").map_err(bad)?;
        let types = match content.metadata.get("tokenizer.ggml.token_type") {
            Some(value) => value
                .to_vec()
                .and_then(|values| {
                    values
                        .iter()
                        .map(Value::to_i32)
                        .collect::<candle_core::Result<Vec<_>>>()
                })
                .map_err(|e| bad(format!("tokenizer.ggml.token_type: {e}")))?,
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(bad(format!(
                "tokenizer.ggml.token_type has {} entries for {} tokens",
                types.len(),
                tokens.len()
            )));
        }
        let eos = optional_u32(content, "tokenizer.ggml.eos_token_id").map_err(bad)?;
        Self::build(&tokens, &merges, &types, &pre, eos).map_err(bad)
    }

    /// Builds the tokenizer from the vocabulary's parts: `tokens` by id, `merges` as `"a b"`, the
    /// GGUF token types, the pre-tokenizer name and the end-of-sequence id.
    pub(crate) fn build(
        tokens: &[String],
        merges: &[String],
        types: &[i32],
        pre: &str,
        eos: Option<u32>,
    ) -> Result<Self, String> {
        let byte_level = ByteLevel::new(false, true, true);
        let pre_tokenizer: PreTokenizerWrapper = if PRE_GPT2.contains(&pre) {
            byte_level.into()
        } else if PRE_DIGITS_THEN_GPT2.contains(&pre) {
            Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into()
        } else {
            return Err(format!(
                "tokenizer.ggml.pre is {pre:?}: supported pre-tokenizers are {} (GPT-2's regex) and {} \
                 (digits split, then GPT-2's regex)",
                PRE_GPT2.join(", "),
                PRE_DIGITS_THEN_GPT2.join(", ")
            ));
        };
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(id, token)| Ok((token.clone(), u32::try_from(id).map_err(|_| "too many tokens")?)))
            .collect::<Result<_, &str>>()?;
        let merges = merges
            .iter()
            .map(|merge| {
                merge
                    .split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| format!("tokenizer.ggml.merges has {merge:?}, not two tokens"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| format!("the BPE vocabulary does not build: {e}"))?;

        let mut text = Tokenizer::new(bpe);
        text.with_pre_tokenizer(Some(pre_tokenizer));
        text.with_decoder(Some(ByteLevelDecoder::default()));

        let special: HashMap<String, u32> = tokens
            .iter()
            .zip(types)
            .enumerate()
            .filter(|(_, (_, kind))| matches!(**kind, TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED))
            .map(|(id, (token, _))| (token.clone(), id as u32))
            .collect();
        let added: Vec<AddedToken> = tokens
            .iter()
            .zip(types)
            .filter(|(_, kind)| matches!(**kind, TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED))
            .map(|(token, _)| AddedToken::from(token.clone(), true))
            .collect();
        text.add_special_tokens(&added);
        text.set_encode_special_tokens(true);

        let unicode_to_byte = unicode_to_byte();
        let bytes = tokens
            .iter()
            .zip(types)
            .map(|(token, kind)| match *kind {
                TOKEN_TYPE_CONTROL => Vec::new(),
                TOKEN_TYPE_USER_DEFINED => token.as_bytes().to_vec(),
                _ => token_bytes(token, &unicode_to_byte),
            })
            .collect();
        Ok(GgufTokenizer {
            text,
            bytes,
            special,
            eos,
        })
    }

    /// The ids of `text`, special-token parsing off: `<|im_end|>` in `text` is encoded as text.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u32>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let encoding = self
            .text
            .encode_fast(text, false)
            .map_err(|e| Error::Inference(format!("the tokenizer failed: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The id of a control or user-defined token, such as `<|im_start|>`.
    pub(crate) fn special(&self, token: &str) -> Option<u32> {
        self.special.get(token).copied()
    }

    /// `tokenizer.ggml.eos_token_id`.
    pub(crate) fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The bytes token `id` stands for (empty for a control token or an id out of range).
    pub(crate) fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Tokens in the vocabulary.
    pub(crate) fn vocabulary_size(&self) -> usize {
        self.bytes.len()
    }
}

/// A GGUF string value.
fn string(content: &Content, key: &str) -> Result<String, String> {
    let value = content
        .metadata
        .get(key)
        .ok_or_else(|| format!("the metadata has no {key}"))?;
    value.to_string().cloned().map_err(|e| format!("{key}: {e}"))
}

/// A GGUF array of strings.
fn strings(content: &Content, key: &str) -> Result<Vec<String>, String> {
    let value = content
        .metadata
        .get(key)
        .ok_or_else(|| format!("the metadata has no {key}"))?;
    value
        .to_vec()
        .and_then(|values| values.iter().map(|v| v.to_string().cloned()).collect())
        .map_err(|e| format!("{key}: {e}"))
}

/// A GGUF integer that may be missing.
fn optional_u32(content: &Content, key: &str) -> Result<Option<u32>, String> {
    content
        .metadata
        .get(key)
        .map(|value| value.to_u32().map_err(|e| format!("{key}: {e}")))
        .transpose()
}

/// GPT-2's byte-level alphabet reversed: the printable character each byte is spelled with in the
/// vocabulary, back to the byte.
fn unicode_to_byte() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut map = HashMap::with_capacity(256);
    let mut next = 256u32;
    for byte in 0..=255u8 {
        let ch = if printable(byte) {
            char::from(byte)
        } else {
            let ch = char::from_u32(next).expect("256..512 are characters");
            next += 1;
            ch
        };
        map.insert(ch, byte);
    }
    map
}

/// The bytes a byte-level token spells; a character outside the alphabet (never in a GPT-2
/// vocabulary) stands for its own UTF-8.
fn token_bytes(token: &str, unicode_to_byte: &HashMap<char, u8>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(token.len());
    for ch in token.chars() {
        match unicode_to_byte.get(&ch) {
            Some(byte) => bytes.push(*byte),
            None => bytes.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    bytes
}

/// Turns generated tokens' bytes into text as they come: a character whose UTF-8 bytes are split
/// across tokens is held back until it is complete; bytes that can never be UTF-8 become U+FFFD.
#[derive(Debug, Default)]
pub(crate) struct Utf8Decoder {
    /// Bytes of an incomplete character (at most three).
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// The text `bytes` completes, possibly empty.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    out.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(error) => {
                    let (valid, after) = rest.split_at(error.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).expect("checked as valid"));
                    match error.error_len() {
                        Some(invalid) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[invalid..];
                        }
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }

    /// The text left when generation ends: an incomplete character becomes U+FFFD.
    pub(crate) fn finish(&mut self) -> String {
        if self.pending.is_empty() {
            String::new()
        } else {
            self.pending.clear();
            char::REPLACEMENT_CHARACTER.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_tokens_is_held_back_until_complete() {
        let mut decoder = Utf8Decoder::default();
        let text = "añ€😀";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for byte in bytes {
            let piece = decoder.push(std::slice::from_ref(byte));
            assert!(!piece.contains(char::REPLACEMENT_CHARACTER), "garbled: {piece:?}");
            out.push_str(&piece);
        }
        out.push_str(&decoder.finish());
        assert_eq!(out, text);
    }

    #[test]
    fn a_token_ending_mid_character_yields_only_the_complete_prefix() {
        let mut decoder = Utf8Decoder::default();
        let euro = "€".as_bytes();
        assert_eq!(decoder.push(&[b'x', euro[0], euro[1]]), "x");
        assert_eq!(decoder.push(&[euro[2], b'!']), "€!");
        assert_eq!(decoder.finish(), "");
    }

    #[test]
    fn bytes_that_are_never_utf8_become_replacement_characters() {
        let mut decoder = Utf8Decoder::default();
        assert_eq!(decoder.push(&[b'a', 0xFF, b'b']), "a\u{FFFD}b");
        assert_eq!(decoder.push(&[0xE2, 0x82]), "");
        assert_eq!(decoder.finish(), "\u{FFFD}");
    }

    /// A vocabulary of GPT-2's 256 byte tokens (byte-level spelling), `hello` built by merges and
    /// two control tokens.
    fn tiny() -> GgufTokenizer {
        let alphabet = unicode_to_byte();
        let mut by_byte: Vec<(u8, char)> = alphabet.iter().map(|(c, b)| (*b, *c)).collect();
        by_byte.sort();
        let mut tokens = vec!["<|im_start|>".to_string(), "<|im_end|>".to_string()];
        tokens.extend(by_byte.iter().map(|(_, c)| c.to_string()));
        tokens.extend(["he", "ll", "llo", "hello", "Ġhello", "20"].map(String::from));
        let merges = ["h e", "l l", "ll o", "he llo", "Ġ hello", "2 0"].map(String::from);
        let mut types = vec![TOKEN_TYPE_CONTROL; 2];
        types.resize(tokens.len(), 1);
        GgufTokenizer::build(&tokens, &merges, &types, "smollm", Some(1)).expect("builds")
    }

    #[test]
    fn control_tokens_are_single_ids_and_message_text_cannot_spell_them() {
        let tokenizer = tiny();
        assert_eq!(tokenizer.special("<|im_start|>"), Some(0));
        assert_eq!(tokenizer.special("<|im_end|>"), Some(1));
        let ids = tokenizer.encode("hello <|im_end|>").expect("encodes");
        assert!(!ids.contains(&1), "a message must not end its turn: {ids:?}");
        assert!(ids.len() > 2);
    }

    #[test]
    fn merges_apply_and_token_bytes_undo_the_byte_level_spelling() {
        let tokenizer = tiny();
        let ids = tokenizer.encode("hello hello").expect("encodes");
        assert_eq!(ids.len(), 2, "{ids:?}");
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|id| tokenizer.token_bytes(*id).to_vec())
            .collect();
        assert_eq!(bytes, b"hello hello");
        assert!(
            tokenizer.token_bytes(0).is_empty(),
            "control tokens are not shown"
        );
    }

    #[test]
    fn digits_are_split_one_by_one_for_smollm() {
        // "20" is a merge, yet SmolLM's pre-tokenizer never lets two digits meet.
        let tokenizer = tiny();
        assert_eq!(tokenizer.encode("2024").expect("encodes").len(), 4);
    }

    #[test]
    fn an_unknown_pre_tokenizer_is_refused_by_name() {
        let problem = GgufTokenizer::build(&[], &[], &[], "llama-bpe", None).expect_err("refused");
        assert!(problem.contains("llama-bpe"), "{problem}");
    }
}
