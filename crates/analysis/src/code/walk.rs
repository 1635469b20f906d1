//! The single pass over a syntax tree: an explicit cursor walk (no recursion, so a 10,000-level
//! nest cannot overflow the stack) that hands each node to the collectors of each concern —
//! [`symbols`](super::symbols) for definitions, [`references`](super::references) for imports and
//! calls, [`metrics`](super::metrics) for complexity, nesting and Halstead counts — and closes what
//! a node opened when the walk leaves it.

use tree_sitter::{Node, Tree};

use super::FileAnalysis;
use super::kinds::{BOOLEAN_BINARY, CALL, COMMENT, DECISION, DEFINITION, IMPORT, NESTING, tables_for};
use super::metrics::Metrics;
use super::references::References;
use super::source::Source;
use super::spec::LangSpec;
use super::symbols::{Opened, Symbols};

/// What to undo when the walk leaves a node.
enum Close {
    Symbol,
    Scope,
    Nesting,
}

/// The collectors of one walk and what the walk is inside.
struct Walk<'a> {
    source: Source<'a>,
    symbols: Symbols,
    references: References,
    metrics: Metrics<'a>,
    /// (node id, what to undo) for nodes the walk is inside.
    open: Vec<(usize, Close)>,
}

/// Symbols, imports, calls and metrics of the file `text`, parsed as `tree` with `spec`'s grammar.
pub(crate) fn analyze_tree(spec: &'static LangSpec, tree: &Tree, text: &str) -> FileAnalysis {
    let mut walk = Walk {
        source: Source {
            spec,
            tables: tables_for(spec),
            src: text.as_bytes(),
        },
        symbols: Symbols::default(),
        references: References::default(),
        metrics: Metrics::new(),
        open: Vec::new(),
    };
    let mut cursor = tree.walk();
    'walk: loop {
        walk.enter(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            walk.leave(cursor.node());
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    walk.finish(tree.root_node().has_error(), text)
}

impl<'a> Walk<'a> {
    fn enter(&mut self, node: Node<'a>) {
        let source = self.source;
        let tables = source.tables;
        if tables.has(node, COMMENT) {
            return;
        }
        if node.child_count() == 0 {
            self.metrics.token(&source, node);
            return;
        }
        let id = node.id();
        if tables.has(node, DEFINITION)
            && let Some(opened) = self.symbols.enter_definition(&source, node)
        {
            self.open.push((id, Close::Symbol));
            if let Opened::Function(index) = opened {
                self.metrics.open_function(index);
                self.open.push((id, Close::Scope));
            }
        }
        if tables.has(node, DECISION) {
            self.metrics.decision(&source, node);
        }
        if tables.has(node, BOOLEAN_BINARY) {
            self.metrics.boolean_binary(tables, node);
        }
        if tables.has(node, NESTING) && self.metrics.enter_nesting(node) {
            self.open.push((id, Close::Nesting));
        }
        if tables.has(node, IMPORT) {
            self.references.import(&source, node);
        }
        if tables.has(node, CALL) {
            let caller = self.metrics.current_function();
            self.references.call(&source, node, caller);
        }
    }

    fn leave(&mut self, node: Node<'_>) {
        while self.open.last().is_some_and(|(id, _)| *id == node.id()) {
            let (_, close) = self.open.pop().expect("checked above");
            match close {
                Close::Symbol => self.symbols.leave_container(),
                Close::Scope => self.metrics.close_function(&mut self.symbols.list),
                Close::Nesting => self.metrics.leave_nesting(),
            }
        }
    }

    fn finish(self, has_syntax_errors: bool, text: &str) -> FileAnalysis {
        FileAnalysis {
            metrics: self.metrics.finish(&self.symbols.list, text),
            symbols: self.symbols.list,
            imports: self.references.imports,
            calls: self.references.calls,
            has_syntax_errors,
        }
    }
}
