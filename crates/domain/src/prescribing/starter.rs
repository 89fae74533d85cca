//! The knowledge telemed ships (`crates/domain/data/*.txt`): a starter catalogue of
//! common primary-care products, drug classes, well-known interaction pairs and
//! children's dose ranges, parsed here. The catalogue is coded in telemed's own starter
//! system; a clinic that needs RxNorm codes imports a release.

use super::{
    format_amount, Agent, DoseRange, DrugClass, Ingredient, Interaction, Knowledge, Medication,
    Schedule, Severity, Strength,
};
use crate::{Error, Result};

/// The code system of the starter catalogue.
pub const STARTER_SYSTEM: &str = "urn:telemed:medication-starter";

const MEDICATIONS: &str = include_str!("../../data/medications.txt");
const CLASSES: &str = include_str!("../../data/drug_classes.txt");
const INTERACTIONS: &str = include_str!("../../data/interactions.txt");
const DOSE_RANGES: &str = include_str!("../../data/dose_ranges.txt");

/// The lines of a data file that hold something, split at `|` and trimmed, with their
/// line numbers.
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(n, l)| (n + 1, l.split('|').map(str::trim).collect()))
}

fn bad(file: &str, line: usize, what: &str) -> Error {
    Error::invalid("starter", format!("{file} line {line}: {what}"))
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// "amoxicillin 250 mg/5 mL" → the ingredient with its strength. The strength is the
/// last number in the text and what follows it; the name is what comes before.
pub fn parse_ingredient(text: &str) -> Option<Ingredient> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = (1..words.len())
        .rev()
        .find(|&i| number(words[i]).is_some() && i + 1 < words.len())?;
    let value = number(words[at])?;
    let unit_text = words[at + 1..].join(" ");
    let (unit, per_value, per_unit) = match unit_text.split_once('/') {
        None => (unit_text.clone(), None, None),
        Some((unit, per)) => {
            let per: Vec<&str> = per.split_whitespace().collect();
            match per.as_slice() {
                [amount, per_unit] => (
                    unit.to_owned(),
                    Some(number(amount)?),
                    Some(per_unit.to_string()),
                ),
                [per_unit] => (unit.to_owned(), Some(1.0), Some(per_unit.to_string())),
                _ => return None,
            }
        }
    };
    Some(Ingredient {
        name: words[..at].join(" "),
        code: None,
        strength: Some(Strength {
            value,
            unit,
            per_value,
            per_unit,
        }),
    })
}

/// A product's display name from its parts, in the manner of RxNorm's clinical drug
/// names: "amoxicillin 250 MG/5 ML Oral Suspension".
pub fn product_name(ingredients: &[Ingredient], dose_form: &str) -> String {
    let parts: Vec<String> = ingredients
        .iter()
        .map(|i| match &i.strength {
            Some(s) => {
                let per = match (&s.per_value, &s.per_unit) {
                    (Some(v), Some(u)) if (*v - 1.0).abs() < f64::EPSILON => {
                        format!("/{}", u.to_uppercase())
                    }
                    (Some(v), Some(u)) => format!("/{} {}", format_amount(*v), u.to_uppercase()),
                    _ => String::new(),
                };
                format!(
                    "{} {} {}{per}",
                    i.name,
                    format_amount(s.value),
                    s.unit.to_uppercase()
                )
            }
            None => i.name.clone(),
        })
        .collect();
    format!("{} {dose_form}", parts.join(" / "))
}

/// A code from a name: lower case, words joined by `-`.
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if c == '.' {
            out.push('_');
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The starter catalogue.
pub fn medications() -> Result<Vec<Medication>> {
    let file = "medications.txt";
    let mut out = Vec::new();
    for (line, cells) in rows(MEDICATIONS) {
        let [ingredients, dose_form, route, schedule] = cells.as_slice() else {
            return Err(bad(file, line, "four cells"));
        };
        let ingredients = ingredients
            .split(" + ")
            .map(|t| parse_ingredient(t).ok_or_else(|| bad(file, line, t)))
            .collect::<Result<Vec<_>>>()?;
        let name = product_name(&ingredients, dose_form);
        out.push(Medication {
            system: STARTER_SYSTEM.to_owned(),
            code: slug(&name),
            name,
            ingredients,
            dose_form: (*dose_form).to_owned(),
            route: (*route).to_owned(),
            schedule: match *schedule {
                "" => None,
                s => Some(Schedule::parse(s).map_err(|_| bad(file, line, s))?),
            },
            active: true,
        });
    }
    Ok(out)
}

fn list(cell: &str) -> Vec<String> {
    cell.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The starter drug classes.
pub fn classes() -> Result<Vec<DrugClass>> {
    let file = "drug_classes.txt";
    rows(CLASSES)
        .map(|(line, cells)| {
            let [id, name, duplicate, terms, members] = cells.as_slice() else {
                return Err(bad(file, line, "five cells"));
            };
            Ok(DrugClass {
                id: (*id).to_owned(),
                name: (*name).to_owned(),
                members: list(members),
                allergy_terms: list(terms),
                allergy_codes: Vec::new(),
                duplicate_therapy: match *duplicate {
                    "yes" => true,
                    "no" => false,
                    other => return Err(bad(file, line, other)),
                },
            })
        })
        .collect()
}

/// An interaction side as the data files write it: `class:<id>` or an ingredient.
pub fn parse_agent(cell: &str) -> Agent {
    match cell.strip_prefix("class:") {
        Some(id) => Agent::Class(id.trim().to_owned()),
        None => Agent::Ingredient(super::ingredient_key(cell)),
    }
}

/// The starter interaction pairs.
pub fn interactions() -> Result<Vec<Interaction>> {
    let file = "interactions.txt";
    rows(INTERACTIONS)
        .map(|(line, cells)| {
            let [a, b, severity, mechanism, advice] = cells.as_slice() else {
                return Err(bad(file, line, "five cells"));
            };
            Ok(Interaction {
                a: parse_agent(a),
                b: parse_agent(b),
                severity: Severity::parse(severity).map_err(|_| bad(file, line, severity))?,
                mechanism: (*mechanism).to_owned(),
                advice: (*advice).to_owned(),
            })
        })
        .collect()
}

/// The starter dose ranges (children under 18).
pub fn dose_ranges() -> Result<Vec<DoseRange>> {
    let file = "dose_ranges.txt";
    rows(DOSE_RANGES)
        .map(|(line, cells)| {
            let [ingredient, least, most, most_a_day] = cells.as_slice() else {
                return Err(bad(file, line, "four cells"));
            };
            let n = |s: &str| number(s).ok_or_else(|| bad(file, line, s));
            Ok(DoseRange {
                ingredient: super::ingredient_key(ingredient),
                min_mg_per_kg_day: n(least)?,
                max_mg_per_kg_day: n(most)?,
                max_mg_per_day: n(most_a_day)?,
                under_age_years: 18,
            })
        })
        .collect()
}

/// The starter knowledge, indexed.
pub fn knowledge() -> Result<Knowledge> {
    Ok(Knowledge::new(classes()?, interactions()?, dose_ranges()?))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::checks::{check, ActiveMedication, AllergyFact, FindingKind, PatientContext};
    use super::super::sig::{Frequency, Sig};
    use super::*;

    fn find(catalogue: &[Medication], name: &str) -> Medication {
        catalogue
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} is not in the starter catalogue"))
            .clone()
    }

    #[test]
    fn ingredients_and_names_read_as_written() {
        let liquid = parse_ingredient("amoxicillin 250 mg/5 mL").unwrap();
        assert_eq!(liquid.name, "amoxicillin");
        let s = liquid.strength.clone().unwrap();
        assert_eq!(
            (s.value, s.unit.as_str(), s.per_value, s.per_unit.as_deref()),
            (250.0, "mg", Some(5.0), Some("mL"))
        );
        assert_eq!(
            product_name(&[liquid], "Oral Suspension"),
            "amoxicillin 250 MG/5 ML Oral Suspension"
        );
        let peg = parse_ingredient("polyethylene glycol 3350 17 g").unwrap();
        assert_eq!(peg.name, "polyethylene glycol 3350");
        let inhaler = parse_ingredient("albuterol 0.09 mg/actuation").unwrap();
        assert_eq!(
            product_name(&[inhaler], "Metered Dose Inhaler"),
            "albuterol 0.09 MG/ACTUATION Metered Dose Inhaler"
        );
        assert_eq!(parse_ingredient("amoxicillin"), None);
        assert_eq!(
            slug("amoxicillin 875 MG / clavulanate potassium 125 MG Oral Tablet"),
            "amoxicillin-875-mg-clavulanate-potassium-125-mg-oral-tablet"
        );
    }

    #[test]
    fn the_starter_catalogue_is_complete_and_unique() {
        let catalogue = medications().unwrap();
        assert!(catalogue.len() >= 200, "{} products", catalogue.len());
        let codes: HashSet<&str> = catalogue.iter().map(|m| m.code.as_str()).collect();
        assert_eq!(codes.len(), catalogue.len(), "codes are unique");
        let controlled = catalogue.iter().filter(|m| m.schedule.is_some()).count();
        assert!(controlled >= 10, "{controlled} controlled substances");
        assert!(catalogue.iter().all(
            |m| !m.ingredients.is_empty() && m.ingredients.iter().all(|i| i.strength.is_some())
        ));
    }

    #[test]
    fn the_starter_knowledge_names_only_classes_that_exist() {
        let classes = classes().unwrap();
        let ids: HashSet<&str> = classes.iter().map(|c| c.id.as_str()).collect();
        for i in interactions().unwrap() {
            for side in [&i.a, &i.b] {
                if let Agent::Class(id) = side {
                    assert!(ids.contains(id.as_str()), "class:{id} is not defined");
                }
            }
        }
        assert!(!dose_ranges().unwrap().is_empty());
    }

    #[test]
    fn the_starter_data_raises_the_well_known_warnings() {
        let catalogue = medications().unwrap();
        let k = knowledge().unwrap();
        let tid = Sig {
            dose: 500.0,
            unit: "mg".into(),
            route: "oral".into(),
            frequency: Frequency::ThreeTimesDaily,
            duration_days: Some(7),
            as_needed: None,
            instructions: String::new(),
        };
        let amoxicillin = find(&catalogue, "amoxicillin 500 MG Oral Capsule");
        let allergic = PatientContext {
            allergies: vec![AllergyFact {
                code: None,
                text: "Penicillin".into(),
            }],
            ..Default::default()
        };
        let found = check(&amoxicillin, &tid, &allergic, &k);
        assert_eq!(
            found.first().map(|f| f.kind),
            Some(FindingKind::Allergy),
            "{found:?}"
        );

        let ibuprofen = find(&catalogue, "ibuprofen 400 MG Oral Tablet");
        let warfarin = find(&catalogue, "warfarin sodium 5 MG Oral Tablet");
        let on = |m: &Medication| PatientContext {
            active: vec![ActiveMedication {
                name: m.name.clone(),
                ingredients: m.ingredients.iter().map(|i| i.key()).collect(),
            }],
            ..Default::default()
        };
        let found = check(&ibuprofen, &tid, &on(&warfarin), &k);
        assert_eq!(
            (found[0].kind, found[0].severity),
            (FindingKind::Interaction, Severity::Major),
            "{found:?}"
        );

        let sertraline = find(&catalogue, "sertraline 50 MG Oral Tablet");
        let phenelzine = find(&catalogue, "phenelzine 15 MG Oral Tablet");
        let found = check(&sertraline, &tid, &on(&phenelzine), &k);
        assert_eq!(found[0].severity, Severity::Contraindicated, "{found:?}");

        let azithromycin = find(&catalogue, "azithromycin 250 MG Oral Tablet");
        let citalopram = find(&catalogue, "citalopram 20 MG Oral Tablet");
        let found = check(&azithromycin, &tid, &on(&citalopram), &k);
        assert!(
            found
                .iter()
                .any(|f| f.kind == FindingKind::Interaction && f.detail.contains("QT")),
            "{found:?}"
        );
    }
}
