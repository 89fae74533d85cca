//! Booking pages: patients find a clinician, pick a time in a week view (in their own
//! time zone), confirm, and see or cancel their appointments; clinicians and staff see
//! the day's appointments.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use telemed_domain::schedule::VisitKind;
use telemed_domain::{AppointmentId, Error, Permission, Role, UserId};
use telemed_store::scheduling::{Appointment, AppointmentStatus};

use super::calendar_grid;
use super::pages::{render, render_with, DoneQuery, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::change::Change;
use crate::error::AppResult;
use crate::i18n::dates::{self, Day};
use crate::i18n::{args, Texts};
use crate::scheduling::{self as service, BookingRequest, ClinicianQuery};
use crate::AppState;

pub(super) fn local(tz: Tz, t: DateTime<Utc>, format: &str) -> String {
    t.with_timezone(&tz).format(format).to_string()
}

/// Midnight of a local date, as an instant.
pub(super) fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default()))
}

fn money(cents: i64, currency: &str) -> String {
    format!("{} {currency}", telemed_domain::clinic::format_fee(cents))
}

struct ClinicianRow {
    id: UserId,
    name: String,
    specialty: String,
    languages: String,
    kinds: String,
    next: Option<String>,
    /// The week of the next free time (`YYYY-MM-DD`), so "see times" opens on it.
    next_week: String,
}

#[derive(Template)]
#[template(path = "book_search.html")]
struct SearchPage<'a> {
    page: &'a Page,
    specialties: Vec<String>,
    q: SearchQuery,
    kinds: Vec<(&'static str, &'static str)>,
    results: Vec<ClinicianRow>,
    time_zone: String,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    specialty: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region: String,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub async fn search(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    me.principal.require(Permission::Appointments)?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/book");
    let kind = some(&q.kind).map(|k| VisitKind::parse(&k)).transpose()?;
    let query = ClinicianQuery {
        specialty: some(&q.specialty),
        language: some(&q.language),
        region: some(&q.region),
        visit_kind: kind,
    };
    let mut specialties: Vec<String> = state
        .store
        .clinician_profiles()
        .await?
        .into_iter()
        .map(|p| p.specialty)
        .collect();
    specialties.sort();
    specialties.dedup();
    let tz = w.ctx.time_zone;
    let kind_param = kind.unwrap_or(VisitKind::Video);
    let results = service::find_clinicians(&state, &query)
        .await?
        .into_iter()
        .map(|m| ClinicianRow {
            id: m.profile.user_id,
            name: m.profile.display_name,
            specialty: m.profile.specialty,
            languages: m.profile.languages.join(", "),
            kinds: m
                .profile
                .visit_types
                .iter()
                .filter(|v| v.kind == kind_param || kind.is_none())
                .map(|v| v.kind.as_str())
                .next()
                .unwrap_or("video")
                .to_owned(),
            next: m
                .next_available
                .map(|at| dates::moment(page.t, tz, at, Day::ShortNoYear)),
            next_week: m
                .next_available
                .map(|t| local(tz, t, "%Y-%m-%d"))
                .unwrap_or_default(),
        })
        .collect();
    Ok(render(&SearchPage {
        page: &page,
        specialties,
        kinds: VisitKind::ALL
            .iter()
            .map(|k| (k.as_str(), page.kind_name(*k)))
            .collect(),
        q,
        results,
        time_zone: tz.name().to_owned(),
    }))
}

/// One day of free times: its label, the anchor the page's day strip links to, and its
/// slots grouped by part of the day.
pub(super) struct DayColumn {
    pub label: String,
    /// The day strip's two lines: "Tue" and "8".
    pub weekday: String,
    pub day_number: u32,
    pub anchor: String,
    pub count: usize,
    /// "12 times", for the day strip.
    pub count_label: String,
    pub parts: Vec<DayPart>,
}

/// Morning, afternoon or evening of a day, and its free times as (local time, RFC 3339
/// instant); only parts that have a time are listed.
pub(super) struct DayPart {
    pub name: &'static str,
    pub slots: Vec<(String, String)>,
}

/// Where a local time falls: before noon, before 17:00, or later.
fn part_of_day(t: &Texts, hour: u32) -> &'static str {
    match hour {
        0..12 => t.part_morning,
        12..17 => t.part_afternoon,
        _ => t.part_evening,
    }
}

/// A week (Monday to Sunday in the viewer's zone) of a clinician's free times.
pub(super) struct SlotWeek {
    pub days: Vec<DayColumn>,
    /// The previous week's Monday, unless this is the current week.
    pub prev: Option<NaiveDate>,
    pub next: NaiveDate,
}

/// The week of `week` (default: this week; never before it) of free `kind` slots.
pub(super) async fn slot_week(
    state: &AppState,
    t: &Texts,
    tz: Tz,
    clinician: UserId,
    kind: VisitKind,
    week: Option<NaiveDate>,
) -> AppResult<SlotWeek> {
    let today = state.clock.now().with_timezone(&tz).date_naive();
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let monday = week
        .map(|d| d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
        .unwrap_or(this_monday)
        .max(this_monday);
    let from = local_midnight(tz, monday);
    let to = local_midnight(tz, monday + Duration::days(7));
    let slots = service::free_slots(state, clinician, kind, from, to).await?;
    let days = (0..7)
        .map(|i| {
            let date = monday + Duration::days(i);
            let mut parts: Vec<DayPart> = Vec::new();
            for slot in slots
                .iter()
                .filter(|s| s.start.with_timezone(&tz).date_naive() == date)
            {
                let name = part_of_day(t, slot.start.with_timezone(&tz).hour());
                let time = (
                    local(tz, slot.start, "%H:%M"),
                    slot.start
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
                match parts.last_mut() {
                    Some(part) if part.name == name => part.slots.push(time),
                    _ => parts.push(DayPart {
                        name,
                        slots: vec![time],
                    }),
                }
            }
            let count = parts.iter().map(|p| p.slots.len()).sum();
            DayColumn {
                label: dates::day(t, date, Day::ShortNoYear),
                weekday: dates::weekday_short(t, date).to_owned(),
                day_number: date.day(),
                anchor: date.format("day-%Y-%m-%d").to_string(),
                count,
                count_label: t.free_times_count(args::FreeTimesCount {
                    count: count.into(),
                }),
                parts,
            }
        })
        .collect();
    Ok(SlotWeek {
        days,
        prev: (monday > this_monday).then(|| monday - Duration::days(7)),
        next: monday + Duration::days(7),
    })
}

#[derive(Template)]
#[template(path = "book_week.html")]
struct WeekPage<'a> {
    page: &'a Page,
    clinician: String,
    specialty: String,
    kind: &'static str,
    kind_label: &'static str,
    duration: i64,
    fee: String,
    days: Vec<DayColumn>,
    empty: bool,
    prev: Option<String>,
    next: String,
    clinician_id: UserId,
    time_zone: String,
}

#[derive(Deserialize)]
pub struct WeekQuery {
    #[serde(default)]
    kind: String,
    week: Option<NaiveDate>,
}

pub async fn week(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<WeekQuery>,
) -> AppResult<Response> {
    me.principal.require(Permission::Appointments)?;
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let profile = service::bookable_profile(&state, id).await?;
    let kind = if q.kind.is_empty() {
        profile
            .visit_types
            .first()
            .map(|v| v.kind)
            .ok_or(Error::NotFound)?
    } else {
        VisitKind::parse(&q.kind)?
    };
    let visit = profile
        .visit_types
        .iter()
        .find(|v| v.kind == kind)
        .ok_or_else(|| {
            Error::invalid("kind", "this clinician does not offer that kind of visit")
        })?;
    let tz = w.ctx.time_zone;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/book");
    let week = slot_week(&state, page.t, tz, id, kind, q.week).await?;
    let link = |d: NaiveDate| {
        format!(
            "/book/{id}?kind={}&week={}",
            kind.as_str(),
            d.format("%Y-%m-%d")
        )
    };
    Ok(render(&WeekPage {
        page: &page,
        clinician: profile.display_name.clone(),
        specialty: profile.specialty.clone(),
        kind: kind.as_str(),
        kind_label: page.kind_name(kind),
        duration: visit.duration_minutes,
        fee: money(visit.fee_cents, &visit.currency),
        empty: week.days.iter().all(|d| d.count == 0),
        prev: week.prev.map(link),
        next: link(week.next),
        days: week.days,
        clinician_id: id,
        time_zone: tz.name().to_owned(),
    }))
}

#[derive(Template)]
#[template(path = "book_confirm.html")]
struct ConfirmPage<'a> {
    page: &'a Page,
    error: Option<String>,
    clinician: String,
    clinician_id: UserId,
    kind: &'static str,
    kind_label: &'static str,
    start: String,
    when: String,
    reason: String,
    back: String,
    /// Staff book for a patient, named by email.
    for_patient: bool,
    patient_email: String,
}

#[derive(Deserialize)]
pub struct ConfirmQuery {
    kind: String,
    start: DateTime<Utc>,
}

/// The visit being confirmed.
struct Choice<'a> {
    clinician: UserId,
    kind: VisitKind,
    start: DateTime<Utc>,
    reason: &'a str,
    patient_email: &'a str,
}

async fn confirm_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    choice: Choice<'_>,
    error: Option<&Error>,
) -> AppResult<Response> {
    let Choice {
        clinician: id,
        kind,
        start,
        reason,
        patient_email,
    } = choice;
    let profile = service::bookable_profile(state, id).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/book");
    let tz = w.ctx.time_zone;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &ConfirmPage {
            page: &page,
            error: error.map(|e| page.form_error(e)),
            clinician: profile.display_name,
            clinician_id: id,
            kind: kind.as_str(),
            kind_label: page.kind_name(kind),
            start: start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            when: dates::moment_in_zone(page.t, tz, start, Day::Long),
            reason: reason.to_owned(),
            back: format!("/book/{id}?kind={}", kind.as_str()),
            for_patient: me.role() == Role::Staff,
            patient_email: patient_email.to_owned(),
        },
    ))
}

pub async fn confirm(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ConfirmQuery>,
) -> AppResult<Response> {
    me.principal.require(Permission::Appointments)?;
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let choice = Choice {
        clinician: id,
        kind: VisitKind::parse(&q.kind)?,
        start: q.start,
        reason: "",
        patient_email: "",
    };
    confirm_page(&state, &w, &me, choice, None).await
}

#[derive(Deserialize)]
pub struct BookForm {
    kind: String,
    start: DateTime<Utc>,
    reason: String,
    #[serde(default)]
    patient_email: String,
}

/// The patient staff book for, by email; unknown or not a patient is a form error.
async fn patient_by_email(state: &AppState, email: &str) -> Result<UserId, Error> {
    let unknown = || Error::invalid("patient_email", "no active patient has this email");
    let email = telemed_domain::Email::parse(email).map_err(|_| unknown())?;
    state
        .store
        .user_by_email(&email)
        .await?
        .filter(|u| u.role == Role::Patient && u.disabled_at.is_none())
        .map(|u| u.id)
        .ok_or_else(unknown)
}

pub async fn book(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<BookForm>,
) -> AppResult<Response> {
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let kind = VisitKind::parse(&form.kind)?;
    let patient = if me.role() == Role::Staff {
        patient_by_email(&state, &form.patient_email)
            .await
            .map(Some)
    } else {
        Ok(None)
    };
    let booked = match patient {
        Ok(patient) => {
            let request = BookingRequest {
                clinician: id,
                visit_kind: kind,
                start: form.start,
                reason: &form.reason,
                patient,
            };
            service::book(&state, &w.ctx, &me.principal, request).await
        }
        Err(e) => Err(e),
    };
    match booked {
        Ok(_) if me.role() == Role::Staff => {
            let day = form.start.with_timezone(&w.ctx.time_zone).date_naive();
            Ok(Redirect::to(&format!("/calendar?day={}", day.format("%Y-%m-%d"))).into_response())
        }
        Ok(_) => Ok(Redirect::to("/appointments?done=booked").into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            let choice = Choice {
                clinician: id,
                kind,
                start: form.start,
                reason: &form.reason,
                patient_email: &form.patient_email,
            };
            confirm_page(&state, &w, &me, choice, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

struct AppointmentRow {
    id: AppointmentId,
    when: String,
    day: String,
    /// The local date it starts on.
    date: NaiveDate,
    /// Its local start and end, where the week calendar places it.
    local_span: (NaiveDateTime, NaiveDateTime),
    /// The FHIR status code, a class the week calendar styles it by.
    status_code: &'static str,
    patient: String,
    patient_id: UserId,
    /// The viewer is a clinician: the patient's name opens their chart.
    chart_link: bool,
    /// The viewer is the front desk: a link to the patient's proxy access.
    proxies_link: bool,
    clinician: String,
    kind: &'static str,
    status: &'static str,
    reason: String,
    can_cancel: bool,
    /// A booked visit still ahead: it can move to another time.
    can_move: bool,
    /// A patient's visit inside the cut-off: it can no longer change online, and the
    /// page says so (with whom to call) instead of offering buttons that would fail.
    call_to_change: bool,
    can_undo_noshow: bool,
    /// Started and booked or checked in: the clinician can mark it done.
    can_complete: bool,
    /// Active and starting within a day: the waiting room (and device check) is open
    /// to visit.
    waiting_room: bool,
}

async fn rows(
    state: &AppState,
    page: &Page,
    tz: Tz,
    list: Vec<Appointment>,
) -> AppResult<Vec<AppointmentRow>> {
    let ids: Vec<UserId> = list
        .iter()
        .flat_map(|a| [a.patient_id, a.clinician_id])
        .collect();
    let names = state.store.names_of(&ids).await?;
    let name = |id: &UserId| names.get(id).map(|n| n.0.clone()).unwrap_or_default();
    let now = state.clock.now();
    let is_patient = page.user.as_ref().is_some_and(|u| u.is_patient);
    let cutoff = Duration::hours(page.clinic.settings.patient_cancel_cutoff_hours);
    Ok(list
        .into_iter()
        .map(|a| {
            let ahead = a.status.is_active() && a.start_at > now;
            let locked = is_patient && ahead && a.start_at - now < cutoff;
            AppointmentRow {
                id: a.id,
                when: format!(
                    "{}–{}",
                    local(tz, a.start_at, "%H:%M"),
                    local(tz, a.end_at, "%H:%M")
                ),
                day: dates::moment_day(page.t, tz, a.start_at, Day::Short),
                date: a.start_at.with_timezone(&tz).date_naive(),
                local_span: (
                    a.start_at.with_timezone(&tz).naive_local(),
                    a.end_at.with_timezone(&tz).naive_local(),
                ),
                status_code: a.status.as_str(),
                patient: name(&a.patient_id),
                patient_id: a.patient_id,
                chart_link: page.user.as_ref().is_some_and(|u| u.is_clinician),
                proxies_link: page.user.as_ref().is_some_and(|u| u.is_staff),
                clinician: name(&a.clinician_id),
                kind: page.kind_name(a.visit_kind),
                status: page.status_name(a.status),
                can_cancel: ahead && !locked,
                can_move: matches!(
                    a.status,
                    AppointmentStatus::Booked | AppointmentStatus::Proposed
                ) && a.start_at > now
                    && !locked,
                call_to_change: locked,
                can_undo_noshow: a.status == AppointmentStatus::Noshow,
                can_complete: matches!(
                    a.status,
                    AppointmentStatus::Booked | AppointmentStatus::Arrived
                ) && a.start_at <= now,
                waiting_room: a.status.is_active()
                    && a.end_at > now
                    && a.start_at < now + Duration::hours(24),
                reason: a.reason,
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "appointments.html")]
struct AppointmentsPage<'a> {
    page: &'a Page,
    notice: Option<&'static str>,
    error: Option<String>,
    upcoming: Vec<AppointmentRow>,
    past: Vec<AppointmentRow>,
    time_zone: String,
    /// What a patient reads beside a visit inside the cut-off.
    call_to_change: String,
}

async fn appointments_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    notice: Option<&'static str>,
    error: Option<&Error>,
) -> AppResult<Response> {
    me.principal.require(Permission::Appointments)?;
    if me.role() != Role::Patient {
        return Ok(Redirect::to("/calendar").into_response());
    }
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/appointments");
    let now = state.clock.now();
    let p = &me.principal;
    // A visit under way (started, not yet over) is still ahead of the patient: its
    // waiting room and video room stay one click away. One that is done, cancelled or
    // missed is past, whatever time it was booked until.
    // (No visit lasts a day.)
    let (from, to) = (now - Duration::days(400), now + Duration::days(400));
    let (upcoming, past): (Vec<_>, Vec<_>) =
        service::visits_between(state, &w.ctx, p, from, to, 1000)
            .await?
            .into_iter()
            .partition(|a| a.end_at > now && a.status.is_active());
    let tz = w.ctx.time_zone;
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &AppointmentsPage {
            page: &page,
            notice,
            error: error.map(|e| page.form_error(e)),
            upcoming: rows(state, &page, tz, upcoming).await?,
            past: rows(state, &page, tz, past.into_iter().rev().collect()).await?,
            time_zone: tz.name().to_owned(),
            call_to_change: page.t.call_to_change(args::CallToChange {
                hours: page.clinic.settings.patient_cancel_cutoff_hours.into(),
            }),
        },
    ))
}

pub async fn my_appointments(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/appointments");
    let notice = match q.done.as_str() {
        "booked" => Some(page.t.booked_notice),
        "cancelled" => Some(page.t.cancelled_notice),
        "moved" => Some(page.t.moved_notice),
        _ => None,
    };
    appointments_page(&state, &w, &me, notice, None).await
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
    /// Where to return: the patient's list or the calendar.
    #[serde(default)]
    back: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> AppResult<Response> {
    let id: AppointmentId = id.parse().map_err(|_| Error::NotFound)?;
    match service::cancel(&state, &w.ctx, &me.principal, id, &form.reason).await {
        Ok(()) if me.role() == Role::Patient => {
            Ok(Redirect::to("/appointments?done=cancelled").into_response())
        }
        Ok(()) => Ok(Redirect::to(if super::is_local_path(&form.back) {
            &form.back
        } else {
            "/calendar"
        })
        .into_response()),
        Err(e @ (Error::Conflict(_) | Error::Invalid { .. })) if me.role() == Role::Patient => {
            appointments_page(&state, &w, &me, None, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage<'a> {
    page: &'a Page,
    title: String,
    prev: String,
    next: String,
    /// The other view of the same date (day ↔ week).
    switch: String,
    week_view: bool,
    rows: Vec<AppointmentRow>,
    /// The week view as lists, when more visits overlap than the grid shows side by side.
    week: Vec<(String, Vec<AppointmentRow>)>,
    /// The week view as blocks in time.
    grid: Option<WeekGrid>,
    show_clinician: bool,
    back: String,
    time_zone: String,
}

/// The week calendar: hours down the side, a column per day, each visit a block.
struct WeekGrid {
    class: String,
    hours: Vec<String>,
    days: Vec<GridDay>,
}

struct GridDay {
    label: String,
    /// The day view of that day, where a visit's actions are.
    link: String,
    blocks: Vec<(String, AppointmentRow)>,
}

/// The week's visits as blocks in time; the lists back when a day has more visits at
/// once than the grid can set side by side.
fn week_grid(
    days: Vec<(String, Vec<AppointmentRow>)>,
    first: NaiveDate,
) -> Result<WeekGrid, Vec<(String, Vec<AppointmentRow>)>> {
    let window = calendar_grid::window(days.iter().flat_map(|d| d.1.iter().map(|r| &r.local_span)));
    let mut places = Vec::with_capacity(days.len());
    for (i, (_, rows)) in (0..).zip(&days) {
        let top = (first + Duration::days(i)).and_hms_opt(window.from, 0, 0);
        let spans: Vec<_> = rows.iter().map(|r| r.local_span).collect();
        match top.and_then(|top| calendar_grid::place(top, window, &spans)) {
            Some(placed) => places.push(placed),
            None => return Err(days),
        }
    }
    Ok(WeekGrid {
        class: window.class(),
        hours: window.hours().map(|h| format!("{h:02}:00")).collect(),
        days: (0..)
            .zip(days.into_iter().zip(places))
            .map(|(i, ((label, rows), placed))| GridDay {
                label,
                link: format!(
                    "/calendar?day={}",
                    (first + Duration::days(i)).format("%Y-%m-%d")
                ),
                blocks: placed.iter().map(|p| p.classes()).zip(rows).collect(),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct DayQuery {
    day: Option<NaiveDate>,
    /// `week` for Monday to Sunday; default one day.
    #[serde(default)]
    view: String,
}

/// A clinician's day or week (their own), or every clinician's for staff.
pub async fn calendar(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<DayQuery>,
) -> AppResult<Response> {
    if !matches!(me.role(), Role::Clinician | Role::Staff) {
        return Err(Error::Forbidden.into());
    }
    let tz = w.ctx.time_zone;
    let day = q
        .day
        .unwrap_or_else(|| state.clock.now().with_timezone(&tz).date_naive());
    let week_view = q.view == "week";
    let (first, days) = if week_view {
        let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        (monday, 7)
    } else {
        (day, 1)
    };
    let from = local_midnight(tz, first);
    let to = local_midnight(tz, first + Duration::days(days));
    let list = service::visits_between(&state, &w.ctx, &me.principal, from, to, 1000).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/calendar");
    let view = if week_view { "&view=week" } else { "" };
    let link = |d: NaiveDate| format!("/calendar?day={}{view}", d.format("%Y-%m-%d"));
    let back = link(day);
    let all = rows(&state, &page, tz, list).await?;
    let (rows, week) = if week_view {
        let mut week: Vec<(String, Vec<AppointmentRow>)> = (0..7)
            .map(|i| {
                let d = first + Duration::days(i);
                (dates::day(page.t, d, Day::ShortNoYear), Vec::new())
            })
            .collect();
        for row in all {
            let index = (row.date - first).num_days();
            if let Some(slot) = usize::try_from(index).ok().and_then(|i| week.get_mut(i)) {
                slot.1.push(row);
            }
        }
        (Vec::new(), week)
    } else {
        (all, Vec::new())
    };
    let (grid, week) = match week_view.then(|| week_grid(week, first)) {
        Some(Ok(grid)) => (Some(grid), Vec::new()),
        Some(Err(lists)) => (None, lists),
        None => (None, Vec::new()),
    };
    Ok(render(&CalendarPage {
        title: if week_view {
            format!(
                "{} – {}",
                dates::day(page.t, first, Day::PlainNoYear),
                dates::day(page.t, first + Duration::days(6), Day::Plain)
            )
        } else {
            dates::day(page.t, day, Day::Long)
        },
        prev: link(first - Duration::days(days)),
        next: link(first + Duration::days(days)),
        switch: if week_view {
            format!("/calendar?day={}", day.format("%Y-%m-%d"))
        } else {
            format!("/calendar?day={}&view=week", day.format("%Y-%m-%d"))
        },
        week_view,
        rows,
        week,
        grid,
        page: &page,
        show_clinician: me.role() == Role::Staff,
        back,
        time_zone: tz.name().to_owned(),
    }))
}

/// One visit as an .ics file, for "add to calendar".
pub async fn ics(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: AppointmentId = id
        .trim_end_matches(".ics")
        .parse()
        .map_err(|_| Error::NotFound)?;
    let a = service::read_visit(&state, &w.ctx, &me.principal, id).await?;
    let event = crate::jobs::visit_event(&state, &a, "/appointments");
    let name = &w.ctx.clinic.settings.name;
    let body = crate::ical::calendar(name, Some("PUBLISH"), &[event], state.clock.now());
    Ok(calendar_response(body))
}

fn calendar_response(body: String) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"telemed-visit.ics\"",
            ),
        ],
        body,
    )
        .into_response()
}

/// A clinician's private feed for their calendar app: `/calendar/feed/<secret>.ics`.
/// Anyone with the link can read it, so it carries times and links, never names.
pub async fn feed(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<Response> {
    let secret = token.trim_end_matches(".ics");
    let now = state.clock.now();
    let list = service::calendar_feed(&state, secret).await?;
    let events: Vec<_> = list
        .iter()
        .map(|a| crate::jobs::visit_event(&state, a, "/calendar"))
        .collect();
    let clinic = crate::clinic::current(&state).await;
    Ok(calendar_response(crate::ical::calendar(
        &clinic.settings.name,
        None,
        &events,
        now,
    )))
}

#[derive(Deserialize)]
pub struct FeedForm {
    #[serde(default)]
    revoke: String,
}

#[derive(Template)]
#[template(path = "calendar_feed.html")]
struct FeedPage<'a> {
    page: &'a Page,
    url: Option<String>,
    active: bool,
}

/// Makes a new feed link (the old one stops working) or revokes it.
pub async fn set_feed(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<FeedForm>,
) -> AppResult<Response> {
    if me.role() != Role::Clinician {
        return Err(Error::Forbidden.into());
    }
    let now = state.clock.now();
    let secret = (form.revoke.is_empty()).then(|| crate::crypto::random_token("cal_"));
    let mut change = Change::begin(&state).await?;
    telemed_store::jobs::set_calendar_feed(
        change.tx(),
        me.user.id,
        secret.as_deref().map(crate::crypto::token_hash).as_deref(),
        now,
    )
    .await?;
    let action = if secret.is_some() {
        "calendar_feed.create"
    } else {
        "calendar_feed.revoke"
    };
    let record = crate::audit::Event::new(&w.ctx, now, action, "calendar_feed")
        .by(me.user.id, me.role())
        .on(me.user.id);
    change.audit(record);
    change.commit().await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/calendar/feed");
    let url = secret.map(|s| format!("{}/calendar/feed/{s}.ics", state.config.public_url));
    Ok(render(&FeedPage {
        page: &page,
        active: url.is_some(),
        url,
    }))
}

pub async fn feed_page(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    if me.role() != Role::Clinician {
        return Err(Error::Forbidden.into());
    }
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/calendar/feed");
    Ok(render(&FeedPage {
        page: &page,
        url: None,
        active: state.store.has_calendar_feed(me.user.id).await?,
    }))
}
