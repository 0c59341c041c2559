//! The LAReQA protocol (Roy et al. 2020), as arXiv 2408.10536 uses it, on XQuAD-R and
//! MLQA-R: questions retrieve *sentences*.
//!
//! - Candidates: every sentence (`sentences`, `sentence_breaks`) of every paragraph in
//!   every language file of the data folder.
//! - A question's relevant candidate in language L: the sentence of L's paragraph holding
//!   the question with the same id that contains L's `answer_start`. An answer starting
//!   between two sentences (on a break) belongs to the next sentence, one past the last
//!   break to the last sentence; both are counted, as are ids missing in a language.
//! - Settings: mono (X against X's candidates), cross (X against Y's, X ≠ Y), multi (X
//!   against all languages' candidates pooled; every language's answer sentence is
//!   relevant). Every candidate of the setting is ranked (no cut-off).
//! - Metrics: average precision per query, mean per (X, Y) pair or query language, then a
//!   macro-average over pairs (mono, cross) or query languages (multi); R@1 for mono and
//!   cross, R@10 (share of the relevant sentences in the first 10) for multi; rank distance
//!   (language bias) per query: worst minus best rank of its relevant candidates in multi.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::metrics::rank_distance;
use crate::analysis::normalize_tag;
use crate::error::{Error, Result};
use crate::search::{rank_hybrid, HybridOptions, Mode};
use crate::store::vectors::dot;

/// A sentence that can be retrieved.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// `lang:article-paragraph-sentence`.
    pub id: String,
    /// Its language.
    pub lang: String,
    /// The sentence.
    pub text: String,
}

/// A question with its relevant candidates.
#[derive(Debug, Clone)]
pub struct Question {
    /// The SQuAD question id (shared by translations).
    pub id: String,
    /// Its language.
    pub lang: String,
    /// The question.
    pub text: String,
    /// The language searches read it in: its own (given, the default), or as identified
    /// (`bench --detect-query-lang`; `None`: unsure).
    pub read_as: Option<String>,
    /// Indices into [`Dataset::candidates`]: the answer sentence in each language that has
    /// this question.
    pub relevant: Vec<usize>,
}

/// Unusual cases met while reading the data, counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EdgeCases {
    /// Answers starting between two sentences (assigned to the next).
    pub answer_between_sentences: usize,
    /// Answers starting after the last sentence's end (assigned to the last).
    pub answer_after_last_sentence: usize,
    /// (question, language) pairs where the language lacks the question's id.
    pub missing_in_language: usize,
    /// Question ids seen twice in one language (the first is kept).
    pub duplicate_ids: usize,
}

/// A LAReQA data set: one JSON file per language.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Languages, sorted.
    pub langs: Vec<String>,
    /// All candidates, language by language.
    pub candidates: Vec<Candidate>,
    /// All questions, language by language.
    pub questions: Vec<Question>,
    /// What was unusual.
    pub edge_cases: EdgeCases,
}

/// One language's questions: id → (question, index of the answer sentence).
type LangQuestions = Vec<(String, String, usize)>;

impl Dataset {
    /// Reads every `*.json` file of `dir` whose name ends in a language code (`de.json`,
    /// `mlqa-r.de.json`, `xquad_de.json`), in SQuAD layout with `sentences` and
    /// `sentence_breaks` per paragraph.
    pub fn load(dir: &Path) -> Result<Dataset> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        let mut files: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let stem = path.file_stem().unwrap_or_default().to_string_lossy().to_string();
            let last = stem.rsplit(['.', '-', '_']).next().unwrap_or_default();
            if last.len() == 2 {
                if let Some(code) = normalize_tag(last) {
                    files.insert(code, path);
                }
            }
        }
        if files.len() < 2 {
            return Err(Error::Data {
                path: dir.to_path_buf(),
                reason: "expected a SQuAD-layout JSON file per language (de.json, en.json, …), at least two".into(),
            });
        }
        let mut data = Dataset {
            langs: files.keys().cloned().collect(),
            candidates: Vec::new(),
            questions: Vec::new(),
            edge_cases: EdgeCases::default(),
        };
        let mut per_lang: Vec<LangQuestions> = Vec::new();
        for (lang, path) in &files {
            per_lang.push(data.read_language(lang, path)?);
        }
        let answer_of: Vec<HashMap<&str, usize>> = per_lang
            .iter()
            .map(|qs| {
                let mut map = HashMap::new();
                for (id, _, answer) in qs {
                    map.entry(id.as_str()).or_insert(*answer);
                }
                map
            })
            .collect();
        let mut questions = Vec::new();
        for (lang, qs) in data.langs.iter().zip(&per_lang) {
            let mut seen = std::collections::HashSet::new();
            for (id, text, _) in qs {
                if !seen.insert(id) {
                    data.edge_cases.duplicate_ids += 1;
                    continue;
                }
                let mut relevant = Vec::new();
                for answers in &answer_of {
                    match answers.get(id.as_str()) {
                        Some(&c) => relevant.push(c),
                        None => data.edge_cases.missing_in_language += 1,
                    }
                }
                questions.push(Question {
                    id: id.clone(),
                    lang: lang.clone(),
                    text: text.clone(),
                    read_as: Some(lang.clone()),
                    relevant,
                });
            }
        }
        data.questions = questions;
        Ok(data)
    }

    /// Adds one language's sentences to the candidates; returns its questions.
    fn read_language(&mut self, lang: &str, path: &Path) -> Result<LangQuestions> {
        let bad = |reason: String| Error::Data {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let articles = json["data"]
            .as_array()
            .ok_or_else(|| bad("no `data` array (SQuAD layout expected)".into()))?;
        let mut questions = Vec::new();
        for (a, article) in articles.iter().enumerate() {
            for (p, paragraph) in article["paragraphs"].as_array().into_iter().flatten().enumerate() {
                let sentences: Vec<&str> = paragraph["sentences"]
                    .as_array()
                    .ok_or_else(|| bad(format!("article {a} paragraph {p}: no `sentences`")))?
                    .iter()
                    .map(|s| s.as_str().unwrap_or_default())
                    .collect();
                let breaks: Vec<(u64, u64)> = paragraph["sentence_breaks"]
                    .as_array()
                    .ok_or_else(|| bad(format!("article {a} paragraph {p}: no `sentence_breaks`")))?
                    .iter()
                    .map(|b| (b[0].as_u64().unwrap_or(0), b[1].as_u64().unwrap_or(0)))
                    .collect();
                if breaks.len() != sentences.len() || sentences.is_empty() {
                    return Err(bad(format!(
                        "article {a} paragraph {p}: {} sentences but {} sentence breaks",
                        sentences.len(),
                        breaks.len()
                    )));
                }
                let first = self.candidates.len();
                for (s, sentence) in sentences.iter().enumerate() {
                    self.candidates.push(Candidate {
                        id: format!("{lang}:{a}-{p}-{s}"),
                        lang: lang.to_string(),
                        text: sentence.trim().to_string(),
                    });
                }
                for qa in paragraph["qas"].as_array().into_iter().flatten() {
                    let (Some(id), Some(question)) = (qa["id"].as_str(), qa["question"].as_str()) else {
                        return Err(bad(format!(
                            "article {a} paragraph {p}: a question without `id` or `question`"
                        )));
                    };
                    let Some(start) = qa["answers"][0]["answer_start"].as_u64() else {
                        return Err(bad(format!("question {id}: no `answers[0].answer_start`")));
                    };
                    let sentence = self.sentence_of(&breaks, start);
                    questions.push((id.to_string(), question.trim().to_string(), first + sentence));
                }
            }
        }
        Ok(questions)
    }

    /// The sentence holding character `start` (see the module docs for the edge cases).
    fn sentence_of(&mut self, breaks: &[(u64, u64)], start: u64) -> usize {
        if let Some(s) = breaks.iter().position(|&(b, e)| b <= start && start < e) {
            return s;
        }
        match breaks.iter().position(|&(b, _)| start < b) {
            Some(next) => {
                self.edge_cases.answer_between_sentences += 1;
                next
            }
            None => {
                self.edge_cases.answer_after_last_sentence += 1;
                breaks.len() - 1
            }
        }
    }

    /// Keeps only `langs` (when not empty) and the first `max_questions` questions of each
    /// language (0: all), for quicker runs; relevance is kept for the remaining candidates.
    pub fn subset(mut self, langs: &[String], max_questions: usize) -> Dataset {
        if !langs.is_empty() {
            self.langs.retain(|l| langs.contains(l));
        }
        let keep: Vec<bool> = self.candidates.iter().map(|c| self.langs.contains(&c.lang)).collect();
        let mut new_index = vec![usize::MAX; self.candidates.len()];
        let mut next = 0;
        for (i, k) in keep.iter().enumerate() {
            if *k {
                new_index[i] = next;
                next += 1;
            }
        }
        let mut taken: HashMap<String, usize> = HashMap::new();
        let langs = self.langs.clone();
        self.questions.retain_mut(|q| {
            let n = taken.entry(q.lang.clone()).or_insert(0);
            *n += 1;
            q.relevant = q.relevant.iter().filter(|&&c| keep[c]).map(|&c| new_index[c]).collect();
            langs.contains(&q.lang) && (max_questions == 0 || *n <= max_questions) && !q.relevant.is_empty()
        });
        let mut i = 0;
        self.candidates.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        self
    }

    /// Candidates per language.
    pub fn candidates_per_language(&self) -> BTreeMap<String, usize> {
        count_by(self.candidates.iter().map(|c| c.lang.as_str()))
    }

    /// Questions per language.
    pub fn questions_per_language(&self) -> BTreeMap<String, usize> {
        count_by(self.questions.iter().map(|q| q.lang.as_str()))
    }
}

fn count_by<'a>(langs: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for lang in langs {
        *counts.entry(lang.to_string()).or_insert(0) += 1;
    }
    counts
}

/// Unit-length vectors, one per question or candidate.
pub type VectorList = Vec<Vec<f32>>;

/// Question vectors and candidate vectors (unit length).
pub type QuestionsAndCandidates<'a> = (&'a [Vec<f32>], &'a [Vec<f32>]);

/// What a ranking is made from, per question (indices as in the data set).
pub struct Evidence<'a> {
    /// Question and candidate vectors, for dense and hybrid.
    pub dense: Option<QuestionsAndCandidates<'a>>,
    /// Per question, the BM25-matched candidates and scores (unmatched: absent).
    pub bm25: Option<&'a [Vec<(usize, f32)>]>,
}

/// Scores of one (query language, candidate language) pair.
#[derive(Debug, Clone, Serialize)]
pub struct PairScores {
    /// Query language.
    pub query_lang: String,
    /// Candidate language.
    pub candidate_lang: String,
    /// Questions evaluated.
    pub questions: usize,
    /// Mean average precision.
    pub map: f64,
    /// Recall at 1.
    pub r1: f64,
}

/// Scores of one query language in the pooled (multi) setting.
#[derive(Debug, Clone, Serialize)]
pub struct MultiScores {
    /// Query language.
    pub query_lang: String,
    /// Questions evaluated.
    pub questions: usize,
    /// Mean average precision.
    pub map: f64,
    /// Recall at 10.
    pub r10: f64,
    /// Mean rank distance.
    pub rank_distance: f64,
}

/// Everything one mode scored.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The retrieval.
    pub mode: Mode,
    /// Macro mAP over the X = X pairs.
    pub mono_map: f64,
    /// Macro mAP over the X ≠ Y pairs.
    pub cross_map: f64,
    /// Macro mAP over query languages, pooled candidates.
    pub multi_map: f64,
    /// Macro mean rank distance over query languages (lower: less language bias).
    pub rank_distance: f64,
    /// Macro R@1, mono.
    pub mono_r1: f64,
    /// Macro R@1, cross.
    pub cross_r1: f64,
    /// Macro R@10, multi.
    pub multi_r10: f64,
    /// Every (X, Y) pair.
    pub pairs: Vec<PairScores>,
    /// Every query language, pooled.
    pub multi: Vec<MultiScores>,
}

/// A TREC run line source: setting name (`de-en`, `de-any`), question id, ranked candidates.
pub type RunSink<'a> = &'a mut dyn FnMut(&str, &str, &[(usize, f64)]);

/// One question's scores: per candidate language (AP, R@1) if it has an answer there, and
/// the pooled (AP, R@10, rank distance).
struct QuestionScores {
    per_lang: Vec<Option<(f64, f64)>>,
    multi: (f64, f64, f64),
    runs: Vec<(String, Vec<(usize, f64)>)>,
}

/// How [`evaluate`] scores.
#[derive(Debug, Clone, Copy)]
pub struct Scoring {
    /// The retrieval.
    pub mode: Mode,
    /// Fusion settings for hybrid mode.
    pub hybrid: HybridOptions,
    /// Worker threads.
    pub threads: usize,
    /// Candidates per setting handed to the run sink (0: none).
    pub run_depth: usize,
}

/// Scores the data set; with `run_depth` > 0 each setting's first `run_depth` candidates
/// also go to `sink`.
pub fn evaluate(
    data: &Dataset,
    evidence: &Evidence,
    scoring: Scoring,
    mut sink: Option<RunSink>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Report> {
    let Scoring {
        mode,
        hybrid: hybrid_options,
        threads,
        run_depth,
    } = scoring;
    let need_dense = mode != Mode::Bm25;
    let need_bm25 = mode != Mode::Dense;
    if (need_dense && evidence.dense.is_none()) || (need_bm25 && evidence.bm25.is_none()) {
        return Err(Error::Data {
            path: Default::default(),
            reason: format!("{mode:?} evaluation lacks its evidence"),
        });
    }
    let pools: Vec<Vec<usize>> = data
        .langs
        .iter()
        .map(|l| {
            (0..data.candidates.len())
                .filter(|&c| data.candidates[c].lang == *l)
                .collect()
        })
        .collect();
    let all: Vec<usize> = (0..data.candidates.len()).collect();
    let lang_index: HashMap<&str, usize> = data.langs.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let cand_lang: Vec<usize> = data.candidates.iter().map(|c| lang_index[c.lang.as_str()]).collect();

    let score_one = |qi: usize| -> QuestionScores {
        let q = &data.questions[qi];
        // The language the question is read in (given or identified; unknown: none), for
        // the cross-language BM25 rule; a language without candidates matches none.
        let read_as = q
            .read_as
            .as_deref()
            .map(|l| lang_index.get(l).map_or(u32::MAX, |&i| i as u32));
        let dense: Vec<f32> = match evidence.dense {
            Some((questions, candidates)) => candidates.iter().map(|c| dot(&questions[qi], c)).collect(),
            None => Vec::new(),
        };
        let mut bm25 = vec![f32::NEG_INFINITY; if need_bm25 { data.candidates.len() } else { 0 }];
        if let Some(lists) = evidence.bm25 {
            if need_bm25 {
                for &(c, s) in &lists[qi] {
                    bm25[c] = s;
                }
            }
        }
        let rank_scores = |pool: &[usize]| -> Vec<(usize, f64)> {
            match mode {
                Mode::Dense => pool.iter().map(|&c| (c, dense[c] as f64)).collect(),
                Mode::Bm25 => pool
                    .iter()
                    .filter(|&&c| bm25[c] > f32::NEG_INFINITY)
                    .map(|&c| (c, bm25[c] as f64))
                    .collect(),
                Mode::Hybrid => {
                    // The same ranking as `mlsearch query`, over every candidate of the pool.
                    let list = |scores: &[f32], keep_unmatched: bool, k: usize| -> Vec<(u64, f32)> {
                        let mut list: Vec<(u64, f32)> = pool
                            .iter()
                            .filter(|&&c| keep_unmatched || scores[c] > f32::NEG_INFINITY)
                            .map(|&c| (c as u64, scores[c]))
                            .collect();
                        best_first(&mut list, k);
                        list
                    };
                    rank_hybrid(
                        &list(&bm25, false, hybrid_options.candidates),
                        &list(&dense, true, pool.len()),
                        &|c| Some(cand_lang[c as usize] as u32),
                        read_as,
                        &hybrid_options,
                    )
                    .into_iter()
                    .enumerate()
                    .map(|(i, (c, _))| (c as usize, -(i as f64)))
                    .collect()
                }
            }
        };
        let mut runs = Vec::new();
        let mut setting = |pool: &[usize], relevant: &[usize], name: String| -> (f64, Vec<usize>) {
            let scored = rank_scores(pool);
            let ranks = ranks_of(&scored, relevant, pool.len());
            if run_depth > 0 {
                let mut top = scored.clone();
                top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                top.truncate(run_depth);
                runs.push((name, top));
            }
            (average_precision(&ranks, relevant.len()), ranks)
        };
        let mut per_lang = vec![None; data.langs.len()];
        for (y, pool) in pools.iter().enumerate() {
            let relevant: Vec<usize> = q.relevant.iter().copied().filter(|&c| cand_lang[c] == y).collect();
            if relevant.is_empty() {
                continue;
            }
            let (ap, ranks) = setting(pool, &relevant, format!("{}-{}", q.lang, data.langs[y]));
            let r1 = ranks.iter().filter(|&&r| r == 1).count() as f64 / relevant.len() as f64;
            per_lang[y] = Some((ap, r1));
        }
        let (ap, ranks) = setting(&all, &q.relevant, format!("{}-any", q.lang));
        let r10 = ranks.iter().filter(|&&r| r <= 10).count() as f64 / ranks.len().max(1) as f64;
        QuestionScores {
            per_lang,
            multi: (ap, r10, rank_distance(&ranks) as f64),
            runs,
        }
    };

    // Questions in chunks: threads within a chunk, progress and run output between chunks.
    let total = data.questions.len();
    let mut scores: Vec<QuestionScores> = Vec::with_capacity(total);
    let threads = threads.max(1);
    for start in (0..total).step_by(256) {
        let end = (start + 256).min(total);
        let chunk: Vec<QuestionScores> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let score_one = &score_one;
                    s.spawn(move || {
                        (start + t..end)
                            .step_by(threads)
                            .map(|qi| (qi, score_one(qi)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut out: Vec<(usize, QuestionScores)> = handles
                .into_iter()
                .flat_map(|h| h.join().expect("scoring thread"))
                .collect();
            out.sort_by_key(|(qi, _)| *qi);
            out.into_iter().map(|(_, s)| s).collect()
        });
        for (qi, s) in (start..end).zip(chunk) {
            if let Some(sink) = sink.as_mut() {
                for (name, ranked) in &s.runs {
                    sink(name, &data.questions[qi].id, ranked);
                }
            }
            scores.push(QuestionScores { runs: Vec::new(), ..s });
        }
        progress(end, total);
    }
    Ok(aggregate(data, mode, &scores))
}

/// Macro-averages per-question scores into pairs, query languages and the summary.
fn aggregate(data: &Dataset, mode: Mode, scores: &[QuestionScores]) -> Report {
    let mut pairs = Vec::new();
    let mut multi = Vec::new();
    for x in &data.langs {
        let of_x: Vec<&QuestionScores> = data
            .questions
            .iter()
            .zip(scores)
            .filter(|(q, _)| q.lang == *x)
            .map(|(_, s)| s)
            .collect();
        for (y, candidate_lang) in data.langs.iter().enumerate() {
            let values: Vec<(f64, f64)> = of_x.iter().filter_map(|s| s.per_lang[y]).collect();
            if values.is_empty() {
                continue;
            }
            let n = values.len() as f64;
            pairs.push(PairScores {
                query_lang: x.clone(),
                candidate_lang: candidate_lang.clone(),
                questions: values.len(),
                map: values.iter().map(|v| v.0).sum::<f64>() / n,
                r1: values.iter().map(|v| v.1).sum::<f64>() / n,
            });
        }
        if !of_x.is_empty() {
            let n = of_x.len() as f64;
            multi.push(MultiScores {
                query_lang: x.clone(),
                questions: of_x.len(),
                map: of_x.iter().map(|s| s.multi.0).sum::<f64>() / n,
                r10: of_x.iter().map(|s| s.multi.1).sum::<f64>() / n,
                rank_distance: of_x.iter().map(|s| s.multi.2).sum::<f64>() / n,
            });
        }
    }
    let avg = |values: Vec<f64>| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    let (mono, cross): (Vec<&PairScores>, Vec<&PairScores>) =
        pairs.iter().partition(|p| p.query_lang == p.candidate_lang);
    Report {
        mode,
        mono_map: avg(mono.iter().map(|p| p.map).collect()),
        cross_map: avg(cross.iter().map(|p| p.map).collect()),
        multi_map: avg(multi.iter().map(|m| m.map).collect()),
        rank_distance: avg(multi.iter().map(|m| m.rank_distance).collect()),
        mono_r1: avg(mono.iter().map(|p| p.r1).collect()),
        cross_r1: avg(cross.iter().map(|p| p.r1).collect()),
        multi_r10: avg(multi.iter().map(|m| m.r10).collect()),
        pairs,
        multi,
    }
}

/// 1-based ranks of the relevant candidates among `scored` (higher first, ties by index);
/// a relevant candidate that is not scored (BM25 found no shared term) counts at `last`.
fn ranks_of(scored: &[(usize, f64)], relevant: &[usize], last: usize) -> Vec<usize> {
    relevant
        .iter()
        .map(|&r| match scored.iter().find(|(c, _)| *c == r) {
            Some(&(_, score)) => {
                1 + scored
                    .iter()
                    .filter(|&&(c, s)| s > score || (s == score && c < r))
                    .count()
            }
            None => last.max(scored.len() + 1),
        })
        .collect()
}

/// Average precision from the relevant candidates' ranks; those at or past `last` of an
/// incomplete ranking (BM25) still count, at their rank.
fn average_precision(ranks: &[usize], relevant: usize) -> f64 {
    let mut sorted = ranks.to_vec();
    sorted.sort_unstable();
    sorted
        .iter()
        .enumerate()
        .map(|(i, &r)| (i + 1) as f64 / r as f64)
        .sum::<f64>()
        / relevant.max(1) as f64
}

/// Keeps the `k` highest-scored items, best first (ties by key).
fn best_first(list: &mut Vec<(u64, f32)>, k: usize) {
    let order = |a: &(u64, f32), b: &(u64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if list.len() > k {
        list.select_nth_unstable_by(k, order);
        list.truncate(k);
    }
    list.sort_by(order);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_keeps_relevance_consistent() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/lareqa");
        let full = Dataset::load(Path::new(dir)).unwrap();
        let sub = full.clone().subset(&["de".to_string(), "es".to_string()], 2);
        assert_eq!(sub.langs, ["de", "es"]);
        assert_eq!(sub.candidates.len(), 12);
        assert_eq!(sub.questions.len(), 4);
        for q in &sub.questions {
            let original = full
                .questions
                .iter()
                .find(|o| o.id == q.id && o.lang == q.lang)
                .unwrap();
            let ids: Vec<&str> = q.relevant.iter().map(|&c| sub.candidates[c].id.as_str()).collect();
            let expected: Vec<&str> = original
                .relevant
                .iter()
                .map(|&c| full.candidates[c].id.as_str())
                .filter(|id| !id.starts_with("en:"))
                .collect();
            assert_eq!(ids, expected);
        }
    }

    #[test]
    fn ranks_break_ties_by_index_and_unscored_go_last() {
        let scored = [(0, 0.5), (1, 0.9), (2, 0.5), (3, 0.1)];
        assert_eq!(ranks_of(&scored, &[2, 1, 0], 10), [3, 1, 2]);
        assert_eq!(ranks_of(&scored, &[7], 10), [10]);
    }

    #[test]
    fn average_precision_from_ranks() {
        // Relevant at ranks 1 and 4 of 2 relevant: (1/1 + 2/4) / 2.
        assert!((average_precision(&[4, 1], 2) - 0.75).abs() < 1e-12);
        assert_eq!(average_precision(&[], 0), 0.0);
    }
}
