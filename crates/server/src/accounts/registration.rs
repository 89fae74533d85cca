//! Joining and recovering: patient self-registration with email verification, accepting
//! an invitation, and password reset. Answers never reveal whether an email has an
//! account: an existing address gets an email instead of an error.

use chrono::Duration;
use telemed_domain::audit::Outcome;
use telemed_domain::{Email, Error, Result, Role};
use telemed_store::one_time::{self, Purpose};
use telemed_store::users::{self, validate_display_name, NewUser};
use telemed_store::{invitations, sessions};

use super::signin::{hash_blocking, send_verification};
use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::crypto::{random_token, token_hash};
use crate::i18n::Lang;
use crate::mail::{self, Mail};
use crate::rate_limits::{self, Use};
use crate::AppState;

pub struct Registration<'a> {
    pub display_name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub lang: Lang,
}

/// Registers a patient and emails a verification link. Invalid input is an error; an
/// email that has an account already gets a notice by email, and the caller sees the
/// same success as for a new account.
pub async fn register_patient(state: &AppState, ctx: &Ctx, r: Registration<'_>) -> Result<()> {
    let name = validate_display_name(r.display_name)?;
    let email = Email::parse(r.email)?;
    let password = super::new_password(r.password, &email, &name)?;
    rate_limits::spend(state, &[Use::EmailRequestFrom(ctx), Use::EmailTo(&email)]).await?;
    let hash = hash_blocking(password.expose()).await?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let new = new_patient(&email, &name, &hash, r.lang);
    match users::insert(change.tx(), new, now).await {
        Ok(id) => {
            let user = state.store_user_in(change.tx(), id).await?;
            send_verification(state, change.tx(), &user, ctx.clinic.letter(r.lang)).await?;
            let record = Event::new(ctx, now, "user.register", "user")
                .by(id, Role::Patient)
                .on(id)
                .patient(id)
                .build();
            change.audit(record);
        }
        Err(Error::Conflict(_)) => {
            let base = &state.config.public_url;
            let (sign_in, reset) = (format!("{base}/login"), format!("{base}/password/forgot"));
            mail::enqueue(
                change.tx(),
                &email,
                Mail::AccountExists {
                    sign_in: &sign_in,
                    reset: &reset,
                },
                ctx.clinic.letter(r.lang),
                now,
            )
            .await?;
            let record = Event::new(ctx, now, "user.register", "user")
                .outcome(Outcome::Failure)
                .detail("email_taken")
                .build();
            change.audit(record);
        }
        Err(e) => return Err(e),
    }
    change.commit().await?;
    state.mail_wake.notify_one();
    Ok(())
}

/// A patient account as a patient makes it: the address not verified yet.
fn new_patient<'a>(email: &'a Email, name: &'a str, hash: &'a str, lang: Lang) -> NewUser<'a> {
    NewUser {
        email,
        display_name: name,
        role: Role::Patient,
        password_hash: hash,
        email_verified: false,
        locale: lang.code(),
        name: None,
    }
}

/// A new patient who signs in with emailed codes (to be seen on demand without a
/// password first): the account, with a random password nobody knows (a code or a
/// password reset opens it), and a code, which verifies the address when used. An
/// address that has an account gets a code if it is a patient's, as
/// `signin::send_sign_in_code`, and nothing else; the answer is the same.
pub async fn register_for_code(
    state: &AppState,
    ctx: &Ctx,
    display_name: &str,
    email: &str,
    lang: Lang,
) -> Result<()> {
    let name = validate_display_name(display_name)?;
    let email = Email::parse(email)?;
    rate_limits::spend(state, &[Use::EmailRequestFrom(ctx), Use::EmailTo(&email)]).await?;
    if let Some(user) = state.store.user_by_email(&email).await? {
        if !super::signin::gets_codes(&user) {
            return Ok(());
        }
        let change = Change::begin(state).await?;
        return super::signin::queue_sign_in_code(
            state,
            ctx,
            change,
            &user,
            super::signin::CodeRoute::AsChosen,
        )
        .await;
    }
    let unknown_password = hash_blocking(&random_token("")).await?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let new = new_patient(&email, &name, &unknown_password, lang);
    let id = match users::insert(change.tx(), new, now).await {
        Ok(id) => id,
        // Registered a moment ago by another request, which sent the code.
        Err(Error::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    let user = state.store_user_in(change.tx(), id).await?;
    let record = Event::new(ctx, now, "user.register", "user")
        .by(id, Role::Patient)
        .on(id)
        .patient(id)
        .detail("sign-in code")
        .build();
    change.audit(record);
    super::signin::queue_sign_in_code(
        state,
        ctx,
        change,
        &user,
        super::signin::CodeRoute::AsChosen,
    )
    .await
}

/// Confirms an address from its emailed link. False when the link is not valid now.
pub async fn confirm_email(state: &AppState, ctx: &Ctx, token: &str) -> Result<bool> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let Some(user_id) =
        one_time::consume(change.tx(), Purpose::VerifyEmail, &token_hash(token), now).await?
    else {
        return Ok(false);
    };
    users::mark_email_verified(change.tx(), user_id, now).await?;
    let user = state.store_user_in(change.tx(), user_id).await?;
    let mut event = Event::new(ctx, now, "user.verify_email", "user")
        .by(user.id, user.role)
        .on(user.id);
    if user.role == Role::Patient {
        event = event.patient(user.id);
    }
    change.audit(event);
    change.commit().await?;
    Ok(true)
}

/// Emails a reset link if the address has an active account; answers the same either
/// way, and counts the request against the client address and the address either way.
pub async fn request_password_reset(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
    lang: Lang,
) -> Result<()> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    rate_limits::spend(state, &[Use::EmailRequestFrom(ctx), Use::EmailTo(&email)]).await?;
    let Some(user) = state
        .store
        .user_by_email(&email)
        .await?
        .filter(|u| u.disabled_at.is_none())
    else {
        return Ok(());
    };
    let now = state.clock.now();
    let token = random_token("");
    let link = format!("{}/password/reset?token={token}", state.config.public_url);
    let lang = Lang::from_code(&user.locale).unwrap_or(lang);
    let mut change = Change::begin(state).await?;
    one_time::insert(
        change.tx(),
        Purpose::ResetPassword,
        user.id,
        &token_hash(&token),
        now,
        now + Duration::hours(1),
    )
    .await?;
    let mail = Mail::ResetPassword { link: &link };
    let action = "auth.password_reset_request";
    super::mail_on_request(state, ctx, change, &user, mail, lang, action).await
}

/// Sets a new password from a reset link, signs every session out, revokes every API
/// token and app grant, and lifts a lockout.
/// False when the link is not valid now; a weak password is an error and uses nothing up.
pub async fn reset_password(
    state: &AppState,
    ctx: &Ctx,
    token: &str,
    password: &str,
) -> Result<bool> {
    let now = state.clock.now();
    let hash = token_hash(token);
    let mut change = Change::begin(state).await?;
    let Some(user_id) = one_time::consume(change.tx(), Purpose::ResetPassword, &hash, now).await?
    else {
        return Ok(false);
    };
    let user = state.store_user_in(change.tx(), user_id).await?;
    let password = super::new_password(password, &user.email, &user.display_name)?;
    let password_hash = hash_blocking(password.expose()).await?;
    users::set_password_hash(change.tx(), user.id, &password_hash, now).await?;
    one_time::void_all(change.tx(), Purpose::ResetPassword, user.id, now).await?;
    sessions::revoke_all(change.tx(), user.id, now).await?;
    let (tokens, grants) = telemed_store::tokens::revoke_all_of(change.tx(), user.id, now).await?;
    telemed_store::throttle::clear(
        change.tx(),
        &token_hash(&format!("account:{}", user.email.as_str())),
    )
    .await?;
    let record = Event::new(ctx, now, "auth.password_reset", "user")
        .by(user.id, user.role)
        .on(user.id)
        .detail(format!("revoked {tokens} API tokens, {grants} app grants"))
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(true)
}

/// Creates the invited person's account. `None` when the link is not valid now.
pub async fn accept_invitation(
    state: &AppState,
    ctx: &Ctx,
    token: &str,
    display_name: &str,
    password: &str,
) -> Result<Option<Role>> {
    let now = state.clock.now();
    let name = validate_display_name(display_name)?;
    let Some(pending) = state
        .store
        .pending_invitation(&token_hash(token), now)
        .await?
    else {
        return Ok(None);
    };
    let password = super::new_password(password, &pending.email, &name)?;
    let password_hash = hash_blocking(password.expose()).await?;
    let mut change = Change::begin(state).await?;
    let Some(invitation) = invitations::accept(change.tx(), &token_hash(token), now).await? else {
        return Ok(None);
    };
    let new = NewUser {
        email: &invitation.email,
        display_name: &name,
        role: invitation.role,
        password_hash: &password_hash,
        email_verified: true,
        locale: ctx.lang.code(),
        name: None,
    };
    let id = users::insert(change.tx(), new, now).await?;
    let record = Event::new(ctx, now, "user.create", "user")
        .by(id, invitation.role)
        .on(id)
        .detail(format!(
            "invitation {}; role {}",
            invitation.id, invitation.role
        ))
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(Some(invitation.role))
}

impl AppState {
    /// Reads a user inside a transaction (sees the transaction's own writes).
    pub(crate) async fn store_user_in(
        &self,
        conn: &mut telemed_store::Conn,
        id: telemed_domain::UserId,
    ) -> Result<users::User> {
        users::by_id_in(conn, id).await?.ok_or(Error::NotFound)
    }
}
