//! Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009).
//!
//! Each list votes for its items by rank alone: an item at 1-based rank `r` in a list of weight `w`
//! scores `w / (k + r)`, and an item's fused score is the sum over the lists it is in. Scores of
//! different retrievers (BM25-like ranks, cosine similarities) never need to be made comparable,
//! and `k` (60 in the paper) damps the influence of the very top ranks.

use std::collections::HashMap;
use std::hash::Hash;

/// Parameters of the fusion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RrfParams {
    /// The rank constant `k`.
    pub k: f32,
    /// Weight of the lexical list.
    pub lexical_weight: f32,
    /// Weight of the semantic list.
    pub semantic_weight: f32,
}

impl Default for RrfParams {
    fn default() -> Self {
        // The lexical list weighs a little less: on the assistant's evaluation questions (natural
        // language, mostly sharing no identifier with the code that answers them) its top ranks
        // are right less often than the semantic list's, and with equal weights its rank 1 would
        // tie with the semantic rank 1 and come first. 0.7 gave the best mean reciprocal rank of
        // 1.0, 0.9, 0.7, 0.5 and 0.25 (`cargo bench -p reposage-assistant --bench eval`).
        RrfParams {
            k: 60.0,
            lexical_weight: 0.7,
            semantic_weight: 1.0,
        }
    }
}

/// Fuses ranked lists (`(items best first, weight)`): every item once, best fused score first;
/// ties keep the order in which items were first seen (list by list).
pub fn fuse<T: Clone + Eq + Hash>(lists: &[(&[T], f32)], k: f32) -> Vec<(T, f32)> {
    let mut order: Vec<T> = Vec::new();
    let mut scores: HashMap<T, f32> = HashMap::new();
    for (items, weight) in lists {
        for (rank, item) in items.iter().enumerate() {
            let vote = weight / (k + rank as f32 + 1.0);
            match scores.get_mut(item) {
                Some(score) => *score += vote,
                None => {
                    scores.insert(item.clone(), vote);
                    order.push(item.clone());
                }
            }
        }
    }
    let mut fused: Vec<(T, f32)> = order
        .into_iter()
        .map(|item| {
            let score = scores[&item];
            (item, score)
        })
        .collect();
    // A stable sort keeps first-seen order among equal scores.
    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_weighted_reciprocal_ranks_summed_over_lists() {
        let lexical = ["a", "b", "c"];
        let semantic = ["c", "d"];
        let fused = fuse(&[(&lexical, 1.0), (&semantic, 2.0)], 60.0);
        let expect = |item: &str| fused.iter().find(|f| f.0 == item).unwrap().1;
        assert!((expect("a") - 1.0 / 61.0).abs() < 1e-7);
        assert!((expect("b") - 1.0 / 62.0).abs() < 1e-7);
        assert!((expect("c") - (1.0 / 63.0 + 2.0 / 61.0)).abs() < 1e-7);
        assert!((expect("d") - 2.0 / 62.0).abs() < 1e-7);
        let order: Vec<&str> = fused.iter().map(|f| f.0).collect();
        assert_eq!(order, ["c", "d", "a", "b"]);
    }

    #[test]
    fn an_item_in_both_lists_beats_the_top_of_one() {
        let fused = fuse(&[(&["x", "both"][..], 1.0), (&["y", "both"][..], 1.0)], 60.0);
        assert_eq!(fused[0].0, "both");
    }

    #[test]
    fn ties_keep_first_seen_order_and_empty_lists_fuse_to_nothing() {
        let fused = fuse(&[(&["a"][..], 1.0), (&["b"][..], 1.0)], 60.0);
        assert_eq!(fused.iter().map(|f| f.0).collect::<Vec<_>>(), ["a", "b"]);
        assert!(fuse::<u8>(&[(&[], 1.0)], 60.0).is_empty());
    }
}
