//! Doc comments and docstrings of definitions: the comment lines right above a definition (past
//! its attributes and decorators, and past the wrappers that hold it, like `export`), or a Python
//! docstring, with the comment markers stripped.

use tree_sitter::Node;

use super::kinds::{ATTRIBUTE, COMMENT};
use super::source::{Source, truncate};
use super::spec::VisibilityRule;

/// Longest doc kept, in bytes.
const MAX_DOC: usize = 2000;

/// The doc of the definition `node`, or `None` when it has none.
pub(super) fn doc(source: &Source<'_>, node: Node<'_>) -> Option<String> {
    if let Some(docstring) = python_docstring(source, node) {
        return Some(docstring);
    }
    let mut anchor = node;
    while let Some(parent) = anchor.parent().filter(|p| {
        matches!(
            p.kind(),
            "export_statement"
                | "decorated_definition"
                | "template_declaration"
                | "lexical_declaration"
                | "type_declaration"
                | "const_declaration"
        )
    }) {
        anchor = parent;
    }
    let mut lines: Vec<&str> = Vec::new();
    let mut next_row = anchor.start_position().row;
    let mut sibling = anchor.prev_sibling();
    while let Some(current) = sibling {
        if source.tables.has(current, ATTRIBUTE) {
            next_row = current.start_position().row;
        } else if source.tables.has(current, COMMENT) && current.end_position().row + 1 >= next_row {
            lines.push(source.text(current));
            next_row = current.start_position().row;
        } else {
            break;
        }
        sibling = current.prev_sibling();
    }
    if lines.is_empty() {
        return None;
    }
    lines.reverse();
    let doc = strip_comment_markers(&lines.join("\n"));
    (!doc.is_empty()).then(|| truncate(doc, MAX_DOC))
}

/// The docstring of a Python function or class: its body's first statement when that is a string.
fn python_docstring(source: &Source<'_>, node: Node<'_>) -> Option<String> {
    if !matches!(node.kind(), "function_definition" | "class_definition")
        || source.spec.visibility != VisibilityRule::Python
    {
        return None;
    }
    let first = node.child_by_field_name("body")?.named_child(0)?;
    let string = (first.kind() == "expression_statement")
        .then(|| first.named_child(0))
        .flatten()
        .filter(|s| s.kind() == "string")?;
    let text = source.text(string);
    let inner = text
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_matches(|c| c == '"' || c == '\'');
    let doc: Vec<&str> = inner.lines().map(str::trim).collect();
    let doc = doc.join("\n").trim().to_string();
    (!doc.is_empty()).then(|| truncate(doc, MAX_DOC))
}

/// Comment text without its markers (`///`, `//`, `#`, `/**`, `*`, `*/`, `--`).
fn strip_comment_markers(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let line = line.trim();
            let line = line.strip_suffix("*/").unwrap_or(line).trim_end();
            let stripped = ["///", "//!", "//", "/**", "/*!", "/*", "*", "#", "--"]
                .iter()
                .find_map(|marker| line.strip_prefix(marker))
                .unwrap_or(line);
            stripped
                .strip_prefix(' ')
                .unwrap_or(stripped)
                .trim_end()
                .to_string()
        })
        .collect();
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_markers_are_stripped() {
        assert_eq!(
            strip_comment_markers("/// Sends.\n/// Retries."),
            "Sends.\nRetries."
        );
        assert_eq!(strip_comment_markers("/**\n * Adds.\n */"), "Adds.");
        assert_eq!(strip_comment_markers("# helper"), "helper");
    }
}
