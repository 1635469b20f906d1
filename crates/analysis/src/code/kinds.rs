//! The language specs compiled for the walk: each spec's node kinds as flags indexed by node kind
//! id, built once per language and cached here, so the specs stay plain data that knows nothing of
//! the walk.

use std::sync::{PoisonError, RwLock};

use tree_sitter::Node;

use super::spec::{LangSpec, SymbolKind};

/// A definition ([`LangSpec::definitions`]).
pub(super) const DEFINITION: u16 = 1;
/// A decision point ([`LangSpec::decisions`]).
pub(super) const DECISION: u16 = 1 << 1;
/// A binary expression that may hold short-circuit operators ([`LangSpec::boolean_binaries`]).
pub(super) const BOOLEAN_BINARY: u16 = 1 << 2;
/// A short-circuit operator token ([`LangSpec::boolean_operators`]).
pub(super) const BOOLEAN_OPERATOR: u16 = 1 << 3;
/// A construct that nests control flow ([`LangSpec::nesting`]).
pub(super) const NESTING: u16 = 1 << 4;
/// An import statement ([`LangSpec::imports`]).
pub(super) const IMPORT: u16 = 1 << 5;
/// A call ([`LangSpec::calls`]).
pub(super) const CALL: u16 = 1 << 6;
/// A comment ([`LangSpec::comments`]).
pub(super) const COMMENT: u16 = 1 << 7;
/// An attribute or decorator ([`LangSpec::attributes`]).
pub(super) const ATTRIBUTE: u16 = 1 << 8;

/// The spec's node kinds as flags indexed by node kind id (aliases included), so the walk tests a
/// node with one array lookup instead of string comparisons.
pub(super) struct KindTables {
    flags: Vec<u16>,
    /// The symbol kind of each definition node kind.
    pub(super) definition: Vec<Option<SymbolKind>>,
    /// The field naming the callee of each call node kind (empty: the first named child).
    pub(super) call_field: Vec<&'static str>,
}

/// The tables built so far, one per spec (specs are statics, so their addresses tell them apart).
static BUILT: RwLock<Vec<(&'static LangSpec, &'static KindTables)>> = RwLock::new(Vec::new());

/// The tables of `spec`, built on first use and kept for the life of the process.
pub(super) fn tables_for(spec: &'static LangSpec) -> &'static KindTables {
    let find = |built: &[(&'static LangSpec, &'static KindTables)]| {
        built
            .iter()
            .find(|(known, _)| std::ptr::eq(*known, spec))
            .map(|(_, tables)| *tables)
    };
    if let Some(tables) = find(&BUILT.read().unwrap_or_else(PoisonError::into_inner)) {
        return tables;
    }
    let mut built = BUILT.write().unwrap_or_else(PoisonError::into_inner);
    // Another thread may have built them while this one waited for the lock.
    if let Some(tables) = find(&built) {
        return tables;
    }
    let tables: &'static KindTables = Box::leak(Box::new(KindTables::build(spec)));
    built.push((spec, tables));
    tables
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

    /// Whether `node`'s kind carries `flag`.
    pub(super) fn has(&self, node: Node<'_>, flag: u16) -> bool {
        self.flags
            .get(node.kind_id() as usize)
            .is_some_and(|f| f & flag != 0)
    }
}
