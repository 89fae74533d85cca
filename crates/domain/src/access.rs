//! The access policy: the one place that decides whether a principal may touch patient
//! data. Every decision, allowed or denied, is returned as an `AccessDecision` that the
//! caller must audit; a `Grant` (needed by the store to read patient data) can only be
//! had from an allowed decision.

use crate::{Permission, Role, UserId};

/// Who is acting: an authenticated user, with the permissions of this sign-in (a web
/// session carries all of the role's permissions; an API token only its scopes).
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
    pub fn require(&self, permission: Permission) -> crate::Result<()> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(crate::Error::Forbidden)
        }
    }
}

/// What is asked of patient data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientAccess {
    ReadDemographics,
    ReadAccessLog,
}

impl PatientAccess {
    pub fn action_name(self) -> &'static str {
        match self {
            PatientAccess::ReadDemographics => "patient.demographics.read",
            PatientAccess::ReadAccessLog => "patient.access_log.read",
        }
    }
}

/// Proof that the policy allowed `access` to `patient` for `actor`. Only `decide` makes one.
#[derive(Debug, Clone)]
pub struct Grant {
    actor: UserId,
    patient: UserId,
    access: PatientAccess,
}

impl Grant {
    pub fn actor(&self) -> UserId {
        self.actor
    }
    pub fn patient(&self) -> UserId {
        self.patient
    }
    pub fn access(&self) -> PatientAccess {
        self.access
    }
}

#[derive(Debug, Clone)]
pub struct AccessDecision {
    pub access: PatientAccess,
    pub patient: UserId,
    pub grant: Option<Grant>,
}

/// Decides `access` to the record of `patient`. Whether `patient` is really a patient is
/// for the caller to check after the grant, and to answer "not found" alike for a
/// refusal and a missing record.
pub fn decide(principal: &Principal, patient: UserId, access: PatientAccess) -> AccessDecision {
    let is_self = principal.role == Role::Patient && principal.user_id == patient;
    let allowed = match access {
        PatientAccess::ReadDemographics => {
            (is_self && principal.can(Permission::Profile))
                || principal.can(Permission::PatientsRead)
        }
        PatientAccess::ReadAccessLog => {
            (is_self && principal.can(Permission::Profile)) || principal.can(Permission::AuditRead)
        }
    };
    AccessDecision {
        access,
        patient,
        grant: allowed.then_some(Grant {
            actor: principal.user_id,
            patient,
            access,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: UserId::new(),
            role,
            permissions: role.permissions().to_vec(),
        }
    }

    #[test]
    fn patients_reach_only_their_own_record() {
        let p = principal(Role::Patient);
        assert!(decide(&p, p.user_id, PatientAccess::ReadDemographics)
            .grant
            .is_some());
        assert!(decide(&p, UserId::new(), PatientAccess::ReadDemographics)
            .grant
            .is_none());
        assert!(decide(&p, UserId::new(), PatientAccess::ReadAccessLog)
            .grant
            .is_none());
    }

    #[test]
    fn clinical_roles_read_demographics_and_token_scopes_narrow_them() {
        let mut c = principal(Role::Clinician);
        assert!(decide(&c, UserId::new(), PatientAccess::ReadDemographics)
            .grant
            .is_some());
        assert!(decide(&c, UserId::new(), PatientAccess::ReadAccessLog)
            .grant
            .is_none());
        c.permissions = vec![Permission::Profile];
        assert!(decide(&c, UserId::new(), PatientAccess::ReadDemographics)
            .grant
            .is_none());
        let a = principal(Role::Admin);
        assert!(decide(&a, UserId::new(), PatientAccess::ReadDemographics)
            .grant
            .is_none());
        assert!(decide(&a, UserId::new(), PatientAccess::ReadAccessLog)
            .grant
            .is_some());
    }
}
