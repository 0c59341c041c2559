//! Languages: the table of languages mlsearch knows (ISO 639-1 codes, their Snowball
//! stemmer, their script normaliser) and passage / query language detection.
//!
//! Passage detection uses `whatlang` (69 languages, trigram profiles, microseconds a call),
//! plus two things it lacks: scripts that name their language outright (Lao) and
//! function-word profiles for Swahili and Yoruba, two MIRACL languages that `whatlang` does
//! not know. Queries, a few words long, are identified among given languages by the
//! character n-gram model of [`crate::analysis::ngrams`].

use rust_stemmers::Algorithm;
use unicode_normalization::UnicodeNormalization;

use crate::analysis::ngrams;

/// Script-specific normalisation applied to every token before stemming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalizer {
    /// NFKC and lowercasing only (applied to every language).
    Plain,
    /// Arabic: drop tatweel and harakat, fold alef/hamza forms, teh marbuta, alef maksura.
    Arabic,
    /// Persian and Urdu: Arabic folding plus Persian yeh/keheh/heh forms; ZWNJ splits words.
    Persian,
    /// Devanagari (Hindi, Marathi, Nepali): drop nukta, chandrabindu to anusvara, ZWJ/ZWNJ.
    Devanagari,
    /// Greek: strip accents, final sigma to sigma.
    Greek,
    /// Turkish and Azerbaijani: dotted and dotless i lowercase correctly.
    Turkic,
    /// Korean: Hangul words are indexed as syllable bigrams (particles stay attached to
    /// words under Unicode word rules; bigrams let "서울" match "서울에서").
    Hangul,
}

/// Stemming applied after normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stemming {
    /// No stemmer for this language.
    None,
    /// A Snowball stemmer (rust-stemmers).
    Snowball(Algorithm),
    /// The light Hindi stemmer of Ramanathan & Rao (2003): longest inflectional suffix.
    HindiLight,
    /// Keep the first N characters: for agglutinative languages, where a fixed prefix
    /// matches retrieval quality of morphological stemmers (Can et al. 2008, Turkish "F5").
    Prefix(usize),
}

/// One language mlsearch analyses on its own terms.
#[derive(Debug, Clone, Copy)]
pub struct Language {
    /// ISO 639-1 code (the value of the `lang` field and of `--lang`).
    pub code: &'static str,
    /// English name, for messages.
    pub name: &'static str,
    /// Token normalisation.
    pub normalizer: Normalizer,
    /// Stemming.
    pub stemming: Stemming,
}

const fn lang(code: &'static str, name: &'static str, normalizer: Normalizer, stemming: Stemming) -> Language {
    Language {
        code,
        name,
        normalizer,
        stemming,
    }
}

use Normalizer as N;
use Stemming as S;

/// The code used for text whose language is unknown.
pub const UNDETERMINED: &str = "und";

/// Every language with its own analyzer and its own BM25 field. Others share `und`.
pub static LANGUAGES: &[Language] = &[
    lang("af", "Afrikaans", N::Plain, S::None),
    lang("ak", "Akan", N::Plain, S::None),
    lang("am", "Amharic", N::Plain, S::None),
    lang("ar", "Arabic", N::Arabic, S::Snowball(Algorithm::Arabic)),
    lang("az", "Azerbaijani", N::Turkic, S::None),
    lang("be", "Belarusian", N::Plain, S::None),
    lang("bg", "Bulgarian", N::Plain, S::None),
    lang("bn", "Bengali", N::Plain, S::None),
    lang("ca", "Catalan", N::Plain, S::None),
    lang("cs", "Czech", N::Plain, S::None),
    lang("cy", "Welsh", N::Plain, S::None),
    lang("da", "Danish", N::Plain, S::Snowball(Algorithm::Danish)),
    lang("de", "German", N::Plain, S::Snowball(Algorithm::German)),
    lang("el", "Greek", N::Greek, S::Snowball(Algorithm::Greek)),
    lang("en", "English", N::Plain, S::Snowball(Algorithm::English)),
    lang("eo", "Esperanto", N::Plain, S::None),
    lang("es", "Spanish", N::Plain, S::Snowball(Algorithm::Spanish)),
    lang("et", "Estonian", N::Plain, S::None),
    lang("fa", "Persian", N::Persian, S::None),
    lang("fi", "Finnish", N::Plain, S::Snowball(Algorithm::Finnish)),
    lang("fr", "French", N::Plain, S::Snowball(Algorithm::French)),
    lang("gu", "Gujarati", N::Plain, S::None),
    lang("he", "Hebrew", N::Plain, S::None),
    lang("hi", "Hindi", N::Devanagari, S::HindiLight),
    lang("hr", "Croatian", N::Plain, S::None),
    lang("hu", "Hungarian", N::Plain, S::Snowball(Algorithm::Hungarian)),
    lang("hy", "Armenian", N::Plain, S::None),
    lang("id", "Indonesian", N::Plain, S::None),
    lang("it", "Italian", N::Plain, S::Snowball(Algorithm::Italian)),
    lang("ja", "Japanese", N::Plain, S::None),
    lang("jv", "Javanese", N::Plain, S::None),
    lang("ka", "Georgian", N::Plain, S::None),
    lang("km", "Khmer", N::Plain, S::None),
    lang("kn", "Kannada", N::Plain, S::None),
    lang("ko", "Korean", N::Hangul, S::None),
    lang("la", "Latin", N::Plain, S::None),
    lang("lo", "Lao", N::Plain, S::None),
    lang("lt", "Lithuanian", N::Plain, S::None),
    lang("lv", "Latvian", N::Plain, S::None),
    lang("mk", "Macedonian", N::Plain, S::None),
    lang("ml", "Malayalam", N::Plain, S::None),
    lang("mr", "Marathi", N::Devanagari, S::None),
    lang("my", "Burmese", N::Plain, S::None),
    lang("nb", "Norwegian Bokmål", N::Plain, S::Snowball(Algorithm::Norwegian)),
    lang("ne", "Nepali", N::Devanagari, S::None),
    lang("nl", "Dutch", N::Plain, S::Snowball(Algorithm::Dutch)),
    lang("or", "Odia", N::Plain, S::None),
    lang("pa", "Punjabi", N::Plain, S::None),
    lang("pl", "Polish", N::Plain, S::None),
    lang("pt", "Portuguese", N::Plain, S::Snowball(Algorithm::Portuguese)),
    lang("ro", "Romanian", N::Plain, S::Snowball(Algorithm::Romanian)),
    lang("ru", "Russian", N::Plain, S::Snowball(Algorithm::Russian)),
    lang("si", "Sinhala", N::Plain, S::None),
    lang("sk", "Slovak", N::Plain, S::None),
    lang("sl", "Slovenian", N::Plain, S::None),
    lang("sn", "Shona", N::Plain, S::None),
    lang("sr", "Serbian", N::Plain, S::None),
    lang("sv", "Swedish", N::Plain, S::Snowball(Algorithm::Swedish)),
    lang("sw", "Swahili", N::Plain, S::None),
    lang("ta", "Tamil", N::Plain, S::Snowball(Algorithm::Tamil)),
    lang("te", "Telugu", N::Plain, S::None),
    lang("th", "Thai", N::Plain, S::None),
    lang("tk", "Turkmen", N::Plain, S::None),
    lang("tl", "Tagalog", N::Plain, S::None),
    lang("tr", "Turkish", N::Turkic, S::Prefix(5)),
    lang("uk", "Ukrainian", N::Plain, S::None),
    lang("ur", "Urdu", N::Persian, S::None),
    lang("uz", "Uzbek", N::Plain, S::None),
    lang("vi", "Vietnamese", N::Plain, S::None),
    lang("yi", "Yiddish", N::Plain, S::None),
    lang("yo", "Yoruba", N::Plain, S::None),
    lang("zh", "Chinese", N::Plain, S::None),
    lang("zu", "Zulu", N::Plain, S::None),
    lang(UNDETERMINED, "undetermined", N::Plain, S::None),
];

/// The analysis settings of a language code; unknown codes get the `und` settings.
pub fn language(code: &str) -> &'static Language {
    LANGUAGES
        .iter()
        .find(|l| l.code == code)
        .unwrap_or_else(|| LANGUAGES.last().expect("the table ends with und"))
}

/// Whether `code` has its own entry in [`LANGUAGES`].
pub fn is_known(code: &str) -> bool {
    code != UNDETERMINED && LANGUAGES.iter().any(|l| l.code == code)
}

/// Normalises a user-given language tag: lower case, region dropped (`pt-BR` → `pt`),
/// `no` → `nb`. Returns `None` if it does not look like a language tag.
pub fn normalize_tag(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    let ok = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase());
    if !ok {
        return None;
    }
    Some(match primary.as_str() {
        "no" | "nob" => "nb".to_string(),
        "zho" | "chi" | "cmn" => "zh".to_string(),
        _ => primary,
    })
}

/// The outcome of language detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// ISO 639-1 code, or `und`.
    pub code: &'static str,
    /// Whether the detector is confident (long enough text, clear winner).
    pub reliable: bool,
}

/// Detects the language of `text`.
pub fn detect(text: &str) -> Detection {
    if let std::borrow::Cow::Owned(native) = native_text(text) {
        return detect(&native);
    }
    if let Some(code) = script_language(text) {
        return Detection { code, reliable: true };
    }
    let info = whatlang::detect(text);
    let from_whatlang = info.as_ref().map(|i| (iso639_1(i.lang()), i.is_reliable(), i.script()));
    // Swahili and Yoruba are written in Latin script; whatlang calls them Zulu or Shona.
    if matches!(from_whatlang, None | Some((_, _, whatlang::Script::Latin))) {
        if let Some(code) = function_word_language(text) {
            return Detection { code, reliable: true };
        }
    }
    match from_whatlang {
        Some((code, reliable, _)) => Detection { code, reliable },
        None => Detection {
            code: UNDETERMINED,
            reliable: false,
        },
    }
}

/// `text` without its Latin letters when other scripts have a real share (15%) of its
/// letters: names and terms in Latin script inside Greek, Thai, Russian or Chinese text can
/// outnumber the native letters (or each of Japanese's three scripts) and make a trigram
/// detector call the text English or French; the other script decides. Latin
/// look-alikes typed inside Cyrillic words are first folded into Cyrillic (and the other
/// way round), so they count as the word's script ([`ngrams::fold_lookalikes_in`]).
fn native_text(text: &str) -> std::borrow::Cow<'_, str> {
    let text = ngrams::fold_lookalikes_in(text);
    let (latin, other) = text
        .chars()
        .filter(|c| c.is_alphabetic())
        .fold(
            (0usize, 0usize),
            |(l, o), c| if is_latin(c) { (l + 1, o) } else { (l, o + 1) },
        );
    if latin > 0 && other * 100 >= (latin + other) * 15 {
        // Latin letters out, not whole words: Chinese and Japanese run names into their own
        // characters ("Python教程", "これはGoogleの").
        let native: String = text.chars().filter(|c| !is_latin(*c)).collect();
        return std::borrow::Cow::Owned(native.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    text
}

/// The languages of `among` that can be written in the script of `text` (its dominant
/// script, Latin-script names inside another script left out), in the order of `among`;
/// `None` when the text has no letters. Han admits Chinese and Japanese, Han with kana and
/// kana Japanese, Latin also the languages `whatlang` lacks (Swahili, Yoruba), Lao Lao.
pub fn script_languages<'a>(text: &str, among: &[&'a str]) -> Option<Vec<&'a str>> {
    let native = native_text(text);
    let codes: Vec<&'static str> = if script_language(&native) == Some("lo") {
        vec!["lo"]
    } else {
        let script = whatlang::detect_script(&native)?;
        let mut codes: Vec<&'static str> = script.langs().iter().map(|l| iso639_1(*l)).collect();
        match script {
            whatlang::Script::Latin => codes.extend(PROFILES.iter().map(|p| p.code)),
            // Han with kana is Japanese: no other language writes kana.
            whatlang::Script::Mandarin if writes_kana(&native) => codes = vec!["ja"],
            whatlang::Script::Mandarin => codes.push("ja"),
            _ => {}
        }
        codes
    };
    Some(among.iter().copied().filter(|c| codes.contains(c)).collect())
}

/// The language of `text` among `among`, with a confidence (0 to 1): among the languages
/// of `among` written in the text's script, the only one (confidence 1), else the
/// character n-gram model ([`crate::analysis::ngrams`]) when it knows all of them (it
/// lacks only Latin), else `whatlang`'s trigram and alphabet models with its confidence.
/// `None` when no language of `among` fits the text's script, or the text has no letters.
///
/// Texts here are queries, a few words long, for which `whatlang` is weak among close
/// relatives (docs/query-language.md).
pub fn detect_among(text: &str, among: &[&str]) -> Option<(&'static str, f32)> {
    let native = native_text(text);
    let native = native.as_ref();
    let fitting = script_languages(native, among)?;
    match fitting.as_slice() {
        [] => return None,
        [only] => return Some((language(only).code, 1.0)),
        _ if fitting.iter().all(|c| ngrams::knows(c)) => return ngrams::identify_among(native, &fitting),
        _ => {}
    }
    let allow: Vec<whatlang::Lang> = whatlang::Lang::all()
        .iter()
        .copied()
        .filter(|l| fitting.contains(&iso639_1(*l)))
        .collect();
    let info = whatlang::Detector::with_allowlist(allow).detect(native)?;
    Some((iso639_1(info.lang()), info.confidence() as f32))
}

/// Latin letters, IPA and the Latin extensions included (Azerbaijani ə, Akan ɛ and ɔ):
/// the ranges `whatlang` counts as Latin, and the modifier letters Latin orthographies
/// write inside words (Uzbek ʻ in "oʻzbek").
fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || matches!(c,
            '\u{00C0}'..='\u{02FF}'
            | '\u{1D00}'..='\u{1DBF}'
            | '\u{1E00}'..='\u{1EFF}'
            | '\u{2C60}'..='\u{2C7F}'
            | '\u{A720}'..='\u{A7FF}'
            | '\u{AB30}'..='\u{AB6F}')
}

/// Whether a text in Han characters also writes kana, a tenth of its letters or more (a
/// Japanese title can be nearly all kanji: "Googleの日本法人" has one kana in five).
fn writes_kana(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic());
    let (all, kana) = letters.fold((0usize, 0usize), |(all, kana), c| {
        (
            all + 1,
            kana + usize::from(matches!(c, '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}')),
        )
    });
    kana > 0 && kana * 10 >= all
}

/// Scripts `whatlang` does not know but which belong to one language.
fn script_language(text: &str) -> Option<&'static str> {
    let mut letters = 0usize;
    let mut lao = 0usize;
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if ('\u{0E80}'..='\u{0EFF}').contains(&c) {
            lao += 1;
        }
    }
    (letters > 0 && lao * 2 > letters).then_some("lo")
}

/// Function-word profiles of Latin-script languages `whatlang` lacks: `distinctive` words
/// are frequent in the language and rare elsewhere, `common` ones are frequent but short
/// and shared with other languages. A language is chosen when its text has at least two
/// distinctive words and at least a quarter of its words are in either list.
struct Profile {
    code: &'static str,
    distinctive: &'static [&'static str],
    common: &'static [&'static str],
}

const PROFILES: &[Profile] = &[
    Profile {
        code: "sw",
        distinctive: &[
            "katika", "kwa", "kuwa", "hii", "cha", "vya", "kama", "lakini", "pia", "hiyo", "huo", "yake", "wake",
            "ambayo", "ambao", "kutoka", "hadi", "baada", "kabla", "nini", "gani", "wapi", "nchini", "zaidi", "moja",
            "mji", "kwenye", "ili", "chini", "juu", "kila", "bila", "hata", "yetu", "chetu", "wetu", "zetu", "yao",
            "wao", "hao", "huu", "hizi", "hapa", "siku", "leo", "jana", "kesho", "ngapi", "mimi", "wewe", "yeye",
            "sisi", "ninyi", "kuna", "kwamba", "mtu", "watu", "nyingi", "mingi", "kubwa", "ndogo", "sana", "mwaka",
            "saa",
        ],
        common: &["na", "ya", "wa", "za", "ni", "la"],
    },
    Profile {
        code: "yo",
        distinctive: &[
            "àti", "wọ́n", "jẹ́", "ṣe", "fún", "nínú", "láti", "rẹ̀", "èyí", "ìlú", "ọdún", "ní", "sí", "kò", "pé", "tí",
            "kí", "bí", "lọ", "ẹ", "ọ",
        ],
        common: &["ti", "ó", "a", "mo", "wọn", "ń"],
    },
];

fn function_word_language(text: &str) -> Option<&'static str> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && !('\u{0300}'..='\u{036F}').contains(&c))
        .filter(|w| !w.is_empty())
        .map(|w| w.nfc().collect::<String>().to_lowercase())
        .collect();
    if words.is_empty() {
        return None;
    }
    let mut best: Option<(&'static str, usize)> = None;
    for profile in PROFILES {
        let distinctive = words
            .iter()
            .filter(|w| profile.distinctive.contains(&w.as_str()))
            .count();
        let common = words.iter().filter(|w| profile.common.contains(&w.as_str())).count();
        let score = distinctive + common;
        if distinctive >= 2 && score * 4 >= words.len() && best.is_none_or(|(_, s)| score > s) {
            best = Some((profile.code, score));
        }
    }
    best.map(|(code, _)| code)
}

/// The ISO 639-1 code of an ISO 639-3 code where detection knows the language (`deu` →
/// `de`, `arb` → `ar`), else the code as given (normalised, see [`normalize_tag`]).
pub fn two_letter(code: &str) -> String {
    let code = normalize_tag(code).unwrap_or_else(|| code.to_ascii_lowercase());
    let macro_code = match code.as_str() {
        "arb" => "ara",
        "swh" => "swa",
        "pes" => "fas",
        "npi" => "nep",
        "zsm" => "msa",
        other => other,
    };
    match whatlang::Lang::from_code(macro_code) {
        Some(lang) if code.len() == 3 => iso639_1(lang).to_string(),
        _ => code,
    }
}

/// Maps `whatlang`'s ISO 639-3 languages to our ISO 639-1 codes.
fn iso639_1(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang::*;
    match lang {
        Epo => "eo",
        Eng => "en",
        Rus => "ru",
        Cmn => "zh",
        Spa => "es",
        Por => "pt",
        Ita => "it",
        Ben => "bn",
        Fra => "fr",
        Deu => "de",
        Ukr => "uk",
        Kat => "ka",
        Ara => "ar",
        Hin => "hi",
        Jpn => "ja",
        Heb => "he",
        Yid => "yi",
        Pol => "pl",
        Amh => "am",
        Jav => "jv",
        Kor => "ko",
        Nob => "nb",
        Dan => "da",
        Swe => "sv",
        Fin => "fi",
        Tur => "tr",
        Nld => "nl",
        Hun => "hu",
        Ces => "cs",
        Ell => "el",
        Bul => "bg",
        Bel => "be",
        Mar => "mr",
        Kan => "kn",
        Ron => "ro",
        Slv => "sl",
        Hrv => "hr",
        Srp => "sr",
        Mkd => "mk",
        Lit => "lt",
        Lav => "lv",
        Est => "et",
        Tam => "ta",
        Vie => "vi",
        Urd => "ur",
        Tha => "th",
        Guj => "gu",
        Uzb => "uz",
        Pan => "pa",
        Aze => "az",
        Ind => "id",
        Tel => "te",
        Pes => "fa",
        Mal => "ml",
        Ori => "or",
        Mya => "my",
        Nep => "ne",
        Sin => "si",
        Khm => "km",
        Tuk => "tk",
        Aka => "ak",
        Zul => "zu",
        Sna => "sn",
        Afr => "af",
        Lat => "la",
        Slk => "sk",
        Cat => "ca",
        Tgl => "tl",
        Hye => "hy",
        Cym => "cy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_whatlang_language_maps_into_the_table() {
        for l in whatlang::Lang::all() {
            assert!(is_known(iso639_1(*l)), "{l:?} maps to an unknown code");
        }
    }

    #[test]
    fn detects_languages_whatlang_lacks() {
        let sw = "Mji mkuu wa Kenya ni Nairobi, na ni mji mkubwa zaidi katika nchi hiyo.";
        assert_eq!(detect(sw).code, "sw");
        assert_eq!(detect("ນະຄອນຫຼວງວຽງຈັນ ແມ່ນນະຄອນຫຼວງຂອງລາວ").code, "lo");
        assert_eq!(
            detect("The capital of Kenya is Nairobi, the largest city in the country.").code,
            "en"
        );
    }

    #[test]
    fn latin_names_do_not_outvote_the_native_script() {
        let el = "Το NBA (Los Angeles Lakers, Los Angeles Clippers), το MLB (Los Angeles Dodgers, San Diego Padres) και το NHL (Los Angeles Kings, Anaheim Ducks) έχουν ομάδες εδώ.";
        assert_eq!(detect(el).code, "el");
    }

    #[test]
    fn the_script_narrows_the_candidates() {
        let index = ["ar", "de", "el", "en", "hi", "ja", "ru", "zh"];
        assert_eq!(script_languages("कितने अंक?", &index), Some(vec!["hi"]));
        assert_eq!(script_languages("Πόσους πόντους;", &index), Some(vec!["el"]));
        assert_eq!(script_languages("北京在哪里", &index), Some(vec!["ja", "zh"]));
        assert_eq!(script_languages("How many points?", &index), Some(vec!["de", "en"]));
        assert_eq!(script_languages("Сколько очков?", &["en", "de"]), Some(vec![]));
        assert_eq!(script_languages("2019 ?", &index), None);
        // Latin-script names inside Greek do not make it Latin.
        assert_eq!(
            script_languages("Πού παίζουν οι Los Angeles Lakers;", &index),
            Some(vec!["el"])
        );

        // Names run into Chinese or Japanese text leave the native characters.
        assert_eq!(script_languages("Python教程", &index), Some(vec!["ja", "zh"]));
        assert_eq!(script_languages("これはGoogleの技術", &index), Some(vec!["ja"]));
        // Kanji with a little kana is Japanese, not Chinese.
        assert_eq!(script_languages("Googleの日本法人", &index), Some(vec!["ja"]));
        assert_eq!(script_languages("东京是日本的首都", &index), Some(vec!["ja", "zh"]));
        // Azerbaijani's ə and Akan's ɛ / ɔ (IPA letters) are Latin: the text stays Latin.
        let latin = ["az", "en", "ru", "tr"];
        assert_eq!(
            script_languages("Çin və ABŞ mütəxəssisləri", &latin),
            Some(vec!["az", "en", "tr"])
        );
        assert_eq!(script_languages("gʻoʻza", &latin), Some(vec!["az", "en", "tr"]));
        assert_eq!(
            detect_among("Keçən çərşənbə axşamı ABŞ", &latin).map(|d| d.0),
            Some("az")
        );
        // Cyrillic typed with Latin look-alikes (a, e, j, o) is Cyrillic.
        assert_eq!(
            script_languages("Бajдeн je рeкao дa ћe", &["en", "ru", "sr"]),
            Some(vec!["ru", "sr"])
        );
    }

    #[test]
    fn detection_among_candidates_never_leaves_them() {
        // Unrestricted, a short English question is not reliably English; among German and
        // English it is English.
        let (code, confidence) = detect_among("How many points did the defense give up?", &["de", "en"]).unwrap();
        assert_eq!(code, "en");
        assert!(confidence > 0.0 && confidence <= 1.0);
        assert_eq!(
            detect_among("Wie viele Punkte gab die Abwehr ab?", &["de", "en"])
                .unwrap()
                .0,
            "de"
        );
        assert!(detect_among("How many points?", &["ru", "zh"]).is_none());
        assert_eq!(
            detect_among("Mji mkuu wa Kenya ni nini na uko wapi?", &["en", "sw"])
                .unwrap()
                .0,
            "sw"
        );
        // Four words among the languages whatlang mixes Swahili up with.
        assert_eq!(
            detect_among("Safari ya treni kwa usiku", &["en", "sn", "sw", "zu"]).map(|d| d.0),
            Some("sw")
        );
        // Yoruba, which whatlang takes for Vietnamese.
        assert_eq!(
            detect_among("Gómìnà ìpínlẹ̀ Èkó ṣèbẹ̀wò", &["en", "vi", "yo"]).map(|d| d.0),
            Some("yo")
        );
        assert_eq!(
            detect_among("Thủ tướng đã đến thăm", &["en", "vi", "yo"]).map(|d| d.0),
            Some("vi")
        );
    }

    #[test]
    fn tags_are_normalised() {
        assert_eq!(normalize_tag("pt-BR").as_deref(), Some("pt"));
        assert_eq!(normalize_tag("NO").as_deref(), Some("nb"));
        assert_eq!(normalize_tag("english"), None);
        assert_eq!(language("xx").code, UNDETERMINED);
    }
}
