//! Answers without a model: what the index holds that best matches the question, listed and cited,
//! and labelled as not generated.

use crate::answer::Searched;
use crate::context::Context;

/// The opening line of every extractive answer.
pub const EXTRACTIVE_NOTICE: &str = "No language model is configured, so this answer is extractive: the \
indexed code that best matches the question, listed as found, not a generated explanation.";

/// Most items an extractive answer lists.
const MAX_LISTED: usize = 8;

/// The answer's text, citing items by number (`[n]`) for the citation tracker to verify and
/// renumber: items grouped by file, best file first, each with its symbol's signature, the first
/// line of its doc comment and its lines.
pub fn extractive_text(context: &Context) -> String {
    let mut files: Vec<(String, Vec<usize>)> = Vec::new();
    for item in context.items.iter().take(MAX_LISTED) {
        let key = if context.items.iter().any(|i| i.repository != item.repository) {
            format!("{} ({})", item.path, item.repository)
        } else {
            item.path.clone()
        };
        match files.iter_mut().find(|(k, _)| *k == key) {
            Some((_, numbers)) => numbers.push(item.number),
            None => files.push((key, vec![item.number])),
        }
    }
    let mut text = format!("{EXTRACTIVE_NOTICE}\n");
    for (file, numbers) in files {
        text.push_str(&format!("\n**{file}**\n"));
        for number in numbers {
            let item = context.item(number).expect("listed items exist");
            let head = item
                .signature
                .as_deref()
                .and_then(|s| s.lines().next())
                .or_else(|| item.text.lines().map(str::trim).find(|l| !l.is_empty()))
                .unwrap_or_default()
                .trim()
                .trim_end_matches('{')
                .trim_end();
            let head = head.replace('`', "'");
            let mut line = match (&item.symbol_path, &item.symbol_kind) {
                (Some(symbol), Some(kind)) => format!("- {kind} `{symbol}`: `{head}`"),
                (Some(symbol), None) => format!("- `{symbol}`: `{head}`"),
                _ => format!("- `{head}`"),
            };
            line.push_str(&format!(" (lines {}–{})", item.start_line, item.end_line));
            if let Some(doc) = item
                .doc
                .as_deref()
                .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
            {
                line.push_str(&format!(" — {doc}"));
            }
            line.push_str(&format!(" [{number}]\n"));
            text.push_str(&line);
        }
    }
    text
}

/// The answer when nothing relevant was found: says so, and lists what was searched.
pub fn nothing_found_text(searched: &Searched) -> String {
    let mut text = String::from(
        "I could not find anything in the indexed code that answers this question, so I will not guess.\n",
    );
    if !searched.queries.is_empty() {
        text.push_str("\nSearched for:\n");
        for query in &searched.queries {
            text.push_str(&format!("- {query}\n"));
        }
    }
    if !searched.tools.is_empty() {
        text.push_str("\nLooked up:\n");
        for tool in &searched.tools {
            text.push_str(&format!("- {tool}\n"));
        }
    }
    if !searched.files.is_empty() {
        text.push_str("\nRead:\n");
        for file in &searched.files {
            text.push_str(&format!("- {file}\n"));
        }
    }
    text
}
