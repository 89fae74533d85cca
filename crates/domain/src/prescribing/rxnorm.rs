//! Reading a catalogue from an RxNorm release (its RRF files, pipe-delimited): the
//! clinical drugs (TTY `SCD`) and branded drugs (`SBD`) as products, each with its
//! ingredients (through `consists_of` its components, `SCDC`, and their
//! `has_ingredient`), strength (the component's `RXN_STRENGTH` attribute, or its name),
//! dose form (`has_dose_form`) and controlled-substance schedule (`DCSA`). Only
//! RxNorm's own atoms (`SAB = RXNORM`) count; suppressed and obsolete ones are skipped
//! and counted. Lines are read one at a time: a full release is gigabytes.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use super::{Ingredient, Medication, Schedule, Strength};
use crate::record::RXNORM;
use crate::{Error, Result};

/// What an import read and made, for the admin's report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub conso_lines: u64,
    pub rel_lines: u64,
    pub sat_lines: u64,
    /// RxNorm atoms of the kinds used (SCD, SBD, SCDC, IN, PIN, DF).
    pub concepts: u64,
    /// Suppressed or obsolete atoms left out.
    pub suppressed: u64,
    pub products: u64,
    /// Products with a controlled-substance schedule.
    pub controlled: u64,
    /// Products left out because no ingredient could be found for them.
    pub without_ingredients: u64,
}

/// Progress as a file is read: (file, lines so far).
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64);

const EVERY: u64 = 100_000;

fn fields(line: &str) -> Vec<&str> {
    line.split('|').collect()
}

fn io(file: &str, e: std::io::Error) -> Error {
    Error::invalid("rxnorm", format!("reading {file}: {e}"))
}

struct Concepts {
    /// RXCUI → (TTY, name) of the kinds used.
    names: HashMap<String, (String, String)>,
}

/// RXNCONSO.RRF: RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
fn read_conso(input: impl BufRead, report: &mut Report, progress: Progress) -> Result<Concepts> {
    let mut names = HashMap::new();
    for line in input.lines() {
        let line = line.map_err(|e| io("RXNCONSO.RRF", e))?;
        report.conso_lines += 1;
        if report.conso_lines.is_multiple_of(EVERY) {
            progress("RXNCONSO.RRF", report.conso_lines);
        }
        let f = fields(&line);
        if f.len() < 18 {
            return Err(Error::invalid(
                "rxnorm",
                format!(
                    "RXNCONSO.RRF line {}: not an RRF line of 18 fields",
                    report.conso_lines
                ),
            ));
        }
        let (rxcui, lat, sab, tty, name, suppress) = (f[0], f[1], f[11], f[12], f[14], f[16]);
        if sab != "RXNORM" || lat != "ENG" {
            continue;
        }
        if !matches!(tty, "SCD" | "SBD" | "SCDC" | "IN" | "PIN" | "DF") {
            continue;
        }
        if suppress != "N" && !suppress.is_empty() {
            report.suppressed += 1;
            continue;
        }
        report.concepts += 1;
        names.insert(rxcui.to_owned(), (tty.to_owned(), name.to_owned()));
    }
    Ok(Concepts { names })
}

#[derive(Default)]
struct Links {
    /// Product → its components (SCD) or, for a branded drug, its clinical drug.
    parts: HashMap<String, Vec<String>>,
    /// Component → ingredient (IN, or the precise one, PIN).
    ingredient: HashMap<String, String>,
    precise: HashMap<String, String>,
    dose_form: HashMap<String, String>,
}

/// RXNREL.RRF: RXCUI1|RXAUI1|STYPE1|REL|RXCUI2|RXAUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|DIR|RG|SUPPRESS|CVF|
/// A row says RXCUI2 stands in relation RELA to RXCUI1 ("SCD has_ingredient IN" is
/// RXCUI2 = the SCD, RXCUI1 = the IN).
fn read_rel(
    input: impl BufRead,
    concepts: &Concepts,
    report: &mut Report,
    progress: Progress,
) -> Result<Links> {
    let mut links = Links::default();
    for line in input.lines() {
        let line = line.map_err(|e| io("RXNREL.RRF", e))?;
        report.rel_lines += 1;
        if report.rel_lines.is_multiple_of(EVERY) {
            progress("RXNREL.RRF", report.rel_lines);
        }
        let f = fields(&line);
        if f.len() < 16 {
            return Err(Error::invalid(
                "rxnorm",
                format!(
                    "RXNREL.RRF line {}: not an RRF line of 16 fields",
                    report.rel_lines
                ),
            ));
        }
        let (object, subject, rela, sab) = (f[0], f[4], f[7], f[10]);
        if sab != "RXNORM" {
            continue;
        }
        let (Some((s_tty, _)), Some((o_tty, _))) =
            (concepts.names.get(subject), concepts.names.get(object))
        else {
            continue;
        };
        match (s_tty.as_str(), rela, o_tty.as_str()) {
            ("SCD", "consists_of", "SCDC") | ("SBD", "tradename_of", "SCD") => {
                links
                    .parts
                    .entry(subject.to_owned())
                    .or_default()
                    .push(object.to_owned());
            }
            ("SCDC", "has_ingredient", "IN") => {
                links
                    .ingredient
                    .insert(subject.to_owned(), object.to_owned());
            }
            ("SCDC", "has_precise_ingredient", "PIN") => {
                links.precise.insert(subject.to_owned(), object.to_owned());
            }
            ("SCD" | "SBD", "has_dose_form", "DF") => {
                links
                    .dose_form
                    .insert(subject.to_owned(), object.to_owned());
            }
            _ => {}
        }
    }
    Ok(links)
}

#[derive(Default)]
struct Attributes {
    strength: HashMap<String, String>,
    schedule: HashMap<String, Schedule>,
}

/// RXNSAT.RRF: RXCUI|LUI|SUI|RXAUI|STYPE|CODE|ATUI|SATUI|ATN|SAB|ATV|SUPPRESS|CVF|
fn read_sat(
    input: impl BufRead,
    wanted: &HashSet<&str>,
    report: &mut Report,
    progress: Progress,
) -> Result<Attributes> {
    let mut attributes = Attributes::default();
    for line in input.lines() {
        let line = line.map_err(|e| io("RXNSAT.RRF", e))?;
        report.sat_lines += 1;
        if report.sat_lines.is_multiple_of(EVERY) {
            progress("RXNSAT.RRF", report.sat_lines);
        }
        let f = fields(&line);
        if f.len() < 13 {
            return Err(Error::invalid(
                "rxnorm",
                format!(
                    "RXNSAT.RRF line {}: not an RRF line of 13 fields",
                    report.sat_lines
                ),
            ));
        }
        let (rxcui, atn, value) = (f[0], f[8], f[10]);
        if !wanted.contains(rxcui) {
            continue;
        }
        match atn {
            "RXN_STRENGTH" => {
                attributes
                    .strength
                    .insert(rxcui.to_owned(), value.to_owned());
            }
            "DCSA" => {
                let schedule = value.trim().trim_start_matches('C');
                if let Ok(s) = Schedule::parse(schedule) {
                    attributes.schedule.insert(rxcui.to_owned(), s);
                }
            }
            _ => {}
        }
    }
    Ok(attributes)
}

/// "500 MG", "250 MG/5ML", "0.09 MG/ACTUAT" as a strength.
pub fn parse_strength(text: &str) -> Option<Strength> {
    let text = text.trim();
    let (amount, unit) = text.split_once(' ')?;
    let value = amount.parse::<f64>().ok().filter(|v| v.is_finite())?;
    let unit = unit.trim();
    let (unit, per_value, per_unit) = match unit.split_once('/') {
        None => (unit.to_lowercase(), None, None),
        Some((u, per)) => {
            let digits: String = per
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let rest = per[digits.len()..].trim();
            let per_value = if digits.is_empty() {
                1.0
            } else {
                digits.parse().ok()?
            };
            let per_unit = match rest.to_uppercase().as_str() {
                "ML" => "mL".to_owned(),
                other => other.to_lowercase(),
            };
            (u.to_lowercase(), Some(per_value), Some(per_unit))
        }
    };
    Some(Strength {
        value,
        unit,
        per_value,
        per_unit,
    })
}

/// The route a dose form implies ("Oral Tablet" → oral).
pub fn route_of(dose_form: &str) -> &'static str {
    let form = dose_form.to_lowercase();
    let routes = [
        ("sublingual", "sublingual"),
        ("oral", "oral"),
        ("chewable", "oral"),
        ("ophthalmic", "ophthalmic"),
        ("otic", "otic"),
        ("nasal", "nasal"),
        ("inhal", "inhaled"),
        ("topical", "topical"),
        ("transdermal", "transdermal"),
        ("rectal", "rectal"),
        ("vaginal", "vaginal"),
        ("inject", "injection"),
        ("prefilled syringe", "injection"),
        ("pen injector", "subcutaneous"),
        ("cartridge", "injection"),
    ];
    routes
        .iter()
        .find(|(word, _)| form.contains(word))
        .map(|(_, route)| *route)
        .unwrap_or("other")
}

/// Reads an RxNorm release's three files into products.
pub fn read(
    conso: impl BufRead,
    rel: impl BufRead,
    sat: impl BufRead,
    progress: Progress,
) -> Result<(Vec<Medication>, Report)> {
    let mut report = Report::default();
    let concepts = read_conso(conso, &mut report, progress)?;
    let links = read_rel(rel, &concepts, &mut report, progress)?;
    let wanted: HashSet<&str> = concepts
        .names
        .iter()
        .filter(|(_, (tty, _))| matches!(tty.as_str(), "SCDC" | "SCD" | "SBD"))
        .map(|(id, _)| id.as_str())
        .collect();
    let attributes = read_sat(sat, &wanted, &mut report, progress)?;

    let ingredients_of = |scd: &str| -> Vec<Ingredient> {
        let mut out: Vec<Ingredient> = links
            .parts
            .get(scd)
            .into_iter()
            .flatten()
            .filter_map(|scdc| {
                let ingredient = links.ingredient.get(scdc)?;
                let (_, name) = concepts.names.get(ingredient)?;
                let strength = attributes
                    .strength
                    .get(scdc)
                    .and_then(|s| parse_strength(s))
                    .or_else(|| {
                        // The component's name is "<ingredient> <strength>".
                        let (_, component) = concepts.names.get(scdc)?;
                        let precise = links
                            .precise
                            .get(scdc)
                            .and_then(|p| concepts.names.get(p))
                            .map(|(_, n)| n.as_str());
                        let rest = component
                            .strip_prefix(precise.unwrap_or(name))
                            .or_else(|| component.strip_prefix(name.as_str()))?;
                        parse_strength(rest)
                    });
                Some(Ingredient {
                    name: name.clone(),
                    code: Some(ingredient.clone()),
                    strength,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    };

    let mut products = Vec::new();
    let mut ids: Vec<&String> = concepts
        .names
        .iter()
        .filter(|(_, (tty, _))| matches!(tty.as_str(), "SCD" | "SBD"))
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    for id in ids {
        let (tty, name) = &concepts.names[id];
        // A branded drug's ingredients are its clinical drug's.
        let clinical = if tty == "SBD" {
            links
                .parts
                .get(id)
                .and_then(|p| p.first())
                .cloned()
                .unwrap_or_default()
        } else {
            id.clone()
        };
        let ingredients = ingredients_of(&clinical);
        if ingredients.is_empty() {
            report.without_ingredients += 1;
            continue;
        }
        let dose_form = links
            .dose_form
            .get(id)
            .or_else(|| links.dose_form.get(&clinical))
            .and_then(|df| concepts.names.get(df))
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let schedule = attributes
            .schedule
            .get(id)
            .or_else(|| attributes.schedule.get(&clinical))
            .copied();
        report.products += 1;
        report.controlled += u64::from(schedule.is_some());
        products.push(Medication {
            system: RXNORM.to_owned(),
            code: id.clone(),
            name: name.clone(),
            ingredients,
            route: route_of(&dose_form).to_owned(),
            dose_form,
            schedule,
            active: true,
        });
    }
    Ok((products, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    // In RxNorm's RRF format (every field in its place), abridged to the few concepts
    // the test needs; the identifiers are only as good as the test needs them.
    const CONSO: &str = "\
723|ENG||L1|PF|S1|Y|A1||723||RXNORM|IN|723|amoxicillin||N|4096|
317541|ENG||L2|PF|S2|Y|A2||317541||RXNORM|DF|317541|Oral Capsule||N|4096|
315248|ENG||L3|PF|S3|Y|A3||315248||RXNORM|SCDC|315248|amoxicillin 500 MG||N|4096|
308191|ENG||L4|PF|S4|Y|A4||308191||RXNORM|SCD|308191|amoxicillin 500 MG Oral Capsule||N|4096|
308191|ENG||L5|PF|S5|N|A5||308191||RXNORM|SY|308191|Amoxicillin 500mg caps||N|4096|
5489|ENG||L6|PF|S6|Y|A6||5489||RXNORM|IN|5489|hydrocodone||N|4096|
161|ENG||L7|PF|S7|Y|A7||161||RXNORM|IN|161|acetaminophen||N|4096|
317541|ENG||L2|PF|S2|Y|A8||317541||RXNORM|DF|317541|Oral Capsule||N|4096|
900001|ENG||L8|PF|S8|Y|A9||900001||RXNORM|SCDC|900001|acetaminophen 325 MG||N|4096|
900002|ENG||L9|PF|S9|Y|A10||900002||RXNORM|SCDC|900002|hydrocodone bitartrate 5 MG||N|4096|
900003|ENG||L10|PF|S10|Y|A11||900003||RXNORM|SCD|900003|acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet||N|4096|
900004|ENG||L11|PF|S11|Y|A12||900004||RXNORM|DF|900004|Oral Tablet||N|4096|
900005|ENG||L12|PF|S12|Y|A13||900005||RXNORM|SCD|900005|amoxicillin 250 MG Oral Capsule||O|4096|
900006|ENG||L13|PF|S13|Y|A14||900006||RXNORM|PIN|900006|hydrocodone bitartrate||N|4096|
900007|ENG||L14|PF|S14|Y|A15||900007||MMSL|CD|900007|amoxicillin elsewhere||N||
900008|ENG||L15|PF|S15|Y|A16||900008||RXNORM|SCD|900008|orphan 1 MG Oral Tablet||N|4096|
";
    const REL: &str = "\
315248|A3|CUI|RO|308191|A4|CUI|consists_of|R1||RXNORM||||N||
723|A1|CUI|RO|315248|A3|CUI|has_ingredient|R2||RXNORM||||N||
317541|A2|CUI|RO|308191|A4|CUI|has_dose_form|R3||RXNORM||||N||
900001|A9|CUI|RO|900003|A11|CUI|consists_of|R4||RXNORM||||N||
900002|A10|CUI|RO|900003|A11|CUI|consists_of|R5||RXNORM||||N||
161|A7|CUI|RO|900001|A9|CUI|has_ingredient|R6||RXNORM||||N||
5489|A6|CUI|RO|900002|A10|CUI|has_ingredient|R7||RXNORM||||N||
900006|A14|CUI|RO|900002|A10|CUI|has_precise_ingredient|R8||RXNORM||||N||
900004|A12|CUI|RO|900003|A11|CUI|has_dose_form|R9||RXNORM||||N||
";
    const SAT: &str = "\
315248|L3|S3|A3|AUI|315248|AT1||RXN_STRENGTH|RXNORM|500 MG|N|4096|
900003|L10|S10|A11|AUI|900003|AT2||DCSA|MTHSPL|CII|N||
900001|L8|S8|A9|AUI|900001|AT3||RXN_STRENGTH|RXNORM|325 MG|N|4096|
";

    #[test]
    fn a_release_reads_as_products_with_ingredients_strengths_forms_and_schedules() {
        let mut seen = Vec::new();
        let (products, report) = read(
            CONSO.as_bytes(),
            REL.as_bytes(),
            SAT.as_bytes(),
            &mut |file, n| seen.push((file.to_owned(), n)),
        )
        .unwrap();
        assert_eq!(products.len(), 2, "{products:#?}");
        let amox = &products[0];
        assert_eq!(
            (amox.code.as_str(), amox.name.as_str()),
            ("308191", "amoxicillin 500 MG Oral Capsule")
        );
        assert_eq!(amox.system, RXNORM);
        assert_eq!(
            (amox.dose_form.as_str(), amox.route.as_str()),
            ("Oral Capsule", "oral")
        );
        assert_eq!(amox.ingredients.len(), 1);
        assert_eq!(amox.ingredients[0].name, "amoxicillin");
        assert_eq!(amox.ingredients[0].code.as_deref(), Some("723"));
        assert_eq!(
            amox.ingredients[0]
                .strength
                .as_ref()
                .map(|s| (s.value, s.unit.as_str())),
            Some((500.0, "mg"))
        );
        assert_eq!(amox.schedule, None);

        let combo = &products[1];
        assert_eq!(combo.schedule, Some(Schedule::II));
        let names: Vec<&str> = combo.ingredients.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["acetaminophen", "hydrocodone"]);
        // Without RXN_STRENGTH, the strength is read from the component's name.
        let hydrocodone = &combo.ingredients[1].strength.as_ref().unwrap();
        assert_eq!((hydrocodone.value, hydrocodone.unit.as_str()), (5.0, "mg"));

        assert_eq!(report.suppressed, 1, "the obsolete product is left out");
        assert_eq!(
            report.without_ingredients, 1,
            "the orphan product is left out"
        );
        assert_eq!((report.products, report.controlled), (2, 1));
        assert_eq!(report.conso_lines, 16);
        assert!(seen.is_empty(), "no progress for files this small");
    }

    #[test]
    fn a_file_that_is_not_rrf_is_refused_naming_the_line() {
        let err = read(
            "723|ENG|amoxicillin\n".as_bytes(),
            "".as_bytes(),
            "".as_bytes(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("RXNCONSO.RRF line 1"), "{err}");
    }

    #[test]
    fn strengths_and_routes_read_as_rxnorm_writes_them() {
        let s = parse_strength("250 MG/5ML").unwrap();
        assert_eq!(
            (s.value, s.unit.as_str(), s.per_value, s.per_unit.as_deref()),
            (250.0, "mg", Some(5.0), Some("mL"))
        );
        let s = parse_strength("0.09 MG/ACTUAT").unwrap();
        assert_eq!(
            (s.per_value, s.per_unit.as_deref()),
            (Some(1.0), Some("actuat"))
        );
        assert_eq!(parse_strength("MG"), None);
        assert_eq!(route_of("Ophthalmic Solution"), "ophthalmic");
        assert_eq!(route_of("Metered Dose Inhaler"), "inhaled");
        assert_eq!(route_of("Sublingual Tablet"), "sublingual");
        assert_eq!(route_of("Injectable Solution"), "injection");
    }
}
