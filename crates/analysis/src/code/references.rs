//! What a file points at: its imports (import statements, and calls such as `require` that are
//! imports) and the calls made inside its functions, by the callee's last identifier.

use tree_sitter::Node;

use super::kinds::COMMENT;
use super::source::{Source, collapse};
use super::{Call, Import};

/// Longest import target kept, in bytes.
const MAX_TARGET: usize = 300;

/// The imports and calls of a file, in source order.
#[derive(Default)]
pub(super) struct References {
    /// Imports in source order.
    pub(super) imports: Vec<Import>,
    /// Calls in source order.
    pub(super) calls: Vec<Call>,
}

impl References {
    /// Records the targets of the import statement `node`.
    pub(super) fn import(&mut self, source: &Source<'_>, node: Node<'_>) {
        for target in import_targets(source, node) {
            self.imports.push(Import {
                target,
                line: node.start_position().row as u32 + 1,
            });
        }
    }

    /// Records the call `node`, made by the symbol `caller` (`None` at file level), or the import
    /// it is (`require "x"`).
    pub(super) fn call(&mut self, source: &Source<'_>, node: Node<'_>, caller: Option<usize>) {
        let field = source.tables.call_field[node.kind_id() as usize];
        let callee_node = if field.is_empty() {
            node.named_child(0)
        } else {
            node.child_by_field_name(field)
        };
        let Some(mut callee_node) = callee_node else {
            return;
        };
        // `a.b().c` calls `c`: descend to the member/field/attribute name before reading text
        while let Some(member) = ["field", "property", "attribute", "name", "method"]
            .iter()
            .find_map(|f| callee_node.child_by_field_name(f))
        {
            callee_node = member;
        }
        let written = source.text(callee_node).trim();
        let line = node.start_position().row as u32 + 1;
        if source.spec.import_calls.contains(&written) {
            if let Some(target) = first_argument(source, node) {
                self.imports.push(Import { target, line });
            }
            return;
        }
        let Some(callee) = last_identifier(written) else {
            return;
        };
        if source.spec.import_calls.contains(&callee) {
            if let Some(target) = first_argument(source, node) {
                self.imports.push(Import { target, line });
            }
            return;
        }
        self.calls.push(Call {
            caller,
            callee: callee.to_string(),
            line,
        });
    }
}

/// The first argument of a call, cleaned as an import target.
fn first_argument(source: &Source<'_>, call: Node<'_>) -> Option<String> {
    let argument = match call.child_by_field_name("arguments") {
        Some(list) => list.named_child(0),
        None => call.child_by_field_name("argument"),
    }?;
    let target = clean_target(source.text(argument));
    (!target.is_empty()).then_some(target)
}

/// What an import statement imports: one target, or one per name (Python `import a, b`).
fn import_targets(source: &Source<'_>, node: Node<'_>) -> Vec<String> {
    // Python `import a, b as c`: one target per name
    if node.kind() == "import_statement" && node.child_by_field_name("source").is_none() {
        let mut cursor = node.walk();
        let names: Vec<String> = node
            .children_by_field_name("name", &mut cursor)
            .map(|n| n.child_by_field_name("name").unwrap_or(n))
            .map(|n| clean_target(source.text(n)))
            .collect();
        if !names.is_empty() {
            return names;
        }
    }
    let target = ["source", "path", "module_name", "argument"]
        .iter()
        .find_map(|field| node.child_by_field_name(field))
        .or_else(|| {
            let mut cursor = node.walk();
            let children: Vec<Node<'_>> = node
                .named_children(&mut cursor)
                .filter(|c| !source.tables.has(*c, COMMENT))
                .collect();
            // C# `using Alias = Name;` names the target last
            children.last().copied()
        });
    target
        .map(|t| clean_target(source.text(t)))
        .filter(|t| !t.is_empty())
        .into_iter()
        .collect()
}

/// The last identifier of a callee expression: `send` for `self.client.send`, `new` for `Vec::new`.
fn last_identifier(text: &str) -> Option<&str> {
    let text = text.split(['(', '<', '[']).next().unwrap_or(text);
    let last = text
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '!' || c == '?' || c == '.'))
        .next()?
        .rsplit('.')
        .find(|s| !s.is_empty())?
        .trim_end_matches('!');
    (!last.is_empty() && last.len() <= 100 && !last.starts_with(|c: char| c.is_ascii_digit())).then_some(last)
}

/// An import target as written, without quotes, angle brackets or a trailing `;`.
fn clean_target(text: &str) -> String {
    let text = text
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '<' | '>' | '`' | ';'));
    collapse(text, MAX_TARGET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callee_names_are_the_last_identifier() {
        assert_eq!(last_identifier("self.client.send"), Some("send"));
        assert_eq!(last_identifier("Vec::new"), Some("new"));
        assert_eq!(last_identifier("println!"), Some("println"));
        assert_eq!(last_identifier("$this->repo->find"), Some("find"));
        assert_eq!(last_identifier("fetch<T>"), Some("fetch"));
        assert_eq!(last_identifier("(a + b)"), None);
    }
}
