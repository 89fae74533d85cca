//! The patient record in the browser: the chart (summary, every section, documents,
//! notes), adding chart entries, uploading documents (drag-and-drop with progress in
//! `telemed.js`), the document and DICOM viewer, the patient's own record with its
//! downloads, and break-the-glass. Everything goes through `crate::record`,
//! `crate::documents` and `crate::export`, which decide and audit.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use telemed_domain::access::Op;
use telemed_domain::documents::{Category, DocumentStatus};
use telemed_domain::prescribing::prescription::PrescriptionStatus;
use telemed_domain::prescribing::sig::Language;
use telemed_domain::record::{NewEntry, Section, NOTE_TEMPLATES};
use telemed_domain::{DocumentId, Error, Role, UserId};
use telemed_store::documents::Document;
use telemed_store::record::Entry;

use super::booking::local;
use super::pages::{render, render_form, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::documents::{self, Rendition};
use crate::error::AppResult;
use crate::export::entry_line;
use crate::files::Disposition;
use crate::i18n::notes::note_template;
use crate::i18n::Texts;
use crate::record::{self, decide, Chart, ChartView};
use crate::AppState;

/// A confirmation shown at the top of a page, in the page's language.
pub type Notice = fn(&'static Texts) -> &'static str;

pub fn section_name(t: &Texts, section: Section) -> &'static str {
    match section {
        Section::Demographics => t.sec_demographics,
        Section::Problems => t.sec_problems,
        Section::Allergies => t.sec_allergies,
        Section::Medications => t.sec_medications,
        Section::Immunizations => t.sec_immunizations,
        Section::Vitals => t.sec_vitals,
        Section::Labs => t.sec_labs,
        Section::History => t.sec_history,
        Section::Notes => t.sec_notes,
        Section::Documents => t.sec_documents,
        Section::Prescriptions => t.sec_prescriptions,
    }
}

pub fn category_name(t: &Texts, c: Category) -> &'static str {
    match c {
        Category::Photo => t.cat_photo,
        Category::Report => t.cat_report,
        Category::LabReport => t.cat_lab_report,
        Category::Scan => t.cat_scan,
        Category::Imaging => t.cat_imaging,
        Category::Letter => t.cat_letter,
        Category::Other => t.cat_other,
    }
}

pub struct Line {
    pub text: String,
    pub inactive: bool,
    pub flagged: bool,
}

fn lines(t: &Texts, entries: &[Entry]) -> Vec<Line> {
    entries
        .iter()
        .map(|e| Line {
            text: entry_line(t, e),
            inactive: !matches!(e.status.as_str(), "active" | "final"),
            flagged: e.out_of_range(),
        })
        .collect()
}

/// Entries shown per section on the chart page; the section's API (and the patient's
/// data file) has them all.
const CHART_SECTION_LINES: i64 = 100;

/// How many of the latest lab results the lab report form offers.
const LAB_REPORT_CHOICES: usize = 50;

pub struct SectionBlock {
    pub key: &'static str,
    /// Only the newest `CHART_SECTION_LINES` are shown.
    pub cut: bool,
    pub title: &'static str,
    pub lines: Vec<Line>,
}

pub struct DocCard {
    pub id: DocumentId,
    pub title: String,
    pub kind: &'static str,
    pub when: String,
    pub by: String,
    pub thumbnail: bool,
    pub in_error: bool,
}

fn doc_card(t: &Texts, tz: chrono_tz::Tz, d: &Document) -> DocCard {
    DocCard {
        id: d.id,
        title: d.title.clone(),
        kind: category_name(t, d.category),
        when: local(tz, d.created_at, "%Y-%m-%d %H:%M"),
        by: d.uploaded_by_name.clone(),
        thumbnail: d.thumbnail.is_some(),
        in_error: d.status == DocumentStatus::EnteredInError,
    }
}

pub struct NoteLine {
    pub id: String,
    pub when: String,
    pub template: String,
    pub signed: bool,
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

/// A prescription as the chart lists it.
struct RxLine {
    id: String,
    medication: String,
    sig: String,
    when: String,
    status: &'static str,
    active: bool,
    /// Whether the reader (the patient) may ask for it to be renewed now.
    renewable: bool,
    /// The latest renewal request: where it stands, and the prescriber's answer.
    renewal: Option<(&'static str, String)>,
    /// Sending it to the pharmacy's system: where it stands (a failure with the
    /// pharmacy's answer).
    sending: Option<String>,
}

/// A renewal request waiting for the reader (the prescriber).
struct RenewalLine {
    id: String,
    medication: String,
    note: String,
    when: String,
}

#[derive(Template)]
#[template(path = "chart.html")]
struct ChartPage<'a> {
    page: &'a Page,
    patient: UserId,
    name: String,
    demographics: Vec<(&'static str, String)>,
    /// The stored values, for the edit form.
    contact: telemed_store::record::Demographics,
    family_name: String,
    given_names: String,
    can_edit_demographics: bool,
    problems: Vec<Line>,
    allergies: Vec<Line>,
    medications: Vec<Line>,
    vitals: Vec<Line>,
    visits: Vec<String>,
    sections: Vec<SectionBlock>,
    documents: Vec<DocCard>,
    notes: Vec<NoteLine>,
    prescriptions: Vec<RxLine>,
    /// Renewal requests waiting for the reader.
    renewal_queue: Vec<RenewalLine>,
    /// The pharmacy directory to choose the patient's preferred one from (for who
    /// keeps the patient's details): id, name and address, and whether chosen.
    pharmacy_choices: Vec<(String, String, bool)>,
    /// The prescription pad, for a clinician who may prescribe.
    rx_pad: Option<super::rx_pad::Pad<'a>>,
    can_chart: bool,
    can_upload: bool,
    can_export: bool,
    section_choices: Vec<Choice>,
    /// The patient's latest lab results, for the lab report form.
    lab_results: Vec<Choice>,
    categories: Vec<Choice>,
    upcoming: Vec<Choice>,
    templates: Vec<Choice>,
    note_visits: Vec<Choice>,
    notice: Option<&'static str>,
    error: Option<String>,
    emergency_until: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ChartQuery {
    #[serde(default)]
    added: bool,
    #[serde(default)]
    uploaded: bool,
    #[serde(default)]
    saved: bool,
    /// A renewal request to answer with the pad filled as the prescription was.
    #[serde(default)]
    renew: String,
}

/// My record: a patient's own chart.
pub async fn my_record(me: SignedIn) -> AppResult<Response> {
    if me.role() != Role::Patient {
        return Err(Error::NotFound.into());
    }
    Ok(Redirect::to(&format!("/patients/{}/chart", me.user.id)).into_response())
}

/// The chart of a patient, for whoever may read its clinical sections. A clinician
/// without a relationship is offered break-the-glass; anyone else gets a 404.
pub async fn chart(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ChartQuery>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    // Picked by the page's language (the account's, which may differ from the browser's).
    let notice: Option<Notice> = if q.added {
        Some(|t| t.chart_added)
    } else if q.uploaded {
        Some(|t| t.docs_done)
    } else if q.saved {
        Some(|t| t.saved)
    } else {
        None
    };
    chart_page(&state, &w, &me, patient, notice, None, &q.renew).await
}

/// The chart again with `e`, the refusal of something asked from it.
pub(super) async fn chart_with_error(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    patient: UserId,
    e: &Error,
) -> AppResult<Response> {
    chart_page(state, w, me, patient, None, Some(e), "").await
}

async fn chart_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    patient: UserId,
    notice: Option<Notice>,
    error: Option<&Error>,
    renew: &str,
) -> AppResult<Response> {
    let chart =
        match record::chart(state, &w.ctx, &me.principal, patient, CHART_SECTION_LINES).await? {
            ChartView::Open(chart) => chart,
            ChartView::OfferBreakGlass => {
                let to = format!("/patients/{patient}/break-glass");
                return Ok(Redirect::to(&to).into_response());
            }
        };
    let Chart {
        person: user,
        current,
        recent_visits,
        demographics: d,
        sections: section_entries,
        documents,
        notes,
        prescriptions,
        preferred_pharmacy,
        renewals,
        upcoming,
        own_visits,
        emergency_until,
        may_chart: can_chart,
        may_upload: can_upload,
        may_edit_demographics: can_edit_demographics,
        may_export: can_export,
        ..
    } = *chart;
    let tz = w.ctx.time_zone;
    let page = Page::new(
        &w.ctx,
        &w.csrf,
        Some(&me.user),
        &format!("/patients/{patient}/chart"),
    );
    let t = page.t;
    let contact = d.clone();
    let shown = |v: Option<String>| v.unwrap_or_else(|| t.not_given.to_owned());
    let demographics = vec![
        (t.demo_birth_date, shown(d.birth_date)),
        (t.demo_sex, shown(d.sex)),
        (t.demo_phone, shown(d.phone)),
        (t.demo_address, shown(d.address)),
        (
            t.demo_emergency,
            shown(match (d.emergency_contact, d.emergency_phone) {
                (Some(n), Some(p)) => Some(format!("{n}, {p}")),
                (n, p) => n.or(p),
            }),
        ),
    ];
    let mut sections = Vec::with_capacity(section_entries.len());
    // The lab report form offers the latest lab results the Labs section read.
    let mut lab_results: Vec<Choice> = Vec::new();
    for (section, shown) in section_entries {
        if section == Section::Labs && can_chart {
            lab_results = shown
                .iter()
                .filter(|e| e.results.is_none() && e.status.as_str() != "entered-in-error")
                .take(LAB_REPORT_CHOICES)
                .map(|e| Choice {
                    value: e.id.to_string(),
                    label: entry_line(t, e),
                })
                .collect();
        }
        let cut = shown.len() as i64 > CHART_SECTION_LINES;
        sections.push(SectionBlock {
            key: section.as_str(),
            cut,
            title: section_name(t, section),
            lines: lines(t, &shown[..shown.len().min(CHART_SECTION_LINES as usize)]),
        });
    }
    let documents = documents.iter().map(|d| doc_card(t, tz, d)).collect();
    let notes = notes
        .into_iter()
        .map(|n| NoteLine {
            id: n.id.to_string(),
            when: local(tz, n.signed_at.unwrap_or(n.created_at), "%Y-%m-%d %H:%M"),
            template: n.template,
            signed: n.status == telemed_store::record::NoteStatus::Signed,
        })
        .collect();
    let spanish = w.ctx.lang.directions() == Language::Spanish;
    use telemed_domain::prescribing::renewal::RenewalStatus;
    let is_patient = me.role() == Role::Patient;
    let renewal_label = |s: RenewalStatus| match s {
        RenewalStatus::Pending => t.renewal_pending,
        RenewalStatus::Approved => t.renewal_approved,
        RenewalStatus::Denied => t.renewal_denied,
        RenewalStatus::VisitNeeded => t.renewal_visit,
    };
    // The pad opened to renew: as the prescription of the request was.
    let renewing = renewals
        .iter()
        .filter(|r| r.id == renew && r.status == RenewalStatus::Pending)
        .find_map(|r| prescriptions.iter().find(|p| p.id == r.prescription_id))
        .map(|p| super::rx_pad::PadValues::renewing(p, renew));
    let renewal_queue = renewals
        .iter()
        .filter(|r| r.status == RenewalStatus::Pending && r.prescriber == me.user.id)
        .map(|r| RenewalLine {
            id: r.id.clone(),
            medication: r.medication_name.clone(),
            note: r.note.clone(),
            when: local(tz, r.requested_at, "%Y-%m-%d %H:%M"),
        })
        .collect();
    let prescriptions = prescriptions
        .into_iter()
        .map(|p| {
            let latest = renewals.iter().find(|r| r.prescription_id == p.id);
            let pending = latest.is_some_and(|r| r.status == RenewalStatus::Pending);
            let sending = p.sending.as_deref().map(|state| match state {
                "sent" => t.rx_sending_sent.to_owned(),
                "failed" => format!(
                    "{} {}",
                    t.rx_sending_failed,
                    p.sending_detail.clone().unwrap_or_default()
                ),
                _ => t.rx_sending_queued.to_owned(),
            });
            RxLine {
                sending,
                active: p.status == PrescriptionStatus::Active,
                renewable: is_patient
                    && !pending
                    && matches!(
                        p.status,
                        PrescriptionStatus::Active | PrescriptionStatus::Completed
                    ),
                renewal: latest.map(|r| {
                    (
                        renewal_label(r.status),
                        r.answer.clone().unwrap_or_default(),
                    )
                }),
                status: match p.status {
                    PrescriptionStatus::Active => t.rx_active,
                    _ => t.rx_not_active,
                },
                when: local(tz, p.signed_at, "%Y-%m-%d"),
                sig: if spanish {
                    p.sig_text_es
                } else {
                    p.sig_text_en
                },
                medication: p.medication.name,
                id: p.id,
            }
        })
        .collect();
    let visit_choice = |a: telemed_store::scheduling::Appointment| Choice {
        value: a.id.to_string(),
        label: format!("{} · {}", local(tz, a.start_at, "%Y-%m-%d %H:%M"), a.reason),
    };
    let upcoming: Vec<Choice> = upcoming.into_iter().map(visit_choice).collect();
    let note_visits: Vec<Choice> = own_visits.into_iter().map(visit_choice).collect();
    let emergency_until = emergency_until.map(|until| local(tz, until, "%H:%M"));
    let preferred_id = preferred_pharmacy.as_ref().map(|p| p.id.clone());
    let pharmacy_choices = if can_edit_demographics {
        crate::pharmacies::directory(state, &me.principal)
            .await?
            .into_iter()
            .filter(|p| p.active)
            .map(|p| {
                let chosen = preferred_id.as_deref() == Some(p.id.as_str());
                (p.id, format!("{} · {}", p.name, p.address), chosen)
            })
            .collect()
    } else {
        Vec::new()
    };
    let rx_pad = match (can_chart, renewing) {
        (false, _) => None,
        (true, Some(values)) => super::rx_pad::filled(state, me, &page, patient, values).await?,
        (true, None) => super::rx_pad::blank(state, me, &page, patient, preferred_id).await?,
    };
    Ok(render_form(
        error,
        &ChartPage {
            patient,
            name: user.display_name,
            demographics,
            family_name: user.name.family.clone(),
            given_names: user.name.given_joined(),
            contact,
            can_edit_demographics,
            problems: lines(t, &current.problems),
            allergies: lines(t, &current.allergies),
            medications: lines(t, &current.medications),
            vitals: lines(t, &current.vitals),
            visits: recent_visits
                .iter()
                .map(|v| {
                    format!(
                        "{} · {} · {}",
                        local(tz, v.start_at, "%Y-%m-%d"),
                        v.clinician_name,
                        v.reason
                    )
                })
                .collect(),
            sections,
            documents,
            notes,
            prescriptions,
            renewal_queue,
            pharmacy_choices,
            rx_pad,
            can_chart,
            can_upload,
            can_export,
            lab_results,
            section_choices: Section::CHART
                .iter()
                .map(|s| Choice {
                    value: s.as_str().into(),
                    label: section_name(t, *s).into(),
                })
                .collect(),
            categories: Category::ALL
                .iter()
                .map(|c| Choice {
                    value: c.as_str().into(),
                    label: category_name(t, *c).into(),
                })
                .collect(),
            upcoming,
            templates: NOTE_TEMPLATES
                .iter()
                .filter_map(|key| note_template(t, key))
                .map(|n| Choice {
                    value: n.key.into(),
                    label: n.name.into(),
                })
                .collect(),
            note_visits,
            notice: notice.map(|n| n(t)),
            error: error.map(|e| page.form_error(e)),
            emergency_until,
            page: &page,
        },
    ))
}

/// A chart entry as typed in the form: numbers arrive as text.
#[derive(Deserialize, Default)]
pub struct EntryForm {
    section: String,
    #[serde(default)]
    code_system: String,
    #[serde(default)]
    code: String,
    /// A code chosen from the code finder: `system|code|display`.
    #[serde(default)]
    concept: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    effective: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    value2: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    range_low: String,
    #[serde(default)]
    range_high: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    reaction: String,
    #[serde(default)]
    dosage: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    note: String,
}

fn given(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A number typed in a field; `what` names the field in the words of the form.
fn number(field: &'static str, what: &str, s: &str) -> Result<Option<f64>, Error> {
    match given(s) {
        None => Ok(None),
        Some(v) => v
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| Error::invalid(field, format!("{what} \"{v}\" is not a number"))),
    }
}

impl EntryForm {
    fn into_entry(self) -> Result<(Section, NewEntry), Error> {
        let section = Section::parse(&self.section)
            .filter(|s| s.is_chart())
            .ok_or_else(|| Error::invalid("section", "choose a chart section"))?;
        let (mut code_system, mut code) = (given(&self.code_system), given(&self.code));
        let mut text = self.text.trim().to_owned();
        if let Some((system, chosen, display)) = given(&self.concept)
            .as_deref()
            .and_then(super::terminology::chosen)
        {
            if code.as_ref().is_some_and(|typed| *typed != chosen) {
                return Err(Error::invalid(
                    "concept",
                    "the code chosen from the list and the code typed differ",
                ));
            }
            // A vital sign takes its name from its code; other entries say what the
            // code says unless the clinician wrote their own words.
            if text.is_empty() && section != Section::Vitals {
                text = display;
            }
            (code_system, code) = (Some(system), Some(chosen));
        }
        Ok((
            section,
            NewEntry {
                code_system,
                code,
                text,
                status: None,
                effective: given(&self.effective),
                ended: None,
                value: number("value", "the value", &self.value)?,
                value2: number("value2", "the second value", &self.value2)?,
                value_text: None,
                unit: given(&self.unit),
                range_low: number(
                    "range_low",
                    "the reference range's low end",
                    &self.range_low,
                )?,
                range_high: number(
                    "range_high",
                    "the reference range's high end",
                    &self.range_high,
                )?,
                severity: given(&self.severity),
                reaction: given(&self.reaction),
                dosage: given(&self.dosage),
                relation: given(&self.relation),
                note: given(&self.note),
                // Lab reports arrive from laboratories through FHIR, not this form.
                results: None,
                ..NewEntry::default()
            },
        ))
    }
}

pub async fn add_entry(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<EntryForm>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    save_entry(&state, &w, &me, patient, form.into_entry()).await
}

/// The chart's lab report form: the report's name (and LOINC code), date and
/// conclusion, and the lab results it groups (a repeated `result` field).
pub async fn add_lab_report(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let code = given(field("code"));
    let entry = NewEntry {
        code_system: code
            .as_ref()
            .map(|_| telemed_domain::record::LOINC.to_owned()),
        code,
        text: field("text").trim().to_owned(),
        effective: given(field("effective")),
        note: given(field("note")),
        results: Some(
            fields
                .iter()
                .filter(|(k, _)| k == "result")
                .map(|(_, v)| v.clone())
                .collect(),
        ),
        ..NewEntry::default()
    };
    save_entry(&state, &w, &me, patient, Ok((Section::Labs, entry))).await
}

/// Adds a chart entry from one of the chart's forms and goes back to its section; a
/// refused entry shows the chart again with the reason.
async fn save_entry(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    patient: UserId,
    entry: Result<(Section, NewEntry), Error>,
) -> AppResult<Response> {
    let added = match entry {
        Ok((section, entry)) => {
            crate::record::add_entry(state, &w.ctx, &me.principal, patient, section, entry)
                .await
                .map(|e| e.section)
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(section) => Ok(Redirect::to(&format!(
            "/patients/{patient}/chart?added=true#{}",
            section.as_str()
        ))
        .into_response()),
        Err(e @ Error::Invalid { .. }) => {
            chart_page(state, w, me, patient, None, Some(&e), "").await
        }
        Err(e) => Err(e.into()),
    }
}

/// An upload from the chart page: from the page's script (answers JSON, for the
/// progress bar) or from the plain form (goes back to the chart).
pub async fn upload(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    mut form: Multipart,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let scripted = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"));
    let upload = crate::api::read_upload(&mut form, state.config.files.max_document_bytes).await?;
    let outcome = documents::upload(&state, &w.ctx, &me.principal, patient, upload).await;
    match (outcome, scripted) {
        (Ok(d), true) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({"id": d.id, "url": format!("/documents/{}", d.id)})),
        )
            .into_response()),
        (Ok(_), false) => Ok(Redirect::to(&format!(
            "/patients/{patient}/chart?uploaded=true#documents"
        ))
        .into_response()),
        (Err(e), true) => Err(e.into()),
        (
            Err(
                e @ (Error::Invalid { .. }
                | Error::TooLarge
                | Error::QuotaExceeded { .. }
                | Error::RateLimited { .. }
                | Error::UnsupportedMediaType(_)),
            ),
            false,
        ) => chart_page(&state, &w, &me, patient, None, Some(&e), "").await,
        (Err(e), false) => Err(e.into()),
    }
}

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage<'a> {
    page: &'a Page,
    id: DocumentId,
    patient: UserId,
    title: String,
    kind: &'static str,
    description: Option<String>,
    uploaded: String,
    by: String,
    media: &'static str,
    in_error: bool,
    can_mark: bool,
    version: i64,
    has_preview: bool,
    windows: Vec<Choice>,
    window: String,
    facts: Vec<Fact>,
}

#[derive(Deserialize, Default)]
pub struct ViewerQuery {
    window: Option<String>,
}

/// The viewer: a photo as it is, a PDF to open, a DICOM image through a window with
/// its header.
pub async fn document(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ViewerQuery>,
) -> AppResult<Response> {
    let id = DocumentId::from_path(&id)?;
    let d = documents::open(&state, &w.ctx, &me.principal, id).await?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), &format!("/documents/{id}"));
    let t = page.t;
    let tz = w.ctx.time_zone;
    let window = q
        .window
        .filter(|n| crate::imaging::ct_window(n).is_some())
        .unwrap_or_default();
    let mut facts = Vec::new();
    if let Some(h) = &d.dicom {
        let mut fact = |label, value: Option<String>| {
            if let Some(value) = value {
                facts.push(Fact { label, value });
            }
        };
        fact(t.dicom_modality, h.modality.clone());
        fact(t.dicom_date, h.study_date.clone());
        fact(
            t.dicom_study,
            Some(
                h.study_description
                    .clone()
                    .unwrap_or_else(|| h.study_uid.clone()),
            ),
        );
        fact(
            t.dicom_series,
            Some(
                h.series_description
                    .clone()
                    .unwrap_or_else(|| h.series_uid.clone()),
            ),
        );
        fact(t.dicom_name, h.patient_name.clone());
        fact(
            t.dicom_size,
            h.rows.zip(h.columns).map(|(r, c)| format!("{c} × {r}")),
        );
    }
    let can_mark = d.status == DocumentStatus::Current
        && (me.role() == Role::Clinician || d.uploaded_by == me.user.id)
        && decide(
            &state,
            &me.principal,
            d.patient,
            Section::Documents,
            Op::Write,
        )
        .await?
        .is_some();
    let is_ct = d.dicom.as_ref().and_then(|h| h.modality.as_deref()) == Some("CT");
    Ok(render(&DocumentPage {
        id,
        patient: d.patient,
        title: d.title.clone(),
        kind: category_name(t, d.category),
        description: d.description.clone(),
        uploaded: local(tz, d.created_at, "%Y-%m-%d %H:%M"),
        by: d.uploaded_by_name.clone(),
        media: d.file.media_type.as_str(),
        in_error: d.status == DocumentStatus::EnteredInError,
        can_mark,
        version: d.version,
        has_preview: d.preview.is_some(),
        windows: if is_ct {
            crate::imaging::CT_WINDOWS
                .iter()
                .map(|(name, _)| Choice {
                    value: (*name).into(),
                    label: name.replace('_', " "),
                })
                .collect()
        } else {
            Vec::new()
        },
        window,
        facts,
        page: &page,
    }))
}

#[derive(Deserialize, Default)]
pub struct FileQuery {
    #[serde(default)]
    download: bool,
    window: Option<String>,
}

async fn send(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    id: &str,
    rendition: Rendition,
    how: Disposition,
) -> AppResult<Response> {
    let id = DocumentId::from_path(id)?;
    let (blob, bytes) = documents::file(state, &w.ctx, &me.principal, id, rendition).await?;
    Ok(crate::files::response(&blob, bytes, how))
}

pub async fn file(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<FileQuery>,
) -> AppResult<Response> {
    let how = Disposition::from_query(q.download);
    send(&state, &w, &me, &id, Rendition::Original, how).await
}

pub async fn thumbnail(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    send(
        &state,
        &w,
        &me,
        &id,
        Rendition::Thumbnail,
        Disposition::Inline,
    )
    .await
}

pub async fn preview(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<FileQuery>,
) -> AppResult<Response> {
    let rendition = match q.window.as_deref().filter(|n| !n.is_empty()) {
        None => Rendition::Preview,
        Some(name) => Rendition::Windowed(
            crate::imaging::ct_window(name)
                .ok_or_else(|| Error::invalid("window", "unknown window"))?,
        ),
    };
    send(&state, &w, &me, &id, rendition, Disposition::Inline).await
}

#[derive(Deserialize)]
pub struct MarkForm {
    version: i64,
}

pub async fn mark_in_error(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<MarkForm>,
) -> AppResult<Response> {
    let id = DocumentId::from_path(&id)?;
    let d = documents::change_status(
        &state,
        &w.ctx,
        &me.principal,
        id,
        DocumentStatus::EnteredInError,
        form.version,
    )
    .await?;
    Ok(Redirect::to(&format!("/patients/{}/chart#documents", d.patient)).into_response())
}

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    format: Option<String>,
}

/// The patient's download of their whole record (PDF or JSON).
pub async fn export(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let format = match q.format.as_deref() {
        Some("json") => "json",
        _ => "pdf",
    };
    let record = crate::export::gather(&state, &w.ctx, &me.principal, patient, format).await?;
    crate::api::export_response(&state, record, format).await
}

#[derive(Template)]
#[template(path = "break_glass.html")]
struct BreakGlassPage<'a> {
    page: &'a Page,
    patient: UserId,
    name: String,
    minutes: i64,
    error: Option<String>,
}

/// The emergency-access form, for a clinician without a care relationship.
pub async fn break_glass_form(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    break_glass_page(&state, &w, &me, patient, None).await
}

async fn break_glass_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    patient: UserId,
    error: Option<&Error>,
) -> AppResult<Response> {
    let user = state
        .store
        .user_by_id(patient)
        .await?
        .filter(|u| u.role == Role::Patient && me.role() == Role::Clinician)
        .ok_or(Error::NotFound)?;
    let page = Page::new(
        &w.ctx,
        &w.csrf,
        Some(&me.user),
        &format!("/patients/{patient}/break-glass"),
    );
    Ok(render_form(
        error,
        &BreakGlassPage {
            patient,
            name: user.display_name,
            minutes: state.config.record.break_glass_minutes,
            error: error.map(|e| page.form_error(e)),
            page: &page,
        },
    ))
}

#[derive(Deserialize)]
pub struct BreakGlassForm {
    reason: String,
}

pub async fn break_glass(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<BreakGlassForm>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    match crate::record::break_glass(&state, &w.ctx, &me.principal, patient, &form.reason).await {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{patient}/chart")).into_response()),
        Err(e @ Error::Invalid { .. }) => {
            break_glass_page(&state, &w, &me, patient, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct DemographicsForm {
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    emergency_contact: String,
    #[serde(default)]
    emergency_phone: String,
    /// The patient's name; both empty leaves it as it is.
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    given_names: String,
}

/// The patient (or the front desk) updates demographics and contacts.
pub async fn save_demographics(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DemographicsForm>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let d = telemed_store::record::Demographics {
        birth_date: given(&form.birth_date),
        sex: given(&form.sex),
        phone: given(&form.phone),
        address: given(&form.address),
        emergency_contact: given(&form.emergency_contact),
        emergency_phone: given(&form.emergency_phone),
    };
    let saved = match crate::record::name_from_form(&form.family_name, &form.given_names) {
        Ok(name) => {
            crate::record::save_demographics(
                &state,
                &w.ctx,
                &me.principal,
                patient,
                &d,
                name.as_ref(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!(
            "/patients/{patient}/chart?saved=true#demographics"
        ))
        .into_response()),
        Err(e @ Error::Invalid { .. }) => {
            chart_page(&state, &w, &me, patient, None, Some(&e), "").await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RenewalForm {
    #[serde(default)]
    note: String,
}

/// `POST /prescriptions/{id}/renewal`: the patient asks for a renewal; back to the
/// chart's prescriptions.
pub async fn request_renewal(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RenewalForm>,
) -> AppResult<Response> {
    match crate::renewals::request(&state, &w.ctx, &me.principal, &id, &form.note).await {
        Ok(r) => Ok(Redirect::to(&format!(
            "/patients/{}/chart?saved=true#prescriptions",
            r.patient
        ))
        .into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            chart_page(&state, &w, &me, me.user.id, None, Some(&e), "").await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DeclineForm {
    /// `deny` or `visit`.
    how: String,
    #[serde(default)]
    reason: String,
    patient: String,
}

/// `POST /renewals/{id}/decline`: the prescriber denies a renewal request or asks for
/// a visit, with the reason the patient reads; back to the chart.
pub async fn decline_renewal(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DeclineForm>,
) -> AppResult<Response> {
    use crate::renewals::Decline;
    let patient = UserId::from_path(&form.patient)?;
    let how = match form.how.as_str() {
        "deny" => Decline::Deny,
        "visit" => Decline::AskForVisit,
        _ => return Err(Error::invalid("how", "deny or visit").into()),
    };
    match crate::renewals::decline(&state, &w.ctx, &me.principal, &id, how, &form.reason).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/patients/{patient}/chart?saved=true#prescriptions"
        ))
        .into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            chart_page(&state, &w, &me, patient, None, Some(&e), "").await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PharmacyForm {
    #[serde(default)]
    pharmacy_id: String,
}

/// `POST /patients/{id}/pharmacy`: chooses (or clears) the patient's preferred
/// pharmacy; back to the chart's prescriptions.
pub async fn choose_pharmacy(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<PharmacyForm>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let chosen = Some(form.pharmacy_id.as_str()).filter(|p| !p.is_empty());
    match crate::pharmacies::set_preferred(&state, &w.ctx, &me.principal, patient, chosen).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/patients/{patient}/chart?saved=true#prescriptions"
        ))
        .into_response()),
        Err(e @ Error::Invalid { .. }) => {
            chart_page(&state, &w, &me, patient, None, Some(&e), "").await
        }
        Err(e) => Err(e.into()),
    }
}
