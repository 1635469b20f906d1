//! The single pass over a syntax tree that collects symbols, imports, calls and metrics.

use std::collections::HashSet;

use tree_sitter::{Node, Tree};

use super::spec::{LangSpec, SymbolKind, VisibilityRule};
use super::{Call, FileAnalysis, FileMetrics, FunctionMetrics, Import, Symbol};

const MAX_NAME: usize = 200;
const MAX_SIGNATURE: usize = 300;
const MAX_DOC: usize = 2000;
const MAX_TARGET: usize = 300;

const DEFINITION: u16 = 1;
const DECISION: u16 = 1 << 1;
const BOOLEAN_BINARY: u16 = 1 << 2;
const BOOLEAN_OPERATOR: u16 = 1 << 3;
const NESTING: u16 = 1 << 4;
const IMPORT: u16 = 1 << 5;
const CALL: u16 = 1 << 6;
const COMMENT: u16 = 1 << 7;
const ATTRIBUTE: u16 = 1 << 8;

/// The spec's node kinds as flags indexed by node kind id (aliases included), so the walk tests a
/// node with one array lookup instead of string comparisons.
pub(crate) struct KindTables {
    flags: Vec<u16>,
    definition: Vec<Option<SymbolKind>>,
    call_field: Vec<&'static str>,
}

impl KindTables {
    fn build(spec: &LangSpec) -> Self {
        let language = (spec.grammar)();
        let count = language.node_kind_count();
        let mut tables = KindTables {
            flags: vec![0; count],
            definition: vec![None; count],
            call_field: vec![""; count],
        };
        for id in 0..count {
            let Some(kind) = language.node_kind_for_id(id as u16) else {
                continue;
            };
            let named = language.node_kind_is_named(id as u16);
            let mut flags = 0;
            if named {
                if let Some((_, symbol)) = spec.definitions.iter().find(|(k, _)| *k == kind) {
                    flags |= DEFINITION;
                    tables.definition[id] = Some(*symbol);
                }
                if let Some((_, field)) = spec.calls.iter().find(|(k, _)| *k == kind) {
                    flags |= CALL;
                    tables.call_field[id] = field;
                }
                let has = |list: &[&str]| list.contains(&kind);
                flags |= if has(spec.decisions) { DECISION } else { 0 }
                    | if has(spec.boolean_binaries) {
                        BOOLEAN_BINARY
                    } else {
                        0
                    }
                    | if has(spec.nesting) { NESTING } else { 0 }
                    | if has(spec.imports) { IMPORT } else { 0 }
                    | if has(spec.comments) { COMMENT } else { 0 }
                    | if has(spec.attributes) { ATTRIBUTE } else { 0 };
            } else if spec.boolean_operators.contains(&kind) {
                flags |= BOOLEAN_OPERATOR;
            }
            tables.flags[id] = flags;
        }
        tables
    }

    fn has(&self, node: Node<'_>, flag: u16) -> bool {
        self.flags
            .get(node.kind_id() as usize)
            .is_some_and(|f| f & flag != 0)
    }
}

/// A function being measured.
struct Scope {
    symbol: Option<usize>,
    complexity: u32,
    nesting: u32,
    max_nesting: u32,
}

/// What to undo when the walk leaves a node.
enum Close {
    Symbol,
    Scope,
    Nesting,
}

struct Collector<'a> {
    spec: &'static LangSpec,
    tables: &'static KindTables,
    src: &'a [u8],
    symbols: Vec<Symbol>,
    imports: Vec<Import>,
    calls: Vec<Call>,
    /// Enclosing symbols, innermost last.
    containers: Vec<usize>,
    /// Namespaces declared without a body, which contain the rest of the file.
    file_namespaces: Vec<usize>,
    /// Functions being measured; `scopes[0]` is the file itself.
    scopes: Vec<Scope>,
    /// (node id, what to undo) for nodes the walk is inside.
    open: Vec<(usize, Close)>,
    /// Halstead: distinct tokens and their total count.
    distinct: HashSet<(bool, &'a str)>,
    tokens: u64,
}

pub(crate) fn analyze_tree(spec: &'static LangSpec, tree: &Tree, text: &str) -> FileAnalysis {
    let tables = spec.tables.get_or_init(|| KindTables::build(spec));
    let mut collector = Collector {
        spec,
        tables,
        src: text.as_bytes(),
        symbols: Vec::new(),
        imports: Vec::new(),
        calls: Vec::new(),
        containers: Vec::new(),
        file_namespaces: Vec::new(),
        scopes: vec![Scope {
            symbol: None,
            complexity: 0,
            nesting: 0,
            max_nesting: 0,
        }],
        open: Vec::new(),
        distinct: HashSet::new(),
        tokens: 0,
    };
    let mut cursor = tree.walk();
    'walk: loop {
        collector.enter(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            collector.leave(cursor.node());
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    collector.finish(tree.root_node().has_error(), text)
}

impl<'a> Collector<'a> {
    fn text(&self, node: Node<'_>) -> &'a str {
        std::str::from_utf8(&self.src[node.byte_range()]).unwrap_or_default()
    }

    fn enter(&mut self, node: Node<'a>) {
        let tables = self.tables;
        if tables.has(node, COMMENT) {
            return;
        }
        if node.child_count() == 0 {
            if !node.is_missing() {
                self.tokens += 1;
                let token = if node.is_named() {
                    self.text(node)
                } else {
                    node.kind()
                };
                self.distinct.insert((node.is_named(), prefix(token, 64)));
            }
            return;
        }
        let id = node.id();
        if tables.has(node, DEFINITION) {
            self.enter_definition(node);
        }
        if tables.has(node, DECISION) && self.is_decision(node) {
            self.scope().complexity += 1;
        }
        if tables.has(node, BOOLEAN_BINARY) {
            let mut cursor = node.walk();
            let operators = node
                .children(&mut cursor)
                .filter(|child| tables.has(*child, BOOLEAN_OPERATOR))
                .count() as u32;
            self.scope().complexity += operators;
        }
        if tables.has(node, NESTING) && !node.parent().is_some_and(|p| p.kind().contains("else")) {
            let scope = self.scope();
            scope.nesting += 1;
            scope.max_nesting = scope.max_nesting.max(scope.nesting);
            self.open.push((id, Close::Nesting));
        }
        if tables.has(node, IMPORT) {
            for target in self.import_targets(node) {
                self.imports.push(Import {
                    target,
                    line: node.start_position().row as u32 + 1,
                });
            }
        }
        if tables.has(node, CALL) {
            self.enter_call(node);
        }
    }

    fn leave(&mut self, node: Node<'_>) {
        while self.open.last().is_some_and(|(id, _)| *id == node.id()) {
            let (_, close) = self.open.pop().expect("checked above");
            match close {
                Close::Symbol => {
                    self.containers.pop();
                }
                Close::Scope => {
                    let scope = self.scopes.pop().expect("a scope per open function");
                    if let Some(index) = scope.symbol {
                        let symbol = &mut self.symbols[index];
                        symbol.metrics = Some(FunctionMetrics {
                            complexity: scope.complexity,
                            max_nesting: scope.max_nesting,
                            lines: symbol.end_line - symbol.start_line + 1,
                        });
                    }
                    // the file's total includes every function
                    self.scopes[0].complexity += scope.complexity;
                }
                Close::Nesting => self.scope().nesting -= 1,
            }
        }
    }

    fn scope(&mut self) -> &mut Scope {
        self.scopes.last_mut().expect("the file scope is never popped")
    }

    fn enter_definition(&mut self, node: Node<'a>) {
        let Some(kind) = self.definition_kind(node) else {
            return;
        };
        let Some(written) = self.definition_name(node) else {
            return;
        };
        // C++ `int Client::count()`: the name is `count`, the path as written qualifies it
        let name = written.rsplit("::").next().unwrap_or(&written).to_string();
        let parent = self.containers.last().copied();
        let kind = match (kind, parent.map(|p| self.symbols[p].kind)) {
            (SymbolKind::Function, Some(container)) if container.holds_methods() => SymbolKind::Method,
            (SymbolKind::Method, None) if node.kind() != "method_declaration" => SymbolKind::Function,
            // C++ `int Client::count() { … }` defines a method outside its class
            (SymbolKind::Function, _) if written.contains("::") => SymbolKind::Method,
            (kind, _) => kind,
        };
        let separator = self.spec.separator;
        let qualified_name = match (parent, self.go_receiver(node)) {
            (_, Some(receiver)) => format!("{receiver}{separator}{name}"),
            (Some(p), None) => format!("{}{separator}{written}", self.symbols[p].qualified_name),
            (None, None) => written.clone(),
        };
        let index = self.symbols.len();
        self.symbols.push(Symbol {
            visibility: self.visibility(node, &name, kind),
            signature: self.signature(node),
            doc: self.doc(node),
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
            return;
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
            return;
        }
        self.containers.push(index);
        self.open.push((node.id(), Close::Symbol));
        if kind.is_function() {
            self.scopes.push(Scope {
                symbol: Some(index),
                complexity: 1,
                nesting: 0,
                max_nesting: 0,
            });
            self.open.push((node.id(), Close::Scope));
        }
    }

    /// The symbol kind of a definition node, looking closer where the node kind alone is ambiguous.
    fn definition_kind(&self, node: Node<'_>) -> Option<SymbolKind> {
        let kind = self.tables.definition[node.kind_id() as usize]?;
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
            "class_declaration" if self.has_token(node, "interface") => Some(SymbolKind::Interface),
            _ => Some(kind),
        }
    }

    fn has_token(&self, node: Node<'_>, token: &str) -> bool {
        let mut cursor = node.walk();
        node.children(&mut cursor)
            .any(|c| !c.is_named() && c.kind() == token)
    }

    fn definition_name(&self, node: Node<'_>) -> Option<String> {
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
        let name = collapse(self.text(name_node), MAX_NAME);
        (!name.is_empty()).then_some(name)
    }

    /// Go methods are qualified by their receiver's type: `Server.Run`.
    fn go_receiver(&self, node: Node<'_>) -> Option<String> {
        if node.kind() != "method_declaration" {
            return None;
        }
        let receiver = node.child_by_field_name("receiver")?;
        let text = self.text(receiver);
        let type_name = text
            .trim_matches(|c| c == '(' || c == ')')
            .split_whitespace()
            .last()?
            .trim_start_matches('*');
        let type_name = type_name.split('[').next().unwrap_or(type_name);
        (!type_name.is_empty() && !text.contains("\n")).then(|| type_name.to_string())
    }

    /// Whether a node of a decision kind really branches (a `default` label does not).
    fn is_decision(&self, node: Node<'_>) -> bool {
        match node.kind() {
            // Rust `_ =>` and Python `case _:`
            "match_arm" | "case_clause" => node
                .child_by_field_name("pattern")
                .or_else(|| node.named_child(0))
                .is_none_or(|p| self.text(p).trim() != "_"),
            "switch_label" => !self.text(node).trim_start().starts_with("default"),
            // C: `default:` is a case_statement without a value
            "case_statement" => {
                node.child_by_field_name("value").is_some()
                    || !self.text(node).trim_start().starts_with("default")
            }
            "when_entry" => !self.text(node).trim_start().starts_with("else"),
            "case_item" => node
                .child_by_field_name("value")
                .is_none_or(|v| self.text(v).trim() != "*"),
            _ => true,
        }
    }

    fn enter_call(&mut self, node: Node<'a>) {
        let field = self.tables.call_field[node.kind_id() as usize];
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
        let written = self.text(callee_node).trim();
        let line = node.start_position().row as u32 + 1;
        if self.spec.import_calls.contains(&written) {
            if let Some(target) = self.first_argument(node) {
                self.imports.push(Import { target, line });
            }
            return;
        }
        let Some(callee) = last_identifier(written) else {
            return;
        };
        if self.spec.import_calls.contains(&callee) {
            if let Some(target) = self.first_argument(node) {
                self.imports.push(Import { target, line });
            }
            return;
        }
        let caller = self.scopes.last().and_then(|s| s.symbol);
        self.calls.push(Call {
            caller,
            callee: callee.to_string(),
            line,
        });
    }

    fn first_argument(&self, call: Node<'_>) -> Option<String> {
        let argument = match call.child_by_field_name("arguments") {
            Some(list) => list.named_child(0),
            None => call.child_by_field_name("argument"),
        }?;
        let target = clean_target(self.text(argument));
        (!target.is_empty()).then_some(target)
    }

    fn import_targets(&self, node: Node<'_>) -> Vec<String> {
        // Python `import a, b as c`: one target per name
        if node.kind() == "import_statement" && node.child_by_field_name("source").is_none() {
            let mut cursor = node.walk();
            let names: Vec<String> = node
                .children_by_field_name("name", &mut cursor)
                .map(|n| n.child_by_field_name("name").unwrap_or(n))
                .map(|n| clean_target(self.text(n)))
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
                    .filter(|c| !self.tables.has(*c, COMMENT))
                    .collect();
                // C# `using Alias = Name;` names the target last
                children.last().copied()
            });
        target
            .map(|t| clean_target(self.text(t)))
            .filter(|t| !t.is_empty())
            .into_iter()
            .collect()
    }

    fn visibility(&self, node: Node<'_>, name: &str, kind: SymbolKind) -> Option<String> {
        match self.spec.visibility {
            VisibilityRule::Rust if kind == SymbolKind::Impl => None,
            VisibilityRule::Rust => {
                let mut cursor = node.walk();
                let modifier = node
                    .children(&mut cursor)
                    .find(|c| c.kind() == "visibility_modifier")
                    .map(|c| collapse(self.text(c), 40));
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
                    || node.parent().and_then(|p| p.parent()).is_some_and(|g| {
                        g.kind() == "export_statement" && node.kind() == "variable_declarator"
                    })
                {
                    return Some("export".into());
                }
                let mut cursor = node.walk();
                node.children(&mut cursor)
                    .find(|c| c.kind() == "accessibility_modifier")
                    .map(|c| self.text(c).to_string())
            }
            VisibilityRule::Modifiers => self.modifier_visibility(node),
            VisibilityRule::None => None,
        }
    }

    /// `public`/`private`/`protected`/`internal` among the node's modifiers (two levels deep).
    fn modifier_visibility(&self, node: Node<'_>) -> Option<String> {
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
            if let Some(word) = self.text(child).split_whitespace().find(|w| WORDS.contains(w)) {
                return Some(word.to_string());
            }
        }
        None
    }

    fn signature(&self, node: Node<'_>) -> String {
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
            let text = self.text(node);
            node.start_byte() + text.find('\n').unwrap_or(text.len())
        });
        let text = std::str::from_utf8(&self.src[node.start_byte()..end]).unwrap_or_default();
        collapse(text, MAX_SIGNATURE)
    }

    fn doc(&self, node: Node<'_>) -> Option<String> {
        if let Some(docstring) = self.python_docstring(node) {
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
            if self.tables.has(current, ATTRIBUTE) {
                next_row = current.start_position().row;
            } else if self.tables.has(current, COMMENT) && current.end_position().row + 1 >= next_row {
                lines.push(self.text(current));
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

    fn python_docstring(&self, node: Node<'_>) -> Option<String> {
        if !matches!(node.kind(), "function_definition" | "class_definition")
            || self.spec.visibility != VisibilityRule::Python
        {
            return None;
        }
        let first = node.child_by_field_name("body")?.named_child(0)?;
        let string = (first.kind() == "expression_statement")
            .then(|| first.named_child(0))
            .flatten()
            .filter(|s| s.kind() == "string")?;
        let text = self.text(string);
        let inner = text
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .trim_matches(|c| c == '"' || c == '\'');
        let doc: Vec<&str> = inner.lines().map(str::trim).collect();
        let doc = doc.join("\n").trim().to_string();
        (!doc.is_empty()).then(|| truncate(doc, MAX_DOC))
    }

    fn finish(self, has_syntax_errors: bool, text: &str) -> FileAnalysis {
        let functions: Vec<&FunctionMetrics> =
            self.symbols.iter().filter_map(|s| s.metrics.as_ref()).collect();
        let complexity = self.scopes[0].complexity;
        let max_complexity = functions.iter().map(|m| m.complexity).max().unwrap_or(0);
        let vocabulary = self.distinct.len() as f64;
        let halstead_volume = if vocabulary >= 2.0 {
            self.tokens as f64 * vocabulary.log2()
        } else {
            0.0
        };
        let lines_of_code = text.lines().filter(|l| !l.trim().is_empty()).count() as f64;
        FileAnalysis {
            metrics: FileMetrics {
                functions: functions.len() as u32,
                complexity,
                max_complexity,
                halstead_volume,
                maintainability: maintainability_index(halstead_volume, complexity, lines_of_code),
            },
            symbols: self.symbols,
            imports: self.imports,
            calls: self.calls,
            has_syntax_errors,
        }
    }
}

/// The normalised maintainability index (see the module docs of [`super`]).
pub(crate) fn maintainability_index(volume: f64, complexity: u32, lines_of_code: f64) -> f64 {
    if volume <= 0.0 || lines_of_code <= 0.0 {
        return 100.0;
    }
    let raw = 171.0 - 5.2 * volume.ln() - 0.23 * complexity as f64 - 16.2 * lines_of_code.ln();
    (raw * 100.0 / 171.0).clamp(0.0, 100.0)
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

/// At most `max` bytes of `text`, cut on a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn clean_target(text: &str) -> String {
    let text = text
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '<' | '>' | '`' | ';'));
    collapse(text, MAX_TARGET)
}

/// Whitespace collapsed to single spaces, cut to `max` characters.
fn collapse(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(collapsed, max)
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
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
    fn callee_names_are_the_last_identifier() {
        assert_eq!(last_identifier("self.client.send"), Some("send"));
        assert_eq!(last_identifier("Vec::new"), Some("new"));
        assert_eq!(last_identifier("println!"), Some("println"));
        assert_eq!(last_identifier("$this->repo->find"), Some("find"));
        assert_eq!(last_identifier("fetch<T>"), Some("fetch"));
        assert_eq!(last_identifier("(a + b)"), None);
    }

    #[test]
    fn the_maintainability_index_follows_its_formula() {
        // (171 - 5.2 ln 1000 - 0.23 * 10 - 16.2 ln 100) * 100 / 171 = 34.02…
        let mi = maintainability_index(1000.0, 10, 100.0);
        assert!((mi - 34.02).abs() < 0.01, "{mi}");
        assert_eq!(maintainability_index(0.0, 0, 0.0), 100.0);
        assert_eq!(maintainability_index(1e12, 500, 1e6), 0.0);
    }

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
