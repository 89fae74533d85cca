//! The access policy: the one place that decides who may touch a patient's data, and
//! the grant that proves it did.
//!
//! `decide` is a pure function of who asks (`Principal`), whose data (`patient`), what
//! part of it (`Data`), how (`Op`) and the facts the store found about the two of them
//! (`CareFacts`), so the whole matrix is tested here. An allowed decision is a `Grant`:
//! only this module makes one (its fields are private and it has no public
//! constructor), it names the actor, the patient, what it allows and why, it is not
//! `Clone`, and every store function that reads or changes a patient's record demands
//! one (`Grant::require`). Rows the store finds by their own id before anyone knows
//! whose they are come back `Sealed`: only a grant for that patient's data opens them.
//! Two more rules live beside it, each with the proof the store demands: whose visits a
//! reader sees (`visits`: `VisitReach`), and who starts and reads a message thread
//! (`threads`: `thread_start`, `ThreadGrant`).
//!
//! The audit vocabulary is here too: every grant and refusal is audited under
//! `Grant::action` / `action_name` (`record.<section>.<read|write>`, `record.chart.read`,
//! `record.access_log.read`, `record.export`, `system.<task>`).
//!
//! A grant cannot be made outside the policy:
//!
//! ```compile_fail,E0451
//! # use telemed_domain::access::*;
//! # use telemed_domain::record::Section;
//! # use telemed_domain::{Role, UserId};
//! let forged = Grant {
//!     actor: UserId::new(),
//!     actor_role: Role::Clinician,
//!     patient: UserId::new(),
//!     data: Data::Section(Section::Problems),
//!     op: Op::Read,
//!     basis: Basis::CareRelationship,
//! };
//! ```
//!
//! nor copied to stand for a second use, or another patient:
//!
//! ```compile_fail,E0599
//! # use telemed_domain::access::*;
//! fn twice(g: &Grant) -> (Grant, Grant) {
//!     (g.clone(), g.clone())
//! }
//! ```
//!
//! while the policy's own decision gives one (the control for the two above):
//!
//! ```
//! # use telemed_domain::access::*;
//! # use telemed_domain::record::Section;
//! # use telemed_domain::{Role, UserId};
//! let patient = UserId::new();
//! let me = Principal { user_id: patient, role: Role::Patient, permissions: Role::Patient.permissions().to_vec() };
//! let facts = CareFacts { patient_exists: true, ..CareFacts::default() };
//! let grant: Grant = decide(&me, patient, Data::Section(Section::Problems), Op::Read, facts).unwrap();
//! assert_eq!(grant.patient(), patient);
//! ```

mod dispensing;
mod threads;
mod visits;

pub use dispensing::{dispenser, Dispenser};
pub use threads::{sees_thread, thread_grant, thread_start, Recipient, ThreadGrant, ThreadStart};
pub use visits::{
    calendar_feed, invited_guest, system_visits, visit_party, visit_reach, visits_in_record,
    VisitReach, VisitScope,
};

use serde::{Deserialize, Serialize};

use crate::record::Section;
use crate::{Error, Permission, Result, Role, UserId};

/// Who is acting: an authenticated user, with the permissions of this sign-in (a web
/// session carries all of the role's permissions; an API token or an app's access token
/// only its scopes, already intersected with the role's).
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub permissions: Vec<Permission>,
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        self.role.has(permission) && self.permissions.contains(&permission)
    }

    /// `Forbidden` unless the principal has `permission`.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// What part of a patient's data is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Data {
    /// One section of the record: demographics, a chart section, notes, documents.
    Section(Section),
    /// The chart as one view (the chart page, the summary beside a video visit, the
    /// summary endpoint): every section a reader of the record may read.
    Chart,
    /// Who read or changed the record (the patient's access log, an auditor).
    AccessLog,
    /// A bulk copy of the whole record: the patient's (or their proxy's) to take.
    Export,
}

impl From<Section> for Data {
    fn from(section: Section) -> Data {
        Data::Section(section)
    }
}

impl Data {
    /// Every kind, for the tests that walk the matrix.
    pub fn all() -> Vec<Data> {
        let mut all: Vec<Data> = Section::ALL.into_iter().map(Data::Section).collect();
        all.extend([Data::Chart, Data::AccessLog, Data::Export]);
        all
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Read,
    Write,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
        }
    }
}

/// What the store found about the principal and the patient, at the time of asking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CareFacts {
    /// The patient exists (and is a patient).
    pub patient_exists: bool,
    /// A visit between the clinician and the patient that is not cancelled.
    pub shared_visit: bool,
    /// The clinician is on the patient's care team.
    pub care_team: bool,
    /// The principal holds an unexpired break-the-glass grant for this patient.
    pub break_glass: bool,
    /// The principal is the patient's delegated proxy (parent, carer).
    pub proxy: bool,
}

/// Why access was granted; recorded with every access in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The patient's own record.
    Own,
    Proxy,
    /// A visit or care-team membership.
    CareRelationship,
    /// Emergency access with a stated reason: flagged in the audit trail.
    BreakGlass,
    /// Demographics for those who book and register (clinicians, front desk).
    Registration,
    /// Reading who accessed the record, for an auditor.
    Oversight,
    /// Work telemed does itself, named by its task (see `SystemTask`).
    System,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Own => "own",
            Basis::Proxy => "proxy",
            Basis::CareRelationship => "care_relationship",
            Basis::BreakGlass => "break_glass",
            Basis::Registration => "registration",
            Basis::Oversight => "oversight",
            Basis::System => "system",
        }
    }
}

/// Work that touches patient data without a person asking at that moment. Each one is
/// named, and its grant says so in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemTask {
    /// `telemed demo`: the demonstration patients' records.
    DemoSeed,
    /// Benchmarks and load generators writing synthetic records.
    SyntheticLoad,
    /// The job queue's scheduling work: visit notices, reminders and no-shows.
    Scheduling,
    /// Sending a signed prescription to the pharmacy chosen at signing.
    PrescriptionSending,
}

impl SystemTask {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemTask::DemoSeed => "demo_seed",
            SystemTask::SyntheticLoad => "synthetic_load",
            SystemTask::Scheduling => "scheduling",
            SystemTask::PrescriptionSending => "prescription_sending",
        }
    }
}

/// The audit action of an access: `record.<section>.<read|write>`, `record.chart.read`,
/// `record.access_log.read`, `record.export`.
pub fn action_name(data: Data, op: Op) -> String {
    match data {
        Data::Section(s) => format!("record.{}.{}", s.as_str(), op.as_str()),
        Data::Chart => format!("record.chart.{}", op.as_str()),
        Data::AccessLog => format!("record.access_log.{}", op.as_str()),
        Data::Export => "record.export".to_owned(),
    }
}

/// Proof that the policy allowed `op` on `data` of `patient`'s record for `actor`.
/// Only `decide` and `system` make one; it is not `Clone`.
#[derive(Debug, PartialEq, Eq)]
pub struct Grant {
    actor: Actor,
    patient: UserId,
    data: Data,
    op: Op,
    basis: Basis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Person { id: UserId, role: Role },
    System { task: SystemTask, author: UserId },
}

impl Grant {
    pub fn patient(&self) -> UserId {
        self.patient
    }

    /// The person acting; `None` for a system task.
    pub fn actor(&self) -> Option<UserId> {
        match self.actor {
            Actor::Person { id, .. } => Some(id),
            Actor::System { .. } => None,
        }
    }

    pub fn actor_role(&self) -> Option<Role> {
        match self.actor {
            Actor::Person { role, .. } => Some(role),
            Actor::System { .. } => None,
        }
    }

    pub fn system_task(&self) -> Option<SystemTask> {
        match self.actor {
            Actor::System { task, .. } => Some(task),
            Actor::Person { .. } => None,
        }
    }

    /// Whom what the grant writes is recorded as by: the person acting, or the account
    /// a system task writes for (the demo's clinician).
    pub fn author(&self) -> UserId {
        match self.actor {
            Actor::Person { id, .. } | Actor::System { author: id, .. } => id,
        }
    }

    pub fn data(&self) -> Data {
        self.data
    }

    pub fn op(&self) -> Op {
        self.op
    }

    pub fn basis(&self) -> Basis {
        self.basis
    }

    /// The audit action this grant is recorded under.
    pub fn action(&self) -> String {
        match self.actor {
            Actor::System { task, .. } => format!("system.{}", task.as_str()),
            Actor::Person { .. } => action_name(self.data, self.op),
        }
    }

    /// Draft notes are their clinicians' working copies: patients, proxies and system
    /// tasks see signed notes only.
    pub fn sees_drafts(&self) -> bool {
        matches!(
            self.actor,
            Actor::Person {
                role: Role::Clinician,
                ..
            }
        )
    }

    /// Documents filed by mistake (entered in error) stay visible to clinicians only.
    pub fn sees_entered_in_error(&self) -> bool {
        self.sees_drafts()
    }

    /// Whether the grant covers `op` on `section`: its own section, or, for a chart
    /// or export grant, every section it reads.
    pub fn covers(&self, section: Section, op: Op) -> bool {
        // A system task writes what it was named for, and reads what it wrote.
        let system = self.system_task().is_some();
        system
            || match self.data {
                // A write grant reads back what it writes.
                Data::Section(s) => s == section && (self.op == op || self.op == Op::Write),
                Data::Chart | Data::Export => op == Op::Read,
                Data::AccessLog => false,
            }
    }

    /// The patient whose `section` the grant opens for `op`, or `NotFound` when it does
    /// not cover it: what a store function calls before it touches a row.
    pub fn require(&self, section: Section, op: Op) -> Result<UserId> {
        if self.covers(section, op) {
            Ok(self.patient)
        } else {
            Err(Error::NotFound)
        }
    }

    /// The patient whose `data` the grant is for, or `NotFound`.
    pub fn require_data(&self, data: Data) -> Result<UserId> {
        if self.data == data || self.system_task().is_some() {
            Ok(self.patient)
        } else {
            Err(Error::NotFound)
        }
    }
}

/// Decides `op` on `data` of `patient`'s record. `None` is a refusal, to be answered
/// exactly like a patient that does not exist.
pub fn decide(
    principal: &Principal,
    patient: UserId,
    data: Data,
    op: Op,
    facts: CareFacts,
) -> Option<Grant> {
    if !facts.patient_exists {
        return None;
    }
    let basis = match data {
        Data::Section(section) => section_basis(principal, patient, section, op, facts),
        // The chart shows every clinical section: whoever reads one reads them all.
        Data::Chart => (op == Op::Read)
            .then(|| section_basis(principal, patient, Section::Problems, Op::Read, facts))
            .flatten(),
        Data::AccessLog => {
            let is_self = principal.role == Role::Patient && principal.user_id == patient;
            if op != Op::Read {
                None
            } else if is_self && principal.can(Permission::Profile) {
                Some(Basis::Own)
            } else if principal.can(Permission::AuditRead) {
                Some(Basis::Oversight)
            } else {
                None
            }
        }
        // Clinicians read the record in place; a bulk copy is the patient's to take.
        Data::Export => (op == Op::Read)
            .then(|| section_basis(principal, patient, Section::Notes, Op::Read, facts))
            .flatten()
            .filter(|b| matches!(b, Basis::Own | Basis::Proxy)),
    }?;
    Some(Grant {
        actor: Actor::Person {
            id: principal.user_id,
            role: principal.role,
        },
        patient,
        data,
        op,
        basis,
    })
}

fn section_basis(
    principal: &Principal,
    patient: UserId,
    section: Section,
    op: Op,
    facts: CareFacts,
) -> Option<Basis> {
    let needs = match (section, op) {
        (Section::Demographics, Op::Read) if principal.role != Role::Patient => {
            Permission::PatientsRead
        }
        (Section::Demographics, _) if principal.role == Role::Patient => Permission::Profile,
        (Section::Demographics, Op::Write) => Permission::PatientsRead,
        (_, Op::Read) => Permission::RecordsRead,
        (_, Op::Write) => Permission::RecordsWrite,
    };
    if !principal.can(needs) {
        return None;
    }
    let is_self = principal.user_id == patient;
    match principal.role {
        Role::Patient if is_self => match (section, op) {
            (_, Op::Read) | (Section::Demographics | Section::Documents, Op::Write) => {
                Some(Basis::Own)
            }
            _ => None,
        },
        Role::Patient if facts.proxy => match (section, op) {
            (_, Op::Read) | (Section::Documents, Op::Write) => Some(Basis::Proxy),
            _ => None,
        },
        Role::Patient => None,
        Role::Clinician => {
            if facts.shared_visit || facts.care_team {
                Some(Basis::CareRelationship)
            } else if facts.break_glass {
                Some(Basis::BreakGlass)
            } else if section == Section::Demographics && op == Op::Read {
                Some(Basis::Registration)
            } else {
                None
            }
        }
        Role::Staff => (section == Section::Demographics).then_some(Basis::Registration),
        Role::Admin | Role::Pharmacist => None,
    }
}

/// A grant for work telemed does itself (`SystemTask`), on `patient`'s record, writing
/// as `author`: named, and audited under `system.<task>` by whoever runs it.
pub fn system(task: SystemTask, patient: UserId, author: UserId) -> Grant {
    Grant {
        actor: Actor::System { task, author },
        patient,
        data: Data::Chart,
        op: Op::Write,
        basis: Basis::System,
    }
}

/// A row of patient data found by its own id, before anyone knew whose it was: the
/// store hands it out sealed, and only a grant that covers reading its section of that
/// patient's record opens it. Anyone may seal; only the policy's grant opens.
///
/// ```compile_fail,E0616
/// # use telemed_domain::access::Sealed;
/// # use telemed_domain::record::Section;
/// # use telemed_domain::UserId;
/// let sealed = Sealed::new(UserId::new(), Section::Notes, "a draft".to_owned());
/// let peek: &String = &sealed.value;
/// ```
#[derive(Debug)]
pub struct Sealed<T> {
    patient: UserId,
    section: Section,
    value: T,
}

impl<T> Sealed<T> {
    pub fn new(patient: UserId, section: Section, value: T) -> Self {
        Sealed {
            patient,
            section,
            value,
        }
    }

    /// Whose data it is: what the policy is asked about before it is opened.
    pub fn patient(&self) -> UserId {
        self.patient
    }

    /// Which section of their record it is in.
    pub fn section(&self) -> Section {
        self.section
    }

    /// The row, when `grant` covers reading its section of its patient's record;
    /// `NotFound` otherwise (the same answer as a row that does not exist).
    pub fn open(self, grant: &Grant) -> Result<T> {
        if grant.patient == self.patient && grant.covers(self.section, Op::Read) {
            Ok(self.value)
        } else {
            Err(Error::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Someone of `role` with all its permissions (the policy's tests share it).
    pub(super) fn principal(role: Role) -> Principal {
        Principal {
            user_id: UserId::new(),
            role,
            permissions: role.permissions().to_vec(),
        }
    }

    const NONE: CareFacts = CareFacts {
        patient_exists: true,
        shared_visit: false,
        care_team: false,
        break_glass: false,
        proxy: false,
    };

    type Expect = fn(Data, Op) -> Option<Basis>;

    /// What a reader of the record may do with the views made of sections.
    fn views(data: Data, op: Op, basis: Option<Basis>) -> Option<Basis> {
        match (data, op) {
            (Data::Chart, Op::Read) => basis,
            (Data::Export, Op::Read) => basis.filter(|b| matches!(b, Basis::Own | Basis::Proxy)),
            _ => None,
        }
    }

    /// The whole matrix: every role and relationship × every kind of data × read/write.
    #[test]
    fn the_access_matrix() {
        let patient = UserId::new();
        let me = Principal {
            user_id: patient,
            ..principal(Role::Patient)
        };
        let related = CareFacts {
            shared_visit: true,
            ..NONE
        };
        let team = CareFacts {
            care_team: true,
            ..NONE
        };
        let glass = CareFacts {
            break_glass: true,
            ..NONE
        };
        let proxy = CareFacts {
            proxy: true,
            ..NONE
        };
        let cases: Vec<(&str, Principal, CareFacts, Expect)> = vec![
            ("the patient", me.clone(), NONE, |d, op| match (d, op) {
                (Data::Section(_), Op::Read) | (Data::AccessLog, Op::Read) => Some(Basis::Own),
                (Data::Section(Section::Demographics | Section::Documents), Op::Write) => {
                    Some(Basis::Own)
                }
                (d, op) => views(d, op, Some(Basis::Own)),
            }),
            ("a proxy", principal(Role::Patient), proxy, |d, op| {
                match (d, op) {
                    (Data::Section(_), Op::Read)
                    | (Data::Section(Section::Documents), Op::Write) => Some(Basis::Proxy),
                    (Data::AccessLog, _) => None,
                    (d, op) => views(d, op, Some(Basis::Proxy)),
                }
            }),
            ("another patient", principal(Role::Patient), NONE, |_, _| {
                None
            }),
            (
                "a clinician with a visit",
                principal(Role::Clinician),
                related,
                |d, op| match d {
                    Data::Section(_) => Some(Basis::CareRelationship),
                    Data::AccessLog => None,
                    d => views(d, op, Some(Basis::CareRelationship)),
                },
            ),
            (
                "a clinician on the care team",
                principal(Role::Clinician),
                team,
                |d, op| match d {
                    Data::Section(_) => Some(Basis::CareRelationship),
                    Data::AccessLog => None,
                    d => views(d, op, Some(Basis::CareRelationship)),
                },
            ),
            (
                "a clinician under break-the-glass",
                principal(Role::Clinician),
                glass,
                |d, op| match d {
                    Data::Section(_) => Some(Basis::BreakGlass),
                    Data::AccessLog => None,
                    d => views(d, op, Some(Basis::BreakGlass)),
                },
            ),
            (
                "an unrelated clinician",
                principal(Role::Clinician),
                NONE,
                |d, op| {
                    (d == Data::Section(Section::Demographics) && op == Op::Read)
                        .then_some(Basis::Registration)
                },
            ),
            ("staff", principal(Role::Staff), related, |d, _| {
                (d == Data::Section(Section::Demographics)).then_some(Basis::Registration)
            }),
            ("an admin", principal(Role::Admin), glass, |d, op| {
                (d == Data::AccessLog && op == Op::Read).then_some(Basis::Oversight)
            }),
            // A pharmacist dispenses from a prescription's token, never from the record,
            // even when every fact of a care relationship holds.
            (
                "a pharmacist",
                principal(Role::Pharmacist),
                glass,
                |_, _| None,
            ),
            (
                "a pharmacist",
                principal(Role::Pharmacist),
                related,
                |_, _| None,
            ),
        ];
        for (who, p, facts, expect) in cases {
            for data in Data::all() {
                for op in [Op::Read, Op::Write] {
                    let got = decide(&p, patient, data, op, facts).map(|g| g.basis());
                    assert_eq!(got, expect(data, op), "{who}: {data:?} {}", op.as_str());
                }
            }
        }
    }

    #[test]
    fn nothing_is_granted_on_a_patient_that_does_not_exist() {
        let c = principal(Role::Clinician);
        let facts = CareFacts {
            patient_exists: false,
            shared_visit: true,
            ..NONE
        };
        for data in Data::all() {
            assert!(decide(&c, UserId::new(), data, Op::Read, facts).is_none());
        }
    }

    #[test]
    fn a_token_without_the_records_scope_reads_no_chart() {
        let c = Principal {
            permissions: vec![Permission::PatientsRead],
            ..principal(Role::Clinician)
        };
        let related = CareFacts {
            shared_visit: true,
            ..NONE
        };
        let patient = UserId::new();
        let problems = Data::Section(Section::Problems);
        assert!(decide(&c, patient, problems, Op::Read, related).is_none());
        assert!(decide(&c, patient, Data::Chart, Op::Read, related).is_none());
        let demographics = Data::Section(Section::Demographics);
        assert!(decide(&c, patient, demographics, Op::Read, related).is_some());
    }

    #[test]
    fn a_grant_covers_its_own_patient_and_sections_only() {
        let patient = UserId::new();
        let c = principal(Role::Clinician);
        let related = CareFacts {
            shared_visit: true,
            ..NONE
        };
        let problems = decide(
            &c,
            patient,
            Data::Section(Section::Problems),
            Op::Read,
            related,
        )
        .unwrap();
        assert_eq!(
            problems.require(Section::Problems, Op::Read).ok(),
            Some(patient)
        );
        assert!(matches!(
            problems.require(Section::Problems, Op::Write),
            Err(Error::NotFound)
        ));
        assert!(matches!(
            problems.require(Section::Notes, Op::Read),
            Err(Error::NotFound)
        ));
        let chart = decide(&c, patient, Data::Chart, Op::Read, related).unwrap();
        assert!(Section::ALL.iter().all(|s| chart.covers(*s, Op::Read)));
        assert!(!chart.covers(Section::Problems, Op::Write));

        let mine = Sealed::new(patient, Section::Notes, 7);
        assert_eq!(mine.open(&chart).ok(), Some(7));
        let someone_elses = Sealed::new(UserId::new(), Section::Notes, 7);
        assert!(matches!(someone_elses.open(&chart), Err(Error::NotFound)));
        let notes = Sealed::new(patient, Section::Notes, 7);
        assert!(matches!(notes.open(&problems), Err(Error::NotFound)));
    }

    #[test]
    fn drafts_are_for_clinicians_and_audit_names_are_one_vocabulary() {
        let patient = UserId::new();
        let me = Principal {
            user_id: patient,
            ..principal(Role::Patient)
        };
        let notes = Data::Section(Section::Notes);
        let own = decide(&me, patient, notes, Op::Read, NONE).unwrap();
        assert!(!own.sees_drafts());
        assert_eq!(own.action(), "record.notes.read");
        let c = principal(Role::Clinician);
        let related = CareFacts {
            shared_visit: true,
            ..NONE
        };
        let theirs = decide(&c, patient, notes, Op::Read, related).unwrap();
        assert!(theirs.sees_drafts());
        let log = decide(&me, patient, Data::AccessLog, Op::Read, NONE).unwrap();
        assert_eq!(log.action(), "record.access_log.read");
        let seed = system(SystemTask::DemoSeed, patient, UserId::new());
        assert_eq!(seed.action(), "system.demo_seed");
        assert_eq!(seed.actor(), None);
        assert!(!seed.sees_drafts());
    }
}
