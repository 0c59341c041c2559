//! Native QA (ARCD, CMRC 2018, DRCD, iApp): a question and the sentences around its answer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::error::{Error, Result};
use crate::train::data::{held_out, primary, PrepareOptions, Prepared, Record};

/// One question of a QA set: its paragraph, and where its first answer starts (in chars).
pub(super) struct Question {
    pub id: String,
    pub question: String,
    pub context: String,
    pub answer_start: Option<usize>,
    pub answer: Option<String>,
    /// The paragraph's id (the record's document).
    pub paragraph: String,
}

/// Characters of passage a QA record keeps around its answer: about the 128 tokens that
/// training encodes of a passage, for Arabic and Thai; Chinese and Japanese spend more per
/// character.
pub(super) fn passage_chars(lang: &str) -> usize {
    if lang == "zh" || lang == "ja" {
        160
    } else {
        400
    }
}

/// The sentences of `context` around the answer (or from the start, without one), up to
/// `max_chars`: the answer's sentence, then the next ones, then the previous ones.
pub(super) fn answer_window(
    context: &str,
    answer_start: Option<usize>,
    answer: Option<&str>,
    max_chars: usize,
) -> String {
    let breaks = crate::analysis::sentence_breaks(context);
    let sentences: Vec<&str> = breaks.windows(2).map(|w| &context[w[0]..w[1]]).collect();
    if sentences.is_empty() {
        return String::new();
    }
    // The answer's byte offset: its recorded start (in chars), checked against its text,
    // else the first place the text occurs.
    let byte_start = answer_start
        .and_then(|chars| context.char_indices().nth(chars).map(|(b, _)| b))
        .filter(|&b| answer.is_none_or(|a| context[b..].starts_with(a)))
        .or_else(|| answer.and_then(|a| context.find(a)))
        .unwrap_or(0);
    let hit = breaks.windows(2).position(|w| byte_start < w[1]).unwrap_or(0);
    let (mut first, mut last) = (hit, hit);
    let length = |a: usize, b: usize| sentences[a..=b].iter().map(|s| s.chars().count()).sum::<usize>();
    loop {
        if last + 1 < sentences.len() && length(first, last + 1) <= max_chars {
            last += 1;
        } else if first > 0 && length(first - 1, last) <= max_chars {
            first -= 1;
        } else {
            break;
        }
    }
    let window = sentences[first..=last].concat();
    let window = window.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = window.chars().collect();
    if chars.len() <= max_chars {
        return window;
    }
    // One sentence longer than the budget: the part of it around the answer.
    let at = answer
        .and_then(|a| window.find(a))
        .map_or(0, |b| window[..b].chars().count());
    let begin = at.saturating_sub(max_chars / 2).min(chars.len() - max_chars);
    chars[begin..begin + max_chars].iter().collect()
}

/// Questions of a SQuAD-layout JSON (`data[].paragraphs[].{context, qas[]}`).
pub(super) fn squad_questions(path: &Path) -> Result<Vec<Question>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| data_error(path, format!("not JSON: {e}")))?;
    let articles = json["data"]
        .as_array()
        .ok_or_else(|| data_error(path, "no data[] (SQuAD layout)"))?;
    let mut out = Vec::new();
    for (a, article) in articles.iter().enumerate() {
        for (p, paragraph) in article["paragraphs"].as_array().into_iter().flatten().enumerate() {
            let context = paragraph["context"].as_str().unwrap_or_default();
            for (q, qa) in paragraph["qas"].as_array().into_iter().flatten().enumerate() {
                let answer = &qa["answers"][0];
                out.push(Question {
                    id: qa["id"].as_str().map_or_else(|| format!("{a}-{p}-{q}"), str::to_string),
                    question: qa["question"].as_str().unwrap_or_default().to_string(),
                    context: context.to_string(),
                    answer_start: answer["answer_start"].as_u64().map(|s| s as usize),
                    answer: answer["text"].as_str().map(str::to_string),
                    paragraph: format!("{a}-{p}"),
                })
            }
        }
    }
    Ok(out)
}

/// Questions of iApp's JSONL (`context`, `question`, `answers.{text,answer_start}`), one
/// question a line.
fn jsonl_questions(path: &Path, name: &str, text: &str) -> Result<Vec<Question>> {
    let mut out = Vec::new();
    let mut paragraphs: BTreeMap<String, usize> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let qa: serde_json::Value = serde_json::from_str(line).map_err(|e| Error::QueriesFile {
            path: path.join(name),
            line: n + 1,
            reason: e.to_string(),
        })?;
        let context = qa["context"].as_str().unwrap_or_default().to_string();
        let count = paragraphs.len();
        let paragraph = *paragraphs.entry(context.clone()).or_insert(count);
        out.push(Question {
            id: qa["question_id"]
                .as_str()
                .map_or_else(|| format!("{name}:{n}"), str::to_string),
            question: qa["question"].as_str().unwrap_or_default().to_string(),
            context,
            answer_start: qa["answers"]["answer_start"][0].as_u64().map(|s| s as usize),
            answer: qa["answers"]["text"][0].as_str().map(str::to_string),
            paragraph: format!("{name}:{paragraph}"),
        });
    }
    Ok(out)
}

/// The native QA sets under `dir` (`qa-native/`): each folder's SQuAD JSON files and
/// iApp's `data.zip`, with the folder's language (`ar-arcd` → ar, `zh-tw-drcd` → zh).
pub fn prepare_qa(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let mut prepared = Prepared::default();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let mut languages = std::collections::BTreeSet::new();
    for folder in folders {
        let name = folder.file_name().unwrap_or_default().to_string_lossy().to_string();
        let lang = primary(&name);
        if !options.wanted(&lang) {
            prepared.skipped.push((name, "excluded".into()));
            continue;
        }
        let mut questions = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|e| Error::io(&folder, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for file in files {
            let file_name = file.file_name().unwrap_or_default().to_string_lossy().to_string();
            if file_name.ends_with(".json") {
                questions.extend(squad_questions(&file)?);
            } else if file_name.ends_with(".zip") {
                for (member, text) in zip_members(&file, ".jsonl")? {
                    questions.extend(jsonl_questions(&file, &member, &text)?);
                }
            }
        }
        if questions.is_empty() {
            prepared.skipped.push((name, "no SQuAD JSON or JSONL zip".into()));
            continue;
        }
        languages.insert(lang.clone());
        // Paragraphs in order of first appearance: every valid_every-th is held out.
        let mut paragraph_number: BTreeMap<String, usize> = BTreeMap::new();
        for q in &questions {
            let count = paragraph_number.len();
            paragraph_number.entry(q.paragraph.clone()).or_insert(count);
        }
        for q in questions {
            let passage = answer_window(&q.context, q.answer_start, q.answer.as_deref(), passage_chars(&lang));
            if q.question.trim().is_empty() || passage.is_empty() {
                continue;
            }
            let n = paragraph_number[&q.paragraph];
            let record = Record {
                id: format!("qa:{name}:{}", q.id),
                lang: lang.clone(),
                query: q.question.trim().to_string(),
                passage,
                doc: Some(format!("qa:{name}:{}", q.paragraph)),
                article: None,
                source: None,
                cross_only: false,
            };
            prepared.push(record, held_out(n, options.valid_every));
        }
    }
    prepared.languages = languages.into_iter().collect();
    Ok(prepared)
}

#[cfg(test)]
mod tests {

    use super::super::test_util::*;
    use super::*;

    #[test]
    fn qa_records_pair_a_question_with_the_sentences_around_its_answer() {
        let dir = tempfile::tempdir().unwrap();
        let ar = dir.path().join("ar-test");
        std::fs::create_dir(&ar).unwrap();
        let filler = "Filler sentence number one is here. ".repeat(20);
        let context = format!("{filler}The mill was built in 1820. It still grinds wheat.");
        let start = context.find("1820").unwrap();
        let squad = serde_json::json!({"data": [{"paragraphs": [{"context": context, "qas": [
            {"id": "q1", "question": "When was the mill built?", "answers": [{"text": "1820", "answer_start": start}]},
            {"id": "q2", "question": "What does it grind?", "answers": [{"text": "wheat", "answer_start": context.find("wheat").unwrap()}]}
        ]}]}]});
        std::fs::write(ar.join("set.json"), squad.to_string()).unwrap();
        let th = dir.path().join("th-test");
        std::fs::create_dir(&th).unwrap();
        let line = serde_json::json!({"question_id": "t1", "context": "กรุงเทพเป็นเมืองหลวง", "question": "เมืองหลวงคืออะไร",
            "answers": {"text": ["กรุงเทพ"], "answer_start": [0]}});
        write_zip(&th.join("data.zip"), "data/train.jsonl", &format!("{line}\n"));
        let p = prepare_qa(dir.path(), &options()).unwrap();
        assert_eq!(p.languages, ["ar", "th"]);
        assert_eq!(p.train.len(), 3);
        let q1 = p.train.iter().find(|r| r.id == "qa:ar-test:q1").unwrap();
        assert!(q1.passage.contains("The mill was built in 1820."), "{}", q1.passage);
        assert!(q1.passage.chars().count() <= 400, "{}", q1.passage.len());
        let q2 = p.train.iter().find(|r| r.id == "qa:ar-test:q2").unwrap();
        assert_eq!(q1.doc, q2.doc, "one paragraph, one document");
        let t1 = p.train.iter().find(|r| r.lang == "th").unwrap();
        assert_eq!(t1.passage, "กรุงเทพเป็นเมืองหลวง");
    }
}
