//! Tree-sitter analysis per language: the exact symbols, complexity, imports and calls of small,
//! realistic sources (in `code_samples/`), plus the robustness cases of SECURITY.md.

use std::time::Duration;

use reposage_analysis::code::{FileAnalysis, ParseFailure, SymbolKind, analyze};

const DEADLINE: Duration = Duration::from_secs(10);

fn run(language: &str, source: &str) -> FileAnalysis {
    analyze(language, source, DEADLINE).unwrap_or_else(|e| panic!("{language}: {e}"))
}

/// (kind, qualified name, complexity or 0 for non-functions)
fn symbols(analysis: &FileAnalysis) -> Vec<(SymbolKind, &str, u32)> {
    analysis
        .symbols
        .iter()
        .map(|s| {
            (
                s.kind,
                s.qualified_name.as_str(),
                s.metrics.map_or(0, |m| m.complexity),
            )
        })
        .collect()
}

fn imports(analysis: &FileAnalysis) -> Vec<&str> {
    analysis.imports.iter().map(|i| i.target.as_str()).collect()
}

fn calls_from<'a>(analysis: &'a FileAnalysis, caller: &str) -> Vec<&'a str> {
    analysis
        .calls
        .iter()
        .filter(|c| c.caller.is_some_and(|i| analysis.symbols[i].name == caller))
        .map(|c| c.callee.as_str())
        .collect()
}

use SymbolKind::*;

#[test]
fn rust_symbols_complexity_docs_visibility_imports_and_calls() {
    let a = run("Rust", include_str!("code_samples/a.rs"));
    assert_eq!(
        symbols(&a),
        [
            (Function, "backoff_send", 7),
            (Struct, "Server", 0),
            (Impl, "Server", 0),
            (Method, "Server::run", 1),
            (Method, "Server::stop", 1),
            (Trait, "Handler", 0),
            (Method, "Handler::handle", 1),
            (Module, "inner", 0),
            (Constant, "inner::LIMIT", 0),
            (Macro, "m", 0),
        ]
    );
    let send = &a.symbols[0];
    assert_eq!(
        send.signature,
        "pub fn backoff_send(client: &Client, tries: u32) -> Result<(), Error>"
    );
    assert_eq!(
        send.doc.as_deref(),
        Some("Retries with backoff."),
        "across the #[inline] attribute"
    );
    assert_eq!(send.visibility.as_deref(), Some("pub"));
    assert_eq!((send.start_line, send.end_line), (7, 20));
    let metrics = send.metrics.unwrap();
    assert_eq!((metrics.max_nesting, metrics.lines), (2, 14));
    assert_eq!(a.symbols[1].visibility.as_deref(), Some("pub(crate)"));
    assert_eq!(a.symbols[4].visibility.as_deref(), Some("private"));
    assert_eq!(a.symbols[3].doc.as_deref(), Some("Runs it."));
    assert_eq!(a.symbols[3].parent, Some(2));
    assert_eq!(
        imports(&a),
        ["std::collections::HashMap", "crate::net::{Client, Request}"]
    );
    assert_eq!(
        calls_from(&a, "backoff_send"),
        ["is_ok", "send", "Ok", "compute", "println", "Ok"]
    );
    assert_eq!(calls_from(&a, "run"), ["helper"]);
    assert_eq!(
        (
            a.metrics.functions,
            a.metrics.complexity,
            a.metrics.max_complexity
        ),
        (4, 10, 7)
    );
    assert!(!a.has_syntax_errors);
}

#[test]
fn rust_module_declarations_without_a_body_do_not_contain_what_follows() {
    let a = run("Rust", "mod error;\npub mod files;\n\npub fn resolve() {}\n");
    assert_eq!(
        symbols(&a),
        [
            (Module, "error", 0),
            (Module, "files", 0),
            (Function, "resolve", 1)
        ]
    );
}

#[test]
fn python_methods_docstrings_comprehensions_and_boolean_operators() {
    let a = run("Python", include_str!("code_samples/a.py"));
    assert_eq!(
        symbols(&a),
        [
            (Class, "Client", 0),
            (Method, "Client.send", 8),
            (Method, "Client._private", 1),
            (Function, "helper", 2),
        ]
    );
    assert_eq!(a.symbols[0].doc.as_deref(), Some("A client."));
    assert_eq!(a.symbols[1].doc.as_deref(), Some("Sends data."));
    assert_eq!(a.symbols[1].signature, "def send(self, data):");
    assert_eq!(a.symbols[2].visibility.as_deref(), Some("private"));
    assert_eq!(imports(&a), ["os", "sys", "collections"]);
    assert_eq!(calls_from(&a, "send"), ["remove", "helper"]);
}

#[test]
fn typescript_exports_classes_arrow_functions_and_types() {
    let a = run("TypeScript", include_str!("code_samples/a.ts"));
    assert_eq!(
        symbols(&a),
        [
            (Function, "add", 3),
            (Class, "Service", 0),
            (Method, "Service.fetch", 4),
            (Function, "double", 1),
            (Interface, "Shape", 0),
            (Type, "Id", 0),
            (Enum, "Color", 0),
        ]
    );
    assert_eq!(a.symbols[0].doc.as_deref(), Some("Adds numbers."));
    assert_eq!(a.symbols[0].visibility.as_deref(), Some("export"));
    assert_eq!(a.symbols[2].visibility.as_deref(), Some("public"));
    assert_eq!(a.symbols[3].visibility.as_deref(), Some("export"));
    assert_eq!(a.symbols[4].visibility, None);
    assert_eq!(imports(&a), ["fs", "path"], "ES imports and require()");
    assert_eq!(calls_from(&a, "fetch"), ["readFile"]);
}

#[test]
fn the_same_tables_serve_javascript_and_tsx() {
    let js = run(
        "JavaScript",
        "export function f(a) { return a || 1; }\nclass C { m() {} }\n",
    );
    assert_eq!(
        symbols(&js),
        [(Function, "f", 2), (Class, "C", 0), (Method, "C.m", 1)]
    );
    let tsx = run("TSX", "export const App = () => <div>{ok ? 1 : 2}</div>;\n");
    assert_eq!(symbols(&tsx), [(Function, "App", 2)]);
}

#[test]
fn go_receivers_qualify_methods_and_capitals_export() {
    let a = run("Go", include_str!("code_samples/a.go"));
    assert_eq!(
        symbols(&a),
        [
            (Struct, "Server", 0),
            (Interface, "Handler", 0),
            (Constant, "Limit", 0),
            (Method, "Server.Run", 5),
            (Function, "helper", 1),
        ]
    );
    assert_eq!(a.symbols[0].doc.as_deref(), Some("Server serves."));
    assert_eq!(a.symbols[3].doc.as_deref(), Some("Run runs the server."));
    assert_eq!(a.symbols[3].visibility.as_deref(), Some("public"));
    assert_eq!(a.symbols[4].visibility.as_deref(), Some("private"));
    assert_eq!(imports(&a), ["fmt", "net/http"]);
    assert_eq!(calls_from(&a, "Run"), ["Println", "ListenAndServe"]);
}

#[test]
fn java_classes_constructors_and_switch_labels() {
    let a = run("Java", include_str!("code_samples/A.java"));
    assert_eq!(
        symbols(&a),
        [
            (Class, "Service", 0),
            (Method, "Service.count", 6),
            (Method, "Service.Service", 1),
            (Interface, "Service.Listener", 0),
            (Method, "Service.Listener.on", 1),
        ]
    );
    assert_eq!(a.symbols[0].doc.as_deref(), Some("A service."));
    assert_eq!(a.symbols[1].visibility.as_deref(), Some("public"));
    assert_eq!(a.symbols[2].visibility.as_deref(), Some("private"));
    assert_eq!(imports(&a), ["java.util.List", "java.lang.Math.max"]);
    assert_eq!(calls_from(&a, "count"), ["isEmpty", "max"]);
}

#[test]
fn c_functions_structs_typedefs_and_includes() {
    let a = run("C", include_str!("code_samples/a.c"));
    assert_eq!(
        symbols(&a),
        [(Struct, "point", 0), (Type, "point_t", 0), (Function, "clamp", 6)]
    );
    assert_eq!(a.symbols[2].doc.as_deref(), Some("Clamps."));
    assert_eq!(a.symbols[2].signature, "static int clamp(int v, int lo, int hi)");
    assert_eq!(imports(&a), ["stdio.h", "util.h"]);
    assert_eq!(calls_from(&a, "clamp"), ["printf"]);
}

#[test]
fn cpp_namespaces_classes_and_out_of_class_methods() {
    let a = run("C++", include_str!("code_samples/a.cpp"));
    assert_eq!(
        symbols(&a),
        [
            (Module, "net", 0),
            (Class, "net::Client", 0),
            (Method, "net::Client::send", 3),
            (Method, "net::Client::count", 3),
        ]
    );
    assert_eq!(a.symbols[3].name, "count");
    assert_eq!(imports(&a), ["vector"]);
}

#[test]
fn csharp_namespaces_modifiers_and_interfaces() {
    let a = run("C#", include_str!("code_samples/A.cs"));
    assert_eq!(
        symbols(&a),
        [
            (Module, "Demo", 0),
            (Class, "Demo.Counter", 0),
            (Method, "Demo.Counter.Count", 5),
            (Method, "Demo.Counter.Reset", 1),
            (Interface, "Demo.IShape", 0),
            (Method, "Demo.IShape.Area", 1),
        ]
    );
    assert_eq!(a.symbols[3].visibility.as_deref(), Some("private"));
    assert_eq!(imports(&a), ["System", "System.Collections.Generic"]);
}

#[test]
fn ruby_modules_requires_and_rescue() {
    let a = run("Ruby", include_str!("code_samples/a.rb"));
    assert_eq!(
        symbols(&a),
        [
            (Module, "Net", 0),
            (Class, "Net::Client", 0),
            (Method, "Net::Client::send", 5),
            (Method, "Net::Client::build", 1),
        ]
    );
    assert_eq!(a.symbols[0].doc.as_deref(), Some("A client."));
    assert_eq!(imports(&a), ["json", "lib/util"]);
}

#[test]
fn php_file_namespaces_contain_what_follows() {
    let a = run("PHP", include_str!("code_samples/a.php"));
    assert_eq!(
        symbols(&a),
        [
            (Module, "App\\Http", 0),
            (Class, "App\\Http\\UserController", 0),
            (Method, "App\\Http\\UserController\\show", 5),
            (Method, "App\\Http\\UserController\\log", 1),
            (Function, "App\\Http\\helper", 1),
            (Interface, "App\\Http\\Shape", 0),
            (Trait, "App\\Http\\Greets", 0),
        ]
    );
    assert_eq!(a.symbols[2].visibility.as_deref(), Some("public"));
    assert_eq!(imports(&a), ["App\\Models\\User", "vendor/autoload.php"]);
    assert_eq!(calls_from(&a, "show"), ["find"]);
}

#[test]
fn kotlin_classes_interfaces_objects_and_when() {
    let a = run("Kotlin", include_str!("code_samples/A.kt"));
    assert_eq!(
        symbols(&a),
        [
            (Class, "Service", 0),
            (Method, "Service.count", 5),
            (Method, "Service.reset", 1),
            (Interface, "Shape", 0),
            (Method, "Shape.area", 1),
            (Class, "Registry", 0),
            (Function, "helper", 1),
        ]
    );
    assert_eq!(a.symbols[1].signature, "fun count(xs: List<Int>): Int");
    assert_eq!(a.symbols[2].visibility.as_deref(), Some("private"));
    assert_eq!(imports(&a), ["kotlin.math.max"]);
}

#[test]
fn bash_functions_sources_and_case_items() {
    let a = run("Bash", include_str!("code_samples/a.sh"));
    assert_eq!(symbols(&a), [(Function, "deploy", 5)]);
    assert_eq!(a.symbols[0].doc.as_deref(), Some("Deploys."));
    assert_eq!(imports(&a), ["./lib.sh", "./env.sh"]);
    assert_eq!(calls_from(&a, "deploy"), ["kubectl", "echo", "echo"]);
}

#[test]
fn file_metrics_include_the_maintainability_index() {
    let a = run("Rust", include_str!("code_samples/a.rs"));
    assert!(a.metrics.halstead_volume > 0.0);
    assert!((0.0..=100.0).contains(&a.metrics.maintainability));
    let empty = run("Rust", "");
    assert_eq!(empty.metrics.maintainability, 100.0);
    assert_eq!(empty.metrics.functions, 0);
}

#[test]
fn ten_thousand_nested_blocks_parse_on_an_ordinary_stack() {
    let source = format!("fn deep() {{ {} }}", "{ ".repeat(10_000) + &"} ".repeat(10_000));
    let a = run("Rust", &source);
    assert_eq!(symbols(&a), [(Function, "deep", 1)]);
}

#[test]
fn ten_thousand_nested_ifs_count_every_branch() {
    let source = format!(
        "fn deep(x: i32) {{ {} }}",
        "if x > 0 { ".repeat(10_000) + &"} ".repeat(10_000)
    );
    let a = run("Rust", &source);
    let metrics = a.symbols[0].metrics.unwrap();
    assert_eq!((metrics.complexity, metrics.max_nesting), (10_001, 10_000));
}

#[test]
fn a_parse_past_its_deadline_fails_the_file_not_the_run() {
    let huge = "fn f() { let x = 1 + 2 * 3; }\n".repeat(200_000);
    let result = analyze("Rust", &huge, Duration::from_nanos(1));
    assert_eq!(
        result.unwrap_err(),
        ParseFailure::Timeout(Duration::from_nanos(1))
    );
}

#[test]
fn syntax_errors_yield_partial_results_flagged_as_such() {
    let a = run("Python", "def ok():\n    return 1\n\ndef broken(:\n    pass\n");
    assert!(a.has_syntax_errors);
    assert_eq!(a.symbols[0].name, "ok");
}

#[test]
fn unknown_languages_are_reported() {
    assert_eq!(
        analyze("COBOL", "IDENTIFICATION DIVISION.", DEADLINE).unwrap_err(),
        ParseFailure::Unsupported("COBOL".into())
    );
}

#[test]
fn regression_long_non_ascii_tokens_are_cut_on_a_character_boundary() {
    // a 64-byte cut inside a multi-byte character used to panic (found on the cargo registry corpus)
    let source = format!("fn f() {{ let s = \"{}\"; }}", "é".repeat(100));
    let a = run("Rust", &source);
    assert_eq!(symbols(&a), [(Function, "f", 1)]);
}
