//! The structured sig — how to take a medication — validated, counted (how much a day)
//! and written out for the patient and the pharmacy in English or Spanish.

use serde::{Deserialize, Serialize};

use super::format_amount;
use crate::{Error, Result};

/// How often a dose is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "every", content = "hours", rename_all = "snake_case")]
pub enum Frequency {
    OnceDaily,
    TwiceDaily,
    ThreeTimesDaily,
    FourTimesDaily,
    AtBedtime,
    /// Every `n` hours (1 to 72).
    Hours(u32),
    Weekly,
}

impl Frequency {
    /// The fixed frequencies by their codes, for forms (every few hours is `every_hours`).
    pub const CODES: [(&'static str, Frequency); 6] = [
        ("once_daily", Frequency::OnceDaily),
        ("twice_daily", Frequency::TwiceDaily),
        ("three_times_daily", Frequency::ThreeTimesDaily),
        ("four_times_daily", Frequency::FourTimesDaily),
        ("at_bedtime", Frequency::AtBedtime),
        ("weekly", Frequency::Weekly),
    ];

    /// The frequency a form names by its code, with the hours for `every_hours`.
    pub fn from_code(code: &str, every_hours: Option<u32>) -> Result<Frequency> {
        match (code, every_hours) {
            ("every_hours", Some(h)) => Ok(Frequency::Hours(h)),
            ("every_hours", None) => Err(Error::invalid(
                "sig.every_hours",
                "say every how many hours",
            )),
            (_, Some(_)) => Err(Error::invalid(
                "sig.every_hours",
                "every_hours goes with the frequency every_hours",
            )),
            (code, None) => Frequency::CODES
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, f)| *f)
                .ok_or_else(|| Error::invalid("sig.frequency", "choose how often")),
        }
    }

    /// The form's code of the frequency, with the hours for every few hours.
    pub fn code(self) -> (&'static str, Option<u32>) {
        match self {
            Frequency::Hours(h) => ("every_hours", Some(h)),
            fixed => Frequency::CODES
                .iter()
                .find(|(_, f)| *f == fixed)
                .map_or(("once_daily", None), |(c, _)| (*c, None)),
        }
    }

    /// Doses in a day (a weekly dose counts as a seventh).
    pub fn per_day(self) -> f64 {
        match self {
            Frequency::OnceDaily | Frequency::AtBedtime => 1.0,
            Frequency::TwiceDaily => 2.0,
            Frequency::ThreeTimesDaily => 3.0,
            Frequency::FourTimesDaily => 4.0,
            Frequency::Hours(h) => 24.0 / f64::from(h.max(1)),
            Frequency::Weekly => 1.0 / 7.0,
        }
    }
}

/// The languages a sig is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Spanish,
}

/// How to take a medication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sig {
    /// How much per dose, in `unit`.
    pub dose: f64,
    /// `mg`, `mL`, `tablet`, `capsule`, `puff`…
    pub unit: String,
    /// `oral`, `topical`, `inhaled`…
    pub route: String,
    pub frequency: Frequency,
    /// For how many days; none for an ongoing medication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<u32>,
    /// Only when needed, for this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_needed: Option<String>,
    /// Anything else the patient should know ("with food").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instructions: String,
}

const MAX_TEXT: usize = 500;

impl Sig {
    /// Checks the sig, naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        if !(self.dose.is_finite() && self.dose > 0.0 && self.dose <= 100_000.0) {
            return Err(Error::invalid("sig.dose", "a dose is a positive amount"));
        }
        if self.unit.trim().is_empty() || self.unit.len() > 20 {
            return Err(Error::invalid(
                "sig.unit",
                "name the dose's unit (mg, mL, tablet…)",
            ));
        }
        if self.route.trim().is_empty() || self.route.len() > 40 {
            return Err(Error::invalid(
                "sig.route",
                "name the route (oral, topical…)",
            ));
        }
        if let Frequency::Hours(h) = self.frequency {
            if !(1..=72).contains(&h) {
                return Err(Error::invalid("sig.frequency", "every 1 to 72 hours"));
            }
        }
        if self.duration_days.is_some_and(|d| d == 0 || d > 365) {
            return Err(Error::invalid(
                "sig.duration_days",
                "a duration of 1 to 365 days, or none for an ongoing medication",
            ));
        }
        if self
            .as_needed
            .as_ref()
            .is_some_and(|r| r.trim().is_empty() || r.chars().count() > MAX_TEXT)
        {
            return Err(Error::invalid(
                "sig.as_needed",
                "say what the medication is taken for when needed",
            ));
        }
        if self.instructions.chars().count() > MAX_TEXT {
            return Err(Error::invalid(
                "sig.instructions",
                format!("keep instructions under {MAX_TEXT} characters"),
            ));
        }
        Ok(())
    }

    /// How much a day at most, in the dose's unit.
    pub fn daily_amount(&self) -> f64 {
        self.dose * self.frequency.per_day()
    }

    /// The sig in words: "Take 500 mg by mouth three times a day for 7 days. With food."
    pub fn text(&self, lang: Language) -> String {
        let amount = format_amount(self.dose);
        let unit = unit_word(&self.unit, self.dose, lang);
        let route = route_words(&self.route, lang);
        let often = frequency_words(self.frequency, lang);
        let mut text = match lang {
            Language::English => format!("Take {amount} {unit} {route} {often}"),
            Language::Spanish => format!("Tomar {amount} {unit} {route} {often}"),
        };
        if let Some(days) = self.duration_days {
            text.push_str(&match (lang, days) {
                (Language::English, 1) => " for 1 day".to_owned(),
                (Language::English, d) => format!(" for {d} days"),
                (Language::Spanish, 1) => " durante 1 día".to_owned(),
                (Language::Spanish, d) => format!(" durante {d} días"),
            });
        }
        if let Some(reason) = &self.as_needed {
            text.push_str(&match lang {
                Language::English => format!(" as needed for {}", reason.trim()),
                Language::Spanish => format!(" si es necesario para {}", reason.trim()),
            });
        }
        text.push('.');
        if !self.instructions.trim().is_empty() {
            text.push(' ');
            text.push_str(self.instructions.trim());
        }
        text
    }
}

fn unit_word(unit: &str, amount: f64, lang: Language) -> String {
    let many = (amount - 1.0).abs() > f64::EPSILON;
    let word = |en: &str, ens: &str, es: &str, ess: &str| {
        match (lang, many) {
            (Language::English, false) => en,
            (Language::English, true) => ens,
            (Language::Spanish, false) => es,
            (Language::Spanish, true) => ess,
        }
        .to_owned()
    };
    match unit.trim().to_ascii_lowercase().as_str() {
        "tablet" | "tablets" => word("tablet", "tablets", "comprimido", "comprimidos"),
        "capsule" | "capsules" => word("capsule", "capsules", "cápsula", "cápsulas"),
        "puff" | "puffs" => word("puff", "puffs", "inhalación", "inhalaciones"),
        "drop" | "drops" => word("drop", "drops", "gota", "gotas"),
        "patch" => word("patch", "patches", "parche", "parches"),
        "ml" => "mL".to_owned(),
        other => other.to_owned(),
    }
}

fn route_words(route: &str, lang: Language) -> String {
    let r = route.trim().to_ascii_lowercase();
    let known = match (r.as_str(), lang) {
        ("oral", Language::English) => "by mouth",
        ("oral", Language::Spanish) => "por vía oral",
        ("topical", Language::English) => "on the skin",
        ("topical", Language::Spanish) => "sobre la piel",
        ("inhaled", Language::English) => "by inhalation",
        ("inhaled", Language::Spanish) => "por vía inhalada",
        ("sublingual", Language::English) => "under the tongue",
        ("sublingual", Language::Spanish) => "debajo de la lengua",
        ("ophthalmic", Language::English) => "in the eye",
        ("ophthalmic", Language::Spanish) => "en el ojo",
        ("otic", Language::English) => "in the ear",
        ("otic", Language::Spanish) => "en el oído",
        ("nasal", Language::English) => "in the nose",
        ("nasal", Language::Spanish) => "por vía nasal",
        ("rectal", Language::English) => "rectally",
        ("rectal", Language::Spanish) => "por vía rectal",
        ("subcutaneous", Language::English) => "under the skin (injection)",
        ("subcutaneous", Language::Spanish) => "por vía subcutánea",
        ("transdermal", Language::English) => "as a patch on the skin",
        ("transdermal", Language::Spanish) => "como parche sobre la piel",
        _ => "",
    };
    if known.is_empty() {
        match lang {
            Language::English => format!("by the {r} route"),
            Language::Spanish => format!("por vía {r}"),
        }
    } else {
        known.to_owned()
    }
}

fn frequency_words(f: Frequency, lang: Language) -> String {
    match (f, lang) {
        (Frequency::OnceDaily, Language::English) => "once a day".into(),
        (Frequency::OnceDaily, Language::Spanish) => "una vez al día".into(),
        (Frequency::TwiceDaily, Language::English) => "twice a day".into(),
        (Frequency::TwiceDaily, Language::Spanish) => "dos veces al día".into(),
        (Frequency::ThreeTimesDaily, Language::English) => "three times a day".into(),
        (Frequency::ThreeTimesDaily, Language::Spanish) => "tres veces al día".into(),
        (Frequency::FourTimesDaily, Language::English) => "four times a day".into(),
        (Frequency::FourTimesDaily, Language::Spanish) => "cuatro veces al día".into(),
        (Frequency::AtBedtime, Language::English) => "at bedtime".into(),
        (Frequency::AtBedtime, Language::Spanish) => "al acostarse".into(),
        (Frequency::Hours(1), Language::English) => "every hour".into(),
        (Frequency::Hours(1), Language::Spanish) => "cada hora".into(),
        (Frequency::Hours(h), Language::English) => format!("every {h} hours"),
        (Frequency::Hours(h), Language::Spanish) => format!("cada {h} horas"),
        (Frequency::Weekly, Language::English) => "once a week".into(),
        (Frequency::Weekly, Language::Spanish) => "una vez a la semana".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amoxicillin() -> Sig {
        Sig {
            dose: 500.0,
            unit: "mg".into(),
            route: "oral".into(),
            frequency: Frequency::ThreeTimesDaily,
            duration_days: Some(7),
            as_needed: None,
            instructions: "With food.".into(),
        }
    }

    #[test]
    fn a_sig_reads_as_a_sentence_in_english_and_spanish() {
        let sig = amoxicillin();
        assert_eq!(
            sig.text(Language::English),
            "Take 500 mg by mouth three times a day for 7 days. With food."
        );
        assert_eq!(
            sig.text(Language::Spanish),
            "Tomar 500 mg por vía oral tres veces al día durante 7 días. With food."
        );
        let prn = Sig {
            dose: 1.0,
            unit: "tablet".into(),
            frequency: Frequency::Hours(6),
            duration_days: None,
            as_needed: Some("pain".into()),
            instructions: String::new(),
            ..amoxicillin()
        };
        assert_eq!(
            prn.text(Language::English),
            "Take 1 tablet by mouth every 6 hours as needed for pain."
        );
        assert_eq!(
            Sig {
                dose: 2.5,
                unit: "mL".into(),
                ..prn.clone()
            }
            .text(Language::Spanish),
            "Tomar 2.5 mL por vía oral cada 6 horas si es necesario para pain."
        );
    }

    #[test]
    fn a_sig_counts_its_daily_amount_and_refuses_what_is_not_a_dose() {
        assert_eq!(amoxicillin().daily_amount(), 1500.0);
        let q6 = Sig {
            frequency: Frequency::Hours(6),
            ..amoxicillin()
        };
        assert_eq!(q6.daily_amount(), 2000.0);
        assert!(amoxicillin().validate().is_ok());
        for (bad, field) in [
            (
                Sig {
                    dose: 0.0,
                    ..amoxicillin()
                },
                "sig.dose",
            ),
            (
                Sig {
                    dose: f64::NAN,
                    ..amoxicillin()
                },
                "sig.dose",
            ),
            (
                Sig {
                    unit: " ".into(),
                    ..amoxicillin()
                },
                "sig.unit",
            ),
            (
                Sig {
                    frequency: Frequency::Hours(0),
                    ..amoxicillin()
                },
                "sig.frequency",
            ),
            (
                Sig {
                    duration_days: Some(0),
                    ..amoxicillin()
                },
                "sig.duration_days",
            ),
            (
                Sig {
                    as_needed: Some(" ".into()),
                    ..amoxicillin()
                },
                "sig.as_needed",
            ),
        ] {
            match bad.validate() {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
