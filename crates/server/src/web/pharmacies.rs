//! The pharmacy directory page for admins (`/admin/pharmacies`): add a pharmacy, edit
//! it or take it out of the directory, and say which pharmacist accounts work there.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::{Error, UserId};
use telemed_store::pharmacies::Pharmacy;

use super::pages::{render_with, DoneQuery, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::pharmacies as directory;
use crate::AppState;

struct Row {
    pharmacy: Pharmacy,
    members: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_pharmacies.html")]
struct DirectoryPage<'a> {
    page: &'a Page,
    notice: Option<&'a str>,
    error: Option<String>,
    rows: Vec<Row>,
    /// Pharmacist accounts, to add to a pharmacy: id and name.
    pharmacists: Vec<(UserId, String)>,
}

pub async fn page(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let notice = (!q.done.is_empty()).then_some(());
    show(&state, &w, &me, notice, None).await
}

async fn show(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    notice: Option<()>,
    error: Option<&Error>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/admin/pharmacies");
    let view = directory::admin_view(state, &me.principal).await?;
    let rows = view
        .pharmacies
        .into_iter()
        .map(|(pharmacy, members)| Row { pharmacy, members })
        .collect();
    let pharmacists = view.pharmacists;
    let status = if error.is_some() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    Ok(render_with(
        status,
        &DirectoryPage {
            page: &page,
            notice: notice.map(|()| page.t.saved),
            error: error.map(|e| e.to_string()),
            rows,
            pharmacists,
        },
    ))
}

#[derive(Deserialize)]
pub struct PharmacyForm {
    name: String,
    address: String,
    phone: String,
    #[serde(default)]
    fhir_endpoint: String,
    /// On an edit: "1" keeps it in the directory.
    #[serde(default)]
    active: String,
}

impl PharmacyForm {
    fn details(&self) -> Result<telemed_store::pharmacies::PharmacyDetails, Error> {
        directory::validate(&self.name, &self.address, &self.phone, &self.fhir_endpoint)
    }
}

pub async fn add(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<PharmacyForm>,
) -> AppResult<Response> {
    let result = match form.details() {
        Ok(details) => directory::add(&state, &w.ctx, &me.principal, details)
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    done(&state, &w, &me, result).await
}

pub async fn update(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<PharmacyForm>,
) -> AppResult<Response> {
    let active = form.active == "1";
    let result = match form.details() {
        Ok(details) => directory::update(&state, &w.ctx, &me.principal, &id, details, active)
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    done(&state, &w, &me, result).await
}

#[derive(Deserialize)]
pub struct MemberForm {
    user_id: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> AppResult<Response> {
    let result = match form.user_id.parse::<UserId>() {
        Ok(user) => directory::add_member(&state, &w.ctx, &me.principal, &id, user).await,
        Err(_) => Err(Error::invalid("user_id", "choose a pharmacist")),
    };
    done(&state, &w, &me, result).await
}

async fn done(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    result: Result<(), Error>,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(Redirect::to("/admin/pharmacies?done=saved").into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            show(state, w, me, None, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}
