//! The audit trail, for auditors (admins).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::audit::Outcome;
use telemed_domain::{Error, Permission, UserId};
use telemed_store::audit::{AuditEntry, AuditFilter, ChainBreak};

use super::ApiQuery;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::AppState;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor: Option<UserId>,
    pub patient: Option<UserId>,
    /// Action prefix, e.g. `auth.` or `patient.`.
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Entries before this sequence number (the `next_before` of the previous page).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

impl AuditQuery {
    pub fn filter(&self) -> Result<AuditFilter, Error> {
        let outcome = match self.outcome.as_deref().filter(|o| !o.is_empty()) {
            None => None,
            Some(o) => Some(Outcome::parse(o).ok_or_else(|| {
                Error::invalid("outcome", "outcome must be success, failure or denied")
            })?),
        };
        Ok(AuditFilter {
            actor: self.actor,
            patient: self.patient,
            action_prefix: self.action.clone().filter(|a| !a.is_empty()),
            outcome,
            since: self.since,
            until: self.until,
            before_seq: self.before,
            limit: self.limit.unwrap_or(100).clamp(1, 1000),
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

/// Searches the trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery), responses(
    (status = 200, body = AuditPage), (status = 403, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<AuditPage>> {
    caller.principal.require(Permission::AuditRead)?;
    let filter = q.filter()?;
    let entries = crate::audit::search(&state, &ctx, &caller.principal, &filter).await?;
    let next_before = (entries.len() as i64 == filter.limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChainStatus {
    pub intact: bool,
    pub entries: i64,
    /// The first broken link, in words.
    pub first_break: Option<String>,
}

pub fn describe_break(b: &ChainBreak) -> String {
    match b {
        ChainBreak::Altered { seq } => format!("entry {seq} was altered"),
        ChainBreak::Missing { after, next } => {
            format!("entries after {after} are missing (next present: {next})")
        }
        ChainBreak::Truncated { last_seq, head_seq } => {
            format!("the log ends at {last_seq} but {head_seq} entries were written")
        }
    }
}

/// Verifies the whole hash chain.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])), responses((status = 200, body = ChainStatus)))]
pub async fn verify(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<ChainStatus>> {
    caller.principal.require(Permission::AuditRead)?;
    state.audit.flush().await?;
    let report = state.store.verify_audit_chain().await?;
    Ok(Json(ChainStatus {
        intact: report.first_break.is_none(),
        entries: report.entries,
        first_break: report.first_break.as_ref().map(describe_break),
    }))
}
