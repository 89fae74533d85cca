//! The prescription pad: the form a clinician prescribes with, in the chart and in the
//! video room beside the call. It works in place (htmx): the drug is found as it is
//! typed (`/patients/{id}/rx/search`), the checks run as the form is filled
//! (`/rx/check`: each finding with its severity and advice, and a reason field for each
//! one that needs it), and signing (`/rx/sign`) answers with the pad again — the
//! prescription signed, or what to mend — so the call goes on. Without scripts the
//! form posts and the answer is the pad on a page of its own.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use telemed_domain::prescribing::checks::{Finding, FindingKind};
use telemed_domain::prescribing::prescription::Override;
use telemed_domain::prescribing::sig::{Frequency, Language, Sig};
use telemed_domain::{Error, UserId};

use super::pages::{render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::prescribing::{self as service, Product, Proposed, SignRequest};
use crate::AppState;

/// What the pad's fields hold, as typed (kept when the pad comes back with an error).
#[derive(Debug, Default, Clone)]
pub struct PadValues {
    pub q: String,
    /// `system|code|name` of the product chosen.
    pub product: String,
    pub free_text: String,
    pub dose: String,
    pub unit: String,
    pub route: String,
    pub frequency: String,
    pub every_hours: String,
    pub duration_days: String,
    pub as_needed: String,
    pub instructions: String,
    pub quantity: String,
    pub quantity_unit: String,
    pub refills: String,
    pub substitution: bool,
    pub note: String,
    pub pharmacy: String,
    /// The renewal request the pad answers, if it was opened to renew.
    pub renewal: String,
    /// Reasons typed to sign over findings, by `kind:subject`.
    pub reasons: HashMap<String, String>,
}

impl PadValues {
    fn blank(pharmacy: Option<String>) -> PadValues {
        PadValues {
            unit: "tablet".into(),
            route: "oral".into(),
            frequency: "once_daily".into(),
            quantity_unit: "tablet".into(),
            refills: "0".into(),
            substitution: true,
            pharmacy: pharmacy.unwrap_or_default(),
            ..PadValues::default()
        }
    }

    /// A pad filled as `p` was, to renew it (the request it answers named).
    pub fn renewing(p: &telemed_domain::views::Prescription, renewal: &str) -> PadValues {
        let (frequency, hours) = p.sig.frequency.code();
        let m = &p.medication;
        let (product, free_text) = if m.is_checked() {
            (format!("{}|{}|{}", m.system, m.code, m.name), String::new())
        } else {
            (String::new(), m.name.clone())
        };
        let amount = telemed_domain::prescribing::format_amount;
        PadValues {
            product,
            free_text,
            dose: amount(p.sig.dose),
            unit: p.sig.unit.clone(),
            route: p.sig.route.clone(),
            frequency: frequency.to_owned(),
            every_hours: hours.map(|h| h.to_string()).unwrap_or_default(),
            duration_days: p
                .sig
                .duration_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            as_needed: p.sig.as_needed.clone().unwrap_or_default(),
            instructions: p.sig.instructions.clone(),
            quantity: amount(p.quantity),
            quantity_unit: p.quantity_unit.clone(),
            refills: p.refills.to_string(),
            substitution: p.substitution_allowed,
            note: p.note.clone(),
            pharmacy: p.pharmacy_id.clone().unwrap_or_default(),
            renewal: renewal.to_owned(),
            ..PadValues::default()
        }
    }

    /// The fields of a submitted pad.
    fn from_fields(fields: Vec<(String, String)>) -> PadValues {
        let mut v = PadValues::default();
        for (key, value) in fields {
            if let Some(finding) = key.strip_prefix("reason:") {
                v.reasons.insert(finding.to_owned(), value);
                continue;
            }
            let slot = match key.as_str() {
                "q" => &mut v.q,
                "product" => &mut v.product,
                "free_text" => &mut v.free_text,
                "dose" => &mut v.dose,
                "unit" => &mut v.unit,
                "route" => &mut v.route,
                "frequency" => &mut v.frequency,
                "every_hours" => &mut v.every_hours,
                "duration_days" => &mut v.duration_days,
                "as_needed" => &mut v.as_needed,
                "instructions" => &mut v.instructions,
                "quantity" => &mut v.quantity,
                "quantity_unit" => &mut v.quantity_unit,
                "refills" => &mut v.refills,
                "note" => &mut v.note,
                "pharmacy" => &mut v.pharmacy,
                "renewal" => &mut v.renewal,
                "substitution" => {
                    v.substitution = value == "1";
                    continue;
                }
                _ => continue,
            };
            *slot = value;
        }
        v
    }

    fn proposed(&self) -> Result<Proposed, Error> {
        let mut parts = self.product.splitn(3, '|');
        let system = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        let product = Product::of(system, code, Some(&self.free_text))?;
        let number = |field: &'static str, s: &str| -> Result<f64, Error> {
            s.trim()
                .replace(',', ".")
                .parse::<f64>()
                .map_err(|_| Error::invalid(field, "write a number"))
        };
        let whole = |field: &'static str, s: &str| -> Result<Option<u32>, Error> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<u32>()
                .map(Some)
                .map_err(|_| Error::invalid(field, "write a whole number"))
        };
        let frequency = Frequency::from_code(
            &self.frequency,
            whole("sig.every_hours", &self.every_hours)?,
        )?;
        let as_needed = Some(self.as_needed.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(Proposed {
            product,
            sig: Sig {
                dose: number("sig.dose", &self.dose)?,
                unit: self.unit.trim().to_owned(),
                route: self.route.trim().to_owned(),
                frequency,
                duration_days: whole("sig.duration_days", &self.duration_days)?,
                as_needed,
                instructions: self.instructions.trim().to_owned(),
            },
        })
    }

    /// The chosen product's name, as the choice carried it.
    pub fn product_name(&self) -> &str {
        self.product.splitn(3, '|').nth(2).unwrap_or_default()
    }

    fn overrides(&self) -> Vec<Override> {
        self.reasons
            .iter()
            .filter(|(_, reason)| !reason.trim().is_empty())
            .filter_map(|(key, reason)| {
                let (kind, subject) = key.split_once(':')?;
                let kind = serde_json::from_value::<FindingKind>(serde_json::json!(kind)).ok()?;
                Some(Override {
                    kind,
                    subject: subject.to_owned(),
                    reason: reason.trim().to_owned(),
                })
            })
            .collect()
    }
}

/// A finding as the pad shows it.
pub struct FindingLine {
    pub severity: &'static str,
    pub subject: String,
    pub detail: String,
    pub advice: String,
    /// The reason field's name, when signing over it needs one.
    pub reason_field: Option<String>,
    pub reason: String,
}

fn finding_lines(found: &[Finding], values: &PadValues) -> Vec<FindingLine> {
    found
        .iter()
        .map(|f| {
            let key = format!("{}:{}", f.kind.as_str(), f.subject);
            FindingLine {
                severity: f.severity.as_str(),
                subject: f.subject.clone(),
                detail: f.detail.clone(),
                advice: f.advice.clone(),
                reason: values.reasons.get(&key).cloned().unwrap_or_default(),
                reason_field: f
                    .severity
                    .needs_override_reason()
                    .then(|| format!("reason:{key}")),
            }
        })
        .collect()
}

/// What the checks said of the pad as it is, or why they could not run yet.
#[derive(Template)]
#[template(path = "rx_findings.html")]
pub struct FindingsPart<'a> {
    pub page: &'a Page,
    /// The sig in words in the page's language, once the pad is complete enough.
    pub sig_text: Option<String>,
    pub not_checked: bool,
    pub findings: Vec<FindingLine>,
    pub incomplete: Option<String>,
}

#[derive(Template)]
#[template(path = "rx_pad.html")]
pub struct Pad<'a> {
    pub page: &'a Page,
    pub patient: UserId,
    pub v: PadValues,
    pub frequencies: Vec<(&'static str, &'static str)>,
    /// The directory: id, name and address.
    pub pharmacies: Vec<(String, String)>,
    pub findings: Option<FindingsPart<'a>>,
    pub error: Option<String>,
    /// The prescription just signed: its id and medication.
    pub signed: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "rx_pad_page.html")]
struct PadPage<'a> {
    page: &'a Page,
    pad: Pad<'a>,
}

fn frequencies(page: &Page) -> Vec<(&'static str, &'static str)> {
    let t = page.t;
    vec![
        ("once_daily", t.rx_freq_once),
        ("twice_daily", t.rx_freq_twice),
        ("three_times_daily", t.rx_freq_three),
        ("four_times_daily", t.rx_freq_four),
        ("at_bedtime", t.rx_freq_bedtime),
        ("every_hours", t.rx_freq_hours),
        ("weekly", t.rx_freq_weekly),
    ]
}

/// A blank pad for prescribing to `patient`, with their `preferred` pharmacy chosen,
/// for the chart and the room; `None` for who does not prescribe.
pub async fn blank<'a>(
    state: &AppState,
    me: &SignedIn,
    page: &'a Page,
    patient: UserId,
    preferred: Option<String>,
) -> AppResult<Option<Pad<'a>>> {
    filled(state, me, page, patient, PadValues::blank(preferred)).await
}

/// The pad filled with `values` (a renewal), for who prescribes.
pub async fn filled<'a>(
    state: &AppState,
    me: &SignedIn,
    page: &'a Page,
    patient: UserId,
    values: PadValues,
) -> AppResult<Option<Pad<'a>>> {
    if me.role() != telemed_domain::Role::Clinician {
        return Ok(None);
    }
    Ok(Some(pad(state, me, page, patient, values).await?))
}

async fn pad<'a>(
    state: &AppState,
    me: &SignedIn,
    page: &'a Page,
    patient: UserId,
    v: PadValues,
) -> AppResult<Pad<'a>> {
    let pharmacies = crate::pharmacies::directory(state, &me.principal)
        .await?
        .into_iter()
        .filter(|p| p.active)
        .map(|p| (p.id, format!("{} · {}", p.name, p.address)))
        .collect();
    Ok(Pad {
        page,
        patient,
        v,
        frequencies: frequencies(page),
        pharmacies,
        findings: None,
        error: None,
        signed: None,
    })
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "rx_choices.html")]
struct Choices<'a> {
    page: &'a Page,
    /// `system|code|name` and the product's name.
    found: Vec<(String, String)>,
    typed: bool,
}

/// `GET /patients/{id}/rx/search?q=`: the catalogue's products for the words typed.
pub async fn search(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(_patient): Path<String>,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/");
    let typed = !q.q.trim().is_empty();
    let found = if typed {
        service::search(&state, &q.q, 12).await?
    } else {
        Vec::new()
    };
    let found = found
        .into_iter()
        .map(|e| {
            (
                format!(
                    "{}|{}|{}",
                    e.medication.system, e.medication.code, e.medication.name
                ),
                e.medication.name,
            )
        })
        .collect();
    Ok(render_with(
        StatusCode::OK,
        &Choices {
            page: &page,
            found,
            typed,
        },
    ))
}

/// `POST /patients/{id}/rx/check`: the checks on the pad as it is.
pub async fn check(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/");
    let values = PadValues::from_fields(fields);
    let part = findings_part(&state, &w, &me, &page, patient, &values).await?;
    Ok(render_with(StatusCode::OK, &part))
}

async fn findings_part<'a>(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    page: &'a Page,
    patient: UserId,
    values: &PadValues,
) -> AppResult<FindingsPart<'a>> {
    let incomplete = |message: String| FindingsPart {
        page,
        sig_text: None,
        not_checked: false,
        findings: Vec::new(),
        incomplete: Some(message),
    };
    let proposed = match values.proposed() {
        Ok(p) => p,
        Err(e @ Error::Invalid { .. }) => return Ok(incomplete(page.form_error(&e))),
        Err(e) => return Err(e.into()),
    };
    match service::check(state, &w.ctx, &me.principal, patient, &proposed).await {
        Ok(report) => Ok(FindingsPart {
            page,
            sig_text: Some(match page.lang.directions() {
                Language::Spanish => report.sig_text_es,
                Language::English => report.sig_text_en,
            }),
            not_checked: !report.medication.is_checked(),
            findings: finding_lines(&report.findings, values),
            incomplete: None,
        }),
        Err(e @ Error::Invalid { .. }) => Ok(incomplete(page.form_error(&e))),
        Err(e) => Err(e.into()),
    }
}

/// `POST /patients/{id}/rx/sign`: signs the pad with the second-factor code; the pad
/// again, blank with the prescription signed, or as typed with what to mend.
pub async fn sign(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let page = Page::new(
        &w.ctx,
        &w.csrf,
        Some(&me.user),
        &format!("/patients/{patient}/chart"),
    );
    let code = fields
        .iter()
        .find(|(k, _)| k == "second_factor")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let values = PadValues::from_fields(fields);
    let request = values.proposed().and_then(|proposed| {
        let quantity = values
            .quantity
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .map_err(|_| Error::invalid("quantity", "write the quantity to dispense"))?;
        let refills = values
            .refills
            .trim()
            .parse::<u32>()
            .map_err(|_| Error::invalid("refills", "write how many refills (0 for none)"))?;
        Ok(SignRequest {
            proposed,
            quantity,
            quantity_unit: values.quantity_unit.trim().to_owned(),
            refills,
            substitution_allowed: values.substitution,
            note: values.note.trim().to_owned(),
            overrides: values.overrides(),
            pharmacy: Some(values.pharmacy.clone()).filter(|p| !p.trim().is_empty()),
            renewal: Some(values.renewal.clone()).filter(|r| !r.trim().is_empty()),
            code,
        })
    });
    let outcome = match request {
        Ok(request) => service::sign(&state, &w.ctx, &me.principal, patient, request).await,
        Err(e) => Err(e),
    };
    let (status, pad) = match outcome {
        Ok(signed) => {
            // The next prescription of the visit goes to the same pharmacy.
            let same = Some(values.pharmacy.clone()).filter(|p| !p.is_empty());
            let mut pad = pad(&state, &me, &page, patient, PadValues::blank(same)).await?;
            pad.signed = Some((signed.id, signed.medication.name));
            (StatusCode::OK, pad)
        }
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            let findings = findings_part(&state, &w, &me, &page, patient, &values).await?;
            let mut pad = pad(&state, &me, &page, patient, values).await?;
            pad.error = Some(page.form_error(&e));
            pad.findings = Some(findings);
            (StatusCode::BAD_REQUEST, pad)
        }
        Err(e) => return Err(e.into()),
    };
    if headers.contains_key("hx-request") {
        // htmx swaps only a successful answer by default: the pad with its error is
        // answered as one, marked for scripts.
        let mut response = render_with(StatusCode::OK, &pad);
        if status != StatusCode::OK {
            response.headers_mut().insert(
                "x-telemed-refused",
                axum::http::HeaderValue::from_static("1"),
            );
        }
        Ok(response)
    } else {
        Ok(render_with(status, &PadPage { page: &page, pad }))
    }
}
