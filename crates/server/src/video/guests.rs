//! Guests of a visit (an interpreter, a family member, a second clinician): the
//! clinician makes a single-use link that expires; opening it (a POST, so a mail
//! scanner that fetches the link spends nothing) gives that browser a pass for this
//! visit only, in an HttpOnly cookie. The pass stops working when the link is revoked
//! or the call ends. Guests wait in the waiting room like the patient.

use chrono::Duration;
use telemed_domain::{AppointmentId, Error, GuestId, Result};
use telemed_store::scheduling::Appointment;
use telemed_store::visits::{self, Invite, NewInvite};

use super::Room;
use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::crypto::{random_token, token_hash};
use crate::AppState;

/// The cookie holding a guest's pass.
pub const GUEST_COOKIE: &str = "telemed_guest";
/// Links one visit may have outstanding (unused and not revoked).
const MAX_OPEN_LINKS: usize = 6;
const MAX_LABEL_CHARS: usize = 80;

/// A new link; `url` is shown once to the clinician and never stored.
pub struct NewLink {
    pub invite: Invite,
    pub url: String,
}

/// The clinician invites someone to the call. `label` says who they are for the
/// people in the call (e.g. "Interpreter (Spanish)").
pub async fn invite(state: &AppState, ctx: &Ctx, room: &Room, label: &str) -> Result<NewLink> {
    room.require_host()?;
    let label = label.trim();
    if label.is_empty()
        || label.chars().count() > MAX_LABEL_CHARS
        || label.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "label",
            format!("say who the guest is, in up to {MAX_LABEL_CHARS} characters"),
        ));
    }
    let now = state.clock.now();
    let open = state
        .store
        .invites_for(room.id())
        .await?
        .iter()
        .filter(|i| i.used_at.is_none() && i.revoked_at.is_none() && i.expires_at > now)
        .count();
    if open >= MAX_OPEN_LINKS {
        return Err(Error::Conflict(format!(
            "this visit has {MAX_OPEN_LINKS} unused links; revoke one first"
        )));
    }
    let token = random_token("tm_vis_");
    let expires_at = (now + Duration::hours(state.config.video.invite_hours))
        .min(room.appointment.end_at + Duration::hours(super::OVERRUN_HOURS));
    let mut change = Change::begin(state).await?;
    let invite = visits::insert_invite(
        change.tx(),
        NewInvite {
            appointment: room.id(),
            label,
            token_hash: &token_hash(&token),
            created_by: room.appointment.clinician_id,
            expires_at,
        },
        now,
    )
    .await?;
    let detail = format!("guest {}", invite.guest);
    let record = room.audit(ctx, now, "visit.invite", &detail);
    change.audit(record);
    change.commit().await?;
    Ok(NewLink {
        url: format!("{}/visits/join/{token}", state.config.public_url),
        invite,
    })
}

/// The invite behind a link, without spending it (to show the landing page).
pub async fn pending(state: &AppState, token: &str) -> Result<Invite> {
    let now = state.clock.now();
    state
        .store
        .invite_by_token(&token_hash(token))
        .await?
        .filter(|i| i.used_at.is_none() && i.revoked_at.is_none() && i.expires_at > now)
        .ok_or(Error::NotFound)
}

/// The visit an invitation (found by its secret, `pending` or `by_pass`) is for.
pub async fn invited_visit(state: &AppState, invite: &Invite) -> Result<Appointment> {
    let reach = telemed_domain::access::invited_guest(invite.appointment);
    state
        .store
        .appointment(&reach, invite.appointment)
        .await?
        .ok_or(Error::NotFound)
}

/// Spends a link: returns the invite and the pass secret for the guest's cookie.
pub async fn spend(state: &AppState, ctx: &Ctx, token: &str) -> Result<(Invite, String)> {
    let now = state.clock.now();
    let pass = random_token("tm_gst_");
    let mut change = Change::begin(state).await?;
    let invite = visits::use_invite(change.tx(), &token_hash(token), &token_hash(&pass), now)
        .await?
        .ok_or(Error::NotFound)?;
    let record = Event::new(ctx, now, "visit.invite_used", "appointment")
        .on(invite.appointment)
        .detail(format!("guest {}", invite.guest));
    change.audit(record);
    change.commit().await?;
    Ok((invite, pass))
}

/// The invite a guest's pass belongs to, while it is good.
pub async fn by_pass(state: &AppState, pass: &str) -> Result<Option<Invite>> {
    if pass.is_empty() {
        return Ok(None);
    }
    state.store.invite_by_pass(&token_hash(pass)).await
}

/// The clinician withdraws a link or a guest's pass; a guest in the call is cut off at
/// their next heartbeat.
pub async fn revoke(state: &AppState, ctx: &Ctx, room: &Room, guest: GuestId) -> Result<()> {
    room.require_host()?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    if !visits::revoke_invite(change.tx(), room.id(), guest, now).await? {
        return Err(Error::NotFound);
    }
    let detail = format!("guest {guest}");
    let record = room.audit(ctx, now, "visit.invite_revoke", &detail);
    change.audit(record);
    change.commit().await
}

/// The `Set-Cookie` value for a guest's pass, for the rest of the visit's day.
pub fn pass_cookie(pass: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{GUEST_COOKIE}={pass}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400{secure}")
}

/// Where a guest goes once their link is spent.
pub fn room_path(appointment: AppointmentId) -> String {
    format!("/visits/{appointment}/room")
}
