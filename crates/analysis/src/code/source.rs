//! The file a walk reads: its bytes together with its language's spec and kind tables, and the
//! text helpers (cut on a character boundary, collapse whitespace) every collector shares.

use tree_sitter::Node;

use super::kinds::KindTables;
use super::spec::LangSpec;

/// One file being walked: its bytes, its language's spec and that spec's kind tables.
#[derive(Clone, Copy)]
pub(super) struct Source<'a> {
    /// What the language calls a definition, a decision, an import, a call.
    pub(super) spec: &'static LangSpec,
    /// The spec's node kinds by kind id.
    pub(super) tables: &'static KindTables,
    /// The file's bytes, which the tree's byte ranges index.
    pub(super) src: &'a [u8],
}

impl<'a> Source<'a> {
    /// The text of `node` (empty when its bytes are not UTF-8).
    pub(super) fn text(&self, node: Node<'_>) -> &'a str {
        std::str::from_utf8(&self.src[node.byte_range()]).unwrap_or_default()
    }
}

/// At most `max` bytes of `text`, cut on a character boundary.
pub(super) fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Whitespace collapsed to single spaces, cut to `max` characters.
pub(super) fn collapse(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(collapsed, max)
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub(super) fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
