//! AsciiDoc: `=`/`#` headings and paragraphs, skipping the document header, delimited blocks,
//! attributes, macros, admonitions and lists, with its inline markup (images, links, code,
//! emphasis) stripped.

use super::summary::{
    Collector, Inline, MAX_PARAGRAPH_BYTES, PlainParagraph, is_list_item, strip_emphasis, url_len,
};
use crate::metadata::text::prefix_bytes;

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
pub(super) fn asciidoc(text: &str, collector: &mut Collector) {
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
    use crate::metadata::readme::parse_readme;

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
}
