//! Markdown (CommonMark + GFM) through pulldown-cmark's event stream, with headings also read
//! from HTML blocks (`<h1>`…`<h6>`).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::summary::{Collector, MAX_PARAGRAPH_BYTES, count_words};
use crate::metadata::text::decode_entities;

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
pub(super) fn markdown(text: &str, collector: &mut Collector) {
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

#[cfg(test)]
mod tests {
    use crate::metadata::readme::parse_readme;

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
}
