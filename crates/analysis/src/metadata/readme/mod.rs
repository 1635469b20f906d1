//! READMEs: the title, a one-paragraph summary and the section headings, from Markdown
//! (CommonMark + GFM, parsed with pulldown-cmark), reStructuredText and AsciiDoc.
//!
//! Only the first [`MAX_README_BYTES`] are read. Every scan here is linear in the input: delimiter
//! searches either consume what they skip or stop for good, and nothing recurses.
//!
//! - this file: [`ReadmeInfo`], the limits, which paths are READMEs and which markup each has;
//! - `summary`: what the parsers share, the `Collector` of headings and the
//!   summary, inline text with links tracked apart, and paragraphs of line-based markup;
//! - `markdown`, `rst`, `asciidoc`: one parser per markup, each feeding the collector.

mod asciidoc;
mod markdown;
mod rst;
mod summary;

use serde::Serialize;

use self::summary::Collector;
use super::text::{file_name, prefix_bytes};

/// Bytes of a README that are read; the rest is ignored.
pub const MAX_README_BYTES: usize = 1024 * 1024;
/// Longest summary kept, in characters (cut on a word with `…`).
pub const MAX_SUMMARY_CHARS: usize = 500;
/// Most section headings kept.
pub const MAX_SECTIONS: usize = 200;
/// Longest title or section heading kept, in characters.
pub const MAX_HEADING_CHARS: usize = 200;

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
        Markup::Markdown => markdown::markdown(text, &mut collector),
        Markup::Rst => rst::rst(text, &mut collector),
        Markup::AsciiDoc => asciidoc::asciidoc(text, &mut collector),
    }
    collector.info
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
}
