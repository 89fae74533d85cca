//! E-prescribing over the JSON API: the medication catalogue (type-ahead search), and
//! the checks of a prescription as it is written.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use telemed_domain::prescribing::checks::{Finding, FindingKind};
use telemed_domain::prescribing::prescription::Override;
use telemed_domain::prescribing::sig::{Frequency, Language, Sig};
use telemed_domain::prescribing::{format_amount, Ingredient, Medication};
use telemed_domain::{Error, UserId};

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::prescribing::{self as service, Product, Proposed, SignRequest};
use crate::renewals::{self, Decline};
use crate::AppState;
use telemed_store::prescriptions::Prescription;
use telemed_store::renewals::RenewalRequest;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MedicationSearch {
    /// The start of words of the product's name: `amox 500`.
    pub q: String,
    /// At most this many (1 to 100; 20 when not given).
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IngredientView {
    pub name: String,
    pub code: Option<String>,
    /// "500 mg", "250 mg/5 mL".
    pub strength: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MedicationView {
    /// The catalogue's code system.
    pub system: String,
    pub code: String,
    pub name: String,
    pub ingredients: Vec<IngredientView>,
    pub dose_form: String,
    pub route: String,
    /// The controlled-substance schedule (II to V), if it is one.
    pub schedule: Option<String>,
    pub active: bool,
    /// False for a drug written in words rather than chosen from the catalogue: "not
    /// checked" (the checks saw only the ingredients its name names).
    pub checked: bool,
}

impl From<&Ingredient> for IngredientView {
    fn from(i: &Ingredient) -> Self {
        IngredientView {
            name: i.name.clone(),
            code: i.code.clone(),
            strength: i
                .strength
                .as_ref()
                .map(|s| match (&s.per_value, &s.per_unit) {
                    (Some(v), Some(u)) => {
                        format!(
                            "{} {}/{} {u}",
                            format_amount(s.value),
                            s.unit,
                            format_amount(*v)
                        )
                    }
                    _ => format!("{} {}", format_amount(s.value), s.unit),
                }),
        }
    }
}

impl From<&Medication> for MedicationView {
    fn from(m: &Medication) -> Self {
        MedicationView {
            system: m.system.clone(),
            code: m.code.clone(),
            name: m.name.clone(),
            ingredients: m.ingredients.iter().map(Into::into).collect(),
            dose_form: m.dose_form.clone(),
            route: m.route.clone(),
            schedule: m.schedule.map(|s| s.as_str().to_owned()),
            active: m.active,
            checked: m.is_checked(),
        }
    }
}

/// Products of the medication catalogue whose name has words starting with each word
/// typed, shortest names first.
#[utoipa::path(get, path = "/api/v1/medications", tag = "prescribing", security(("bearer" = [])), params(MedicationSearch),
    responses((status = 200, body = [MedicationView]), (status = 400, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    _caller: ApiUser,
    ApiQuery(q): ApiQuery<MedicationSearch>,
) -> AppResult<Json<Vec<MedicationView>>> {
    let found = service::search(&state, &q.q, q.limit.unwrap_or(20)).await?;
    Ok(Json(found.iter().map(|e| (&e.medication).into()).collect()))
}

/// How often a dose is taken.
#[derive(Deserialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FrequencyBody {
    OnceDaily,
    TwiceDaily,
    ThreeTimesDaily,
    FourTimesDaily,
    AtBedtime,
    Weekly,
    /// Every `every_hours` hours.
    EveryHours,
}

/// How the medication is to be taken.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SigBody {
    /// How much per dose, in `unit`.
    pub dose: f64,
    /// mg, mL, tablet, capsule, puff…
    pub unit: String,
    /// oral, topical, inhaled, nasal, ophthalmic, otic, sublingual, subcutaneous…
    pub route: String,
    pub frequency: FrequencyBody,
    /// With `every_hours`: 1 to 72.
    pub every_hours: Option<u32>,
    /// 1 to 365; none for an ongoing medication.
    pub duration_days: Option<u32>,
    /// Only when needed, for this reason.
    pub as_needed: Option<String>,
    #[serde(default)]
    pub instructions: String,
}

impl SigBody {
    fn sig(self) -> Result<Sig, Error> {
        let code = match self.frequency {
            FrequencyBody::OnceDaily => "once_daily",
            FrequencyBody::TwiceDaily => "twice_daily",
            FrequencyBody::ThreeTimesDaily => "three_times_daily",
            FrequencyBody::FourTimesDaily => "four_times_daily",
            FrequencyBody::AtBedtime => "at_bedtime",
            FrequencyBody::Weekly => "weekly",
            FrequencyBody::EveryHours => "every_hours",
        };
        let frequency = Frequency::from_code(code, self.every_hours)?;
        Ok(Sig {
            dose: self.dose,
            unit: self.unit,
            route: self.route,
            frequency,
            duration_days: self.duration_days,
            as_needed: self.as_needed,
            instructions: self.instructions,
        })
    }
}

/// A prescription being written: the product and its sig.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposedBody {
    /// The product's code system, as the catalogue gives it.
    #[serde(default)]
    pub system: String,
    #[serde(default)]
    pub code: String,
    /// Instead of a product of the catalogue, the drug in words ("not checked": the
    /// checks see only the ingredients its name names).
    pub free_text: Option<String>,
    pub sig: SigBody,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FindingView {
    /// allergy, interaction, duplicate, dose
    pub kind: String,
    /// contraindicated, major, moderate, minor
    pub severity: String,
    pub subject: String,
    pub detail: String,
    pub advice: String,
    /// Signing over it needs a stated reason (major and contraindicated).
    pub needs_reason: bool,
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        FindingView {
            kind: f.kind.as_str().to_owned(),
            severity: f.severity.as_str().to_owned(),
            subject: f.subject.clone(),
            detail: f.detail.clone(),
            advice: f.advice.clone(),
            needs_reason: f.severity.needs_override_reason(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckView {
    pub medication: MedicationView,
    /// The sig in words, in English and in Spanish.
    pub sig_text_en: String,
    pub sig_text_es: String,
    /// Most serious first; empty when nothing was found.
    pub findings: Vec<FindingView>,
}

/// Checks a prescription being written against the patient's chart: allergies (to the
/// drug or its class), interactions with current medications, duplicate therapy, and a
/// child's dose by weight. For clinicians who may read the chart; audited as a chart read.
#[utoipa::path(post, path = "/api/v1/patients/{id}/prescriptions/check", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)), request_body = ProposedBody,
    responses((status = 200, body = CheckView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn check(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProposedBody>,
) -> AppResult<Json<CheckView>> {
    let patient: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let proposed = Proposed {
        product: Product::of(&body.system, &body.code, body.free_text.as_deref())?,
        sig: body.sig.sig()?,
    };
    let report = service::check(&state, &ctx, &caller.principal, patient, &proposed).await?;
    Ok(Json(CheckView {
        medication: (&report.medication).into(),
        sig_text_en: report.sig_text_en,
        sig_text_es: report.sig_text_es,
        findings: report.findings.iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// The finding's kind: allergy, interaction, duplicate, dose.
    #[schema(value_type = String)]
    pub kind: FindingKind,
    /// The finding's subject, as the check gave it.
    pub subject: String,
    /// Why the prescription is right despite it (1 to 500 characters).
    pub reason: String,
}

/// A prescription to sign.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    #[serde(default)]
    pub system: String,
    #[serde(default)]
    pub code: String,
    /// Instead of a product of the catalogue, the drug in words ("not checked").
    pub free_text: Option<String>,
    pub sig: SigBody,
    /// How much to dispense, in `quantity_unit`.
    pub quantity: f64,
    pub quantity_unit: String,
    /// Fills after the first (at most the clinic's limit; none for schedule II).
    #[serde(default)]
    pub refills: u32,
    #[serde(default = "yes")]
    pub substitution_allowed: bool,
    /// To the pharmacist.
    #[serde(default)]
    pub note: String,
    /// A reason for each major or contraindicated finding of the check.
    #[serde(default)]
    pub overrides: Vec<OverrideBody>,
    /// The pharmacy to send it to (`/api/v1/pharmacies`); none: the patient takes
    /// their copy to any pharmacy.
    #[serde(default)]
    pub pharmacy_id: Option<String>,
    /// The renewal request this prescription renews (`/api/v1/renewal-requests`): it is
    /// answered as approved with it.
    #[serde(default)]
    pub renewal_request_id: Option<String>,
    /// The prescriber's current second-factor code.
    pub second_factor: String,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedFindingView {
    #[serde(flatten)]
    pub finding: FindingView,
    pub override_reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PrescriptionView {
    pub id: String,
    pub patient_id: UserId,
    pub prescriber_id: UserId,
    pub medication: MedicationView,
    pub sig_text_en: String,
    pub sig_text_es: String,
    pub quantity: f64,
    pub quantity_unit: String,
    pub refills: u32,
    pub substitution_allowed: bool,
    pub note: String,
    /// The checks' findings at signing, with the reasons given.
    pub findings: Vec<SignedFindingView>,
    pub signed_at: DateTime<Utc>,
    /// active, cancelled, stopped, completed
    pub status: String,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    /// The signed token the patient's copy carries (its QR code): any pharmacy verifies
    /// it at `/rx/verify` or offline with `/.well-known/telemed-prescription-keys`.
    pub token: String,
    /// What pharmacies have dispensed of it.
    pub fills: super::pharmacies::FillsView,
    /// The pharmacy it was sent to, if one was chosen.
    pub pharmacy_id: Option<String>,
    /// Sending it to that pharmacy's system (when it takes prescriptions
    /// electronically): queued, sent or failed.
    pub sending: Option<String>,
    /// What the pharmacy's system answered (its reference, or the failure).
    pub sending_detail: Option<String>,
}

impl From<&Prescription> for PrescriptionView {
    fn from(p: &Prescription) -> Self {
        PrescriptionView {
            id: p.id.clone(),
            patient_id: p.patient,
            prescriber_id: p.prescriber,
            medication: (&p.medication).into(),
            sig_text_en: p.sig_text_en.clone(),
            sig_text_es: p.sig_text_es.clone(),
            quantity: p.quantity,
            quantity_unit: p.quantity_unit.clone(),
            refills: p.refills,
            substitution_allowed: p.substitution_allowed,
            note: p.note.clone(),
            findings: p
                .findings
                .iter()
                .map(|f| SignedFindingView {
                    finding: (&f.finding).into(),
                    override_reason: f.override_reason.clone(),
                })
                .collect(),
            signed_at: p.signed_at,
            status: p.status.as_str().to_owned(),
            status_reason: p.status_reason.clone(),
            status_changed_at: p.status_changed_at,
            token: p.token.clone(),
            fills: (&p.fills).into(),
            pharmacy_id: p.pharmacy_id.clone(),
            sending: p.sending.clone(),
            sending_detail: p.sending_detail.clone(),
        }
    }
}

/// Signs a prescription: the checks run again against the chart, each major or
/// contraindicated finding needs a reason, and the prescriber's second-factor code is
/// asked again (each code once). For clinicians with a care relationship.
#[utoipa::path(post, path = "/api/v1/patients/{id}/prescriptions", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)), request_body = SignBody,
    responses((status = 201, body = PrescriptionView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn sign(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SignBody>,
) -> AppResult<(StatusCode, Json<PrescriptionView>)> {
    let patient: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let request = SignRequest {
        proposed: Proposed {
            product: Product::of(&body.system, &body.code, body.free_text.as_deref())?,
            sig: body.sig.sig()?,
        },
        quantity: body.quantity,
        quantity_unit: body.quantity_unit,
        refills: body.refills,
        substitution_allowed: body.substitution_allowed,
        note: body.note,
        overrides: body
            .overrides
            .into_iter()
            .map(|o| Override {
                kind: o.kind,
                subject: o.subject,
                reason: o.reason,
            })
            .collect(),
        pharmacy: body.pharmacy_id,
        renewal: body.renewal_request_id,
        code: body.second_factor,
    };
    let signed = service::sign(&state, &ctx, &caller.principal, patient, request).await?;
    Ok((StatusCode::CREATED, Json((&signed).into())))
}

/// A patient's prescriptions, newest first (the patient, a proxy, their clinicians).
#[utoipa::path(get, path = "/api/v1/patients/{id}/prescriptions", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = [PrescriptionView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<PrescriptionView>>> {
    let patient: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let found = service::prescriptions_of(&state, &ctx, &caller.principal, patient).await?;
    Ok(Json(found.iter().map(Into::into).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelPrescriptionBody {
    /// Why (1 to 500 characters); the patient sees it.
    pub reason: String,
}

/// Cancels an active prescription, with a reason: it is not to be dispensed.
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/cancel", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)), request_body = CancelPrescriptionBody,
    responses((status = 200, body = PrescriptionView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CancelPrescriptionBody>,
) -> AppResult<Json<PrescriptionView>> {
    end(&state, &ctx, &caller, &id, service::Ending::Cancel, &body).await
}

/// Discontinues an active prescription, with a reason: the patient is to stop taking it
/// (status `stopped`).
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/discontinue", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)), request_body = CancelPrescriptionBody,
    responses((status = 200, body = PrescriptionView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn discontinue(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CancelPrescriptionBody>,
) -> AppResult<Json<PrescriptionView>> {
    end(
        &state,
        &ctx,
        &caller,
        &id,
        service::Ending::Discontinue,
        &body,
    )
    .await
}

async fn end(
    state: &AppState,
    ctx: &Ctx,
    caller: &ApiUser,
    id: &str,
    ending: service::Ending,
    body: &CancelPrescriptionBody,
) -> AppResult<Json<PrescriptionView>> {
    let ended = service::end(state, ctx, &caller.principal, id, ending, &body.reason).await?;
    Ok(Json((&ended).into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PdfQuery {
    /// en or es (default en).
    pub lang: Option<String>,
}

/// The patient's copy as a PDF (English or Spanish), with the QR code a pharmacy scans.
#[utoipa::path(get, path = "/api/v1/prescriptions/{id}/pdf", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path), PdfQuery),
    responses((status = 200, description = "application/pdf"), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PdfQuery>,
) -> AppResult<axum::response::Response> {
    let lang = match q.lang.as_deref().unwrap_or("en") {
        "en" => Language::English,
        "es" => Language::Spanish,
        _ => return Err(Error::invalid("lang", "en or es").into()),
    };
    let bytes = service::pdf(&state, &ctx, &caller.principal, &id, lang).await?;
    Ok(crate::respond::pdf_download(bytes, "prescription.pdf"))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RenewalView {
    pub id: String,
    pub prescription_id: String,
    pub medication: String,
    pub patient_id: UserId,
    pub prescriber_id: UserId,
    /// The patient's note.
    pub note: String,
    pub requested_at: DateTime<Utc>,
    /// pending, approved, denied, visit_needed
    pub status: String,
    /// The prescriber's reason (denied, visit_needed).
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The prescription signed to renew it (approved).
    pub renewed_as: Option<String>,
}

impl From<&RenewalRequest> for RenewalView {
    fn from(r: &RenewalRequest) -> Self {
        RenewalView {
            id: r.id.clone(),
            prescription_id: r.prescription_id.clone(),
            medication: r.medication_name.clone(),
            patient_id: r.patient,
            prescriber_id: r.prescriber,
            note: r.note.clone(),
            requested_at: r.requested_at,
            status: r.status.as_str().to_owned(),
            answer: r.answer.clone(),
            answered_at: r.answered_at,
            renewed_as: r.renewed_as.clone(),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalBody {
    /// Anything the prescriber should know (at most 500 characters).
    #[serde(default)]
    pub note: String,
}

/// Asks the prescriber to renew a prescription (the patient or a proxy): one being
/// taken or used up; one request at a time.
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/renewal-requests", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)), request_body = RenewalBody,
    responses((status = 201, body = RenewalView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn request_renewal(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RenewalBody>,
) -> AppResult<(StatusCode, Json<RenewalView>)> {
    let made = renewals::request(&state, &ctx, &caller.principal, &id, &body.note).await?;
    Ok((StatusCode::CREATED, Json((&made).into())))
}

/// A patient's renewal requests, newest first.
#[utoipa::path(get, path = "/api/v1/patients/{id}/renewal-requests", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = [RenewalView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn renewals_of(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<RenewalView>>> {
    let patient: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let found = renewals::of_patient(&state, &ctx, &caller.principal, patient).await?;
    Ok(Json(found.iter().map(Into::into).collect()))
}

/// The prescriber's queue: renewal requests waiting for them, oldest first. Approve
/// one by signing a prescription with `renewal_request_id`.
#[utoipa::path(get, path = "/api/v1/renewal-requests", tag = "prescribing", security(("bearer" = [])),
    responses((status = 200, body = [RenewalView]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn renewal_queue(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
) -> AppResult<Json<Vec<RenewalView>>> {
    let found = renewals::queue(&state, &ctx, &caller.principal).await?;
    Ok(Json(found.iter().map(Into::into).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineBody {
    /// Why, for the patient (1 to 500 characters).
    pub reason: String,
}

/// Denies a pending renewal request, with the reason the patient reads.
#[utoipa::path(post, path = "/api/v1/renewal-requests/{id}/deny", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)), request_body = DeclineBody,
    responses((status = 200, body = RenewalView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn deny_renewal(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeclineBody>,
) -> AppResult<Json<RenewalView>> {
    decline(&state, &ctx, &caller, &id, Decline::Deny, &body).await
}

/// Answers a pending renewal request by asking the patient for a visit first.
#[utoipa::path(post, path = "/api/v1/renewal-requests/{id}/ask-for-visit", tag = "prescribing", security(("bearer" = [])), params(("id" = String, Path)), request_body = DeclineBody,
    responses((status = 200, body = RenewalView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn ask_for_visit(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeclineBody>,
) -> AppResult<Json<RenewalView>> {
    decline(&state, &ctx, &caller, &id, Decline::AskForVisit, &body).await
}

async fn decline(
    state: &AppState,
    ctx: &Ctx,
    caller: &ApiUser,
    id: &str,
    how: Decline,
    body: &DeclineBody,
) -> AppResult<Json<RenewalView>> {
    let answered = renewals::decline(state, ctx, &caller.principal, id, how, &body.reason).await?;
    Ok(Json((&answered).into()))
}
