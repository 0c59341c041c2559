//! Retrieval metrics with trec_eval's semantics, so the numbers match what `trec_eval -c -M
//! 100` (or pytrec_eval) prints for the same run and qrels.
//!
//! - A run is ranked by score, highest first; ties are broken by document id in
//!   *descending* byte order, as trec_eval does (its ranks ignore the run file's order).
//! - A document is relevant when its judgement is ≥ 1; nDCG uses the judgement as the gain
//!   with a log2(rank + 1) discount, against the ideal order of all judged documents.
//! - `-M depth`: only the first `depth` documents of each ranking count.
//! - `-c`: a query with judgements but no ranking scores 0 (it still counts in the mean).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Judgements: query id → document id → relevance grade.
pub type Qrels = BTreeMap<String, HashMap<String, i32>>;

/// A run: query id → (document id, score), in any order.
pub type Run = BTreeMap<String, Vec<(String, f64)>>;

/// Orders one query's documents as trec_eval does: score descending, then document id
/// descending; keeps the first `depth`.
pub fn trec_order(docs: &[(String, f64)], depth: usize) -> Vec<&str> {
    let mut sorted: Vec<&(String, f64)> = docs.iter().collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.as_bytes().cmp(a.0.as_bytes())));
    sorted.into_iter().take(depth).map(|(d, _)| d.as_str()).collect()
}

/// Average precision of a ranking: the mean, over all relevant documents, of the precision
/// at the rank of each (0 for those not ranked).
pub fn average_precision(ranking: &[&str], judged: &HashMap<String, i32>) -> f64 {
    let relevant = judged.values().filter(|&&g| g >= 1).count();
    if relevant == 0 {
        return 0.0;
    }
    let mut found = 0usize;
    let mut sum = 0.0;
    for (i, doc) in ranking.iter().enumerate() {
        if judged.get(*doc).is_some_and(|&g| g >= 1) {
            found += 1;
            sum += found as f64 / (i + 1) as f64;
        }
    }
    sum / relevant as f64
}

/// Share of the relevant documents in the first `k` of the ranking.
pub fn recall_at(ranking: &[&str], judged: &HashMap<String, i32>, k: usize) -> f64 {
    let relevant = judged.values().filter(|&&g| g >= 1).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranking
        .iter()
        .take(k)
        .filter(|d| judged.get(**d).is_some_and(|&g| g >= 1))
        .count();
    found as f64 / relevant as f64
}

/// nDCG over the first `k` documents (trec_eval's `ndcg_cut.k`).
pub fn ndcg_at(ranking: &[&str], judged: &HashMap<String, i32>, k: usize) -> f64 {
    let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = ranking
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| judged.get(*d).copied().unwrap_or(0).max(0) as f64 * discount(i))
        .sum();
    let mut ideal: Vec<i32> = judged.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| g as f64 * discount(i))
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Language bias of one query in the pooled setting (arXiv 2408.10536): the worst minus
/// the best 1-based rank among its relevant candidates.
pub fn rank_distance(ranks: &[usize]) -> usize {
    match (ranks.iter().max(), ranks.iter().min()) {
        (Some(max), Some(min)) => max - min,
        _ => 0,
    }
}

/// Per-query scores of a run against qrels, trec_eval style (`-c -M depth`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryScores {
    /// Average precision.
    pub ap: f64,
    /// nDCG@10.
    pub ndcg10: f64,
    /// Recall@100.
    pub recall100: f64,
}

/// Scores every query that has at least one relevant judgement (`-c`: a query the run
/// lacks scores 0), counting the first `depth` documents of each ranking.
pub fn evaluate(run: &Run, qrels: &Qrels, depth: usize) -> BTreeMap<String, QueryScores> {
    let empty = Vec::new();
    qrels
        .iter()
        .filter(|(_, judged)| judged.values().any(|&g| g >= 1))
        .map(|(qid, judged)| {
            let ranking = trec_order(run.get(qid).unwrap_or(&empty), depth);
            let scores = QueryScores {
                ap: average_precision(&ranking, judged),
                ndcg10: ndcg_at(&ranking, judged, 10),
                recall100: recall_at(&ranking, judged, 100),
            };
            (qid.clone(), scores)
        })
        .collect()
}

/// Mean of a per-query measure (0 for no queries).
pub fn mean<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    let (sum, n) = values.into_iter().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Reads TREC qrels: `qid 0|Q0 docid grade` per line (whitespace-separated).
pub fn read_qrels(path: &Path) -> Result<Qrels> {
    let mut qrels = Qrels::new();
    for (n, line) in read_lines(path)?.into_iter().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let grade = match fields.as_slice() {
            [_, _, _, grade] => grade.parse::<i32>().ok(),
            _ => None,
        };
        let Some(grade) = grade else {
            return Err(bad_line(path, n, "expected `qid iteration docid grade`"));
        };
        qrels
            .entry(fields[0].to_string())
            .or_default()
            .insert(fields[2].to_string(), grade);
    }
    Ok(qrels)
}

/// Reads a TREC run file (`qid Q0 docid rank score tag`); the rank column is ignored, as
/// trec_eval ignores it.
pub fn read_run(path: &Path) -> Result<Run> {
    let mut run = Run::new();
    for (n, line) in read_lines(path)?.into_iter().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let score = match fields.as_slice() {
            [_, _, _, _, score, ..] => score.parse::<f64>().ok(),
            _ => None,
        };
        let Some(score) = score else {
            return Err(bad_line(path, n, "expected `qid Q0 docid rank score tag`"));
        };
        run.entry(fields[0].to_string())
            .or_default()
            .push((fields[2].to_string(), score));
    }
    Ok(run)
}

/// Reads topics: `qid<TAB>text` per line, in file order.
pub fn read_topics(path: &Path) -> Result<Vec<(String, String)>> {
    let mut topics = Vec::new();
    for (n, line) in read_lines(path)?.into_iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((qid, text)) = line.split_once('\t') else {
            return Err(bad_line(path, n, "expected `qid<TAB>text`"));
        };
        topics.push((qid.trim().to_string(), text.trim().to_string()));
    }
    Ok(topics)
}

/// Writes a run as a TREC run file (`qid Q0 docid rank score tag`), each query in
/// trec_eval's order, the first `depth` documents.
pub fn write_run(out: &mut impl Write, run: &Run, depth: usize, tag: &str) -> std::io::Result<()> {
    for (qid, docs) in run {
        let scores: HashMap<&str, f64> = docs.iter().map(|(d, s)| (d.as_str(), *s)).collect();
        for (rank, doc) in trec_order(docs, depth).into_iter().enumerate() {
            writeln!(out, "{qid} Q0 {doc} {} {:.6} {tag}", rank + 1, scores[doc])?;
        }
    }
    Ok(())
}

/// Writes qrels (`qid 0 docid grade`).
pub fn write_qrels(out: &mut impl Write, qrels: &Qrels) -> std::io::Result<()> {
    for (qid, judged) in qrels {
        let mut docs: Vec<(&String, &i32)> = judged.iter().collect();
        docs.sort();
        for (doc, grade) in docs {
            writeln!(out, "{qid} 0 {doc} {grade}")?;
        }
    }
    Ok(())
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    std::io::BufReader::new(file)
        .lines()
        .collect::<std::io::Result<Vec<String>>>()
        .map_err(|e| Error::io(path, e))
}

fn bad_line(path: &Path, n: usize, what: &str) -> Error {
    Error::QueriesFile {
        path: path.to_path_buf(),
        line: n + 1,
        reason: what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(pairs: &[(&str, i32)]) -> HashMap<String, i32> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    #[test]
    fn average_precision_by_hand() {
        // Relevant a (rank 1), c (rank 3), e (not ranked): (1/1 + 2/3 + 0) / 3.
        let j = judged(&[("a", 1), ("c", 2), ("e", 1), ("b", 0)]);
        let ap = average_precision(&["a", "b", "c", "d"], &j);
        assert!((ap - (1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12, "{ap}");
        assert_eq!(average_precision(&["x"], &j), 0.0);
        assert_eq!(average_precision(&["a"], &judged(&[("a", 0)])), 0.0);
    }

    #[test]
    fn ndcg_by_hand() {
        // Ranking b(0) a(1) c(2): DCG = 1/log2(3) + 2/log2(4); ideal c(2) a(1): 2 + 1/log2(3).
        let j = judged(&[("a", 1), ("b", 0), ("c", 2)]);
        let dcg = 1.0 / 3f64.log2() + 2.0 / 2.0;
        let idcg = 2.0 + 1.0 / 3f64.log2();
        let n = ndcg_at(&["b", "a", "c"], &j, 10);
        assert!((n - dcg / idcg).abs() < 1e-12, "{n}");
        // The cut: only the first document counts.
        assert_eq!(ndcg_at(&["b", "a", "c"], &j, 1), 0.0);
        assert!((ndcg_at(&["c", "a"], &j, 10) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn recall_counts_the_first_k() {
        let j = judged(&[("a", 1), ("c", 1), ("z", 1), ("b", 0)]);
        assert!((recall_at(&["a", "b", "c"], &j, 2) - 1.0 / 3.0).abs() < 1e-12);
        assert!((recall_at(&["a", "b", "c"], &j, 100) - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn ties_break_by_document_id_descending_and_depth_cuts() {
        let docs: Vec<(String, f64)> = [("d1", 1.0), ("d3", 2.0), ("d2", 1.0), ("d0", 0.5)]
            .iter()
            .map(|(d, s)| (d.to_string(), *s))
            .collect();
        assert_eq!(trec_order(&docs, 10), ["d3", "d2", "d1", "d0"]);
        assert_eq!(trec_order(&docs, 2), ["d3", "d2"]);
    }

    #[test]
    fn a_query_missing_from_the_run_scores_zero_and_counts() {
        let mut qrels = Qrels::new();
        qrels.insert("1".into(), judged(&[("a", 1)]));
        qrels.insert("2".into(), judged(&[("b", 1)]));
        qrels.insert("3".into(), judged(&[("c", 0)])); // no relevant: not scored
        let mut run = Run::new();
        run.insert("1".into(), vec![("a".into(), 3.0), ("x".into(), 2.0)]);
        run.insert("9".into(), vec![("a".into(), 1.0)]); // not judged: ignored
        let scores = evaluate(&run, &qrels, 100);
        assert_eq!(scores.len(), 2);
        assert_eq!(scores["1"].ap, 1.0);
        assert_eq!(scores["2"], QueryScores::default());
        assert_eq!(mean(scores.values().map(|s| &s.ndcg10)), 0.5);
    }

    #[test]
    fn rank_distance_is_worst_minus_best() {
        assert_eq!(rank_distance(&[3, 1, 40]), 39);
        assert_eq!(rank_distance(&[]), 0);
    }

    #[test]
    fn qrels_and_topics_parse_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("qrels.tsv");
        std::fs::write(&q, "1\tQ0\td1\t1\n1 0 d2 0\n\n2\tQ0\td3\t2\n").unwrap();
        let qrels = read_qrels(&q).unwrap();
        assert_eq!(qrels["1"].len(), 2);
        assert_eq!(qrels["2"]["d3"], 2);
        std::fs::write(&q, "1 Q0 d1\n").unwrap();
        assert!(read_qrels(&q).unwrap_err().to_string().contains("qrels.tsv:1"));
        let t = dir.path().join("topics.tsv");
        std::fs::write(&t, "7\twhere is it?\n8\tand this\n").unwrap();
        assert_eq!(read_topics(&t).unwrap()[1], ("8".to_string(), "and this".to_string()));
    }
}
