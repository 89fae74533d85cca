//! Roles and the permissions they carry. API token scopes are permissions by name, and a
//! token can only carry permissions its owner's role has.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Patient,
    Clinician,
    /// Front desk: scheduling and demographics, no clinical content.
    Staff,
    Admin,
    /// A pharmacy's pharmacist: dispenses the prescriptions presented to their pharmacy;
    /// no access to anyone's record.
    Pharmacist,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Patient,
        Role::Clinician,
        Role::Staff,
        Role::Admin,
        Role::Pharmacist,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Clinician => "clinician",
            Role::Staff => "staff",
            Role::Admin => "admin",
            Role::Pharmacist => "pharmacist",
        }
    }

    /// Everyone who can see other people's data must use a second factor.
    pub fn requires_mfa(self) -> bool {
        !matches!(self, Role::Patient)
    }

    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Patient => &[Profile, Appointments, Messages, RecordsRead, RecordsWrite],
            Role::Clinician => &[
                Profile,
                PatientsRead,
                Appointments,
                SchedulesWrite,
                Messages,
                RecordsRead,
                RecordsWrite,
            ],
            Role::Staff => &[
                Profile,
                PatientsRead,
                Appointments,
                SchedulesWrite,
                Messages,
            ],
            Role::Admin => &[Profile, UsersRead, UsersWrite, AuditRead, ClinicWrite],
            Role::Pharmacist => &[Profile, Dispense],
        }
    }

    pub fn has(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                crate::Error::invalid(
                    "role",
                    "role must be one of patient, clinician, staff, admin, pharmacist",
                )
            })
    }
}

/// What a principal may do; also the scope names of API tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Permission {
    /// Read and manage one's own account, sessions and tokens.
    #[serde(rename = "profile")]
    Profile,
    /// Read patients' demographics (subject to the access policy).
    #[serde(rename = "patients:read")]
    PatientsRead,
    #[serde(rename = "users:read")]
    UsersRead,
    #[serde(rename = "users:write")]
    UsersWrite,
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Find clinicians and slots; book, see and cancel appointments (one's own, or any
    /// for staff).
    #[serde(rename = "appointments")]
    Appointments,
    /// Set clinicians' availability and visit types (their own, or any for staff).
    #[serde(rename = "schedules:write")]
    SchedulesWrite,
    /// Read and send secure messages in one's own threads (staff: the clinic inbox too).
    #[serde(rename = "messages")]
    Messages,
    /// Read the clinical record (one's own, a delegated one, or with a care
    /// relationship; the record's access policy decides).
    #[serde(rename = "records:read")]
    RecordsRead,
    /// Write to the clinical record under the same policy.
    #[serde(rename = "records:write")]
    RecordsWrite,
    /// Dispense the prescriptions presented to one's pharmacy (by their signed token).
    #[serde(rename = "prescriptions:dispense")]
    Dispense,
    /// Keep the clinic's settings, logo and consent texts (admins).
    #[serde(rename = "clinic:write")]
    ClinicWrite,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::Profile,
        Permission::PatientsRead,
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::AuditRead,
        Permission::Appointments,
        Permission::SchedulesWrite,
        Permission::Messages,
        Permission::RecordsRead,
        Permission::RecordsWrite,
        Permission::Dispense,
        Permission::ClinicWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Profile => "profile",
            Permission::PatientsRead => "patients:read",
            Permission::UsersRead => "users:read",
            Permission::UsersWrite => "users:write",
            Permission::AuditRead => "audit:read",
            Permission::Appointments => "appointments",
            Permission::SchedulesWrite => "schedules:write",
            Permission::Messages => "messages",
            Permission::RecordsRead => "records:read",
            Permission::RecordsWrite => "records:write",
            Permission::Dispense => "prescriptions:dispense",
            Permission::ClinicWrite => "clinic:write",
        }
    }
}

impl FromStr for Permission {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| crate::Error::invalid("scopes", format!("unknown scope {s:?}")))
    }
}

/// Parses a space-separated scope list, rejecting unknown names and duplicates.
pub fn parse_scopes(raw: &str) -> crate::Result<Vec<Permission>> {
    let mut scopes = Vec::new();
    for name in raw.split_whitespace() {
        let p: Permission = name.parse()?;
        if !scopes.contains(&p) {
            scopes.push(p);
        }
    }
    Ok(scopes)
}

pub fn format_scopes(scopes: &[Permission]) -> String {
    scopes
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
        let scopes = parse_scopes("profile  users:read profile").unwrap();
        assert_eq!(scopes, vec![Permission::Profile, Permission::UsersRead]);
        assert_eq!(format_scopes(&scopes), "profile users:read");
        assert!(parse_scopes("profile admin:*").is_err());
    }

    #[test]
    fn only_patients_may_skip_mfa() {
        assert!(!Role::Patient.requires_mfa());
        assert!(
            Role::Clinician.requires_mfa()
                && Role::Staff.requires_mfa()
                && Role::Admin.requires_mfa()
        );
    }
}
