//! MedicationRequest and MedicationDispense: a patient's prescriptions and what
//! pharmacies handed over of them, for whoever may read the patient's prescriptions
//! (asked of the record's policy and audited like any such read). Read-only here: a
//! prescription is signed with the prescriber's second factor (the API, the pad), a
//! dispense recorded by a pharmacist with the prescription's token.

use serde_json::Value;
use telemed_domain::access::{Grant, Op};
use telemed_domain::query::CodeMatch;
use telemed_domain::record::Section;
use telemed_domain::views::{Dispense, Prescription};
use telemed_domain::{Error, Result, UserId};
use telemed_fhir::query::holds;
use telemed_fhir::resources;
use telemed_fhir::search::{Search, Value as Param};
use telemed_fhir::types::Target;

use super::found::{searched_patient, Found, Searched};
use super::FhirCaller;
use crate::context::Ctx;
use crate::{record, AppState};

/// The grant to read `patient`'s prescriptions, if the policy gives one (asked and
/// audited); a refusal is `None`.
async fn grant(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
) -> Result<Option<Grant>> {
    if caller.outside_compartment(patient) {
        return Ok(None);
    }
    let read = record::authorize(
        state,
        ctx,
        &caller.principal,
        patient,
        Section::Prescriptions,
        Op::Read,
    )
    .await;
    match read {
        Ok(grant) => Ok(Some(grant)),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `GET /MedicationRequest/{id}`.
pub async fn read_request(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    id: &str,
) -> Result<(Value, chrono::DateTime<chrono::Utc>)> {
    let sealed = state.store.prescription(id).await?.ok_or(Error::NotFound)?;
    let grant = grant(state, ctx, caller, sealed.patient())
        .await?
        .ok_or(Error::NotFound)?;
    let p = sealed.open(&grant)?;
    Ok((
        resources::medication_request(&p),
        p.status_changed_at.unwrap_or(p.signed_at),
    ))
}

/// `GET /MedicationDispense/{id}`.
pub async fn read_dispense(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    id: &str,
) -> Result<Value> {
    let sealed = state.store.dispense(id).await?.ok_or(Error::NotFound)?;
    let grant = grant(state, ctx, caller, sealed.patient())
        .await?
        .ok_or(Error::NotFound)?;
    let d = sealed.open(&grant)?;
    let p = state
        .store
        .prescription(&d.prescription_id)
        .await?
        .ok_or(Error::NotFound)?
        .open(&grant)?;
    Ok(resources::medication_dispense(&d, &p))
}

/// A patient's prescriptions and their dispenses, or nothing when the caller may not
/// read them.
pub async fn of_patient(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
) -> Result<(Vec<Prescription>, Vec<Dispense>)> {
    match grant(state, ctx, caller, patient).await? {
        Some(grant) => Ok((
            state.store.prescriptions_of(&grant).await?,
            state.store.dispenses_of(&grant).await?,
        )),
        None => Ok((vec![], vec![])),
    }
}

/// A patient's prescriptions and dispenses as resources (`$everything`, bulk export).
pub async fn resources_of(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let (prescriptions, dispenses) = of_patient(state, ctx, caller, patient).await?;
    let requests = prescriptions
        .iter()
        .map(resources::medication_request)
        .collect();
    let handed = dispenses
        .iter()
        .filter_map(|d| {
            let p = prescriptions.iter().find(|p| p.id == d.prescription_id)?;
            Some(resources::medication_dispense(d, p))
        })
        .collect();
    Ok((requests, handed))
}

fn token_is(v: &Param, code: &str) -> bool {
    matches!(v, Param::Token(CodeMatch { code: Some(c), .. }) if c == code)
}

fn coded(v: &Param, p: &Prescription) -> bool {
    let Param::Token(CodeMatch { system, code }) = v else {
        return false;
    };
    let m = &p.medication;
    m.is_checked()
        && system.as_deref().is_none_or(|s| s == m.system)
        && code.as_deref().is_none_or(|c| c == m.code)
}

/// The patient a prescribing search is about, refused when it names none.
fn patient_of(caller: &FhirCaller, search: &Search, what: &str) -> Result<Option<UserId>> {
    match searched_patient(caller, search)? {
        Searched::Patient(p) => Ok(Some(p)),
        Searched::Nobody => Ok(None),
        Searched::Unnamed => Err(Error::invalid(
            "patient",
            format!("a {what} search names its patient (patient=…)"),
        )),
    }
}

/// `MedicationRequest?patient=…` with `status`, `intent`, `code`, `authoredon` (a
/// patient's prescriptions are few: filtered and paged here), newest first.
pub async fn search_requests(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    let Some(patient) = patient_of(caller, search, "MedicationRequest")? else {
        return Ok(Found::nothing());
    };
    let (mut found, _) = of_patient(state, ctx, caller, patient).await?;
    let all = |target: Target, one: &dyn Fn(&Param, &Prescription) -> bool, p: &Prescription| {
        search
            .on(target)
            .all(|f| f.values.iter().any(|v| one(v, p)))
    };
    found.retain(|p| {
        all(Target::Id, &|v, p| token_is(v, &p.id), p)
            && all(Target::Status, &|v, p| token_is(v, p.status.as_str()), p)
            && all(Target::Intent, &|v, _| token_is(v, "order"), p)
            && all(Target::Code, &coded, p)
            && all(
                Target::Recorded,
                &|v, p| matches!(v, Param::Date(d) if holds(d, p.signed_at)),
                p,
            )
    });
    Ok(Found::page(&found, search, resources::medication_request))
}

/// `MedicationDispense?patient=…` with `prescription`, `whenhandedover`.
pub async fn search_dispenses(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    let Some(patient) = patient_of(caller, search, "MedicationDispense")? else {
        return Ok(Found::nothing());
    };
    let (prescriptions, mut found) = of_patient(state, ctx, caller, patient).await?;
    let all = |target: Target, one: &dyn Fn(&Param, &Dispense) -> bool, d: &Dispense| {
        search
            .on(target)
            .all(|f| f.values.iter().any(|v| one(v, d)))
    };
    found.retain(|d| {
        all(Target::Id, &|v, d| token_is(v, &d.id), d)
            && all(
                Target::Prescription,
                &|v, d| {
                    token_is(v, &d.prescription_id)
                        || token_is(v, &format!("MedicationRequest/{}", d.prescription_id))
                },
                d,
            )
            && all(
                Target::Effective,
                &|v, d| matches!(v, Param::Date(t) if holds(t, d.dispensed_at)),
                d,
            )
    });
    let pairs: Vec<(Dispense, Prescription)> = found
        .into_iter()
        .filter_map(|d| {
            let p = prescriptions
                .iter()
                .find(|p| p.id == d.prescription_id)?
                .clone();
            Some((d, p))
        })
        .collect();
    Ok(Found::page(&pairs, search, |(d, p)| {
        resources::medication_dispense(d, p)
    }))
}

/// The header a SMART app sends the prescriber's current second-factor code in.
pub const SECOND_FACTOR_HEADER: &str = "x-second-factor";

/// `POST /MedicationRequest`: a clinician's SMART app signs a prescription, with the
/// prescriber's current second-factor code in `X-Second-Factor` (each code once), as
/// the pad and the API do: the checks run, and a finding that needs a stated reason is
/// refused here (the reason is given in telemed's pad or API, which show the finding).
pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    json: &Value,
    second_factor: Option<&str>,
) -> Result<(String, Value, chrono::DateTime<chrono::Utc>)> {
    use crate::prescribing::{Product, Proposed, SignRequest};
    caller.require(
        telemed_fhir::ResourceType::MedicationRequest,
        telemed_fhir::Interaction::Create,
    )?;
    let order = telemed_fhir::input::medication_order(json)?;
    let code = second_factor
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                "X-Second-Factor",
                "a prescription is signed with the prescriber's current second-factor code: \
                 send it in the X-Second-Factor header",
            )
        })?;
    let patient = order
        .patient
        .strip_prefix("Patient/")
        .and_then(|id| UserId::from_path(id).ok())
        .filter(|p| !caller.outside_compartment(*p))
        .ok_or_else(|| Error::unprocessable("subject", "no such patient"))?;
    let product = match order.coding {
        Some((system, code)) => Product::Catalogue { system, code },
        None => Product::FreeText(order.text),
    };
    let request = SignRequest {
        proposed: Proposed {
            product,
            sig: order.sig,
        },
        quantity: order.quantity,
        quantity_unit: order.quantity_unit,
        refills: order.refills,
        substitution_allowed: order.substitution_allowed,
        note: order.note,
        overrides: Vec::new(),
        pharmacy: None,
        renewal: None,
        code: code.to_owned(),
    };
    let signed = crate::prescribing::sign(state, ctx, &caller.principal, patient, request)
        .await
        .map_err(|e| match e {
            Error::NotFound => Error::unprocessable("subject", "no such patient"),
            Error::Invalid {
                field: "overrides",
                message,
            } => Error::unprocessable(
                "detectedIssue",
                format!(
                    "{message}; sign over it in telemed (the prescription pad, or \
                     POST /api/v1/patients/{{id}}/prescriptions with overrides)"
                ),
            ),
            other => other,
        })?;
    Ok((
        signed.id.clone(),
        resources::medication_request(&signed),
        signed.signed_at,
    ))
}
