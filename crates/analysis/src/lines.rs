//! Line counts per file: total, code, comment and blank lines.

use crate::Language;

/// Line counts of one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    /// All lines (a final line without a newline counts).
    pub lines: u32,
    /// Lines with code (a line with code and a trailing comment counts as code).
    pub code: u32,
    /// Lines holding only comment text.
    pub comment: u32,
    /// Lines holding only white space.
    pub blank: u32,
}

impl LineStats {
    /// Counts the lines of `text`, using `language`'s comment syntax when known (without one,
    /// every non-blank line is code).
    pub fn count(text: &str, language: Option<&Language>) -> LineStats {
        let mut stats = LineStats::default();
        let mut in_block: Option<&str> = None;
        for line in text.lines() {
            stats.lines += 1;
            let trimmed = line.trim();
            if trimmed.is_empty() {
                stats.blank += 1;
                continue;
            }
            let Some(lang) = language else {
                stats.code += 1;
                continue;
            };
            if line_has_code(trimmed, lang, &mut in_block) {
                stats.code += 1;
            } else {
                stats.comment += 1;
            }
        }
        stats
    }
}

/// True when the line holds code; tracks a block comment left open across lines. String literals
/// are not parsed, so a comment marker inside a string may misclassify the rest of that line.
fn line_has_code<'l>(mut rest: &str, lang: &'l Language, in_block: &mut Option<&'l str>) -> bool {
    let mut has_code = false;
    loop {
        if let Some(close) = *in_block {
            match rest.find(close) {
                Some(i) => {
                    rest = rest[i + close.len()..].trim_start();
                    *in_block = None;
                    continue;
                }
                None => return has_code,
            }
        }
        if rest.is_empty() || lang.line_comments.iter().any(|p| rest.starts_with(p)) {
            return has_code;
        }
        if let Some((open, close)) = lang.block_comment
            && rest.starts_with(open)
        {
            rest = &rest[open.len()..];
            *in_block = Some(close);
            continue;
        }
        has_code = true;
        // Code runs until a block comment opens later on the line, unless a line comment comes first.
        let block_at = lang.block_comment.and_then(|(open, _)| rest.find(open));
        match block_at {
            Some(i)
                if lang
                    .line_comments
                    .iter()
                    .all(|p| rest.find(p).is_none_or(|j| j > i)) =>
            {
                rest = &rest[i..];
            }
            _ => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::{PYTHON, RUST};

    #[test]
    fn counts_code_comment_and_blank_lines() {
        let text = "// header\n\nfn main() { // trailing\n    /* block\n       still */ let x = 1;\n}\n/* a\n b */\n";
        assert_eq!(
            LineStats::count(text, Some(&RUST)),
            LineStats {
                lines: 8,
                code: 3,
                comment: 4,
                blank: 1
            }
        );
    }

    #[test]
    fn python_docstrings_and_hash_comments_are_comments() {
        let text = "\"\"\"Module doc.\n\nMore.\"\"\"\n# note\nimport os\n";
        let stats = LineStats::count(text, Some(&PYTHON));
        assert_eq!(
            (stats.lines, stats.code, stats.comment, stats.blank),
            (5, 1, 3, 1)
        );
    }

    #[test]
    fn without_a_language_every_non_blank_line_is_code() {
        let stats = LineStats::count("a\n\n b\r\nc", None);
        assert_eq!((stats.lines, stats.code, stats.blank), (4, 3, 1));
    }
}
