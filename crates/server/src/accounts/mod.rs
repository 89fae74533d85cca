//! Account services shared by the web UI, the API and the command line: sign-in with
//! throttling and MFA, registration and verification, password reset, invitations,
//! role changes, API tokens. Each write commits with its audit entry.

pub mod admin;
pub mod api_tokens;
pub mod mfa;
pub mod mobile;
pub mod recovery;
pub mod registration;
pub mod signin;

use telemed_domain::password::NewPassword;
use telemed_domain::{Email, Result};
use telemed_store::users::User;

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::i18n::Lang;
use crate::mail::{self, Mail};
use crate::AppState;

/// Parses a new password against the policy, with the person's own email and name as
/// words it must not lean on.
pub fn new_password(raw: &str, email: &Email, name: &str) -> Result<NewPassword> {
    let local = email.as_str().split('@').next().unwrap_or_default();
    NewPassword::parse(raw, &[email.as_str(), local, name])
}

/// Queues `mail` to the account that asked for it (a reset link, a sign-in code) in
/// `change`, with the request's audit entry (`action`, by and on the account), commits
/// and wakes the mail sender.
async fn mail_on_request(
    state: &AppState,
    ctx: &Ctx,
    mut change: Change,
    user: &User,
    mail: Mail<'_>,
    lang: Lang,
    action: &str,
) -> Result<()> {
    let now = state.clock.now();
    mail::enqueue(change.tx(), &user.email, mail, ctx.clinic.letter(lang), now).await?;
    commit_request(state, ctx, change, user, action).await
}

/// Commits `change` with the request's audit entry (`action`, by and on the account)
/// and wakes the senders of what it queued.
async fn commit_request(
    state: &AppState,
    ctx: &Ctx,
    mut change: Change,
    user: &User,
    action: &str,
) -> Result<()> {
    let now = state.clock.now();
    let record = Event::new(ctx, now, action, "user")
        .by(user.id, user.role)
        .on(user.id)
        .build();
    change.audit(record);
    change.commit().await?;
    state.mail_wake.notify_one();
    state.sms_wake.notify_one();
    Ok(())
}
