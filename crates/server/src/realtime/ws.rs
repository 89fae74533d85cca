//! `GET /ws`: the one live connection per browser tab. A browser authenticates with its
//! session cookie and must come from this site's origin (another site cannot ride the
//! cookie); an API client sends its bearer token instead. Anything else is refused
//! before the upgrade, and an address that keeps failing is turned away for a minute.
//!
//! Once open: the server says `{"type":"ready"}`, then sends events as JSON text. It
//! pings every 20 s and closes a connection it has heard nothing from for 60 s, or whose
//! session or token has ended (signed out, revoked, timed out). Clients may send
//! `{"type":"ping"}` and get `{"type":"pong"}`; frames over 64 KiB close the connection.

use std::net::IpAddr;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt as _, StreamExt as _};
use tokio::time::{Duration, Instant};

use super::hub::{Outgoing, Registration};
use crate::auth::{ApiUser, SignedIn, SESSION_COOKIE};
use crate::context::{cookie, Ctx};
use crate::crypto::token_hash;
use crate::error::AppError;
use crate::AppState;

const HEARTBEAT: Duration = Duration::from_secs(20);
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_FRAME: usize = 64 * 1024;
const READ_BUFFER: usize = 4 * 1024;

/// Close codes (4000–4999 are the application's).
const CLOSE_SIGNED_OUT: u16 = 4001;
const CLOSE_TOO_SLOW: u16 = 4002;
const CLOSE_IDLE: u16 = 4003;

/// What keeps a connection alive, re-checked at each heartbeat.
enum Credential {
    Session(String),
    Token,
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
    let (user, credential) = match (token, session) {
        (Ok(api), _) => (api.user.id, Credential::Token),
        (Err(_), Ok(signed_in)) => {
            if !same_origin(&headers, &state.config.public_url) {
                state.hub.note_refused(addr);
                return refuse(StatusCode::FORBIDDEN, "connect from this site's pages");
            }
            let secret = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
            (signed_in.user.id, Credential::Session(token_hash(secret)))
        }
        (Err(_), Err(_)) => {
            state.hub.note_refused(addr);
            return refuse(StatusCode::UNAUTHORIZED, "sign in first");
        }
    };
    let Some(registration) = state.hub.register(user) else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many open connections; close some tabs",
        );
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| token_hash(t.trim()));
    upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        // Events are small: modest buffers keep an idle connection cheap.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            let credential = match (credential, bearer) {
                (Credential::Token, Some(hash)) => Some((false, hash)),
                (Credential::Session(hash), _) => Some((true, hash)),
                (Credential::Token, None) => None,
            };
            serve(state, socket, registration, credential)
        })
}

/// Whether the session or token the connection opened with is still good.
async fn still_valid(state: &AppState, credential: &Option<(bool, String)>) -> bool {
    let now = state.clock.now();
    match credential {
        Some((true, hash)) => {
            let idle_since =
                now - chrono::Duration::minutes(state.config.session.idle_timeout_minutes);
            matches!(
                state.store.live_session(hash, now, idle_since).await,
                Ok(Some(_))
            )
        }
        Some((false, hash)) => matches!(
            state.store.live_api_token_with_user(hash, now).await,
            Ok(Some((_, u))) if u.disabled_at.is_none()
        ),
        None => false,
    }
}

/// The reply to a client's text frame, if it needs one.
fn answer(text: &str) -> Option<&'static str> {
    text.contains(r#""type":"ping""#)
        .then_some(r#"{"type":"pong"}"#)
}

async fn serve(
    state: AppState,
    socket: WebSocket,
    mut registration: Registration,
    credential: Option<(bool, String)>,
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
    let mut last_heard = Instant::now();
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
                            let sent = match answer(text.as_str()) {
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
    state.metrics.live_connections(-1);
}
