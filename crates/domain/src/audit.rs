//! The audit record and its hash chain. Each entry's hash covers its own fields and the
//! previous entry's hash, so altering or removing a row breaks every link after it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Role, UserId};

/// The hash the first entry links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::Success, Outcome::Failure, Outcome::Denied]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// One thing that happened, before it is placed in the chain. Holds ids, never names,
/// emails or clinical content.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub actor: Option<UserId>,
    pub actor_role: Option<Role>,
    /// Dotted verb, e.g. `auth.sign_in`, `patient.demographics.read`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub patient: Option<UserId>,
    pub outcome: Outcome,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    /// A short non-personal detail, e.g. `role patient->staff`.
    pub detail: Option<String>,
}

impl AuditRecord {
    /// The hash of this record placed at `seq` after an entry whose hash is `prev_hash`.
    pub fn chain_hash(&self, seq: i64, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        field(prev_hash.as_bytes());
        field(&seq.to_be_bytes());
        field(&self.at.timestamp_micros().to_be_bytes());
        field(
            self.actor
                .map(|a| a.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(
            self.actor_role
                .map(|r| r.as_str())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(self.action.as_bytes());
        field(self.resource_type.as_bytes());
        field(self.resource_id.as_deref().unwrap_or_default().as_bytes());
        field(
            self.patient
                .map(|p| p.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(self.outcome.as_str().as_bytes());
        field(self.client_addr.as_deref().unwrap_or_default().as_bytes());
        field(self.request_id.as_deref().unwrap_or_default().as_bytes());
        field(self.detail.as_deref().unwrap_or_default().as_bytes());
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record() -> AuditRecord {
        AuditRecord {
            at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            actor: Some(UserId::new()),
            actor_role: Some(Role::Clinician),
            action: "patient.demographics.read".into(),
            resource_type: "patient".into(),
            resource_id: None,
            patient: Some(UserId::new()),
            outcome: Outcome::Success,
            client_addr: Some("127.0.0.1".into()),
            request_id: Some("r1".into()),
            detail: None,
        }
    }

    #[test]
    fn every_field_and_the_link_change_the_hash() {
        let r = record();
        let base = r.chain_hash(7, GENESIS_HASH);
        assert_eq!(base, r.chain_hash(7, GENESIS_HASH));
        assert_ne!(base, r.chain_hash(8, GENESIS_HASH));
        assert_ne!(base, r.chain_hash(7, &"1".repeat(64)));
        let mut changed = r.clone();
        changed.outcome = Outcome::Denied;
        assert_ne!(base, changed.chain_hash(7, GENESIS_HASH));
        // Field boundaries are length-prefixed, so moving text between fields changes it too.
        let mut a = r.clone();
        a.resource_type = "pa".into();
        a.resource_id = Some("tient".into());
        let mut b = r.clone();
        b.resource_type = "pat".into();
        b.resource_id = Some("ient".into());
        assert_ne!(a.chain_hash(1, GENESIS_HASH), b.chain_hash(1, GENESIS_HASH));
    }
}
