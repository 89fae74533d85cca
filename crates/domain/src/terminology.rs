//! Code systems clinicians pick codes from as they type: ICD-10-CM for problems, LOINC
//! for vital signs and results, CVX for vaccines (medications and allergies use the
//! prescribing catalogue's RxNorm products). What a concept is, how its words are
//! folded for type-ahead, which system a chart section takes, telemed's starter set,
//! and the readers of the releases an admin imports: the CMS ICD-10-CM order file and
//! the LOINC table (`Loinc.csv`). No IO: readers take lines.

pub mod index;

use crate::names::fold;
pub use crate::record::ICD10CM;
use crate::record::{Section, CVX, LOINC, VITALS};
use crate::{Error, Result};

/// A code system telemed holds concepts of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeSystem {
    Icd10Cm,
    Loinc,
    Cvx,
}

impl CodeSystem {
    pub const ALL: [CodeSystem; 3] = [CodeSystem::Icd10Cm, CodeSystem::Loinc, CodeSystem::Cvx];

    pub fn uri(self) -> &'static str {
        match self {
            CodeSystem::Icd10Cm => ICD10CM,
            CodeSystem::Loinc => LOINC,
            CodeSystem::Cvx => CVX,
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            CodeSystem::Icd10Cm => "ICD-10-CM",
            CodeSystem::Loinc => "LOINC",
            CodeSystem::Cvx => "CVX",
        }
    }

    /// The short name used in paths and commands: `icd10cm`, `loinc`, `cvx`.
    pub fn key(self) -> &'static str {
        match self {
            CodeSystem::Icd10Cm => "icd10cm",
            CodeSystem::Loinc => "loinc",
            CodeSystem::Cvx => "cvx",
        }
    }

    pub fn from_key(key: &str) -> Option<CodeSystem> {
        CodeSystem::ALL.into_iter().find(|s| s.key() == key)
    }

    pub fn from_uri(uri: &str) -> Option<CodeSystem> {
        CodeSystem::ALL.into_iter().find(|s| s.uri() == uri)
    }
}

/// What a LOINC code is for, where the chart's sections differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    VitalSigns,
    Laboratory,
    /// LOINC's clinical, attachment and survey classes: kept, not offered in the chart.
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::VitalSigns => "vital-signs",
            Category::Laboratory => "laboratory",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        [Category::VitalSigns, Category::Laboratory, Category::Other]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Where a chart section's codes are looked up: the system, and the category within it.
/// `None`: the section is coded from the medication catalogue (medications, allergies)
/// or in words only (history).
pub fn for_section(section: Section) -> Option<(CodeSystem, Option<Category>)> {
    match section {
        Section::Problems => Some((CodeSystem::Icd10Cm, None)),
        Section::Vitals => Some((CodeSystem::Loinc, Some(Category::VitalSigns))),
        Section::Labs => Some((CodeSystem::Loinc, Some(Category::Laboratory))),
        Section::Immunizations => Some((CodeSystem::Cvx, None)),
        _ => None,
    }
}

/// One concept of a code system, as a release (or telemed's starter set) states it.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    pub system: CodeSystem,
    /// As FHIR writes it: ICD-10-CM with its dot (`L23.9`), LOINC with its check digit.
    pub code: String,
    /// The system's own name for it (English).
    pub display: String,
    pub category: Option<Category>,
    /// A code one may record (ICD-10-CM: a leaf, valid for claims; a category heading is not).
    pub selectable: bool,
    /// Active in the release (LOINC: not deprecated).
    pub active: bool,
    /// Names in other languages: (language code, name).
    pub names: Vec<(String, String)>,
}

impl Concept {
    /// The words type-ahead finds the concept by: its names' words folded, each once.
    pub fn words(&self) -> Vec<String> {
        let mut all = words(&self.display);
        for (_, name) in &self.names {
            all.extend(words(name));
        }
        all.sort();
        all.dedup();
        all
    }
}

/// Folded words (lower case, Latin accents dropped), split at every character that is
/// not a letter or a digit: "Body mass index (BMI) [Ratio]" → body mass index bmi ratio.
/// A word is cut to 40 characters.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(40).collect())
        .collect()
}

/// A code as compared when typed: upper case, without dots, dashes or spaces
/// ("l23.9" → `L239`, "8867-4" → `88674`).
pub fn code_key(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What someone typed into a code field, made ready to search: its words (at most six)
/// and, when it is one token that could begin a code, that code's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typed {
    pub words: Vec<String>,
    pub code: Option<String>,
}

/// At most this many characters are searched.
pub const MAX_QUERY_CHARS: usize = 100;

impl Typed {
    pub fn parse(q: &str) -> Result<Typed> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::invalid(
                "q",
                format!("type at most {MAX_QUERY_CHARS} characters to search"),
            ));
        }
        let mut w = words(q);
        w.truncate(6);
        let trimmed = q.trim();
        let code = (!trimmed.contains(char::is_whitespace)
            && trimmed.chars().any(|c| c.is_ascii_digit())
            && trimmed
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .then(|| code_key(trimmed))
        .filter(|k| !k.is_empty());
        Ok(Typed { words: w, code })
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.code.is_none()
    }
}

/// ICD-10-CM as the order file writes a code (`L239`) → as FHIR does (`L23.9`).
pub fn icd10cm_dotted(bare: &str) -> String {
    if bare.len() > 3 && bare.is_char_boundary(3) {
        format!("{}.{}", &bare[..3], &bare[3..])
    } else {
        bare.to_owned()
    }
}

/// Whether `code` is written as an ICD-10-CM code is: a letter, two characters, and
/// after a dot one to four more (`L23`, `L23.9`, `S00.00XA`).
pub fn is_icd10cm_shaped(code: &str) -> bool {
    let (head, tail) = code.split_once('.').unwrap_or((code, ""));
    let head_ok = head.len() == 3
        && head.starts_with(|c: char| c.is_ascii_uppercase())
        && head.chars().all(|c| c.is_ascii_alphanumeric());
    let tail_ok = match code.split_once('.') {
        Some(_) => (1..=4).contains(&tail.len()),
        None => true,
    } && tail
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
    head_ok && tail_ok
}

/// One line of the CMS ICD-10-CM order file (`icd10cm_order_YYYY.txt`): fixed columns
/// holding the order number, the code without its dot, 1 for a code valid for claims
/// (0 for a heading), a short and a long description. `None` for a blank line.
pub fn icd10cm_order_line(line: &str) -> Result<Option<Concept>> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let bad = || {
        Error::invalid(
            "file",
            "this is not an ICD-10-CM order file line (order number, code, 0 or 1, short and long description in fixed columns)",
        )
    };
    let order = line.get(0..5).ok_or_else(bad)?;
    let code = line.get(6..13).ok_or_else(bad)?.trim();
    let flag = line.get(14..15).ok_or_else(bad)?;
    let long = line.get(77..).map(str::trim).unwrap_or_default();
    if !order.trim().chars().all(|c| c.is_ascii_digit())
        || code.is_empty()
        || !code.chars().all(|c| c.is_ascii_alphanumeric())
        || !matches!(flag, "0" | "1")
        || long.is_empty()
    {
        return Err(bad());
    }
    let dotted = icd10cm_dotted(code);
    if !is_icd10cm_shaped(&dotted) {
        return Err(bad());
    }
    Ok(Some(Concept {
        system: CodeSystem::Icd10Cm,
        code: dotted,
        display: long.to_owned(),
        category: None,
        selectable: flag == "1",
        active: true,
        names: Vec::new(),
    }))
}

/// Reads the LOINC table (`LoincTable/Loinc.csv` of a release): quoted CSV with a
/// header line; the columns used are LOINC_NUM, LONG_COMMON_NAME, CLASSTYPE (1 is
/// laboratory) and STATUS (DEPRECATED codes are kept inactive). The vital signs the
/// chart knows are put in their own category.
pub struct LoincReader {
    num: usize,
    name: usize,
    class_type: usize,
    status: usize,
    /// A record whose quoted field runs over a line end, so far.
    pending: String,
}

impl LoincReader {
    pub fn new(header: &str) -> Result<LoincReader> {
        let header = header.trim_end_matches(['\r', '\n']);
        let fields = csv_fields(header.trim_start_matches('\u{feff}'))
            .ok_or_else(|| Error::invalid("file", "the LOINC table's header does not read"))?;
        let at = |name: &str| {
            fields.iter().position(|f| f == name).ok_or_else(|| {
                Error::invalid(
                    "file",
                    format!("this is not LOINC's Loinc.csv: it has no {name} column"),
                )
            })
        };
        Ok(LoincReader {
            num: at("LOINC_NUM")?,
            name: at("LONG_COMMON_NAME")?,
            class_type: at("CLASSTYPE")?,
            status: at("STATUS")?,
            pending: String::new(),
        })
    }

    /// The concept of one line; `None` while a record continues on the next line.
    pub fn line(&mut self, line: &str) -> Result<Option<Concept>> {
        let line = line.trim_end_matches(['\r', '\n']);
        if !self.pending.is_empty() {
            self.pending.push('\n');
        }
        self.pending.push_str(line);
        if self.pending.matches('"').count() % 2 == 1 {
            if self.pending.len() > 64 * 1024 {
                return Err(Error::invalid(
                    "file",
                    "a LOINC record never ends its quote",
                ));
            }
            return Ok(None);
        }
        let record = std::mem::take(&mut self.pending);
        if record.trim().is_empty() {
            return Ok(None);
        }
        let fields = csv_fields(&record)
            .ok_or_else(|| Error::invalid("file", "a LOINC record does not read as CSV"))?;
        let field = |i: usize| fields.get(i).map(String::as_str).unwrap_or_default();
        let code = field(self.num).trim();
        let name = field(self.name).trim();
        if !is_loinc_shaped(code) || name.is_empty() {
            return Err(Error::invalid(
                "file",
                format!("a LOINC record without a code or a name ({code})"),
            ));
        }
        let category = if VITALS.iter().any(|v| v.code == code) {
            Category::VitalSigns
        } else if field(self.class_type).trim() == "1" {
            Category::Laboratory
        } else {
            Category::Other
        };
        Ok(Some(Concept {
            system: CodeSystem::Loinc,
            code: code.to_owned(),
            display: name.to_owned(),
            category: Some(category),
            selectable: true,
            active: field(self.status).trim() != "DEPRECATED",
            names: Vec::new(),
        }))
    }
}

/// A LOINC code: digits, a dash, one check digit.
pub fn is_loinc_shaped(code: &str) -> bool {
    code.split_once('-').is_some_and(|(n, check)| {
        (1..=7).contains(&n.len())
            && n.chars().all(|c| c.is_ascii_digit())
            && check.len() == 1
            && check.chars().all(|c| c.is_ascii_digit())
    })
}

/// The fields of one CSV record (RFC 4180: fields in double quotes may hold commas,
/// line ends and doubled quotes). `None` when a quote is left open.
fn csv_fields(record: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

/// telemed's starter set, present from a clinic's first start: common ICD-10-CM codes,
/// the chart's vital signs and common laboratory tests in LOINC, common vaccines in CVX.
/// An imported release adds to it and brings it up to date.
pub fn starter() -> Result<Vec<Concept>> {
    let mut out = Vec::new();
    let rows = |text: &'static str| {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split('\t').collect::<Vec<_>>())
    };
    let broken = || Error::internal("telemed's starter terminology does not read");
    // ICD-10-CM and CVX: a code and its name a line.
    for (system, text) in [
        (
            CodeSystem::Icd10Cm,
            include_str!("terminology/starter_icd10cm.tsv"),
        ),
        (CodeSystem::Cvx, include_str!("terminology/starter_cvx.tsv")),
    ] {
        for r in rows(text) {
            let [code, display] = r[..] else {
                return Err(broken());
            };
            out.push(Concept {
                system,
                code: code.to_owned(),
                display: display.to_owned(),
                category: None,
                selectable: true,
                active: true,
                names: Vec::new(),
            });
        }
    }
    for r in rows(include_str!("terminology/starter_loinc.tsv")) {
        let [code, category, display, es] = r[..] else {
            return Err(broken());
        };
        out.push(Concept {
            system: CodeSystem::Loinc,
            code: code.to_owned(),
            display: display.to_owned(),
            category: Some(Category::parse(category).ok_or_else(broken)?),
            selectable: true,
            active: true,
            names: Some(("es".to_owned(), es.to_owned()))
                .filter(|(_, n)| !n.is_empty())
                .into_iter()
                .collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_and_split_at_every_sign() {
        assert_eq!(
            words("Body mass index (BMI) [Ratio]"),
            ["body", "mass", "index", "bmi", "ratio"]
        );
        assert_eq!(words("Dermatitis alérgica"), ["dermatitis", "alergica"]);
        assert_eq!(code_key("l23.9"), "L239");
        assert_eq!(code_key("8867-4"), "88674");
    }

    #[test]
    fn typed_words_and_codes() {
        let t = Typed::parse("  contact DERMAT ").unwrap();
        assert_eq!(t.words, ["contact", "dermat"]);
        assert_eq!(t.code, None);
        assert_eq!(Typed::parse("L23.9").unwrap().code.as_deref(), Some("L239"));
        assert_eq!(
            Typed::parse("8867-4").unwrap().code.as_deref(),
            Some("88674")
        );
        // Words without a digit are words, not codes.
        assert_eq!(Typed::parse("rash").unwrap().code, None);
        assert!(Typed::parse("  ").unwrap().is_empty());
        assert!(Typed::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn an_order_file_line_reads_into_a_concept() {
        let line = format!(
            "{:05} {:<7} {} {:<60} {}",
            15180,
            "L239",
            1,
            "Allergic contact dermatitis, unsp cause",
            "Allergic contact dermatitis, unspecified cause"
        );
        let c = icd10cm_order_line(&line).unwrap().unwrap();
        assert_eq!(c.code, "L23.9");
        assert_eq!(c.display, "Allergic contact dermatitis, unspecified cause");
        assert!(c.selectable);
        let heading = format!(
            "{:05} {:<7} {} {:<60} {}",
            15172, "L23", 0, "x", "Allergic contact dermatitis"
        );
        let h = icd10cm_order_line(&heading).unwrap().unwrap();
        assert_eq!((h.code.as_str(), h.selectable), ("L23", false));
        assert_eq!(icd10cm_order_line("\n").unwrap(), None);
        assert!(icd10cm_order_line("LOINC_NUM,COMPONENT").is_err());
        assert!(icd10cm_order_line(&line.replace(" 1 ", " 7 ")).is_err());
    }

    #[test]
    fn icd10cm_shapes() {
        for ok in ["L23", "L23.9", "S00.00XA", "Z79.899", "U07.1"] {
            assert!(is_icd10cm_shaped(ok), "{ok}");
        }
        for bad in ["L2", "l23.9", "L23.", "L23.12345", "123"] {
            assert!(!is_icd10cm_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn the_loinc_table_reads_by_its_header() {
        let mut r = LoincReader::new(
            "\u{feff}\"LOINC_NUM\",\"COMPONENT\",\"STATUS\",\"CLASSTYPE\",\"LONG_COMMON_NAME\"\r\n",
        )
        .unwrap();
        let c = r
            .line("\"2345-7\",\"Glucose\",\"ACTIVE\",\"1\",\"Glucose [Mass/volume] in Serum or Plasma\"")
            .unwrap()
            .unwrap();
        assert_eq!(c.category, Some(Category::Laboratory));
        assert!(c.active);
        let v = r
            .line("\"8867-4\",\"Heart rate\",\"ACTIVE\",\"2\",\"Heart rate\"")
            .unwrap()
            .unwrap();
        assert_eq!(v.category, Some(Category::VitalSigns));
        // A quoted field may run over a line end, and quotes double inside one.
        assert_eq!(r.line("\"1-8\",\"A \"\"B\"\"").unwrap(), None);
        let d = r
            .line("C\",\"DEPRECATED\",\"3\",\"Old, \"\"quoted\"\" name\"")
            .unwrap()
            .unwrap();
        assert_eq!(d.display, "Old, \"quoted\" name");
        assert!(!d.active);
        assert_eq!(d.category, Some(Category::Other));
        assert!(LoincReader::new("code,name").is_err());
    }

    #[test]
    fn the_starter_set_reads_and_holds_what_the_chart_needs() {
        let all = starter().unwrap();
        let has = |s: CodeSystem, code: &str| all.iter().any(|c| c.system == s && c.code == code);
        assert!(has(CodeSystem::Icd10Cm, "L23.9"));
        assert!(has(CodeSystem::Cvx, "140"));
        for v in &VITALS {
            assert!(has(CodeSystem::Loinc, v.code), "{}", v.code);
        }
        for c in all.iter().filter(|c| c.system == CodeSystem::Icd10Cm) {
            assert!(is_icd10cm_shaped(&c.code), "{}", c.code);
        }
    }
}
