//! The clinic as its admins describe it: name, how to reach it, its zone, the languages
//! and kinds of visit it offers (with the duration and fee a new clinician starts
//! from), and its scheduling policy (reminders, the patients' cut-off for changes, when
//! the waiting room opens, when a patient who did not come is a no-show). Checked here,
//! kept by the store as one document with a revision.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::schedule::{validate_minutes, VisitKind};
use crate::{Error, Result};

/// One kind of visit as the clinic offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VisitOffer {
    pub kind: VisitKind,
    /// Whether patients may book this kind at all.
    pub offered: bool,
    /// Where a new clinician's schedule starts; each clinician sets their own.
    pub duration_minutes: i64,
    pub fee_cents: i64,
}

/// Settings saved before a field existed read with that field's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ClinicSettings {
    pub name: String,
    /// How patients reach the clinic by phone, as it is dialled (e.g. `+34 910 000 000`).
    pub phone: String,
    /// A contact address for patients (not the address emails come from).
    pub email: String,
    /// The postal address, one or more lines.
    pub address: String,
    /// When the clinic answers its phone, as people say it ("Mon–Fri 8:00–18:00").
    pub hours: String,
    /// An IANA zone: guests' pages and the clinic's own times when no clinician's zone
    /// applies; a new clinician's schedule starts in it.
    pub time_zone: String,
    /// The languages the clinic's pages and emails are offered in (codes such as `en`).
    pub languages: Vec<String>,
    /// The language of someone whose browser asks for none the clinic offers.
    pub default_language: String,
    /// ISO 4217, e.g. `EUR`: fees of newly saved schedules are in it.
    pub currency: String,
    pub visits: Vec<VisitOffer>,
    /// Reminders go this many hours before a visit (none, one or more).
    pub reminder_hours: Vec<i64>,
    /// Patients may move or cancel online until this many hours before a visit.
    pub patient_cancel_cutoff_hours: i64,
    /// Patients can check in from this many minutes before their visit.
    pub check_in_opens_minutes: i64,
    /// A booked patient not checked in this long after the start is a no-show.
    pub noshow_grace_minutes: i64,
    /// The specialties (as clinicians name theirs) in which patients may ask to be seen
    /// now: each has an on-demand queue that its clinicians take patients from.
    pub on_demand: Vec<String>,
}

impl Default for ClinicSettings {
    fn default() -> Self {
        let offer = |kind, duration_minutes| VisitOffer {
            kind,
            offered: true,
            duration_minutes,
            fee_cents: 0,
        };
        ClinicSettings {
            name: "telemed".into(),
            phone: String::new(),
            email: String::new(),
            address: String::new(),
            hours: String::new(),
            time_zone: "UTC".into(),
            languages: vec!["en".into(), "es".into()],
            default_language: "en".into(),
            currency: "EUR".into(),
            visits: vec![
                offer(VisitKind::Video, 30),
                offer(VisitKind::Audio, 20),
                offer(VisitKind::Messaging, 15),
            ],
            reminder_hours: vec![24, 1],
            patient_cancel_cutoff_hours: 24,
            check_in_opens_minutes: 15,
            noshow_grace_minutes: 15,
            on_demand: Vec::new(),
        }
    }
}

/// A line of text a person typed: trimmed, no control characters, at most `max`
/// characters; empty when `optional`.
fn line(
    field: &'static str,
    what: &str,
    value: &str,
    max: usize,
    optional: bool,
) -> Result<String> {
    let value = value.trim();
    if value.is_empty() && !optional {
        return Err(Error::invalid(field, format!("write the clinic's {what}")));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("the {what} is one line of at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn phone(value: &str) -> Result<String> {
    let value = line("phone", "phone number", value, 40, true)?;
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    if !value.is_empty() && (digits < 3 || !value.chars().all(allowed)) {
        return Err(Error::invalid(
            "phone",
            "a phone number is digits, spaces and + - ( ) . only, e.g. +34 910 000 000",
        ));
    }
    Ok(value)
}

impl ClinicSettings {
    /// Checks and tidies what an admin wrote; `known_languages` are the languages the
    /// server has texts for. The first refusal names the field and what to write.
    pub fn validated(mut self, known_languages: &[&str]) -> Result<Self> {
        self.name = line("name", "name", &self.name, 100, false)?;
        self.phone = phone(&self.phone)?;
        self.email = line("email", "email address", &self.email, 200, true)?;
        if !self.email.is_empty() {
            self.email = crate::Email::parse(&self.email)
                .map_err(|_| {
                    Error::invalid(
                        "email",
                        "write an email address such as desk@clinic.example",
                    )
                })?
                .as_str()
                .to_owned();
        }
        self.time_zone = crate::schedule::parse_time_zone(self.time_zone.trim())?
            .name()
            .to_owned();
        self.hours = line("hours", "opening hours", &self.hours, 200, true)?;
        let address = self.address.replace("\r\n", "\n");
        let address = address.trim();
        if address.chars().count() > 500
            || address.lines().count() > 6
            || address.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(Error::invalid(
                "address",
                "the address is at most 6 lines and 500 characters",
            ));
        }
        self.address = address
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n");
        let mut languages = Vec::new();
        for code in &self.languages {
            let code = code.trim().to_ascii_lowercase();
            if !known_languages.contains(&code.as_str()) {
                return Err(Error::invalid(
                    "languages",
                    format!(
                        "offer languages telemed speaks: {}",
                        known_languages.join(", ")
                    ),
                ));
            }
            if !languages.contains(&code) {
                languages.push(code);
            }
        }
        if languages.is_empty() {
            return Err(Error::invalid("languages", "offer at least one language"));
        }
        self.languages = languages;
        self.default_language = self.default_language.trim().to_ascii_lowercase();
        if !self.languages.contains(&self.default_language) {
            return Err(Error::invalid(
                "default_language",
                "the default language is one of the languages offered",
            ));
        }
        self.currency = self.currency.trim().to_ascii_uppercase();
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "currency",
                "a currency is three letters, such as EUR or USD",
            ));
        }
        let mut visits = Vec::new();
        for kind in VisitKind::ALL {
            let mut same = self.visits.iter().filter(|v| v.kind == kind);
            let offer = match (same.next(), same.next()) {
                (Some(offer), None) => offer.clone(),
                (None, _) => VisitOffer {
                    kind,
                    offered: false,
                    duration_minutes: 30,
                    fee_cents: 0,
                },
                (Some(_), Some(_)) => {
                    return Err(Error::invalid("visits", "name each kind of visit once"))
                }
            };
            validate_minutes("duration_minutes", offer.duration_minutes, 5, 240)?;
            if !(0..=10_000_000).contains(&offer.fee_cents) {
                return Err(Error::invalid(
                    "fee",
                    "a fee is 0 to 100000.00, in the clinic's currency",
                ));
            }
            visits.push(offer);
        }
        if !visits.iter().any(|v| v.offered) {
            return Err(Error::invalid("visits", "offer at least one kind of visit"));
        }
        self.visits = visits;
        let mut reminders = self.reminder_hours.clone();
        reminders.sort_unstable_by(|a, b| b.cmp(a));
        reminders.dedup();
        if reminders.len() > 5 || reminders.iter().any(|h| !(1..=336).contains(h)) {
            return Err(Error::invalid(
                "reminder_hours",
                "up to 5 reminders, each 1 to 336 hours before the visit",
            ));
        }
        self.reminder_hours = reminders;
        let within =
            |field: &'static str, value: i64, range: std::ops::RangeInclusive<i64>, what: &str| {
                if range.contains(&value) {
                    Ok(())
                } else {
                    Err(Error::invalid(
                        field,
                        format!("{what} is {} to {}", range.start(), range.end()),
                    ))
                }
            };
        within(
            "patient_cancel_cutoff_hours",
            self.patient_cancel_cutoff_hours,
            0..=336,
            "the cut-off for changes by patients, in hours,",
        )?;
        within(
            "check_in_opens_minutes",
            self.check_in_opens_minutes,
            1..=120,
            "how early check-in opens, in minutes,",
        )?;
        within(
            "noshow_grace_minutes",
            self.noshow_grace_minutes,
            1..=240,
            "the wait before a no-show, in minutes,",
        )?;
        let mut on_demand: Vec<String> = Vec::new();
        for specialty in &self.on_demand {
            let specialty = line("on_demand", "specialty", specialty, 100, true)?;
            if !specialty.is_empty()
                && !on_demand.iter().any(|s| s.eq_ignore_ascii_case(&specialty))
            {
                on_demand.push(specialty);
            }
        }
        if on_demand.len() > 20 {
            return Err(Error::invalid(
                "on_demand",
                "open an on-demand queue for at most 20 specialties",
            ));
        }
        self.on_demand = on_demand;
        Ok(self)
    }

    /// The on-demand queue `specialty` belongs to (the clinic's spelling), if it has one.
    pub fn on_demand_queue(&self, specialty: &str) -> Option<&str> {
        self.on_demand
            .iter()
            .find(|s| s.eq_ignore_ascii_case(specialty.trim()))
            .map(String::as_str)
    }

    /// The clinic's zone (validated when saved).
    pub fn zone(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }

    /// Whether patients may book `kind` visits.
    pub fn offers(&self, kind: VisitKind) -> bool {
        self.visits.iter().any(|v| v.kind == kind && v.offered)
    }

    /// The names of the settings that differ between `self` and `other`, for the audit
    /// trail (the values are the clinic's, not personal data, but the names suffice).
    pub fn changed_from(&self, other: &ClinicSettings) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut note = |name, differs: bool| {
            if differs {
                changed.push(name);
            }
        };
        note("name", self.name != other.name);
        note("phone", self.phone != other.phone);
        note("email", self.email != other.email);
        note("address", self.address != other.address);
        note("hours", self.hours != other.hours);
        note("time_zone", self.time_zone != other.time_zone);
        note("languages", self.languages != other.languages);
        note(
            "default_language",
            self.default_language != other.default_language,
        );
        note("currency", self.currency != other.currency);
        note("visits", self.visits != other.visits);
        note(
            "reminder_hours",
            self.reminder_hours != other.reminder_hours,
        );
        note(
            "patient_cancel_cutoff_hours",
            self.patient_cancel_cutoff_hours != other.patient_cancel_cutoff_hours,
        );
        note(
            "check_in_opens_minutes",
            self.check_in_opens_minutes != other.check_in_opens_minutes,
        );
        note(
            "noshow_grace_minutes",
            self.noshow_grace_minutes != other.noshow_grace_minutes,
        );
        note("on_demand", self.on_demand != other.on_demand);
        changed
    }
}

/// `60`, `60.5` or `60.50` (a comma works too) as cents.
pub fn parse_fee(text: &str) -> Result<i64> {
    let bad = || Error::invalid("fee", "write the fee as 60 or 60.50");
    let text = text.trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction))
        .ok_or_else(bad)
}

/// Cents as a fee is written: `60.00`.
pub fn format_fee(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The logo's kinds of image: raster only (an SVG can carry script).
pub const LOGO_MAX_BYTES: usize = 256 * 1024;

/// The media type of a logo image, from its first bytes; None for anything else.
pub fn logo_media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A consent text as an admin writes it: plain text, paragraphs separated by a blank
/// line, 20 to 20,000 characters.
pub fn validate_consent_text(text: &str) -> Result<String> {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    let length = text.chars().count();
    if !(20..=20_000).contains(&length) {
        return Err(Error::invalid(
            "consent_text",
            "a consent text is 20 to 20,000 characters",
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::invalid(
            "consent_text",
            "the consent text holds characters that cannot be shown",
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANGS: &[&str] = &["en", "es"];

    #[test]
    fn the_defaults_pass_their_own_checks() {
        let d = ClinicSettings::default();
        assert_eq!(d.clone().validated(LANGS).unwrap(), d);
    }

    #[test]
    fn what_an_admin_writes_is_tidied_or_refused_by_field() {
        let mut s = ClinicSettings {
            name: "  Clínica Sol ".into(),
            phone: "+34 910 000 000".into(),
            address: " Calle Mayor 1 \r\n 28013 Madrid ".into(),
            languages: vec!["ES".into(), "en".into(), "es".into()],
            default_language: "es".into(),
            currency: "eur".into(),
            reminder_hours: vec![1, 24, 1],
            ..ClinicSettings::default()
        }
        .validated(LANGS)
        .unwrap();
        assert_eq!(s.name, "Clínica Sol");
        assert_eq!(s.address, "Calle Mayor 1\n28013 Madrid");
        assert_eq!(s.languages, ["es", "en"]);
        assert_eq!(s.currency, "EUR");
        assert_eq!(s.reminder_hours, [24, 1]);
        let refused = |s: ClinicSettings| match s.validated(LANGS) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        s.phone = "call me".into();
        assert_eq!(refused(s.clone()), "phone");
        s.phone = String::new();
        assert_eq!(
            refused(ClinicSettings {
                name: " ".into(),
                ..s.clone()
            }),
            "name"
        );
        assert_eq!(
            refused(ClinicSettings {
                languages: vec!["fr".into()],
                ..s.clone()
            }),
            "languages"
        );
        assert_eq!(
            refused(ClinicSettings {
                default_language: "en".into(),
                languages: vec!["es".into()],
                ..s.clone()
            }),
            "default_language"
        );
        assert_eq!(
            refused(ClinicSettings {
                reminder_hours: vec![0],
                ..s.clone()
            }),
            "reminder_hours"
        );
        let none_offered = s
            .visits
            .iter()
            .map(|v| VisitOffer {
                offered: false,
                ..v.clone()
            })
            .collect();
        assert_eq!(
            refused(ClinicSettings {
                visits: none_offered,
                ..s.clone()
            }),
            "visits"
        );
        assert_eq!(
            refused(ClinicSettings {
                noshow_grace_minutes: 0,
                ..s
            }),
            "noshow_grace_minutes"
        );
    }

    #[test]
    fn fees_read_as_written() {
        assert_eq!(parse_fee("60").unwrap(), 6000);
        assert_eq!(parse_fee(" 60,5 ").unwrap(), 6050);
        assert_eq!(format_fee(6005), "60.05");
        assert!(parse_fee("60.505").is_err() && parse_fee("sixty").is_err());
        assert!(parse_fee("-1.-5").is_err());
    }

    #[test]
    fn a_logo_is_known_by_its_first_bytes() {
        assert_eq!(logo_media_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(logo_media_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(logo_media_type(b"<svg onload=alert(1)>"), None);
    }
}
