//! NTREX-128: news sentences line-aligned in 128 languages, each with its context.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::train::data::{build, primary, PrepareOptions, Prepared, Sentences};

/// NTREX-128: `NTREX-128/newstest2019-ref.<lang>.txt`, line-aligned, with the document of
/// each line in `DOCUMENT_IDS.tsv`. Regional variants (eng-GB/IN/US, fra-CA, …) and the
/// second Spanish reference are skipped: one text per language.
pub fn prepare_ntrex(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let ids_path = dir.join("DOCUMENT_IDS.tsv");
    let doc_ids: Vec<String> = std::fs::read_to_string(&ids_path)
        .map_err(|e| Error::io(&ids_path, e))?
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    let texts = dir.join("NTREX-128");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&texts)
        .map_err(|e| Error::io(&texts, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("newstest2019-ref.") && name.ends_with(".txt")
        })
        .collect();
    // Plain codes before regional variants (spa before spa-MX), so the variant skipped is
    // the regional one where both exist.
    let tag_of = |p: &std::path::PathBuf| {
        let name = p.file_name().unwrap_or_default().to_string_lossy().to_string();
        name.trim_start_matches("newstest2019-ref.")
            .trim_end_matches(".txt")
            .to_string()
    };
    files.sort_by_key(|p| (tag_of(p).contains('-'), tag_of(p)));
    let mut contents = Vec::new();
    let mut prepared = Prepared::default();
    let mut primaries = HashSet::new();
    for file in &files {
        let tag = tag_of(file);
        let primary = primary(&tag);
        if !prepared.takes(&tag, &primary, options, &mut primaries) {
            continue;
        }
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() != doc_ids.len() {
            prepared
                .skipped
                .push((tag, format!("{} lines, not {}", lines.len(), doc_ids.len())));
            continue;
        }
        contents.push((primary, lines));
    }
    let all: Vec<Sentences> = contents
        .iter()
        .map(|(lang, lines)| Sentences {
            lang: lang.clone(),
            items: doc_ids.iter().map(String::as_str).zip(lines.iter().cloned()).collect(),
        })
        .collect();
    build(&mut prepared, "ntrex", &all, options.valid_every);
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn ntrex_records_pair_a_sentence_with_its_context() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "DOCUMENT_IDS.tsv", "a\na\na\na\nb\nb\nc\nc\nc\n");
        write(
            d,
            "NTREX-128/newstest2019-ref.deu.txt",
            "d0\nd1\nd2\nd3\nd4\nd5\nd6\nd7\nd8\n",
        );
        write(
            d,
            "NTREX-128/newstest2019-ref.eng-GB.txt",
            "e0\ne1\ne2\ne3\ne4\ne5\ne6\ne7\ne8\n",
        );
        write(
            d,
            "NTREX-128/newstest2019-ref.eng-US.txt",
            "u0\nu1\nu2\nu3\nu4\nu5\nu6\nu7\nu8\n",
        );
        write(
            d,
            "NTREX-128/newstest2019-ref.ell.txt",
            "g0\ng1\ng2\ng3\ng4\ng5\ng6\ng7\ng8\n",
        );
        let options = PrepareOptions {
            valid_every: 2,
            exclude: vec!["ell".into()],
            only: Vec::new(),
        };
        let p = prepare_ntrex(d, &options).unwrap();
        assert_eq!(p.languages, ["deu", "eng"]);
        assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
        // Document a (4 sentences) trains; b has 2 (none); c (3) is the 2nd kept span... the
        // spans are a, b, c: b is held out (n = 1) but too short, c trains.
        let first = &p.train[0];
        assert_eq!(
            (first.lang.as_str(), first.query.as_str(), first.passage.as_str()),
            ("deu", "d0", "d1 d2")
        );
        let middle = p.train.iter().find(|r| r.query == "e2").unwrap();
        assert_eq!(middle.passage, "e1 e3");
        let last = p.train.iter().find(|r| r.query == "d3").unwrap();
        assert_eq!(last.passage, "d1 d2");
        assert_eq!(last.id, p.train.iter().find(|r| r.query == "e3").unwrap().id);
        assert_eq!(p.train.len(), 2 * (4 + 3));
        assert!(p.valid.is_empty());
    }
}
