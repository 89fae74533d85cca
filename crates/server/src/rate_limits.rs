//! Rate limits (`[limits]`) on what sends email or names an email address — sign-ups,
//! password-reset requests, proxy and staff invitations — and on uploads. Each use is
//! counted under every key it touches — the client address, the address written to, the
//! person asking — whether or not an account has that address, so being refused says
//! nothing about who is registered. Counts live in the database, shared by every node.

use chrono::Duration;
use telemed_domain::{Email, Result, Role, UserId};
use telemed_store::throttle::ThrottleRule;

use crate::context::Ctx;
use crate::crypto::token_hash;
use crate::AppState;

/// One thing being counted.
pub enum Use<'a> {
    /// A request that sends email, from the caller's client address.
    EmailRequestFrom(&'a Ctx),
    /// An email to this address, asked for by someone who may not own it.
    EmailTo(&'a Email),
    /// A proxy invitation sent by this person.
    ProxyInvitationBy(UserId),
    /// A staff invitation sent by this admin.
    StaffInvitationBy(UserId),
    /// A request that stores files, by this person in this role.
    UploadBy(UserId, Role),
}

impl Use<'_> {
    /// The hashed key, and the uses an hour it allows; `None` when there is nothing to
    /// count by (a request whose client address is unknown).
    fn key(&self, state: &AppState) -> Option<(String, i64)> {
        let l = &state.config.limits;
        let (kind, value, per_hour) = match self {
            Use::EmailRequestFrom(ctx) => (
                "email-request-from",
                ctx.client_addr.clone()?,
                l.email_requests_per_address,
            ),
            Use::EmailTo(email) => (
                "email-to",
                email.as_str().to_owned(),
                l.emails_per_recipient,
            ),
            Use::ProxyInvitationBy(id) => (
                "proxy-invitation-by",
                id.to_string(),
                l.proxy_invitations_per_person,
            ),
            Use::StaffInvitationBy(id) => (
                "staff-invitation-by",
                id.to_string(),
                l.staff_invitations_per_admin,
            ),
            Use::UploadBy(id, role) => (
                "upload-by",
                id.to_string(),
                match role {
                    Role::Patient => l.uploads_per_hour_patient,
                    _ => l.uploads_per_hour_staff,
                },
            ),
        };
        Some((token_hash(&format!("limit:{kind}:{value}")), per_hour))
    }
}

/// Counts one use under each of `uses`, or refuses with `RateLimited` (429, with the
/// seconds to wait) when any of them is spent, counting nothing.
pub async fn spend(state: &AppState, uses: &[Use<'_>]) -> Result<()> {
    let keys: Vec<(String, ThrottleRule)> = uses
        .iter()
        .filter_map(|u| u.key(state))
        .map(|(key, per_hour)| {
            let rule = ThrottleRule {
                max_events: per_hour,
                window: Duration::hours(1),
                lockout: Duration::hours(1),
            };
            (key, rule)
        })
        .collect();
    state.store.spend(&keys, state.clock.now()).await
}
