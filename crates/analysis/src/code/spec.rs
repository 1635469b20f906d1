//! What each language's grammar calls a definition, a decision point, an import or a call.
//!
//! Node kinds come from each grammar's `node-types.json`. Decision points add one to the
//! cyclomatic complexity of the enclosing function (see the module docs of [`super`]).

pub use reposage_contract::vocabulary::SymbolKind;

/// How a language marks visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VisibilityRule {
    /// A `visibility_modifier` child (`pub`, `pub(crate)`); otherwise private.
    Rust,
    /// Capitalised names are exported.
    Go,
    /// A leading underscore means private.
    Python,
    /// Modifier keywords among the children (`public`, `private`, `protected`, `internal`).
    Modifiers,
    /// `export` when the definition is exported; TypeScript accessibility modifiers on members.
    JavaScript,
    /// The language has no visibility worth recording.
    None,
}

/// Everything the walk needs to know about one language.
pub(crate) struct LangSpec {
    /// Loads the grammar.
    pub grammar: fn() -> tree_sitter::Language,
    /// Node kind → symbol kind. A few kinds need a closer look (see `symbols::definition_kind`).
    pub definitions: &'static [(&'static str, SymbolKind)],
    /// Node kinds that are one decision point each.
    pub decisions: &'static [&'static str],
    /// Node kinds of binary expressions, and the operators among them that are decision points.
    pub boolean_binaries: &'static [&'static str],
    /// Short-circuit operators.
    pub boolean_operators: &'static [&'static str],
    /// Node kinds that nest control flow (for the nesting depth).
    pub nesting: &'static [&'static str],
    /// Node kinds of import statements.
    pub imports: &'static [&'static str],
    /// (Node kind, field naming the callee) of calls.
    pub calls: &'static [(&'static str, &'static str)],
    /// Called names that are imports (`require`, `source`); their first argument is the target.
    pub import_calls: &'static [&'static str],
    /// Node kinds of comments.
    pub comments: &'static [&'static str],
    /// Node kinds that sit between a doc comment and its definition (attributes, decorators).
    pub attributes: &'static [&'static str],
    /// Qualified-name separator.
    pub separator: &'static str,
    /// Visibility rule.
    pub visibility: VisibilityRule,
}

const C_FAMILY_BOOLEAN: &[&str] = &["&&", "||"];
const BINARY: &[&str] = &["binary_expression"];

static RUST: LangSpec = LangSpec {
    grammar: || tree_sitter_rust::LANGUAGE.into(),
    definitions: &[
        ("function_item", SymbolKind::Function),
        ("function_signature_item", SymbolKind::Function),
        ("struct_item", SymbolKind::Struct),
        ("union_item", SymbolKind::Struct),
        ("enum_item", SymbolKind::Enum),
        ("trait_item", SymbolKind::Trait),
        ("impl_item", SymbolKind::Impl),
        ("mod_item", SymbolKind::Module),
        ("const_item", SymbolKind::Constant),
        ("static_item", SymbolKind::Constant),
        ("type_item", SymbolKind::Type),
        ("macro_definition", SymbolKind::Macro),
    ],
    decisions: &[
        "if_expression",
        "while_expression",
        "for_expression",
        "match_arm",
        "try_expression",
    ],
    boolean_binaries: BINARY,
    boolean_operators: C_FAMILY_BOOLEAN,
    nesting: &[
        "if_expression",
        "while_expression",
        "for_expression",
        "loop_expression",
        "match_expression",
    ],
    imports: &["use_declaration", "extern_crate_declaration"],
    calls: &[("call_expression", "function"), ("macro_invocation", "macro")],
    import_calls: &[],
    comments: &["line_comment", "block_comment"],
    attributes: &["attribute_item"],
    separator: "::",
    visibility: VisibilityRule::Rust,
};

static PYTHON: LangSpec = LangSpec {
    grammar: || tree_sitter_python::LANGUAGE.into(),
    definitions: &[
        ("function_definition", SymbolKind::Function),
        ("class_definition", SymbolKind::Class),
    ],
    decisions: &[
        "if_statement",
        "elif_clause",
        "for_statement",
        "while_statement",
        "except_clause",
        "conditional_expression",
        "for_in_clause",
        "if_clause",
        "case_clause",
    ],
    boolean_binaries: &["boolean_operator"],
    boolean_operators: &["and", "or"],
    nesting: &[
        "if_statement",
        "for_statement",
        "while_statement",
        "try_statement",
        "with_statement",
        "match_statement",
    ],
    imports: &["import_statement", "import_from_statement"],
    calls: &[("call", "function")],
    import_calls: &[],
    comments: &["comment"],
    attributes: &["decorator"],
    separator: ".",
    visibility: VisibilityRule::Python,
};

const JS_DEFINITIONS: &[(&str, SymbolKind)] = &[
    ("function_declaration", SymbolKind::Function),
    ("generator_function_declaration", SymbolKind::Function),
    ("method_definition", SymbolKind::Method),
    ("class_declaration", SymbolKind::Class),
    ("abstract_class_declaration", SymbolKind::Class),
    ("interface_declaration", SymbolKind::Interface),
    ("enum_declaration", SymbolKind::Enum),
    ("type_alias_declaration", SymbolKind::Type),
    ("internal_module", SymbolKind::Module),
    ("module", SymbolKind::Module),
    // `const f = () => …` and `const f = function () {…}`: see symbols::definition_kind
    ("variable_declarator", SymbolKind::Function),
];
const JS_DECISIONS: &[&str] = &[
    "if_statement",
    "for_statement",
    "for_in_statement",
    "while_statement",
    "do_statement",
    "switch_case",
    "catch_clause",
    "ternary_expression",
];
const JS_NESTING: &[&str] = &[
    "if_statement",
    "for_statement",
    "for_in_statement",
    "while_statement",
    "do_statement",
    "switch_statement",
    "try_statement",
];

/// JavaScript, TypeScript and TSX share one set of tables (TypeScript's extra definitions are
/// listed in [`JS_DEFINITIONS`]); only the grammar differs.
macro_rules! javascript_like {
    ($grammar:expr) => {
        LangSpec {
            grammar: $grammar,
            definitions: JS_DEFINITIONS,
            decisions: JS_DECISIONS,
            boolean_binaries: BINARY,
            boolean_operators: &["&&", "||", "??"],
            nesting: JS_NESTING,
            imports: &["import_statement"],
            calls: &[("call_expression", "function"), ("new_expression", "constructor")],
            import_calls: &["require"],
            comments: &["comment"],
            attributes: &["decorator"],
            separator: ".",
            visibility: VisibilityRule::JavaScript,
        }
    };
}

static JAVASCRIPT: LangSpec = javascript_like!(|| tree_sitter_javascript::LANGUAGE.into());
static TYPESCRIPT: LangSpec = javascript_like!(|| tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into());
static TSX: LangSpec = javascript_like!(|| tree_sitter_typescript::LANGUAGE_TSX.into());

static GO: LangSpec = LangSpec {
    grammar: || tree_sitter_go::LANGUAGE.into(),
    definitions: &[
        ("function_declaration", SymbolKind::Function),
        ("method_declaration", SymbolKind::Method),
        // struct / interface / other: see symbols::definition_kind
        ("type_spec", SymbolKind::Type),
        ("const_spec", SymbolKind::Constant),
    ],
    decisions: &[
        "if_statement",
        "for_statement",
        "expression_case",
        "type_case",
        "communication_case",
    ],
    boolean_binaries: BINARY,
    boolean_operators: C_FAMILY_BOOLEAN,
    nesting: &[
        "if_statement",
        "for_statement",
        "expression_switch_statement",
        "type_switch_statement",
        "select_statement",
    ],
    imports: &["import_spec"],
    calls: &[("call_expression", "function")],
    import_calls: &[],
    comments: &["comment"],
    attributes: &[],
    separator: ".",
    visibility: VisibilityRule::Go,
};

static JAVA: LangSpec = LangSpec {
    grammar: || tree_sitter_java::LANGUAGE.into(),
    definitions: &[
        ("class_declaration", SymbolKind::Class),
        ("interface_declaration", SymbolKind::Interface),
        ("annotation_type_declaration", SymbolKind::Interface),
        ("enum_declaration", SymbolKind::Enum),
        ("record_declaration", SymbolKind::Struct),
        ("method_declaration", SymbolKind::Method),
        ("constructor_declaration", SymbolKind::Method),
    ],
    decisions: &[
        "if_statement",
        "for_statement",
        "enhanced_for_statement",
        "while_statement",
        "do_statement",
        "catch_clause",
        "ternary_expression",
        // `case x:` labels (a `default` label is not a decision: see metrics::is_decision)
        "switch_label",
    ],
    boolean_binaries: BINARY,
    boolean_operators: C_FAMILY_BOOLEAN,
    nesting: &[
        "if_statement",
        "for_statement",
        "enhanced_for_statement",
        "while_statement",
        "do_statement",
        "switch_expression",
        "try_statement",
    ],
    imports: &["import_declaration"],
    calls: &[
        ("method_invocation", "name"),
        ("object_creation_expression", "type"),
    ],
    import_calls: &[],
    comments: &["line_comment", "block_comment"],
    attributes: &[],
    separator: ".",
    visibility: VisibilityRule::Modifiers,
};

const C_DECISIONS: &[&str] = &[
    "if_statement",
    "for_statement",
    "while_statement",
    "do_statement",
    "case_statement",
    "conditional_expression",
];
const C_NESTING: &[&str] = &[
    "if_statement",
    "for_statement",
    "while_statement",
    "do_statement",
    "switch_statement",
];

static C: LangSpec = LangSpec {
    grammar: || tree_sitter_c::LANGUAGE.into(),
    definitions: &[
        ("function_definition", SymbolKind::Function),
        ("struct_specifier", SymbolKind::Struct),
        ("union_specifier", SymbolKind::Struct),
        ("enum_specifier", SymbolKind::Enum),
        ("type_definition", SymbolKind::Type),
    ],
    decisions: C_DECISIONS,
    boolean_binaries: BINARY,
    boolean_operators: C_FAMILY_BOOLEAN,
    nesting: C_NESTING,
    imports: &["preproc_include"],
    calls: &[("call_expression", "function")],
    import_calls: &[],
    comments: &["comment"],
    attributes: &[],
    separator: "::",
    visibility: VisibilityRule::None,
};

static CPP: LangSpec = LangSpec {
    grammar: || tree_sitter_cpp::LANGUAGE.into(),
    definitions: &[
        ("function_definition", SymbolKind::Function),
        ("class_specifier", SymbolKind::Class),
        ("struct_specifier", SymbolKind::Struct),
        ("union_specifier", SymbolKind::Struct),
        ("enum_specifier", SymbolKind::Enum),
        ("namespace_definition", SymbolKind::Module),
        ("type_definition", SymbolKind::Type),
        ("alias_declaration", SymbolKind::Type),
    ],
    decisions: &[
        "if_statement",
        "for_statement",
        "for_range_loop",
        "while_statement",
        "do_statement",
        "case_statement",
        "conditional_expression",
        "catch_clause",
    ],
    boolean_binaries: BINARY,
    boolean_operators: &["&&", "||", "and", "or"],
    nesting: &[
        "if_statement",
        "for_statement",
        "for_range_loop",
        "while_statement",
        "do_statement",
        "switch_statement",
        "try_statement",
    ],
    imports: &["preproc_include", "using_declaration"],
    calls: &[("call_expression", "function")],
    import_calls: &[],
    comments: &["comment"],
    attributes: &["attribute_declaration"],
    separator: "::",
    visibility: VisibilityRule::None,
};

static CSHARP: LangSpec = LangSpec {
    grammar: || tree_sitter_c_sharp::LANGUAGE.into(),
    definitions: &[
        ("class_declaration", SymbolKind::Class),
        ("struct_declaration", SymbolKind::Struct),
        ("record_declaration", SymbolKind::Struct),
        ("interface_declaration", SymbolKind::Interface),
        ("enum_declaration", SymbolKind::Enum),
        ("method_declaration", SymbolKind::Method),
        ("constructor_declaration", SymbolKind::Method),
        ("local_function_statement", SymbolKind::Function),
        ("namespace_declaration", SymbolKind::Module),
        ("file_scoped_namespace_declaration", SymbolKind::Module),
        ("delegate_declaration", SymbolKind::Type),
    ],
    decisions: &[
        "if_statement",
        "for_statement",
        "foreach_statement",
        "while_statement",
        "do_statement",
        "catch_clause",
        "conditional_expression",
        "switch_expression_arm",
        // `case x:` labels inside switch sections (see metrics::is_decision for `default`)
        "case_switch_label",
        "case_pattern_switch_label",
    ],
    boolean_binaries: BINARY,
    boolean_operators: &["&&", "||", "??"],
    nesting: &[
        "if_statement",
        "for_statement",
        "foreach_statement",
        "while_statement",
        "do_statement",
        "switch_statement",
        "try_statement",
    ],
    imports: &["using_directive"],
    calls: &[
        ("invocation_expression", "function"),
        ("object_creation_expression", "type"),
    ],
    import_calls: &[],
    comments: &["comment"],
    attributes: &["attribute_list"],
    separator: ".",
    visibility: VisibilityRule::Modifiers,
};

static RUBY: LangSpec = LangSpec {
    grammar: || tree_sitter_ruby::LANGUAGE.into(),
    definitions: &[
        ("method", SymbolKind::Function),
        ("singleton_method", SymbolKind::Function),
        ("class", SymbolKind::Class),
        ("module", SymbolKind::Module),
    ],
    decisions: &[
        "if",
        "elsif",
        "unless",
        "while",
        "until",
        "for",
        "when",
        "rescue",
        "conditional",
        "if_modifier",
        "unless_modifier",
        "while_modifier",
        "until_modifier",
        "rescue_modifier",
    ],
    boolean_binaries: &["binary"],
    boolean_operators: &["&&", "||", "and", "or"],
    nesting: &["if", "unless", "while", "until", "for", "case", "begin"],
    // `require 'x'` is a call: see `References::call` in references.rs
    imports: &[],
    calls: &[("call", "method")],
    import_calls: &["require", "require_relative", "load"],
    comments: &["comment"],
    attributes: &[],
    separator: "::",
    visibility: VisibilityRule::None,
};

static PHP: LangSpec = LangSpec {
    grammar: || tree_sitter_php::LANGUAGE_PHP.into(),
    definitions: &[
        ("function_definition", SymbolKind::Function),
        ("method_declaration", SymbolKind::Method),
        ("class_declaration", SymbolKind::Class),
        ("interface_declaration", SymbolKind::Interface),
        ("trait_declaration", SymbolKind::Trait),
        ("enum_declaration", SymbolKind::Enum),
        ("namespace_definition", SymbolKind::Module),
    ],
    decisions: &[
        "if_statement",
        "else_if_clause",
        "for_statement",
        "foreach_statement",
        "while_statement",
        "do_statement",
        "case_statement",
        "catch_clause",
        "conditional_expression",
        "match_conditional_expression",
    ],
    boolean_binaries: BINARY,
    boolean_operators: &["&&", "||", "and", "or", "??"],
    nesting: &[
        "if_statement",
        "for_statement",
        "foreach_statement",
        "while_statement",
        "do_statement",
        "switch_statement",
        "try_statement",
    ],
    imports: &[
        "namespace_use_clause",
        "require_expression",
        "require_once_expression",
        "include_expression",
        "include_once_expression",
    ],
    calls: &[
        ("function_call_expression", "function"),
        ("member_call_expression", "name"),
        ("scoped_call_expression", "name"),
        ("object_creation_expression", "class"),
    ],
    import_calls: &[],
    comments: &["comment"],
    attributes: &["attribute_list"],
    separator: "\\",
    visibility: VisibilityRule::Modifiers,
};

static KOTLIN: LangSpec = LangSpec {
    grammar: || tree_sitter_kotlin_ng::LANGUAGE.into(),
    definitions: &[
        ("function_declaration", SymbolKind::Function),
        // class or interface: see symbols::definition_kind
        ("class_declaration", SymbolKind::Class),
        ("object_declaration", SymbolKind::Class),
    ],
    decisions: &[
        "if_expression",
        "for_statement",
        "while_statement",
        "do_while_statement",
        "when_entry",
        "catch_block",
    ],
    boolean_binaries: &[
        "conjunction_expression",
        "disjunction_expression",
        "binary_expression",
    ],
    boolean_operators: &["&&", "||"],
    nesting: &[
        "if_expression",
        "for_statement",
        "while_statement",
        "do_while_statement",
        "when_expression",
        "try_expression",
    ],
    imports: &["import"],
    calls: &[("call_expression", "")],
    import_calls: &[],
    comments: &["line_comment", "block_comment"],
    attributes: &[],
    separator: ".",
    visibility: VisibilityRule::Modifiers,
};

static BASH: LangSpec = LangSpec {
    grammar: || tree_sitter_bash::LANGUAGE.into(),
    definitions: &[("function_definition", SymbolKind::Function)],
    decisions: &[
        "if_statement",
        "elif_clause",
        "for_statement",
        "c_style_for_statement",
        "while_statement",
        "case_item",
        "ternary_expression",
    ],
    boolean_binaries: &["list", "binary_expression"],
    boolean_operators: &["&&", "||"],
    nesting: &[
        "if_statement",
        "for_statement",
        "c_style_for_statement",
        "while_statement",
        "case_statement",
    ],
    // `source x` / `. x` are commands: see `References::call` in references.rs
    imports: &[],
    calls: &[("command", "name")],
    import_calls: &["source", "."],
    comments: &["comment"],
    attributes: &[],
    separator: ".",
    visibility: VisibilityRule::None,
};

/// The spec for a [`Language`](crate::Language) name.
pub(crate) fn for_language(name: &str) -> Option<&'static LangSpec> {
    Some(match name {
        "Rust" => &RUST,
        "Python" => &PYTHON,
        "JavaScript" => &JAVASCRIPT,
        "TypeScript" => &TYPESCRIPT,
        "TSX" => &TSX,
        "Go" => &GO,
        "Java" => &JAVA,
        "C" => &C,
        "C++" => &CPP,
        "C#" => &CSHARP,
        "Ruby" => &RUBY,
        "PHP" => &PHP,
        "Kotlin" => &KOTLIN,
        "Bash" => &BASH,
        _ => return None,
    })
}

/// Whether RepoSage has a grammar for the language with this name.
pub fn supports(language: &str) -> bool {
    for_language(language).is_some()
}
