//! Proxies: a parent or carer reading a patient's record (and adding documents to it).
//! Access opens by invitation: the patient, or the front desk, names an email address,
//! and the person signed in with that address (a patient account, address verified)
//! accepts or declines. Whoever the address belongs to — a patient, a clinician, nobody
//! yet — the inviter gets the same answer and the address the same email, so an
//! invitation cannot be used to learn who is a patient here. Someone without an account
//! registers with that address and then answers.

use chrono::{DateTime, Duration, Utc};
use telemed_domain::access::Principal;
use telemed_domain::{Email, Error, Result, Role, UserId};
use telemed_store::proxy_invitations::{self, Answer, NewProxyInvitation};
use telemed_store::record as store;
use telemed_store::users::User;

use crate::change::Change;
use crate::context::Ctx;
use crate::mail::{self, Mail};
use crate::rate_limits::{self, Use};
use crate::record::{about_patient, clean};
use crate::AppState;

/// How long an invitation waits for its answer.
pub const INVITATION_DAYS: i64 = 14;

/// Invitations one patient may have waiting at once.
const MAX_WAITING: usize = 20;

/// Proxies are invited and removed by the patient themselves or by the front desk.
fn manages_proxies(principal: &Principal, patient: UserId) -> bool {
    (principal.role == Role::Patient && principal.user_id == patient)
        || principal.role == Role::Staff
}

/// Refuses (as "not found", like a patient that does not exist) unless `principal`
/// manages `patient`'s proxies and the patient exists.
async fn check_manages(state: &AppState, principal: &Principal, patient: UserId) -> Result<()> {
    if !manages_proxies(principal, patient) {
        return Err(Error::NotFound);
    }
    let facts = state
        .store
        .care_facts(principal.user_id, patient, state.clock.now())
        .await?;
    if !facts.patient_exists {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// An invitation on its way.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct InvitationSent {
    pub id: String,
    pub expires_at: DateTime<Utc>,
}

/// Invites `email` to become `patient`'s proxy. The same answer and the same email
/// whoever has the address; refused only for what the caller wrote (a malformed
/// address, no relationship), for the caller's own rate or when too many wait.
pub async fn invite(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    email: &str,
    relationship: &str,
) -> Result<InvitationSent> {
    check_manages(state, principal, patient).await?;
    let relationship = clean("relationship", &Some(relationship.to_owned()), 60)?
        .ok_or_else(|| Error::invalid("relationship", "say who they are to the patient"))?;
    let email = Email::parse(email)?;
    rate_limits::spend(
        state,
        &[
            Use::ProxyInvitationBy(principal.user_id),
            Use::EmailTo(&email),
        ],
    )
    .await?;
    let now = state.clock.now();
    let expires_at = now + Duration::days(INVITATION_DAYS);
    let mut change = Change::begin(state).await?;
    let waiting = proxy_invitations::count_waiting_of_patient(change.tx(), patient, now).await?;
    if waiting >= MAX_WAITING {
        return Err(Error::Conflict(format!(
            "{MAX_WAITING} invitations are waiting for an answer; withdraw one first"
        )));
    }
    let new = NewProxyInvitation {
        patient,
        email: &email,
        relationship: &relationship,
        invited_by: principal.user_id,
        expires_at,
    };
    let id = proxy_invitations::insert(change.tx(), new, now).await?;
    let link = format!("{}/account/proxies", state.config.public_url);
    let mail = Mail::ProxyInvitation {
        link: &link,
        days: INVITATION_DAYS,
    };
    mail::enqueue(change.tx(), &email, mail, ctx.clinic.letter(ctx.lang), now).await?;
    let event = about_patient(ctx, now, "record.proxy.invite", principal, patient)
        .detail(format!("invitation {id}"));
    change.audit(event);
    change.commit().await?;
    state.mail_wake.notify_one();
    Ok(InvitationSent { id, expires_at })
}

/// Someone who can see the record on the patient's behalf.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProxyEntry {
    /// The access's id (to end it).
    pub id: String,
    pub proxy_id: UserId,
    pub name: String,
    pub relationship: String,
    pub granted_at: DateTime<Utc>,
}

/// An invitation waiting for its answer, as its sender sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct InvitationEntry {
    /// The invitation's id (to withdraw it).
    pub id: String,
    pub email: String,
    pub relationship: String,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A patient's proxies and the invitations waiting.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProxyList {
    pub proxies: Vec<ProxyEntry>,
    pub invitations: Vec<InvitationEntry>,
}

/// Who can see `patient`'s record on their behalf, and who is invited; for the patient
/// and the front desk. Audited as a read of the patient's record.
pub async fn list(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
) -> Result<ProxyList> {
    check_manages(state, principal, patient).await?;
    let now = state.clock.now();
    let granted = state.store.proxies(patient, true).await?;
    let waiting = state.store.proxy_invitations_of(patient, now).await?;
    let ids: Vec<UserId> = granted.iter().map(|p| p.proxy).collect();
    let names = state.store.names_of(&ids).await?;
    state
        .audit
        .record(about_patient(ctx, now, "record.proxy.list", principal, patient).build())
        .await?;
    Ok(ProxyList {
        proxies: granted
            .into_iter()
            .map(|p| ProxyEntry {
                name: names
                    .get(&p.proxy)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_default(),
                id: p.id,
                proxy_id: p.proxy,
                relationship: p.relationship,
                granted_at: p.granted_at,
            })
            .collect(),
        invitations: waiting
            .into_iter()
            .map(|i| InvitationEntry {
                id: i.id,
                email: i.email,
                relationship: i.relationship,
                invited_at: i.invited_at,
                expires_at: i.expires_at,
            })
            .collect(),
    })
}

/// Ends a proxy's access, or withdraws an invitation still waiting (`id` is either).
pub async fn remove(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    id: &str,
) -> Result<()> {
    if !manages_proxies(principal, patient) {
        return Err(Error::NotFound);
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let action = match store::revoke_proxy(change.tx(), patient, id, now).await {
        Ok(()) => "record.proxy.revoke",
        Err(Error::NotFound) => {
            if !proxy_invitations::withdraw(change.tx(), patient, id, now).await? {
                return Err(Error::NotFound);
            }
            "record.proxy.withdraw"
        }
        Err(e) => return Err(e),
    };
    let event = about_patient(ctx, now, action, principal, patient).detail(id.to_owned());
    change.audit(event);
    change.commit().await
}

/// An invitation addressed to the signed-in person.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct InvitationToMe {
    pub id: String,
    /// Whose record it opens.
    pub patient_name: String,
    /// Who the invitee is to the patient, as the inviter wrote it.
    pub relationship: String,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Whether `user` may answer invitations: a patient account whose address is verified
/// (an unverified address is not yet shown to be theirs).
fn may_answer(user: &User) -> bool {
    user.role == Role::Patient && user.email_verified_at.is_some() && user.disabled_at.is_none()
}

/// The invitations waiting for `user`'s answer; none for who may not answer.
pub async fn invitations_to(state: &AppState, user: &User) -> Result<Vec<InvitationToMe>> {
    if !may_answer(user) {
        return Ok(vec![]);
    }
    let waiting = state
        .store
        .proxy_invitations_to(&user.email, state.clock.now())
        .await?;
    let ids: Vec<UserId> = waiting.iter().map(|i| i.patient).collect();
    let names = state.store.names_of(&ids).await?;
    Ok(waiting
        .into_iter()
        .map(|i| InvitationToMe {
            patient_name: names
                .get(&i.patient)
                .map(|(name, _)| name.clone())
                .unwrap_or_default(),
            id: i.id,
            relationship: i.relationship,
            invited_at: i.invited_at,
            expires_at: i.expires_at,
        })
        .collect())
}

/// Accepts (opening the access) or declines an invitation addressed to `user`. "Not
/// found" for any invitation that is not theirs, not waiting or expired.
pub async fn answer(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    user: &User,
    id: &str,
    accept: bool,
) -> Result<()> {
    if !may_answer(user) {
        return Err(Error::NotFound);
    }
    let now = state.clock.now();
    let answer = if accept {
        Answer::Accepted
    } else {
        Answer::Declined
    };
    let mut change = Change::begin(state).await?;
    let invitation = proxy_invitations::answer(change.tx(), id, &user.email, answer, now)
        .await?
        .ok_or(Error::NotFound)?;
    if accept && invitation.patient == user.id {
        return Err(Error::Conflict(
            "this invitation is to your own record; decline it".into(),
        ));
    }
    if accept {
        let granted = store::grant_proxy(
            change.tx(),
            invitation.patient,
            user.id,
            &invitation.relationship,
            invitation.invited_by,
            now,
        )
        .await;
        match granted {
            Ok(grant) => proxy_invitations::link_grant(change.tx(), id, &grant).await?,
            // Already their proxy (an earlier invitation): nothing more to open.
            Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let action = if accept {
        "record.proxy.accept"
    } else {
        "record.proxy.decline"
    };
    let event = about_patient(ctx, now, action, principal, invitation.patient)
        .detail(format!("invitation {id}"));
    change.audit(event);
    change.commit().await
}
