//! Consent: the consents a patient gave in telemed (the telehealth consent), shown to
//! those who may read the patient's demographics — the patient, their proxies, their
//! clinicians and staff — asked of the record's policy and audited like any such read.

use serde_json::Value;
use telemed_domain::access::Op;
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, UserId};
use telemed_fhir::query::holds;
use telemed_fhir::resources;
use telemed_fhir::search::{Search, Value as Param};
use telemed_fhir::types::Target;
use telemed_store::visits::Consent;

use super::found::{demographics_grant, searched_patient, Found, Searched};
use super::FhirCaller;
use crate::context::Ctx;
use crate::{record, AppState};

/// `GET /Consent/{id}`.
pub async fn read(state: &AppState, ctx: &Ctx, caller: &FhirCaller, id: &str) -> Result<Value> {
    let sealed = state.store.consent(id).await?.ok_or(Error::NotFound)?;
    if caller.outside_compartment(sealed.patient()) {
        return Err(Error::NotFound);
    }
    let grant = record::authorize(
        state,
        ctx,
        &caller.principal,
        sealed.patient(),
        Section::Demographics,
        Op::Read,
    )
    .await?;
    Ok(resources::consent(&sealed.open(&grant)?))
}

/// A patient's consents, or none if the caller may not see them.
pub async fn of_patient(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
) -> Result<Vec<Consent>> {
    match demographics_grant(state, ctx, caller, patient).await? {
        Some(grant) => state.store.consents_of(&grant).await,
        None => Ok(vec![]),
    }
}

/// `Consent?patient=…` (a patient's consents are few: filtered and paged here).
pub async fn search(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    let patient = match searched_patient(caller, search)? {
        Searched::Patient(p) => p,
        Searched::Nobody => return Ok(Found::nothing()),
        Searched::Unnamed => {
            return Err(Error::invalid(
                "patient",
                "a Consent search names its patient (patient=…)",
            ))
        }
    };
    let mut found = of_patient(state, ctx, caller, patient).await?;
    let all = |target: Target, one: &dyn Fn(&Param, &Consent) -> bool, c: &Consent| {
        search
            .on(target)
            .all(|f| f.values.iter().any(|v| one(v, c)))
    };
    found.retain(|c| {
        all(
            Target::Id,
            &|v, c| matches!(v, Param::Token(t) if t.code.as_deref() == Some(c.id.as_str())),
            c,
        ) && all(
            Target::Status,
            &|v, _| matches!(v, Param::Token(t) if t.code.as_deref() == Some("active")),
            c,
        ) && all(
            Target::Recorded,
            &|v, c| matches!(v, Param::Date(d) if holds(d, c.accepted_at)),
            c,
        )
    });
    Ok(Found::page(&found, search, resources::consent))
}
