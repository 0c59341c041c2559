//! Readers of the other training sources, each into the records of `data`:
//!
//! - **TICO-19** (`all.en-<lang>.tmx.zip`: TMX 1.4 inside zip, English to 37 languages,
//!   medical / COVID): translation units grouped into documents by their `tuid` prefix
//!   (`CMU_1:17` is segment 17 of `CMU_1`), then the sentence-and-context records of
//!   NTREX and FLORES; one translation group per unit, so X-X and X-Y pairs.
//! - **MGSM** (`mgsm_<lang>.tsv`: `question<TAB>answer`, line-aligned in 11 languages): a
//!   question and its translations; the X-X pair would be a question and itself, so these
//!   records are marked cross-only and give X-Y pairs alone (query-side alignment).
//! - **Native QA** (SQuAD JSON: ARCD, CMRC 2018, DRCD; iApp's JSONL inside zip): a question
//!   and the sentences around its answer in the paragraph, in the question's language:
//!   X-X pairs (each question its own group). The paragraph is the record's document, so
//!   two questions about one paragraph never share a batch (each would be the other's
//!   false negative).
//!
//! - **Finnish SQuAD 2.0** (`squad2-fi/`: `paragraphs.jsonl.gz` with `context_fi` and its
//!   English back-translation `context_en`, `questions.jsonl.gz` with `question_fi` /
//!   `question_en`): a question in both languages with its paragraph in both, one group a
//!   question, so X-X pairs (fi→fi, en→en) and the cross-lingual question → paragraph pairs
//!   (fi → en, en → fi) the paper trained on. The paragraph is the record's document.
//! - **JaQuAD** (`jaquad/{train,dev}/*.json`, SQuAD JSON): Japanese question → the
//!   sentences around its answer, X-X pairs like the native QA sets.
//!
//! Validation: every `valid_every`-th document (TICO, QA) or question (MGSM) is held out;
//! for Finnish SQuAD every `valid_every`-th article (its paragraphs share topics and
//! names), and for JaQuAD its own dev split.

mod flores;
mod jaquad;
mod mgsm;
mod ntrex;
mod qa;
mod squad2_fi;
mod tico;

pub use flores::prepare_flores;
pub use jaquad::prepare_jaquad;
pub use mgsm::prepare_mgsm;
pub use ntrex::prepare_ntrex;
pub use qa::prepare_qa;
pub use squad2_fi::prepare_squad2_fi;
pub use tico::prepare_tico;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::analysis::two_letter;
use crate::error::{Error, Result};
use crate::train::data::{PrepareOptions, Prepared};

fn data_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The files in `dir` whose names start with `prefix` and end with `suffix`, sorted, with
/// the part between.
fn files_between(dir: &Path, prefix: &str, suffix: &str) -> Result<Vec<(String, PathBuf)>> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let tag = name.strip_prefix(prefix)?.strip_suffix(suffix)?.to_string();
            Some((tag, p))
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(data_error(dir, format!("no {prefix}*{suffix} files")));
    }
    Ok(found)
}

/// The members of the zip file `path` whose names end with `suffix`, sorted by name, with
/// their text.
fn zip_members(path: &Path, suffix: &str) -> Result<Vec<(String, String)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| data_error(path, format!("not a zip file: {e}")))?;
    let mut names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    let mut members = Vec::with_capacity(names.len());
    for name in names {
        let mut text = String::new();
        archive
            .by_name(&name)
            .map_err(|e| data_error(path, format!("{name}: {e}")))?
            .read_to_string(&mut text)
            .map_err(|e| data_error(path, format!("{name}: {e}")))?;
        members.push((name, text));
    }
    Ok(members)
}

/// The lines of a gzipped JSONL file, parsed; a bad line is an error naming it.
fn gz_jsonl(path: &Path) -> Result<Vec<serde_json::Value>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| data_error(path, format!("not gzipped UTF-8 text: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| Error::QueriesFile {
            path: path.to_path_buf(),
            line: n + 1,
            reason: e.to_string(),
        })?);
    }
    Ok(out)
}

/// The training sources, with their folders under the data root; `train prepare mix`
/// reads all of them unless `--sources` names some.
pub const SOURCES: [(&str, &str); 7] = [
    ("ntrex", "ntrex-128"),
    ("flores", "flores-sib200"),
    ("tico", "tico-19"),
    ("mgsm", "mgsm"),
    ("qa", "qa-native"),
    ("squad2-fi", "squad2-fi"),
    ("jaquad", "jaquad"),
];

/// Records of one source in a mix.
#[derive(Debug, Clone, Copy)]
pub struct SourceCount {
    /// The source.
    pub source: &'static str,
    /// Training records.
    pub train: usize,
    /// Validation records.
    pub valid: usize,
}

/// Reads one source from its folder.
pub fn prepare_source(source: &str, dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    match source {
        "ntrex" => prepare_ntrex(dir, options),
        "flores" => prepare_flores(dir, options),
        "tico" => prepare_tico(dir, options),
        "mgsm" => prepare_mgsm(dir, options),
        "qa" => prepare_qa(dir, options),
        "squad2-fi" => prepare_squad2_fi(dir, options),
        "jaquad" => prepare_jaquad(dir, options),
        other => Err(Error::InvalidSetting(format!("unknown training source {other:?}"))),
    }
}

/// Every source under `root` (its [`SOURCES`] folders; only `sources` when not empty) in
/// one set of records, each with
/// its `source`; each source keeps its own validation split (whole documents held out).
/// Returns the mix and the records of each source.
pub fn prepare_mix(root: &Path, options: &PrepareOptions, sources: &[String]) -> Result<(Prepared, Vec<SourceCount>)> {
    if let Some(unknown) = sources.iter().find(|s| !SOURCES.iter().any(|(name, _)| name == s)) {
        return Err(Error::InvalidSetting(format!(
            "unknown training source {unknown:?}: {}",
            SOURCES.map(|(name, _)| name).join(", ")
        )));
    }
    let mut mix = Prepared::default();
    let mut counts = Vec::new();
    let mut languages = std::collections::BTreeSet::new();
    let wanted = SOURCES
        .into_iter()
        .filter(|(name, _)| sources.is_empty() || sources.iter().any(|s| s == name));
    for (source, folder) in wanted {
        let dir = root.join(folder);
        let mut prepared = prepare_source(source, &dir, options)?;
        // One code per language across sources (`deu` and `de` → `de`).
        for r in prepared.train.iter_mut().chain(prepared.valid.iter_mut()) {
            r.source = Some(source.to_string());
            r.lang = two_letter(&r.lang);
        }
        prepared.languages = prepared.languages.iter().map(|l| two_letter(l)).collect();
        counts.push(SourceCount {
            source,
            train: prepared.train.len(),
            valid: prepared.valid.len(),
        });
        languages.extend(prepared.languages.iter().cloned());
        mix.train.append(&mut prepared.train);
        mix.valid.append(&mut prepared.valid);
        mix.skipped.extend(
            prepared
                .skipped
                .into_iter()
                .map(|(l, why)| (format!("{source} {l}"), why)),
        );
    }
    mix.languages = languages.into_iter().collect();
    Ok((mix, counts))
}

#[cfg(test)]
mod test_util {
    use std::io::Write;
    use std::path::Path;

    use crate::train::data::PrepareOptions;

    pub fn options() -> PrepareOptions {
        PrepareOptions {
            valid_every: 0,
            exclude: Vec::new(),
            only: Vec::new(),
        }
    }

    pub fn write_zip(path: &Path, member: &str, text: &str) {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(member, deflated).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        zip.finish().unwrap();
    }
}
