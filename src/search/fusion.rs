//! Fusion of ranked lists, as pure functions over `(key, score)` lists sorted best first.

use std::collections::HashMap;

/// How BM25 and dense results are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal rank fusion: Σ weight / (k + rank), rank from 1.
    Rrf {
        /// The rank constant (60 in Cormack et al. 2009).
        k: f32,
    },
    /// Convex combination of min-max normalised scores: w·dense + (1 − w)·bm25.
    Convex {
        /// Weight of the dense score.
        dense_weight: f32,
    },
}

/// Weight of each item of a list, by key.
pub type Weight<'a> = &'a dyn Fn(u64) -> f32;

/// Combines lists into one, best first; ties by key. Each item's contribution is scaled by
/// its list's weight function (hybrid search weighs BM25 hits by language agreement).
pub fn fuse(lists: &[(&[(u64, f32)], Weight<'_>)], fusion: Fusion) -> Vec<(u64, f32)> {
    let mut scores: HashMap<u64, f32> = HashMap::new();
    for (list, weight) in lists {
        match fusion {
            Fusion::Rrf { k } => {
                for (rank, (key, _)) in list.iter().enumerate() {
                    *scores.entry(*key).or_insert(0.0) += weight(*key) / (k + rank as f32 + 1.0);
                }
            }
            Fusion::Convex { .. } => {
                let max = list.iter().map(|(_, s)| *s).fold(f32::MIN, f32::max);
                let min = list.iter().map(|(_, s)| *s).fold(f32::MAX, f32::min);
                let span = (max - min).max(1e-9);
                for (key, score) in list.iter() {
                    // A one-element list normalises to 1.
                    let norm = if list.len() == 1 { 1.0 } else { (score - min) / span };
                    *scores.entry(*key).or_insert(0.0) += weight(*key) * norm;
                }
            }
        }
    }
    let mut fused: Vec<(u64, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    });
    fused
}

/// Hybrid ranking, as `mlsearch query` does it: fuses the BM25 and dense candidate lists
/// with `fusion`; BM25 hits in another language than the query's (`same_language` false)
/// count `cross_language_bm25` as much, when the query's language is known.
pub fn hybrid(
    bm25: &[(u64, f32)],
    dense: &[(u64, f32)],
    same_language: &dyn Fn(u64) -> bool,
    query_lang_known: bool,
    fusion: Fusion,
    cross_language_bm25: f32,
) -> Vec<(u64, f32)> {
    let (bm25_weight, dense_weight) = match fusion {
        Fusion::Rrf { .. } => (1.0, 1.0),
        Fusion::Convex { dense_weight } => (1.0 - dense_weight, dense_weight),
    };
    // BM25 evidence from another language than the query's is mostly shared names and
    // numbers: it counts `cross_language_bm25` as much.
    let bm25_item = |key: u64| {
        if !query_lang_known || same_language(key) {
            bm25_weight
        } else {
            bm25_weight * cross_language_bm25
        }
    };
    fuse(&[(bm25, &bm25_item), (dense, &|_| dense_weight)], fusion)
}

/// Keeps each language where `reference` (the dense ranking) puts it, and lets `ranked`
/// (the fused ranking) order the passages within each language.
///
/// With several languages in one list, BM25 evidence comes only from the query's own
/// language; fused scores would lift that language over the others and bury their
/// answers. Here the dense ranking decides which language holds each position, and the
/// fused ranking decides which passage of that language fills it. Items of `ranked`
/// missing from `reference` take positions after those in it, in `ranked` order. Scores:
/// the i-th position gets the i-th highest fused score, so they still fall with rank.
pub fn keep_language_positions(
    ranked: &[(u64, f32)],
    reference: &[(u64, f32)],
    lang: &dyn Fn(u64) -> u32,
) -> Vec<(u64, f32)> {
    let in_ranked: HashMap<u64, usize> = ranked.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
    let mut slots: Vec<u64> = reference
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| in_ranked.contains_key(k))
        .collect();
    let placed: std::collections::HashSet<u64> = slots.iter().copied().collect();
    slots.extend(ranked.iter().map(|(k, _)| *k).filter(|k| !placed.contains(k)));
    // Each language's items in fused order, consumed front to back.
    let mut queues: HashMap<u32, std::collections::VecDeque<u64>> = HashMap::new();
    for (k, _) in ranked {
        queues.entry(lang(*k)).or_default().push_back(*k);
    }
    let mut scores: Vec<f32> = ranked.iter().map(|(_, s)| *s).collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    slots
        .iter()
        .zip(scores)
        .map(|(slot, score)| {
            let key = queues
                .get_mut(&lang(*slot))
                .and_then(|q| q.pop_front())
                .expect("every language has as many items as slots");
            (key, score)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_agreement() {
        let bm25 = [(1, 9.0), (2, 5.0), (3, 1.0)];
        let dense = [(2, 0.9), (4, 0.8), (1, 0.1)];
        let fused = fuse(&[(&bm25, &|_| 1.0), (&dense, &|_| 1.0)], Fusion::Rrf { k: 60.0 });
        let order: Vec<u64> = fused.iter().map(|(k, _)| *k).collect();
        assert_eq!(order[0], 2, "second and first beats first and third: {fused:?}");
        assert_eq!(order.len(), 4);
        assert!((fused[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
    }

    #[test]
    fn convex_normalises_each_list() {
        let bm25 = [(1, 20.0), (2, 10.0)];
        let dense = [(2, 0.9), (1, 0.5)];
        let fused = fuse(
            &[(&bm25, &|_| 0.3), (&dense, &|_| 0.7)],
            Fusion::Convex { dense_weight: 0.7 },
        );
        assert_eq!(fused[0], (2, 0.7));
        assert_eq!(fused[1], (1, 0.3));
    }

    #[test]
    fn item_weights_scale_contributions() {
        let bm25 = [(1, 9.0), (2, 5.0)];
        let dense = [(2, 0.9), (1, 0.8)];
        // Hit 1 is from another language: its BM25 evidence counts a quarter.
        let weight = |key: u64| if key == 1 { 0.25 } else { 1.0 };
        let fused = fuse(&[(&bm25, &weight), (&dense, &|_| 1.0)], Fusion::Rrf { k: 60.0 });
        assert_eq!(fused[0].0, 2);
    }

    #[test]
    fn empty_and_single_lists() {
        assert!(fuse(&[], Fusion::Rrf { k: 60.0 }).is_empty());
        let one = [(5, 3.0)];
        assert_eq!(
            fuse(
                &[(&one, &|_| 1.0), (&[], &|_| 1.0)],
                Fusion::Convex { dense_weight: 0.5 }
            ),
            [(5, 1.0)]
        );
    }

    #[test]
    fn ties_break_by_key() {
        let a = [(9, 1.0), (3, 1.0)];
        let fused = fuse(&[(&a, &|_| 1.0)], Fusion::Convex { dense_weight: 0.5 });
        assert_eq!(fused.iter().map(|x| x.0).collect::<Vec<_>>(), [3, 9]);
    }

    #[test]
    fn languages_keep_their_dense_positions() {
        // Dense: a1 b1 a2 b2; fused (BM25 lifts language a): a2 a1 b2 b1.
        let lang = |k: u64| (k / 10) as u32; // 1x: language 1, 2x: language 2
        let dense = [(10, 0.9), (20, 0.8), (11, 0.7), (21, 0.6)];
        let fused = [(11, 4.0), (10, 3.0), (21, 2.0), (20, 1.0)];
        let out = keep_language_positions(&fused, &dense, &lang);
        let keys: Vec<u64> = out.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, [11, 21, 10, 20]);
        let scores: Vec<f32> = out.iter().map(|(_, s)| *s).collect();
        assert_eq!(scores, [4.0, 3.0, 2.0, 1.0]);
        // A fused item the dense list lacks goes after the dense ones.
        let fused = [(12, 5.0), (10, 3.0), (20, 1.0)];
        let keys: Vec<u64> = keep_language_positions(&fused, &dense, &lang)
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(keys, [12, 20, 10]);
    }
}
