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

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::data::{build, held_out, primary, PrepareOptions, Prepared, Record, Sentences};
use crate::error::{Error, Result};

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

/// One TMX translation unit: its id and its segment per language tag.
#[derive(Debug, Default, PartialEq)]
pub struct Unit {
    /// `tuid`.
    pub id: String,
    /// Segment text by `xml:lang`.
    pub segments: BTreeMap<String, String>,
}

/// The translation units of a TMX document (inline markup inside a segment is dropped,
/// its text kept; entities resolved).
pub fn read_tmx(path: &Path, xml: &str) -> Result<Vec<Unit>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let bad = |e: &dyn std::fmt::Display, at: u64| data_error(path, format!("TMX at byte {at}: {e}"));
    let mut units = Vec::new();
    let mut unit: Option<Unit> = None;
    let mut lang: Option<String> = None;
    let mut seg: Option<String> = None;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| bad(&e, at))?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                b"tu" => {
                    let id = e
                        .try_get_attribute("tuid")
                        .map_err(|e| bad(&e, at))?
                        .map(|a| a.unescape_value().map(|v| v.into_owned()))
                        .transpose()
                        .map_err(|e| bad(&e, at))?
                        .unwrap_or_else(|| units.len().to_string());
                    unit = Some(Unit {
                        id,
                        segments: BTreeMap::new(),
                    });
                }
                b"tuv" => {
                    let tag = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"lang")
                        .map(|a| a.unescape_value().map(|v| v.into_owned()))
                        .transpose()
                        .map_err(|e| bad(&e, at))?;
                    lang = tag;
                }
                b"seg" => seg = Some(String::new()),
                _ => {}
            },
            Event::Text(t) => {
                if let Some(s) = seg.as_mut() {
                    s.push_str(&t.decode().map_err(|e| bad(&e, at))?);
                }
            }
            Event::CData(t) => {
                if let Some(s) = seg.as_mut() {
                    s.push_str(&t.decode().map_err(|e| bad(&e, at))?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(s) = seg.as_mut() {
                    match r.resolve_char_ref().map_err(|e| bad(&e, at))? {
                        Some(c) => s.push(c),
                        None => {
                            let name = r.decode().map_err(|e| bad(&e, at))?;
                            let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                                .ok_or_else(|| bad(&format!("unknown entity &{name};"), at))?;
                            s.push_str(resolved);
                        }
                    }
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"seg" => {
                    if let (Some(u), Some(l), Some(s)) = (unit.as_mut(), lang.as_ref(), seg.take()) {
                        u.segments
                            .insert(l.clone(), s.split_whitespace().collect::<Vec<_>>().join(" "));
                    }
                }
                b"tuv" => lang = None,
                b"tu" => units.extend(unit.take()),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(units)
}

/// TICO-19: every `all.en-<lang>.tmx.zip` in `dir`.
pub fn prepare_tico(dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let mut prepared = Prepared::default();
    // Unit id → segment, per language; English from the first file that has it.
    let mut order: Vec<String> = Vec::new();
    let mut per_lang: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    let mut english: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (tag, path) in files_between(dir, "all.en-", ".tmx.zip")? {
        let code = primary(&tag);
        if !prepared.takes(&tag, &code, options, &mut seen) {
            continue;
        }
        let Some((_, xml)) = zip_members(&path, ".tmx")?.into_iter().next() else {
            return Err(data_error(&path, "no .tmx member"));
        };
        let units = read_tmx(&path, &xml)?;
        let mut segments = BTreeMap::new();
        for unit in units {
            let translation = unit.segments.iter().find(|(l, _)| primary(l) == code);
            let source = unit.segments.iter().find(|(l, _)| primary(l) == "en");
            if let (Some((_, t)), Some((_, en))) = (translation, source) {
                if !english.contains_key(&unit.id) {
                    order.push(unit.id.clone());
                    english.insert(unit.id.clone(), en.clone());
                }
                segments.insert(unit.id, t.clone());
            }
        }
        per_lang.push((code, segments));
    }
    if options.wanted("en") {
        per_lang.insert(0, ("en".into(), english));
    }
    // Units in document order: by document (the tuid's prefix), then segment number.
    let doc_and_number = |id: &str| -> (String, u64) {
        let (doc, n) = id.rsplit_once(':').unwrap_or((id, "0"));
        (doc.to_string(), n.parse().unwrap_or(0))
    };
    order.sort_by_key(|id| doc_and_number(id));
    let docs: Vec<String> = order.iter().map(|id| doc_and_number(id).0).collect();
    let all: Vec<Sentences> = per_lang
        .iter()
        .map(|(lang, segments)| Sentences {
            lang: lang.clone(),
            items: docs
                .iter()
                .map(String::as_str)
                .zip(order.iter().map(|id| segments.get(id).cloned().unwrap_or_default()))
                .collect(),
        })
        .collect();
    build(&mut prepared, "tico", &all, options.valid_every);
    Ok(prepared)
}

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
                source: None,
                cross_only: true,
            };
            prepared.push(record, valid);
        }
    }
    prepared.languages = lines_per_lang.iter().map(|(c, _, _)| c.clone()).collect();
    Ok(prepared)
}

/// One question of a QA set: its paragraph, and where its first answer starts (in chars).
struct Question {
    id: String,
    question: String,
    context: String,
    answer_start: Option<usize>,
    answer: Option<String>,
    /// The paragraph's id (the record's document).
    paragraph: String,
}

/// Characters of passage a QA record keeps around its answer: about the 128 tokens that
/// training encodes of a passage, for Arabic and Thai; Chinese and Japanese spend more per
/// character.
fn passage_chars(lang: &str) -> usize {
    if lang == "zh" || lang == "ja" {
        160
    } else {
        400
    }
}

/// The sentences of `context` around the answer (or from the start, without one), up to
/// `max_chars`: the answer's sentence, then the next ones, then the previous ones.
fn answer_window(context: &str, answer_start: Option<usize>, answer: Option<&str>, max_chars: usize) -> String {
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
fn squad_questions(path: &Path) -> Result<Vec<Question>> {
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
                source: None,
                cross_only: false,
            };
            prepared.push(record, held_out(n, options.valid_every));
        }
    }
    prepared.languages = languages.into_iter().collect();
    Ok(prepared)
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
                source: None,
                cross_only: false,
            };
            prepared.push(record, valid);
        }
    }
    prepared.languages = langs.iter().map(|l| l.to_string()).collect();
    Ok(prepared)
}

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
    use std::io::Write;

    use super::*;

    fn options() -> PrepareOptions {
        PrepareOptions {
            valid_every: 0,
            exclude: Vec::new(),
            only: Vec::new(),
        }
    }

    fn write_zip(path: &Path, member: &str, text: &str) {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(member, deflated).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        zip.finish().unwrap();
    }

    fn tmx(lang: &str, units: &[(&str, &str, &str)]) -> String {
        let mut xml =
            String::from(r#"<?xml version="1.0" encoding="UTF-8"?><tmx version="1.4"><header srclang="en"/><body>"#);
        for (id, en, other) in units {
            xml.push_str(&format!(
                "<tu tuid=\"{id}\"><prop type=\"note\">x</prop><tuv xml:lang=\"en\">\n<seg>{en}</seg></tuv><tuv xml:lang=\"{lang}\"><seg>{other}</seg></tuv></tu>\n"
            ));
        }
        xml + "</body></tmx>"
    }

    #[test]
    fn tmx_units_keep_their_text_with_entities_and_inline_markup() {
        let xml = tmx(
            "de",
            &[("D:1", "fever &amp; cough", "Fieber <ph>x</ph>und &#x48;usten")],
        );
        let units = read_tmx(Path::new("t.tmx"), &xml).unwrap();
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].id, "D:1");
        assert_eq!(units[0].segments["en"], "fever & cough");
        assert_eq!(units[0].segments["de"], "Fieber xund Husten");
        let broken = read_tmx(
            Path::new("t.tmx"),
            "<tmx><body><tu><tuv xml:lang=\"en\"><seg>a &bogus; b</seg>",
        );
        assert!(broken.unwrap_err().to_string().contains("t.tmx"));
    }

    #[test]
    fn tico_units_become_context_records_in_every_language() {
        let dir = tempfile::tempdir().unwrap();
        let units = [
            ("A:1", "one", "eins"),
            ("A:2", "two", "zwei"),
            ("A:3", "three", "drei"),
            ("B:1", "four", "vier"),
        ];
        write_zip(
            &dir.path().join("all.en-de.tmx.zip"),
            "all.en-de.tmx",
            &tmx("de", &units),
        );
        let es: Vec<(&str, &str, &str)> = units.iter().map(|(i, e, _)| (*i, *e, "uno")).collect();
        write_zip(
            &dir.path().join("all.en-es-LA.tmx.zip"),
            "all.en-es-LA.tmx",
            &tmx("es-LA", &es),
        );
        let p = prepare_tico(dir.path(), &options()).unwrap();
        assert_eq!(p.languages, ["en", "de", "es"]);
        // Document A (3 segments) gives a record per segment and language; B (1) none.
        assert_eq!(p.train.len(), 9);
        let de = p.train.iter().find(|r| r.lang == "de" && r.query == "zwei").unwrap();
        assert_eq!(de.passage, "eins drei");
        let en = p.train.iter().find(|r| r.lang == "en" && r.query == "two").unwrap();
        assert_eq!(en.id, de.id, "translations share a group");
        assert_eq!(en.doc.as_deref(), Some("tico:A"));
    }

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
