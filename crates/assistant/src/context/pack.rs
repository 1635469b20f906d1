//! Fitting the best candidates into the model's token budget.

use super::{ContextItem, FoundBy};

/// Room for the context in the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Tokens the items may take (headers included).
    pub tokens: usize,
    /// Most items.
    pub max_items: usize,
}

/// Fewest lines worth keeping of an item cut to fit.
const MIN_CUT_LINES: usize = 8;
/// Tokens of an item's framing in the prompt besides its header and text.
const ITEM_OVERHEAD_TOKENS: usize = 12;

/// Orders candidates best first, drops those overlapping a better one, and keeps what fits
/// `budget` (the last one that does not fit whole is cut to its first lines when enough of it
/// fits). Items are numbered from 1 in the order kept. Returns the items and how many candidates
/// were left out.
///
/// Best first: what the question names or a tool returned (symbols, paths, the overview) by
/// score, then search hits in the order given — the hybrid search's fused order, which weighs
/// both of its lists, where a hit's score is the similarity of one.
pub fn pack(
    mut candidates: Vec<ContextItem>,
    budget: Budget,
    count_tokens: &dyn Fn(&str) -> usize,
) -> (Vec<ContextItem>, usize) {
    // Stable: search hits keep their order, and so do other items of equal scores.
    candidates.sort_by(|a, b| {
        let searched = |i: &ContextItem| matches!(i.found_by, FoundBy::Search { .. });
        match (searched(a), searched(b)) {
            (false, false) => b.score.total_cmp(&a.score),
            (false, true) => std::cmp::Ordering::Less,
            (true, false) => std::cmp::Ordering::Greater,
            (true, true) => std::cmp::Ordering::Equal,
        }
    });
    let total = candidates.len();
    let mut kept: Vec<ContextItem> = Vec::new();
    let mut left = budget.tokens;
    for mut item in candidates {
        if kept.len() == budget.max_items || left < ITEM_OVERHEAD_TOKENS {
            break;
        }
        if kept.iter().any(|k| k.overlaps(&item)) {
            continue;
        }
        let cost = item_tokens(&item, count_tokens);
        if cost > left {
            if !cut_to_fit(&mut item, left, count_tokens) {
                continue;
            }
            left = left.saturating_sub(item_tokens(&item, count_tokens));
        } else {
            left -= cost;
        }
        item.number = kept.len() + 1;
        kept.push(item);
    }
    let dropped = total - kept.len();
    (kept, dropped)
}

/// Tokens `item` takes in the prompt.
pub(crate) fn item_tokens(item: &ContextItem, count_tokens: &dyn Fn(&str) -> usize) -> usize {
    ITEM_OVERHEAD_TOKENS
        + count_tokens(&item.header())
        + item.signature.as_deref().map_or(0, count_tokens)
        + item.doc.as_deref().map_or(0, count_tokens)
        + count_tokens(&item.text)
}

/// Cuts `item` to the first lines that fit `tokens`; false when fewer than [`MIN_CUT_LINES`] do.
fn cut_to_fit(item: &mut ContextItem, tokens: usize, count_tokens: &dyn Fn(&str) -> usize) -> bool {
    let fixed = ITEM_OVERHEAD_TOKENS
        + count_tokens(&item.header())
        + item.signature.as_deref().map_or(0, count_tokens)
        + item.doc.as_deref().map_or(0, count_tokens);
    let Some(mut room) = tokens.checked_sub(fixed) else {
        return false;
    };
    let mut end = 0;
    let mut lines = 0;
    for line in item.text.split_inclusive('\n') {
        let cost = count_tokens(line);
        if cost > room {
            break;
        }
        room -= cost;
        end += line.len();
        lines += 1;
    }
    if lines < MIN_CUT_LINES {
        return false;
    }
    item.text.truncate(end);
    item.end_line = item.start_line + lines as i32 - 1;
    true
}

#[cfg(test)]
mod tests {
    use reposage_store::RepositoryId;

    use super::*;

    fn item(path: &str, start: i32, lines: i32, score: f32) -> ContextItem {
        let text: String = (start..start + lines).map(|n| format!("line {n}\n")).collect();
        ContextItem {
            number: 0,
            repository_id: RepositoryId(uuid::Uuid::nil()),
            repository: "local/demo".into(),
            commit_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            path: path.into(),
            start_line: start,
            end_line: start + lines - 1,
            file_lines: 1000,
            chunk_id: None,
            language: None,
            symbol_path: None,
            symbol_kind: None,
            signature: None,
            doc: None,
            text,
            score,
            found_by: FoundBy::Overview,
        }
    }

    fn words(text: &str) -> usize {
        text.split_whitespace().count()
    }

    #[test]
    fn the_best_items_are_kept_numbered_in_score_order() {
        let (items, dropped) = pack(
            vec![
                item("a.rs", 1, 5, 0.2),
                item("b.rs", 1, 5, 0.9),
                item("c.rs", 1, 5, 0.5),
            ],
            Budget {
                tokens: 10_000,
                max_items: 2,
            },
            &words,
        );
        let order: Vec<_> = items.iter().map(|i| (i.number, i.path.as_str())).collect();
        assert_eq!(order, [(1, "b.rs"), (2, "c.rs")]);
        assert_eq!(dropped, 1);
    }

    #[test]
    fn named_items_come_first_and_search_hits_keep_their_fused_order() {
        let hit = |path: &str, score: f32| ContextItem {
            found_by: FoundBy::Search { query: "q".into() },
            ..item(path, 1, 5, score)
        };
        let (items, _) = pack(
            vec![
                hit("fused-1.rs", 0.2),
                hit("fused-2.rs", 0.4),
                item("named.rs", 1, 5, 0.1),
            ],
            Budget {
                tokens: 10_000,
                max_items: 10,
            },
            &words,
        );
        let order: Vec<_> = items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(order, ["named.rs", "fused-1.rs", "fused-2.rs"]);
    }

    #[test]
    fn an_item_overlapping_a_better_one_is_dropped() {
        let (items, dropped) = pack(
            vec![
                item("a.rs", 1, 20, 0.9),
                item("a.rs", 15, 10, 0.8),
                item("a.rs", 21, 5, 0.7),
            ],
            Budget {
                tokens: 10_000,
                max_items: 10,
            },
            &words,
        );
        let ranges: Vec<_> = items.iter().map(|i| (i.start_line, i.end_line)).collect();
        assert_eq!(ranges, [(1, 20), (21, 25)]);
        assert_eq!(dropped, 1);
    }

    #[test]
    fn the_last_item_is_cut_to_the_lines_that_fit_and_its_range_follows() {
        let first = item("a.rs", 1, 10, 0.9);
        let first_cost = item_tokens(&first, &words);
        let (items, _) = pack(
            vec![first, item("b.rs", 100, 50, 0.5)],
            Budget {
                tokens: first_cost + ITEM_OVERHEAD_TOKENS + 3 + 2 * 12,
                max_items: 10,
            },
            &words,
        );
        assert_eq!(items.len(), 2);
        let cut = &items[1];
        assert_eq!((cut.start_line, cut.end_line), (100, 111));
        assert_eq!(cut.text.lines().count(), 12);
        assert!(cut.text.ends_with("line 111\n"));
    }

    #[test]
    fn nothing_is_cut_below_a_few_lines() {
        let (items, dropped) = pack(
            vec![item("a.rs", 1, 50, 0.9)],
            Budget {
                tokens: ITEM_OVERHEAD_TOKENS + 3 + 2 * 4,
                max_items: 10,
            },
            &words,
        );
        assert!(items.is_empty());
        assert_eq!(dropped, 1);
    }
}
