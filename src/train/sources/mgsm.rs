//! MGSM: line-aligned questions in 11 languages, cross-only groups.

use std::collections::HashSet;
use std::path::Path;

use super::*;
use crate::error::{Error, Result};
use crate::train::data::{held_out, primary, PrepareOptions, Prepared, Record};

/// MGSM: every `mgsm_<lang>.tsv` in `dir` (line-aligned questions).
pub fn prepare_mgsm(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let mut prepared = Prepared::default();
    let mut lines_per_lang = Vec::new();
    let mut taken = HashSet::new();
    for (tag, path) in files_between(dir, "mgsm_", ".tsv")? {
        let code = primary(&tag);
        if !prepared.takes(&tag, &code, options, &mut taken) {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let questions: Vec<String> = text
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().trim().to_string())
            .collect();
        lines_per_lang.push((code, path, questions));
    }
    let Some(count) = lines_per_lang.first().map(|(_, _, q)| q.len()) else {
        return Ok(prepared);
    };
    for (code, path, questions) in &lines_per_lang {
        if questions.len() != count {
            return Err(data_error(
                path,
                format!("{} lines, not {count} like the others ({code})", questions.len()),
            ));
        }
    }
    for i in 0..count {
        let valid = held_out(i, options.valid_every);
        for (code, _, questions) in &lines_per_lang {
            if questions[i].is_empty() {
                continue;
            }
            let record = Record {
                id: format!("mgsm:{i}"),
                lang: code.clone(),
                query: questions[i].clone(),
                passage: questions[i].clone(),
                doc: None,
                article: None,
                source: None,
                cross_only: true,
            };
            prepared.push(record, valid);
        }
    }
    prepared.languages = lines_per_lang.iter().map(|(c, _, _)| c.clone()).collect();
    Ok(prepared)
}

#[cfg(test)]
mod tests {

    use super::super::test_util::*;
    use super::*;

    #[test]
    fn mgsm_questions_are_cross_only_groups() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mgsm_en.tsv"),
            "How many eggs?\t18\nHow many cats?\t3\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mgsm_de.tsv"),
            "Wie viele Eier?\t18\nWie viele Katzen?\t3\n",
        )
        .unwrap();
        let p = prepare_mgsm(dir.path(), &options()).unwrap();
        assert_eq!(p.train.len(), 4);
        assert!(p.train.iter().all(|r| r.cross_only));
        let ids: HashSet<&str> = p.train.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 2);
        std::fs::write(dir.path().join("mgsm_fr.tsv"), "Combien ?\t18\n").unwrap();
        assert!(prepare_mgsm(dir.path(), &options())
            .unwrap_err()
            .to_string()
            .contains("mgsm_fr.tsv"));
    }
}
