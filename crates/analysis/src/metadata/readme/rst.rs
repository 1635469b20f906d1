//! reStructuredText: over- and underlined titles and paragraphs, with its inline markup
//! (literals, links, roles, substitutions, emphasis) stripped.

use super::summary::{
    Collector, Inline, MAX_PARAGRAPH_BYTES, PlainParagraph, is_list_item, strip_emphasis, url_len,
};
use crate::metadata::text::prefix_bytes;

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

/// A reStructuredText section adornment: one punctuation character repeated.
fn is_adornment(line: &str) -> bool {
    let mut chars = line.chars();
    let Some(first) = chars.next() else { return false };
    first.is_ascii_punctuation() && line.len() >= 2 && chars.all(|c| c == first)
}

/// reStructuredText: over- and underlined titles, paragraphs; directives, comments, indented
/// blocks, field lists, tables and lists are skipped.
pub(super) fn rst(text: &str, collector: &mut Collector) {
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

#[cfg(test)]
mod tests {
    use crate::metadata::readme::parse_readme;

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
}
