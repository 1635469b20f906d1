//! Chunking of real tree-sitter output: exact chunk boundaries on small sources, and the guarantees of
//! the module docs (coverage, order, budget, hashes) on larger generated ones and on hostile input.

use std::fmt::Write as _;
use std::time::Duration;

use reposage_analysis::chunk::{ApproximateTokens, Chunk, ChunkBudget, ChunkInput, TokenCounter, chunk_file};
use reposage_analysis::code::{Symbol, analyze};

/// One token per white-space separated word: exact expectations by counting words.
struct Words;

impl TokenCounter for Words {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

/// The small budget of the exact-boundary tests.
const SMALL: ChunkBudget = ChunkBudget {
    max_tokens: 40,
    min_tokens: 8,
    overlap_lines: 1,
};

fn symbols_of(language: &str, text: &str) -> Vec<Symbol> {
    analyze(language, text, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{language}: {e}"))
        .symbols
}

fn chunk(path: &str, language: &str, text: &str, symbols: &[Symbol], budget: &ChunkBudget) -> Vec<Chunk> {
    let input = ChunkInput {
        path,
        language: Some(language),
        text,
        symbols,
    };
    chunk_file(&input, budget, &Words)
}

/// Analyses `text` with tree-sitter, then chunks it counting words.
fn chunk_code(language: &str, text: &str, budget: &ChunkBudget) -> Vec<Chunk> {
    chunk("src/lib", language, text, &symbols_of(language, text), budget)
}

fn ranges(chunks: &[Chunk]) -> Vec<(u32, u32, Option<&str>)> {
    chunks
        .iter()
        .map(|c| (c.start_line, c.end_line, c.symbol_path.as_deref()))
        .collect()
}

/// Checks the guarantees of the module docs; `windows` allows overlapping chunks.
fn assert_well_formed(
    text: &str,
    chunks: &[Chunk],
    budget: &ChunkBudget,
    counter: &dyn TokenCounter,
    windows: bool,
) {
    let lines: Vec<&str> = text.strip_prefix('\u{feff}').unwrap_or(text).lines().collect();
    let mut covered = vec![false; lines.len()];
    let (mut previous_start, mut previous_end) = (0, 0);
    for c in chunks {
        let (start, end) = (c.start_line as usize, c.end_line as usize);
        assert!(
            1 <= start && start <= end && end <= lines.len(),
            "{start}..={end}"
        );
        assert!(start > previous_start, "out of order at {start}");
        if !windows {
            assert!(start > previous_end, "{start}..={end} overlaps the chunk before");
        }
        (previous_start, previous_end) = (start, end);
        assert_eq!(c.text, lines[start - 1..end].join("\n"));
        assert!(!lines[start - 1].trim().is_empty() && !lines[end - 1].trim().is_empty());
        assert_eq!(c.token_count, counter.count(&c.text));
        assert!(
            c.token_count <= budget.max_tokens || start == end,
            "{start}..={end} over budget"
        );
        assert_eq!(
            c.content_hash,
            blake3::hash(c.text.as_bytes()).to_hex().to_string()
        );
        covered[start - 1..end].fill(true);
    }
    for (index, line) in lines.iter().enumerate() {
        assert!(
            covered[index] || line.trim().is_empty(),
            "line {} is in no chunk",
            index + 1
        );
    }
}

#[test]
fn a_small_function_is_one_chunk_with_its_doc_comment() {
    let text = "use std::io;\n\n/// Adds one.\n#[inline]\npub fn add_one(x: u32) -> u32 {\n    x + 1\n}\n";
    let budget = ChunkBudget {
        min_tokens: 0,
        ..SMALL
    };
    let chunks = chunk_code("Rust", text, &budget);
    assert_eq!(ranges(&chunks), [(1, 1, None), (3, 7, Some("add_one"))]);
    let add_one = &chunks[1];
    assert_eq!(
        add_one.text,
        "/// Adds one.\n#[inline]\npub fn add_one(x: u32) -> u32 {\n    x + 1\n}"
    );
    assert_eq!(add_one.context_header, "src/lib · add_one");
    assert_eq!(add_one.token_count, 15);
    assert_eq!(chunks[0].context_header, "src/lib");
}

#[test]
fn tiny_neighbouring_functions_merge_under_the_first_ones_name() {
    let text = "fn tiny_a() {}\n\nfn tiny_b() {}\n";
    assert_eq!(
        ranges(&chunk_code("Rust", text, &SMALL)),
        [(1, 3, Some("tiny_a"))]
    );
    let unmerged = ChunkBudget {
        min_tokens: 0,
        ..SMALL
    };
    assert_eq!(
        ranges(&chunk_code("Rust", text, &unmerged)),
        [(1, 1, Some("tiny_a")), (3, 3, Some("tiny_b"))]
    );
}

const IMPL: &str = "\
impl Client {
    /// Sends the request, retrying on failure.
    pub fn send(&self, request: &Request) -> Result<Response, Error> {
        for _ in 0..self.retries {
            if let Ok(response) = self.try_send(request) {
                return Ok(response);
            }
        }
        self.try_send(request)
    }

    fn try_send(&self, request: &Request) -> Result<Response, Error> {
        self.transport.call(request.clone())
    }
}
";

#[test]
fn an_impl_over_budget_is_descended_into_one_chunk_per_method() {
    // 47 words in all: the header line joins the first method, the closing brace the last
    let chunks = chunk_code("Rust", IMPL, &SMALL);
    assert_eq!(
        ranges(&chunks),
        [(1, 10, Some("Client::send")), (12, 15, Some("Client::try_send"))]
    );
    assert_eq!(chunks[0].context_header, "src/lib · Client::send");
    // within budget, the impl is one chunk
    let roomy = ChunkBudget {
        max_tokens: 50,
        ..SMALL
    };
    assert_eq!(
        ranges(&chunk_code("Rust", IMPL, &roomy)),
        [(1, 15, Some("Client"))]
    );
}

const LONG: &str = "\
fn long(input: &[u32]) -> u32 {
    let mut total = 0;
    for value in input {
        if *value > 10 {
            total += value * 2;
        } else {
            total += value;
        }
    }
    let scaled = scale(
        total,
        FACTOR,
    );
    let checked = scaled.checked_mul(3).unwrap_or(u32::MAX);

    let mut steps = 0;
    while steps < checked {
        steps += step_size(steps);
    }
    log::debug!(\"took {steps} steps for {total}\");
    let result = finish(steps, checked);
    result + offset(total) + offset(scaled)
}
";

#[test]
fn a_long_function_is_split_where_statements_start_at_the_body_level() {
    let chunks = chunk_code("Rust", LONG, &SMALL);
    // lines 1-12 would fit (40 words); of the cuts leaving at least 20 words (before lines 5-13),
    // line 10 is the least indented start of a statement. Lines 10-22 would fit; of the cuts before
    // lines 18-23, lines 20-22 start statements at the body's level and 22 is the latest.
    assert_eq!(
        ranges(&chunks),
        [
            (1, 9, Some("long")),
            (10, 21, Some("long")),
            (22, 23, Some("long"))
        ]
    );
    assert_well_formed(LONG, &chunks, &SMALL, &Words, false);
    for c in &chunks[1..] {
        assert!(
            c.text.starts_with("    ") && !c.text.starts_with("     "),
            "{}",
            c.text
        );
    }
}

const PYTHON: &str = r#"import os


class Client:
    """Talks to the server."""

    timeout = 30

    def __init__(self, url):
        self.url = url
        self.session = None

    @property
    def connected(self):
        return self.session is not None

    def send(self, payload):
        data = encode(payload)
        response = post(self.url, data, timeout=self.timeout)
        return decode(response)
"#;

#[test]
fn a_python_class_over_budget_is_one_chunk_per_method_with_its_decorators() {
    let budget = ChunkBudget {
        max_tokens: 30,
        ..SMALL
    };
    let chunks = chunk_code("Python", PYTHON, &budget);
    assert_eq!(
        ranges(&chunks),
        [
            (1, 7, Some("Client")),
            (9, 11, Some("Client.__init__")),
            (13, 15, Some("Client.connected")),
            (17, 20, Some("Client.send")),
        ]
    );
    assert_eq!(
        chunks[2].text,
        "    @property\n    def connected(self):\n        return self.session is not None"
    );
    // within budget, the class is one chunk (the import does not fit along)
    assert_eq!(
        ranges(&chunk_code("Python", PYTHON, &SMALL)),
        [(1, 1, None), (4, 20, Some("Client"))]
    );
}

#[test]
fn text_without_symbols_is_cut_into_overlapping_line_windows() {
    let text = "# Title\n\nIntro line one.\nIntro line two.\n\n## Usage\nRun it like so.\n";
    let budget = ChunkBudget {
        max_tokens: 8,
        min_tokens: 8,
        overlap_lines: 1,
    };
    let chunks = chunk("README.md", "Markdown", text, &[], &budget);
    assert_eq!(ranges(&chunks), [(1, 4, None), (4, 6, None), (6, 7, None)]);
    assert_eq!(chunks[1].text, "Intro line two.\n\n## Usage");
    assert_eq!(chunks[1].context_header, "README.md");
    assert_well_formed(text, &chunks, &budget, &Words, true);
}

#[test]
fn empty_and_blank_files_have_no_chunks() {
    for text in ["", "\n", " \t\r\n\r\n   "] {
        assert_eq!(chunk("a.txt", "Text", text, &[], &SMALL), [], "{text:?}");
        assert_eq!(chunk_code("Rust", text, &SMALL), [], "{text:?}");
    }
}

#[test]
fn content_hashes_are_the_blake3_of_the_text_and_differ_with_it() {
    let first = chunk_code("Rust", IMPL, &SMALL);
    let again = chunk_code("Rust", IMPL, &SMALL);
    assert_eq!(first, again, "deterministic");
    assert_eq!(
        first[1].content_hash,
        blake3::hash(first[1].text.as_bytes()).to_hex().to_string()
    );
    assert_eq!(first[1].content_hash.len(), 64);
    assert_ne!(first[0].content_hash, first[1].content_hash);
    // the same text elsewhere hashes the same; one character more does not
    let moved = chunk_code("Rust", &format!("\n\n{IMPL}"), &SMALL);
    assert_eq!(moved[1].content_hash, first[1].content_hash);
    let edited = chunk_code(
        "Rust",
        &IMPL.replace("request.clone()", "request.clone()?"),
        &SMALL,
    );
    assert_ne!(edited[1].content_hash, first[1].content_hash);
}

#[test]
fn crlf_line_endings_and_a_byte_order_mark_chunk_and_hash_like_plain_newlines() {
    let crlf = format!("\u{feff}{}", LONG.replace('\n', "\r\n"));
    let chunks = chunk_code("Rust", &crlf, &SMALL);
    assert_eq!(chunks, chunk_code("Rust", LONG, &SMALL));
    assert!(chunks.iter().all(|c| !c.text.contains(['\r', '\u{feff}'])));
    assert_well_formed(&crlf, &chunks, &SMALL, &Words, false);
}

#[test]
fn symbols_out_of_range_inverted_duplicated_or_overlapping_are_survived() {
    let text = format!("{IMPL}\n{LONG}\n{PYTHON}");
    let mut symbols = symbols_of("Rust", &text);
    let real = symbols.clone();
    symbols[0].end_line = u32::MAX;
    symbols[1].start_line = 0;
    symbols[2].start_line = 500;
    symbols[3].start_line = symbols[3].end_line + 3;
    symbols[3].start_byte = u32::MAX;
    symbols[1].parent = Some(usize::MAX);
    symbols.extend(real.iter().cloned());
    for (i, s) in real.iter().enumerate() {
        // overlapping the next one by a few lines
        let mut s = s.clone();
        s.start_line += 2;
        s.end_line += 5 + i as u32;
        symbols.push(s);
    }
    for budget in [
        SMALL,
        ChunkBudget::default(),
        ChunkBudget {
            max_tokens: 0,
            ..SMALL
        },
    ] {
        let chunks = chunk("x.rs", "Rust", &text, &symbols, &budget);
        assert_well_formed(&text, &chunks, &budget, &Words, false);
    }
}

#[test]
fn a_single_line_over_budget_is_a_chunk_of_its_own() {
    let huge = format!("fn f() {{ {} }}", "let x = 1; ".repeat(100_000));
    assert!(huge.len() > 1_000_000);
    let text = format!("use a;\n{huge}\nfn g() {{}}\n");
    let chunks = chunk_code("Rust", &text, &SMALL);
    assert_eq!(
        ranges(&chunks),
        [(1, 1, None), (2, 2, Some("f")), (3, 3, Some("g"))]
    );
    assert_eq!(chunks[1].text, huge);
    assert_eq!(chunks[1].token_count, 400_004);

    let windows = chunk("a.txt", "Text", &text, &[], &ChunkBudget::default());
    assert_eq!(ranges(&windows), [(1, 1, None), (2, 2, None), (3, 3, None)]);
    assert_eq!(windows[1].text, huge);
}

/// A Rust file of `items` structs, impls, functions of all sizes, constants and modules.
fn generated_rust(items: usize) -> String {
    let mut out = String::from("//! Generated.\nuse std::collections::HashMap;\n\n");
    for i in 0..items {
        writeln!(out, "/// Item {i}.").unwrap();
        match i % 5 {
            0 => {
                writeln!(out, "pub struct S{i} {{").unwrap();
                for f in 0..=i % 7 {
                    writeln!(out, "    field_{f}: Vec<HashMap<String, u{}>>,", 8 << (f % 4)).unwrap();
                }
                writeln!(out, "}}").unwrap();
            }
            1 => {
                writeln!(out, "impl S{} {{", i - 1).unwrap();
                for m in 0..=i % 4 {
                    writeln!(out, "    pub fn method_{m}(&self, x: u32) -> u32 {{").unwrap();
                    for s in 0..(i * (m + 1)) % 17 {
                        if s % 4 == 3 {
                            writeln!(
                                out,
                                "        if x > {s} {{\n            return x * {s};\n        }}"
                            )
                            .unwrap();
                        } else {
                            writeln!(
                                out,
                                "        let v{s} = self.compute(x, {s}).unwrap_or_default();"
                            )
                            .unwrap();
                        }
                    }
                    writeln!(out, "        x\n    }}\n").unwrap();
                }
                writeln!(out, "}}").unwrap();
            }
            2 => {
                writeln!(out, "#[inline]\npub fn function_{i}(input: &[u8]) -> usize {{").unwrap();
                for s in 0..i % 61 {
                    if s % 9 == 8 {
                        out.push('\n');
                    }
                    writeln!(
                        out,
                        "    let step_{s} = input.iter().filter(|b| **b > {s}).count();"
                    )
                    .unwrap();
                }
                writeln!(out, "    input.len()\n}}").unwrap();
            }
            3 => writeln!(
                out,
                "pub const LIMIT_{i}: usize = {i};\nstatic NAME_{i}: &str = \"{i}\";"
            )
            .unwrap(),
            _ => {
                writeln!(out, "mod m{i} {{\n    use super::*;\n").unwrap();
                for f in 0..i % 3 {
                    writeln!(
                        out,
                        "    fn inner_{f}() -> usize {{\n        LIMIT_3 + {f}\n    }}"
                    )
                    .unwrap();
                }
                writeln!(out, "}}").unwrap();
            }
        }
        out.push('\n');
    }
    out
}

#[test]
fn every_line_of_a_large_generated_file_is_covered_in_order_within_budget() {
    let text = generated_rust(400);
    assert!(text.lines().count() > 4_000);
    let symbols = symbols_of("Rust", &text);
    for budget in [SMALL, ChunkBudget::default()] {
        for counter in [&Words as &dyn TokenCounter, &ApproximateTokens] {
            let input = ChunkInput {
                path: "gen.rs",
                language: Some("Rust"),
                text: &text,
                symbols: &symbols,
            };
            let chunks = chunk_file(&input, &budget, counter);
            assert_well_formed(&text, &chunks, &budget, counter, false);
            assert_eq!(chunks, chunk_file(&input, &budget, counter), "deterministic");
            let windows = chunk_file(
                &ChunkInput {
                    symbols: &[],
                    ..input
                },
                &budget,
                counter,
            );
            assert_well_formed(&text, &windows, &budget, counter, true);
        }
    }
}

#[test]
fn a_hundred_thousand_line_file_chunks_whole() {
    let text = generated_rust(5_000);
    assert!(text.lines().count() > 100_000);
    let symbols = symbols_of("Rust", &text);
    let budget = ChunkBudget::default();
    let input = ChunkInput {
        path: "gen.rs",
        language: Some("Rust"),
        text: &text,
        symbols: &symbols,
    };
    let chunks = chunk_file(&input, &budget, &ApproximateTokens);
    assert_well_formed(&text, &chunks, &budget, &ApproximateTokens, false);
    let windows = chunk_file(
        &ChunkInput {
            symbols: &[],
            ..input
        },
        &budget,
        &ApproximateTokens,
    );
    assert_well_formed(&text, &windows, &budget, &ApproximateTokens, true);
}
