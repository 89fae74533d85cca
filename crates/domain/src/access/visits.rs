//! Whose visits (appointments, their encounters and rooms) a reader sees: one rule for
//! scheduling, the waiting room, the video room, the pages and FHIR, and the proof of it
//! that the store demands before it gives a visit.

use super::{Data, Grant, Principal, SystemTask};
use crate::views::Appointment;
use crate::{AppointmentId, Permission, Role, UserId};

/// Proof of which visits a reader may see: every store read of visits demands one.
/// Only this module makes one — from a person's role (`visit_reach`), from a grant on a
/// patient's record (that patient's visits, `visits_in_record`), for a guest holding an
/// invitation (`invited_guest`), for a person in the visits they take part in
/// (`visit_party`), for whoever holds a clinician's calendar-feed secret
/// (`calendar_feed`), and for a named system task (`system_visits`). It is not `Clone`.
///
/// ```compile_fail,E0451
/// # use telemed_domain::access::*;
/// let everything = VisitReach { scope: VisitScope::All };
/// ```
///
/// ```
/// # use telemed_domain::access::*;
/// # use telemed_domain::{Role, UserId};
/// let staff = Principal { user_id: UserId::new(), role: Role::Staff, permissions: Role::Staff.permissions().to_vec() };
/// assert_eq!(visit_reach(&staff).unwrap().scope(), VisitScope::All);
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct VisitReach {
    scope: VisitScope,
}

/// What a `VisitReach` spans: what the store's query filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitScope {
    /// One patient's visits (the patient, or a reader of their record).
    Patient(UserId),
    /// The visits a clinician sees patients in.
    Clinician(UserId),
    /// The visits a person takes part in, as the patient or the clinician.
    Party(UserId),
    /// One visit (an invited guest's).
    Visit(AppointmentId),
    /// Every visit (the front desk, system tasks).
    All,
}

impl VisitReach {
    pub fn scope(&self) -> VisitScope {
        self.scope
    }

    /// Whether `visit` is within reach.
    pub fn includes(&self, visit: &Appointment) -> bool {
        match self.scope {
            VisitScope::Patient(p) => visit.patient_id == p,
            VisitScope::Clinician(c) => visit.clinician_id == c,
            VisitScope::Party(u) => visit.patient_id == u || visit.clinician_id == u,
            VisitScope::Visit(id) => visit.id == id,
            VisitScope::All => true,
        }
    }
}

/// The visits `principal` may see: a patient their own, a clinician those they see,
/// the front desk every one; `None` for admins and for tokens without the appointments
/// scope.
pub fn visit_reach(principal: &Principal) -> Option<VisitReach> {
    if !principal.can(Permission::Appointments) {
        return None;
    }
    let scope = match principal.role {
        Role::Patient => VisitScope::Patient(principal.user_id),
        Role::Clinician => VisitScope::Clinician(principal.user_id),
        Role::Staff => VisitScope::All,
        Role::Admin | Role::Pharmacist => return None,
    };
    Some(VisitReach { scope })
}

/// The visits of the patient whose record `grant` opens: part of the chart (the
/// chart's visit lists, a note or document filed against one of the patient's visits).
/// The access log is not the record: it reaches none.
pub fn visits_in_record(grant: &Grant) -> Option<VisitReach> {
    (grant.data() != Data::AccessLog).then_some(VisitReach {
        scope: VisitScope::Patient(grant.patient()),
    })
}

/// The visits `person` takes part in as their patient or their clinician: whose video
/// rooms they enter and whose call records they read (the front desk arranges visits
/// but does not sit in them).
pub fn visit_party(person: UserId) -> VisitReach {
    VisitReach {
        scope: VisitScope::Party(person),
    }
}

/// The one visit an invitation is for, for a guest who presented it (the caller has
/// found the invitation by its secret and checked it is neither spent nor revoked).
pub fn invited_guest(visit: AppointmentId) -> VisitReach {
    VisitReach {
        scope: VisitScope::Visit(visit),
    }
}

/// A clinician's visits, for whoever holds the secret of their calendar feed (found by
/// its hash); the feed carries times and links, never names.
pub fn calendar_feed(clinician: UserId) -> VisitReach {
    VisitReach {
        scope: VisitScope::Clinician(clinician),
    }
}

/// Every visit, for a named system task (the job queue's notices, reminders, no-shows).
pub fn system_visits(task: SystemTask) -> VisitReach {
    let _named = task;
    VisitReach {
        scope: VisitScope::All,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decide, CareFacts, Op};
    use super::*;
    use crate::record::Section;

    fn person(role: Role, user_id: UserId) -> Principal {
        Principal {
            user_id,
            role,
            permissions: role.permissions().to_vec(),
        }
    }

    fn visit(patient: UserId, clinician: UserId) -> Appointment {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Appointment {
            id: AppointmentId::new(),
            clinician_id: clinician,
            patient_id: patient,
            visit_kind: crate::schedule::VisitKind::Video,
            start_at: now,
            end_at: now,
            status: crate::views::AppointmentStatus::Booked,
            reason: String::new(),
            booked_by: patient,
            cancel_reason: None,
            created_at: now,
            arrived_at: None,
            sequence: 0,
            updated_at: now,
        }
    }

    #[test]
    fn visits_are_seen_by_their_patient_their_clinician_and_the_front_desk() {
        let (patient, clinician) = (UserId::new(), UserId::new());
        let theirs = visit(patient, clinician);
        let others = visit(UserId::new(), UserId::new());
        let reach = |role, id| visit_reach(&person(role, id));
        let own = reach(Role::Patient, patient).unwrap();
        assert!(own.includes(&theirs) && !own.includes(&others));
        let seen = reach(Role::Clinician, clinician).unwrap();
        assert!(seen.includes(&theirs) && !seen.includes(&others));
        let desk = reach(Role::Staff, UserId::new()).unwrap();
        assert!(desk.includes(&theirs) && desk.includes(&others));
        assert_eq!(reach(Role::Admin, UserId::new()), None);
        let scoped = Principal {
            permissions: vec![Permission::Profile],
            ..person(Role::Patient, patient)
        };
        assert_eq!(visit_reach(&scoped), None);
    }

    #[test]
    fn a_record_grant_reaches_that_patients_visits_and_a_guest_one_visit() {
        let (patient, clinician) = (UserId::new(), UserId::new());
        let theirs = visit(patient, clinician);
        let facts = CareFacts {
            patient_exists: true,
            shared_visit: true,
            ..CareFacts::default()
        };
        let doctor = person(Role::Clinician, clinician);
        let chart = decide(&doctor, patient, Data::Chart, Op::Read, facts).unwrap();
        let reach = visits_in_record(&chart).unwrap();
        assert_eq!(reach.scope(), VisitScope::Patient(patient));
        assert!(reach.includes(&theirs));
        assert!(!reach.includes(&visit(UserId::new(), clinician)));
        let me = person(Role::Patient, patient);
        let log = decide(&me, patient, Data::AccessLog, Op::Read, facts).unwrap();
        assert_eq!(visits_in_record(&log), None);
        let notes = Data::Section(Section::Notes);
        assert!(decide(&me, patient, notes, Op::Read, facts)
            .as_ref()
            .and_then(visits_in_record)
            .is_some());

        let guest = invited_guest(theirs.id);
        assert!(guest.includes(&theirs));
        assert!(!guest.includes(&visit(patient, clinician)));
        let party = visit_party(clinician);
        assert!(party.includes(&theirs) && party.includes(&visit(clinician, UserId::new())));
        assert!(!party.includes(&visit(UserId::new(), UserId::new())));
        let feed = calendar_feed(clinician);
        assert!(feed.includes(&theirs) && !feed.includes(&visit(patient, UserId::new())));
    }
}
