//! TICO-19: translation units of TMX files in zips, grouped into documents.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::*;
use crate::error::Result;
use crate::train::data::{build, primary, PrepareOptions, Prepared, Sentences};

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

#[cfg(test)]
mod tests {

    use std::path::Path;

    use super::super::test_util::*;
    use super::*;

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
}
