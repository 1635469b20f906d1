//! Prints what code analysis finds in a file: `cargo run -p reposage-analysis --example dump_code -- FILE`.
fn main() {
    let path = std::env::args().nth(1).expect("usage: dump_code FILE");
    let text = std::fs::read_to_string(&path).expect("readable UTF-8 file");
    let language = reposage_analysis::Language::detect(&path, text.lines().next()).expect("known language");
    let analysis = reposage_analysis::code::analyze(language.name, &text, std::time::Duration::from_secs(5))
        .expect("analysable");
    for s in &analysis.symbols {
        let m = s
            .metrics
            .map(|m| format!(" cc={} nest={} lines={}", m.complexity, m.max_nesting, m.lines))
            .unwrap_or_default();
        println!(
            "{:?} {} [{}] vis={:?} L{}-{}{} sig={:?} doc={:?}",
            s.kind, s.qualified_name, s.name, s.visibility, s.start_line, s.end_line, m, s.signature, s.doc
        );
    }
    for i in &analysis.imports {
        println!("import {} L{}", i.target, i.line);
    }
    for c in &analysis.calls {
        println!(
            "call {} from {:?} L{}",
            c.callee,
            c.caller.map(|i| &analysis.symbols[i].name),
            c.line
        );
    }
    println!("{:?} errors={}", analysis.metrics, analysis.has_syntax_errors);
}
