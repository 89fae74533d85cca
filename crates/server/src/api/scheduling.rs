//! Clinicians, their availability and slots, and appointments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use telemed_domain::schedule::{
    parse_clock_time, parse_time_zone, Availability, DateException, ExceptionKind, Slot, VisitKind,
    WeeklyRule,
};
use telemed_domain::{AppointmentId, Error, Permission, UserId};
use telemed_store::scheduling::{Appointment, AppointmentStatus, ClinicianProfile, VisitType};

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::scheduling::{self as service, BookingRequest, ClinicianQuery, ScheduleUpdate};
use crate::AppState;

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitTypeBody {
    pub kind: VisitKind,
    pub duration_minutes: i64,
    pub fee_cents: i64,
    /// ISO 4217, e.g. EUR.
    pub currency: String,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// mon, tue, wed, thu, fri, sat or sun.
    pub weekday: String,
    /// Local `HH:MM`.
    pub start: String,
    pub end: String,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionBody {
    /// First day, `YYYY-MM-DD` in the clinician's zone.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// With `start` and `end`: extra hours; without: closed.
    pub start: Option<String>,
    pub end: Option<String>,
}

/// A clinician's profile and availability, as set and as shown.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    pub specialty: String,
    /// Language codes, e.g. `["en", "es"]`.
    pub languages: Vec<String>,
    /// Where the clinician is licensed: country or country-state codes, e.g. `US-NY`.
    pub regions: Vec<String>,
    #[serde(default)]
    pub bio: String,
    /// IANA zone, e.g. `Europe/Madrid`; rules are in this zone's local time.
    pub time_zone: String,
    pub buffer_minutes: i64,
    pub horizon_days: i64,
    pub min_notice_minutes: i64,
    pub rules: Vec<RuleBody>,
    #[serde(default)]
    pub exceptions: Vec<ExceptionBody>,
    pub visit_types: Vec<VisitTypeBody>,
}

fn weekday(s: &str) -> Result<Weekday, Error> {
    s.parse::<Weekday>()
        .map_err(|_| Error::invalid("weekday", "use mon, tue, wed, thu, fri, sat or sun"))
}

impl ScheduleBody {
    fn into_update(self) -> Result<ScheduleUpdate, Error> {
        let rules = self
            .rules
            .iter()
            .map(|r| {
                Ok(WeeklyRule {
                    weekday: weekday(&r.weekday)?,
                    start: parse_clock_time("start", &r.start)?,
                    end: parse_clock_time("end", &r.end)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let exceptions = self
            .exceptions
            .iter()
            .map(|e| {
                let kind = match (&e.start, &e.end) {
                    (Some(s), Some(en)) => ExceptionKind::Extra {
                        start: parse_clock_time("start", s)?,
                        end: parse_clock_time("end", en)?,
                    },
                    (None, None) => ExceptionKind::Closed,
                    _ => {
                        return Err(Error::invalid(
                            "exceptions",
                            "give both start and end, or neither",
                        ))
                    }
                };
                Ok(DateException {
                    from: e.from,
                    to: e.to,
                    kind,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(ScheduleUpdate {
            specialty: self.specialty,
            languages: self.languages,
            regions: self.regions,
            bio: self.bio,
            availability: Availability {
                time_zone: parse_time_zone(&self.time_zone)?,
                rules,
                exceptions,
                buffer_minutes: self.buffer_minutes,
                horizon_days: self.horizon_days,
                min_notice_minutes: self.min_notice_minutes,
            },
            visit_types: self
                .visit_types
                .into_iter()
                .map(|v| VisitType {
                    kind: v.kind,
                    duration_minutes: v.duration_minutes,
                    fee_cents: v.fee_cents,
                    currency: v.currency,
                })
                .collect(),
        })
    }

    fn of(p: &ClinicianProfile) -> Self {
        let a = &p.availability;
        let hm = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
        ScheduleBody {
            specialty: p.specialty.clone(),
            languages: p.languages.clone(),
            regions: p.regions.clone(),
            bio: p.bio.clone(),
            time_zone: a.time_zone.name().to_owned(),
            buffer_minutes: a.buffer_minutes,
            horizon_days: a.horizon_days,
            min_notice_minutes: a.min_notice_minutes,
            rules: a
                .rules
                .iter()
                .map(|r| RuleBody {
                    weekday: r.weekday.to_string().to_lowercase(),
                    start: hm(r.start),
                    end: hm(r.end),
                })
                .collect(),
            exceptions: a
                .exceptions
                .iter()
                .map(|e| {
                    let (start, end) = match e.kind {
                        ExceptionKind::Closed => (None, None),
                        ExceptionKind::Extra { start, end } => (Some(hm(start)), Some(hm(end))),
                    };
                    ExceptionBody {
                        from: e.from,
                        to: e.to,
                        start,
                        end,
                    }
                })
                .collect(),
            visit_types: p
                .visit_types
                .iter()
                .map(|v| VisitTypeBody {
                    kind: v.kind,
                    duration_minutes: v.duration_minutes,
                    fee_cents: v.fee_cents,
                    currency: v.currency.clone(),
                })
                .collect(),
        }
    }
}

/// Sets a clinician's profile and availability (the clinician, or staff).
#[utoipa::path(put, path = "/api/v1/clinicians/{id}/schedule", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = ScheduleBody, responses((status = 200, body = ScheduleBody), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn put_schedule(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> AppResult<Json<ScheduleBody>> {
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    service::set_schedule(&state, &ctx, &caller.principal, id, body.into_update()?).await?;
    let profile = state
        .store
        .clinician_profile(id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Json(ScheduleBody::of(&profile)))
}

/// A clinician's profile and availability.
#[utoipa::path(get, path = "/api/v1/clinicians/{id}/schedule", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ScheduleBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<ScheduleBody>> {
    caller.principal.require(Permission::Appointments)?;
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let profile = state
        .store
        .clinician_profile(id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Json(ScheduleBody::of(&profile)))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClinicianSearch {
    pub specialty: Option<String>,
    pub language: Option<String>,
    /// The patient's location: only clinicians licensed there are listed.
    pub region: Option<String>,
    pub visit_kind: Option<VisitKind>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClinicianView {
    pub id: UserId,
    pub display_name: String,
    pub specialty: String,
    pub languages: Vec<String>,
    pub regions: Vec<String>,
    pub bio: String,
    pub time_zone: String,
    pub visit_types: Vec<VisitTypeBody>,
    /// The earliest free slot within 31 days, if any.
    pub next_available: Option<DateTime<Utc>>,
}

/// Finds clinicians, soonest available first.
#[utoipa::path(get, path = "/api/v1/clinicians", tag = "scheduling", security(("bearer" = [])), params(ClinicianSearch),
    responses((status = 200, body = [ClinicianView])))]
pub async fn find_clinicians(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<ClinicianSearch>,
) -> AppResult<Json<Vec<ClinicianView>>> {
    caller.principal.require(Permission::Appointments)?;
    let query = ClinicianQuery {
        specialty: q.specialty,
        language: q.language,
        region: q.region,
        visit_kind: q.visit_kind,
    };
    let found = service::find_clinicians(&state, &query).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|m| {
                let body = ScheduleBody::of(&m.profile);
                ClinicianView {
                    id: m.profile.user_id,
                    display_name: m.profile.display_name,
                    specialty: body.specialty,
                    languages: body.languages,
                    regions: body.regions,
                    bio: body.bio,
                    time_zone: body.time_zone,
                    visit_types: body.visit_types,
                    next_available: m.next_available,
                }
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SlotQuery {
    pub visit_kind: VisitKind,
    pub from: DateTime<Utc>,
    /// Up to 31 days after `from`.
    pub to: DateTime<Utc>,
}

/// Free slots of a clinician.
#[utoipa::path(get, path = "/api/v1/clinicians/{id}/slots", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path), SlotQuery),
    responses((status = 200, body = [Slot]), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn slots(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SlotQuery>,
) -> AppResult<Json<Vec<Slot>>> {
    caller.principal.require(Permission::Appointments)?;
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    Ok(Json(
        service::free_slots(&state, id, q.visit_kind, q.from, q.to).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingBody {
    pub clinician_id: UserId,
    pub visit_kind: VisitKind,
    /// The slot's start, as listed by the slots endpoint.
    pub start: DateTime<Utc>,
    pub reason: String,
    /// Staff only: the patient booked for.
    pub patient_id: Option<UserId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AppointmentView {
    pub id: AppointmentId,
    pub clinician_id: UserId,
    pub patient_id: UserId,
    pub visit_kind: VisitKind,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub reason: String,
    pub cancel_reason: Option<String>,
}

impl From<Appointment> for AppointmentView {
    fn from(a: Appointment) -> Self {
        AppointmentView {
            id: a.id,
            clinician_id: a.clinician_id,
            patient_id: a.patient_id,
            visit_kind: a.visit_kind,
            start: a.start_at,
            end: a.end_at,
            status: a.status,
            reason: a.reason,
            cancel_reason: a.cancel_reason,
        }
    }
}

/// Books a visit in a free slot.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "scheduling", security(("bearer" = [])), request_body = BookingBody,
    responses((status = 201, body = AppointmentView), (status = 400, body = crate::error::ErrorBody), (status = 409, description = "the slot was taken", body = crate::error::ErrorBody)))]
pub async fn book(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<BookingBody>,
) -> AppResult<(StatusCode, Json<AppointmentView>)> {
    let request = BookingRequest {
        clinician: body.clinician_id,
        visit_kind: body.visit_kind,
        start: body.start,
        reason: &body.reason,
        patient: body.patient_id,
    };
    let id = service::book(&state, &ctx, &caller.principal, request).await?;
    let appointment = service::visible_appointment(&state, &caller.principal, id).await?;
    Ok((StatusCode::CREATED, Json(appointment.into())))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AppointmentRange {
    /// Default: now.
    pub from: Option<DateTime<Utc>>,
    /// Default: 90 days after `from`.
    pub to: Option<DateTime<Utc>>,
}

/// The caller's appointments: a patient's own, a clinician's schedule, or all (staff).
#[utoipa::path(get, path = "/api/v1/appointments", tag = "scheduling", security(("bearer" = [])), params(AppointmentRange),
    responses((status = 200, body = [AppointmentView])))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<AppointmentRange>,
) -> AppResult<Json<Vec<AppointmentView>>> {
    let from = q.from.unwrap_or_else(|| state.clock.now());
    let to = q.to.unwrap_or(from + Duration::days(90));
    let found = service::visits_between(&state, &ctx, &caller.principal, from, to, 500).await?;
    Ok(Json(found.into_iter().map(AppointmentView::from).collect()))
}

/// One appointment (its patient, its clinician, or staff).
#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AppointmentView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<AppointmentView>> {
    let id: AppointmentId = id.parse().map_err(|_| Error::NotFound)?;
    let found = service::read_visit(&state, &ctx, &caller.principal, id).await?;
    Ok(Json(found.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Required when a clinician or staff member cancels; sent to the patient.
    #[serde(default)]
    pub reason: String,
}

/// Cancels an appointment.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", tag = "scheduling", security(("bearer" = [])), params(("id" = String, Path)), request_body = CancelBody,
    responses((status = 200, body = AppointmentView), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CancelBody>,
) -> AppResult<Json<AppointmentView>> {
    let id: AppointmentId = id.parse().map_err(|_| Error::NotFound)?;
    service::cancel(&state, &ctx, &caller.principal, id, &body.reason).await?;
    let found = service::visible_appointment(&state, &caller.principal, id).await?;
    Ok(Json(found.into()))
}
