//! Token normalisation per script, in the spirit of Lucene's Arabic, Persian, Hindi,
//! Greek and Turkish filters, and the light Hindi stemmer of Ramanathan & Rao (2003).
//!
//! Every function takes one token already split off by the word segmenter and returns
//! its normalised form; none of them changes token boundaries.

use unicode_normalization::UnicodeNormalization;

use super::lang::Normalizer;

/// NFKC, language-aware lowercasing and script folding of one token.
pub fn normalize_token(token: &str, normalizer: Normalizer) -> String {
    let nfkc: String = token.nfkc().collect();
    match normalizer {
        Normalizer::Turkic => turkic_lowercase(&nfkc),
        Normalizer::Arabic => fold_arabic(&nfkc.to_lowercase()),
        Normalizer::Persian => fold_persian(&fold_arabic(&nfkc.to_lowercase())),
        Normalizer::Devanagari => fold_devanagari(&nfkc.to_lowercase()),
        Normalizer::Greek => fold_greek(&nfkc.to_lowercase()),
        Normalizer::Plain | Normalizer::Hangul => nfkc.to_lowercase(),
    }
}

/// Turkish dotted capital İ is i, plain capital I is dotless ı.
fn turkic_lowercase(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'İ' => 'i',
            'I' => 'ı',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// Arabic: drop tatweel and diacritics (harakat, superscript alef), fold hamza-carrying
/// alefs to bare alef, teh marbuta to heh and alef maksura to yeh.
fn fold_arabic(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{0640}' | '\u{064B}'..='\u{065F}' | '\u{0670}'))
        .map(|c| match c {
            '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0671}' => '\u{0627}',
            '\u{0629}' => '\u{0647}',
            '\u{0649}' => '\u{064A}',
            c => c,
        })
        .collect()
}

/// Persian and Urdu letters folded onto their Arabic counterparts, so text typed on
/// Arabic and Persian keyboards matches.
fn fold_persian(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{06CC}' | '\u{06D2}' => '\u{064A}',              // farsi yeh, yeh barree → yeh
            '\u{06A9}' => '\u{0643}',                           // keheh → kaf
            '\u{06C0}' | '\u{06C1}' | '\u{06D5}' => '\u{0647}', // heh forms → heh
            c => c,
        })
        .collect()
}

/// Devanagari: precomposed nukta letters to their base, nukta and joiners dropped,
/// chandrabindu to anusvara (spelling variants that readers treat as the same word).
fn fold_devanagari(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{093C}' | '\u{200C}' | '\u{200D}' => {}
            '\u{0901}' => out.push('\u{0902}'),
            '\u{0958}' => out.push('\u{0915}'),
            '\u{0959}' => out.push('\u{0916}'),
            '\u{095A}' => out.push('\u{0917}'),
            '\u{095B}' => out.push('\u{091C}'),
            '\u{095C}' => out.push('\u{0921}'),
            '\u{095D}' => out.push('\u{0922}'),
            '\u{095E}' => out.push('\u{092B}'),
            '\u{095F}' => out.push('\u{092F}'),
            c => out.push(c),
        }
    }
    out
}

/// Greek: accents stripped (users type without them), final sigma folded to sigma.
fn fold_greek(s: &str) -> String {
    s.nfd()
        .filter(|c| !matches!(c, '\u{0300}'..='\u{036F}'))
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .nfc()
        .collect()
}

/// Inflectional suffixes of Hindi nouns, adjectives and verbs, longest first
/// (Ramanathan & Rao, "A Lightweight Stemmer for Hindi", 2003).
const HINDI_SUFFIXES: &[&str] = &[
    "ाएंगी",
    "ाएंगे",
    "ाऊंगी",
    "ाऊंगा",
    "ाइयाँ",
    "ाइयों",
    "ाइयां",
    "ाएगी",
    "ाएगा",
    "ाओगी",
    "ाओगे",
    "एंगी",
    "ेंगी",
    "एंगे",
    "ेंगे",
    "ूंगी",
    "ूंगा",
    "ातीं",
    "नाओं",
    "नाएं",
    "ताओं",
    "ताएं",
    "ियाँ",
    "ियों",
    "ियां",
    "ाकर",
    "ाइए",
    "ाईं",
    "ाया",
    "ेगी",
    "ेगा",
    "ोगी",
    "ोगे",
    "ाने",
    "ाना",
    "ाते",
    "ाती",
    "ाता",
    "तीं",
    "ाओं",
    "ाएं",
    "ुओं",
    "ुएं",
    "ुआं",
    "कर",
    "ाओ",
    "िए",
    "ाई",
    "ाए",
    "ने",
    "नी",
    "ना",
    "ते",
    "ीं",
    "ती",
    "ता",
    "ाँ",
    "ां",
    "ों",
    "ें",
    "ो",
    "े",
    "ू",
    "ु",
    "ी",
    "ि",
    "ा",
];

/// Removes the longest Hindi suffix that leaves a stem of at least two characters.
pub fn hindi_light_stem(word: &str) -> String {
    let chars = word.chars().count();
    let mut best: Option<&str> = None;
    for suffix in HINDI_SUFFIXES {
        let n = suffix.chars().count();
        if chars >= n + 2 && word.ends_with(suffix) && best.is_none_or(|b| b.chars().count() < n) {
            best = Some(suffix);
        }
    }
    match best {
        Some(suffix) => word[..word.len() - suffix.len()].to_string(),
        None => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_folds_hamza_forms_and_diacritics() {
        // أَحْمَد with harakat and hamza-alef → احمد
        assert_eq!(normalize_token("أَحْمَد", Normalizer::Arabic), "احمد");
        assert_eq!(normalize_token("مدرسة", Normalizer::Arabic), "مدرسه");
        assert_eq!(normalize_token("مـــدرسة", Normalizer::Arabic), "مدرسه");
    }

    #[test]
    fn persian_keheh_and_yeh_fold_onto_arabic() {
        assert_eq!(
            normalize_token("کتابی", Normalizer::Persian),
            normalize_token("كتابي", Normalizer::Persian)
        );
    }

    #[test]
    fn turkish_i_lowercases_correctly() {
        assert_eq!(normalize_token("İSTANBUL", Normalizer::Turkic), "istanbul");
        assert_eq!(normalize_token("IRMAK", Normalizer::Turkic), "ırmak");
    }

    #[test]
    fn greek_accents_and_final_sigma() {
        assert_eq!(normalize_token("Αθήνας", Normalizer::Greek), "αθηνασ");
    }

    #[test]
    fn nfkc_folds_full_width_forms() {
        assert_eq!(normalize_token("ＡＢＣ１２３", Normalizer::Plain), "abc123");
    }

    #[test]
    fn hindi_stemmer_removes_longest_suffix() {
        assert_eq!(hindi_light_stem("लड़कियों"), "लड़क");
        assert_eq!(hindi_light_stem("किताबें"), "किताब");
        assert_eq!(hindi_light_stem("का"), "का"); // too short to stem
    }

    #[test]
    fn devanagari_nukta_is_dropped() {
        assert_eq!(
            normalize_token("ज़िंदगी", Normalizer::Devanagari),
            normalize_token("जिंदगी", Normalizer::Devanagari)
        );
    }
}
