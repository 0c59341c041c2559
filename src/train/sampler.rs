//! Batches of training pairs: monolingual (X-X), cross-lingual (X-Y) or hybrid, after
//! arXiv 2408.10536.
//!
//! - X-X: one language, drawn uniformly among those that can fill a batch; every pair has
//!   query and passage in it.
//! - X-Y: every pair has its query in one language and its passage in another, both drawn
//!   uniformly among the group's languages (a different draw for every pair).
//! - Hybrid: each batch is X-X with probability α, else X-Y.
//!
//! A batch never holds two pairs of one group (translations of each other) or of one
//! source document: the other pairs' passages are the in-batch negatives, and those would
//! be relevant too. Groups are used in a shuffled order, epoch after epoch, so every group
//! is seen before any is seen twice.
//!
//! Same-article batches ([`Sampler::with_same_article`]): each group drawn that names an
//! article brings up to N − 1 other groups of that article (other paragraphs of the same
//! Wikipedia article), whose passages are then one another's hard negatives.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::data::Record;

/// How batches are composed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Monolingual batches only.
    Xx,
    /// Cross-lingual batches only.
    Xy,
    /// X-X with probability `alpha`, else X-Y.
    Hybrid {
        /// Probability of an X-X batch.
        alpha: f64,
    },
}

/// One training pair, as texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Query text.
    pub query: String,
    /// Passage text.
    pub passage: String,
    /// Query language.
    pub query_lang: String,
    /// Passage language.
    pub passage_lang: String,
    /// The query's English version (from its translation group; the query itself when the
    /// group has no English): what the teacher anchor pulls the query towards.
    pub query_source: String,
    /// The passage's English version, likewise.
    pub passage_source: String,
}

/// A batch and its kind.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Whether it is monolingual.
    pub monolingual: bool,
    /// Its pairs.
    pub pairs: Vec<Pair>,
}

/// A small, seedable generator (SplitMix64): training must be repeatable from its seed.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// A translation group: its records by language.
struct Group {
    doc: Option<String>,
    article: Option<String>,
    by_lang: BTreeMap<String, usize>,
    /// X-Y pairs only (see [`Record::cross_only`]).
    cross_only: bool,
}

/// Draws batches from records.
pub struct Sampler {
    records: Vec<Record>,
    groups: Vec<Group>,
    languages: Vec<String>,
    /// Shuffled group order and the position in it.
    order: Vec<usize>,
    cursor: usize,
    /// Groups passed over by the last batch (their document was in it).
    deferred: Vec<usize>,
    sampling: Sampling,
    batch_size: usize,
    /// Groups of an article taken together (1: no grouping), and each article's groups.
    same_article: usize,
    articles: HashMap<String, Vec<usize>>,
    /// The generator (saved in checkpoints).
    pub rng: Rng,
}

impl Sampler {
    /// Groups `records` by id; a group needs two languages to give X-Y pairs.
    pub fn new(records: Vec<Record>, sampling: Sampling, batch_size: usize, seed: u64) -> Sampler {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let g = *index.entry(r.id.as_str()).or_insert_with(|| {
                groups.push(Group {
                    doc: r.doc.clone(),
                    article: r.article.clone(),
                    by_lang: BTreeMap::new(),
                    cross_only: r.cross_only,
                });
                groups.len() - 1
            });
            groups[g].by_lang.entry(r.lang.clone()).or_insert(i);
        }
        let languages: Vec<String> = records
            .iter()
            .map(|r| r.lang.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut sampler = Sampler {
            order: (0..groups.len()).collect(),
            records,
            groups,
            languages,
            cursor: 0,
            deferred: Vec::new(),
            sampling,
            batch_size: batch_size.max(1),
            same_article: 1,
            articles: HashMap::new(),
            rng: Rng(seed),
        };
        sampler.rng.shuffle(&mut sampler.order);
        sampler
    }

    /// Batches in which each group that names an article comes with up to `n` − 1 other
    /// groups of that article (`n` ≤ 1: no grouping).
    pub fn with_same_article(mut self, n: usize) -> Sampler {
        self.same_article = n.max(1);
        self.articles.clear();
        if self.same_article > 1 {
            for (g, group) in self.groups.iter().enumerate() {
                if let Some(article) = &group.article {
                    self.articles.entry(article.clone()).or_default().push(g);
                }
            }
        }
        self
    }

    /// Number of translation groups.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Languages in the records.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// The next batch.
    pub fn next_batch(&mut self) -> Batch {
        let monolingual = match self.sampling {
            Sampling::Xx => true,
            Sampling::Xy => false,
            Sampling::Hybrid { alpha } => self.rng.unit() < alpha,
        };
        let lang = monolingual.then(|| self.languages[self.rng.below(self.languages.len())].clone());
        let mut pairs = Vec::with_capacity(self.batch_size);
        let mut used_groups: HashSet<usize> = HashSet::new();
        let mut used_docs: HashSet<String> = HashSet::new();
        let mut deferred = Vec::new();
        let mut waiting = std::mem::take(&mut self.deferred).into_iter();
        // Groups deferred by the last batch first, then the shuffled order; a group that
        // does not fit this batch (its document is in it) waits for the next one.
        let mut looked = 0;
        while pairs.len() < self.batch_size && looked < self.groups.len() * 2 {
            looked += 1;
            let g = match waiting.next() {
                Some(g) => g,
                None => {
                    if self.cursor == self.order.len() {
                        self.cursor = 0;
                        self.rng.shuffle(&mut self.order);
                    }
                    self.cursor += 1;
                    self.order[self.cursor - 1]
                }
            };
            let group = &self.groups[g];
            if used_groups.contains(&g) || group.doc.as_ref().is_some_and(|d| used_docs.contains(d)) {
                deferred.push(g);
                continue;
            }
            let Some(pair) = self.pair(g, lang.as_deref()) else {
                continue;
            };
            pairs.push(pair);
            used_groups.insert(g);
            used_docs.extend(self.groups[g].doc.clone());
            // Other paragraphs of the same article, as hard negatives.
            let mates = match &self.groups[g].article {
                Some(article) if self.same_article > 1 => self.articles.get(article).cloned().unwrap_or_default(),
                _ => Vec::new(),
            };
            let mut mates: Vec<usize> = mates.into_iter().filter(|m| !used_groups.contains(m)).collect();
            self.rng.shuffle(&mut mates);
            let mut added = 1;
            for m in mates {
                if added == self.same_article || pairs.len() == self.batch_size {
                    break;
                }
                if self.groups[m].doc.as_ref().is_some_and(|d| used_docs.contains(d)) {
                    continue;
                }
                if let Some(pair) = self.pair(m, lang.as_deref()) {
                    pairs.push(pair);
                    used_groups.insert(m);
                    used_docs.extend(self.groups[m].doc.clone());
                    added += 1;
                }
            }
        }
        deferred.extend(waiting);
        self.deferred = deferred;
        Batch { monolingual, pairs }
    }

    /// A pair of group `g`: query and passage in `lang` (an X-X batch), else in two of
    /// the group's languages drawn at random; `None` when the group has no such pair.
    fn pair(&mut self, g: usize, lang: Option<&str>) -> Option<Pair> {
        let group = &self.groups[g];
        let (q, p) = match lang {
            Some(_) if group.cross_only => return None,
            Some(lang) => {
                let r = &self.records[*group.by_lang.get(lang)?];
                (r, r)
            }
            None if group.by_lang.len() >= 2 => {
                let langs: Vec<usize> = group.by_lang.values().copied().collect();
                let q = self.rng.below(langs.len());
                let mut p = self.rng.below(langs.len() - 1);
                if p >= q {
                    p += 1;
                }
                (&self.records[langs[q]], &self.records[langs[p]])
            }
            None => return None,
        };
        let english = ["en", "eng"]
            .iter()
            .find_map(|l| group.by_lang.get(*l))
            .map(|&r| &self.records[r]);
        Some(Pair {
            query: q.query.clone(),
            passage: p.passage.clone(),
            query_lang: q.lang.clone(),
            passage_lang: p.lang.clone(),
            query_source: english.map_or(&q.query, |e| &e.query).clone(),
            passage_source: english.map_or(&p.passage, |e| &e.passage).clone(),
        })
    }
}

/// Where a sampler is in its data (saved with checkpoints).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SamplerState {
    order: Vec<usize>,
    cursor: usize,
    deferred: Vec<usize>,
    rng: Rng,
}

impl Sampler {
    /// Its position, to save.
    pub fn state(&self) -> SamplerState {
        SamplerState {
            order: self.order.clone(),
            cursor: self.cursor,
            deferred: self.deferred.clone(),
            rng: self.rng.clone(),
        }
    }

    /// Continues from a saved position (of a sampler over the same records).
    pub fn restore(&mut self, state: SamplerState) {
        if state.order.len() == self.order.len() {
            self.order = state.order;
            self.cursor = state.cursor.min(self.order.len());
            self.deferred = state.deferred;
            self.rng = state.rng;
        }
    }
}

/// What `train --dry-run` reports about batches.
#[derive(Debug, Default, Serialize)]
pub struct BatchStats {
    /// Batches drawn.
    pub batches: usize,
    /// Of them monolingual.
    pub monolingual: usize,
    /// Mean pairs per batch.
    pub mean_pairs: f64,
    /// Pairs whose query and passage languages are equal.
    pub same_language_pairs: usize,
    /// Pairs in all.
    pub pairs: usize,
    /// Batches holding two pairs with the same query (must be 0).
    pub duplicate_groups: usize,
    /// Pairs per query language.
    pub query_languages: BTreeMap<String, usize>,
    /// Pairs per passage language.
    pub passage_languages: BTreeMap<String, usize>,
}

/// Draws `batches` batches and counts their composition.
pub fn batch_stats(sampler: &mut Sampler, batches: usize) -> BatchStats {
    let mut stats = BatchStats::default();
    for _ in 0..batches {
        let batch = sampler.next_batch();
        stats.batches += 1;
        stats.monolingual += batch.monolingual as usize;
        let mut queries = HashSet::new();
        let mut duplicate = false;
        for p in &batch.pairs {
            stats.pairs += 1;
            stats.same_language_pairs += (p.query_lang == p.passage_lang) as usize;
            *stats.query_languages.entry(p.query_lang.clone()).or_default() += 1;
            *stats.passage_languages.entry(p.passage_lang.clone()).or_default() += 1;
            duplicate |= !queries.insert((p.query.clone(), p.query_lang.clone()));
        }
        stats.duplicate_groups += duplicate as usize;
    }
    stats.mean_pairs = stats.pairs as f64 / stats.batches.max(1) as f64;
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 40 groups in 4 languages, 2 groups per document.
    fn records() -> Vec<Record> {
        let mut out = Vec::new();
        for g in 0..40 {
            for lang in ["de", "en", "fr", "zh"] {
                out.push(Record {
                    id: format!("g{g}"),
                    lang: lang.into(),
                    query: format!("q{g}-{lang}"),
                    passage: format!("p{g}-{lang}"),
                    doc: Some(format!("d{}", g / 2)),
                    article: None,
                    source: None,
                    cross_only: false,
                });
            }
        }
        out
    }

    fn group_of(text: &str) -> &str {
        text[1..].split('-').next().unwrap()
    }

    #[test]
    fn monolingual_batches_share_one_language_and_cross_batches_never_do() {
        let mut xx = Sampler::new(records(), Sampling::Xx, 8, 1);
        for _ in 0..20 {
            let b = xx.next_batch();
            assert!(b.monolingual && b.pairs.len() == 8);
            let lang = &b.pairs[0].query_lang;
            assert!(b.pairs.iter().all(|p| &p.query_lang == lang && &p.passage_lang == lang));
        }
        let mut xy = Sampler::new(records(), Sampling::Xy, 8, 1);
        for _ in 0..20 {
            let b = xy.next_batch();
            assert!(!b.monolingual && b.pairs.len() == 8);
            assert!(b.pairs.iter().all(|p| p.query_lang != p.passage_lang));
            // Query and passage of a pair come from one group.
            assert!(b.pairs.iter().all(|p| group_of(&p.query) == group_of(&p.passage)));
        }
    }

    #[test]
    fn cross_only_groups_never_make_a_monolingual_pair() {
        let mut all = records();
        for r in all.iter_mut().filter(|r| r.id.ends_with('7')) {
            r.cross_only = true;
        }
        let mut xx = Sampler::new(all.clone(), Sampling::Xx, 8, 3);
        for _ in 0..40 {
            assert!(xx.next_batch().pairs.iter().all(|p| !group_of(&p.query).ends_with('7')));
        }
        let mut xy = Sampler::new(all, Sampling::Xy, 8, 3);
        let cross: usize = (0..40)
            .map(|_| {
                xy.next_batch()
                    .pairs
                    .iter()
                    .filter(|p| group_of(&p.query).ends_with('7'))
                    .count()
            })
            .sum();
        assert!(cross > 0, "cross-only groups still give X-Y pairs");
    }

    #[test]
    fn no_batch_holds_two_pairs_of_one_group_or_document() {
        let mut s = Sampler::new(records(), Sampling::Hybrid { alpha: 0.5 }, 16, 7);
        for _ in 0..50 {
            let b = s.next_batch();
            assert_eq!(b.pairs.len(), 16);
            let groups: HashSet<&str> = b.pairs.iter().map(|p| group_of(&p.query)).collect();
            assert_eq!(groups.len(), 16);
            let docs: HashSet<usize> = groups.iter().map(|g| g.parse::<usize>().unwrap() / 2).collect();
            assert_eq!(docs.len(), 16);
        }
    }

    #[test]
    fn same_article_batches_take_an_article_together_and_still_never_repeat_a_document() {
        // 40 groups, 2 a document, 8 (4 documents) an article.
        let with_articles: Vec<Record> = records()
            .into_iter()
            .map(|mut r| {
                let g: usize = r.id[1..].parse().unwrap();
                r.article = Some(format!("a{}", g / 8));
                r
            })
            .collect();
        let articles_per_batch = |same: usize| {
            let mut s = Sampler::new(with_articles.clone(), Sampling::Xy, 8, 5).with_same_article(same);
            (0..20)
                .map(|_| {
                    let b = s.next_batch();
                    assert_eq!(b.pairs.len(), 8);
                    let groups: Vec<usize> = b.pairs.iter().map(|p| group_of(&p.query).parse().unwrap()).collect();
                    let docs: HashSet<usize> = groups.iter().map(|g| g / 2).collect();
                    assert_eq!(docs.len(), 8, "two pairs of one document");
                    groups.iter().map(|g| g / 8).collect::<HashSet<usize>>().len()
                })
                .collect::<Vec<usize>>()
        };
        // Four documents an article: two articles fill a batch of 8.
        assert!(
            articles_per_batch(4).iter().all(|&a| a == 2),
            "{:?}",
            articles_per_batch(4)
        );
        let spread = articles_per_batch(1);
        assert!(spread.iter().sum::<usize>() > 2 * spread.len(), "{spread:?}");
    }

    #[test]
    fn hybrid_draws_monolingual_batches_with_probability_alpha() {
        let mut s = Sampler::new(records(), Sampling::Hybrid { alpha: 0.25 }, 4, 3);
        let stats = batch_stats(&mut s, 2000);
        let share = stats.monolingual as f64 / stats.batches as f64;
        assert!((share - 0.25).abs() < 0.04, "{share}");
        assert_eq!(stats.duplicate_groups, 0);
        assert_eq!(stats.same_language_pairs, stats.monolingual * 4);
        // Every language is drawn.
        assert_eq!(stats.query_languages.len(), 4);
    }

    #[test]
    fn the_same_seed_gives_the_same_batches() {
        let a: Vec<Vec<Pair>> = {
            let mut s = Sampler::new(records(), Sampling::Hybrid { alpha: 0.5 }, 8, 42);
            (0..5).map(|_| s.next_batch().pairs).collect()
        };
        let mut s = Sampler::new(records(), Sampling::Hybrid { alpha: 0.5 }, 8, 42);
        let b: Vec<Vec<Pair>> = (0..5).map(|_| s.next_batch().pairs).collect();
        assert_eq!(a, b);
    }
}
