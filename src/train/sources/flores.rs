//! FLORES-200 (SIB-200 train split): sentences aligned by id in 205 language variants.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::train::data::{build, primary, PrepareOptions, Prepared, Sentences};

/// FLORES-200 as in SIB-200: `<lang_Script>/train.tsv` with `index_id`, `category`, `text`,
/// rows aligned by `index_id`. FLORES keeps consecutive sentences of an article at
/// consecutive ids, so the document of a sentence is approximated by its category and the
/// run of consecutive ids it sits in.
pub fn prepare_flores(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let mut prepared = Prepared::default();
    let mut folders: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("train.tsv").exists())
        .collect();
    folders.sort();
    // Per language: index_id → (category, sentence).
    type Rows = BTreeMap<u64, (String, String)>;
    let mut per_lang: Vec<(String, Rows)> = Vec::new();
    for folder in folders {
        let tag = folder.file_name().unwrap_or_default().to_string_lossy().to_string();
        let primary = primary(&tag);
        if !options.wanted(&primary) {
            prepared.skipped.push((tag, "excluded".into()));
            continue;
        }
        let path = folder.join("train.tsv");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut rows = BTreeMap::new();
        for line in text.lines().skip(1) {
            let mut fields = line.splitn(3, '\t');
            if let (Some(id), Some(category), Some(sentence)) = (fields.next(), fields.next(), fields.next()) {
                if let Ok(id) = id.trim().parse::<u64>() {
                    rows.insert(id, (category.to_string(), sentence.trim().to_string()));
                }
            }
        }
        per_lang.push((primary, rows));
    }
    // Documents: runs of consecutive ids with one category (from the first language).
    let Some((_, first)) = per_lang.first() else {
        return Err(Error::Data {
            path: dir.to_path_buf(),
            reason: "no <lang>/train.tsv folders".into(),
        });
    };
    let mut doc_of: BTreeMap<u64, String> = BTreeMap::new();
    let mut previous: Option<(u64, String)> = None;
    let mut doc = 0;
    for (&id, (category, _)) in first {
        if previous.as_ref().is_none_or(|(p, c)| id != p + 1 || c != category) {
            doc += 1;
        }
        doc_of.insert(id, format!("{category}.{doc}"));
        previous = Some((id, category.clone()));
    }
    let doc_names: Vec<String> = doc_of.values().cloned().collect();
    let all: Vec<Sentences> = per_lang
        .iter()
        .filter(|(_, rows)| rows.keys().eq(doc_of.keys()))
        .map(|(lang, rows)| Sentences {
            lang: lang.clone(),
            items: doc_names
                .iter()
                .map(String::as_str)
                .zip(rows.values().map(|(_, s)| s.clone()))
                .collect(),
        })
        .collect();
    for (lang, rows) in &per_lang {
        if !rows.keys().eq(doc_of.keys()) {
            prepared
                .skipped
                .push((lang.clone(), "rows not aligned with the first language".into()));
        }
    }
    build(&mut prepared, "flores", &all, options.valid_every);
    Ok(prepared)
}
