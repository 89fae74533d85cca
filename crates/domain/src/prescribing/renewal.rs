//! Renewal requests: a patient asks the prescriber to renew a prescription; the
//! prescriber approves (by signing a new prescription), denies with a reason, or asks
//! for a visit first.

use super::prescription::{PrescriptionStatus, MAX_TEXT};
use crate::{Error, Result};

/// Where a renewal request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalStatus {
    Pending,
    /// Renewed: a new prescription was signed.
    Approved,
    Denied,
    /// The prescriber wants to see the patient first.
    VisitNeeded,
}

impl RenewalStatus {
    pub const ALL: [RenewalStatus; 4] = [
        RenewalStatus::Pending,
        RenewalStatus::Approved,
        RenewalStatus::Denied,
        RenewalStatus::VisitNeeded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RenewalStatus::Pending => "pending",
            RenewalStatus::Approved => "approved",
            RenewalStatus::Denied => "denied",
            RenewalStatus::VisitNeeded => "visit_needed",
        }
    }

    pub fn parse(s: &str) -> Option<RenewalStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Whether a prescription in `status` may be renewed: one being taken (active) or used
/// up (completed); not one the prescriber cancelled or discontinued.
pub fn renewable(status: PrescriptionStatus) -> Result<()> {
    match status {
        PrescriptionStatus::Active | PrescriptionStatus::Completed => Ok(()),
        PrescriptionStatus::Cancelled | PrescriptionStatus::Stopped => Err(Error::Conflict(
            "the prescriber ended this prescription: ask them in a message or a visit".into(),
        )),
    }
}

/// A note or an answer: at most `MAX_TEXT` characters, trimmed; `required` refuses an
/// empty one (a denial says why).
pub fn text(field: &'static str, value: &str, required: bool) -> Result<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(Error::invalid(field, "say why, for the patient"));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_prescription_being_taken_or_used_up_is_renewed() {
        assert!(renewable(PrescriptionStatus::Active).is_ok());
        assert!(renewable(PrescriptionStatus::Completed).is_ok());
        assert!(renewable(PrescriptionStatus::Cancelled).is_err());
        assert!(renewable(PrescriptionStatus::Stopped).is_err());
        for s in RenewalStatus::ALL {
            assert_eq!(RenewalStatus::parse(s.as_str()), Some(s));
        }
        assert!(text("reason", "  ", true).is_err());
        assert_eq!(text("note", "  ", false).unwrap(), "");
        assert!(text("note", &"x".repeat(MAX_TEXT + 1), false).is_err());
    }
}
