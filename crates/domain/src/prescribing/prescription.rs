//! A prescription: what a clinician signs (the product as the catalogue had it, the sig,
//! quantity, refills, substitution), the findings of the checks at signing with the
//! reasons given to sign over the serious ones, and its status. Once signed it never
//! changes; cancelling it is a status change with a reason.

use serde::{Deserialize, Serialize};

use super::checks::{Finding, FindingKind};
use super::sig::Sig;
use super::Medication;
use crate::{Error, Result};

/// The most characters of a reason or a note to the pharmacist.
pub const MAX_TEXT: usize = 500;

/// Where a prescription stands (FHIR MedicationRequest.status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrescriptionStatus {
    Active,
    Cancelled,
    Stopped,
    Completed,
}

impl PrescriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PrescriptionStatus::Active => "active",
            PrescriptionStatus::Cancelled => "cancelled",
            PrescriptionStatus::Stopped => "stopped",
            PrescriptionStatus::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<PrescriptionStatus> {
        [
            PrescriptionStatus::Active,
            PrescriptionStatus::Cancelled,
            PrescriptionStatus::Stopped,
            PrescriptionStatus::Completed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// What a clinician prescribes, before it is signed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPrescription {
    pub medication: Medication,
    pub sig: Sig,
    /// How much to dispense, in `quantity_unit` (30 tablets, 100 mL).
    pub quantity: f64,
    pub quantity_unit: String,
    /// Fills after the first.
    pub refills: u32,
    pub substitution_allowed: bool,
    /// To the pharmacist.
    pub note: String,
}

impl NewPrescription {
    /// Checks what a pharmacy needs, naming the field at fault; `max_refills` is the
    /// clinic's limit (none for controlled substances of schedule II).
    pub fn validate(&self, max_refills: u32) -> Result<()> {
        self.sig.validate()?;
        if !self.medication.active {
            return Err(Error::invalid(
                "code",
                "this product is no longer in the catalogue",
            ));
        }
        if !(self.quantity.is_finite() && self.quantity > 0.0 && self.quantity <= 100_000.0) {
            return Err(Error::invalid(
                "quantity",
                "the quantity to dispense is a positive amount",
            ));
        }
        if self.quantity_unit.trim().is_empty() || self.quantity_unit.len() > 20 {
            return Err(Error::invalid(
                "quantity_unit",
                "name the quantity's unit (tablet, capsule, mL…)",
            ));
        }
        let most = match self.medication.schedule {
            Some(super::Schedule::II) => 0,
            _ => max_refills,
        };
        if self.refills > most {
            return Err(Error::invalid(
                "refills",
                format!("at most {most} refills for this product"),
            ));
        }
        if self.note.chars().count() > MAX_TEXT {
            return Err(Error::invalid(
                "note",
                format!("keep the note under {MAX_TEXT} characters"),
            ));
        }
        Ok(())
    }
}

/// The prescriber's reason to sign over a finding, naming it by kind and subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub kind: FindingKind,
    pub subject: String,
    pub reason: String,
}

/// A finding as it stood at signing, with the reason the prescriber gave, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
}

/// The findings to sign with: each major or contraindicated one needs an override
/// with a reason (1 to 500 characters); a reason for a lesser finding is kept too.
/// An override that names no finding is refused (the checks changed since it was
/// written: check again).
pub fn sign_over(findings: Vec<Finding>, overrides: &[Override]) -> Result<Vec<SignedFinding>> {
    for o in overrides {
        let reason = o.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_TEXT {
            return Err(Error::invalid(
                "overrides",
                format!(
                    "give a reason of 1 to {MAX_TEXT} characters for \"{}\"",
                    o.subject
                ),
            ));
        }
        if !findings
            .iter()
            .any(|f| f.kind == o.kind && f.subject == o.subject)
        {
            return Err(Error::invalid(
                "overrides",
                format!(
                    "\"{}\" is not a finding of this prescription: check it again",
                    o.subject
                ),
            ));
        }
    }
    findings
        .into_iter()
        .map(|finding| {
            let reason = overrides
                .iter()
                .find(|o| o.kind == finding.kind && o.subject == finding.subject)
                .map(|o| o.reason.trim().to_owned());
            if finding.severity.needs_override_reason() && reason.is_none() {
                return Err(Error::invalid(
                    "overrides",
                    format!(
                        "{} finding \"{}\": signing over it needs a reason",
                        finding.severity.as_str(),
                        finding.subject
                    ),
                ));
            }
            Ok(SignedFinding {
                finding,
                override_reason: reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Severity;
    use super::*;

    fn finding(kind: FindingKind, severity: Severity, subject: &str) -> Finding {
        Finding {
            kind,
            severity,
            subject: subject.into(),
            detail: String::new(),
            advice: String::new(),
        }
    }

    #[test]
    fn serious_findings_need_a_reason_and_overrides_must_name_a_finding() {
        let found = vec![
            finding(
                FindingKind::Allergy,
                Severity::Major,
                "allergy to Penicillin",
            ),
            finding(FindingKind::Duplicate, Severity::Moderate, "two NSAIDs"),
        ];
        let err = sign_over(found.clone(), &[]).unwrap_err();
        assert!(err.to_string().contains("allergy to Penicillin"), "{err}");
        let reason = |subject: &str, reason: &str| Override {
            kind: FindingKind::Allergy,
            subject: subject.into(),
            reason: reason.into(),
        };
        assert!(sign_over(found.clone(), &[reason("allergy to Penicillin", "  ")]).is_err());
        assert!(sign_over(found.clone(), &[reason("allergy to Latex", "tolerated")]).is_err());
        let signed = sign_over(
            found,
            &[reason(
                "allergy to Penicillin",
                "tolerated amoxicillin in 2024 ",
            )],
        )
        .unwrap();
        assert_eq!(
            signed[0].override_reason.as_deref(),
            Some("tolerated amoxicillin in 2024")
        );
        assert_eq!(signed[1].override_reason, None);
        assert!(sign_over(Vec::new(), &[]).unwrap().is_empty());
    }
}
