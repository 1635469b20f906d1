//! Metrics of a file and its functions: McCabe complexity and nesting depth per function (a scope
//! per function being walked), Halstead's token counts and the maintainability index (see the
//! module docs of [`super`] for the definitions).

use std::collections::HashSet;

use tree_sitter::Node;

use super::kinds::{BOOLEAN_OPERATOR, KindTables};
use super::source::{Source, prefix};
use super::{FileMetrics, FunctionMetrics, Symbol};

/// A function being measured (or the file itself, outside every function).
struct Scope {
    symbol: Option<usize>,
    complexity: u32,
    nesting: u32,
    max_nesting: u32,
}

/// The measurements of a walk in progress.
pub(super) struct Metrics<'a> {
    /// Functions being measured; `scopes[0]` is the file itself.
    scopes: Vec<Scope>,
    /// Halstead: distinct tokens and their total count.
    distinct: HashSet<(bool, &'a str)>,
    tokens: u64,
}

impl<'a> Metrics<'a> {
    /// Metrics of a file with nothing walked yet.
    pub(super) fn new() -> Self {
        Metrics {
            scopes: vec![Scope {
                symbol: None,
                complexity: 0,
                nesting: 0,
                max_nesting: 0,
            }],
            distinct: HashSet::new(),
            tokens: 0,
        }
    }

    /// Counts the leaf `node` as a Halstead token: an operand (a named leaf, by its text) or an
    /// operator (an anonymous token, by its kind). Nodes the parser made up are not counted.
    pub(super) fn token(&mut self, source: &Source<'a>, node: Node<'a>) {
        if node.is_missing() {
            return;
        }
        self.tokens += 1;
        let token = if node.is_named() {
            source.text(node)
        } else {
            node.kind()
        };
        self.distinct.insert((node.is_named(), prefix(token, 64)));
    }

    /// Adds one path to the current function for a node of a decision kind that really branches.
    pub(super) fn decision(&mut self, source: &Source<'_>, node: Node<'_>) {
        if is_decision(source, node) {
            self.scope().complexity += 1;
        }
    }

    /// Adds one path per short-circuit operator of the binary expression `node`.
    pub(super) fn boolean_binary(&mut self, tables: &KindTables, node: Node<'_>) {
        let mut cursor = node.walk();
        let operators = node
            .children(&mut cursor)
            .filter(|child| tables.has(*child, BOOLEAN_OPERATOR))
            .count() as u32;
        self.scope().complexity += operators;
    }

    /// Goes one level deeper for a nesting construct, unless it continues an `else` (an `else if`
    /// chain is one level); true when a level was opened, to be closed by [`Self::leave_nesting`].
    pub(super) fn enter_nesting(&mut self, node: Node<'_>) -> bool {
        if node.parent().is_some_and(|p| p.kind().contains("else")) {
            return false;
        }
        let scope = self.scope();
        scope.nesting += 1;
        scope.max_nesting = scope.max_nesting.max(scope.nesting);
        true
    }

    /// Closes a level opened by [`Self::enter_nesting`].
    pub(super) fn leave_nesting(&mut self) {
        self.scope().nesting -= 1;
    }

    /// Starts measuring the function that is symbol `symbol` (complexity 1: its one path).
    pub(super) fn open_function(&mut self, symbol: usize) {
        self.scopes.push(Scope {
            symbol: Some(symbol),
            complexity: 1,
            nesting: 0,
            max_nesting: 0,
        });
    }

    /// Ends the innermost function: its metrics go to its symbol in `symbols`, its complexity to
    /// the file's total.
    pub(super) fn close_function(&mut self, symbols: &mut [Symbol]) {
        let scope = self.scopes.pop().expect("a scope per open function");
        if let Some(index) = scope.symbol {
            let symbol = &mut symbols[index];
            symbol.metrics = Some(FunctionMetrics {
                complexity: scope.complexity,
                max_nesting: scope.max_nesting,
                lines: symbol.end_line - symbol.start_line + 1,
            });
        }
        // the file's total includes every function
        self.scopes[0].complexity += scope.complexity;
    }

    /// The symbol of the innermost function being walked; `None` at file level.
    pub(super) fn current_function(&self) -> Option<usize> {
        self.scopes.last().and_then(|s| s.symbol)
    }

    /// The file's metrics, from the walked `symbols` (their function metrics set) and its `text`.
    pub(super) fn finish(&self, symbols: &[Symbol], text: &str) -> FileMetrics {
        let functions: Vec<&FunctionMetrics> = symbols.iter().filter_map(|s| s.metrics.as_ref()).collect();
        let complexity = self.scopes[0].complexity;
        let max_complexity = functions.iter().map(|m| m.complexity).max().unwrap_or(0);
        let vocabulary = self.distinct.len() as f64;
        let halstead_volume = if vocabulary >= 2.0 {
            self.tokens as f64 * vocabulary.log2()
        } else {
            0.0
        };
        let lines_of_code = text.lines().filter(|l| !l.trim().is_empty()).count() as f64;
        FileMetrics {
            functions: functions.len() as u32,
            complexity,
            max_complexity,
            halstead_volume,
            maintainability: maintainability_index(halstead_volume, complexity, lines_of_code),
        }
    }

    fn scope(&mut self) -> &mut Scope {
        self.scopes.last_mut().expect("the file scope is never popped")
    }
}

/// Whether a node of a decision kind really branches (a `default` label does not).
fn is_decision(source: &Source<'_>, node: Node<'_>) -> bool {
    match node.kind() {
        // Rust `_ =>` and Python `case _:`
        "match_arm" | "case_clause" => node
            .child_by_field_name("pattern")
            .or_else(|| node.named_child(0))
            .is_none_or(|p| source.text(p).trim() != "_"),
        "switch_label" => !source.text(node).trim_start().starts_with("default"),
        // C: `default:` is a case_statement without a value
        "case_statement" => {
            node.child_by_field_name("value").is_some()
                || !source.text(node).trim_start().starts_with("default")
        }
        "when_entry" => !source.text(node).trim_start().starts_with("else"),
        "case_item" => node
            .child_by_field_name("value")
            .is_none_or(|v| source.text(v).trim() != "*"),
        _ => true,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maintainability_index_follows_its_formula() {
        // (171 - 5.2 ln 1000 - 0.23 * 10 - 16.2 ln 100) * 100 / 171 = 34.02…
        let mi = maintainability_index(1000.0, 10, 100.0);
        assert!((mi - 34.02).abs() < 0.01, "{mi}");
        assert_eq!(maintainability_index(0.0, 0, 0.0), 100.0);
        assert_eq!(maintainability_index(1e12, 500, 1e6), 0.0);
    }
}
