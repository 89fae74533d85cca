//! Signing in: password, then (where enrolled) a TOTP or recovery code. Failures are
//! counted per account and per client address and lock both for a while, with the same
//! answer whether or not the account exists.

use chrono::Duration;
use telemed_domain::audit::Outcome;
use telemed_domain::{Email, Result, Role};
use telemed_store::sessions::{self, NewSession, Session, SessionStage};
use telemed_store::throttle::{self, ThrottleRule};
use telemed_store::users::{self, User};
use telemed_store::{one_time, Conn};

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::crypto::{self, random_token, token_hash};
use crate::i18n::Lang;
use crate::mail::{self, Mail};
use crate::rate_limits::{self, Use};
use crate::AppState;

/// Why a sign-in did not go through. Only `Failed` and `Locked` are shown before the
/// password is known to be right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Failed,
    Locked,
    Unverified,
    Disabled,
}

/// A new session: the cookie secret for the browser and what it may do yet.
pub struct StartedSession {
    pub cookie: String,
    pub stage: SessionStage,
    pub user: User,
}

fn throttle_key(kind: &str, value: &str) -> String {
    token_hash(&format!("{kind}:{value}"))
}

impl AppState {
    fn account_rule(&self) -> ThrottleRule {
        let l = &self.config.login;
        ThrottleRule {
            max_events: l.max_failures_per_account,
            window: Duration::minutes(l.failure_window_minutes),
            lockout: Duration::minutes(l.lockout_minutes),
        }
    }

    fn address_rule(&self) -> ThrottleRule {
        ThrottleRule {
            max_events: self.config.login.max_failures_per_address,
            ..self.account_rule()
        }
    }
}

/// The throttle keys of one attempt: the account named and the client address.
struct Keys {
    account: String,
    address: Option<String>,
}

impl Keys {
    fn of(email: &str, ctx: &Ctx) -> Self {
        Keys {
            account: throttle_key("account", &email.trim().to_lowercase()),
            address: ctx
                .client_addr
                .as_deref()
                .map(|a| throttle_key("address", a)),
        }
    }

    async fn locked(&self, state: &AppState) -> Result<bool> {
        let now = state.clock.now();
        if state
            .store
            .throttle_locked_until(&self.account, now)
            .await?
            .is_some()
        {
            return Ok(true);
        }
        match &self.address {
            Some(a) => Ok(state.store.throttle_locked_until(a, now).await?.is_some()),
            None => Ok(false),
        }
    }

    /// Counts the failure and audits it in one transaction.
    async fn fail(&self, state: &AppState, event: Event) -> Result<()> {
        let now = state.clock.now();
        let mut change = Change::begin(state).await?;
        throttle::count_event(change.tx(), &self.account, state.account_rule(), now).await?;
        if let Some(a) = &self.address {
            throttle::count_event(change.tx(), a, state.address_rule(), now).await?;
        }
        change.audit(event.outcome(Outcome::Failure));
        change.commit().await
    }
}

/// The start of every sign-in attempt: its throttle keys and audit event, refused (and
/// audited) while the account or address is locked, and the account the address
/// names, if any.
async fn begin_attempt(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
) -> Result<std::result::Result<(Keys, Event, Option<User>), Refusal>> {
    let keys = Keys::of(email, ctx);
    let event = Event::new(ctx, state.clock.now(), "auth.sign_in", "session");
    if keys.locked(state).await? {
        state
            .store
            .append_audit(&[event.outcome(Outcome::Denied).detail("locked").build()])
            .await?;
        return Ok(Err(Refusal::Locked));
    }
    let user = match Email::parse(email) {
        Ok(e) => state.store.user_by_email(&e).await?,
        Err(_) => None,
    };
    Ok(Ok((keys, event, user)))
}

pub async fn sign_in(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
    password: &str,
) -> Result<std::result::Result<StartedSession, Refusal>> {
    let (keys, event, user) = match begin_attempt(state, ctx, email).await? {
        Ok(attempt) => attempt,
        Err(refusal) => return Ok(Err(refusal)),
    };
    // Verify against a dummy hash when there is no account, so timing does not tell.
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.as_str())
        .unwrap_or_else(|| crypto::dummy_password_hash());
    let password_ok = verify_blocking(password, stored).await && user.is_some();
    let Some(user) = user.filter(|_| password_ok) else {
        keys.fail(state, event.detail("bad_credentials")).await?;
        return Ok(Err(Refusal::Failed));
    };
    let event = event.by(user.id, user.role).on(user.id);
    if user.disabled_at.is_some() {
        keys.fail(state, event.detail("disabled")).await?;
        return Ok(Err(Refusal::Disabled));
    }
    if user.email_verified_at.is_none() {
        let mut change = Change::begin(state).await?;
        let lang = Lang::from_code(&user.locale).unwrap_or(ctx.lang);
        send_verification(state, change.tx(), &user, ctx.clinic.letter(lang)).await?;
        change.audit(event.outcome(Outcome::Failure).detail("email_unverified"));
        change.commit().await?;
        state.mail_wake.notify_one();
        return Ok(Err(Refusal::Unverified));
    }
    open_session(state, ctx, &keys, user, "password", None).await
}

/// Opens the session of someone whose first factor (`how`: "password", "email code")
/// was right: active, or waiting for the second factor (or its enrolment) where the
/// account has or needs one. `code` is the sign-in code to use up in the same
/// transaction, so a code cannot open two sessions.
async fn open_session(
    state: &AppState,
    ctx: &Ctx,
    keys: &Keys,
    user: User,
    how: &str,
    code: Option<&str>,
) -> Result<std::result::Result<StartedSession, Refusal>> {
    let now = state.clock.now();
    let stage = if user.mfa_enabled() {
        SessionStage::MfaPending
    } else if user.role.requires_mfa() {
        SessionStage::MfaEnroll
    } else {
        SessionStage::Active
    };
    let detail = match stage {
        SessionStage::Active => how.to_owned(),
        SessionStage::MfaPending => format!("{how}; second factor pending"),
        SessionStage::MfaEnroll => format!("{how}; second factor enrolment required"),
    };
    let cookie = random_token("");
    let (cookie_hash, csrf_secret) = (token_hash(&cookie), random_token(""));
    let mut change = Change::begin(state).await?;
    if let Some(code) = code {
        let hash = sign_in_code_hash(user.id, code);
        if !one_time::consume_sign_in_code(change.tx(), user.id, &hash, now).await? {
            drop(change);
            let event = Event::new(ctx, now, "auth.sign_in", "session")
                .by(user.id, user.role)
                .on(user.id)
                .detail("bad_code");
            keys.fail(state, event).await?;
            return Ok(Err(Refusal::Failed));
        }
        if user.email_verified_at.is_none() {
            users::mark_email_verified(change.tx(), user.id, now).await?;
        }
    }
    throttle::clear(change.tx(), &keys.account).await?;
    if stage == SessionStage::Active {
        remember_time_zone(change.tx(), ctx, &user).await?;
    }
    let session = sessions::insert(
        change.tx(),
        new_session(state, ctx, &user, &cookie_hash, &csrf_secret, stage),
        now,
    )
    .await?;
    let action = if stage == SessionStage::Active {
        "auth.sign_in"
    } else {
        "auth.password"
    };
    let record = Event::new(ctx, now, action, "session")
        .by(user.id, user.role)
        .on(session)
        .detail(detail)
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(Ok(StartedSession {
        cookie,
        stage,
        user,
    }))
}

fn new_session<'a>(
    state: &AppState,
    ctx: &'a Ctx,
    user: &User,
    cookie_hash: &'a str,
    csrf_secret: &'a str,
    stage: SessionStage,
) -> NewSession<'a> {
    NewSession {
        token_hash: cookie_hash,
        user_id: user.id,
        stage,
        csrf_secret,
        user_agent: &ctx.user_agent,
        client_addr: ctx.client_addr.as_deref().unwrap_or_default(),
        expires_at: state.clock.now()
            + Duration::hours(state.config.session.absolute_lifetime_hours),
    }
}

/// How long an emailed sign-in code is good for.
pub const SIGN_IN_CODE_MINUTES: i64 = 10;

fn sign_in_code_hash(user: telemed_domain::UserId, code: &str) -> String {
    token_hash(&format!("sign-in-code:{user}:{code}"))
}

/// A patient asks for a sign-in code instead of typing a password: six digits to the
/// account's address, valid ten minutes, once. The answer is the same whether or not
/// the address has an account; only enabled patient accounts get a code (clinicians,
/// staff and admins sign in with their password and second factor). Using the code
/// proves the address, so an account not yet verified is verified by it. Requests are
/// limited like other mail sent on request.
pub async fn send_sign_in_code(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
    route: CodeRoute,
) -> Result<()> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    rate_limits::spend(state, &[Use::EmailRequestFrom(ctx), Use::EmailTo(&email)]).await?;
    let Some(user) = state.store.user_by_email(&email).await?.filter(gets_codes) else {
        return Ok(());
    };
    let change = Change::begin(state).await?;
    queue_sign_in_code(state, ctx, change, &user, route).await
}

/// How a sign-in code goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRoute {
    /// As the patient chose: by text, by email, or both.
    AsChosen,
    /// By email only: the patient asked for it there (a text did not arrive).
    ByEmail,
}

/// Whether an account may sign in with emailed codes: an enabled patient's.
pub(super) fn gets_codes(user: &User) -> bool {
    user.role == Role::Patient && user.disabled_at.is_none()
}

/// Queues a sign-in code for `user` (one that `gets_codes`) in `change`, with its audit
/// entry, and commits.
pub(super) async fn queue_sign_in_code(
    state: &AppState,
    ctx: &Ctx,
    mut change: Change,
    user: &User,
    route: CodeRoute,
) -> Result<()> {
    let now = state.clock.now();
    let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
    let lang = Lang::from_code(&user.locale).unwrap_or(ctx.lang);
    one_time::insert_sign_in_code(
        change.tx(),
        user.id,
        &sign_in_code_hash(user.id, &code),
        now,
        now + Duration::minutes(SIGN_IN_CODE_MINUTES),
    )
    .await?;
    // By text when the patient chose it (and has a confirmed number); by email too
    // when they chose both, and always when no text could go.
    let text = crate::sms::Text::SignInCode {
        code: &code,
        minutes: SIGN_IN_CODE_MINUTES,
    };
    let letter = ctx.clinic.letter(lang);
    let texted = route == CodeRoute::AsChosen
        && crate::sms::queue_if_wanted(
            &state.config,
            change.tx(),
            user.id,
            "codes",
            &text,
            letter,
            now,
        )
        .await?;
    if texted && !telemed_store::notifications::wants_email(change.tx(), user.id, "codes").await? {
        return super::commit_request(state, ctx, change, user, "auth.sign_in_code").await;
    }
    let mail = Mail::SignInCode {
        code: &code,
        minutes: SIGN_IN_CODE_MINUTES,
    };
    super::mail_on_request(state, ctx, change, user, mail, lang, "auth.sign_in_code").await
}

/// Signs a patient in with an emailed code in place of the password; the second
/// factor is still asked where the account has one. A wrong, used or expired code
/// counts as a failed sign-in (the same throttle as passwords).
pub async fn sign_in_with_code(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
    code: &str,
) -> Result<std::result::Result<StartedSession, Refusal>> {
    let (keys, event, user) = match begin_attempt(state, ctx, email).await? {
        Ok(attempt) => attempt,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(user) = user.filter(|u| {
        u.role == Role::Patient && code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
    }) else {
        keys.fail(state, event.detail("bad_code")).await?;
        return Ok(Err(Refusal::Failed));
    };
    if user.disabled_at.is_some() {
        let event = event.by(user.id, user.role).on(user.id);
        keys.fail(state, event.detail("disabled")).await?;
        return Ok(Err(Refusal::Disabled));
    }
    open_session(state, ctx, &keys, user, "email code", Some(&code)).await
}

/// Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
pub async fn verify_blocking(password: &str, stored: &str) -> bool {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    tokio::task::spawn_blocking(move || crypto::verify_password(&password, &stored))
        .await
        .unwrap_or(false)
}

pub async fn hash_blocking(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|e| telemed_domain::Error::internal(format!("hashing task: {e}")))?
}

/// Queues a fresh email-verification link for `user`.
pub async fn send_verification(
    state: &AppState,
    conn: &mut telemed_store::Conn,
    user: &User,
    letter: mail::Letter<'_>,
) -> Result<()> {
    let token = random_token("");
    let now = state.clock.now();
    one_time::insert(
        conn,
        one_time::Purpose::VerifyEmail,
        user.id,
        &token_hash(&token),
        now,
        now + Duration::hours(24),
    )
    .await?;
    let link = format!("{}/verify-email?token={token}", state.config.public_url);
    mail::enqueue(
        conn,
        &user.email,
        Mail::VerifyEmail { link: &link },
        letter,
        now,
    )
    .await
}

/// The second step: a TOTP code or a recovery code for a session waiting for it.
/// Wrong codes count against the account like wrong passwords; at the lockout the
/// waiting session is revoked.
pub async fn complete_mfa(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    user: &User,
    code: &str,
) -> Result<std::result::Result<(), Refusal>> {
    let keys = Keys {
        account: throttle_key("account", user.email.as_str()),
        address: None,
    };
    let now = state.clock.now();
    let event = Event::new(ctx, now, "auth.mfa", "session")
        .by(user.id, user.role)
        .on(session.id);
    if keys.locked(state).await? {
        let mut change = Change::begin(state).await?;
        sessions::revoke(change.tx(), user.id, session.id, now).await?;
        change.audit(event.outcome(Outcome::Denied).detail("locked"));
        change.commit().await?;
        return Ok(Err(Refusal::Locked));
    }
    let mut change = Change::begin(state).await?;
    let method = super::mfa::check_second_factor(state, change.tx(), user, code).await?;
    let Some(method) = method else {
        change.rollback().await?;
        keys.fail(state, event.detail("wrong_code")).await?;
        return Ok(Err(Refusal::Failed));
    };
    sessions::set_stage(change.tx(), session.id, SessionStage::Active).await?;
    remember_time_zone(change.tx(), ctx, user).await?;
    throttle::clear(change.tx(), &keys.account).await?;
    let signed_in = Event::new(ctx, now, "auth.sign_in", "session")
        .by(user.id, user.role)
        .on(session.id);
    change.audit(event.detail(method));
    change.audit(signed_in.detail(format!("password + {method}")));
    change.commit().await?;
    Ok(Ok(()))
}

/// Remembers the zone of the browser a session was just opened in (once fully signed
/// in, not on a password alone), for the times the person's emails state.
async fn remember_time_zone(conn: &mut Conn, ctx: &Ctx, user: &User) -> Result<()> {
    users::remember_time_zone(conn, user.id, ctx.browser_zone()).await
}

/// Ends one session (sign out).
pub async fn sign_out(state: &AppState, ctx: &Ctx, session: &Session, role: Role) -> Result<()> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    sessions::revoke(change.tx(), session.user_id, session.id, now).await?;
    let record = Event::new(ctx, now, "auth.sign_out", "session")
        .by(session.user_id, role)
        .on(session.id)
        .build();
    change.audit(record);
    change.commit().await
}
