//! READMEs: the title, a one-paragraph summary and the section headings, from Markdown
//! (CommonMark + GFM, parsed with pulldown-cmark), reStructuredText and AsciiDoc.
//!
//! Only the first [`MAX_README_BYTES`] are read. Every scan here is linear in the input: delimiter
//! searches either consume what they skip or stop for good, and nothing recurses.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use super::text::{cap_chars, collapse_whitespace, decode_entities, file_name, prefix_bytes};

/// Bytes of a README that are read; the rest is ignored.
pub const MAX_README_BYTES: usize = 1024 * 1024;
/// Longest summary kept, in characters (cut on a word with `…`).
pub const MAX_SUMMARY_CHARS: usize = 500;
/// Most section headings kept.
pub const MAX_SECTIONS: usize = 200;
/// Longest title or section heading kept, in characters.
pub const MAX_HEADING_CHARS: usize = 200;

/// Bytes of one paragraph or heading that are looked at (the summary needs far fewer).
const MAX_PARAGRAPH_BYTES: usize = 16 * 1024;

/// Lines of one paragraph that are looked at.
const MAX_PARAGRAPH_LINES: usize = 1_000;

/// What a README says about its project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReadmeInfo {
    /// The first heading (Markdown ATX, setext or HTML `<h1>`–`<h6>`, reStructuredText
    /// over/underlined title, AsciiDoc `= Title`), inline markup removed.
    pub title: Option<String>,
    /// The first paragraph of prose: badges, images, HTML, link-only lines, code, tables, lists and
    /// quotes are skipped; inline markup removed, whitespace collapsed, at most
    /// [`MAX_SUMMARY_CHARS`].
    pub summary: Option<String>,
    /// Every heading in document order (the title included), at most [`MAX_SECTIONS`] of at most
    /// [`MAX_HEADING_CHARS`] each.
    pub sections: Vec<String>,
}

/// README file extensions (lowercase) and the markup they mean.
const EXTENSIONS: &[(&str, Markup)] = &[
    ("md", Markup::Markdown),
    ("markdown", Markup::Markdown),
    ("mdown", Markup::Markdown),
    ("mkd", Markup::Markdown),
    ("txt", Markup::Markdown),
    ("rst", Markup::Rst),
    ("adoc", Markup::AsciiDoc),
    ("asciidoc", Markup::AsciiDoc),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Markup {
    Markdown,
    Rst,
    AsciiDoc,
}

/// The markup of a README path, or `None` when it is not a README.
fn markup(path: &str) -> Option<Markup> {
    let name = file_name(path).to_ascii_lowercase();
    if name == "readme" {
        return Some(Markup::Markdown);
    }
    let extension = name.strip_prefix("readme.")?;
    EXTENSIONS
        .iter()
        .find(|(ext, _)| *ext == extension)
        .map(|(_, markup)| *markup)
}

/// True for `README`, `README.md`, `.markdown`, `.rst`, `.txt`, `.adoc` (any case, any folder;
/// the root one is the project's).
pub fn is_readme_path(path: &str) -> bool {
    markup(path).is_some()
}

/// The title, summary and sections of the README at `path` (the extension picks the markup;
/// plain `README` and `.txt` are read as Markdown, which covers plain text).
pub fn parse_readme(path: &str, text: &str) -> ReadmeInfo {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = prefix_bytes(text, MAX_README_BYTES);
    let mut collector = Collector::default();
    match markup(path).unwrap_or(Markup::Markdown) {
        Markup::Markdown => markdown(text, &mut collector),
        Markup::Rst => rst(text, &mut collector),
        Markup::AsciiDoc => asciidoc(text, &mut collector),
    }
    collector.info
}

/// Accumulates headings and the first prose paragraph.
#[derive(Default)]
struct Collector {
    info: ReadmeInfo,
}

impl Collector {
    fn heading(&mut self, raw: &str) {
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
    fn paragraph(&mut self, prose: &str, words_outside_links: usize) {
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
fn count_words(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// A paragraph being read, line by line: until its prose starts, a line with no words outside
/// links and images (a row of badges, `[Docs](…) | [Chat](…)`) is noise and is dropped.
#[derive(Default)]
struct ProseLines {
    kept: String,
    line: String,
    line_outside: String,
    words_outside: usize,
}

impl ProseLines {
    fn push(&mut self, text: &str, in_link: bool) {
        if self.kept.len() + self.line.len() > MAX_PARAGRAPH_BYTES {
            return;
        }
        self.line.push_str(text);
        if !in_link {
            self.line_outside.push_str(text);
        }
    }

    fn end_line(&mut self) {
        let words = count_words(&self.line_outside);
        // Once prose has started, a wrapped line that is only a link ("…using\n[Rustls](…).")
        // belongs to it.
        if words > 0 || (self.words_outside > 0 && count_words(&self.line) > 0) {
            self.words_outside += words;
            self.kept.push_str(&self.line);
            self.kept.push(' ');
        }
        self.line.clear();
        self.line_outside.clear();
    }

    fn finish(mut self, collector: &mut Collector) {
        self.end_line();
        collector.paragraph(&self.kept, self.words_outside);
    }
}

/// Markdown through pulldown-cmark's event stream.
fn markdown(text: &str, collector: &mut Collector) {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_GFM;
    let mut heading: Option<String> = None;
    let mut paragraph: Option<ProseLines> = None;
    let mut html_block: Option<String> = None;
    // Lists, quotes, tables, footnotes: their paragraphs are not the summary.
    let mut containers = 0usize;
    let mut images = 0usize;
    let mut links = 0usize;
    let mut skipped = 0usize;
    for event in Parser::new_ext(text, options) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(text) = heading.take() {
                    collector.heading(&text);
                }
            }
            Event::Start(Tag::Paragraph) if containers == 0 => paragraph = Some(ProseLines::default()),
            Event::End(TagEnd::Paragraph) => {
                if let Some(lines) = paragraph.take() {
                    lines.finish(collector);
                }
            }
            Event::Start(
                Tag::List(_)
                | Tag::BlockQuote(_)
                | Tag::Table(_)
                | Tag::FootnoteDefinition(_)
                | Tag::DefinitionList,
            ) => containers += 1,
            Event::End(
                TagEnd::List(_)
                | TagEnd::BlockQuote(_)
                | TagEnd::Table
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionList,
            ) => containers = containers.saturating_sub(1),
            Event::Start(Tag::Image { .. }) => images += 1,
            Event::End(TagEnd::Image) => images = images.saturating_sub(1),
            Event::Start(Tag::Link { .. }) => links += 1,
            Event::End(TagEnd::Link) => links = links.saturating_sub(1),
            Event::Start(Tag::CodeBlock(_) | Tag::MetadataBlock(_)) => skipped += 1,
            Event::End(TagEnd::CodeBlock | TagEnd::MetadataBlock(_)) => skipped = skipped.saturating_sub(1),
            Event::Start(Tag::HtmlBlock) => html_block = Some(String::new()),
            Event::End(TagEnd::HtmlBlock) => {
                for text in html_headings(&html_block.take().unwrap_or_default()) {
                    collector.heading(&text);
                }
            }
            Event::Html(html) => {
                if let Some(block) = html_block.as_mut().filter(|b| b.len() < MAX_HTML_BLOCK_BYTES) {
                    block.push_str(&html);
                }
            }
            Event::Text(text) | Event::Code(text) if skipped == 0 && images == 0 => {
                if let Some(heading) = heading.as_mut() {
                    if heading.len() < MAX_PARAGRAPH_BYTES {
                        heading.push_str(&text);
                    }
                } else if let Some(lines) = paragraph.as_mut() {
                    lines.push(&text, links > 0);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(heading) = heading.as_mut() {
                    heading.push(' ');
                } else if let Some(lines) = paragraph.as_mut() {
                    lines.end_line();
                }
            }
            Event::InlineHtml(_) => {
                if let Some(lines) = paragraph.as_mut() {
                    lines.push(" ", links > 0);
                }
            }
            _ => {}
        }
    }
}

/// HTML kept per block to look for headings.
const MAX_HTML_BLOCK_BYTES: usize = 64 * 1024;

/// The text of the `<h1>`…`<h6>` elements of an HTML block (tags removed, entities decoded).
fn html_headings(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find("<h") {
        let start = from + found;
        from = start + 2;
        let bytes = lower.as_bytes();
        let (Some(level @ b'1'..=b'6'), Some(after)) = (bytes.get(start + 2), bytes.get(start + 3)) else {
            continue;
        };
        if !(*after == b'>' || after.is_ascii_whitespace()) {
            continue;
        }
        let Some(open_end) = lower[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let close = format!("</h{}", *level as char);
        let Some(close_start) = lower[open_end..].find(&close).map(|i| open_end + i) else {
            break;
        };
        out.push(decode_entities(&strip_tags(&html[open_end..close_start])));
        from = close_start;
    }
    out
}

/// `html` without its tags.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Text with the words outside links tracked separately (to tell prose from link lists).
#[derive(Default)]
struct Inline {
    text: String,
    outside: String,
}

impl Inline {
    fn outside(&mut self, text: &str) {
        self.text.push_str(text);
        self.outside.push_str(text);
    }

    fn link(&mut self, text: &str) {
        self.text.push_str(text);
        self.outside.push(' ');
    }
}

/// Drops the `*`/`_` emphasis markers that open or close a word (one side a word, the other a
/// space, bracket or the end); a marker between two words (`snake_case`) or two spaces (`2 * 3`)
/// stays.
fn strip_emphasis(text: &str, markers: &[char]) -> String {
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
fn url_len(rest: &str) -> Option<usize> {
    if !(rest.starts_with("http://") || rest.starts_with("https://")) {
        return None;
    }
    Some(
        rest.find(|c: char| c.is_whitespace() || c == '[' || c == '>')
            .unwrap_or(rest.len()),
    )
}

/// reStructuredText inline markup: ``` ``literal`` ```, `` `text <url>`_ ``, `` `ref`_ ``,
/// `` :role:`text` ``, `|substitution|` (dropped), `*emphasis*`, bare URLs.
fn strip_rst_inline(text: &str) -> Inline {
    let mut out = Inline::default();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(inner) = rest.strip_prefix("``") {
            match inner.find("``") {
                Some(end) => {
                    out.outside(&inner[..end]);
                    rest = &inner[end + 2..];
                }
                None => {
                    out.outside(inner);
                    break;
                }
            }
            continue;
        }
        match c {
            '`' => {
                let inner = &rest[1..];
                let Some(end) = inner.find('`') else {
                    out.outside(inner);
                    break;
                };
                let label = &inner[..end];
                let after = &inner[end + 1..];
                if after.starts_with('_') {
                    let text = match label.rfind('<') {
                        Some(open) if label.ends_with('>') && open > 0 => label[..open].trim_end(),
                        _ => label,
                    };
                    out.link(text);
                    rest = after.trim_start_matches('_');
                } else {
                    out.outside(label);
                    rest = after;
                }
            }
            '|' => {
                let inner = &rest[1..];
                match inner.find('|') {
                    Some(end) if end > 0 && !inner.starts_with(' ') => {
                        rest = inner[end + 1..].trim_start_matches('_');
                    }
                    _ => {
                        out.outside("|");
                        rest = inner;
                    }
                }
            }
            ':' => {
                // A role prefix such as `:ref:` right before a backtick.
                let role_end = rest[1..]
                    .char_indices()
                    .take(40)
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')))
                    .map(|(i, c)| (i + 1, c));
                match role_end {
                    Some((end, ':')) if end > 1 && rest[end + 1..].starts_with('`') => {
                        rest = &rest[end + 1..]
                    }
                    _ => {
                        out.outside(":");
                        rest = &rest[1..];
                    }
                }
            }
            _ => {
                if let Some(len) = url_len(rest) {
                    out.link(&rest[..len]);
                    rest = &rest[len..];
                } else {
                    let len = c.len_utf8();
                    out.outside(&rest[..len]);
                    rest = &rest[len..];
                }
            }
        }
    }
    out.text = strip_emphasis(&out.text, &['*']);
    out
}

/// AsciiDoc inline markup: `image:x[alt]` (dropped), `link:url[text]` and `https://url[text]`,
/// `` `code` ``, `*strong*`, `_emphasis_`.
fn strip_asciidoc_inline(text: &str) -> Inline {
    let mut out = Inline::default();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("image:") {
            match rest.find(']') {
                Some(end) => rest = &rest[end + 1..],
                None => break,
            }
            continue;
        }
        let link_target = rest
            .strip_prefix("link:")
            .map(|r| (r, 5))
            .or_else(|| url_len(rest).map(|_| (rest, 0)));
        if let Some((target, prefix)) = link_target {
            let target_len = target
                .find(|c: char| c.is_whitespace() || c == '[')
                .unwrap_or(target.len());
            let after = &target[target_len..];
            if let Some(label) = after.strip_prefix('[') {
                let Some(end) = label.find(']') else {
                    out.link(&target[..target_len]);
                    break;
                };
                let label_text = if label[..end].is_empty() {
                    &target[..target_len]
                } else {
                    &label[..end]
                };
                out.link(label_text);
                rest = &label[end + 1..];
            } else {
                out.link(&target[..target_len]);
                rest = &rest[prefix + target_len..];
            }
            continue;
        }
        if c == '`' {
            let inner = &rest[1..];
            let Some(end) = inner.find('`') else {
                out.outside(inner);
                break;
            };
            out.outside(&inner[..end]);
            rest = &inner[end + 1..];
            continue;
        }
        let len = c.len_utf8();
        out.outside(&rest[..len]);
        rest = &rest[len..];
    }
    out.text = strip_emphasis(&out.text, &['*', '_']);
    out
}

/// A paragraph of a line-based markup: lines kept unless they are noise, then stripped together.
#[derive(Default)]
struct PlainParagraph<'a> {
    lines: Vec<&'a str>,
    not_prose: bool,
}

impl<'a> PlainParagraph<'a> {
    /// Adds a line (past [`MAX_PARAGRAPH_LINES`] lines are ignored: the summary is long done).
    fn add(&mut self, line: &'a str) {
        if self.lines.len() < MAX_PARAGRAPH_LINES {
            self.lines.push(line);
        }
    }

    fn flush(&mut self, collector: &mut Collector, strip: fn(&str) -> Inline) {
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
fn is_list_item(line: &str) -> bool {
    if ["- ", "* ", "+ ", "• "].iter().any(|m| line.starts_with(m)) || line.starts_with("#. ") {
        return true;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") "))
}

/// A reStructuredText section adornment: one punctuation character repeated.
fn is_adornment(line: &str) -> bool {
    let mut chars = line.chars();
    let Some(first) = chars.next() else { return false };
    first.is_ascii_punctuation() && line.len() >= 2 && chars.all(|c| c == first)
}

/// reStructuredText: over- and underlined titles, paragraphs; directives, comments, indented
/// blocks, field lists, tables and lists are skipped.
fn rst(text: &str, collector: &mut Collector) {
    let lines: Vec<&str> = text.lines().collect();
    let mut paragraph = PlainParagraph::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        let indented = line.starts_with(char::is_whitespace);
        let next = lines.get(i + 1).copied().unwrap_or("");
        if trimmed.is_empty() {
            paragraph.flush(collector, strip_rst_inline);
            i += 1;
            continue;
        }
        if paragraph.lines.is_empty() && !indented && is_adornment(trimmed) {
            let under = lines.get(i + 2).map_or("", |l| l.trim());
            let title = next.trim();
            if !title.is_empty()
                && !is_adornment(title)
                && is_adornment(under)
                && under.starts_with(&trimmed[..1])
            {
                collector.heading(&strip_rst_inline(prefix_bytes(title, MAX_PARAGRAPH_BYTES)).text);
                i += 3;
            } else {
                i += 1;
            }
            continue;
        }
        if paragraph.lines.is_empty()
            && !indented
            && !next.starts_with(char::is_whitespace)
            && is_adornment(next.trim_end())
            && next.trim_end().chars().count() >= trimmed.chars().count().min(3)
        {
            collector.heading(&strip_rst_inline(prefix_bytes(trimmed, MAX_PARAGRAPH_BYTES)).text);
            i += 2;
            continue;
        }
        let is_directive = trimmed == ".." || trimmed.starts_with(".. ");
        let is_field = trimmed.starts_with(':')
            && !trimmed.starts_with("::")
            && (trimmed[1..].contains(": ") || trimmed[1..].ends_with(':'));
        let is_table = (trimmed.starts_with('+') && trimmed.chars().all(|c| "+-=|".contains(c)))
            || (trimmed.starts_with('=')
                && trimmed.contains(' ')
                && trimmed.chars().all(|c| c == '=' || c == ' '));
        if indented || is_directive || is_field || is_table {
            paragraph.flush(collector, strip_rst_inline);
            i += 1;
            continue;
        }
        if paragraph.lines.is_empty() && is_list_item(trimmed) {
            paragraph.not_prose = true;
        }
        paragraph.add(trimmed.strip_suffix("::").map_or(trimmed, |t| t.trim_end()));
        i += 1;
    }
    paragraph.flush(collector, strip_rst_inline);
}

/// An AsciiDoc delimited block line (`----`, `....`, `====`, `****`, `++++`, `////`, `____`,
/// `|===`, ```` ``` ````).
fn asciidoc_delimiter(line: &str) -> Option<&str> {
    if line.starts_with("```") {
        return Some("```");
    }
    if line.starts_with("|===") {
        return Some("|===");
    }
    let first = line.chars().next()?;
    ("-.=*+/_".contains(first) && line.len() >= 4 && line.chars().all(|c| c == first)).then_some(line)
}

/// AsciiDoc: `=`/`#` headings (the document header after `= Title` is skipped up to its blank
/// line), paragraphs; delimited blocks, attributes, block titles and attributes, block macros,
/// comments, admonitions and lists are skipped.
fn asciidoc(text: &str, collector: &mut Collector) {
    let mut paragraph = PlainParagraph::default();
    let mut in_block: Option<&str> = None;
    let mut in_header = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(delimiter) = in_block {
            if trimmed == delimiter || (delimiter == "```" && trimmed == "```") {
                in_block = None;
            }
            continue;
        }
        if trimmed.is_empty() {
            in_header = false;
            paragraph.flush(collector, strip_asciidoc_inline);
            continue;
        }
        if in_header {
            continue;
        }
        if let Some(delimiter) = asciidoc_delimiter(trimmed) {
            paragraph.flush(collector, strip_asciidoc_inline);
            in_block = Some(delimiter);
            continue;
        }
        let marks = trimmed.chars().take_while(|c| *c == '=' || *c == '#').count();
        if (1..=6).contains(&marks) && trimmed[marks..].starts_with(' ') {
            paragraph.flush(collector, strip_asciidoc_inline);
            let heading = trimmed[marks..].trim().trim_end_matches(['=', '#']).trim_end();
            collector.heading(&strip_asciidoc_inline(prefix_bytes(heading, MAX_PARAGRAPH_BYTES)).text);
            in_header = marks == 1 && trimmed.starts_with('=');
            continue;
        }
        let is_attribute = trimmed.starts_with(':') && trimmed[1..].contains(':');
        let is_block_meta = (trimmed.starts_with('[') && trimmed.ends_with(']'))
            || (trimmed.starts_with('.')
                && trimmed[1..].starts_with(|c: char| !c.is_whitespace() && c != '.'));
        let is_macro = trimmed
            .split_once("::")
            .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()));
        if line.starts_with(char::is_whitespace)
            || trimmed.starts_with("//")
            || is_attribute
            || is_block_meta
            || is_macro
        {
            paragraph.flush(collector, strip_asciidoc_inline);
            continue;
        }
        let is_admonition = ["NOTE: ", "TIP: ", "IMPORTANT: ", "WARNING: ", "CAUTION: "]
            .iter()
            .any(|a| trimmed.starts_with(a));
        if paragraph.lines.is_empty() && (is_list_item(trimmed) || trimmed.starts_with(". ") || is_admonition)
        {
            paragraph.not_prose = true;
        }
        paragraph.add(trimmed);
    }
    paragraph.flush(collector, strip_asciidoc_inline);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_paths_are_recognised_in_any_case_and_folder() {
        for path in [
            "README",
            "README.md",
            "readme.markdown",
            "docs/ReadMe.rst",
            "README.txt",
            "README.adoc",
        ] {
            assert!(is_readme_path(path), "{path}");
        }
        for path in [
            "README.zh-CN.md",
            "READMEs/x.md",
            "src/readme.rs",
            "README.html",
            "readme_test.md",
        ] {
            assert!(!is_readme_path(path), "{path}");
        }
    }

    const MARKDOWN: &str = r#"---
title: front matter is not a heading
---
<p align="center"><img src="docs/logo.svg" width="120"></p>

# Ferrite [![CI](https://github.com/acme/ferrite/actions/workflows/ci.yml/badge.svg)](https://github.com/acme/ferrite/actions)

[![crates.io](https://img.shields.io/crates/v/ferrite.svg)](https://crates.io/crates/ferrite)
[![docs.rs](https://docs.rs/ferrite/badge.svg)](https://docs.rs/ferrite)
[Documentation](https://docs.rs/ferrite) | [Chat](https://discord.gg/x)

**Ferrite** is a _fast_, embeddable key–value store written in [Rust](https://www.rust-lang.org),
with `async` I/O and snapshot   isolation.

## Installation

```sh
# not a heading
cargo add ferrite
```

| Feature | Status |
|---------|--------|
| WAL     | done   |

Setext section
--------------

- a list item is not the summary
"#;

    #[test]
    fn markdown_gives_the_title_a_clean_summary_and_every_section() {
        let info = parse_readme("README.md", MARKDOWN);
        assert_eq!(info.title.as_deref(), Some("Ferrite"));
        assert_eq!(
            info.summary.as_deref(),
            Some(
                "Ferrite is a fast, embeddable key–value store written in Rust, with async I/O and \
                 snapshot isolation."
            )
        );
        assert_eq!(info.sections, vec!["Ferrite", "Installation", "Setext section"]);
    }

    #[test]
    fn a_setext_title_and_an_html_heading_count_as_headings() {
        let info = parse_readme("README", "My Tool\n=======\n\nDoes one thing well.\n");
        assert_eq!(info.title.as_deref(), Some("My Tool"));
        assert_eq!(info.summary.as_deref(), Some("Does one thing well."));
        let html = "<h1 align=\"center\">\n  <img src=\"logo.png\" alt=\"logo\"><br>\n  Tiny &amp; Fast\n</h1>\n\n\
                    <p align=\"center\">HTML paragraphs are skipped.</p>\n\nA tiny and fast web server.\n";
        let info = parse_readme("README.md", html);
        assert_eq!(info.title.as_deref(), Some("Tiny & Fast"));
        assert_eq!(info.summary.as_deref(), Some("A tiny and fast web server."));
    }

    #[test]
    fn a_link_wrapped_onto_its_own_line_stays_in_the_summary() {
        let text = "# tokio-rustls\n\n[![crates](https://img.shields.io/x.svg)](https://crates.io/x)\n\
                    Asynchronous TLS/SSL streams for Tokio using\n[Rustls](https://github.com/rustls/rustls).\n";
        let info = parse_readme("README.md", text);
        assert_eq!(
            info.summary.as_deref(),
            Some("Asynchronous TLS/SSL streams for Tokio using Rustls.")
        );
    }

    #[test]
    fn a_readme_with_only_badges_has_no_summary() {
        let text = "# badges\n\n[![Build](https://x/b.svg)](https://x)\n[![Cov](https://y/c.svg)](https://y)\n\n\
                    <img src=\"demo.gif\">\n\n[Website](https://x.dev) · [Docs](https://x.dev/docs)\n\n\
                    English | [简体中文](README.zh-CN.md)\n\n> quoted text is not a summary either\n";
        let info = parse_readme("README.md", text);
        assert_eq!(info.title.as_deref(), Some("badges"));
        assert_eq!(info.summary, None);
    }

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
    fn restructuredtext_titles_badges_and_directives_are_understood() {
        let text = r#"
.. image:: https://img.shields.io/pypi/v/requests.svg
    :target: https://pypi.org/project/requests/

|build| |coverage|

========
Requests
========

**Requests** is a simple, yet elegant, HTTP library for `Python <https://python.org>`_,
see ``requests.get`` and :func:`requests.post`.

.. code-block:: python

    >>> import requests

Installing Requests
-------------------

- pip install requests

.. |build| image:: https://x/build.svg
"#;
        let info = parse_readme("README.rst", text);
        assert_eq!(info.title.as_deref(), Some("Requests"));
        assert_eq!(
            info.summary.as_deref(),
            Some(
                "Requests is a simple, yet elegant, HTTP library for Python, see requests.get and requests.post."
            )
        );
        assert_eq!(info.sections, vec!["Requests", "Installing Requests"]);
    }

    #[test]
    fn asciidoc_titles_header_and_blocks_are_understood() {
        let text = r#"= Asciidoctor
Dan Allen <dan@example.org>
:toc: left
:url-repo: https://github.com/asciidoctor/asciidoctor

image:https://img.shields.io/badge/ci-passing-green.svg[Build Status]

NOTE: an admonition is not the summary.

*Asciidoctor* is a _fast_ text processor for converting AsciiDoc into https://html.spec.whatwg.org[HTML 5]
and `DocBook`.

[source,ruby]
----
= not a heading
----

== Installation

* gem install asciidoctor
"#;
        let info = parse_readme("README.adoc", text);
        assert_eq!(info.title.as_deref(), Some("Asciidoctor"));
        assert_eq!(
            info.summary.as_deref(),
            Some("Asciidoctor is a fast text processor for converting AsciiDoc into HTML 5 and DocBook.")
        );
        assert_eq!(info.sections, vec!["Asciidoctor", "Installation"]);
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
    fn hostile_readmes_finish_without_panicking() {
        let inputs = [
            ">".repeat(200_000),
            "[".repeat(200_000),
            "*a".repeat(100_000),
            "`".repeat(200_000),
            "|".repeat(200_000),
            "- ".repeat(50_000) + "x",
            (0..20_000)
                .map(|i| format!("{}- x\n", "  ".repeat(i % 500)))
                .collect(),
            "<h1>".repeat(50_000),
            "![".repeat(100_000),
            format!("# t\n\n{}", "word ".repeat(400_000)),
            "\u{0}\u{1}\u{fffd}".repeat(10_000),
            "=\n".repeat(100_000),
        ];
        for input in &inputs {
            for path in ["README.md", "README.rst", "README.adoc"] {
                let info = parse_readme(path, input);
                assert!(info.sections.len() <= MAX_SECTIONS);
                assert!(
                    info.summary
                        .as_ref()
                        .is_none_or(|s| s.chars().count() <= MAX_SUMMARY_CHARS)
                );
            }
        }
    }

    #[test]
    fn emphasis_markers_go_but_intraword_and_spaced_ones_stay() {
        assert_eq!(
            strip_emphasis("**bold** and _it_ in snake_case, 2 * 3", &['*', '_']),
            "bold and it in snake_case, 2 * 3"
        );
    }
}
