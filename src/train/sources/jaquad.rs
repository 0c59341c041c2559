//! JaQuAD: native Japanese questions, trained on train/, validated on dev/.

use std::path::Path;

use super::qa::{answer_window, passage_chars, squad_questions};
use super::*;
use crate::error::Result;
use crate::train::data::{PrepareOptions, Prepared, Record};

/// JaQuAD (`jaquad/`): Japanese questions with the sentences around their answers; its
/// `train/` files train and its `dev/` files validate.
pub fn prepare_jaquad(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let mut prepared = Prepared::default();
    if !options.wanted("ja") {
        prepared.skipped.push(("ja".into(), "excluded".into()));
        return Ok(prepared);
    }
    for (split, valid) in [("train", false), ("dev", true)] {
        for (tag, file) in files_between(&dir.join(split), "jaquad_", ".json")? {
            for q in squad_questions(&file)? {
                let passage = answer_window(&q.context, q.answer_start, q.answer.as_deref(), passage_chars("ja"));
                if q.question.trim().is_empty() || passage.is_empty() {
                    continue;
                }
                let record = Record {
                    id: format!("jaquad:{}", q.id),
                    lang: "ja".into(),
                    query: q.question.trim().to_string(),
                    passage,
                    doc: Some(format!("jaquad:{tag}:{}", q.paragraph)),
                    article: None,
                    source: None,
                    cross_only: false,
                };
                prepared.push(record, valid);
            }
        }
    }
    prepared.languages = vec!["ja".into()];
    Ok(prepared)
}

#[cfg(test)]
mod tests {

    use super::super::test_util::*;
    use super::*;

    #[test]
    fn jaquad_trains_on_train_and_validates_on_dev() {
        let dir = tempfile::tempdir().unwrap();
        for split in ["train", "dev"] {
            std::fs::create_dir(dir.path().join(split)).unwrap();
            let context = "東大寺は奈良にある。大仏で知られる。";
            let squad = serde_json::json!({"data": [{"title": "東大寺", "paragraphs": [{"context": context, "qas": [
                {"id": format!("{split}-1"), "question": "東大寺はどこにある?", "answers": [{"text": "奈良", "answer_start": 4}]}
            ]}]}]});
            std::fs::write(
                dir.path().join(split).join(format!("jaquad_{split}_0000.json")),
                squad.to_string(),
            )
            .unwrap();
        }
        let p = prepare_jaquad(dir.path(), &options()).unwrap();
        assert_eq!(p.languages, ["ja"]);
        assert_eq!(p.train.len(), 1);
        assert_eq!(p.valid.len(), 1);
        assert_eq!(p.valid[0].id, "jaquad:dev-1");
        assert!(p.train[0].passage.contains("奈良"), "{}", p.train[0].passage);
    }
}
