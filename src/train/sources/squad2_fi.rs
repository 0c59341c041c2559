//! Finnish SQuAD 2.0 with its English back-translation: cross-lingual question → paragraph pairs.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::error::Result;
use crate::train::data::{held_out, PrepareOptions, Prepared, Record};

/// Finnish SQuAD 2.0 with its English back-translation (`squad2-fi/`): every question in
/// Finnish and English, each with its paragraph in its language, one group a question;
/// the validation split is taken by article.
pub fn prepare_squad2_fi(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let paragraphs_path = dir.join("paragraphs.jsonl.gz");
    let questions_path = dir.join("questions.jsonl.gz");
    let text = |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or_default().trim().to_string();
    // para_key → (article, Finnish context, English context)
    let mut paragraphs: BTreeMap<String, (u64, String, String)> = BTreeMap::new();
    for p in gz_jsonl(&paragraphs_path)? {
        let article = p["article"]
            .as_u64()
            .ok_or_else(|| data_error(&paragraphs_path, "a paragraph without its article number"))?;
        paragraphs.insert(
            text(&p, "para_key"),
            (article, text(&p, "context_fi"), text(&p, "context_en")),
        );
    }
    let mut prepared = Prepared::default();
    let langs: Vec<&str> = ["fi", "en"].into_iter().filter(|l| options.wanted(l)).collect();
    for q in gz_jsonl(&questions_path)? {
        let para_key = text(&q, "para_key");
        let Some((article, context_fi, context_en)) = paragraphs.get(&para_key) else {
            return Err(data_error(
                &questions_path,
                format!(
                    "question {} names paragraph {para_key:?}, not in paragraphs.jsonl.gz",
                    text(&q, "key")
                ),
            ));
        };
        let valid = held_out(*article as usize, options.valid_every);
        for &lang in &langs {
            let (question, passage) = match lang {
                "fi" => (text(&q, "question_fi"), context_fi),
                _ => (text(&q, "question_en"), context_en),
            };
            if question.is_empty() || passage.is_empty() {
                continue;
            }
            let record = Record {
                id: format!("squad2-fi:{}", text(&q, "key")),
                lang: lang.to_string(),
                query: question,
                passage: passage.clone(),
                doc: Some(format!("squad2-fi:{para_key}:{lang}")),
                article: Some(format!("squad2-fi:{article}")),
                source: None,
                cross_only: false,
            };
            prepared.push(record, valid);
        }
    }
    prepared.languages = langs.iter().map(|l| l.to_string()).collect();
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use super::*;

    fn write_gz(path: &Path, lines: &[serde_json::Value]) {
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
        for l in lines {
            writeln!(enc, "{l}").unwrap();
        }
        enc.finish().unwrap();
    }

    #[test]
    fn squad2_fi_gives_each_question_in_both_languages_and_holds_out_whole_articles() {
        let dir = tempfile::tempdir().unwrap();
        let paragraphs: Vec<serde_json::Value> = (0..4)
            .map(|a| {
                serde_json::json!({"para_key": format!("d{a}-p0"), "article": a, "paragraph": 0,
                    "context_fi": format!("Mylly {a} rakennettiin vuonna 1820."), "context_en": format!("Mill {a} was built in 1820.")})
            })
            .collect();
        write_gz(&dir.path().join("paragraphs.jsonl.gz"), &paragraphs);
        let questions: Vec<serde_json::Value> = (0..4)
            .flat_map(|a| {
                (0..2).map(move |q| {
                    serde_json::json!({"key": format!("d{a}-p0-q{q}"), "para_key": format!("d{a}-p0"),
                        "question_fi": format!("Milloin mylly {a} rakennettiin? {q}"), "question_en": format!("When was mill {a} built? {q}")})
                })
            })
            .collect();
        write_gz(&dir.path().join("questions.jsonl.gz"), &questions);
        let options = PrepareOptions {
            valid_every: 2,
            exclude: Vec::new(),
            only: Vec::new(),
        };
        let p = prepare_squad2_fi(dir.path(), &options).unwrap();
        assert_eq!(p.languages, ["fi", "en"]);
        assert_eq!(
            (p.train.len(), p.valid.len()),
            (8, 8),
            "articles 1 and 3 held out, two languages each"
        );
        assert!(p.valid.iter().all(|r| r.id.contains("d1-") || r.id.contains("d3-")));
        let group: Vec<&Record> = p.train.iter().filter(|r| r.id == "squad2-fi:d0-p0-q1").collect();
        assert_eq!(group.len(), 2, "one group, both languages: X-X and X-Y pairs");
        let fi = group.iter().find(|r| r.lang == "fi").unwrap();
        let en = group.iter().find(|r| r.lang == "en").unwrap();
        assert_eq!(fi.passage, "Mylly 0 rakennettiin vuonna 1820.");
        assert_eq!(en.query, "When was mill 0 built? 1");
        assert_ne!(fi.doc, en.doc);
        // A question naming a missing paragraph is an error naming the file.
        write_gz(
            &dir.path().join("questions.jsonl.gz"),
            &[serde_json::json!({"key": "x", "para_key": "nope", "question_fi": "a", "question_en": "b"})],
        );
        let err = prepare_squad2_fi(dir.path(), &options).unwrap_err().to_string();
        assert!(err.contains("questions.jsonl.gz") && err.contains("nope"), "{err}");
    }
}
