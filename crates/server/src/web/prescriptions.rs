//! A prescription's copy for a signed-in reader (`/prescriptions/{id}/pdf`), and the
//! public verification of a prescription (`/rx/verify`): anyone holding the token
//! of a patient's copy — a pharmacy — sees whether this clinic signed it unaltered,
//! whether it is still valid, and what to dispense; of the patient only the initials
//! and birth year. The key to verify offline is at `/.well-known/telemed-prescription-keys`.
//! A pharmacist signed in for their pharmacy sees the fills so far on the same page
//! and records a dispense there (`/rx/dispense`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Form, Json};
use serde::Deserialize;
use telemed_domain::prescribing::dispensing::{DispenseRequest, Fills};
use telemed_domain::prescribing::format_amount;
use telemed_domain::{Error, Role};

use super::pages::{render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::args;
use crate::prescribing::{self as service, Verdict};
use crate::AppState;
use telemed_domain::prescribing::prescription::PrescriptionStatus;

#[derive(Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    token: String,
}

/// What the page shows of a verified token.
struct Shown {
    verdict: &'static str,
    ended_reason: String,
    medication: String,
    sig: String,
    quantity: String,
    refills: String,
    patient: String,
    prescriber: String,
    /// The fills so far (for anyone holding the token), and for a pharmacist the
    /// dispense form when one is open.
    fills: Option<FillsShown>,
}

struct FillsShown {
    summary: String,
    /// The open fill, what it has left, and the dispenses so far (the form's version).
    open: Option<(u32, String, u32)>,
}

#[derive(Template)]
#[template(path = "rx_verify.html")]
struct VerifyPage<'a> {
    page: &'a Page,
    token: String,
    shown: Option<Shown>,
    refused: Option<String>,
    /// What a dispense just did.
    dispensed: Option<String>,
}

/// `GET /rx/verify?token=…`: the verdict on a prescription token (a form without one).
pub async fn verify(
    State(state): State<AppState>,
    w: WebCtx,
    session: Result<SignedIn, Response>,
    Query(q): Query<VerifyQuery>,
) -> AppResult<Response> {
    verdict_page(&state, &w, session.ok().as_ref(), q.token.trim(), None).await
}

/// Whether the reader dispenses (a pharmacist: the page shows the fills and the form).
fn is_pharmacist(me: Option<&SignedIn>) -> bool {
    me.is_some_and(|m| m.role() == Role::Pharmacist)
}

async fn verdict_page(
    state: &AppState,
    w: &WebCtx,
    me: Option<&SignedIn>,
    token: &str,
    outcome: Option<Result<String, Error>>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, me.map(|m| &m.user), "/rx/verify");
    let render = |status, shown, refused, dispensed| {
        render_with(
            status,
            &VerifyPage {
                page: &page,
                token: token.to_owned(),
                shown,
                refused,
                dispensed,
            },
        )
    };
    let (mut status, mut refused, dispensed) = match outcome {
        None => (StatusCode::OK, None, None),
        Some(Ok(done)) => (StatusCode::OK, None, Some(done)),
        Some(Err(e)) => (crate::error::status_of(&e), Some(e.to_string()), None),
    };
    if token.is_empty() {
        return Ok(render(status, None, refused, dispensed));
    }
    let found = if is_pharmacist(me) {
        let me = me.ok_or(Error::Unauthenticated)?;
        crate::dispensing::look_up(state, &w.ctx, &me.principal, token).await
    } else {
        service::verify(state, &w.ctx, token).await
    };
    let shown = match found {
        Ok(v) => Some(shown(&page, &v, is_pharmacist(me))),
        Err(Error::Invalid { message, .. }) => {
            status = StatusCode::BAD_REQUEST;
            refused = Some(message);
            None
        }
        Err(other) => return Err(other.into()),
    };
    Ok(render(status, shown, refused, dispensed))
}

fn shown(page: &Page, v: &service::Verified, pharmacist: bool) -> Shown {
    let c = &v.claims;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let (verdict, ended_reason) = match &v.verdict {
        Verdict::Valid => (page.t.rx_valid, String::new()),
        Verdict::Expired => (page.t.rx_expired, String::new()),
        Verdict::Ended(PrescriptionStatus::Completed, _) => (page.t.rx_completed, String::new()),
        Verdict::Ended(_, reason) => (page.t.rx_ended, reason.clone().unwrap_or_default()),
    };
    Shown {
        verdict,
        ended_reason,
        medication: text(&c["medication"]["name"]),
        sig: text(&c["sig"]),
        quantity: format!("{} {}", c["quantity"], text(&c["quantity_unit"])),
        refills: c["refills"].to_string(),
        patient: format!(
            "{} · {}",
            text(&c["patient"]["initials"]),
            c["patient"]["birth_year"]
                .as_i64()
                .map(|y| y.to_string())
                .unwrap_or_default()
        ),
        prescriber: text(&c["prescriber"]["name"]),
        fills: Some(fills_shown(
            page,
            &v.fills,
            pharmacist && v.verdict == Verdict::Valid,
        )),
    }
}

fn fills_shown(page: &Page, fills: &Fills, dispensing: bool) -> FillsShown {
    let summary = page.t.rx_fills(args::RxFills {
        done: fills.completed.into(),
        allowed: fills.allowed().into(),
    });
    FillsShown {
        summary,
        open: fills
            .next_fill()
            .filter(|_| dispensing)
            .map(|open| (open, format_amount(fills.open_fill_left()), fills.dispenses)),
    }
}

#[derive(Deserialize)]
pub struct DispenseForm {
    token: String,
    fill: u32,
    quantity: String,
    previous_dispenses: u32,
}

/// `POST /rx/dispense`: a pharmacist records a dispense; the page again, with what it
/// did or why it was refused.
pub async fn dispense(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<DispenseForm>,
) -> AppResult<Response> {
    let outcome = match form.quantity.trim().replace(',', ".").parse::<f64>() {
        Err(_) => Err(Error::invalid("quantity", "the quantity must be a number")),
        Ok(quantity) => {
            let ask = crate::dispensing::DispenseAsk {
                token: form.token.clone(),
                request: DispenseRequest {
                    fill: form.fill,
                    quantity,
                    previous_dispenses: form.previous_dispenses,
                },
            };
            let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/rx/verify");
            crate::dispensing::dispense(&state, &w.ctx, &me.principal, &ask)
                .await
                .map(|done| {
                    page.t.rx_dispensed(args::RxDispensed {
                        quantity: format_amount(done.dispensed.quantity).into(),
                        fill: done.dispensed.fill.into(),
                    })
                })
        }
    };
    let outcome = match outcome {
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => Err(e),
        Err(other) => return Err(other.into()),
        done => done,
    };
    verdict_page(&state, &w, Some(&me), form.token.trim(), Some(outcome)).await
}

/// `GET /.well-known/telemed-prescription-keys`: the public key that signs
/// prescription tokens, as a JWKS, to verify them offline.
pub async fn keys(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.prescription_key.jwks())
}

/// `GET /prescriptions/{id}/pdf`: the patient's copy, in the page's language, for whoever
/// may read the prescription.
pub async fn pdf(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let lang = w.ctx.lang.directions();
    let bytes = crate::prescribing::pdf(&state, &w.ctx, &me.principal, &id, lang).await?;
    Ok(crate::respond::pdf_download(bytes, "prescription.pdf"))
}
