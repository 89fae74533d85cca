//! `GET /ws`: the one live connection per browser tab. A browser authenticates with its
//! session cookie and must come from this site's origin (another site cannot ride the
//! cookie); an API client sends its bearer token instead. Anything else is refused
//! before the upgrade, and an address that keeps failing is turned away for a minute.
//!
//! A visit's guest (no account) connects with the pass their invite link gave them.
//!
//! Once open: the server says `{"type":"ready"}`, then sends events as JSON text. It
//! pings every 20 s and closes a connection it has heard nothing from for 60 s, or whose
//! session, token or pass has ended (signed out, revoked, timed out): checked at each
//! ping, and at once when this node revokes a token or changes an account's standing
//! (`CredentialsEpoch`); a session signed out elsewhere ends at the next ping. Clients may send
//! `{"type":"ping"}` and get `{"type":"pong"}`, and the video frames of
//! `video::signal`; frames over 64 KiB, or more than 200 frames in 10 s, close the
//! connection.

use std::net::IpAddr;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt as _, StreamExt as _};
use tokio::time::{Duration, Instant};

use super::bus::Listener;
use super::hub::{Outgoing, Registration};
use crate::auth::{ApiUser, SignedIn, SESSION_COOKIE};
use crate::context::{cookie, Ctx};
use crate::crypto::token_hash;
use crate::error::AppError;
use crate::video::guests::GUEST_COOKIE;
use crate::video::signal::Signaling;
use crate::video::Caller;
use crate::AppState;

const HEARTBEAT: Duration = Duration::from_secs(20);
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_FRAME: usize = 64 * 1024;
const READ_BUFFER: usize = 4 * 1024;

/// Close codes (4000–4999 are the application's).
const CLOSE_SIGNED_OUT: u16 = 4001;
const CLOSE_TOO_SLOW: u16 = 4002;
const CLOSE_IDLE: u16 = 4003;
const CLOSE_FLOOD: u16 = 4004;

/// Frames a client may send per `FLOOD_WINDOW` (ICE candidates come in bursts of tens).
const MAX_FRAMES_PER_WINDOW: u32 = 200;
const FLOOD_WINDOW: Duration = Duration::from_secs(10);

/// What keeps a connection alive (hashes of the secrets), re-checked at each heartbeat.
enum Credential {
    Session(String),
    Token(String),
    GuestPass(String),
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        message.to_owned(),
    )
        .into_response()
}

/// Whether the request's Origin is this site: the public URL, or the host the request
/// was sent to (required with a cookie, so another site's page cannot use it).
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if origin == public_url.trim_end_matches('/') {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

pub async fn connect(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    session: Result<SignedIn, Response>,
    token: Result<ApiUser, AppError>,
) -> Response {
    let addr: Option<IpAddr> = ctx.client_addr.as_deref().and_then(|a| a.parse().ok());
    let Ok(upgrade) = upgrade else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "this address takes a WebSocket connection",
        );
    };
    if !state.hub.allow_attempt(addr) {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many refused connections; wait a minute",
        );
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| token_hash(t.trim()));
    let pass = cookie(&headers, GUEST_COOKIE).unwrap_or_default();
    let guest = match (&token, &session, pass.is_empty()) {
        (Err(_), Err(_), false) => crate::video::guests::by_pass(&state, pass)
            .await
            .ok()
            .flatten(),
        _ => None,
    };
    let cookie_based = token.is_err();
    if cookie_based
        && (session.is_ok() || guest.is_some())
        && !same_origin(&headers, &state.config.public_url)
    {
        state.hub.note_refused(addr);
        return refuse(StatusCode::FORBIDDEN, "connect from this site's pages");
    }
    let (listener, caller, credential) = match (token, session, guest) {
        (Ok(api), _, _) => (
            Listener::User(api.user.id),
            Caller::User(api.user.id),
            Credential::Token(bearer.unwrap_or_default()),
        ),
        (Err(_), Ok(signed_in), _) => {
            let secret = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
            (
                Listener::User(signed_in.user.id),
                Caller::User(signed_in.user.id),
                Credential::Session(token_hash(secret)),
            )
        }
        (Err(_), Err(_), Some(invite)) => (
            Listener::Guest(invite.guest),
            Caller::Guest(invite),
            Credential::GuestPass(token_hash(pass)),
        ),
        (Err(_), Err(_), None) => {
            state.hub.note_refused(addr);
            return refuse(StatusCode::UNAUTHORIZED, "sign in first");
        }
    };
    let Some(registration) = state.hub.register(listener) else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many open connections; close some tabs",
        );
    };
    let signaling = Signaling::new(caller, ctx);
    upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        // Events are small: modest buffers keep an idle connection cheap.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| serve(state, socket, registration, credential, signaling))
}

/// Whether the session, token or pass the connection opened with is still good.
async fn still_valid(state: &AppState, credential: &Credential) -> bool {
    let now = state.clock.now();
    match credential {
        Credential::Session(hash) => {
            let idle_since =
                now - chrono::Duration::minutes(state.config.session.idle_timeout_minutes);
            matches!(
                state.store.live_session(hash, now, idle_since).await,
                Ok(Some(_))
            )
        }
        Credential::Token(hash) => matches!(
            state.store.live_api_token_with_user(hash, now).await,
            Ok(Some((_, u))) if u.disabled_at.is_none()
        ),
        Credential::GuestPass(hash) => {
            matches!(state.store.invite_by_pass(hash).await, Ok(Some(_)))
        }
    }
}

async fn serve(
    state: AppState,
    socket: WebSocket,
    mut registration: Registration,
    credential: Credential,
    mut signaling: Signaling,
) {
    let (mut sink, mut stream) = socket.split();
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    if sink
        .send(Message::Text(r#"{"type":"ready"}"#.into()))
        .await
        .is_err()
    {
        return;
    }
    state.metrics.live_connections(1);
    let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
    // A credential revoked on this node (a token, an account disabled, a role changed)
    // closes the connection at once; on another node, at the next heartbeat.
    let mut credentials = state.store.credentials_epoch().changes();
    let mut last_heard = Instant::now();
    let mut window = (Instant::now(), 0u32);
    loop {
        tokio::select! {
            out = registration.rx.recv() => match out {
                Some(Outgoing::Event(text)) => {
                    if sink.send(Message::Text(text.as_ref().into())).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _ = sink.send(close(CLOSE_TOO_SLOW, "too slow; reconnect")).await;
                    break;
                }
            },
            incoming = stream.next() => match incoming {
                Some(Ok(message)) => {
                    last_heard = Instant::now();
                    match message {
                        Message::Close(_) => break,
                        Message::Text(text) => {
                            if window.0.elapsed() > FLOOD_WINDOW {
                                window = (Instant::now(), 0);
                            }
                            window.1 += 1;
                            if window.1 > MAX_FRAMES_PER_WINDOW {
                                let _ = sink.send(close(CLOSE_FLOOD, "too many frames")).await;
                                break;
                            }
                            let sent = match signaling.handle(&state, text.as_str()).await {
                                Some(reply) => sink.send(Message::Text(reply.into())).await.is_ok(),
                                None => true,
                            };
                            if !sent {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                // Oversized frames and protocol errors end here too.
                Some(Err(_)) | None => break,
            },
            changed = credentials.changed() => {
                if changed.is_err() || !still_valid(&state, &credential).await {
                    let _ = sink.send(close(CLOSE_SIGNED_OUT, "signed out")).await;
                    break;
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT {
                    let _ = sink.send(close(CLOSE_IDLE, "no answer")).await;
                    break;
                }
                if !still_valid(&state, &credential).await {
                    let _ = sink.send(close(CLOSE_SIGNED_OUT, "signed out")).await;
                    break;
                }
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    signaling.close(&state).await;
    state.metrics.live_connections(-1);
}
