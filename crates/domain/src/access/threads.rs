//! Who may start a message thread with whom, who reads one, and the proof of it that the
//! store demands before it gives a thread's messages or attachments.

use super::Principal;
use crate::{Error, Permission, Result, Role, ThreadId, UserId};

/// Who a new thread is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// A clinician: for a patient, one they have a visit with.
    Clinician(UserId),
    /// The clinic's general inbox, shared by the staff (patients only).
    Clinic,
    /// A patient (clinicians: one they have a visit with; staff: any).
    Patient(UserId),
}

/// The shape of a thread the policy lets someone start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadStart {
    /// The patient it is about, if any (clinician-to-clinician threads have none).
    pub patient: Option<UserId>,
    /// Whether the clinic's front desk shares it (the clinic inbox).
    pub clinic_inbox: bool,
    /// Its members, the starter first.
    pub members: Vec<UserId>,
}

/// Whether `principal` may start a thread with `to`, and its shape. `in_care` is what
/// the store found: whether the patient and the clinician of the pair have a visit (it
/// matters only between a patient and a clinician). A patient writes to the clinicians
/// they see and to the clinic; a clinician to the patients they see and to colleagues;
/// the front desk to any patient (a clinic-inbox thread) and to clinicians.
pub fn thread_start(principal: &Principal, to: Recipient, in_care: bool) -> Result<ThreadStart> {
    principal.require(Permission::Messages)?;
    let me = principal.user_id;
    let start = |patient, clinic_inbox, members| ThreadStart {
        patient,
        clinic_inbox,
        members,
    };
    match (principal.role, to) {
        (Role::Patient, Recipient::Clinician(c)) if in_care => {
            Ok(start(Some(me), false, vec![me, c]))
        }
        (Role::Patient, Recipient::Clinician(_)) => Err(Error::invalid(
            "to",
            "you can write to clinicians you have a visit with, or to the clinic",
        )),
        (Role::Patient, Recipient::Clinic) => Ok(start(Some(me), true, vec![me])),
        (Role::Clinician, Recipient::Patient(p)) if in_care => {
            Ok(start(Some(p), false, vec![me, p]))
        }
        (Role::Clinician, Recipient::Patient(_)) => Err(Error::invalid(
            "to",
            "you can write to patients you have a visit with",
        )),
        (Role::Clinician | Role::Staff, Recipient::Clinician(c)) if c != me => {
            Ok(start(None, false, vec![me, c]))
        }
        (Role::Staff, Recipient::Patient(p)) => Ok(start(Some(p), true, vec![me, p])),
        _ => Err(Error::Forbidden),
    }
}

/// Whether `principal` sees a message thread: its members do, and the front desk sees
/// the clinic inbox's threads (patients writing to the clinic) whether or not a member.
pub fn sees_thread(principal: &Principal, member: bool, clinic_inbox: bool) -> bool {
    principal.can(Permission::Messages)
        && (member || (principal.role == Role::Staff && clinic_inbox))
}

/// Proof that the policy let `reader` see message thread `thread`: what the store asks
/// for before it gives a thread's messages and their attachments. Only `thread_grant`
/// makes one.
#[derive(Debug, PartialEq, Eq)]
pub struct ThreadGrant {
    reader: UserId,
    thread: ThreadId,
}

impl ThreadGrant {
    pub fn reader(&self) -> UserId {
        self.reader
    }

    pub fn thread(&self) -> ThreadId {
        self.thread
    }
}

/// The grant to read `thread`, when `sees_thread` says so.
pub fn thread_grant(
    principal: &Principal,
    thread: ThreadId,
    member: bool,
    clinic_inbox: bool,
) -> Option<ThreadGrant> {
    sees_thread(principal, member, clinic_inbox).then_some(ThreadGrant {
        reader: principal.user_id,
        thread,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::principal;
    use super::*;

    #[test]
    fn threads_are_seen_by_their_members_and_the_inbox_by_the_front_desk() {
        let patient = principal(Role::Patient);
        assert!(sees_thread(&patient, true, true));
        assert!(!sees_thread(&patient, false, true));
        let clinician = principal(Role::Clinician);
        assert!(sees_thread(&clinician, true, false));
        assert!(!sees_thread(&clinician, false, true));
        let staff = principal(Role::Staff);
        assert!(sees_thread(&staff, false, true));
        assert!(!sees_thread(&staff, false, false));
        let no_scope = Principal {
            permissions: vec![Permission::Profile],
            ..principal(Role::Patient)
        };
        assert!(!sees_thread(&no_scope, true, false));
        let thread = ThreadId::new();
        let grant = thread_grant(&staff, thread, false, true).unwrap();
        assert_eq!((grant.thread(), grant.reader()), (thread, staff.user_id));
        assert_eq!(thread_grant(&clinician, thread, false, true), None);
    }

    #[test]
    fn threads_start_between_people_in_care_the_clinic_and_colleagues() {
        let (patient, clinician, staff, admin) = (
            principal(Role::Patient),
            principal(Role::Clinician),
            principal(Role::Staff),
            principal(Role::Admin),
        );
        let (p, c) = (patient.user_id, clinician.user_id);
        let to_doctor = thread_start(&patient, Recipient::Clinician(c), true).unwrap();
        assert_eq!(
            to_doctor,
            ThreadStart {
                patient: Some(p),
                clinic_inbox: false,
                members: vec![p, c]
            }
        );
        assert!(matches!(
            thread_start(&patient, Recipient::Clinician(c), false),
            Err(Error::Invalid { .. })
        ));
        let to_clinic = thread_start(&patient, Recipient::Clinic, false).unwrap();
        assert!(to_clinic.clinic_inbox && to_clinic.members == vec![p]);
        assert!(thread_start(&patient, Recipient::Patient(UserId::new()), true).is_err());

        let to_patient = thread_start(&clinician, Recipient::Patient(p), true).unwrap();
        assert_eq!(
            (to_patient.patient, to_patient.members),
            (Some(p), vec![c, p])
        );
        assert!(thread_start(&clinician, Recipient::Patient(p), false).is_err());
        let colleague = UserId::new();
        assert_eq!(
            thread_start(&clinician, Recipient::Clinician(colleague), false)
                .unwrap()
                .patient,
            None
        );
        assert!(matches!(
            thread_start(&clinician, Recipient::Clinician(c), true),
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            thread_start(&clinician, Recipient::Clinic, true),
            Err(Error::Forbidden)
        ));

        let desk = thread_start(&staff, Recipient::Patient(p), false).unwrap();
        assert!(desk.clinic_inbox && desk.patient == Some(p));
        assert!(matches!(
            thread_start(&admin, Recipient::Patient(p), true),
            Err(Error::Forbidden)
        ));
        let no_scope = Principal {
            permissions: vec![Permission::Profile],
            ..patient
        };
        assert!(thread_start(&no_scope, Recipient::Clinic, false).is_err());
    }
}
