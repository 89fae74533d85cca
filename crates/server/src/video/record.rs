//! What a visit's participants read about it: the roster of names, the chat so far, the
//! record of the call (who was there, when, the chat), and — for the clinician, beside
//! the call — the patient's chart summary, other visits and telehealth consent. Each
//! reads only the visit its caller was let into (`open_room`, `access::visit_party`)
//! or the record the policy granted.

use std::collections::BTreeMap;

use chrono::Duration;
use telemed_domain::access::{self, Principal};
use telemed_domain::video::TELEHEALTH_CONSENT;
use telemed_domain::{AppointmentId, Error, Result};
use telemed_store::record::Summary;
use telemed_store::scheduling::Appointment;
use telemed_store::visits::{ChatLine, Consent, Encounter, Invite, Peer};

use super::Room;
use crate::audit::Event;
use crate::context::Ctx;
use crate::AppState;

/// The display names of everyone who may be in a visit's room (its patient, its
/// clinician, its invited guests), by participant id.
pub async fn roster(state: &AppState, visit: &Appointment) -> Result<BTreeMap<String, String>> {
    let people = [visit.patient_id, visit.clinician_id];
    let names = state.store.names_of(&people).await?;
    let mut roster = BTreeMap::new();
    for id in people {
        if let Some((name, _)) = names.get(&id) {
            roster.insert(id.to_string(), name.clone());
        }
    }
    for invite in state.store.invites_for(visit.id).await? {
        roster.insert(invite.guest.to_string(), invite.label);
    }
    Ok(roster)
}

/// The room's chat lines after `after` (at most 200).
pub async fn chat(state: &AppState, room: &Room, after: i64) -> Result<Vec<ChatLine>> {
    state.store.visit_chat(room.id(), after.max(0), 200).await
}

/// The guest links the room's host sent, oldest first; for the host only.
pub async fn invitations(state: &AppState, room: &Room) -> Result<Vec<Invite>> {
    if !room.me.hosts() {
        return Err(Error::Forbidden);
    }
    state.store.invites_for(room.id()).await
}

/// The record of a call that began: the visit, its encounter, who was let in and when,
/// and the chat.
pub struct CallRecord {
    pub visit: Appointment,
    pub encounter: Encounter,
    pub attendance: Vec<Peer>,
    pub chat: Vec<ChatLine>,
    pub roster: BTreeMap<String, String>,
}

/// The record of visit `id`'s call, for its patient and its clinician (the visits they
/// take part in); audited as `visit.record.read`. Anyone else, and a visit whose call
/// never began, is not found.
pub async fn call_record(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: AppointmentId,
) -> Result<CallRecord> {
    let reach = access::visit_party(principal.user_id);
    let visit = state
        .store
        .appointment(&reach, id)
        .await?
        .ok_or(Error::NotFound)?;
    let encounter = state.store.encounter(id).await?.ok_or(Error::NotFound)?;
    let attendance = state.store.visit_attendance(id).await?;
    let chat = state.store.visit_chat(id, 0, 200).await?;
    let roster = roster(state, &visit).await?;
    let event = Event::new(ctx, state.clock.now(), "visit.record.read", "appointment")
        .by(principal.user_id, principal.role)
        .on(id)
        .patient(visit.patient_id);
    state.audit.record(event.build()).await?;
    Ok(CallRecord {
        visit,
        encounter,
        attendance,
        chat,
        roster,
    })
}

/// What the clinician sees of the patient beside the call.
pub struct BesideTheCall {
    pub chart: Summary,
    /// The patient's other visits (three years back, a year ahead; at most 20).
    pub visits: Vec<Appointment>,
    /// The patient's newest telehealth consent.
    pub consent: Option<Consent>,
    /// The patient's preferred pharmacy, for the prescription pad.
    pub preferred_pharmacy: Option<telemed_store::pharmacies::Pharmacy>,
}

/// The patient's chart summary, other visits and telehealth consent for the host of
/// `room`, read under one grant of the policy (`record.chart.read`).
pub async fn beside_the_call(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    room: &Room,
) -> Result<BesideTheCall> {
    if !room.me.hosts() {
        return Err(Error::Forbidden);
    }
    let visit = &room.appointment;
    let (chart, grant) = crate::record::summary(state, ctx, principal, visit.patient_id).await?;
    let reach = access::visits_in_record(&grant).ok_or(Error::NotFound)?;
    let now = state.clock.now();
    let (from, to) = (now - Duration::days(3 * 365), now + Duration::days(365));
    let mut visits = state.store.appointments(&reach, from, to, 21).await?;
    visits.retain(|v| v.id != visit.id);
    visits.truncate(20);
    let consent = state
        .store
        .consents_of(&grant)
        .await?
        .into_iter()
        .rev()
        .find(|c| c.kind == TELEHEALTH_CONSENT);
    let preferred_pharmacy = state.store.preferred_pharmacy(&grant).await?;
    Ok(BesideTheCall {
        chart,
        visits,
        consent,
        preferred_pharmacy,
    })
}
