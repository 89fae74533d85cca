//! E-prescribing's knowledge, without IO: the medication catalogue's entries, drug
//! classes, the interaction pairs, the pediatric dose ranges, and the structured sig
//! (`sig`). `Knowledge` indexes them once so that `checks` — allergies, interactions,
//! duplicate therapy, weight-based doses — is a few lookups per medication.

pub mod checks;
pub mod dispensing;
pub mod interactions_csv;
pub mod prescription;
pub mod renewal;
pub mod rxnorm;
pub mod sig;
pub mod starter;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How a finding or an interaction weighs, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Contraindicated,
    Major,
    Moderate,
    Minor,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Contraindicated,
        Severity::Major,
        Severity::Moderate,
        Severity::Minor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Contraindicated => "contraindicated",
            Severity::Major => "major",
            Severity::Moderate => "moderate",
            Severity::Minor => "minor",
        }
    }

    pub fn parse(s: &str) -> Result<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                Error::invalid("severity", "one of contraindicated, major, moderate, minor")
            })
    }

    /// Signing over a finding this serious needs a stated reason.
    pub fn needs_override_reason(self) -> bool {
        matches!(self, Severity::Contraindicated | Severity::Major)
    }
}

/// A controlled substance's schedule (US DEA), when it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    #[serde(rename = "II")]
    II,
    #[serde(rename = "III")]
    III,
    #[serde(rename = "IV")]
    IV,
    #[serde(rename = "V")]
    V,
}

impl Schedule {
    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::II => "II",
            Schedule::III => "III",
            Schedule::IV => "IV",
            Schedule::V => "V",
        }
    }

    pub fn parse(s: &str) -> Result<Schedule> {
        match s.trim() {
            "II" | "2" => Ok(Schedule::II),
            "III" | "3" => Ok(Schedule::III),
            "IV" | "4" => Ok(Schedule::IV),
            "V" | "5" => Ok(Schedule::V),
            _ => Err(Error::invalid("schedule", "one of II, III, IV, V")),
        }
    }
}

/// How much of an ingredient one unit of the product holds: `value` `unit` (per
/// `per_value` `per_unit` for liquids, e.g. 250 mg per 5 mL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Strength {
    pub value: f64,
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_unit: Option<String>,
}

impl Strength {
    /// Milligrams of the ingredient in `amount` of `unit` of the product (a tablet,
    /// 5 mL…), when the units allow it.
    pub fn milligrams_in(&self, amount: f64, unit: &str) -> Option<f64> {
        let mg = mass_in_mg(self.value, &self.unit)?;
        match (&self.per_value, &self.per_unit) {
            (Some(per), Some(per_unit)) => {
                let given = volume_in_ml(amount, unit)?;
                let per = volume_in_ml(*per, per_unit)?;
                (per > 0.0).then(|| mg * given / per)
            }
            // A solid unit: the dose counts units (tablets, capsules).
            _ => is_count_unit(unit).then_some(mg * amount),
        }
    }
}

/// An amount as people write it: up to four decimals, no trailing zeros (500, 2.5,
/// 0.0045).
pub fn format_amount(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `value` of a mass unit, in milligrams.
pub fn mass_in_mg(value: f64, unit: &str) -> Option<f64> {
    match unit.trim().to_ascii_lowercase().as_str() {
        "mg" => Some(value),
        "g" => Some(value * 1000.0),
        "mcg" | "ug" | "µg" => Some(value / 1000.0),
        _ => None,
    }
}

fn volume_in_ml(value: f64, unit: &str) -> Option<f64> {
    match unit.trim().to_ascii_lowercase().as_str() {
        "ml" => Some(value),
        "l" => Some(value * 1000.0),
        _ => None,
    }
}

/// Units that count whole products (a dose of 2 tablets).
pub fn is_count_unit(unit: &str) -> bool {
    matches!(
        unit.trim().to_ascii_lowercase().as_str(),
        "tablet"
            | "tablets"
            | "capsule"
            | "capsules"
            | "unit"
            | "units"
            | "puff"
            | "puffs"
            | "patch"
            | "suppository"
            | "drop"
            | "drops"
    )
}

/// One active ingredient of a product. The knowledge (classes, interactions, dose
/// ranges, allergies) names ingredients by `key`: their generic name in lower case,
/// the same in every catalogue, so it holds for RxNorm and for a national one alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingredient {
    /// The generic name ("amoxicillin").
    pub name: String,
    /// The ingredient's code in the catalogue's code system (RxNorm: its IN concept),
    /// when the catalogue gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<Strength>,
}

/// A product of the medication catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Medication {
    /// The catalogue it is from (`http://www.nlm.nih.gov/research/umls/rxnorm`, or another
    /// national catalogue's system).
    pub system: String,
    pub code: String,
    pub name: String,
    pub ingredients: Vec<Ingredient>,
    pub dose_form: String,
    pub route: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The code system of a drug written in words rather than chosen from the catalogue:
/// prescribed only with a visible "not checked" flag.
pub const FREE_TEXT_SYSTEM: &str = "urn:telemed:free-text";

impl Medication {
    /// A drug written in words (`name`, taken `route`), with the ingredients recognised
    /// in its name (the checks see only those). Refused when the name is empty, over
    /// 200 characters or not one line.
    pub fn free_text(name: &str, route: &str, recognised: Vec<String>) -> Result<Medication> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "free_text",
                "write the drug's name, strength and form on one line (at most 200 characters)",
            ));
        }
        Ok(Medication {
            system: FREE_TEXT_SYSTEM.to_owned(),
            code: String::new(),
            name: name.to_owned(),
            ingredients: recognised
                .into_iter()
                .map(|name| Ingredient {
                    name,
                    code: None,
                    strength: None,
                })
                .collect(),
            dose_form: String::new(),
            route: route.trim().to_owned(),
            schedule: None,
            active: true,
        })
    }

    /// Whether it comes from a catalogue, so that the checks know what it holds; a drug
    /// written in words is "not checked".
    pub fn is_checked(&self) -> bool {
        self.system != FREE_TEXT_SYSTEM
    }
}

impl Ingredient {
    /// The name the knowledge knows it by.
    pub fn key(&self) -> String {
        ingredient_key(&self.name)
    }
}

/// The salts and esters a product's ingredient is named with ("warfarin sodium",
/// "metoprolol succinate") that the knowledge leaves out.
const SALT_WORDS: [&str; 26] = [
    "acetate",
    "aspartate",
    "axetil",
    "besylate",
    "bitartrate",
    "calcium",
    "carbonate",
    "chloride",
    "citrate",
    "dipropionate",
    "fumarate",
    "hyclate",
    "hydrobromide",
    "hydrochloride",
    "maleate",
    "medoxomil",
    "mesylate",
    "monohydrate",
    "phosphate",
    "potassium",
    "propionate",
    "saccharate",
    "sodium",
    "succinate",
    "sulfate",
    "tartrate",
];

/// An ingredient's name as the knowledge keys it: lower case, single spaces, without
/// the salt ("Warfarin Sodium" → "warfarin"); a name that is nothing but salt words
/// ("potassium chloride") keeps them all.
pub fn ingredient_key(name: &str) -> String {
    let words: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
    let kept: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !SALT_WORDS.contains(w))
        .collect();
    if kept.is_empty() {
        words.join(" ")
    } else {
        kept.join(" ")
    }
}

/// A class of drugs: its members' ingredients and the words and codes an allergy to
/// the class is recorded under ("penicillin", SNOMED CT's penicillin substance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrugClass {
    pub id: String,
    pub name: String,
    /// The ingredients of the class (their keys: `ingredient_key`).
    pub members: Vec<String>,
    /// Lower-case terms an allergy to the class is written as.
    #[serde(default)]
    pub allergy_terms: Vec<String>,
    /// Codes (SNOMED CT or RxNorm) an allergy to the class is coded as.
    #[serde(default)]
    pub allergy_codes: Vec<String>,
    /// Whether two members taken together are duplicate therapy (NSAIDs, SSRIs…); some
    /// classes are broad on purpose and not (QT-prolonging drugs).
    #[serde(default = "yes")]
    pub duplicate_therapy: bool,
}

/// One side of an interaction: an ingredient (by key) or a class (by id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Agent {
    Ingredient(String),
    Class(String),
}

/// A known interaction between two agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub a: Agent,
    pub b: Agent,
    pub severity: Severity,
    pub mechanism: String,
    pub advice: String,
}

/// A weight-based daily dose range of an ingredient for children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoseRange {
    pub ingredient: String,
    pub min_mg_per_kg_day: f64,
    pub max_mg_per_kg_day: f64,
    /// Never more than this a day, whatever the weight (the adult maximum).
    pub max_mg_per_day: f64,
    /// Applies below this age.
    pub under_age_years: u32,
}

/// The knowledge the checks consult, indexed for lookups.
#[derive(Debug, Default)]
pub struct Knowledge {
    classes: HashMap<String, DrugClass>,
    /// Ingredient code → the classes it belongs to.
    classes_of: HashMap<String, Vec<String>>,
    /// Ordered pair → interaction.
    pairs: HashMap<(Agent, Agent), Interaction>,
    doses: HashMap<String, DoseRange>,
    /// Allergy terms and codes → the classes they name.
    allergens: HashMap<String, HashSet<String>>,
}

fn ordered(a: &Agent, b: &Agent) -> (Agent, Agent) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

impl Knowledge {
    pub fn new(
        classes: Vec<DrugClass>,
        interactions: Vec<Interaction>,
        doses: Vec<DoseRange>,
    ) -> Knowledge {
        let mut k = Knowledge::default();
        for class in classes {
            for member in &class.members {
                k.classes_of
                    .entry(ingredient_key(member))
                    .or_default()
                    .push(class.id.clone());
            }
            for key in class.allergy_terms.iter().chain(&class.allergy_codes) {
                k.allergens
                    .entry(key.trim().to_lowercase())
                    .or_default()
                    .insert(class.id.clone());
            }
            k.classes.insert(class.id.clone(), class);
        }
        let key = |agent: &Agent| match agent {
            Agent::Ingredient(name) => Agent::Ingredient(ingredient_key(name)),
            class => class.clone(),
        };
        for i in interactions {
            k.pairs.insert(ordered(&key(&i.a), &key(&i.b)), i);
        }
        for d in doses {
            k.doses.insert(ingredient_key(&d.ingredient), d);
        }
        k
    }

    pub fn class(&self, id: &str) -> Option<&DrugClass> {
        self.classes.get(id)
    }

    /// The classes an ingredient (by key) belongs to.
    pub fn classes_of(&self, ingredient: &str) -> &[String] {
        self.classes_of
            .get(ingredient)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The interaction between two agents, either way round.
    pub fn interaction(&self, a: &Agent, b: &Agent) -> Option<&Interaction> {
        self.pairs.get(&ordered(a, b))
    }

    pub fn dose_range(&self, ingredient: &str) -> Option<&DoseRange> {
        self.doses.get(ingredient)
    }

    /// The classes an allergy term or code names.
    pub fn allergen_classes(&self, term_or_code: &str) -> Option<&HashSet<String>> {
        self.allergens.get(&term_or_code.trim().to_lowercase())
    }

    pub fn interaction_count(&self) -> usize {
        self.pairs.len()
    }

    pub fn classes(&self) -> impl Iterator<Item = &DrugClass> {
        self.classes.values()
    }
}
