//! The patient record: its sections and what a valid chart entry is. Who may read or
//! write each section is the access policy's to decide (`crate::access`).

use serde::{Deserialize, Serialize};

use crate::clinical_time::ClinicalTime;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Demographics,
    Problems,
    Allergies,
    Medications,
    Immunizations,
    Vitals,
    Labs,
    /// Family and social history.
    History,
    Notes,
    Documents,
    /// Prescriptions a clinician signed (e-prescribing).
    Prescriptions,
}

impl Section {
    pub const ALL: [Section; 11] = [
        Section::Demographics,
        Section::Problems,
        Section::Allergies,
        Section::Medications,
        Section::Immunizations,
        Section::Vitals,
        Section::Labs,
        Section::History,
        Section::Notes,
        Section::Documents,
        Section::Prescriptions,
    ];

    /// The sections kept as chart entries.
    pub const CHART: [Section; 7] = [
        Section::Problems,
        Section::Allergies,
        Section::Medications,
        Section::Immunizations,
        Section::Vitals,
        Section::Labs,
        Section::History,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::Demographics => "demographics",
            Section::Problems => "problems",
            Section::Allergies => "allergies",
            Section::Medications => "medications",
            Section::Immunizations => "immunizations",
            Section::Vitals => "vitals",
            Section::Labs => "labs",
            Section::History => "history",
            Section::Notes => "notes",
            Section::Documents => "documents",
            Section::Prescriptions => "prescriptions",
        }
    }

    pub fn parse(s: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn is_clinical(self) -> bool {
        self != Section::Demographics
    }

    pub fn is_chart(self) -> bool {
        Section::CHART.contains(&self)
    }
}

// ---- chart entries ---------------------------------------------------------------------

/// An entry's status in the words of the FHIR resource it is (a Condition's or an
/// AllergyIntolerance's clinical status, a MedicationStatement's, an Observation's or a
/// DiagnosticReport's status; an immunization given is `final`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EntryStatus {
    Active,
    Recurrence,
    Relapse,
    Inactive,
    Remission,
    Resolved,
    /// A problem or allergy whose sender stated no clinical status (a refuted one, an
    /// encounter diagnosis): telemed does not guess one.
    Unstated,
    /// Medications: no longer taken, taken and done, planned, paused, not taken, not known.
    Stopped,
    Completed,
    Intended,
    OnHold,
    NotTaken,
    /// An immunization that was not given.
    NotDone,
    /// Measurements and reports, from ordered to final and after.
    Registered,
    Partial,
    Preliminary,
    /// Measurements and results, and immunizations given.
    Final,
    Amended,
    Corrected,
    Appended,
    Cancelled,
    Unknown,
    /// Recorded by mistake: kept, shown struck through, left out of summaries.
    EnteredInError,
}

impl EntryStatus {
    const ALL: [EntryStatus; 23] = [
        EntryStatus::Active,
        EntryStatus::Recurrence,
        EntryStatus::Relapse,
        EntryStatus::Inactive,
        EntryStatus::Remission,
        EntryStatus::Resolved,
        EntryStatus::Unstated,
        EntryStatus::Stopped,
        EntryStatus::Completed,
        EntryStatus::Intended,
        EntryStatus::OnHold,
        EntryStatus::NotTaken,
        EntryStatus::NotDone,
        EntryStatus::Registered,
        EntryStatus::Partial,
        EntryStatus::Preliminary,
        EntryStatus::Final,
        EntryStatus::Amended,
        EntryStatus::Corrected,
        EntryStatus::Appended,
        EntryStatus::Cancelled,
        EntryStatus::Unknown,
        EntryStatus::EnteredInError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Active => "active",
            EntryStatus::Recurrence => "recurrence",
            EntryStatus::Relapse => "relapse",
            EntryStatus::Inactive => "inactive",
            EntryStatus::Remission => "remission",
            EntryStatus::Resolved => "resolved",
            EntryStatus::Unstated => "unstated",
            EntryStatus::Stopped => "stopped",
            EntryStatus::Completed => "completed",
            EntryStatus::Intended => "intended",
            EntryStatus::OnHold => "on-hold",
            EntryStatus::NotTaken => "not-taken",
            EntryStatus::NotDone => "not-done",
            EntryStatus::Registered => "registered",
            EntryStatus::Partial => "partial",
            EntryStatus::Preliminary => "preliminary",
            EntryStatus::Final => "final",
            EntryStatus::Amended => "amended",
            EntryStatus::Corrected => "corrected",
            EntryStatus::Appended => "appended",
            EntryStatus::Cancelled => "cancelled",
            EntryStatus::Unknown => "unknown",
            EntryStatus::EnteredInError => "entered-in-error",
        }
    }

    pub fn parse(s: &str) -> Option<EntryStatus> {
        EntryStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The statuses an entry of `section` may have (a lab report's among the labs').
    pub fn allowed_in(self, section: Section) -> bool {
        use EntryStatus::*;
        self == EnteredInError
            || match section {
                Section::Problems => matches!(
                    self,
                    Active | Recurrence | Relapse | Inactive | Remission | Resolved | Unstated
                ),
                Section::Allergies => matches!(self, Active | Inactive | Resolved | Unstated),
                Section::History => matches!(self, Active | Inactive | Resolved),
                Section::Medications => matches!(
                    self,
                    Active | Completed | Intended | Stopped | OnHold | Unknown | NotTaken
                ),
                Section::Immunizations => matches!(self, Final | NotDone),
                Section::Vitals => matches!(
                    self,
                    Registered | Preliminary | Final | Amended | Corrected | Cancelled | Unknown
                ),
                Section::Labs => matches!(
                    self,
                    Registered
                        | Partial
                        | Preliminary
                        | Final
                        | Amended
                        | Corrected
                        | Appended
                        | Cancelled
                        | Unknown
                ),
                _ => false,
            }
    }

    /// Whether the entry counts in a summary or a trend: a problem or allergy that is
    /// active (or back), a medication taken, a result that is final or corrected since.
    pub fn is_current(self) -> bool {
        use EntryStatus::*;
        matches!(
            self,
            Active | Recurrence | Relapse | Final | Amended | Corrected | Appended
        )
    }

    /// The statuses `is_current` counts, as stored (for the store's summary queries).
    pub fn current_codes() -> Vec<&'static str> {
        EntryStatus::ALL
            .into_iter()
            .filter(|s| s.is_current())
            .map(EntryStatus::as_str)
            .collect()
    }
}

/// How sure the clinician who recorded a problem or an allergy was (FHIR's
/// verificationStatus). Shown beside the entry: an unconfirmed allergy is not a
/// confirmed one. Entries typed in telemed leave it unstated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    Unconfirmed,
    Provisional,
    Differential,
    Confirmed,
    Refuted,
    EnteredInError,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Unconfirmed => "unconfirmed",
            Verification::Provisional => "provisional",
            Verification::Differential => "differential",
            Verification::Confirmed => "confirmed",
            Verification::Refuted => "refuted",
            Verification::EnteredInError => "entered-in-error",
        }
    }

    pub fn parse(s: &str) -> Option<Verification> {
        [
            Verification::Unconfirmed,
            Verification::Provisional,
            Verification::Differential,
            Verification::Confirmed,
            Verification::Refuted,
            Verification::EnteredInError,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Problems know every degree; allergies only unconfirmed, confirmed, refuted.
    fn allowed_in(self, section: Section) -> bool {
        match section {
            Section::Problems => true,
            Section::Allergies => {
                !matches!(self, Verification::Provisional | Verification::Differential)
            }
            _ => false,
        }
    }
}

/// An allergy's potential for a serious reaction (FHIR's criticality), which is not the
/// severity of a reaction that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Criticality {
    Low,
    High,
    UnableToAssess,
}

impl Criticality {
    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::High => "high",
            Criticality::UnableToAssess => "unable-to-assess",
        }
    }

    pub fn parse(s: &str) -> Option<Criticality> {
        [
            Criticality::Low,
            Criticality::High,
            Criticality::UnableToAssess,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

pub const LOINC: &str = "http://loinc.org";
pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
/// ICD-10-CM, the United States' clinical modification of ICD-10.
pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const CVX: &str = "http://hl7.org/fhir/sid/cvx";
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";

/// A vital sign telemed knows: its LOINC code, its name, its UCUM unit and a range of
/// values that can be real (anything outside is a typing error, not a reading).
pub struct VitalKind {
    pub code: &'static str,
    pub display: &'static str,
    pub unit: &'static str,
    pub plausible: (f64, f64),
    /// Blood pressure: the value is systolic, the second value diastolic.
    pub two_values: bool,
}

pub const VITALS: [VitalKind; 11] = [
    VitalKind {
        code: "85354-9",
        display: "Blood pressure",
        unit: "mm[Hg]",
        plausible: (20.0, 300.0),
        two_values: true,
    },
    VitalKind {
        code: "8867-4",
        display: "Heart rate",
        unit: "/min",
        plausible: (10.0, 300.0),
        two_values: false,
    },
    VitalKind {
        code: "8310-5",
        display: "Body temperature",
        unit: "Cel",
        plausible: (25.0, 45.0),
        two_values: false,
    },
    VitalKind {
        code: "59408-5",
        display: "Oxygen saturation (SpO2)",
        unit: "%",
        plausible: (30.0, 100.0),
        two_values: false,
    },
    VitalKind {
        code: "29463-7",
        display: "Body weight",
        unit: "kg",
        plausible: (0.2, 500.0),
        two_values: false,
    },
    VitalKind {
        code: "8302-2",
        display: "Body height",
        unit: "cm",
        plausible: (20.0, 260.0),
        two_values: false,
    },
    VitalKind {
        code: "2339-0",
        display: "Glucose [Mass/volume] in Blood",
        unit: "mg/dL",
        plausible: (10.0, 1500.0),
        two_values: false,
    },
    VitalKind {
        code: "9279-1",
        display: "Respiratory rate",
        unit: "/min",
        plausible: (2.0, 80.0),
        two_values: false,
    },
    VitalKind {
        code: "39156-5",
        display: "Body mass index (BMI) [Ratio]",
        unit: "kg/m2",
        plausible: (5.0, 150.0),
        two_values: false,
    },
    VitalKind {
        code: "9843-4",
        display: "Head Occipital-frontal circumference",
        unit: "cm",
        plausible: (10.0, 90.0),
        two_values: false,
    },
    VitalKind {
        code: "2708-6",
        display: "Oxygen saturation in Arterial blood",
        unit: "%",
        plausible: (30.0, 100.0),
        two_values: false,
    },
];

/// Units another system may send a vital sign in, and how telemed converts them to
/// the chart's unit; the value and unit as sent are kept beside.
struct UnitConversion {
    chart_unit: &'static str,
    sent_unit: &'static str,
    to_chart: fn(f64) -> f64,
}

const CONVERSIONS: [UnitConversion; 7] = [
    UnitConversion {
        chart_unit: "kg",
        sent_unit: "[lb_av]",
        to_chart: |v| v * 0.453_592_37,
    },
    UnitConversion {
        chart_unit: "kg",
        sent_unit: "[oz_av]",
        to_chart: |v| v * 0.028_349_523_125,
    },
    UnitConversion {
        chart_unit: "kg",
        sent_unit: "g",
        to_chart: |v| v / 1000.0,
    },
    UnitConversion {
        chart_unit: "cm",
        sent_unit: "[in_i]",
        to_chart: |v| v * 2.54,
    },
    UnitConversion {
        chart_unit: "cm",
        sent_unit: "m",
        to_chart: |v| v * 100.0,
    },
    UnitConversion {
        chart_unit: "Cel",
        sent_unit: "[degF]",
        to_chart: |v| (v - 32.0) * 5.0 / 9.0,
    },
    UnitConversion {
        chart_unit: "mg/dL",
        sent_unit: "mmol/L",
        // Glucose: 180.16 g/mol.
        to_chart: |v| v * 18.016,
    },
];

/// `value` in `unit` as the chart's `chart_unit`, when telemed knows the conversion.
fn convert(value: f64, unit: &str, chart_unit: &str) -> Option<f64> {
    CONVERSIONS
        .iter()
        .find(|c| c.sent_unit == unit && c.chart_unit == chart_unit)
        .map(|c| (c.to_chart)(value))
}

pub fn vital_kind(code: &str) -> Option<&'static VitalKind> {
    VITALS.iter().find(|v| v.code == code)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Mild => "mild",
            Severity::Moderate => "moderate",
            Severity::Severe => "severe",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Mild, Severity::Moderate, Severity::Severe]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A chart entry as written by a clinician (or imported). Which fields a section uses:
///
/// | section | code system (typed in telemed) | required | also |
/// |---|---|---|---|
/// | problems | ICD-10-CM, ICD-10 or SNOMED CT | code, text | status, verification, onset |
/// | allergies | SNOMED CT or RxNorm, or text only | substance text, severity | reaction, verification, criticality |
/// | medications | RxNorm or text only | text | dosage, start/stop |
/// | immunizations | CVX | code, text, date | lot in `note` |
/// | vitals | LOINC (one of `VITALS`) | code, value (+ diastolic) | unit fixed by the code |
/// | labs | LOINC | code, text, value + unit, or a text value | reference range |
/// | history | SNOMED CT or text | text, relation ("self" for social history) | |
///
/// An entry imported from another system (it brings its `source`) may use any code
/// system, may lack what that system did not know (an allergy's severity, a vaccine's
/// CVX code, a result's value when the result is a panel), and gets no time it did not
/// state.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    pub code_system: Option<String>,
    pub code: Option<String>,
    /// What it is, in words (vital signs take their name from the code when empty).
    #[serde(default)]
    pub text: String,
    pub status: Option<String>,
    /// Onset, date given, time measured: a year, a month (YYYY-MM), a date
    /// (YYYY-MM-DD) or a date and time with its offset (RFC 3339), kept as written.
    pub effective: Option<String>,
    /// Resolved or stopped, in the same forms.
    pub ended: Option<String>,
    pub value: Option<f64>,
    pub value2: Option<f64>,
    pub value_text: Option<String>,
    pub unit: Option<String>,
    pub range_low: Option<f64>,
    pub range_high: Option<f64>,
    pub severity: Option<String>,
    /// Problems and allergies: unconfirmed, provisional, differential, confirmed or
    /// refuted (allergies: unconfirmed, confirmed or refuted).
    pub verification: Option<String>,
    /// Allergies: low, high or unable-to-assess.
    pub criticality: Option<String>,
    pub reaction: Option<String>,
    pub dosage: Option<String>,
    pub relation: Option<String>,
    pub note: Option<String>,
    /// Makes a lab entry a report: the ids of the lab results it groups (its
    /// conclusion in `note`). Absent for every other entry.
    #[serde(default)]
    pub results: Option<Vec<String>>,
    /// Observations: the category codes the sender gave (vital-signs, laboratory…).
    #[serde(skip)]
    pub categories: Vec<String>,
    /// An observation whose values are its members or components (a panel).
    #[serde(skip)]
    pub panel: bool,
    /// The resource as another system wrote it (FHIR JSON, its references resolved),
    /// kept and returned as written; `None` for entries typed in telemed.
    #[serde(skip)]
    pub source: Option<String>,
    /// Every (system, code) the sender gave the entry's code, the shown one included.
    #[serde(skip)]
    pub codings: Vec<(String, String)>,
}

/// A chart entry that passed validation for its section.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEntry {
    pub section: Section,
    pub code_system: Option<String>,
    pub code: Option<String>,
    pub text: String,
    pub status: EntryStatus,
    pub effective: Option<ClinicalTime>,
    pub ended: Option<ClinicalTime>,
    pub value: Option<f64>,
    pub value2: Option<f64>,
    pub value_text: Option<String>,
    pub unit: Option<String>,
    /// The value and unit as sent, when telemed converted them to the chart's unit.
    pub as_sent: Option<String>,
    pub range_low: Option<f64>,
    pub range_high: Option<f64>,
    pub severity: Option<Severity>,
    pub verification: Option<Verification>,
    pub criticality: Option<Criticality>,
    pub reaction: Option<String>,
    pub dosage: Option<String>,
    pub relation: Option<String>,
    pub note: Option<String>,
    /// A lab report's results (lab results of the same patient), in order.
    pub results: Option<Vec<crate::EntryId>>,
    /// Observation categories, as the sender gave them or the section's own.
    pub categories: Vec<String>,
    /// See `NewEntry::source`.
    pub source: Option<String>,
    /// The codings of the entry's code besides the shown one (`code_system`, `code`),
    /// by which a code search also finds it.
    pub other_codings: Vec<(String, String)>,
}

impl ValidEntry {
    pub fn is_report(&self) -> bool {
        self.results.is_some()
    }
}

/// The most results one lab report groups.
pub const REPORT_RESULTS_MAX: usize = 200;

const TEXT_MAX: usize = 500;
const NOTE_MAX: usize = 4000;
/// A resource kept as its sender wrote it: large enough for a lab panel with its
/// narrative, small enough that a chart page stays a chart page.
pub const SOURCE_MAX: usize = 256 * 1024;

pub(crate) fn text(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max => Err(Error::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        )),
        Some(v) if v.chars().any(|c| c.is_control() && c != '\n') => Err(Error::invalid(
            field,
            format!("{field} contains control characters"),
        )),
        v => Ok(v),
    }
}

fn finite(field: &'static str, v: Option<f64>) -> Result<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() => {
            Err(Error::invalid(field, format!("{field} must be a number")))
        }
        v => Ok(v),
    }
}

fn one_of<T>(
    field: &'static str,
    value: Option<String>,
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>> {
    value
        .map(|v| {
            parse(v.trim())
                .ok_or_else(|| Error::invalid(field, format!("{field} must be {expected}")))
        })
        .transpose()
}

/// The number as people read it: at most two decimals, no trailing zeros.
pub fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The default category of an observation in `section`.
fn section_category(section: Section) -> Option<&'static str> {
    match section {
        Section::Vitals => Some("vital-signs"),
        Section::Labs => Some("laboratory"),
        _ => None,
    }
}

/// Where an entry comes from; see `NewEntry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Typed,
    Imported,
}

impl NewEntry {
    /// Checks the entry against what its section needs; `now` bounds dates (nothing
    /// recorded as happening in the future).
    pub fn validate(
        self,
        section: Section,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ValidEntry> {
        if !section.is_chart() {
            return Err(Error::invalid("section", "not a chart section"));
        }
        let origin = if self.source.is_some() {
            Origin::Imported
        } else {
            Origin::Typed
        };
        let when = |field: &'static str, v: Option<String>| -> Result<Option<ClinicalTime>> {
            match v.filter(|s| !s.trim().is_empty()) {
                None => Ok(None),
                Some(s) => {
                    let t = ClinicalTime::parse(field, &s)?;
                    if t.start() > now + chrono::Duration::minutes(5) {
                        return Err(Error::invalid(field, format!("{field} is in the future")));
                    }
                    Ok(Some(t))
                }
            }
        };
        if self.source.as_ref().is_some_and(|s| s.len() > SOURCE_MAX) {
            return Err(Error::invalid(
                "resource",
                format!("a resource is kept up to {} KiB", SOURCE_MAX / 1024),
            ));
        }
        let mut e = ValidEntry {
            section,
            code_system: text("code_system", self.code_system, 200)?,
            code: text("code", self.code, 64)?,
            text: text("text", Some(self.text), TEXT_MAX)?.unwrap_or_default(),
            status: EntryStatus::Active,
            effective: when("effective", self.effective)?,
            ended: when("ended", self.ended)?,
            value: finite("value", self.value)?,
            value2: finite("value2", self.value2)?,
            value_text: text("value_text", self.value_text, TEXT_MAX)?,
            unit: text("unit", self.unit, 32)?,
            as_sent: None,
            range_low: finite("range_low", self.range_low)?,
            range_high: finite("range_high", self.range_high)?,
            severity: one_of(
                "severity",
                self.severity,
                Severity::parse,
                "mild, moderate or severe",
            )?,
            verification: one_of(
                "verification",
                self.verification,
                Verification::parse,
                "unconfirmed, provisional, differential, confirmed, refuted or entered-in-error",
            )?,
            criticality: one_of(
                "criticality",
                self.criticality,
                Criticality::parse,
                "low, high or unable-to-assess",
            )?,
            reaction: text("reaction", self.reaction, TEXT_MAX)?,
            dosage: text("dosage", self.dosage, TEXT_MAX)?,
            relation: text("relation", self.relation, 64)?,
            note: text("note", self.note, NOTE_MAX)?,
            results: match self.results {
                None => None,
                Some(ids) if ids.len() > REPORT_RESULTS_MAX => {
                    return Err(Error::invalid(
                        "results",
                        format!("a report groups at most {REPORT_RESULTS_MAX} results"),
                    ))
                }
                Some(ids) => Some(
                    ids.iter()
                        .map(|id| {
                            id.trim().parse().map_err(|_| {
                                Error::invalid("results", "a result is a lab entry's id")
                            })
                        })
                        .collect::<Result<Vec<crate::EntryId>>>()?,
                ),
            },
            categories: vec![],
            source: self.source,
            other_codings: vec![],
        };
        if e.results.is_some() && section != Section::Labs {
            return Err(Error::invalid(
                "results",
                "only a lab report groups results",
            ));
        }
        if e.code.is_some() != e.code_system.is_some() {
            return Err(Error::invalid(
                "code",
                "a code needs the code system it is from, and a code system its code",
            ));
        }
        let imported = origin == Origin::Imported;
        // Typed entries use the section's code systems; imported ones keep theirs.
        let system_is = |allowed: &[&str]| match &e.code_system {
            None => true,
            Some(s) => imported || allowed.contains(&s.as_str()),
        };
        let default_status = match section {
            Section::Medications | Section::Problems | Section::Allergies | Section::History => {
                EntryStatus::Active
            }
            _ => EntryStatus::Final,
        };
        e.status = match self.status {
            None => default_status,
            Some(s) => EntryStatus::parse(&s)
                .filter(|st| st.allowed_in(section))
                .ok_or_else(|| {
                    Error::invalid(
                        "status",
                        format!("that status is not one a {} entry has", section.as_str()),
                    )
                })?,
        };
        if let Some(v) = e.verification {
            if !v.allowed_in(section) {
                return Err(Error::invalid(
                    "verification",
                    format!("a {} entry is not {}", section.as_str(), v.as_str()),
                ));
            }
            if (v == Verification::EnteredInError) != (e.status == EntryStatus::EnteredInError) {
                return Err(Error::invalid(
                    "verification",
                    "an entry entered in error says so in its status and its verification",
                ));
            }
        }
        if e.criticality.is_some() && section != Section::Allergies {
            return Err(Error::invalid(
                "criticality",
                "only an allergy has a criticality",
            ));
        }
        // A reading typed without a time was taken now; an imported one has the time
        // its sender gave, or none.
        let taken_now = |e: &mut ValidEntry| {
            if e.effective.is_none() && !imported {
                e.effective = Some(ClinicalTime::at(now));
            }
        };
        match section {
            Section::Vitals => {
                let loinc = e
                    .code
                    .clone()
                    .filter(|_| e.code_system.as_deref() == Some(LOINC));
                match loinc.as_deref().and_then(vital_kind) {
                    Some(kind) => vital_sign(&mut e, kind, imported)?,
                    // Another system's vital sign (its category says so) that telemed
                    // has no plausible range for: kept as sent.
                    None if imported && e.code.is_some() => {
                        if e.value.is_some() && e.unit.is_none() {
                            return Err(Error::invalid("unit", "a numeric result needs its unit"));
                        }
                    }
                    None => {
                        return Err(Error::invalid(
                            "code",
                            "a vital sign needs one of the LOINC codes telemed knows",
                        ))
                    }
                }
                taken_now(&mut e);
            }
            Section::Labs if e.is_report() => {
                if !system_is(&[LOINC]) || e.code.is_none() {
                    return Err(Error::invalid(
                        "code",
                        "a lab report needs the LOINC code of its panel",
                    ));
                }
                let measured = e.value.is_some()
                    || e.value2.is_some()
                    || e.value_text.is_some()
                    || e.unit.is_some()
                    || e.range_low.is_some()
                    || e.range_high.is_some();
                if measured {
                    return Err(Error::invalid(
                        "value",
                        "a lab report has no value of its own: its results do",
                    ));
                }
                if e.results.as_ref().is_some_and(Vec::is_empty) && e.note.is_none() && !imported {
                    return Err(Error::invalid(
                        "results",
                        "a lab report groups results or states a conclusion",
                    ));
                }
                taken_now(&mut e);
            }
            Section::Labs => {
                if !system_is(&[LOINC]) || e.code.is_none() {
                    return Err(Error::invalid("code", "a lab result needs a LOINC code"));
                }
                let has_value = e.value.is_some() || e.value_text.is_some();
                let value_needed =
                    !(imported && (self.panel || !matches!(e.status, EntryStatus::Final)));
                if e.value.is_some() && e.value_text.is_some() {
                    return Err(Error::invalid(
                        "value",
                        "a lab result has a numeric value with its unit, or a text value",
                    ));
                }
                if !has_value && value_needed {
                    return Err(Error::invalid(
                        "value",
                        "a lab result has a numeric value with its unit, or a text value",
                    ));
                }
                if e.value.is_some() && e.unit.is_none() {
                    return Err(Error::invalid("unit", "a numeric result needs its unit"));
                }
                if let (Some(lo), Some(hi)) = (e.range_low, e.range_high) {
                    if lo > hi {
                        return Err(Error::invalid(
                            "range_low",
                            "the reference range's low end is above its high end",
                        ));
                    }
                }
                taken_now(&mut e);
            }
            Section::Problems => {
                if !system_is(&[ICD10CM, ICD10, SNOMED]) || e.code.is_none() && !imported {
                    return Err(Error::invalid(
                        "code",
                        "a problem needs its diagnosis code (ICD-10-CM, ICD-10 or SNOMED CT): type words of the diagnosis and choose one",
                    ));
                }
            }
            Section::Allergies => {
                if !system_is(&[SNOMED, RXNORM]) {
                    return Err(Error::invalid(
                        "code_system",
                        "an allergy is coded in SNOMED CT or RxNorm",
                    ));
                }
                if e.severity.is_none() && !imported {
                    return Err(Error::invalid("severity", "an allergy needs its severity"));
                }
            }
            Section::Medications => {
                if !system_is(&[RXNORM]) {
                    return Err(Error::invalid(
                        "code_system",
                        "a medication is coded in RxNorm",
                    ));
                }
            }
            Section::Immunizations => {
                if !system_is(&[CVX]) || e.code.is_none() && !imported {
                    return Err(Error::invalid(
                        "code",
                        "an immunization needs its CVX vaccine code",
                    ));
                }
                if e.effective.is_none() && !imported {
                    return Err(Error::invalid(
                        "effective",
                        "an immunization needs the date it was given",
                    ));
                }
            }
            Section::History => {
                if !system_is(&[SNOMED]) {
                    return Err(Error::invalid(
                        "code_system",
                        "history is coded in SNOMED CT",
                    ));
                }
                if e.relation.is_none() {
                    return Err(Error::invalid(
                        "relation",
                        "say whose history it is (\"self\" for social history, or the relative)",
                    ));
                }
            }
            _ => unreachable!("checked above"),
        }
        if e.text.is_empty() {
            return Err(Error::invalid("text", "the entry needs its text"));
        }
        if let (Some(a), Some(b)) = (&e.effective, &e.ended) {
            if b.start() < a.start() {
                return Err(Error::invalid("ended", "it ends before it starts"));
            }
        }
        let mut others: Vec<(String, String)> = self
            .codings
            .into_iter()
            .filter(|(system, code)| {
                Some(system) != e.code_system.as_ref() || Some(code) != e.code.as_ref()
            })
            .filter(|(system, code)| system.len() <= 200 && code.len() <= 64)
            .collect();
        others.sort();
        others.dedup();
        e.other_codings = others;
        e.categories = if self.categories.is_empty() {
            section_category(section)
                .map(|c| vec![c.to_owned()])
                .unwrap_or_default()
        } else {
            self.categories
        };
        Ok(e)
    }
}

/// A vital sign telemed knows: a plausible reading in the chart's unit. A typed one
/// must be in that unit; an imported one in another unit telemed can convert is
/// converted, with the value and unit as sent kept beside.
fn vital_sign(e: &mut ValidEntry, kind: &VitalKind, imported: bool) -> Result<()> {
    if imported && e.value.is_none() && !e.status.is_current() {
        // Ordered, cancelled or not known: there is no reading to check.
        return Ok(());
    }
    if let (true, Some(sent_unit), Some(sent)) = (imported, e.unit.clone(), e.value) {
        if sent_unit != kind.unit && !kind.two_values {
            let converted = convert(sent, &sent_unit, kind.unit).ok_or_else(|| {
                Error::invalid(
                    "unit",
                    format!(
                        "{} is recorded in {}, and telemed cannot convert {sent_unit}",
                        kind.display, kind.unit
                    ),
                )
            })?;
            e.as_sent = Some(format!("{} {sent_unit}", number(sent)));
            e.value = Some(converted);
            e.unit = Some(kind.unit.to_owned());
        }
    }
    let value = e
        .value
        .ok_or_else(|| Error::invalid("value", "a vital sign needs a value"))?;
    let in_range = |v: f64| v >= kind.plausible.0 && v <= kind.plausible.1;
    if !in_range(value) {
        return Err(Error::invalid(
            "value",
            format!(
                "{} of {} {} is not a possible reading",
                kind.display,
                number(value),
                kind.unit
            ),
        ));
    }
    match (kind.two_values, e.value2) {
        (true, Some(d)) if in_range(d) && d < value => {}
        (true, _) => {
            return Err(Error::invalid(
                "value2",
                "blood pressure needs a diastolic value below the systolic",
            ))
        }
        (false, Some(_)) => {
            return Err(Error::invalid(
                "value2",
                "only blood pressure has a second value",
            ))
        }
        (false, None) => {}
    }
    if e.unit.as_deref().is_some_and(|u| u != kind.unit) {
        return Err(Error::invalid(
            "unit",
            format!("{} is recorded in {}", kind.display, kind.unit),
        ));
    }
    e.unit = Some(kind.unit.to_owned());
    if e.text.is_empty() {
        e.text = kind.display.to_owned();
    }
    Ok(())
}

// ---- notes --------------------------------------------------------------------------

/// The SOAP note templates, by key: each prefills the four parts with a specialty's
/// prompts, in the writer's language (the prompts live with the UI texts).
pub const NOTE_TEMPLATES: [&str; 4] = ["general", "dermatology", "psychiatry", "cardiology"];

/// The four parts of a SOAP note, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Soap {
    #[serde(default)]
    pub subjective: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub assessment: String,
    #[serde(default)]
    pub plan: String,
}

pub const NOTE_PART_MAX: usize = 20_000;

impl Soap {
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("subjective", &self.subjective),
            ("objective", &self.objective),
            ("assessment", &self.assessment),
            ("plan", &self.plan),
        ] {
            if v.chars().count() > NOTE_PART_MAX {
                return Err(Error::invalid(
                    field,
                    format!("{field} is longer than {NOTE_PART_MAX} characters"),
                ));
            }
        }
        Ok(())
    }

    pub fn is_blank(&self) -> bool {
        [
            &self.subjective,
            &self.objective,
            &self.assessment,
            &self.plan,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_report_groups_results_and_measures_nothing_itself() {
        let result = crate::EntryId::new();
        let report = NewEntry {
            code_system: Some(LOINC.into()),
            code: Some("24331-1".into()),
            text: "Lipid panel".into(),
            note: Some("LDL above target".into()),
            results: Some(vec![result.to_string()]),
            ..Default::default()
        };
        let valid = report.clone().validate(Section::Labs, now()).unwrap();
        assert!(valid.is_report());
        assert_eq!(valid.results, Some(vec![result]));
        assert_eq!(valid.status, EntryStatus::Final);
        let refused = |e: NewEntry, section: Section| {
            e.validate(section, now()).err().and_then(|e| match e {
                Error::Invalid { field, .. } => Some(field),
                _ => None,
            })
        };
        assert_eq!(refused(report.clone(), Section::Vitals), Some("results"));
        let measured = NewEntry {
            value: Some(190.0),
            unit: Some("mg/dL".into()),
            ..report.clone()
        };
        assert_eq!(refused(measured, Section::Labs), Some("value"));
        let uncoded = NewEntry {
            code: None,
            code_system: None,
            ..report.clone()
        };
        assert_eq!(refused(uncoded, Section::Labs), Some("code"));
        let not_an_id = NewEntry {
            results: Some(vec!["Observation/1".into()]),
            ..report.clone()
        };
        assert_eq!(refused(not_an_id, Section::Labs), Some("results"));
        let empty = NewEntry {
            results: Some(vec![]),
            note: None,
            ..report.clone()
        };
        assert_eq!(refused(empty, Section::Labs), Some("results"));
        let conclusion_only = NewEntry {
            results: Some(vec![]),
            ..report
        };
        assert!(conclusion_only.validate(Section::Labs, now()).is_ok());
    }

    fn now() -> chrono::DateTime<chrono::Utc> {
        "2026-11-20T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn vitals_are_loinc_coded_with_fixed_units_and_possible_values() {
        let bp = NewEntry {
            code_system: Some(LOINC.into()),
            code: Some("85354-9".into()),
            value: Some(128.0),
            value2: Some(82.0),
            ..Default::default()
        };
        let e = bp.clone().validate(Section::Vitals, now()).unwrap();
        assert_eq!(e.unit.as_deref(), Some("mm[Hg]"));
        assert_eq!(e.text, "Blood pressure");
        assert_eq!(e.status, EntryStatus::Final);
        for bad in [
            NewEntry {
                value2: None,
                ..bp.clone()
            },
            NewEntry {
                value2: Some(140.0),
                ..bp.clone()
            },
            NewEntry {
                value: Some(1200.0),
                ..bp.clone()
            },
            NewEntry {
                unit: Some("kPa".into()),
                ..bp.clone()
            },
            NewEntry {
                code: Some("1234-5".into()),
                ..bp.clone()
            },
            NewEntry {
                code_system: Some(SNOMED.into()),
                ..bp.clone()
            },
            NewEntry {
                value: Some(f64::NAN),
                ..bp.clone()
            },
            NewEntry {
                effective: Some("2030-01-01".into()),
                ..bp.clone()
            },
            NewEntry {
                status: Some("active".into()),
                ..bp.clone()
            },
        ] {
            assert!(bad.validate(Section::Vitals, now()).is_err());
        }
    }

    #[test]
    fn each_section_asks_for_what_it_needs() {
        let problem = NewEntry {
            code_system: Some(ICD10.into()),
            code: Some("L40.0".into()),
            text: "Psoriasis vulgaris".into(),
            effective: Some("2019-03-01".into()),
            ..Default::default()
        };
        assert!(problem.clone().validate(Section::Problems, now()).is_ok());
        assert!(NewEntry {
            code: None,
            code_system: None,
            ..problem.clone()
        }
        .validate(Section::Problems, now())
        .is_err());
        assert!(NewEntry {
            ended: Some("2018-01-01".into()),
            ..problem.clone()
        }
        .validate(Section::Problems, now())
        .is_err());
        let allergy = NewEntry {
            text: "Penicillin".into(),
            severity: Some("severe".into()),
            reaction: Some("Anaphylaxis".into()),
            ..Default::default()
        };
        assert!(allergy.clone().validate(Section::Allergies, now()).is_ok());
        assert!(NewEntry {
            severity: None,
            ..allergy.clone()
        }
        .validate(Section::Allergies, now())
        .is_err());
        assert!(NewEntry {
            severity: Some("deadly".into()),
            ..allergy
        }
        .validate(Section::Allergies, now())
        .is_err());
        let lab = NewEntry {
            code_system: Some(LOINC.into()),
            code: Some("4548-4".into()),
            text: "Hemoglobin A1c".into(),
            value: Some(6.1),
            unit: Some("%".into()),
            range_low: Some(4.0),
            range_high: Some(5.6),
            ..Default::default()
        };
        assert!(lab.clone().validate(Section::Labs, now()).is_ok());
        assert!(NewEntry {
            unit: None,
            ..lab.clone()
        }
        .validate(Section::Labs, now())
        .is_err());
        assert!(NewEntry {
            value_text: Some("positive".into()),
            ..lab.clone()
        }
        .validate(Section::Labs, now())
        .is_err());
        assert!(NewEntry {
            range_low: Some(9.0),
            ..lab
        }
        .validate(Section::Labs, now())
        .is_err());
        let family = NewEntry {
            text: "Type 2 diabetes".into(),
            relation: Some("mother".into()),
            ..Default::default()
        };
        assert!(family.clone().validate(Section::History, now()).is_ok());
        assert!(NewEntry {
            relation: None,
            ..family
        }
        .validate(Section::History, now())
        .is_err());
        assert!(NewEntry {
            text: "x".into(),
            ..Default::default()
        }
        .validate(Section::Notes, now())
        .is_err());
        assert!(NewEntry {
            text: "a\u{7}b".into(),
            ..Default::default()
        }
        .validate(Section::Medications, now())
        .is_err());
    }
}
