//! The clinic page for admins (`/admin/clinic`): the clinic's name and how patients
//! reach it, its zone and languages, the kinds of visit it offers with the durations
//! and fees new schedules start from, its scheduling policy, its logo, and the
//! telehealth consent (a new version published, earlier ones listed). The logo itself
//! is served to everyone at `/clinic/logo`.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use telemed_domain::clinic::{format_fee, parse_fee, ClinicSettings, VisitOffer, LOGO_MAX_BYTES};
use telemed_domain::schedule::VisitKind;
use telemed_domain::{Error, Permission, Result};

use super::pages::{render_form, DoneQuery, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::clinic as service;
use crate::error::AppResult;
use crate::i18n::dates::{self, Day};
use crate::i18n::{args, Lang};
use crate::AppState;

struct LanguageRow {
    code: &'static str,
    name: &'static str,
    offered: bool,
    default: bool,
    /// The consent text in this language (the current one, to start the next from).
    consent: String,
}

struct VisitRow {
    kind: &'static str,
    label: &'static str,
    offered: bool,
    minutes: String,
    fee: String,
}

struct PublishedConsent {
    version: String,
    published: String,
    languages: String,
}

#[derive(Template)]
#[template(path = "admin_clinic.html")]
struct ClinicPage<'a> {
    page: &'a Page,
    notice: Option<&'static str>,
    error: Option<String>,
    /// What the form shows: the saved settings, or what was sent and refused.
    f: ClinicForm,
    revision: i64,
    languages: Vec<LanguageRow>,
    visits: Vec<VisitRow>,
    logo: Option<String>,
    /// What a logo may be, with the largest size allowed.
    logo_hint: String,
    consent_version: String,
    consents: Vec<PublishedConsent>,
}

/// The settings as the form writes them (numbers and lists as text).
#[derive(Default)]
struct ClinicForm {
    name: String,
    phone: String,
    email: String,
    address: String,
    hours: String,
    time_zone: String,
    currency: String,
    reminder_hours: String,
    patient_cancel_cutoff_hours: String,
    check_in_opens_minutes: String,
    noshow_grace_minutes: String,
    /// Specialties with an on-demand queue, separated by commas.
    on_demand: String,
}

impl ClinicForm {
    /// What a posted form held.
    fn sent(form: &[(String, String)]) -> Self {
        let text = |name: &str| field(form, name).to_owned();
        ClinicForm {
            name: text("name"),
            phone: text("phone"),
            email: text("email"),
            address: text("address"),
            hours: text("hours"),
            time_zone: text("time_zone"),
            currency: text("currency"),
            reminder_hours: text("reminder_hours"),
            patient_cancel_cutoff_hours: text("patient_cancel_cutoff_hours"),
            check_in_opens_minutes: text("check_in_opens_minutes"),
            noshow_grace_minutes: text("noshow_grace_minutes"),
            on_demand: text("on_demand"),
        }
    }

    fn of(s: &ClinicSettings) -> Self {
        ClinicForm {
            name: s.name.clone(),
            phone: s.phone.clone(),
            email: s.email.clone(),
            address: s.address.clone(),
            hours: s.hours.clone(),
            time_zone: s.time_zone.clone(),
            currency: s.currency.clone(),
            reminder_hours: s
                .reminder_hours
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            patient_cancel_cutoff_hours: s.patient_cancel_cutoff_hours.to_string(),
            check_in_opens_minutes: s.check_in_opens_minutes.to_string(),
            noshow_grace_minutes: s.noshow_grace_minutes.to_string(),
            on_demand: s.on_demand.join(", "),
        }
    }
}

/// One field of a posted form (the last of its name), "" when absent.
fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn whole(field_name: &'static str, text: &str, what: &str) -> Result<i64> {
    text.trim()
        .parse()
        .map_err(|_| Error::invalid(field_name, format!("write {what} as a whole number")))
}

/// The settings a posted form describes (checked by the service when saved).
fn settings_of(form: &[(String, String)]) -> Result<ClinicSettings> {
    let languages = form
        .iter()
        .filter(|(k, _)| k == "languages")
        .map(|(_, v)| v.clone())
        .collect();
    let mut visits = Vec::new();
    for kind in VisitKind::ALL {
        let name = kind.as_str();
        visits.push(VisitOffer {
            kind,
            offered: field(form, &format!("{name}_offered")) == "on",
            duration_minutes: whole(
                "duration_minutes",
                field(form, &format!("{name}_minutes")),
                "a visit's length in minutes",
            )?,
            fee_cents: parse_fee(field(form, &format!("{name}_fee")))?,
        });
    }
    let f = ClinicForm::sent(form);
    let mut reminder_hours = Vec::new();
    for part in f.reminder_hours.split([',', ' ']) {
        if !part.trim().is_empty() {
            reminder_hours.push(whole("reminder_hours", part, "each reminder's hours")?);
        }
    }
    Ok(ClinicSettings {
        languages,
        default_language: field(form, "default_language").into(),
        visits,
        reminder_hours,
        patient_cancel_cutoff_hours: whole(
            "patient_cancel_cutoff_hours",
            &f.patient_cancel_cutoff_hours,
            "the cut-off in hours",
        )?,
        check_in_opens_minutes: whole(
            "check_in_opens_minutes",
            &f.check_in_opens_minutes,
            "the minutes before a visit",
        )?,
        noshow_grace_minutes: whole(
            "noshow_grace_minutes",
            &f.noshow_grace_minutes,
            "the minutes after a visit's start",
        )?,
        on_demand: f
            .on_demand
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        name: f.name,
        phone: f.phone,
        email: f.email,
        address: f.address,
        hours: f.hours,
        time_zone: f.time_zone,
        currency: f.currency,
    })
}

pub async fn page(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    me.principal.require(Permission::ClinicWrite)?;
    let notice = match q.done.as_str() {
        "" => None,
        "consent" => Some(w.ctx.lang.texts().clinic_consent_published),
        _ => Some(w.ctx.lang.texts().saved),
    };
    show(&state, &w, &me, notice, None).await
}

/// What was sent and refused, to show again with the refusal.
struct Refused<'a> {
    error: &'a Error,
    form: Option<&'a [(String, String)]>,
}

async fn show(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    notice: Option<&'static str>,
    refused: Option<Refused<'_>>,
) -> AppResult<Response> {
    // The settings as saved now (not this node's copy): the form carries their revision.
    let clinic = service::reload(state).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/admin/clinic");
    let s = &clinic.settings;
    let sent = refused.as_ref().and_then(|r| r.form);
    let f = match sent {
        Some(form) => ClinicForm::sent(form),
        None => ClinicForm::of(s),
    };
    let consents = service::telehealth_consent_in(state, &Lang::ALL).await?;
    // The same version in every language.
    let consent_version = consents
        .first()
        .map(|c| c.version.clone())
        .unwrap_or_default();
    let languages = Lang::ALL
        .into_iter()
        .zip(consents)
        .map(|(lang, consent)| LanguageRow {
            code: lang.code(),
            name: lang.name(),
            offered: clinic.offers_language(lang),
            default: clinic.default_language() == lang,
            consent: consent.paragraphs.join("\n\n"),
        })
        .collect();
    let visits = VisitKind::ALL
        .into_iter()
        .map(|kind| {
            let offer = s.visits.iter().find(|v| v.kind == kind);
            VisitRow {
                kind: kind.as_str(),
                label: page.kind_name(kind),
                offered: offer.is_some_and(|v| v.offered),
                minutes: offer.map_or_else(|| "30".into(), |v| v.duration_minutes.to_string()),
                fee: offer.map_or_else(|| "0.00".into(), |v| format_fee(v.fee_cents)),
            }
        })
        .collect();
    let tz = w.ctx.time_zone;
    let consents = service::telehealth_consent_history(state, &me.principal)
        .await?
        .into_iter()
        .map(|v| PublishedConsent {
            version: v.version,
            published: dates::moment(page.t, tz, v.published_at, Day::Short),
            languages: v
                .texts
                .iter()
                .map(|(code, _)| {
                    Lang::from_code(code).map_or_else(|| code.clone(), |l| l.name().to_owned())
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let error = refused.as_ref().map(|r| page.form_error(r.error));
    let template = ClinicPage {
        page: &page,
        notice,
        error,
        f,
        revision: clinic.revision,
        languages,
        visits,
        logo: clinic.logo_url(),
        logo_hint: page.t.clinic_logo_hint(args::ClinicLogoHint {
            kib: (LOGO_MAX_BYTES / 1024).into(),
        }),
        consent_version,
        consents,
    };
    Ok(render_form(refused.as_ref().map(|r| r.error), &template))
}

/// Saves the settings form.
pub async fn save(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    me.principal.require(Permission::ClinicWrite)?;
    let outcome = async {
        let revision = whole("revision", field(&form, "revision"), "the revision")?;
        let settings = settings_of(&form)?;
        service::update(&state, &w.ctx, &me.principal, revision, settings).await
    }
    .await;
    after(&state, &w, &me, outcome, "saved", Some(&form)).await
}

/// Where a form of the page ends: back on the page saying what was `done`, or the page
/// again with the refusal (and what was typed, when given).
async fn after<T>(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    outcome: Result<T>,
    done: &str,
    form: Option<&[(String, String)]>,
) -> AppResult<Response> {
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/admin/clinic?done={done}#{done}")).into_response()),
        Err(
            e @ (Error::Invalid { .. }
            | Error::Conflict(_)
            | Error::TooLarge
            | Error::UnsupportedMediaType(_)),
        ) => {
            let refused = Refused { error: &e, form };
            show(state, w, me, None, Some(refused)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces the logo (multipart, field `logo`).
pub async fn upload_logo(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    mut form: Multipart,
) -> AppResult<Response> {
    me.principal.require(Permission::ClinicWrite)?;
    let outcome = async {
        let mut logo = None;
        while let Some(part) = form
            .next_field()
            .await
            .map_err(|e| Error::invalid("logo", e.body_text()))?
        {
            let name = part.name().unwrap_or_default().to_owned();
            let bytes = crate::files::read_field(part, LOGO_MAX_BYTES).await?;
            if name == "logo" {
                logo = Some(bytes);
            }
        }
        let logo = logo
            .filter(|b| !b.is_empty())
            .ok_or_else(|| Error::invalid("logo", "choose an image file for the logo"))?;
        service::set_logo(&state, &w.ctx, &me.principal, Some(&logo)).await
    }
    .await;
    after(&state, &w, &me, outcome, "logo", None).await
}

pub async fn remove_logo(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    let outcome = service::set_logo(&state, &w.ctx, &me.principal, None).await;
    after(&state, &w, &me, outcome, "logo", None).await
}

/// Publishes a new version of the telehealth consent (`consent_<lang>` per language).
pub async fn publish_consent(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let texts: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("consent_")?.to_owned(), v.clone())))
        .collect();
    let outcome = service::publish_telehealth_consent(&state, &w.ctx, &me.principal, &texts).await;
    after(&state, &w, &me, outcome, "consent", None).await
}

/// The clinic's logo, for every page (no sign-in: it shows on the sign-in page too).
/// Its address carries the digest, so browsers may keep it.
pub async fn logo(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let logo = service::logo(&state).await?.ok_or(Error::NotFound)?;
    let etag = format!("\"{}\"", logo.digest);
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        logo.bytes.into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&logo.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(response)
}
