//! The availability editor: a clinician (or staff, for any clinician) sets profile,
//! weekly hours, exceptions and visit types in one form, and sees the slots it yields
//! over the next week before saving (an htmx preview that updates as they type).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Duration, Weekday};
use serde::Deserialize;
use telemed_domain::clinic::{format_fee, parse_fee, ClinicSettings};
use telemed_domain::schedule::{parse_time_zone, Availability, VisitKind};
use telemed_domain::schedule_text::{
    format_day_hours, format_exceptions, parse_day_hours, parse_exceptions,
};
use telemed_domain::{Error, Result, Role, UserId};
use telemed_store::scheduling::{ClinicianProfile, VisitType};
use telemed_store::users::UserFilter;

use super::booking::{local, local_midnight};
use super::pages::{render, render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::dates::{self, Day};
use crate::scheduling::{self as service, ScheduleUpdate};
use crate::AppState;

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "hours_mon"),
    (Weekday::Tue, "hours_tue"),
    (Weekday::Wed, "hours_wed"),
    (Weekday::Thu, "hours_thu"),
    (Weekday::Fri, "hours_fri"),
    (Weekday::Sat, "hours_sat"),
    (Weekday::Sun, "hours_sun"),
];

/// One visit kind's row of the form.
#[derive(Deserialize, Default, Clone)]
pub struct KindFields {
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    fee: String,
}

/// The editor's fields, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct ScheduleForm {
    #[serde(default)]
    specialty: String,
    #[serde(default)]
    languages: String,
    #[serde(default)]
    regions: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    buffer_minutes: String,
    #[serde(default)]
    horizon_days: String,
    #[serde(default)]
    min_notice_minutes: String,
    #[serde(default)]
    hours_mon: String,
    #[serde(default)]
    hours_tue: String,
    #[serde(default)]
    hours_wed: String,
    #[serde(default)]
    hours_thu: String,
    #[serde(default)]
    hours_fri: String,
    #[serde(default)]
    hours_sat: String,
    #[serde(default)]
    hours_sun: String,
    #[serde(default)]
    exceptions: String,
    #[serde(default)]
    currency: String,
    #[serde(flatten, default)]
    kinds: KindForm,
}

#[derive(Deserialize, Default, Clone)]
pub struct KindForm {
    #[serde(default)]
    video_on: Option<String>,
    #[serde(default)]
    video_minutes: String,
    #[serde(default)]
    video_fee: String,
    #[serde(default)]
    audio_on: Option<String>,
    #[serde(default)]
    audio_minutes: String,
    #[serde(default)]
    audio_fee: String,
    #[serde(default)]
    messaging_on: Option<String>,
    #[serde(default)]
    messaging_minutes: String,
    #[serde(default)]
    messaging_fee: String,
}

impl KindForm {
    /// The form with each kind's row as `row(kind)` gives it: (offered, minutes, fee).
    fn each(row: impl Fn(VisitKind) -> (Option<String>, String, String)) -> Self {
        let (video_on, video_minutes, video_fee) = row(VisitKind::Video);
        let (audio_on, audio_minutes, audio_fee) = row(VisitKind::Audio);
        let (messaging_on, messaging_minutes, messaging_fee) = row(VisitKind::Messaging);
        KindForm {
            video_on,
            video_minutes,
            video_fee,
            audio_on,
            audio_minutes,
            audio_fee,
            messaging_on,
            messaging_minutes,
            messaging_fee,
        }
    }

    fn rows(&self) -> [(VisitKind, KindFields); 3] {
        let row = |on: &Option<String>, minutes: &str, fee: &str| KindFields {
            on: on.clone(),
            minutes: minutes.to_owned(),
            fee: fee.to_owned(),
        };
        [
            (
                VisitKind::Video,
                row(&self.video_on, &self.video_minutes, &self.video_fee),
            ),
            (
                VisitKind::Audio,
                row(&self.audio_on, &self.audio_minutes, &self.audio_fee),
            ),
            (
                VisitKind::Messaging,
                row(
                    &self.messaging_on,
                    &self.messaging_minutes,
                    &self.messaging_fee,
                ),
            ),
        ]
    }
}

fn number(field: &'static str, text: &str) -> Result<i64> {
    text.trim()
        .parse()
        .map_err(|_| Error::invalid(field, "enter a whole number"))
}

fn codes(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ScheduleForm {
    fn hours(&self, weekday: Weekday) -> &str {
        match weekday {
            Weekday::Mon => &self.hours_mon,
            Weekday::Tue => &self.hours_tue,
            Weekday::Wed => &self.hours_wed,
            Weekday::Thu => &self.hours_thu,
            Weekday::Fri => &self.hours_fri,
            Weekday::Sat => &self.hours_sat,
            Weekday::Sun => &self.hours_sun,
        }
    }

    fn availability(&self) -> Result<Availability> {
        let mut rules = Vec::new();
        for (weekday, field) in WEEKDAYS {
            rules.extend(parse_day_hours(field, weekday, self.hours(weekday))?);
        }
        let availability = Availability {
            time_zone: parse_time_zone(self.time_zone.trim())?,
            rules,
            exceptions: parse_exceptions(&self.exceptions)?,
            buffer_minutes: number("buffer_minutes", &self.buffer_minutes)?,
            horizon_days: number("horizon_days", &self.horizon_days)?,
            min_notice_minutes: number("min_notice_minutes", &self.min_notice_minutes)?,
        };
        availability.validate()?;
        Ok(availability)
    }

    fn visit_types(&self) -> Result<Vec<VisitType>> {
        let currency = self.currency.trim().to_uppercase();
        let mut out = Vec::new();
        for (kind, row) in self.kinds.rows() {
            if row.on.is_none() {
                continue;
            }
            out.push(VisitType {
                kind,
                duration_minutes: number("duration_minutes", &row.minutes)?,
                fee_cents: parse_fee(&row.fee)?,
                currency: currency.clone(),
            });
        }
        if out.is_empty() {
            return Err(Error::invalid(
                "visit_types",
                "offer at least one kind of visit",
            ));
        }
        Ok(out)
    }

    fn update(&self) -> Result<ScheduleUpdate> {
        Ok(ScheduleUpdate {
            specialty: self.specialty.clone(),
            languages: codes(&self.languages),
            regions: codes(&self.regions),
            bio: self.bio.clone(),
            availability: self.availability()?,
            visit_types: self.visit_types()?,
        })
    }

    fn of(p: &ClinicianProfile) -> Self {
        let a = &p.availability;
        let hours = |d| format_day_hours(&a.rules, d);
        let kind = |k: VisitKind| p.visit_types.iter().find(|v| v.kind == k);
        let on = |k| kind(k).map(|_| "on".to_owned());
        let minutes = |k| {
            kind(k)
                .map(|v| v.duration_minutes.to_string())
                .unwrap_or_else(|| "30".into())
        };
        let fee = |k| kind(k).map(|v| format_fee(v.fee_cents)).unwrap_or_default();
        ScheduleForm {
            specialty: p.specialty.clone(),
            languages: p.languages.join(" "),
            regions: p.regions.join(" "),
            bio: p.bio.clone(),
            time_zone: a.time_zone.name().to_owned(),
            buffer_minutes: a.buffer_minutes.to_string(),
            horizon_days: a.horizon_days.to_string(),
            min_notice_minutes: a.min_notice_minutes.to_string(),
            hours_mon: hours(Weekday::Mon),
            hours_tue: hours(Weekday::Tue),
            hours_wed: hours(Weekday::Wed),
            hours_thu: hours(Weekday::Thu),
            hours_fri: hours(Weekday::Fri),
            hours_sat: hours(Weekday::Sat),
            hours_sun: hours(Weekday::Sun),
            exceptions: format_exceptions(&a.exceptions),
            currency: p
                .visit_types
                .first()
                .map(|v| v.currency.clone())
                .unwrap_or_else(|| "EUR".into()),
            kinds: KindForm::each(|k| (on(k), minutes(k), fee(k))),
        }
    }

    /// A new clinician's starting point: weekdays 09:00–17:00 in the viewer's zone, the
    /// kinds of visit the clinic offers with its durations and fees.
    fn fresh(time_zone: &str, specialty: String, clinic: &ClinicSettings) -> Self {
        let offer = |k: VisitKind| clinic.visits.iter().find(|v| v.kind == k && v.offered);
        let on = |k| offer(k).map(|_| "on".to_owned());
        let minutes = |k| offer(k).map_or_else(|| "30".into(), |v| v.duration_minutes.to_string());
        let fee = |k| offer(k).map_or_else(|| "0".into(), |v| format_fee(v.fee_cents));
        let weekday = "09:00-17:00".to_owned();
        ScheduleForm {
            specialty,
            languages: "en".into(),
            time_zone: time_zone.to_owned(),
            buffer_minutes: "0".into(),
            horizon_days: "60".into(),
            min_notice_minutes: "60".into(),
            hours_mon: weekday.clone(),
            hours_tue: weekday.clone(),
            hours_wed: weekday.clone(),
            hours_thu: weekday.clone(),
            hours_fri: weekday,
            currency: clinic.currency.clone(),
            kinds: KindForm::each(|k| (on(k), minutes(k), fee(k))),
            ..ScheduleForm::default()
        }
    }
}

struct DayRow {
    field: &'static str,
    label: String,
    value: String,
}

struct KindRow {
    name: &'static str,
    label: &'static str,
    on: bool,
    minutes: String,
    fee: String,
}

#[derive(Template)]
#[template(path = "schedule_editor.html")]
struct EditorPage<'a> {
    page: &'a Page,
    clinician_id: UserId,
    clinician: String,
    f: ScheduleForm,
    days: Vec<DayRow>,
    kinds: Vec<KindRow>,
    error: Option<String>,
    saved: bool,
    preview: Preview,
}

#[derive(Template)]
#[template(path = "schedule_preview.html")]
struct Preview {
    error: Option<String>,
    /// (day label, slot times) for the next seven days in the clinician's zone.
    days: Vec<(String, Vec<String>)>,
    kind_label: &'static str,
    time_zone: String,
    total: usize,
    title: &'static str,
    none: &'static str,
}

/// The slots the form's availability yields over the next seven days for the first
/// offered kind, counting visits already booked.
async fn preview(state: &AppState, page: &Page, clinician: UserId, f: &ScheduleForm) -> Preview {
    let empty = |error: Option<String>| Preview {
        error,
        days: Vec::new(),
        kind_label: "",
        time_zone: String::new(),
        total: 0,
        title: page.t.preview_title,
        none: page.t.no_slots,
    };
    let (availability, kinds) = match f.availability().and_then(|a| Ok((a, f.visit_types()?))) {
        Ok(v) => v,
        Err(e) => return empty(Some(page.form_error(&e))),
    };
    let Some(visit) = kinds.first() else {
        return empty(None);
    };
    let tz = availability.time_zone;
    let now = state.clock.now();
    let today = now.with_timezone(&tz).date_naive();
    let (from, to) = (
        local_midnight(tz, today),
        local_midnight(tz, today + Duration::days(7)),
    );
    let busy = match state.store.busy_intervals(clinician, from, to).await {
        Ok(b) => b,
        Err(e) => return empty(Some(page.form_error(&e))),
    };
    let slots = availability.slots(visit.duration_minutes, from, to, now, &busy);
    let days = (0..7)
        .map(|i| {
            let date = today + Duration::days(i);
            let times = slots
                .iter()
                .filter(|s| s.start.with_timezone(&tz).date_naive() == date)
                .map(|s| local(tz, s.start, "%H:%M"))
                .collect();
            (dates::day(page.t, date, Day::ShortNoYear), times)
        })
        .collect();
    Preview {
        error: None,
        days,
        kind_label: page.kind_name(visit.kind),
        time_zone: tz.name().to_owned(),
        total: slots.len(),
        title: page.t.preview_title,
        none: page.t.no_slots,
    }
}

async fn editor(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    clinician: UserId,
    f: ScheduleForm,
    outcome: Option<std::result::Result<(), Error>>,
) -> AppResult<Response> {
    let user = state
        .store
        .user_by_id(clinician)
        .await?
        .filter(|u| u.role == Role::Clinician)
        .ok_or(Error::NotFound)?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/schedule");
    let preview = preview(state, &page, clinician, &f).await;
    let weekday_names = page
        .t
        .weekdays
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>();
    let days = WEEKDAYS
        .iter()
        .enumerate()
        .map(|(i, (d, field))| DayRow {
            field,
            label: weekday_names.get(i).copied().unwrap_or_default().to_owned(),
            value: f.hours(*d).to_owned(),
        })
        .collect();
    let kinds = f
        .kinds
        .rows()
        .into_iter()
        .filter(|(k, _)| page.clinic.settings.offers(*k))
        .map(|(k, row)| KindRow {
            name: k.as_str(),
            label: page.kind_name(k),
            on: row.on.is_some(),
            minutes: row.minutes,
            fee: row.fee,
        })
        .collect();
    let (status, error, saved) = match &outcome {
        Some(Err(e)) => (StatusCode::BAD_REQUEST, Some(page.form_error(e)), false),
        Some(Ok(())) => (StatusCode::OK, None, true),
        None => (StatusCode::OK, None, false),
    };
    Ok(render_with(
        status,
        &EditorPage {
            page: &page,
            clinician_id: clinician,
            clinician: user.display_name,
            f,
            days,
            kinds,
            error,
            saved,
            preview,
        },
    ))
}

struct ClinicianLink {
    id: UserId,
    name: String,
    specialty: String,
}

#[derive(Template)]
#[template(path = "schedule_list.html")]
struct ListPage<'a> {
    page: &'a Page,
    clinicians: Vec<ClinicianLink>,
}

/// Clinicians go to their own editor; staff pick a clinician.
pub async fn index(State(state): State<AppState>, w: WebCtx, me: SignedIn) -> AppResult<Response> {
    match me.role() {
        Role::Clinician => Ok(Redirect::to(&format!("/schedule/{}", me.user.id)).into_response()),
        Role::Staff => {
            let filter = UserFilter {
                role: Some(Role::Clinician),
                query: None,
                limit: 500,
                offset: 0,
            };
            let users = state.store.list_users(&filter).await?;
            let mut clinicians = Vec::new();
            for u in users.into_iter().filter(|u| u.disabled_at.is_none()) {
                clinicians.push(ClinicianLink {
                    specialty: state.store.specialty_of(u.id).await?.unwrap_or_default(),
                    id: u.id,
                    name: u.display_name,
                });
            }
            let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/schedule");
            Ok(render(&ListPage {
                page: &page,
                clinicians,
            }))
        }
        _ => Err(Error::Forbidden.into()),
    }
}

fn clinician_id(id: &str) -> Result<UserId> {
    id.parse().map_err(|_| Error::NotFound)
}

pub async fn edit(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = clinician_id(&id)?;
    service::may_manage(&me.principal, id)?;
    let form = match state.store.clinician_profile(id).await? {
        Some(p) if !p.visit_types.is_empty() => ScheduleForm::of(&p),
        other => ScheduleForm::fresh(
            w.ctx
                .browser_zone()
                .unwrap_or(&w.ctx.clinic.settings.time_zone),
            other.map(|p| p.specialty).unwrap_or_default(),
            &w.ctx.clinic.settings,
        ),
    };
    editor(&state, &w, &me, id, form, None).await
}

pub async fn save(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ScheduleForm>,
) -> AppResult<Response> {
    let id = clinician_id(&id)?;
    service::may_manage(&me.principal, id)?;
    let outcome = match form.update() {
        Ok(update) => service::set_schedule(&state, &w.ctx, &me.principal, id, update).await,
        Err(e) => Err(e),
    };
    match outcome {
        Err(e @ (Error::Forbidden | Error::NotFound | Error::Internal(_))) => Err(e.into()),
        outcome => editor(&state, &w, &me, id, form, Some(outcome)).await,
    }
}

/// The preview fragment for the form as it stands (nothing saved).
pub async fn preview_fragment(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ScheduleForm>,
) -> AppResult<Response> {
    let id = clinician_id(&id)?;
    service::may_manage(&me.principal, id)?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/schedule");
    Ok(render(&preview(&state, &page, id, &form).await))
}
