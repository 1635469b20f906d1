//! Citations in a streamed answer: found as the text streams, checked against what the model was
//! given, numbered for the reader, and tied to the sentence they support.
//!
//! The model cites context items by number: `[3]`, `[3][5]`, `[3, 5]`, lines of an item `[3:12-14]`,
//! or a path with lines `[src/lib.rs:12-14]`. Each one is resolved to an item that was really in the
//! prompt, at the lines it showed; anything else — an item never given, lines outside it or past the
//! end of the file, a path not in the context — is removed from the text and counted. A verified
//! citation is renumbered in order of first use, so the text's `[1]` is the answer's first
//! citation. Brackets inside code spans and fences are code, not citations.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::answer::{Citation, RejectedCitations};
use crate::context::Context;

/// Longest bracketed text examined as a possible citation marker.
const MAX_MARKER_CHARS: usize = 160;

/// What the tracker lets through.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Answer text, with verified markers renumbered and rejected ones gone.
    Text(String),
    /// A citation, verified.
    Citation(Citation),
}

/// One reference inside a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reference {
    Item {
        number: usize,
        lines: Option<(i32, i32)>,
    },
    Path {
        path: String,
        lines: (i32, i32),
    },
}

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?P<item>\d{1,4})(?::(?P<istart>\d{1,7})(?:-(?P<iend>\d{1,7}))?)?|(?P<path>[\w./-]*[./][\w./-]*):(?P<pstart>\d{1,7})(?:-(?P<pend>\d{1,7}))?)$").unwrap()
});

/// Finds, checks and numbers the citations of one answer as its text streams in.
#[derive(Debug, Default)]
pub struct CitationTracker {
    /// A `[` and what followed it, held back until it is known to be a marker or text.
    pending: Option<String>,
    /// The answer text so far.
    text: String,
    /// Where the current sentence starts in `text`.
    sentence_start: usize,
    /// Where the previous sentence started (a marker after a full stop cites it).
    previous_sentence_start: usize,
    /// Backticks seen in a row, not yet interpreted.
    backticks: usize,
    in_code_span: bool,
    in_code_fence: bool,
    citations: Vec<Citation>,
    ids: HashMap<(usize, i32, i32), usize>,
    rejected: RejectedCitations,
    /// Sentences of three words or more, and those of them with a citation.
    sentences: u32,
    cited_sentences: u32,
    current_cited: bool,
}

impl CitationTracker {
    /// A tracker for a new answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes more of the model's text; returns what may be shown now.
    pub fn push(&mut self, delta: &str, context: &Context) -> Vec<Output> {
        let mut out = Vec::new();
        let mut text = String::new();
        for c in delta.chars() {
            if let Some(pending) = &mut self.pending {
                pending.push(c);
                if c == ']' {
                    let marker = self.pending.take().unwrap_or_default();
                    self.close_marker(&marker, context, &mut text, &mut out);
                } else if c == '\n' || c == '[' || pending.chars().count() > MAX_MARKER_CHARS {
                    // Not a marker: show it as text, and look again at a `[` that restarts one.
                    let mut held = self.pending.take().unwrap_or_default();
                    let restart = c == '[';
                    if restart {
                        held.pop();
                    }
                    for h in held.chars() {
                        self.push_text_char(h, &mut text);
                    }
                    if restart {
                        self.pending = Some("[".into());
                    }
                }
                continue;
            }
            if c == '[' && !self.in_code() && self.backticks == 0 {
                self.pending = Some("[".into());
            } else {
                self.push_text_char(c, &mut text);
            }
        }
        if !text.is_empty() {
            out.push(Output::Text(text));
        }
        out
    }

    /// Ends the answer: held-back text is shown as it was.
    pub fn finish(&mut self) -> Vec<Output> {
        let mut text = String::new();
        if let Some(held) = self.pending.take() {
            for c in held.chars() {
                self.push_text_char(c, &mut text);
            }
        }
        self.end_sentence();
        if text.is_empty() {
            Vec::new()
        } else {
            vec![Output::Text(text)]
        }
    }

    /// The answer text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Verified citations, by id.
    pub fn citations(&self) -> &[Citation] {
        &self.citations
    }

    /// Citations removed so far.
    pub fn rejected(&self) -> RejectedCitations {
        self.rejected
    }

    /// Share of the answer's sentences (of three words or more) that carry a citation; 0 for an
    /// answer without such sentences.
    pub fn coverage(&self) -> f32 {
        if self.sentences == 0 {
            0.0
        } else {
            self.cited_sentences as f32 / self.sentences as f32
        }
    }

    fn in_code(&self) -> bool {
        self.in_code_span || self.in_code_fence
    }

    fn push_text_char(&mut self, c: char, shown: &mut String) {
        if c == '`' {
            self.backticks += 1;
        } else if self.backticks > 0 {
            if self.backticks >= 3 {
                self.in_code_fence = !self.in_code_fence;
            } else if !self.in_code_fence {
                self.in_code_span = !self.in_code_span;
            }
            self.backticks = 0;
        }
        let ends_sentence = !self.in_code()
            && (c == '\n' || (c.is_whitespace() && self.text.ends_with(['.', '!', '?', ':'])));
        self.text.push(c);
        shown.push(c);
        if ends_sentence {
            self.end_sentence();
        }
    }

    fn end_sentence(&mut self) {
        let sentence = &self.text[self.sentence_start..];
        if sentence.trim().is_empty() {
            return;
        }
        if sentence.split_whitespace().count() >= 3 {
            self.sentences += 1;
            if self.current_cited {
                self.cited_sentences += 1;
            }
        }
        self.current_cited = false;
        self.previous_sentence_start = self.sentence_start;
        self.sentence_start = self.text.len();
    }

    fn close_marker(&mut self, marker: &str, context: &Context, shown: &mut String, out: &mut Vec<Output>) {
        let inner = &marker[1..marker.len() - 1];
        let Some(references) = parse_marker(inner) else {
            for c in marker.chars() {
                self.push_text_char(c, shown);
            }
            return;
        };
        // A marker right after a sentence's end ("… works. [2]") supports that sentence.
        let (sentence_start, after_end) = if self.text[self.sentence_start..].trim().is_empty() {
            (self.previous_sentence_start, true)
        } else {
            (self.sentence_start, false)
        };
        let sentence = self.text[sentence_start..].trim().to_string();
        // What came before the marker goes out before its citations.
        if !shown.is_empty() {
            out.push(Output::Text(std::mem::take(shown)));
        }
        let mut written = Vec::new();
        for reference in references {
            let Some((item, start, end)) = self.resolve(&reference, context) else {
                continue;
            };
            let id = match self.ids.get(&(item, start, end)) {
                Some(id) => *id,
                None => {
                    let given = context.item(item).expect("resolved items exist");
                    let id = self.citations.len() + 1;
                    let citation = Citation {
                        id,
                        item,
                        repository_id: given.repository_id,
                        repository: given.repository.clone(),
                        path: given.path.clone(),
                        start_line: start,
                        end_line: end,
                        commit_sha: given.commit_sha.clone(),
                        chunk_id: given
                            .chunk_id
                            .filter(|_| (start, end) == (given.start_line, given.end_line)),
                        score: given.score,
                        sentence: sentence.clone(),
                    };
                    self.ids.insert((item, start, end), id);
                    self.citations.push(citation.clone());
                    out.push(Output::Citation(citation));
                    id
                }
            };
            if !written.contains(&id) {
                written.push(id);
            }
        }
        if written.is_empty() {
            return;
        }
        if after_end {
            self.cited_sentences += u32::from(!self.current_cited && self.last_sentence_counted());
        } else {
            self.current_cited = true;
        }
        let rendered: String = written.iter().map(|id| format!("[{id}]")).collect();
        self.text.push_str(&rendered);
        if after_end {
            // The marker belongs to the sentence before it, not to the next one.
            self.sentence_start = self.text.len();
        }
        out.push(Output::Text(rendered));
    }

    /// True when the sentence that just ended was counted (three words or more).
    fn last_sentence_counted(&self) -> bool {
        self.text[self.previous_sentence_start..self.sentence_start]
            .split_whitespace()
            .count()
            >= 3
    }

    /// The item and lines a reference points at, or `None` (counted) when it cannot be verified.
    fn resolve(&mut self, reference: &Reference, context: &Context) -> Option<(usize, i32, i32)> {
        match reference {
            Reference::Item { number, lines } => {
                let Some(item) = context.item(*number) else {
                    self.rejected.not_given += 1;
                    return None;
                };
                let (start, end) = lines.unwrap_or((item.start_line, item.end_line));
                if !item.contains_lines(start, end) {
                    self.rejected.out_of_range += 1;
                    return None;
                }
                Some((item.number, start, end))
            }
            Reference::Path {
                path,
                lines: (start, end),
            } => {
                let path = path.trim_start_matches("./");
                let same_file: Vec<_> = context.items.iter().filter(|i| i.path == path).collect();
                if same_file.is_empty() {
                    self.rejected.unknown_path += 1;
                    return None;
                }
                match same_file.iter().find(|i| i.contains_lines(*start, *end)) {
                    Some(item) => Some((item.number, *start, *end)),
                    None => {
                        // Lines past the end of the file, or lines the model was never shown.
                        if same_file.iter().all(|i| *end > i.file_lines) {
                            self.rejected.out_of_range += 1;
                        } else {
                            self.rejected.not_given += 1;
                        }
                        None
                    }
                }
            }
        }
    }
}

/// The references of a marker's inner text, or `None` when it is not a citation marker (a link
/// label, an array index, prose in brackets).
fn parse_marker(inner: &str) -> Option<Vec<Reference>> {
    let parts: Vec<&str> = inner.split([',', ';']).map(str::trim).collect();
    if parts.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut references = Vec::with_capacity(parts.len());
    for part in parts {
        let captures = REFERENCE.captures(part)?;
        let number = |name: &str| captures.name(name).and_then(|m| m.as_str().parse::<i32>().ok());
        if let Some(item) = captures.name("item") {
            let number_of_item: usize = item.as_str().parse().ok()?;
            let lines = number("istart").map(|start| (start, number("iend").unwrap_or(start)));
            references.push(Reference::Item {
                number: number_of_item,
                lines,
            });
        } else {
            let start = number("pstart")?;
            references.push(Reference::Path {
                path: captures.name("path")?.as_str().to_string(),
                lines: (start, number("pend").unwrap_or(start)),
            });
        }
    }
    Some(references)
}

#[cfg(test)]
mod tests {
    use reposage_store::RepositoryId;

    use super::*;
    use crate::context::{ContextItem, FoundBy};

    fn context() -> Context {
        let item = |number: usize, path: &str, start: i32, end: i32| ContextItem {
            number,
            repository_id: RepositoryId(uuid::Uuid::nil()),
            repository: "local/demo".into(),
            commit_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            path: path.into(),
            start_line: start,
            end_line: end,
            file_lines: 100,
            chunk_id: Some(number as i64 * 10),
            language: Some("Rust".into()),
            symbol_path: None,
            symbol_kind: None,
            signature: None,
            doc: None,
            text: String::new(),
            score: 0.5,
            found_by: FoundBy::Overview,
        };
        Context {
            items: vec![item(1, "src/lib.rs", 10, 30), item(2, "src/main.rs", 1, 20)],
            ..Context::default()
        }
    }

    /// Feeds `deltas` one by one; returns the shown text and the citations.
    fn run(deltas: &[&str]) -> (String, Vec<Citation>, CitationTracker) {
        let context = context();
        let mut tracker = CitationTracker::new();
        let mut shown = String::new();
        let mut citations = Vec::new();
        let mut outputs: Vec<Output> = deltas.iter().flat_map(|d| tracker.push(d, &context)).collect();
        outputs.extend(tracker.finish());
        for output in outputs {
            match output {
                Output::Text(text) => shown.push_str(&text),
                Output::Citation(citation) => citations.push(citation),
            }
        }
        assert_eq!(shown, tracker.text(), "streamed text and final text agree");
        (shown, citations, tracker)
    }

    #[test]
    fn markers_split_across_deltas_are_verified_and_renumbered_by_first_use() {
        let (text, citations, tracker) =
            run(&["The server starts in main [", "2]. It parses", " config [1][2]."]);
        assert_eq!(text, "The server starts in main [1]. It parses config [2][1].");
        assert_eq!(citations.len(), 2);
        assert_eq!(
            (citations[0].item, citations[0].path.as_str()),
            (2, "src/main.rs")
        );
        assert_eq!(citations[0].sentence, "The server starts in main");
        assert_eq!(citations[0].chunk_id, Some(20));
        assert_eq!((citations[1].start_line, citations[1].end_line), (10, 30));
        assert_eq!(tracker.rejected().total(), 0);
        assert_eq!(tracker.coverage(), 1.0);
    }

    #[test]
    fn invented_items_lines_and_paths_are_removed_and_counted() {
        let (text, citations, tracker) = run(&[
            "One [7]. Two lines [1:40-45]. Three [src/lib.rs:200-210]. ",
            "Four [src/nowhere.rs:1-2]. Five [src/lib.rs:50-60]. Real [1:12-14][src/main.rs:3].",
        ]);
        assert_eq!(text, "One . Two lines . Three . Four . Five . Real [1][2].");
        let rejected = tracker.rejected();
        assert_eq!(
            rejected.not_given, 2,
            "[7] and lines 50-60 that exist but were not given"
        );
        assert_eq!(
            rejected.out_of_range, 2,
            "[1:40-45] outside the item, 200-210 past the end"
        );
        assert_eq!(rejected.unknown_path, 1);
        assert_eq!(rejected.total(), 5);
        let ranges: Vec<_> = citations
            .iter()
            .map(|c| (c.path.as_str(), c.start_line, c.end_line))
            .collect();
        assert_eq!(ranges, [("src/lib.rs", 12, 14), ("src/main.rs", 3, 3)]);
        assert_eq!(citations[0].chunk_id, None, "a part of a chunk is not the chunk");
    }

    #[test]
    fn brackets_that_are_not_citations_stay_text() {
        let (text, citations, _) =
            run(&["Use `v[1]` or\n```\nlet a = b[2];\n```\nsee [the docs](x) and [note] [1, 2]."]);
        assert_eq!(
            text,
            "Use `v[1]` or\n```\nlet a = b[2];\n```\nsee [the docs](x) and [note] [1][2]."
        );
        assert_eq!(citations.len(), 2);
    }

    #[test]
    fn a_marker_after_the_full_stop_cites_the_sentence_before_it() {
        let (text, citations, tracker) = run(&["Config is read at start-up. [1] Then it serves."]);
        assert_eq!(text, "Config is read at start-up. [1] Then it serves.");
        assert_eq!(citations[0].sentence, "Config is read at start-up.");
        assert_eq!(tracker.coverage(), 0.5);
    }

    #[test]
    fn an_unclosed_bracket_is_shown_at_the_end() {
        let (text, citations, _) = run(&["Almost [1"]);
        assert_eq!(text, "Almost [1");
        assert!(citations.is_empty());
    }
}
