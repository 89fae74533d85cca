//! Communication: secure messages, to the members of their thread (and staff for the
//! clinic inbox), as the messaging API shows them; audited as message reads.

use std::collections::BTreeSet;

use serde_json::Value;
use telemed_domain::{Error, MessageId, Permission, Result, Role, UserId};
use telemed_fhir::search::Search;
use telemed_fhir::{query, resources};
use telemed_store::fhir::{Communication, CommunicationQuery, TimeCond};

use super::found::{total, Found};
use super::FhirCaller;
use crate::audit::Event;
use crate::context::Ctx;
use crate::AppState;

/// The messages a caller may read: their threads', the clinic inbox's for staff, and
/// with a patient context only threads with that patient.
fn reach(caller: &FhirCaller, q: &mut CommunicationQuery) -> Result<()> {
    let p = &caller.principal;
    if !p.can(Permission::Messages) {
        return Err(Error::Forbidden);
    }
    q.reader = Some(p.user_id);
    q.clinic_inbox = p.role == Role::Staff;
    q.patient = caller.patient;
    Ok(())
}

async fn audit(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    action: &str,
    found: &[Communication],
    id: Option<MessageId>,
) -> Result<()> {
    let p = &caller.principal;
    let mut event = Event::new(ctx, state.clock.now(), action, "message")
        .by(p.user_id, p.role)
        .detail(format!("fhir; {} rows", found.len()));
    if let Some(id) = id {
        event = event.on(id);
    }
    let patients: BTreeSet<UserId> = found.iter().filter_map(|c| c.patient).collect();
    if let (1, Some(only)) = (patients.len(), patients.first()) {
        event = event.patient(*only);
    }
    state.audit.record(event.build()).await
}

/// `GET /Communication/{id}`: 404 for a message outside the caller's threads.
pub async fn read(state: &AppState, ctx: &Ctx, caller: &FhirCaller, id: &str) -> Result<Value> {
    let id = MessageId::from_path(id)?;
    let mut q = CommunicationQuery {
        ids: vec![vec![id]],
        limit: 1,
        ..CommunicationQuery::default()
    };
    reach(caller, &mut q).map_err(|_| Error::NotFound)?;
    let (found, _) = state.store.search_communications(&q).await?;
    let c = found.first().ok_or(Error::NotFound)?;
    audit(state, ctx, caller, "message.read", &found, Some(id)).await?;
    Ok(resources::communication(&super::base_url(state), c))
}

/// `Communication?patient=…&sent=…`, within the caller's threads.
pub async fn search(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    let mut q = query::communication_query(search);
    reach(caller, &mut q)?;
    let (found, more) = state.store.search_communications(&q).await?;
    let total = total(
        search,
        found.len(),
        more,
        state.store.count_communications(&q),
    )
    .await?;
    audit(state, ctx, caller, "message.list", &found, None).await?;
    Ok(Found {
        matches: found
            .iter()
            .map(|c| resources::communication(&super::base_url(state), c).into())
            .collect(),
        included: vec![],
        total,
        more,
    })
}

/// A patient's messages the caller may read (none outside their reach), sent since
/// `since` if given (messages never change), for `$everything` and bulk export.
pub async fn of_patient(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
    since: Option<TimeCond>,
) -> Result<Vec<Value>> {
    let mut q = CommunicationQuery {
        patients: vec![vec![patient]],
        sent: since.map(|c| vec![vec![c]]).unwrap_or_default(),
        limit: 100_000,
        ..CommunicationQuery::default()
    };
    if reach(caller, &mut q).is_err() {
        return Ok(vec![]);
    }
    let (found, _) = state.store.search_communications(&q).await?;
    if found.is_empty() {
        return Ok(vec![]);
    }
    audit(state, ctx, caller, "message.list", &found, None).await?;
    Ok(found
        .iter()
        .map(|c| resources::communication(&super::base_url(state), c))
        .collect())
}
