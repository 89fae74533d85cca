//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s): enrolment with a QR code,
//! checking a code once only, and turning it off where the role allows.

use rand::rngs::OsRng;
use rand::RngCore;
use telemed_domain::audit::Outcome;
use telemed_domain::{Error, Result};
use telemed_store::blobs::totp_purpose;
use telemed_store::sessions::{self, Session, SessionStage};
use telemed_store::users::{self, User};
use telemed_store::{Conn, DbResult as _};
use totp_rs::{Algorithm, Secret, TOTP};

use super::recovery;
use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::crypto::constant_time_eq;
use crate::AppState;

const STEP_SECONDS: u64 = 30;

fn totp(secret_b32: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .map_err(|_| Error::internal("corrupt TOTP secret"))?;
    TOTP::new(Algorithm::SHA1, 6, 0, STEP_SECONDS, bytes)
        .map_err(|e| Error::internal(format!("TOTP: {e}")))
}

/// Which time step, of the one now and its neighbours (clock drift), `code` belongs to.
fn matching_step(secret_b32: &str, code: &str, unix_seconds: i64) -> Result<Option<i64>> {
    let totp = totp(secret_b32)?;
    let now_step = unix_seconds.max(0) / STEP_SECONDS as i64;
    for step in [now_step - 1, now_step, now_step + 1] {
        let expected = totp.generate(step.max(0) as u64 * STEP_SECONDS);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

fn is_totp_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a TOTP code (each accepted at most once) or uses up a recovery code. Returns
/// which of the two it was, or `None` when neither.
pub async fn check_second_factor(
    state: &AppState,
    conn: &mut Conn,
    user: &User,
    code: &str,
) -> Result<Option<&'static str>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let now = state.clock.now();
    if is_totp_code(&code) {
        let Some(stored) = user.totp_secret.as_deref().filter(|_| user.mfa_enabled()) else {
            return Ok(None);
        };
        let secret = open_secret(state, user, stored)?;
        return match matching_step(&secret, &code, now.timestamp())? {
            Some(step) if users::claim_totp_step(conn, user.id, step).await? => Ok(Some("totp")),
            _ => Ok(None),
        };
    }
    if users::consume_recovery_code(conn, user.id, &recovery::hash(&code), now).await? {
        return Ok(Some("recovery_code"));
    }
    Ok(None)
}

pub struct Enrollment {
    pub secret: String,
    pub otpauth_url: String,
    /// An SVG QR code of `otpauth_url`, as a `data:` URI for an `<img>`.
    pub qr_data_uri: String,
}

/// Makes a new, not yet active secret for `user` (replacing any earlier unconfirmed one).
pub async fn start_enrollment(state: &AppState, user: &User) -> Result<Enrollment> {
    if user.mfa_enabled() {
        return Err(Error::Conflict(
            "two-step verification is on already".into(),
        ));
    }
    let mut raw = [0u8; 20];
    OsRng.fill_bytes(&mut raw);
    let Secret::Encoded(secret) = Secret::Raw(raw.to_vec()).to_encoded() else {
        return Err(Error::internal("TOTP secret encoding"));
    };
    let sealed = state
        .blobs
        .seal_secret(&totp_purpose(&user.id.to_string()), &secret)?;
    let mut tx = state.store.begin_write().await?;
    users::set_pending_totp(&mut tx, user.id, &sealed, state.clock.now()).await?;
    tx.commit().await.db()?;
    enrollment_for(user, secret)
}

/// The enrolment in progress (after a wrong code, to try again with the same secret).
pub fn pending_enrollment(state: &AppState, user: &User) -> Result<Option<Enrollment>> {
    match user.totp_secret.as_deref().filter(|_| !user.mfa_enabled()) {
        Some(stored) => enrollment_for(user, open_secret(state, user, stored)?).map(Some),
        None => Ok(None),
    }
}

/// A user's TOTP seed as stored (sealed under the master key), opened.
fn open_secret(state: &AppState, user: &User, stored: &str) -> Result<String> {
    state
        .blobs
        .open_secret(&totp_purpose(&user.id.to_string()), stored)
}

fn enrollment_for(user: &User, secret: String) -> Result<Enrollment> {
    let issuer = "telemed";
    let otpauth_url = format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
        account = percent_encode(user.email.as_str()),
    );
    let qr_data_uri = qr_svg_data_uri(&otpauth_url)?;
    Ok(Enrollment {
        secret,
        otpauth_url,
        qr_data_uri,
    })
}

/// Confirms enrolment with a code from the app: turns MFA on, issues recovery codes
/// (returned to show once) and, if this session was waiting for enrolment, opens it.
pub async fn confirm_enrollment(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    session: &Session,
    code: &str,
) -> Result<Option<Vec<String>>> {
    let Some(stored) = user.totp_secret.as_deref().filter(|_| !user.mfa_enabled()) else {
        return Err(Error::Conflict("start the set-up again".into()));
    };
    let secret = open_secret(state, user, stored)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let now = state.clock.now();
    let event = Event::new(ctx, now, "auth.mfa_enroll", "user")
        .by(user.id, user.role)
        .on(user.id);
    let step = if is_totp_code(&code) {
        matching_step(&secret, &code, now.timestamp())?
    } else {
        None
    };
    let mut change = Change::begin(state).await?;
    let Some(step) = step else {
        change.audit(event.outcome(Outcome::Failure).detail("wrong_code"));
        change.commit().await?;
        return Ok(None);
    };
    users::enable_mfa(change.tx(), user.id, now).await?;
    users::claim_totp_step(change.tx(), user.id, step).await?;
    let codes = recovery::generate();
    let hashes: Vec<String> = codes.iter().map(|c| recovery::hash(c)).collect();
    users::replace_recovery_codes(change.tx(), user.id, &hashes).await?;
    let mut records = vec![event.build()];
    if session.stage == SessionStage::MfaEnroll {
        sessions::set_stage(change.tx(), session.id, SessionStage::Active).await?;
        users::remember_time_zone(change.tx(), user.id, ctx.browser_zone()).await?;
        let signed_in = Event::new(ctx, now, "auth.sign_in", "session")
            .by(user.id, user.role)
            .on(session.id);
        records.push(signed_in.detail("password + totp (enrolment)").build());
    }
    change.audit_all(records);
    change.commit().await?;
    Ok(Some(codes))
}

/// Turns MFA off, for roles that may go without it, after a valid code.
pub async fn disable(state: &AppState, ctx: &Ctx, user: &User, code: &str) -> Result<bool> {
    if user.role.requires_mfa() {
        return Err(Error::Forbidden);
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let event = Event::new(ctx, now, "auth.mfa_disable", "user")
        .by(user.id, user.role)
        .on(user.id);
    if check_second_factor(state, change.tx(), user, code)
        .await?
        .is_none()
    {
        change.rollback().await?;
        state
            .store
            .append_audit(&[event.outcome(Outcome::Failure).detail("wrong_code").build()])
            .await?;
        return Ok(false);
    }
    users::disable_mfa(change.tx(), user.id, now).await?;
    change.audit(event);
    change.commit().await?;
    Ok(true)
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Renders `text` as a QR code in SVG (dark modules as one path), base64 in a data URI.
fn qr_svg_data_uri(text: &str) -> Result<String> {
    use base64::Engine;
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium)
        .map_err(|e| Error::internal(format!("QR: {e:?}")))?;
    let border = 4;
    let size = qr.size() + border * 2;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    );
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_neighbours_only() {
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let t = 1_800_000_000i64;
        let code = totp(secret).unwrap().generate(t as u64);
        assert_eq!(matching_step(secret, &code, t).unwrap(), Some(t / 30));
        assert_eq!(matching_step(secret, &code, t + 30).unwrap(), Some(t / 30));
        assert_eq!(matching_step(secret, &code, t + 90).unwrap(), None);
        assert!(is_totp_code("123456") && !is_totp_code("12345a") && !is_totp_code("1234567"));
    }

    #[test]
    fn qr_is_an_svg_data_uri() {
        let uri = qr_svg_data_uri("otpauth://totp/telemed:a%40b.org?secret=ABC").unwrap();
        assert!(uri.starts_with("data:image/svg+xml;base64,"));
        assert_eq!(percent_encode("a@b.org"), "a%40b.org");
    }
}
