//! Dispensing, for pharmacists: a pharmacist of a pharmacy in the directory presents a
//! prescription's signed token (scanned from the patient's copy, or as sent to the
//! pharmacy) and records what they hand over — a fill, whole or in part. The rules are
//! `prescribing::dispensing`'s; the store applies a dispense only where the
//! prescription is still as the rules saw it, so the same fill is never counted twice,
//! also when two requests race. Every dispense and every refusal is audited on the
//! patient's record.

use telemed_domain::access::{self, Dispenser, Principal};
use telemed_domain::audit::Outcome;
use telemed_domain::prescribing::dispensing::{self, DispenseRequest, Dispensed};
use telemed_domain::{Error, Result, UserId};
use telemed_store::prescriptions;

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::AppState;

/// A dispense as a pharmacist asks for it.
#[derive(Debug, Clone)]
pub struct DispenseAsk {
    /// The prescription's signed token.
    pub token: String,
    pub request: DispenseRequest,
}

/// A dispense recorded: what it was and where it left the prescription.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: String,
    pub prescription_id: String,
    pub dispensed: Dispensed,
    pub pharmacy: String,
}

/// The dispenser `principal` is: a pharmacist of an active pharmacy; forbidden
/// otherwise.
pub async fn dispenser(state: &AppState, principal: &Principal) -> Result<Dispenser> {
    let pharmacy = if principal.role == telemed_domain::Role::Pharmacist {
        state.store.pharmacy_of(principal.user_id).await?
    } else {
        None
    };
    access::dispenser(principal, pharmacy.map(|p| p.id)).ok_or(Error::Forbidden)
}

/// Records a dispense of the prescription `ask.token` names, for the pharmacist's
/// pharmacy. Refused, with nothing written and the refusal audited: a token this
/// clinic did not sign or that was altered, an expired one, a cancelled, discontinued
/// or fully dispensed prescription, a fill already dispensed, more than the fill has
/// left, or a request another dispense overtook (`Conflict`: reload and look again).
pub async fn dispense(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    ask: &DispenseAsk,
) -> Result<Recorded> {
    let dispenser = dispenser(state, principal).await?;
    let (id, claims) = crate::prescribing::read_token(state, &ask.token)?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let standing = prescriptions::standing(change.tx(), &id)
        .await?
        .ok_or(Error::NotFound)?;
    let refuse = |e: Error| (standing.patient, e);
    let decided = if crate::prescribing::is_expired(&claims, now) {
        Err(refuse(Error::Conflict(
            "this prescription is past its date: it must not be dispensed".into(),
        )))
    } else {
        dispensing::dispense(standing.status, &standing.fills, &ask.request).map_err(refuse)
    };
    let dispensed = match decided {
        Ok(d) => d,
        Err((patient, e)) => {
            change.rollback().await?;
            refused(state, ctx, &dispenser, &id, patient, &e).await?;
            return Err(e);
        }
    };
    let dispense_id = uuid::Uuid::new_v4().to_string();
    let written =
        prescriptions::dispense(change.tx(), &dispenser, &id, &dispense_id, &dispensed, now)
            .await?;
    if !written {
        // The transaction saw the prescription as the rules did; an update that finds
        // it otherwise means another writer got there first.
        change.rollback().await?;
        let e = Error::Conflict(
            "another dispense of this prescription was recorded first; reload it".into(),
        );
        refused(state, ctx, &dispenser, &id, standing.patient, &e).await?;
        return Err(e);
    }
    change.audit(
        Event::new(ctx, now, "prescription.dispense", "prescription")
            .by(principal.user_id, principal.role)
            .on(&id)
            .patient(standing.patient)
            .detail(detail(&dispensed, dispenser.pharmacy())),
    );
    change.commit().await?;
    Ok(Recorded {
        id: dispense_id,
        prescription_id: id,
        dispensed,
        pharmacy: dispenser.pharmacy().to_owned(),
    })
}

/// What a pharmacist sees of a prescription before dispensing: the token's verdict and
/// claims and the fills so far (`prescribing::verify`, audited as a verification).
pub async fn look_up(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    token: &str,
) -> Result<crate::prescribing::Verified> {
    dispenser(state, principal).await?;
    crate::prescribing::verify(state, ctx, token).await
}

fn detail(d: &Dispensed, pharmacy: &str) -> String {
    format!(
        "fill {} of {}: {}{} at pharmacy {pharmacy}",
        d.fill,
        d.after.allowed(),
        telemed_domain::prescribing::format_amount(d.quantity),
        if d.fill_complete {
            " (fill complete)"
        } else {
            " (partial)"
        },
    )
}

async fn refused(
    state: &AppState,
    ctx: &Ctx,
    dispenser: &Dispenser,
    id: &str,
    patient: UserId,
    e: &Error,
) -> Result<()> {
    let event = Event::new(
        ctx,
        state.clock.now(),
        "prescription.dispense",
        "prescription",
    )
    .by(dispenser.pharmacist(), telemed_domain::Role::Pharmacist)
    .on(id)
    .patient(patient)
    .outcome(Outcome::Failure)
    .detail(format!("refused: {}", e.code()));
    state.audit.record(event.build()).await
}
