//! A local server that speaks the part of Twilio's Messages API telemed uses, so that
//! texts are tested over real HTTP: `POST /2010-04-01/Accounts/{sid}/Messages.json`
//! with the account's basic auth, answered as Twilio answers (201 with the message's
//! `sid`; 400 with code 21211 for Twilio's magic invalid number `+15005550001`; 401
//! without the right credentials; 503 while `set_down(true)`). It keeps every text for
//! the test to read and sends status callbacks signed as Twilio signs them, computed
//! here on their own, not with telemed's code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::anyhow;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Twilio's test number that is never a valid destination.
pub const INVALID_NUMBER: &str = "+15005550001";

/// A text as the provider received it.
#[derive(Debug, Clone)]
pub struct SentText {
    pub sid: String,
    pub to: String,
    /// `From`, or `MessagingServiceSid` when that was sent instead.
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
}

impl SentText {
    /// The first run of six digits in the text: a code.
    pub fn code(&self) -> Option<String> {
        self.body
            .split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() == 6)
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct Inbox {
    texts: Vec<SentText>,
    down: bool,
    /// Where callbacks are posted when the address telemed names (its public URL) is
    /// not where the test's server listens: a reverse proxy's part.
    proxy_to: Option<String>,
}

#[derive(Clone)]
struct Shared {
    account_sid: String,
    auth_token: String,
    inbox: Arc<Mutex<Inbox>>,
    arrived: Arc<Notify>,
}

pub struct FakeTwilio {
    pub base: String,
    pub account_sid: String,
    pub auth_token: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FakeTwilio {
    pub async fn start() -> anyhow::Result<Self> {
        let shared = Shared {
            account_sid: format!("AC{}", uuid::Uuid::new_v4().simple()),
            auth_token: uuid::Uuid::new_v4().simple().to_string(),
            inbox: Arc::default(),
            arrived: Arc::default(),
        };
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create_message),
            )
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeTwilio {
            base,
            account_sid: shared.account_sid.clone(),
            auth_token: shared.auth_token.clone(),
            shared,
            task,
        })
    }

    /// Points telemed's `[sms]` at this server, sending from `from`.
    pub fn configure(&self, config: &mut telemed_server::config::Config, from: &str) {
        config.sms = Some(telemed_server::config::SmsConfig {
            provider: "twilio".into(),
            account_sid: self.account_sid.clone(),
            auth_token: Some(self.auth_token.clone()),
            auth_token_file: None,
            from: from.into(),
            api_base: self.base.clone(),
        });
    }

    /// While down, every request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.shared
            .inbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .down = down;
    }

    /// Posts status callbacks to `base` (the test server's address) in place of the
    /// public address they name, as a reverse proxy in front of telemed would; they are
    /// still signed over the address named.
    pub fn proxy_callbacks_to(&self, base: &str) {
        self.shared
            .inbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .proxy_to = Some(base.trim_end_matches('/').to_owned());
    }

    pub fn texts(&self) -> Vec<SentText> {
        self.shared
            .inbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .texts
            .clone()
    }

    /// Waits (15 s at most) for the first text to `to`.
    pub async fn text_to(&self, to: &str) -> anyhow::Result<SentText> {
        self.nth_text_to(to, 1).await
    }

    /// Waits (15 s at most) for the `n`th text (from 1) to `to`.
    pub async fn nth_text_to(&self, to: &str, n: usize) -> anyhow::Result<SentText> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let arrived = self.shared.arrived.notified();
            if let Some(t) = self.texts().into_iter().filter(|t| t.to == to).nth(n - 1) {
                return Ok(t);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Err(anyhow!("no text number {n} to {to} within 15 s"));
            }
        }
    }

    /// Reports `status` of `text` to its status callback, signed with `auth_token`
    /// (the account's, unless a test forges one); the answer's status.
    pub async fn report_signed_with(
        &self,
        text: &SentText,
        status: &str,
        auth_token: &str,
    ) -> anyhow::Result<u16> {
        let url = text
            .status_callback
            .clone()
            .ok_or_else(|| anyhow!("the text named no status callback"))?;
        let params = vec![
            ("AccountSid".to_owned(), self.account_sid.clone()),
            ("From".to_owned(), text.from.clone()),
            ("MessageSid".to_owned(), text.sid.clone()),
            ("MessageStatus".to_owned(), status.to_owned()),
            ("SmsSid".to_owned(), text.sid.clone()),
            ("SmsStatus".to_owned(), status.to_owned()),
            ("To".to_owned(), text.to.clone()),
        ];
        let proxy_to = self
            .shared
            .inbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .proxy_to
            .clone();
        let reach = match proxy_to {
            Some(base) => {
                let path = url
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                    .unwrap_or_default();
                format!("{base}{path}")
            }
            None => url.clone(),
        };
        let answer = reqwest::Client::new()
            .post(&reach)
            .header(
                "X-Twilio-Signature",
                twilio_signature(auth_token, &url, &params),
            )
            .form(&params)
            .send()
            .await?;
        Ok(answer.status().as_u16())
    }

    /// Reports `status` of `text`, signed with the account's token.
    pub async fn report(&self, text: &SentText, status: &str) -> anyhow::Result<u16> {
        self.report_signed_with(text, status, &self.auth_token.clone())
            .await
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// HMAC-SHA1 of the address and the parameters sorted by name, each name then value.
fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut data = url.to_owned();
    let mut sorted = params.to_vec();
    sorted.sort();
    for (name, value) in sorted {
        data.push_str(&name);
        data.push_str(&value);
    }
    let mut mac = <Hmac<sha1::Sha1>>::new_from_slice(token.as_bytes()).expect("any key");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

async fn create_message(
    State(shared): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if shared.inbox.lock().unwrap_or_else(|p| p.into_inner()).down {
        return twilio_error(
            StatusCode::SERVICE_UNAVAILABLE,
            20503,
            "Service unavailable",
        );
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", shared.account_sid, shared.auth_token))
    );
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if account != shared.account_sid || !authorised {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let (Some(to), Some(body)) = (field("To"), field("Body")) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number and a 'Body' are required.",
        );
    };
    let Some(from) = field("From").or_else(|| field("MessagingServiceSid")) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    };
    if to == INVALID_NUMBER {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let text = SentText {
        sid: format!("SM{}", uuid::Uuid::new_v4().simple()),
        to,
        from,
        body,
        status_callback: field("StatusCallback"),
    };
    let answer = serde_json::json!({
        "sid": text.sid,
        "account_sid": shared.account_sid,
        "to": text.to,
        "from": text.from,
        "body": text.body,
        "status": "queued",
        "api_version": "2010-04-01",
    });
    shared
        .inbox
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .texts
        .push(text);
    shared.arrived.notify_waiters();
    (StatusCode::CREATED, Json(answer)).into_response()
}
