//! Renewals: a patient (or a proxy) asks for a prescription to be renewed, from their
//! list of prescriptions; the request waits in the prescriber's queue until they answer
//! — approve (they sign a new prescription, naming the request: `prescribing::sign`),
//! deny with a reason, or ask for a visit first. Each step under the record's policy,
//! audited on the patient's record.

use telemed_domain::access::{Op, Principal};
use telemed_domain::prescribing::renewal::{self, RenewalStatus};
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, Role, UserId};
use telemed_store::renewals::{self, NewRenewal, RenewalRequest};

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::AppState;

/// Asks for prescription `id` to be renewed: the patient or their proxy, for a
/// prescription being taken or used up; one request at a time per prescription.
pub async fn request(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: &str,
    note: &str,
) -> Result<RenewalRequest> {
    if principal.role != Role::Patient {
        return Err(Error::Forbidden);
    }
    let sealed = state.store.prescription(id).await?.ok_or(Error::NotFound)?;
    let grant = crate::record::authorize(
        state,
        ctx,
        principal,
        sealed.patient(),
        Section::Prescriptions,
        Op::Read,
    )
    .await?;
    let prescription = sealed.open(&grant)?;
    renewal::renewable(prescription.status)?;
    let note = renewal::text("note", note, false)?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let new = NewRenewal {
        id: &request_id,
        prescription_id: &prescription.id,
        prescriber: prescription.prescriber,
        note: &note,
        at: now,
    };
    renewals::insert(change.tx(), &grant, new).await?;
    notify(
        &mut change,
        prescription.prescriber,
        RENEWAL_REQUESTED,
        prescription.patient,
        now,
    )
    .await?;
    change.audit(
        Event::new(ctx, now, "prescription.renewal_request", "prescription")
            .by(principal.user_id, principal.role)
            .on(&prescription.id)
            .patient(prescription.patient),
    );
    change.commit().await?;
    tell(state, prescription.prescriber, RENEWAL_REQUESTED).await;
    state
        .store
        .renewals_of(&grant)
        .await?
        .into_iter()
        .find(|r| r.id == request_id)
        .ok_or(Error::NotFound)
}

/// The notification kinds of renewals: to the prescriber, to whoever asked.
pub const RENEWAL_REQUESTED: &str = "prescription.renewal_requested";
pub const RENEWAL_ANSWERED: &str = "prescription.renewal_answered";

/// Leaves `user` a notification about `patient`'s renewals, in the change.
pub(crate) async fn notify(
    change: &mut Change,
    user: UserId,
    kind: &str,
    patient: UserId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let notification = telemed_store::notifications::NewNotification {
        user_id: user,
        kind,
        subject_id: Some(patient.to_string()),
        subject_at: None,
        source: None,
    };
    telemed_store::notifications::notify(change.tx(), notification, now).await
}

/// Tells `user`'s open pages that a notification came (after the commit).
pub(crate) async fn tell(state: &AppState, user: UserId, kind: &str) {
    let live = crate::realtime::Envelope {
        to: vec![user],
        guests: Vec::new(),
        event: crate::realtime::LiveEvent::Notification {
            kind: kind.to_owned(),
        },
    };
    state.bus.publish(live).await;
}

/// `patient`'s renewal requests, newest first, for whoever may read their prescriptions.
pub async fn of_patient(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
) -> Result<Vec<RenewalRequest>> {
    let grant = crate::record::authorize(
        state,
        ctx,
        principal,
        patient,
        Section::Prescriptions,
        Op::Read,
    )
    .await?;
    state.store.renewals_of(&grant).await
}

/// The prescriber's queue: the requests pending with them, oldest patient first (each
/// patient's read under the policy, audited).
pub async fn queue(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
) -> Result<Vec<RenewalRequest>> {
    if principal.role != Role::Clinician {
        return Err(Error::Forbidden);
    }
    let mut pending = Vec::new();
    for patient in state
        .store
        .renewal_queue_patients(principal.user_id)
        .await?
    {
        let grant = match crate::record::authorize(
            state,
            ctx,
            principal,
            patient,
            Section::Prescriptions,
            Op::Read,
        )
        .await
        {
            Ok(grant) => grant,
            // No longer in their care: the request waits for whoever is.
            Err(Error::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let mut theirs: Vec<RenewalRequest> = state
            .store
            .renewals_of(&grant)
            .await?
            .into_iter()
            .filter(|r| r.status == RenewalStatus::Pending && r.prescriber == principal.user_id)
            .collect();
        theirs.reverse();
        pending.extend(theirs);
    }
    Ok(pending)
}

/// How a prescriber answers a request without renewing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    Deny,
    AskForVisit,
}

/// Denies a pending request, or asks for a visit first, with the reason the patient
/// reads; for a clinician who may write the patient's prescriptions. Answered once.
pub async fn decline(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: &str,
    how: Decline,
    reason: &str,
) -> Result<RenewalRequest> {
    let reason = renewal::text("reason", reason, true)?;
    let patient = state
        .store
        .renewal_patient(id)
        .await?
        .ok_or(Error::NotFound)?;
    let grant = crate::record::authorize(
        state,
        ctx,
        principal,
        patient,
        Section::Prescriptions,
        Op::Write,
    )
    .await?;
    let to = match how {
        Decline::Deny => RenewalStatus::Denied,
        Decline::AskForVisit => RenewalStatus::VisitNeeded,
    };
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let Some(asked_by) = renewals::answer(change.tx(), &grant, id, to, &reason, None, now).await?
    else {
        change.rollback().await?;
        return Err(Error::Conflict(
            "this renewal request was answered already".into(),
        ));
    };
    notify(&mut change, asked_by, RENEWAL_ANSWERED, patient, now).await?;
    change.audit(
        Event::new(ctx, now, "prescription.renewal_answer", "prescription")
            .by(principal.user_id, principal.role)
            .on(id)
            .patient(patient)
            .detail(to.as_str()),
    );
    change.commit().await?;
    tell(state, asked_by, RENEWAL_ANSWERED).await;
    state
        .store
        .renewals_of(&grant)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(Error::NotFound)
}
