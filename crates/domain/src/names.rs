//! A person's name in parts (family, given) beside the display name, and the folded
//! form name searches compare: lower case, Latin accents removed, words separated by one
//! space with a space in front, so "starts a word" is `LIKE '% ana%'` on either database
//! without relying on its collation.

/// What telemed's pages call a patient registered without a name (a newborn not yet
/// named, an unidentified patient). Never kept as a former name.
pub const UNIDENTIFIED: &str = "Unidentified patient";

/// The parts of a name. Accounts made from a display name take its last word as the
/// family name (a guess a clinic can correct); records imported from FHIR keep theirs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName {
    pub family: String,
    pub given: Vec<String>,
}

impl PersonName {
    pub fn from_display(display: &str) -> PersonName {
        let mut words: Vec<String> = display.split_whitespace().map(str::to_owned).collect();
        let family = words.pop().unwrap_or_default();
        PersonName {
            family,
            given: words,
        }
    }

    pub fn given_joined(&self) -> String {
        self.given.join(" ")
    }

    /// The name as running text writes it: the given names, then the family name.
    pub fn display(&self) -> String {
        self.given
            .iter()
            .map(String::as_str)
            .chain(Some(self.family.as_str()).filter(|f| !f.is_empty()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// " lopez" — the family name folded, for search.
    pub fn search_family(&self) -> String {
        search_words(&self.family)
    }

    /// " ana maria" — the given names folded, for search.
    pub fn search_given(&self) -> String {
        search_words(&self.given_joined())
    }
}

/// Every word of `s` folded, each with one space in front.
pub fn search_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    for word in fold(s).split(|c: char| c.is_whitespace() || c == '-') {
        if !word.is_empty() {
            out.push(' ');
            out.push_str(word);
        }
    }
    out
}

/// Lower case without accents: "Núñez" → "nunez", "ÁLVARO" → "alvaro".
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'ď' => 'd',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
            'ý' | 'ÿ' => 'y',
            'ś' | 'š' | 'ş' => 's',
            'ź' | 'ż' | 'ž' => 'z',
            'ł' => 'l',
            'ř' => 'r',
            'ť' | 'ţ' => 't',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_display_name_splits_into_given_and_family() {
        let n = PersonName::from_display("  Ana   María López ");
        assert_eq!(n.family, "López");
        assert_eq!(n.given, vec!["Ana", "María"]);
        assert_eq!(n.search_family(), " lopez");
        assert_eq!(n.search_given(), " ana maria");
        let one = PersonName::from_display("Cher");
        assert_eq!((one.family.as_str(), one.given.len()), ("Cher", 0));
    }

    #[test]
    fn folding_drops_case_and_accents_and_splits_hyphens() {
        assert_eq!(fold("ÁLVARO Núñez"), "alvaro nunez");
        assert_eq!(search_words("García-Márquez"), " garcia marquez");
        assert_eq!(search_words(""), "");
    }
}
