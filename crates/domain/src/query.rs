//! What may be asked of the stored record and the clinic's data: typed searches (a
//! patient's chart entries, people, visits, messages) that the store turns into SQL
//! and the FHIR layer builds from a search's parameters.

use chrono::{DateTime, Utc};

use crate::record::{EntryStatus, Section};
use crate::{AppointmentId, EntryId, MessageId, Role, UserId};

/// A condition on a point in time, from a FHIR date parameter's prefix and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeCond {
    /// `lo <= t < hi` (eq)
    Within(DateTime<Utc>, DateTime<Utc>),
    /// `t < lo or t >= hi` (ne)
    Outside(DateTime<Utc>, DateTime<Utc>),
    /// `t < x` (lt, eb, le with the range's end)
    Before(DateTime<Utc>),
    /// `t >= x` (ge, gt and sa with the range's end)
    AtOrAfter(DateTime<Utc>),
}

/// `system|code`: a missing system matches any; an empty one, codes without a system;
/// a missing code, every code of the system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodeMatch {
    pub system: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    /// A word starts with it (accents and case ignored).
    Start(String),
    /// Equal to the whole value, as written.
    Exact(String),
    /// Anywhere (accents and case ignored).
    Contains(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Effective,
    Recorded,
    Updated,
    BirthDate,
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// Conditions that must all hold, each satisfied by any of its values.
pub type AllOf<T> = Vec<Vec<T>>;

/// A search among one patient's chart entries.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryQuery {
    pub patient: UserId,
    /// The sections the resource type covers (Observation: vitals and labs).
    pub sections: Vec<Section>,
    /// Lab reports (DiagnosticReport) rather than the entries themselves.
    pub reports: bool,
    pub ids: AllOf<EntryId>,
    pub codes: AllOf<CodeMatch>,
    pub statuses: AllOf<EntryStatus>,
    /// Observation category codes (vital-signs, laboratory…).
    pub categories: AllOf<String>,
    pub effective: AllOf<TimeCond>,
    pub recorded: AllOf<TimeCond>,
    pub updated: AllOf<TimeCond>,
    pub sort: Vec<Sort>,
    pub limit: i64,
    pub offset: i64,
}

impl EntryQuery {
    /// Entries of `sections` (`reports`: the lab reports among them, and only those).
    pub fn new(patient: UserId, sections: &[Section], reports: bool) -> EntryQuery {
        EntryQuery {
            patient,
            sections: sections.to_vec(),
            reports,
            ids: vec![],
            codes: vec![],
            statuses: vec![],
            categories: vec![],
            effective: vec![],
            recorded: vec![],
            updated: vec![],
            sort: vec![],
            limit: 50,
            offset: 0,
        }
    }
}

/// A search among people of one role (patients, or clinicians as practitioners).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonQuery {
    pub role: Role,
    /// Only these people (a patient finds themself and those they are proxy for).
    pub within: Option<Vec<UserId>>,
    pub ids: AllOf<UserId>,
    pub names: AllOf<TextMatch>,
    pub families: AllOf<TextMatch>,
    pub givens: AllOf<TextMatch>,
    pub genders: AllOf<String>,
    pub birth: AllOf<TimeCond>,
    pub emails: AllOf<String>,
    pub identifiers: AllOf<CodeMatch>,
    pub updated: AllOf<TimeCond>,
    pub sort: Vec<Sort>,
    pub limit: i64,
    pub offset: i64,
}

impl PersonQuery {
    pub fn new(role: Role) -> PersonQuery {
        PersonQuery {
            role,
            within: None,
            ids: vec![],
            names: vec![],
            families: vec![],
            givens: vec![],
            genders: vec![],
            birth: vec![],
            emails: vec![],
            identifiers: vec![],
            updated: vec![],
            sort: vec![],
            limit: 50,
            offset: 0,
        }
    }
}

/// A search among appointments, or among the encounters of appointments that began.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VisitQuery {
    /// Only appointments with an encounter (the visit began), dated by the encounter.
    pub encounters: bool,
    pub ids: AllOf<AppointmentId>,
    pub patients: AllOf<UserId>,
    pub practitioners: AllOf<UserId>,
    /// Appointment statuses; for encounters `in-progress` or `finished`.
    pub statuses: AllOf<String>,
    pub kinds: AllOf<String>,
    pub dates: AllOf<TimeCond>,
    pub updated: AllOf<TimeCond>,
    pub sort: Vec<Sort>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommunicationQuery {
    /// Whose view: the threads this person is a member of…
    pub reader: Option<UserId>,
    /// …and the clinic inbox's threads (staff).
    pub clinic_inbox: bool,
    /// Only threads with this patient (a token pinned to a patient).
    pub patient: Option<UserId>,
    pub ids: AllOf<MessageId>,
    pub patients: AllOf<UserId>,
    pub sent: AllOf<TimeCond>,
    pub sort: Vec<Sort>,
    pub limit: i64,
    pub offset: i64,
}
