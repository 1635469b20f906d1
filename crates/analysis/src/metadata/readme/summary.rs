//! What the three parsers share: the [`Collector`] that keeps the title, the sections and the first
//! prose paragraph as the summary; [`Inline`] text with the words outside links counted apart (to
//! tell prose from link lists); and [`PlainParagraph`], a paragraph of a line-based markup
//! (reStructuredText, AsciiDoc).

use super::{MAX_HEADING_CHARS, MAX_SECTIONS, MAX_SUMMARY_CHARS, ReadmeInfo};
use crate::metadata::text::{cap_chars, collapse_whitespace, prefix_bytes};

/// Bytes of one paragraph or heading that are looked at (the summary needs far fewer).
pub(super) const MAX_PARAGRAPH_BYTES: usize = 16 * 1024;

/// Lines of one paragraph that are looked at.
const MAX_PARAGRAPH_LINES: usize = 1_000;

/// Accumulates headings and the first prose paragraph.
#[derive(Default)]
pub(super) struct Collector {
    pub(super) info: ReadmeInfo,
}

impl Collector {
    pub(super) fn heading(&mut self, raw: &str) {
        let heading = cap_chars(&collapse_whitespace(raw), MAX_HEADING_CHARS);
        if heading.is_empty() {
            return;
        }
        if self.info.title.is_none() {
            self.info.title = Some(heading.clone());
        }
        if self.info.sections.len() < MAX_SECTIONS {
            self.info.sections.push(heading);
        }
    }

    /// Offers a paragraph: its prose lines (noise lines already dropped) and how many words it
    /// has outside links. The first one with at least two such words becomes the summary.
    pub(super) fn paragraph(&mut self, prose: &str, words_outside_links: usize) {
        if self.info.summary.is_some() || words_outside_links < 2 {
            return;
        }
        let prose = collapse_whitespace(prose);
        if prose.chars().any(char::is_alphabetic) {
            self.info.summary = Some(cap_chars(&prose, MAX_SUMMARY_CHARS));
        }
    }
}

/// Words with a letter or digit.
pub(super) fn count_words(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// Text with the words outside links tracked separately (to tell prose from link lists).
#[derive(Default)]
pub(super) struct Inline {
    pub(super) text: String,
    pub(super) outside: String,
}

impl Inline {
    pub(super) fn outside(&mut self, text: &str) {
        self.text.push_str(text);
        self.outside.push_str(text);
    }

    pub(super) fn link(&mut self, text: &str) {
        self.text.push_str(text);
        self.outside.push(' ');
    }
}

/// Drops the `*`/`_` emphasis markers that open or close a word (one side a word, the other a
/// space, bracket or the end); a marker between two words (`snake_case`) or two spaces (`2 * 3`)
/// stays.
pub(super) fn strip_emphasis(text: &str, markers: &[char]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !markers.contains(&chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run_start = i;
        while i < chars.len() && chars[i] == chars[run_start] {
            i += 1;
        }
        let before = run_start.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i).copied();
        let open_side = before.is_none_or(|c| c.is_whitespace() || "([{\"'".contains(c));
        let close_side = after.is_none_or(|c| c.is_whitespace() || ".,;:!?)]}\"'".contains(c));
        if open_side == close_side {
            out.extend(&chars[run_start..i]);
        }
    }
    out
}

/// A standalone URL at the start of `rest`: its length in bytes.
pub(super) fn url_len(rest: &str) -> Option<usize> {
    if !(rest.starts_with("http://") || rest.starts_with("https://")) {
        return None;
    }
    Some(
        rest.find(|c: char| c.is_whitespace() || c == '[' || c == '>')
            .unwrap_or(rest.len()),
    )
}

/// A paragraph of a line-based markup: lines kept unless they are noise, then stripped together.
#[derive(Default)]
pub(super) struct PlainParagraph<'a> {
    pub(super) lines: Vec<&'a str>,
    pub(super) not_prose: bool,
}

impl<'a> PlainParagraph<'a> {
    /// Adds a line (past [`MAX_PARAGRAPH_LINES`] lines are ignored: the summary is long done).
    pub(super) fn add(&mut self, line: &'a str) {
        if self.lines.len() < MAX_PARAGRAPH_LINES {
            self.lines.push(line);
        }
    }

    pub(super) fn flush(&mut self, collector: &mut Collector, strip: fn(&str) -> Inline) {
        let lines = std::mem::take(&mut self.lines);
        let not_prose = std::mem::take(&mut self.not_prose);
        if not_prose || lines.is_empty() || collector.info.summary.is_some() {
            return;
        }
        let mut kept = String::new();
        for line in lines {
            let line = prefix_bytes(line, MAX_PARAGRAPH_BYTES);
            if kept.len() + line.len() > MAX_PARAGRAPH_BYTES {
                break;
            }
            let inline = strip(line);
            let started = !kept.is_empty();
            if count_words(&inline.outside) > 0 || (started && count_words(&inline.text) > 0) {
                kept.push_str(line);
                kept.push(' ');
            }
        }
        let inline = strip(&kept);
        collector.paragraph(&inline.text, count_words(&inline.outside));
    }
}

/// A bullet or enumerated list item.
pub(super) fn is_list_item(line: &str) -> bool {
    if ["- ", "* ", "+ ", "• "].iter().any(|m| line.starts_with(m)) || line.starts_with("#. ") {
        return true;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::readme::parse_readme;

    #[test]
    fn a_long_summary_is_capped_on_a_word_boundary() {
        let text = format!("# T\n\n{}\n", "lorem ipsum ".repeat(200));
        let summary = parse_readme("README.md", &text).summary.unwrap();
        assert!(summary.chars().count() <= MAX_SUMMARY_CHARS, "{}", summary.len());
        assert!(
            summary.ends_with("ipsum…") || summary.ends_with("lorem…"),
            "{summary}"
        );
    }
    #[test]
    fn sections_and_heading_lengths_are_capped() {
        let text: String = (0..500)
            .map(|i| format!("## Section {i} {}\n\n", "x".repeat(300)))
            .collect();
        let info = parse_readme("README.md", &text);
        assert_eq!(info.sections.len(), MAX_SECTIONS);
        assert!(
            info.sections
                .iter()
                .all(|s| s.chars().count() <= MAX_HEADING_CHARS)
        );
    }
    #[test]
    fn emphasis_markers_go_but_intraword_and_spaced_ones_stay() {
        assert_eq!(
            strip_emphasis("**bold** and _it_ in snake_case, 2 * 3", &['*', '_']),
            "bold and it in snake_case, 2 * 3"
        );
    }
}
