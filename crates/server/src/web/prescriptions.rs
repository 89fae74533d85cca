//! A prescription's copy for a signed-in reader (`/prescriptions/{id}/pdf`), and the
//! public verification of a prescription (`/rx/verify`): anyone holding the token
//! of a patient's copy — a pharmacy — sees whether this clinic signed it unaltered,
//! whether it is still valid, and what to dispense; of the patient only the initials
//! and birth year. The key to verify offline is at `/.well-known/telemed-prescription-keys`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use telemed_domain::Error;

use super::pages::{render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::prescribing::{self as service, Verdict};
use crate::AppState;

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
}

#[derive(Template)]
#[template(path = "rx_verify.html")]
struct VerifyPage<'a> {
    page: &'a Page,
    token: String,
    shown: Option<Shown>,
    refused: Option<String>,
}

/// `GET /rx/verify?token=…`: the verdict on a prescription token (a form without one).
pub async fn verify(
    State(state): State<AppState>,
    w: WebCtx,
    Query(q): Query<VerifyQuery>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, None, "/rx/verify");
    let token = q.token.trim().to_owned();
    if token.is_empty() {
        return Ok(render_with(
            StatusCode::OK,
            &VerifyPage {
                page: &page,
                token,
                shown: None,
                refused: None,
            },
        ));
    }
    let (status, shown, refused) = match service::verify(&state, &w.ctx, &token).await {
        Ok(v) => {
            let c = &v.claims;
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            let (verdict, ended_reason) = match &v.verdict {
                Verdict::Valid => (page.t.rx_valid, String::new()),
                Verdict::Expired => (page.t.rx_expired, String::new()),
                Verdict::Ended(_, reason) => (page.t.rx_ended, reason.clone().unwrap_or_default()),
            };
            let shown = Shown {
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
            };
            (StatusCode::OK, Some(shown), None)
        }
        Err(Error::Invalid { message, .. }) => (StatusCode::BAD_REQUEST, None, Some(message)),
        Err(other) => return Err(other.into()),
    };
    Ok(render_with(
        status,
        &VerifyPage {
            page: &page,
            token,
            shown,
            refused,
        },
    ))
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
    use telemed_domain::prescribing::sig::Language;
    let lang = match w.ctx.lang {
        crate::i18n::Lang::Es => Language::Spanish,
        crate::i18n::Lang::En => Language::English,
    };
    let bytes = crate::prescribing::pdf(&state, &w.ctx, &me.principal, &id, lang).await?;
    Ok(crate::respond::pdf_download(bytes, "prescription.pdf"))
}
