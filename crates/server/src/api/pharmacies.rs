//! The pharmacy directory (admins keep it; anyone signed in reads it) and dispensing
//! (pharmacists: look a prescription up by its signed token, record a fill).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use telemed_domain::prescribing::dispensing::{DispenseRequest, Fills};
use telemed_domain::{Error, UserId};
use telemed_store::pharmacies::Pharmacy;

use super::ApiJson;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::dispensing::{self, DispenseAsk};
use crate::error::AppResult;
use crate::pharmacies as directory;
use crate::prescribing::Verdict;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PharmacyView {
    pub id: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    /// Where its FHIR server takes MedicationRequests, if it has one.
    pub fhir_endpoint: Option<String>,
    pub active: bool,
}

impl From<Pharmacy> for PharmacyView {
    fn from(p: Pharmacy) -> Self {
        PharmacyView {
            id: p.id,
            name: p.name,
            address: p.address,
            phone: p.phone,
            fhir_endpoint: p.fhir_endpoint,
            active: p.active,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PharmacyBody {
    pub name: String,
    pub address: String,
    pub phone: String,
    /// An `https://` address, or none.
    #[serde(default)]
    pub fhir_endpoint: Option<String>,
    /// Whether it is in the directory (on an update; a new pharmacy is).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The pharmacy directory (admins also see inactive pharmacies).
#[utoipa::path(get, path = "/api/v1/pharmacies", tag = "prescribing", security(("bearer" = [])),
    responses((status = 200, body = [PharmacyView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiUser,
) -> AppResult<Json<Vec<PharmacyView>>> {
    let all = directory::directory(&state, &caller.principal).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

/// Adds a pharmacy to the directory (admins).
#[utoipa::path(post, path = "/api/v1/pharmacies", tag = "admin", security(("bearer" = [])), request_body = PharmacyBody,
    responses((status = 201, body = PharmacyView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<PharmacyBody>,
) -> AppResult<(StatusCode, Json<PharmacyView>)> {
    let details = directory::validate(
        &body.name,
        &body.address,
        &body.phone,
        body.fhir_endpoint.as_deref().unwrap_or_default(),
    )?;
    let added = directory::add(&state, &ctx, &caller.principal, details).await?;
    Ok((StatusCode::CREATED, Json(added.into())))
}

/// Rewrites a pharmacy's details, or takes it out of the directory (`active`: false).
#[utoipa::path(put, path = "/api/v1/pharmacies/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)), request_body = PharmacyBody,
    responses((status = 200, body = PharmacyView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PharmacyBody>,
) -> AppResult<Json<PharmacyView>> {
    let details = directory::validate(
        &body.name,
        &body.address,
        &body.phone,
        body.fhir_endpoint.as_deref().unwrap_or_default(),
    )?;
    let updated =
        directory::update(&state, &ctx, &caller.principal, &id, details, body.active).await?;
    Ok(Json(updated.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    /// A pharmacist's account.
    pub user_id: UserId,
}

/// Makes a pharmacist's account a member of the pharmacy (admins).
#[utoipa::path(post, path = "/api/v1/pharmacies/{id}/members", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)), request_body = MemberBody,
    responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MemberBody>,
) -> AppResult<StatusCode> {
    directory::add_member(&state, &ctx, &caller.principal, &id, body.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FillsView {
    /// Fills the prescription allows (1 + refills).
    pub allowed: u32,
    /// Fills dispensed in full.
    pub completed: u32,
    /// Dispenses recorded: a new dispense names this as `previous_dispenses`.
    pub dispenses: u32,
    /// The fill a dispense now belongs to; none when every fill is dispensed.
    pub open_fill: Option<u32>,
    /// What the open fill has left to dispense.
    pub open_fill_left: f64,
}

impl From<&Fills> for FillsView {
    fn from(f: &Fills) -> Self {
        FillsView {
            allowed: f.allowed(),
            completed: f.completed,
            dispenses: f.dispenses,
            open_fill: f.next_fill(),
            open_fill_left: f.open_fill_left(),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupBody {
    /// The prescription's signed token (its QR code).
    pub token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LookupView {
    pub prescription_id: String,
    /// valid, expired, cancelled, stopped, completed
    pub verdict: String,
    pub reason: Option<String>,
    /// The token's claims as signed: medication, sig, quantity, refills, substitution,
    /// the patient's initials and birth year, the prescriber.
    #[schema(value_type = Object)]
    pub claims: serde_json::Value,
    pub fills: FillsView,
}

/// Looks a prescription up by its token, before dispensing (pharmacists).
#[utoipa::path(post, path = "/api/v1/dispensing/lookup", tag = "prescribing", security(("bearer" = [])), request_body = LookupBody,
    responses((status = 200, body = LookupView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<LookupBody>,
) -> AppResult<Json<LookupView>> {
    let found = dispensing::look_up(&state, &ctx, &caller.principal, &body.token).await?;
    let (verdict, reason) = match found.verdict {
        Verdict::Valid => ("valid".to_owned(), None),
        Verdict::Expired => ("expired".to_owned(), None),
        Verdict::Ended(status, reason) => (status.as_str().to_owned(), reason),
    };
    Ok(Json(LookupView {
        prescription_id: found.id,
        verdict,
        reason,
        claims: found.claims,
        fills: (&found.fills).into(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispenseBody {
    /// The prescription's signed token (its QR code).
    pub token: String,
    /// The fill this is for (the open one: `fills.open_fill` of the lookup).
    pub fill: u32,
    /// How much is handed over, in the prescription's unit: all the fill has left, or
    /// less (a partial fill).
    pub quantity: f64,
    /// The dispenses the lookup showed (`fills.dispenses`): a repeated or overtaken
    /// request is refused with 409.
    pub previous_dispenses: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DispenseView {
    pub id: String,
    pub prescription_id: String,
    pub pharmacy_id: String,
    pub fill: u32,
    pub quantity: f64,
    pub fill_complete: bool,
    /// The prescription's fills after it.
    pub fills: FillsView,
}

/// Records a dispense (pharmacists of a pharmacy in the directory). Refused with a 4xx
/// naming the problem, and nothing written: an altered or expired token, a cancelled,
/// discontinued or fully dispensed prescription (409), a fill already dispensed, more
/// than the fill has left, a request another dispense overtook (409).
#[utoipa::path(post, path = "/api/v1/dispensing/dispenses", tag = "prescribing", security(("bearer" = [])), request_body = DispenseBody,
    responses((status = 201, body = DispenseView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn dispense(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<DispenseBody>,
) -> AppResult<(StatusCode, Json<DispenseView>)> {
    let ask = DispenseAsk {
        token: body.token,
        request: DispenseRequest {
            fill: body.fill,
            quantity: body.quantity,
            previous_dispenses: body.previous_dispenses,
        },
    };
    let done = dispensing::dispense(&state, &ctx, &caller.principal, &ask)
        .await
        .map_err(|e| match e {
            Error::NotFound => Error::invalid("token", "no such prescription"),
            other => other,
        })?;
    Ok((
        StatusCode::CREATED,
        Json(DispenseView {
            id: done.id,
            prescription_id: done.prescription_id,
            pharmacy_id: done.pharmacy,
            fill: done.dispensed.fill,
            quantity: done.dispensed.quantity,
            fill_complete: done.dispensed.fill_complete,
            fills: (&done.dispensed.after).into(),
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferredBody {
    /// A pharmacy of the directory, or none to clear it.
    pub pharmacy_id: Option<String>,
}

/// The patient's preferred pharmacy (offered first when a clinician prescribes); null
/// when none is chosen.
#[utoipa::path(get, path = "/api/v1/patients/{id}/pharmacy", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Option<PharmacyView>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn preferred(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Option<PharmacyView>>> {
    let patient: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let found = directory::preferred(&state, &ctx, &caller.principal, patient).await?;
    Ok(Json(found.map(Into::into)))
}

/// Chooses (or clears) the patient's preferred pharmacy: the patient, a proxy, or the
/// front desk.
#[utoipa::path(put, path = "/api/v1/patients/{id}/pharmacy", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)), request_body = PreferredBody,
    responses((status = 200, body = Option<PharmacyView>), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn set_preferred(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PreferredBody>,
) -> AppResult<Json<Option<PharmacyView>>> {
    let patient: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let chosen = directory::set_preferred(
        &state,
        &ctx,
        &caller.principal,
        patient,
        body.pharmacy_id.as_deref(),
    )
    .await?;
    Ok(Json(chosen.map(Into::into)))
}
