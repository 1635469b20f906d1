//! Definitions: which nodes define a symbol and of what kind, its name, qualified name (through
//! the enclosing containers), signature, visibility and doc, in source order.

use tree_sitter::Node;

use super::Symbol;
use super::docs::doc;
use super::source::{Source, collapse};
use super::spec::{SymbolKind, VisibilityRule};

/// Longest symbol name kept, in bytes.
const MAX_NAME: usize = 200;
/// Longest signature kept, in bytes.
const MAX_SIGNATURE: usize = 300;

/// What a definition opened, to be closed when the walk leaves its node.
pub(super) enum Opened {
    /// A container of further definitions (close with [`Symbols::leave_container`]).
    Container,
    /// A function, also a container: the symbol at this index, whose metrics are measured.
    Function(usize),
}

/// The symbols of a file, with the containers the walk is inside.
#[derive(Default)]
pub(super) struct Symbols {
    /// Definitions in source order.
    pub(super) list: Vec<Symbol>,
    /// Enclosing symbols, innermost last.
    containers: Vec<usize>,
    /// Namespaces declared without a body, which contain the rest of the file.
    file_namespaces: Vec<usize>,
}

impl Symbols {
    /// Records the symbol `node` defines, if it defines one; what it opened, if anything, for the
    /// walk to close when it leaves `node` (a Rust `mod x;` opens nothing, a file-level namespace
    /// stays open to the end of the file).
    pub(super) fn enter_definition(&mut self, source: &Source<'_>, node: Node<'_>) -> Option<Opened> {
        let kind = definition_kind(source, node)?;
        let written = definition_name(source, node)?;
        // C++ `int Client::count()`: the name is `count`, the path as written qualifies it
        let name = written.rsplit("::").next().unwrap_or(&written).to_string();
        let parent = self.containers.last().copied();
        let kind = match (kind, parent.map(|p| self.list[p].kind)) {
            (SymbolKind::Function, Some(container)) if container.holds_methods() => SymbolKind::Method,
            (SymbolKind::Method, None) if node.kind() != "method_declaration" => SymbolKind::Function,
            // C++ `int Client::count() { … }` defines a method outside its class
            (SymbolKind::Function, _) if written.contains("::") => SymbolKind::Method,
            (kind, _) => kind,
        };
        let separator = source.spec.separator;
        let qualified_name = match (parent, go_receiver(source, node)) {
            (_, Some(receiver)) => format!("{receiver}{separator}{name}"),
            (Some(p), None) => format!("{}{separator}{written}", self.list[p].qualified_name),
            (None, None) => written.clone(),
        };
        let index = self.list.len();
        self.list.push(Symbol {
            visibility: visibility(source, node, &name, kind),
            signature: signature(source, node),
            doc: doc(source, node),
            name,
            kind,
            qualified_name,
            start_line: node.start_position().row as u32 + 1,
            end_line: node.end_position().row as u32 + 1,
            start_byte: node.start_byte() as u32,
            end_byte: node.end_byte() as u32,
            parent,
            metrics: None,
        });
        if kind == SymbolKind::Module
            && node.kind() == "mod_item"
            && node.child_by_field_name("body").is_none()
        {
            // Rust `mod net;` declares a module whose items live in another file: a leaf here
            return None;
        }
        if kind == SymbolKind::Module && node.child_by_field_name("body").is_none() {
            // `namespace App\Http;` (PHP) and `namespace Demo;` (C#) hold the rest of the file: the
            // container stays open, replacing an earlier file-level namespace
            if self
                .containers
                .last()
                .is_some_and(|c| self.file_namespaces.contains(c))
            {
                self.containers.pop();
            }
            self.file_namespaces.push(index);
            self.containers.push(index);
            return None;
        }
        self.containers.push(index);
        Some(if kind.is_function() {
            Opened::Function(index)
        } else {
            Opened::Container
        })
    }

    /// Leaves the innermost container.
    pub(super) fn leave_container(&mut self) {
        self.containers.pop();
    }
}

/// The symbol kind of a definition node, looking closer where the node kind alone is ambiguous.
fn definition_kind(source: &Source<'_>, node: Node<'_>) -> Option<SymbolKind> {
    let kind = source.tables.definition[node.kind_id() as usize]?;
    let field_kind = |field: &str| node.child_by_field_name(field).map(|n| n.kind());
    match node.kind() {
        // JavaScript: only declarators whose value is a function define one
        "variable_declarator" => matches!(
            field_kind("value"),
            Some("arrow_function" | "function_expression" | "function" | "generator_function")
        )
        .then_some(SymbolKind::Function),
        // Go: `type X struct {…}` / `type X interface {…}` / `type X Y`
        "type_spec" => Some(match field_kind("type") {
            Some("struct_type") => SymbolKind::Struct,
            Some("interface_type") => SymbolKind::Interface,
            _ => SymbolKind::Type,
        }),
        // C/C++: `struct s x;` uses a struct, only `struct s {…}` defines one
        "struct_specifier" | "union_specifier" | "enum_specifier" | "class_specifier" => {
            node.child_by_field_name("body").map(|_| kind)
        }
        // Kotlin: `interface X` parses as a class declaration with an `interface` keyword
        "class_declaration" if has_token(node, "interface") => Some(SymbolKind::Interface),
        _ => Some(kind),
    }
}

/// Whether `node` has the anonymous token `token` among its children.
fn has_token(node: Node<'_>, token: &str) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .any(|c| !c.is_named() && c.kind() == token)
}

/// The name of a definition as written (`Client::count` for a C++ method defined outside its
/// class), whitespace collapsed.
fn definition_name(source: &Source<'_>, node: Node<'_>) -> Option<String> {
    let name_node = match node.kind() {
        "impl_item" => node.child_by_field_name("type"),
        _ => node.child_by_field_name("name").or_else(|| {
            // C/C++ functions and typedefs: follow the declarator chain to the identifier
            let mut current = node.child_by_field_name("declarator")?;
            while let Some(inner) = current.child_by_field_name("declarator") {
                current = inner;
            }
            Some(current)
        }),
    }?;
    let name = collapse(source.text(name_node), MAX_NAME);
    (!name.is_empty()).then_some(name)
}

/// Go methods are qualified by their receiver's type: `Server.Run`.
fn go_receiver(source: &Source<'_>, node: Node<'_>) -> Option<String> {
    if node.kind() != "method_declaration" {
        return None;
    }
    let receiver = node.child_by_field_name("receiver")?;
    let text = source.text(receiver);
    let type_name = text
        .trim_matches(|c| c == '(' || c == ')')
        .split_whitespace()
        .last()?
        .trim_start_matches('*');
    let type_name = type_name.split('[').next().unwrap_or(type_name);
    (!type_name.is_empty() && !text.contains("\n")).then(|| type_name.to_string())
}

/// The visibility of a definition by its language's rule.
fn visibility(source: &Source<'_>, node: Node<'_>, name: &str, kind: SymbolKind) -> Option<String> {
    match source.spec.visibility {
        VisibilityRule::Rust if kind == SymbolKind::Impl => None,
        VisibilityRule::Rust => {
            let mut cursor = node.walk();
            let modifier = node
                .children(&mut cursor)
                .find(|c| c.kind() == "visibility_modifier")
                .map(|c| collapse(source.text(c), 40));
            Some(modifier.unwrap_or_else(|| "private".into()))
        }
        VisibilityRule::Go => Some(
            if name.starts_with(|c: char| c.is_uppercase()) {
                "public"
            } else {
                "private"
            }
            .into(),
        ),
        VisibilityRule::Python => {
            let dunder = name.starts_with("__") && name.ends_with("__");
            Some(
                if name.starts_with('_') && !dunder {
                    "private"
                } else {
                    "public"
                }
                .into(),
            )
        }
        VisibilityRule::JavaScript => {
            if node.parent().is_some_and(|p| p.kind() == "export_statement")
                || node
                    .parent()
                    .and_then(|p| p.parent())
                    .is_some_and(|g| g.kind() == "export_statement" && node.kind() == "variable_declarator")
            {
                return Some("export".into());
            }
            let mut cursor = node.walk();
            node.children(&mut cursor)
                .find(|c| c.kind() == "accessibility_modifier")
                .map(|c| source.text(c).to_string())
        }
        VisibilityRule::Modifiers => modifier_visibility(source, node),
        VisibilityRule::None => None,
    }
}

/// `public`/`private`/`protected`/`internal` among the node's modifiers (two levels deep).
fn modifier_visibility(source: &Source<'_>, node: Node<'_>) -> Option<String> {
    const WORDS: [&str; 4] = ["public", "private", "protected", "internal"];
    let body = node.child_by_field_name("body").map(|b| b.id());
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if Some(child.id()) == body || child.kind() == "block" || child.kind().ends_with("body") {
            break;
        }
        let is_modifier = child.kind().contains("modifier") || child.kind() == "access_specifier";
        if !is_modifier && child.is_named() {
            continue;
        }
        if let Some(word) = source.text(child).split_whitespace().find(|w| WORDS.contains(w)) {
            return Some(word.to_string());
        }
    }
    None
}

/// The declaration up to its body (or its first line), whitespace collapsed.
fn signature(source: &Source<'_>, node: Node<'_>) -> String {
    let mut cursor = node.walk();
    let body_start = ["body", "block"]
        .iter()
        .find_map(|f| node.child_by_field_name(f))
        .or_else(|| {
            node.named_children(&mut cursor)
                .find(|c| c.kind().ends_with("body") || c.kind() == "block")
        })
        .map(|b| b.start_byte())
        .filter(|start| *start > node.start_byte());
    let end = body_start.unwrap_or_else(|| {
        let text = source.text(node);
        node.start_byte() + text.find('\n').unwrap_or(text.len())
    });
    let text = std::str::from_utf8(&source.src[node.start_byte()..end]).unwrap_or_default();
    collapse(text, MAX_SIGNATURE)
}
