//! Building audit records from a request (the policy's decisions are audited by
//! `record::authorize`), and searching the trail (auditors).

use chrono::{DateTime, Utc};
use telemed_domain::access::Principal;
use telemed_domain::audit::{AuditRecord, Outcome};
use telemed_domain::{Permission, Result, Role, UserId};
use telemed_store::audit::{AuditEntry, AuditFilter};

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

impl From<Event> for AuditRecord {
    fn from(event: Event) -> AuditRecord {
        event.0
    }
}

/// The trail's entries matching `filter`, newest first, for those with the audit-read
/// permission; everything recorded so far is written first, and the search itself is
/// audited (`audit.search`).
pub async fn search(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>> {
    principal.require(Permission::AuditRead)?;
    state.audit.flush().await?;
    let entries = state.store.search_audit(filter).await?;
    let event = Event::new(ctx, state.clock.now(), "audit.search", "audit")
        .by(principal.user_id, principal.role);
    state.audit.record(event.build()).await?;
    Ok(entries)
}
