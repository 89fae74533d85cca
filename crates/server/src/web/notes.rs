//! Visit notes in the browser: start one from a specialty template, edit the draft,
//! sign it (then it is locked), and add signed addenda. Through `crate::record`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::access::Op;
use telemed_domain::record::{Section, Soap};
use telemed_domain::{AppointmentId, Error, NoteId, Role, UserId};
use telemed_store::record::NoteStatus;

use super::booking::local;
use super::chart::Notice;
use super::pages::{lang_of, render_with, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::record::{self, NewNoteRequest};
use crate::AppState;

#[derive(Deserialize)]
pub struct StartForm {
    template: String,
    #[serde(default)]
    appointment_id: String,
}

pub async fn start(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<StartForm>,
) -> AppResult<Response> {
    let patient = UserId::from_path(&id)?;
    let appointment: Option<AppointmentId> = match form.appointment_id.trim() {
        "" => None,
        raw => Some(
            raw.parse()
                .map_err(|_| Error::invalid("appointment_id", "not a visit"))?,
        ),
    };
    let note = record::start_note(
        &state,
        &w.ctx,
        &me.principal,
        patient,
        NewNoteRequest {
            appointment,
            template: &form.template,
            lang: lang_of(&w.ctx, Some(&me.user)),
            soap: None,
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/notes/{}", note.id)).into_response())
}

pub struct AddendumLine {
    pub when: String,
    pub by: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "note.html")]
struct NotePage<'a> {
    page: &'a Page,
    id: NoteId,
    patient: UserId,
    patient_name: String,
    author: String,
    template: String,
    when: String,
    editable: bool,
    signed: bool,
    can_amend: bool,
    version: i64,
    soap: Soap,
    addenda: Vec<AddendumLine>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NoteQuery {
    #[serde(default)]
    saved: bool,
}

pub async fn view(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<NoteQuery>,
) -> AppResult<Response> {
    let id = NoteId::from_path(&id)?;
    let notice: Option<Notice> = q.saved.then_some(|t| t.notes_saved);
    note_page(&state, &w, &me, id, notice, None, None).await
}

async fn note_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    id: NoteId,
    notice: Option<Notice>,
    typed: Option<&Soap>,
    error: Option<&Error>,
) -> AppResult<Response> {
    let (note, addenda) = record::note(state, &w.ctx, &me.principal, id).await?;
    let mut people = vec![note.author, note.patient];
    people.extend(addenda.iter().map(|a| a.author));
    let names = state.store.names_of(&people).await?;
    let name = |u: &UserId| names.get(u).map(|n| n.0.clone()).unwrap_or_default();
    let tz = w.ctx.time_zone;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), &format!("/notes/{id}"));
    let signed = note.status == NoteStatus::Signed;
    let can_amend = signed
        && me.role() == Role::Clinician
        && crate::record::decide(
            state,
            &me.principal,
            note.patient,
            Section::Notes,
            Op::Write,
        )
        .await?
        .is_some();
    let status = match error {
        Some(Error::Conflict(_)) => StatusCode::CONFLICT,
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    Ok(render_with(
        status,
        &NotePage {
            id,
            patient: note.patient,
            patient_name: name(&note.patient),
            author: name(&note.author),
            template: note.template.clone(),
            when: local(
                tz,
                note.signed_at.unwrap_or(note.created_at),
                "%Y-%m-%d %H:%M",
            ),
            editable: !signed && note.author == me.user.id,
            signed,
            can_amend,
            version: note.version,
            soap: typed.cloned().unwrap_or(note.soap),
            addenda: addenda
                .iter()
                .map(|a| AddendumLine {
                    when: local(tz, a.signed_at, "%Y-%m-%d %H:%M"),
                    by: name(&a.author),
                    body: a.body.clone(),
                })
                .collect(),
            notice: notice.map(|n| n(page.t)),
            error: error.map(|e| page.form_error(e)),
            page: &page,
        },
    ))
}

#[derive(Deserialize)]
pub struct DraftForm {
    version: i64,
    #[serde(default)]
    subjective: String,
    #[serde(default)]
    objective: String,
    #[serde(default)]
    assessment: String,
    #[serde(default)]
    plan: String,
    /// `save` or `sign`.
    #[serde(default)]
    action: String,
}

/// Saves the draft; with `action=sign`, saves and signs it in one step.
pub async fn save(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DraftForm>,
) -> AppResult<Response> {
    let id = NoteId::from_path(&id)?;
    let soap = Soap {
        subjective: form.subjective,
        objective: form.objective,
        assessment: form.assessment,
        plan: form.plan,
    };
    let done = async {
        let saved =
            record::save_draft(&state, &w.ctx, &me.principal, id, form.version, &soap).await?;
        if form.action == "sign" {
            record::sign(&state, &w.ctx, &me.principal, id, saved.version).await?;
        }
        Ok::<_, Error>(())
    }
    .await;
    match done {
        Ok(()) if form.action == "sign" => {
            Ok(Redirect::to(&format!("/notes/{id}")).into_response())
        }
        Ok(()) => Ok(Redirect::to(&format!("/notes/{id}?saved=true")).into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            note_page(&state, &w, &me, id, None, Some(&soap), Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AddendumForm {
    body: String,
}

pub async fn add_addendum(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<AddendumForm>,
) -> AppResult<Response> {
    let id = NoteId::from_path(&id)?;
    match record::add_addendum(&state, &w.ctx, &me.principal, id, &form.body).await {
        Ok(_) => Ok(Redirect::to(&format!("/notes/{id}")).into_response()),
        Err(e @ Error::Invalid { .. }) => {
            note_page(&state, &w, &me, id, None, None, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}
