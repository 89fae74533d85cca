//! The languages of the UI and the emails. Each language is one Fluent file in
//! `crates/server/locales` (`en.ftl` is the reference); the build reads them all and
//! refuses a file that lacks a key of English's, has one more, or uses other variables
//! (build.rs), so every text exists in every language by construction. Templates read
//! `t.key` for a text without variables and call `t.key(args::Key { .. })` for one with
//! variables, whose plurals follow the language's CLDR rules.
//!
//! Adding a language is adding its file: `fr.ftl` makes `Lang::Fr`.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_syntax::ast;
use telemed_domain::prescribing::sig::Language;

pub mod dates;
pub mod notes;
pub mod record;

include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

type Bundle = FluentBundle<FluentResource>;

/// Every language's texts, read once.
static TEXTS: LazyLock<Vec<Texts>> = LazyLock::new(|| Lang::ALL.map(Texts::load).into());

fn bundle(lang: Lang) -> Bundle {
    // The build has parsed every file, so a resource here has no errors to report.
    let resource = FluentResource::try_new(lang.source().to_owned()).unwrap_or_else(|(r, _)| r);
    let locale: unic_langid::LanguageIdentifier = lang.code().parse().unwrap_or_default();
    let mut bundle = Bundle::new_concurrent(vec![locale]);
    // The texts go into HTML and plain-text mail, where Unicode isolation marks around
    // each value would be stray characters; no language here is written right to left.
    bundle.set_use_isolating(false);
    // Keys are unique: the build refuses a file that writes one twice.
    let _ = bundle.add_resource(resource);
    bundle
}

/// A text without variables, made once for the life of the process.
fn plain(bundle: &Bundle, key: &str) -> &'static str {
    String::leak(format(bundle, key, &FluentArgs::new()))
}

/// A message with its values. The build has checked that every language's message
/// exists and takes the variables English takes, and `args` gives exactly those.
fn format(bundle: &Bundle, key: &str, values: &FluentArgs) -> String {
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        return key.to_owned();
    };
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(values), &mut errors);
    debug_assert!(errors.is_empty(), "{key}: {errors:?}");
    text.into_owned()
}

fn pattern_words(pattern: &ast::Pattern<&str>, into: &mut Vec<String>) {
    for element in &pattern.elements {
        match element {
            ast::PatternElement::TextElement { value } => into.push((*value).to_owned()),
            ast::PatternElement::Placeable {
                expression: ast::Expression::Select { variants, .. },
            } => {
                for variant in variants {
                    pattern_words(&variant.value, into);
                }
            }
            ast::PatternElement::Placeable { .. } => {}
        }
    }
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Texts({})", self.lang.code())
    }
}

impl Lang {
    pub fn from_code(code: &str) -> Option<Self> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language of `offered` an `Accept-Language` header prefers (by quality);
    /// None when it asks for none of them.
    pub fn from_accept_language(header: Option<&str>, offered: &[Lang]) -> Option<Self> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.unwrap_or_default().split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or_default().trim().to_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or_default();
            if let Some(lang) = Lang::from_code(primary).filter(|l| offered.contains(l)) {
                if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, l)| l)
    }

    pub fn texts(self) -> &'static Texts {
        &TEXTS[self as usize]
    }

    /// The language a prescription's directions are read in. Directions are composed
    /// and signed in English and Spanish (both kept as signed, `sig_text_en`/`_es`);
    /// a reader of any other language reads the English ones.
    pub fn directions(self) -> Language {
        if self == Lang::Es {
            Language::Spanish
        } else {
            Language::English
        }
    }

    /// Every message's words as (key, pieces): the text between its variables, in
    /// every variant of a plural, as a page shows them whatever the values. For the
    /// checks that read whole pages for words of the wrong language.
    pub fn words(self) -> Vec<(&'static str, Vec<String>)> {
        let bundle = &self.texts().bundle;
        KEYS.iter()
            .map(|key| {
                let mut pieces = Vec::new();
                if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                    pattern_words(pattern, &mut pieces);
                }
                (*key, pieces)
            })
            .collect()
    }

    /// The language's name in itself ("Español").
    pub fn name(self) -> &'static str {
        self.texts().language_name
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn picks_language_by_quality() {
        let all = &Lang::ALL;
        let pick = |header| Lang::from_accept_language(Some(header), all);
        assert_eq!(pick("es-MX,es;q=0.9,en;q=0.8"), Some(Lang::Es));
        assert_eq!(pick("fr-FR,en;q=0.5,es;q=0.7"), Some(Lang::Es));
        assert_eq!(pick("de"), None);
        assert_eq!(Lang::from_accept_language(None, all), None);
        // A clinic that offers only English answers a Spanish browser in English's
        // stead only through its default: the header alone names nothing offered.
        assert_eq!(Lang::from_accept_language(Some("es"), &[Lang::En]), None);
        assert_eq!(
            Lang::from_accept_language(Some("es,en;q=0.2"), &[Lang::En]),
            Some(Lang::En)
        );
    }

    #[test]
    fn spanish_is_really_translated() {
        assert_ne!(Lang::En.texts().sign_in, Lang::Es.texts().sign_in);
    }
}
