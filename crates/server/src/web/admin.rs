//! Admin pages: users (with what each stores) and invitations, the mail outbox, the
//! audit trail.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use telemed_domain::files::megabytes;
use telemed_domain::{Error, InvitationId, Permission, Role, UserId};
use telemed_store::storage::Usage;
use telemed_store::users::UserFilter;

use super::pages::{render, render_with, when, Page};
use super::WebCtx;
use crate::accounts::admin::{self, NewInvite};
use crate::api::{describe_break, invitation_status, AuditQuery};
use crate::audit::Event;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::{args, Lang};
use crate::{quotas, AppState};

struct UserRow {
    id: UserId,
    name: String,
    email: String,
    role: &'static str,
    role_label: &'static str,
    mfa: bool,
    disabled: bool,
    is_self: bool,
    /// What they store against their quota, as shown ("12 MB of 1024 MB · 2 unsent").
    storage: String,
}

struct InvitationRow {
    id: InvitationId,
    name: String,
    email: String,
    role_label: &'static str,
    status_label: &'static str,
    expires_at: String,
    pending: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage<'a> {
    page: &'a Page,
    notice: Option<&'a str>,
    error: Option<String>,
    q: String,
    role_filter: String,
    roles: Vec<(&'static str, &'static str)>,
    users: Vec<UserRow>,
    /// Everyone's stored files, in a sentence.
    storage_total: String,
    invitations: Vec<InvitationRow>,
}

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    done: String,
}

pub async fn users(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(query): Query<UsersQuery>,
) -> AppResult<Response> {
    users_page(&state, &w, &me, query, None).await
}

/// "12 MB of 1024 MB · 2 unsent": what one person stores, for the users table.
fn storage_line(page: &Page, usage: Usage, quota: Option<u64>) -> String {
    let used = megabytes(usage.bytes as u64);
    let mut line = match quota {
        Some(q) => page.t.storage_of(args::StorageOf {
            used: used.into(),
            quota: megabytes(q).into(),
        }),
        None => page
            .t
            .storage_unlimited(args::StorageUnlimited { used: used.into() }),
    };
    if usage.unsent_files > 0 {
        line.push_str(" · ");
        line.push_str(&page.t.storage_unsent(args::StorageUnsent {
            n: usage.unsent_files.into(),
        }));
    }
    line
}

async fn users_page(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    query: UsersQuery,
    error: Option<&Error>,
) -> AppResult<Response> {
    me.principal.require(Permission::UsersRead)?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/admin/users");
    let role: Option<Role> = if query.role.is_empty() {
        None
    } else {
        Some(query.role.parse()?)
    };
    let filter = UserFilter {
        role,
        query: Some(query.q.clone()).filter(|q| !q.is_empty()),
        limit: 200,
        offset: 0,
    };
    let list = state.store.list_users(&filter).await?;
    state
        .audit
        .record(
            Event::new(&w.ctx, state.clock.now(), "user.list", "user")
                .by(me.user.id, me.role())
                .detail(format!("{} rows", list.len()))
                .build(),
        )
        .await?;
    let ids: Vec<UserId> = list.iter().map(|u| u.id).collect();
    let usage = quotas::usage_of(state, &me.principal, &ids).await?;
    let total = quotas::clinic_total(state, &me.principal).await?;
    let storage_total = page.t.storage_total(args::StorageTotal {
        used: megabytes(total.bytes as u64).into(),
        files: total.files.into(),
    });
    let users = list
        .into_iter()
        .map(|u| UserRow {
            storage: storage_line(
                &page,
                usage.get(&u.id).copied().unwrap_or_default(),
                quotas::quota_of(state, u.role),
            ),
            id: u.id,
            role: u.role.as_str(),
            role_label: page.role_name(u.role),
            mfa: u.mfa_enabled(),
            disabled: u.disabled_at.is_some(),
            is_self: u.id == me.user.id,
            name: u.display_name,
            email: u.email.to_string(),
        })
        .collect();
    let now = state.clock.now();
    let invitations = state
        .store
        .recent_invitations(50)
        .await?
        .into_iter()
        .map(|i| {
            let status = invitation_status(&i, now);
            InvitationRow {
                id: i.id,
                name: i.display_name.clone(),
                email: i.email.to_string(),
                role_label: page.role_name(i.role),
                status_label: match status {
                    "accepted" => page.t.accepted,
                    "revoked" => page.t.revoked,
                    "expired" => page.t.expired,
                    _ => page.t.pending,
                },
                expires_at: when(i.expires_at),
                pending: status == "pending",
            }
        })
        .collect();
    let notice = match query.done.as_str() {
        "invited" => Some(page.t.invite_sent),
        "" => None,
        _ => Some(page.t.save),
    };
    let status = if error.is_some() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    Ok(render_with(
        status,
        &UsersPage {
            page: &page,
            notice,
            error: error.map(|e| page.form_error(e)),
            q: query.q,
            role_filter: query.role,
            roles: Role::ALL
                .iter()
                .map(|r| (r.as_str(), page.role_name(*r)))
                .collect(),
            users,
            storage_total,
            invitations,
        },
    ))
}

/// Runs an admin action; a refusal re-renders the users page with the reason.
async fn admin_action(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    result: Result<(), Error>,
    done: &str,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users?done={done}")).into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            users_page(state, w, me, UsersQuery::default(), Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> AppResult<Response> {
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let result = match form.role.parse::<Role>() {
        Ok(role) => admin::change_role(&state, &w.ctx, &me.principal, id, role).await,
        Err(e) => Err(e),
    };
    admin_action(&state, &w, &me, result, "role").await
}

pub async fn disable(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let result = admin::set_disabled(&state, &w.ctx, &me.principal, id, true).await;
    admin_action(&state, &w, &me, result, "disabled").await
}

pub async fn enable(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: UserId = id.parse().map_err(|_| Error::NotFound)?;
    let result = admin::set_disabled(&state, &w.ctx, &me.principal, id, false).await;
    admin_action(&state, &w, &me, result, "enabled").await
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    display_name: String,
    role: String,
    #[serde(default)]
    lang: String,
}

pub async fn invite(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Form(form): Form<InviteForm>,
) -> AppResult<Response> {
    let lang = Lang::from_code(&form.lang).unwrap_or(w.ctx.lang);
    let result = match form.role.parse::<Role>() {
        Ok(role) => admin::invite(
            &state,
            &w.ctx,
            &me.principal,
            NewInvite {
                email: &form.email,
                display_name: &form.display_name,
                role,
                lang,
            },
        )
        .await
        .map(|_| ()),
        Err(e) => Err(e),
    };
    admin_action(&state, &w, &me, result, "invited").await
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: InvitationId = id.parse().map_err(|_| Error::NotFound)?;
    let result = admin::revoke_invitation(&state, &w.ctx, &me.principal, id).await;
    admin_action(&state, &w, &me, result, "revoked").await
}

struct MailRow {
    to: String,
    subject: String,
    status: String,
    error: Option<String>,
    body: String,
}

#[derive(Template)]
#[template(path = "admin_outbox.html")]
struct OutboxPage<'a> {
    page: &'a Page,
    mails: Vec<MailRow>,
}

pub async fn outbox(State(state): State<AppState>, w: WebCtx, me: SignedIn) -> AppResult<Response> {
    me.principal.require(Permission::UsersWrite)?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/admin/outbox");
    let mails = state
        .store
        .recent_mail(100)
        .await?
        .into_iter()
        .map(|m| MailRow {
            status: match (m.sent_at, &m.delivery) {
                // What the SMS provider last reported, in its own word.
                (Some(t), Some(said)) => format!("{} {} · {said}", page.t.sent, when(t)),
                (Some(t), None) => format!("{} {}", page.t.sent, when(t)),
                (None, Some(said)) => said.clone(),
                (None, None) => format!("{} ({})", page.t.queued, m.attempts),
            },
            to: m.to_addr,
            subject: if m.channel == telemed_store::outbox::SMS {
                page.t.prefs_by_sms.to_owned()
            } else {
                m.subject
            },
            error: m.last_error,
            // Bodies hold sign-in and reset links: readable here only in the demo.
            body: if state.config.demo {
                m.body_text
            } else {
                String::new()
            },
        })
        .collect();
    state
        .audit
        .record(
            Event::new(&w.ctx, state.clock.now(), "mail.outbox_read", "mail")
                .by(me.user.id, me.role())
                .build(),
        )
        .await?;
    Ok(render(&OutboxPage { page: &page, mails }))
}

struct AuditRow {
    seq: i64,
    at: String,
    who: String,
    action: String,
    detail: String,
    patient: String,
    outcome: &'static str,
    address: String,
    request: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage<'a> {
    page: &'a Page,
    chain: Option<(bool, String)>,
    error: Option<String>,
    action: String,
    actor: String,
    patient: String,
    outcome: String,
    entries: Vec<AuditRow>,
    older: Option<String>,
}

#[derive(Deserialize, Default, Clone, serde::Serialize)]
pub struct AuditForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    patient: String,
    #[serde(default)]
    outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<i64>,
    #[serde(default, skip_serializing)]
    verify: Option<String>,
}

pub async fn audit(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(form): Query<AuditForm>,
) -> AppResult<Response> {
    me.principal.require(Permission::AuditRead)?;
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/admin/audit");
    let parse_id = |s: &str| -> Result<Option<UserId>, Error> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            s.trim().parse().map(Some)
        }
    };
    let query = (|| -> Result<AuditQuery, Error> {
        Ok(AuditQuery {
            actor: parse_id(&form.actor)?,
            patient: parse_id(&form.patient)?,
            action: Some(form.action.trim().to_owned()),
            outcome: Some(form.outcome.clone()),
            before: form.before,
            limit: Some(100),
            ..Default::default()
        })
    })();
    let (filter, error) = match query.and_then(|q| q.filter()) {
        Ok(f) => (f, None),
        Err(e) => (AuditQuery::default().filter()?, Some(page.form_error(&e))),
    };
    state.audit.flush().await?;
    let chain = match form.verify {
        Some(_) => {
            let report = state.store.verify_audit_chain().await?;
            Some(match report.first_break {
                None => (
                    true,
                    format!(
                        "{} ({} {})",
                        page.t.chain_ok, report.entries, page.t.entries
                    ),
                ),
                Some(b) => (
                    false,
                    format!("{}: {}", page.t.chain_broken, describe_break(&b)),
                ),
            })
        }
        None => None,
    };
    let entries = crate::audit::search(&state, &w.ctx, &me.principal, &filter).await?;
    let mut ids: Vec<UserId> = entries.iter().filter_map(|e| e.actor).collect();
    ids.extend(entries.iter().filter_map(|e| e.patient));
    let names = state.store.names_of(&ids).await?;
    let name = |id: Option<UserId>| {
        id.map(|i| {
            names
                .get(&i)
                .map(|n| n.0.clone())
                .unwrap_or_else(|| i.to_string())
        })
        .unwrap_or_default()
    };
    let older = (entries.len() as i64 == filter.limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten()
        .and_then(|before| {
            serde_urlencoded::to_string(AuditForm {
                before: Some(before),
                verify: None,
                ..form.clone()
            })
            .ok()
        })
        .map(|q| format!("/admin/audit?{q}"));
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: when(e.at),
            who: name(e.actor),
            patient: name(e.patient),
            outcome: e.outcome.as_str(),
            detail: e.detail.unwrap_or_default(),
            address: e.client_addr.unwrap_or_default(),
            request: e.request_id.unwrap_or_default(),
            action: e.action,
        })
        .collect();
    Ok(render(&AuditPage {
        page: &page,
        chain,
        error,
        action: form.action.clone(),
        actor: form.actor.clone(),
        patient: form.patient.clone(),
        outcome: form.outcome.clone(),
        entries: rows,
        older,
    }))
}
