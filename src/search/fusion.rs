//! Fusion of ranked lists, as pure functions over `(key, score)` lists sorted best first.

use std::collections::{HashMap, HashSet, VecDeque};

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
                // A NaN score (a broken list) counts as the list's lowest.
                let max = list.iter().map(|(_, s)| *s).fold(f32::MIN, f32::max);
                let min = list.iter().map(|(_, s)| *s).fold(f32::MAX, f32::min);
                let span = (max - min).max(1e-9);
                for (key, score) in list.iter() {
                    // A one-element list normalises to 1.
                    let norm = match (list.len(), score.is_nan()) {
                        (1, _) => 1.0,
                        (_, true) => 0.0,
                        _ => (score - min) / span,
                    };
                    *scores.entry(*key).or_insert(0.0) += weight(*key) * norm;
                }
            }
        }
    }
    let mut fused: Vec<(u64, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}

/// Default weight of the dense score in convex fusion: chosen on training data (native QA
/// in Arabic, Chinese and Thai: `scripts/fusion_validation.py`, mono MRR@10 0.925 at 0.4 and
/// 0.5, 0.913 at 0.7), never on the sets docs/measurements/ reports.
pub const DEFAULT_DENSE_WEIGHT: f32 = 0.5;
/// Default RRF rank constant (60 in Cormack et al. 2009).
pub const DEFAULT_RRF_K: f32 = 60.0;
/// Default number of candidates from each list.
pub const DEFAULT_CANDIDATES: usize = 100;

/// How hybrid mode ranks (one set of defaults for `query`, `bench` and the library).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HybridOptions {
    /// How the BM25 and dense lists are combined.
    pub fusion: Fusion,
    /// Candidates taken from each list before fusing.
    pub candidates: usize,
    /// Weight of BM25 hits in another language than the query's (1: no difference).
    pub cross_language_bm25: f32,
    /// Over several languages, let fused scores also decide which language holds each
    /// position (off: the dense ranking decides, see [`keep_language_positions`]).
    pub fused_language_order: bool,
}

impl Default for HybridOptions {
    /// The dense weight is chosen on training data; ignoring other-language BM25 hits and
    /// keeping the dense language positions were chosen on XQuAD
    /// (docs/measurements/xquad-hybrid.md): a cross-lingual validation set would be better,
    /// none is at hand.
    fn default() -> Self {
        HybridOptions {
            fusion: Fusion::Convex {
                dense_weight: DEFAULT_DENSE_WEIGHT,
            },
            candidates: DEFAULT_CANDIDATES,
            cross_language_bm25: 0.0,
            fused_language_order: false,
        }
    }
}

/// The hybrid ranking of one query, as `mlsearch query` and `mlsearch bench` both use it.
///
/// `bm25` and `dense` are candidate lists, best first (dense scores are cosines); `lang`
/// gives each candidate's language as a small number (`None`: the candidate is unknown
/// and is dropped) and `query_lang` the query's, when known. The first
/// `options.candidates` of each list are fused; BM25 hits in another language than the
/// query's count `cross_language_bm25` as much. Dense candidates past those follow in
/// dense order. When the ranking spans several languages, each language keeps the
/// positions the dense ranking gives it, unless `fused_language_order`.
pub fn rank_hybrid(
    bm25: &[(u64, f32)],
    dense: &[(u64, f32)],
    lang: &dyn Fn(u64) -> Option<u32>,
    query_lang: Option<u32>,
    options: &HybridOptions,
) -> Vec<(u64, f32)> {
    let known =
        |list: &[(u64, f32)]| -> Vec<(u64, f32)> { list.iter().copied().filter(|(k, _)| lang(*k).is_some()).collect() };
    let (bm25, dense) = (known(bm25), known(dense));
    let top = |list: &[(u64, f32)]| list.len().min(options.candidates);
    let (bm25_weight, dense_weight) = match options.fusion {
        Fusion::Rrf { .. } => (1.0, 1.0),
        Fusion::Convex { dense_weight } => (1.0 - dense_weight, dense_weight),
    };
    // BM25 evidence from another language than the query's is mostly shared names and
    // numbers: it counts `cross_language_bm25` as much.
    let bm25_item = |key: u64| match query_lang {
        Some(q) if lang(key) != Some(q) => bm25_weight * options.cross_language_bm25,
        _ => bm25_weight,
    };
    let mut ranked = fuse(
        &[
            (&bm25[..top(&bm25)], &bm25_item),
            (&dense[..top(&dense)], &|_| dense_weight),
        ],
        options.fusion,
    );
    // The rest of the dense list, below every fused score, still in dense order.
    let fused: HashSet<u64> = ranked.iter().map(|(k, _)| *k).collect();
    let floor = ranked.iter().map(|(_, s)| *s).fold(0.0f32, f32::min) - 3.0;
    ranked.extend(
        dense
            .iter()
            .filter(|(k, _)| !fused.contains(k))
            .map(|(k, s)| (*k, floor + if s.is_nan() { -1.0 } else { s.clamp(-1.0, 1.0) })),
    );
    let first = ranked.first().and_then(|(k, _)| lang(*k));
    let several_languages = ranked.iter().any(|(k, _)| lang(*k) != first);
    if several_languages && !options.fused_language_order {
        keep_language_positions(&ranked, &dense, &|k| lang(k).unwrap_or(u32::MAX))
    } else {
        ranked
    }
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
    let placed: HashSet<u64> = slots.iter().copied().collect();
    slots.extend(ranked.iter().map(|(k, _)| *k).filter(|k| !placed.contains(k)));
    // Each language's items in fused order, consumed front to back.
    let mut queues: HashMap<u32, VecDeque<u64>> = HashMap::new();
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

    /// Language of the hand-made keys: 1x is language 1, 2x language 2; 9x is unknown.
    fn lang(k: u64) -> Option<u32> {
        (k / 10 != 9).then_some((k / 10) as u32)
    }

    fn keys(list: &[(u64, f32)]) -> Vec<u64> {
        list.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn hybrid_of_empty_lists_is_empty() {
        let options = HybridOptions::default();
        assert!(rank_hybrid(&[], &[], &lang, Some(1), &options).is_empty());
        assert!(rank_hybrid(
            &[],
            &[],
            &lang,
            None,
            &HybridOptions {
                fusion: Fusion::Rrf { k: 60.0 },
                ..options
            }
        )
        .is_empty());
    }

    #[test]
    fn hybrid_with_one_list_empty_keeps_the_other_order() {
        let options = HybridOptions::default();
        let dense = [(10, 0.9), (11, 0.8), (12, 0.1)];
        assert_eq!(keys(&rank_hybrid(&[], &dense, &lang, Some(1), &options)), [10, 11, 12]);
        let bm25 = [(12, 9.0), (10, 3.0)];
        assert_eq!(keys(&rank_hybrid(&bm25, &[], &lang, Some(1), &options)), [12, 10]);
    }

    #[test]
    fn hybrid_fuses_only_the_candidates_and_appends_the_rest_in_dense_order() {
        let options = HybridOptions {
            fusion: Fusion::Convex { dense_weight: 0.7 },
            candidates: 2,
            ..Default::default()
        };
        let bm25 = [(13, 9.0), (12, 8.0), (11, 1.0)];
        let dense = [(10, 0.9), (11, 0.8), (12, 0.7), (13, 0.6), (14, 0.5)];
        let ranked = rank_hybrid(&bm25, &dense, &lang, Some(1), &options);
        // Fused (two of each list): 10 (0.7), 13 (0.3), 11 and 12 (0, by key); then 14.
        assert_eq!(keys(&ranked), [10, 13, 11, 12, 14]);
        assert!(ranked.windows(2).all(|w| w[0].1 >= w[1].1), "scores fall: {ranked:?}");
        assert!(ranked.iter().all(|(_, s)| s.is_finite()));
    }

    #[test]
    fn hybrid_ties_break_by_key() {
        let options = HybridOptions {
            fusion: Fusion::Rrf { k: 60.0 },
            ..Default::default()
        };
        // 11 and 12 each have one first place: equal RRF scores, the smaller key first.
        let ranked = rank_hybrid(&[(12, 5.0)], &[(11, 0.5)], &lang, Some(1), &options);
        assert_eq!(keys(&ranked), [11, 12]);
        assert_eq!(ranked[0].1, ranked[1].1);
    }

    #[test]
    fn hybrid_survives_nan_scores() {
        let options = HybridOptions::default();
        let bm25 = [(10, f32::NAN), (11, 2.0), (12, 1.0)];
        let dense = [(11, 0.9), (12, f32::NAN), (10, 0.1)];
        let ranked = rank_hybrid(&bm25, &dense, &lang, Some(1), &options);
        assert_eq!(ranked.len(), 3);
        assert_eq!(ranked[0].0, 11, "the only item good in both lists: {ranked:?}");
        assert!(ranked.iter().all(|(_, s)| !s.is_nan()), "{ranked:?}");
    }

    #[test]
    fn hybrid_weighs_other_language_bm25_and_keeps_language_positions() {
        // Dense: 10 20 11 21. BM25 (the query is in language 1) lifts 11 and would lift 21.
        let dense = [(10, 0.9), (20, 0.8), (11, 0.7), (21, 0.6)];
        let bm25 = [(21, 9.0), (11, 8.0), (10, 1.0)];
        let options = HybridOptions {
            fusion: Fusion::Convex { dense_weight: 0.5 },
            ..Default::default()
        };
        let ranked = rank_hybrid(&bm25, &dense, &lang, Some(1), &options);
        // Language 1 keeps positions 1 and 3 (reordered by BM25), language 2 positions 2, 4;
        // 21's BM25 counts 0 (other language), so 20 stays before it.
        assert_eq!(keys(&ranked), [11, 20, 10, 21]);
        // Fused language order: BM25 may move language 1 above language 2 everywhere.
        let fused = rank_hybrid(
            &bm25,
            &dense,
            &lang,
            Some(1),
            &HybridOptions {
                fused_language_order: true,
                ..options
            },
        );
        assert_eq!(keys(&fused), [11, 10, 20, 21]);
        // Query language unknown: BM25 of every language counts fully.
        let unknown = rank_hybrid(&bm25, &dense, &lang, None, &options);
        assert_eq!(keys(&unknown), [11, 21, 10, 20]);
    }

    #[test]
    fn hybrid_drops_unknown_candidates() {
        let ranked = rank_hybrid(
            &[(90, 3.0), (10, 1.0)],
            &[(91, 0.9), (10, 0.8)],
            &lang,
            Some(1),
            &HybridOptions::default(),
        );
        assert_eq!(keys(&ranked), [10]);
    }
}
