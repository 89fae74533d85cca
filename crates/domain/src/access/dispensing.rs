//! Who dispenses prescriptions: a pharmacist, for the pharmacy their account belongs
//! to, by the prescription's signed token (the patient's copy, or the prescription
//! sent to the pharmacy) — never by reading anyone's record. The store records a
//! dispense only with a `Dispenser`, made here.
//!
//! ```compile_fail,E0451
//! # use telemed_domain::access::Dispenser;
//! # use telemed_domain::UserId;
//! let forged = Dispenser { pharmacist: UserId::new(), pharmacy: "any".into() };
//! ```

use super::Principal;
use crate::{Permission, Role, UserId};

/// A pharmacist acting for their pharmacy.
#[derive(Debug)]
pub struct Dispenser {
    pharmacist: UserId,
    pharmacy: String,
}

impl Dispenser {
    pub fn pharmacist(&self) -> UserId {
        self.pharmacist
    }

    /// The pharmacy (its id in the directory) the dispenses are recorded for.
    pub fn pharmacy(&self) -> &str {
        &self.pharmacy
    }
}

/// A dispenser for `principal`, a pharmacist with the dispensing permission (a token
/// may lack its scope), who belongs to `pharmacy` (an active pharmacy of the
/// directory); `None` for anyone else.
pub fn dispenser(principal: &Principal, pharmacy: Option<String>) -> Option<Dispenser> {
    if principal.role != Role::Pharmacist || !principal.can(Permission::Dispense) {
        return None;
    }
    Some(Dispenser {
        pharmacist: principal.user_id,
        pharmacy: pharmacy?,
    })
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
    fn only_a_pharmacist_of_a_pharmacy_dispenses() {
        let pharmacy = || Some("ph-1".to_owned());
        let d = dispenser(&principal(Role::Pharmacist), pharmacy()).unwrap();
        assert_eq!(d.pharmacy(), "ph-1");
        assert!(dispenser(&principal(Role::Pharmacist), None).is_none());
        for role in [Role::Patient, Role::Clinician, Role::Staff, Role::Admin] {
            assert!(dispenser(&principal(role), pharmacy()).is_none(), "{role}");
        }
        let token_without_scope = Principal {
            permissions: vec![Permission::Profile],
            ..principal(Role::Pharmacist)
        };
        assert!(dispenser(&token_without_scope, pharmacy()).is_none());
    }
}
