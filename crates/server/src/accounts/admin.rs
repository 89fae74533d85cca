//! What admins do to accounts: invite clinicians and staff, change roles, disable and
//! re-enable accounts; and `telemed user create` from the shell.

use chrono::Duration;
use telemed_domain::access::Principal;
use telemed_domain::{Email, Error, InvitationId, Permission, Result, Role, UserId};
use telemed_store::invitations::{self, NewInvitation};
use telemed_store::sessions;
use telemed_store::users::{self, validate_display_name, NewUser};

use super::signin::hash_blocking;
use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::crypto::{random_token, token_hash};
use crate::i18n::Lang;
use crate::mail::{self, Mail};
use crate::rate_limits::{self, Use};
use crate::AppState;

pub struct NewInvite<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub lang: Lang,
}

/// Invites a clinician, staff member or admin; the link is valid for 7 days.
pub async fn invite(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    invite: NewInvite<'_>,
) -> Result<InvitationId> {
    admin.require(Permission::UsersWrite)?;
    if invite.role == Role::Patient {
        return Err(Error::invalid(
            "role",
            "patients register themselves; invite clinicians, staff or admins",
        ));
    }
    let email = Email::parse(invite.email)?;
    let name = validate_display_name(invite.display_name)?;
    if state.store.user_by_email(&email).await?.is_some() {
        return Err(Error::Conflict(
            "an account with this email exists already".into(),
        ));
    }
    rate_limits::spend(
        state,
        &[Use::StaffInvitationBy(admin.user_id), Use::EmailTo(&email)],
    )
    .await?;
    let now = state.clock.now();
    let token = random_token("");
    let link = format!("{}/invite?token={token}", state.config.public_url);
    let mut change = Change::begin(state).await?;
    let new = NewInvitation {
        token_hash: &token_hash(&token),
        email: &email,
        display_name: &name,
        role: invite.role,
        invited_by: admin.user_id,
        expires_at: now + Duration::days(7),
    };
    let id = invitations::insert(change.tx(), new, now).await?;
    mail::enqueue(
        change.tx(),
        &email,
        Mail::Invitation {
            link: &link,
            role: role_label(invite.role, invite.lang),
        },
        ctx.clinic.letter(invite.lang),
        now,
    )
    .await?;
    let record = Event::new(ctx, now, "user.invite", "invitation")
        .by(admin.user_id, admin.role)
        .on(id)
        .detail(format!("role {}", invite.role))
        .build();
    change.audit(record);
    change.commit().await?;
    state.mail_wake.notify_one();
    Ok(id)
}

pub fn role_label(role: Role, lang: Lang) -> &'static str {
    let t = lang.texts();
    match role {
        Role::Patient => t.role_patient,
        Role::Clinician => t.role_clinician,
        Role::Staff => t.role_staff,
        Role::Admin => t.role_admin,
        Role::Pharmacist => t.role_pharmacist,
    }
}

pub async fn revoke_invitation(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    id: InvitationId,
) -> Result<()> {
    admin.require(Permission::UsersWrite)?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    invitations::revoke(change.tx(), id, now).await?;
    let record = Event::new(ctx, now, "user.invite_revoke", "invitation")
        .by(admin.user_id, admin.role)
        .on(id)
        .build();
    change.audit(record);
    change.commit().await
}

/// Changes a role, signing the person out and revoking their API tokens and app grants
/// (made for the old role). Admins cannot change their own (so the last admin cannot
/// lock everyone out).
pub async fn change_role(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    target: UserId,
    role: Role,
) -> Result<()> {
    admin.require(Permission::UsersWrite)?;
    if target == admin.user_id {
        return Err(Error::invalid("role", "you cannot change your own role"));
    }
    let user = state
        .store
        .user_by_id(target)
        .await?
        .ok_or(Error::NotFound)?;
    if user.role == role {
        return Ok(());
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    users::set_role(change.tx(), target, role, now).await?;
    // What the person could do under the old role goes with it.
    sessions::revoke_all(change.tx(), target, now).await?;
    telemed_store::tokens::revoke_all_of(change.tx(), target, now).await?;
    let mut event = Event::new(ctx, now, "user.role_change", "user")
        .by(admin.user_id, admin.role)
        .on(target)
        .detail(format!("role {}->{}", user.role, role));
    if user.role == Role::Patient {
        event = event.patient(target);
    }
    change.audit(event);
    change.commit().await?;
    Ok(())
}

/// Disables (signing out every session, revoking every API token and app grant) or
/// re-enables an account.
pub async fn set_disabled(
    state: &AppState,
    ctx: &Ctx,
    admin: &Principal,
    target: UserId,
    disabled: bool,
) -> Result<()> {
    admin.require(Permission::UsersWrite)?;
    if target == admin.user_id {
        return Err(Error::invalid(
            "disabled",
            "you cannot disable your own account",
        ));
    }
    let user = state
        .store
        .user_by_id(target)
        .await?
        .ok_or(Error::NotFound)?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    users::set_disabled(change.tx(), target, disabled, now).await?;
    if disabled {
        sessions::revoke_all(change.tx(), target, now).await?;
        telemed_store::tokens::revoke_all_of(change.tx(), target, now).await?;
    }
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    let record = Event::new(ctx, now, action, "user")
        .by(admin.user_id, admin.role)
        .on(user.id)
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(())
}

pub struct ShellUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password: &'a str,
    pub specialty: Option<&'a str>,
}

/// Creates a verified account from the shell (`telemed user create`, demo seeding).
/// The password must pass the policy.
pub async fn create_user(state: &AppState, ctx: &Ctx, new: ShellUser<'_>) -> Result<UserId> {
    let email = Email::parse(new.email)?;
    let name = validate_display_name(new.display_name)?;
    let password = super::new_password(new.password, &email, &name)?;
    let hash = hash_blocking(password.expose()).await?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let user = NewUser {
        email: &email,
        display_name: &name,
        role: new.role,
        password_hash: &hash,
        email_verified: true,
        locale: "en",
        name: None,
    };
    let id = users::insert(change.tx(), user, now).await?;
    if let Some(specialty) = new.specialty {
        users::set_specialty(change.tx(), id, specialty).await?;
    }
    let record = Event::new(ctx, now, "user.create", "user")
        .on(id)
        .detail(format!("from the shell; role {}", new.role))
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(id)
}
