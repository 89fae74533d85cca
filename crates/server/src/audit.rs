//! Building audit records from a request, and auditing the access policy's decisions.

use chrono::{DateTime, Utc};
use telemed_domain::access::{self, AccessDecision, Grant, PatientAccess, Principal};
use telemed_domain::audit::{AuditRecord, Outcome};
use telemed_domain::{Error, Result, Role, UserId};

use crate::context::Ctx;
use crate::AppState;

/// An audit record under construction: `Event::new(ctx, now, "auth.sign_in", "session")`.
pub struct Event(AuditRecord);

impl Event {
    pub fn new(ctx: &Ctx, at: DateTime<Utc>, action: &str, resource_type: &str) -> Self {
        Event(AuditRecord {
            at,
            actor: None,
            actor_role: None,
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: None,
            patient: None,
            outcome: Outcome::Success,
            client_addr: ctx.client_addr.clone(),
            request_id: Some(ctx.request_id.clone()),
            detail: None,
        })
    }

    pub fn by(mut self, user: UserId, role: Role) -> Self {
        self.0.actor = Some(user);
        self.0.actor_role = Some(role);
        self
    }

    pub fn on(mut self, id: impl ToString) -> Self {
        self.0.resource_id = Some(id.to_string());
        self
    }

    /// Marks the entry as concerning this patient's data (it shows in their access log).
    pub fn patient(mut self, patient: UserId) -> Self {
        self.0.patient = Some(patient);
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.0.outcome = outcome;
        self
    }

    /// A short, non-personal detail such as `role patient->staff`.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    pub fn build(self) -> AuditRecord {
        self.0
    }
}

/// Asks the access policy for `access` to `patient`'s data and audits the decision
/// (through the batching writer: this is a read). A refusal is `NotFound`, the same
/// answer as for a record that does not exist.
pub async fn authorize_patient_read(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    access: PatientAccess,
) -> Result<Grant> {
    let AccessDecision { grant, .. } = access::decide(principal, patient, access);
    let outcome = if grant.is_some() {
        Outcome::Success
    } else {
        Outcome::Denied
    };
    let event = Event::new(ctx, state.clock.now(), access.action_name(), "patient")
        .by(principal.user_id, principal.role)
        .on(patient)
        .patient(patient)
        .outcome(outcome);
    state.audit.record(event.build()).await?;
    grant.ok_or(Error::NotFound)
}
