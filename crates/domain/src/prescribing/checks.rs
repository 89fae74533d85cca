//! The checks a prescription is held to, as it is written and again at signing:
//! allergies (to the ingredient, or to its class: a penicillin allergy on amoxicillin),
//! interactions with what the patient takes (by ingredient or class pair), duplicate
//! therapy, and weight-based daily doses for children. Pure: the service gathers the
//! patient's facts and the knowledge, this decides.

use serde::{Deserialize, Serialize};

use super::sig::Sig;
use super::{ingredient_key, mass_in_mg, Agent, Knowledge, Medication, Severity};

/// An allergy as the chart records it: its code (SNOMED CT or RxNorm), if any, and text.
#[derive(Debug, Clone, PartialEq)]
pub struct AllergyFact {
    pub code: Option<String>,
    pub text: String,
}

/// A medication the patient takes, with its ingredients' keys (`ingredient_key`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveMedication {
    pub name: String,
    pub ingredients: Vec<String>,
}

/// What the checks need to know of the patient.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatientContext {
    pub allergies: Vec<AllergyFact>,
    pub active: Vec<ActiveMedication>,
    /// The latest weight in the chart, in kilograms.
    pub weight_kg: Option<f64>,
    /// Whole years of age, when the birth date is known.
    pub age_years: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    Allergy,
    Interaction,
    Duplicate,
    Dose,
    /// A drug written in words: the checks saw only the ingredients its name names.
    #[serde(rename = "not_checked")]
    NotChecked,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Allergy => "allergy",
            FindingKind::Interaction => "interaction",
            FindingKind::Duplicate => "duplicate",
            FindingKind::Dose => "dose",
            FindingKind::NotChecked => "not_checked",
        }
    }
}

/// One thing the prescriber should know before signing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// What it is about, in a few words ("warfarin + ibuprofen").
    pub subject: String,
    /// Why it was raised.
    pub detail: String,
    /// What to do about it.
    pub advice: String,
}

/// Every finding for prescribing `medication` with `sig` to this patient, most serious
/// first.
pub fn check(
    medication: &Medication,
    sig: &Sig,
    patient: &PatientContext,
    knowledge: &Knowledge,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !medication.is_checked() {
        let seen: Vec<&str> = medication
            .ingredients
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        findings.push(Finding {
            kind: FindingKind::NotChecked,
            severity: Severity::Moderate,
            subject: format!("{} is not from the catalogue", medication.name),
            detail: if seen.is_empty() {
                "No ingredient was recognised in its name: nothing was checked.".into()
            } else {
                format!("Only what its name names was checked: {}.", seen.join(", "))
            },
            advice: "Check allergies, interactions and the dose yourself.".into(),
        });
    }
    allergies(medication, patient, knowledge, &mut findings);
    interactions(medication, patient, knowledge, &mut findings);
    duplicates(medication, patient, knowledge, &mut findings);
    doses(medication, sig, patient, knowledge, &mut findings);
    findings.sort_by_key(|f| (f.severity, f.kind));
    findings
}

fn allergies(m: &Medication, p: &PatientContext, k: &Knowledge, out: &mut Vec<Finding>) {
    for allergy in &p.allergies {
        let text = allergy.text.trim().to_lowercase();
        for ingredient in &m.ingredients {
            let same = (allergy.code.is_some() && allergy.code == ingredient.code)
                || (!text.is_empty() && ingredient_key(&text) == ingredient.key());
            if same {
                out.push(Finding {
                    kind: FindingKind::Allergy,
                    severity: Severity::Contraindicated,
                    subject: format!("allergy to {}", allergy.text.trim()),
                    detail: format!("{} contains {}", m.name, ingredient.name),
                    advice: "Choose another medication.".into(),
                });
                continue;
            }
            let named = allergy
                .code
                .as_deref()
                .and_then(|c| k.allergen_classes(c))
                .into_iter()
                .chain(k.allergen_classes(&text));
            let classes = k.classes_of(&ingredient.key());
            if let Some(class) = named
                .flat_map(|set| set.iter())
                .find(|c| classes.contains(c))
                .and_then(|c| k.class(c))
            {
                out.push(Finding {
                    kind: FindingKind::Allergy,
                    severity: Severity::Major,
                    subject: format!("allergy to {}", allergy.text.trim()),
                    detail: format!("{} is one of the {}", ingredient.name, class.name),
                    advice: "Cross-reactivity within the class: choose another class unless \
                             the allergy is known not to extend to this drug."
                        .into(),
                });
            }
        }
    }
}

/// An ingredient and the classes it is in, as interaction agents.
fn agents(ingredient: &str, k: &Knowledge) -> Vec<Agent> {
    std::iter::once(Agent::Ingredient(ingredient.to_owned()))
        .chain(k.classes_of(ingredient).iter().cloned().map(Agent::Class))
        .collect()
}

fn interactions(m: &Medication, p: &PatientContext, k: &Knowledge, out: &mut Vec<Finding>) {
    for active in &p.active {
        let mut seen: Vec<&super::Interaction> = Vec::new();
        for mine in &m.ingredients {
            let ours = agents(&mine.key(), k);
            for theirs in active.ingredients.iter().flat_map(|i| agents(i, k)) {
                for a in &ours {
                    let Some(found) = k.interaction(a, &theirs) else {
                        continue;
                    };
                    if seen.iter().any(|s| std::ptr::eq(*s, found)) {
                        continue;
                    }
                    seen.push(found);
                    out.push(Finding {
                        kind: FindingKind::Interaction,
                        severity: found.severity,
                        subject: format!("{} + {}", mine.name, active.name),
                        detail: found.mechanism.clone(),
                        advice: found.advice.clone(),
                    });
                }
            }
        }
    }
}

fn duplicates(m: &Medication, p: &PatientContext, k: &Knowledge, out: &mut Vec<Finding>) {
    for active in &p.active {
        let same = m
            .ingredients
            .iter()
            .find(|i| active.ingredients.contains(&i.key()));
        if let Some(ingredient) = same {
            out.push(Finding {
                kind: FindingKind::Duplicate,
                severity: Severity::Major,
                subject: format!("{} already taken", ingredient.name),
                detail: format!("{} also contains {}", active.name, ingredient.name),
                advice: "Stop or change the current medication, or do not prescribe this one."
                    .into(),
            });
            continue;
        }
        let class = m
            .ingredients
            .iter()
            .flat_map(|i| k.classes_of(&i.key()))
            .filter_map(|c| k.class(c))
            .filter(|c| c.duplicate_therapy)
            .find(|c| active.ingredients.iter().any(|i| c.members.contains(i)));
        if let Some(class) = class {
            out.push(Finding {
                kind: FindingKind::Duplicate,
                severity: Severity::Moderate,
                subject: format!("two {}", class.name),
                detail: format!("{} and {} are both {}", m.name, active.name, class.name),
                advice: "Two drugs of one class are rarely meant: check that both are needed."
                    .into(),
            });
        }
    }
}

fn doses(m: &Medication, sig: &Sig, p: &PatientContext, k: &Knowledge, out: &mut Vec<Finding>) {
    for ingredient in &m.ingredients {
        let Some(range) = k.dose_range(&ingredient.key()) else {
            continue;
        };
        if p.age_years.is_none_or(|age| age >= range.under_age_years) {
            continue;
        }
        // A mass unit is the ingredient's own when it is the only one.
        let daily_mg = match mass_in_mg(sig.daily_amount(), &sig.unit) {
            Some(mg) if m.ingredients.len() == 1 => Some(mg),
            Some(_) => None,
            None => ingredient
                .strength
                .as_ref()
                .and_then(|s| s.milligrams_in(sig.daily_amount(), &sig.unit)),
        };
        let subject = format!("{} dose for a child", ingredient.name);
        let Some(weight) = p.weight_kg.filter(|w| *w > 0.0) else {
            out.push(Finding {
                kind: FindingKind::Dose,
                severity: Severity::Moderate,
                subject,
                detail: "No weight in the chart: the dose was not checked against it.".into(),
                advice: "Record the child's weight, then check the dose.".into(),
            });
            continue;
        };
        let Some(daily_mg) = daily_mg else {
            out.push(Finding {
                kind: FindingKind::Dose,
                severity: Severity::Moderate,
                subject,
                detail: format!("The dose in {} could not be counted in mg.", sig.unit),
                advice: "Check the dose by hand.".into(),
            });
            continue;
        };
        let per_kg = daily_mg / weight;
        let shown = |v: f64| format!("{:.1}", v);
        if daily_mg > range.max_mg_per_day || per_kg > range.max_mg_per_kg_day {
            out.push(Finding {
                kind: FindingKind::Dose,
                severity: Severity::Major,
                subject,
                detail: format!(
                    "{} mg a day is {} mg/kg/day at {} kg; the most is {} mg/kg/day and {} mg a day",
                    shown(daily_mg),
                    shown(per_kg),
                    shown(weight),
                    shown(range.max_mg_per_kg_day),
                    shown(range.max_mg_per_day)
                ),
                advice: "Lower the dose or the frequency.".into(),
            });
        } else if per_kg < range.min_mg_per_kg_day {
            out.push(Finding {
                kind: FindingKind::Dose,
                severity: Severity::Moderate,
                subject,
                detail: format!(
                    "{} mg a day is {} mg/kg/day at {} kg; the usual least is {} mg/kg/day",
                    shown(daily_mg),
                    shown(per_kg),
                    shown(weight),
                    shown(range.min_mg_per_kg_day)
                ),
                advice: "A dose this low may not work: check it.".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sig::Frequency;
    use super::super::{DoseRange, DrugClass, Ingredient, Interaction, Strength};
    use super::*;

    fn ingredient(code: &str, name: &str, mg: f64) -> Ingredient {
        Ingredient {
            code: Some(code.into()),
            name: name.into(),
            strength: Some(Strength {
                value: mg,
                unit: "mg".into(),
                per_value: None,
                per_unit: None,
            }),
        }
    }

    fn product(code: &str, name: &str, ingredients: Vec<Ingredient>) -> Medication {
        Medication {
            system: crate::record::RXNORM.into(),
            code: code.into(),
            name: name.into(),
            ingredients,
            dose_form: "Oral Capsule".into(),
            route: "oral".into(),
            schedule: None,
            active: true,
        }
    }

    fn knowledge() -> Knowledge {
        let class = |id: &str, name: &str, members: &[&str], terms: &[&str], dup: bool| DrugClass {
            id: id.into(),
            name: name.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            allergy_terms: terms.iter().map(|t| t.to_string()).collect(),
            allergy_codes: vec![],
            duplicate_therapy: dup,
        };
        Knowledge::new(
            vec![
                class(
                    "penicillins",
                    "penicillins",
                    &["amoxicillin", "penicillin-v"],
                    &["penicillin", "penicillins"],
                    true,
                ),
                class(
                    "nsaids",
                    "NSAIDs",
                    &["ibuprofen", "naproxen"],
                    &["nsaid", "nsaids"],
                    true,
                ),
                class(
                    "qt",
                    "QT-prolonging drugs",
                    &["azithromycin", "citalopram"],
                    &[],
                    false,
                ),
            ],
            vec![
                Interaction {
                    a: Agent::Ingredient("warfarin".into()),
                    b: Agent::Class("nsaids".into()),
                    severity: Severity::Major,
                    mechanism: "NSAIDs add to warfarin's bleeding risk".into(),
                    advice: "Prefer paracetamol; if needed, monitor INR".into(),
                },
                Interaction {
                    a: Agent::Class("qt".into()),
                    b: Agent::Class("qt".into()),
                    severity: Severity::Major,
                    mechanism: "additive QT prolongation".into(),
                    advice: "ECG before and during".into(),
                },
            ],
            vec![DoseRange {
                ingredient: "amoxicillin".into(),
                min_mg_per_kg_day: 20.0,
                max_mg_per_kg_day: 90.0,
                max_mg_per_day: 4000.0,
                under_age_years: 18,
            }],
        )
    }

    fn sig(dose: f64, unit: &str, frequency: Frequency) -> Sig {
        Sig {
            dose,
            unit: unit.into(),
            route: "oral".into(),
            frequency,
            duration_days: Some(7),
            as_needed: None,
            instructions: String::new(),
        }
    }

    fn amoxicillin() -> Medication {
        product(
            "308191",
            "amoxicillin 500 MG Oral Capsule",
            vec![ingredient("amoxicillin", "amoxicillin", 500.0)],
        )
    }

    fn taking(name: &str, ingredients: &[&str]) -> ActiveMedication {
        ActiveMedication {
            name: name.into(),
            ingredients: ingredients.iter().map(|i| i.to_string()).collect(),
        }
    }

    #[test]
    fn a_drug_written_in_words_is_flagged_not_checked_and_checked_for_what_it_names() {
        let k = knowledge();
        let tid = sig(500.0, "mg", Frequency::ThreeTimesDaily);
        let penicillin = PatientContext {
            allergies: vec![AllergyFact {
                code: None,
                text: "Penicillin".into(),
            }],
            ..Default::default()
        };
        let named = Medication::free_text(
            "Amoxicilina 500 mg cápsulas",
            "oral",
            vec!["amoxicillin".into()],
        )
        .unwrap();
        assert!(!named.is_checked());
        let found = check(&named, &tid, &penicillin, &k);
        let kinds: Vec<_> = found.iter().map(|f| (f.kind, f.severity)).collect();
        assert_eq!(
            kinds,
            [
                (FindingKind::Allergy, Severity::Major),
                (FindingKind::NotChecked, Severity::Moderate)
            ]
        );
        assert!(
            found[1].detail.contains("amoxicillin"),
            "{}",
            found[1].detail
        );
        let unknown = Medication::free_text("Magistral cream 2%", "topical", vec![]).unwrap();
        let found = check(&unknown, &tid, &penicillin, &k);
        assert_eq!(found.len(), 1);
        assert!(found[0].detail.contains("nothing was checked"));
        assert!(Medication::free_text("  ", "oral", vec![]).is_err());
        assert!(Medication::free_text("two\nlines", "oral", vec![]).is_err());
        assert!(amoxicillin().is_checked());
    }

    #[test]
    fn a_penicillin_allergy_warns_on_amoxicillin_and_an_amoxicillin_allergy_forbids_it() {
        let k = knowledge();
        let tid = sig(500.0, "mg", Frequency::ThreeTimesDaily);
        let class_allergy = PatientContext {
            allergies: vec![AllergyFact {
                code: None,
                text: "Penicillin".into(),
            }],
            ..Default::default()
        };
        let found = check(&amoxicillin(), &tid, &class_allergy, &k);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].kind, found[0].severity),
            (FindingKind::Allergy, Severity::Major)
        );
        assert!(
            found[0].detail.contains("penicillins"),
            "{}",
            found[0].detail
        );

        let own = PatientContext {
            allergies: vec![AllergyFact {
                code: Some("amoxicillin".into()),
                text: "Amoxil".into(),
            }],
            ..Default::default()
        };
        let found = check(&amoxicillin(), &tid, &own, &k);
        assert_eq!(found[0].severity, Severity::Contraindicated);

        let unrelated = PatientContext {
            allergies: vec![AllergyFact {
                code: None,
                text: "Latex".into(),
            }],
            ..Default::default()
        };
        assert!(check(&amoxicillin(), &tid, &unrelated, &k).is_empty());
    }

    #[test]
    fn warfarin_with_an_nsaid_is_a_major_interaction_either_way_round() {
        let k = knowledge();
        let ibuprofen = product(
            "197806",
            "ibuprofen 400 MG Oral Tablet",
            vec![ingredient("ibuprofen", "ibuprofen", 400.0)],
        );
        let on_warfarin = PatientContext {
            active: vec![taking("warfarin 5 MG Oral Tablet", &["warfarin"])],
            ..Default::default()
        };
        let found = check(
            &ibuprofen,
            &sig(1.0, "tablet", Frequency::Hours(8)),
            &on_warfarin,
            &k,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].kind, found[0].severity),
            (FindingKind::Interaction, Severity::Major)
        );
        assert_eq!(found[0].subject, "ibuprofen + warfarin 5 MG Oral Tablet");

        let warfarin = product(
            "855332",
            "warfarin 5 MG Oral Tablet",
            vec![ingredient("warfarin", "warfarin", 5.0)],
        );
        let on_naproxen = PatientContext {
            active: vec![taking("naproxen", &["naproxen"])],
            ..Default::default()
        };
        let found = check(
            &warfarin,
            &sig(5.0, "mg", Frequency::OnceDaily),
            &on_naproxen,
            &k,
        );
        assert_eq!(found[0].severity, Severity::Major);
    }

    #[test]
    fn a_class_interacting_with_itself_is_found_once_and_is_not_duplicate_therapy() {
        let k = knowledge();
        let azithro = product(
            "308460",
            "azithromycin 250 MG Oral Tablet",
            vec![ingredient("azithromycin", "azithromycin", 250.0)],
        );
        let on_citalopram = PatientContext {
            active: vec![taking("citalopram 20 MG", &["citalopram"])],
            ..Default::default()
        };
        let found = check(
            &azithro,
            &sig(250.0, "mg", Frequency::OnceDaily),
            &on_citalopram,
            &k,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, FindingKind::Interaction);
    }

    #[test]
    fn the_same_ingredient_or_two_of_a_class_is_duplicate_therapy() {
        let k = knowledge();
        let ibuprofen = product(
            "197806",
            "ibuprofen 400 MG Oral Tablet",
            vec![ingredient("ibuprofen", "ibuprofen", 400.0)],
        );
        let tid = sig(1.0, "tablet", Frequency::ThreeTimesDaily);
        let same = PatientContext {
            active: vec![taking("ibuprofen 200 MG", &["ibuprofen"])],
            ..Default::default()
        };
        let found = check(&ibuprofen, &tid, &same, &k);
        assert_eq!(
            (found[0].kind, found[0].severity),
            (FindingKind::Duplicate, Severity::Major)
        );
        let class = PatientContext {
            active: vec![taking("naproxen 500 MG", &["naproxen"])],
            ..Default::default()
        };
        let found = check(&ibuprofen, &tid, &class, &k);
        assert_eq!(
            (found[0].kind, found[0].severity),
            (FindingKind::Duplicate, Severity::Moderate)
        );
    }

    #[test]
    fn a_childs_daily_dose_is_held_to_mg_per_kg_from_the_latest_weight() {
        let k = knowledge();
        let child = |weight| PatientContext {
            weight_kg: weight,
            age_years: Some(4),
            ..Default::default()
        };
        // 500 mg three times a day is 1500 mg/day: 93.8 mg/kg/day at 16 kg, too much.
        let found = check(
            &amoxicillin(),
            &sig(500.0, "mg", Frequency::ThreeTimesDaily),
            &child(Some(16.0)),
            &k,
        );
        assert_eq!(
            (found[0].kind, found[0].severity),
            (FindingKind::Dose, Severity::Major),
            "{found:?}"
        );
        assert!(
            found[0].detail.contains("93.8 mg/kg/day"),
            "{}",
            found[0].detail
        );
        // 250 mg (half a capsule's worth, counted through the strength) twice a day: 31 mg/kg/day.
        assert!(check(
            &amoxicillin(),
            &sig(250.0, "mg", Frequency::TwiceDaily),
            &child(Some(16.0)),
            &k
        )
        .is_empty());
        // One capsule a day is 500 mg: 31 mg/kg/day, fine; counted through the strength.
        assert!(check(
            &amoxicillin(),
            &sig(1.0, "capsule", Frequency::OnceDaily),
            &child(Some(16.0)),
            &k
        )
        .is_empty());
        // 100 mg a day at 16 kg: 6.3 mg/kg/day, below the usual least.
        let low = check(
            &amoxicillin(),
            &sig(100.0, "mg", Frequency::OnceDaily),
            &child(Some(16.0)),
            &k,
        );
        assert_eq!(low[0].severity, Severity::Moderate);
        // No weight: said, not guessed.
        let unweighed = check(
            &amoxicillin(),
            &sig(250.0, "mg", Frequency::TwiceDaily),
            &child(None),
            &k,
        );
        assert!(
            unweighed[0].detail.starts_with("No weight"),
            "{unweighed:?}"
        );
        // Adults are not held to the children's range.
        let adult = PatientContext {
            weight_kg: Some(16.0),
            age_years: Some(30),
            ..Default::default()
        };
        assert!(check(
            &amoxicillin(),
            &sig(500.0, "mg", Frequency::ThreeTimesDaily),
            &adult,
            &k
        )
        .is_empty());
    }

    #[test]
    fn findings_come_most_serious_first() {
        let k = knowledge();
        let p = PatientContext {
            allergies: vec![AllergyFact {
                code: None,
                text: "penicillins".into(),
            }],
            active: vec![taking("amoxicillin 250 MG", &["amoxicillin"])],
            weight_kg: None,
            age_years: Some(5),
        };
        let found = check(
            &amoxicillin(),
            &sig(250.0, "mg", Frequency::TwiceDaily),
            &p,
            &k,
        );
        let order: Vec<_> = found.iter().map(|f| (f.severity, f.kind)).collect();
        assert_eq!(
            order,
            vec![
                (Severity::Major, FindingKind::Allergy),
                (Severity::Major, FindingKind::Duplicate),
                (Severity::Moderate, FindingKind::Dose),
            ]
        );
    }
}
