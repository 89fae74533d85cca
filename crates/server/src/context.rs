//! The request context: request id, client address and language, made once per request
//! by `assign_context` and read by handlers through the `Ctx` extractor.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;

use crate::i18n::Lang;
use crate::AppState;

pub const LANG_COOKIE: &str = "telemed_lang";
pub const TIME_ZONE_COOKIE: &str = "telemed_tz";

#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub client_addr: Option<String>,
    /// The language from the cookie or the browser; a signed-in user's own choice wins
    /// where the handler knows the user.
    pub lang: Lang,
    pub user_agent: String,
    /// The browser's time zone (set by telemed.js in a cookie), for showing times; UTC
    /// when the browser did not tell.
    pub time_zone: chrono_tz::Tz,
    /// The zone the browser told, if it did (remembered at sign-in for emails).
    pub browser_time_zone: Option<chrono_tz::Tz>,
    /// The clinic as this node knew it when the request came in (name, phone,
    /// languages offered…); work no request started reads `clinic::current` instead.
    pub clinic: std::sync::Arc<crate::clinic_cache::Clinic>,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .unwrap_or_else(|| Ctx::background(&new_request_id())))
    }
}

impl Ctx {
    /// The context of work no request started (jobs): no client, English, UTC.
    pub fn background(request_id: &str) -> Ctx {
        Ctx {
            request_id: request_id.to_owned(),
            client_addr: None,
            lang: Lang::En,
            user_agent: String::new(),
            time_zone: chrono_tz::Tz::UTC,
            browser_time_zone: None,
            clinic: Default::default(),
        }
    }

    /// The IANA name of the zone the browser said it is in, if it said.
    pub fn browser_zone(&self) -> Option<&'static str> {
        self.browser_time_zone.map(|z| z.name())
    }
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Accepts a caller's `X-Request-Id` when it is short and plain, else makes one.
fn request_id_from(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(new_request_id)
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub async fn assign_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let forwarded = state
        .config
        .trust_forwarded_for
        .then(|| headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok());
    let clinic = crate::clinic_cache::current(&state).await;
    let lang = cookie(headers, LANG_COOKIE)
        .and_then(Lang::from_code)
        .filter(|l| clinic.offers_language(*l))
        .unwrap_or_else(|| {
            Lang::from_accept_language(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
                &clinic.languages(),
            )
            .unwrap_or_else(|| clinic.default_language())
        });
    let browser_time_zone = cookie(headers, TIME_ZONE_COOKIE)
        .map(|v| v.replace("%2F", "/").replace("%2f", "/"))
        .and_then(|v| v.parse::<chrono_tz::Tz>().ok());
    let ctx = Ctx {
        time_zone: browser_time_zone.unwrap_or(chrono_tz::Tz::UTC),
        browser_time_zone,
        request_id: request_id_from(headers),
        client_addr: forwarded.or(peer),
        lang,
        clinic,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect(),
    };
    let request_id = ctx.request_id.clone();
    request.extensions_mut().insert(ctx);
    let mut response = next.run(request).await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}
