//! Text messages (SMS). A text is queued in the outbox beside the emails, inside the
//! caller's transaction (`telemed_store::outbox::enqueue_sms`), and `run_sender` hands
//! it to the provider: Twilio's Messages API, one authenticated POST per text, naming
//! `/hooks/sms/twilio` as the address for its status callbacks. A callback is believed
//! only with a valid `X-Twilio-Signature` (HMAC-SHA1 of the address and the sorted
//! parameters under the account's auth token); any other is refused with 403 (counted
//! by route and status in `/metrics`) and changes nothing.
//!
//! Off without `[sms]`: nothing queues texts then. Texts carry no clinical content —
//! codes, times and links only — and no phone number or text reaches the log.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use telemed_store::notifications::Channel;
use telemed_store::outbox::{OutboxMail, SMS};
use telemed_store::Store;
use tokio::sync::Notify;

use crate::config::{Config, SmsConfig};
use crate::crypto::constant_time_eq;
use crate::delivery::{Carrier, Handed, Outbox};
use crate::i18n::args;
use crate::mail::{Letter, VisitNotice};
use crate::AppState;

/// A text telemed sends: a code, a time, a link; in the reader's language, in the
/// clinic's name (`sms_*` in the language files).
pub enum Text<'a> {
    /// The code that confirms a mobile number.
    ConfirmMobile { code: &'a str, minutes: i64 },
    /// A patient's sign-in code.
    SignInCode { code: &'a str, minutes: i64 },
    /// A visit booked, moved, cancelled, coming up, or started now.
    Visit {
        notice: VisitNotice,
        when: &'a str,
        link: &'a str,
    },
}

impl Text<'_> {
    fn compose(&self, letter: Letter<'_>) -> String {
        let t = letter.lang.texts();
        let clinic = || letter.clinic.into();
        match self {
            Text::ConfirmMobile { code, minutes } => t.sms_confirm_mobile(args::SmsConfirmMobile {
                clinic: clinic(),
                code: (*code).into(),
                minutes: (*minutes).into(),
            }),
            Text::SignInCode { code, minutes } => t.sms_sign_in_code(args::SmsSignInCode {
                clinic: clinic(),
                code: (*code).into(),
                minutes: (*minutes).into(),
            }),
            Text::Visit { notice, when, link } => {
                let (when, link) = ((*when).into(), (*link).into());
                match notice {
                    VisitNotice::Booked => t.sms_visit_booked(args::SmsVisitBooked {
                        clinic: clinic(),
                        when,
                        link,
                    }),
                    VisitNotice::Reminder => t.sms_visit_reminder(args::SmsVisitReminder {
                        clinic: clinic(),
                        when,
                        link,
                    }),
                    VisitNotice::Cancelled => t.sms_visit_cancelled(args::SmsVisitCancelled {
                        clinic: clinic(),
                        when,
                        link,
                    }),
                    VisitNotice::Rescheduled => {
                        t.sms_visit_rescheduled(args::SmsVisitRescheduled {
                            clinic: clinic(),
                            when,
                            link,
                        })
                    }
                    VisitNotice::PatientBooked => {
                        t.sms_visit_patient_booked(args::SmsVisitPatientBooked {
                            clinic: clinic(),
                            when,
                            link,
                        })
                    }
                    VisitNotice::PatientCancelled => {
                        t.sms_visit_patient_cancelled(args::SmsVisitPatientCancelled {
                            clinic: clinic(),
                            when,
                            link,
                        })
                    }
                    VisitNotice::PatientRescheduled => {
                        t.sms_visit_patient_rescheduled(args::SmsVisitPatientRescheduled {
                            clinic: clinic(),
                            when,
                            link,
                        })
                    }
                    VisitNotice::StartNow => t.sms_visit_start_now(args::SmsVisitStartNow {
                        clinic: clinic(),
                        link,
                    }),
                }
            }
        }
    }
}

/// Queues `text` to `number` (E.164) in the caller's transaction.
pub async fn queue(
    conn: &mut telemed_store::Conn,
    number: &str,
    text: &Text<'_>,
    letter: Letter<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> telemed_domain::Result<()> {
    telemed_store::outbox::enqueue_sms(conn, number, &text.compose(letter), now).await
}

/// Queues `text` to `user` when texts are set up here, the user has a confirmed mobile
/// number and wants `group` by text; whether it was queued. The caller wakes the sender
/// (`AppState::sms_wake`) once committed.
pub async fn queue_if_wanted(
    config: &Config,
    conn: &mut telemed_store::Conn,
    user: telemed_domain::UserId,
    group: &str,
    text: &Text<'_>,
    letter: Letter<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> telemed_domain::Result<bool> {
    if config.sms.is_none()
        || !telemed_store::notifications::wants(&mut *conn, user, group, Channel::Sms).await?
    {
        return Ok(false);
    }
    let Some(number) = telemed_store::mobile::mobile_of(&mut *conn, user)
        .await?
        .confirmed
    else {
        return Ok(false);
    };
    queue(conn, &number, text, letter, now).await?;
    Ok(true)
}

/// Where the provider reports what became of each text.
pub const STATUS_PATH: &str = "/hooks/sms/twilio";

/// The statuses Twilio reports for an outgoing message.
const STATUSES: [&str; 9] = [
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "canceled",
];

pub fn router() -> Router<AppState> {
    Router::new().route(STATUS_PATH, post(status_callback))
}

/// The status callbacks' full address, as the provider signs it.
fn status_url(config: &Config) -> String {
    format!("{}{STATUS_PATH}", config.public_url.trim_end_matches('/'))
}

/// Twilio's request signature: HMAC-SHA1, under the auth token, of the full address
/// followed by each POST parameter's name and value, sorted by name; in base64.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <Hmac<Sha1>>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// What the provider said of a status callback's text.
async fn status_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    let Some(sms) = &state.config.sms else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let token = sms.auth_token.as_deref().unwrap_or_default();
    let given = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let expected = signature(token, &status_url(&state.config), &params);
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        tracing::warn!("an SMS status callback without a valid signature was refused");
        return (StatusCode::FORBIDDEN, "the signature is not valid").into_response();
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(sid), Some(status)) = (param("MessageSid"), param("MessageStatus")) else {
        return (
            StatusCode::BAD_REQUEST,
            "MessageSid and MessageStatus are required",
        )
            .into_response();
    };
    if !STATUSES.contains(&status) {
        return (
            StatusCode::BAD_REQUEST,
            "MessageStatus is not a status of a message",
        )
            .into_response();
    }
    let error = param("ErrorCode").filter(|e| !e.is_empty());
    match state.store.record_sms_delivery(sid, status, error).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => (StatusCode::NOT_FOUND, "no text has this MessageSid").into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "recording an SMS status failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Hands queued texts to the provider until the process ends. Without `[sms]` it
/// returns at once (nothing queues texts then).
pub async fn run_sender(
    store: Store,
    config: Arc<Config>,
    clock: Arc<dyn telemed_domain::Clock>,
    wake: Arc<Notify>,
) {
    let Some(sms) = config.sms.clone() else {
        return;
    };
    let client = match reqwest::Client::builder()
        .timeout(StdDuration::from_secs(20))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for SMS; texts stay in the outbox");
            return;
        }
    };
    let callback = status_url(&config);
    let outbox = Outbox {
        store: &store,
        clock: clock.as_ref(),
        channel: SMS,
        keep_bodies: config.demo,
        wake: &wake,
    };
    let twilio = Twilio {
        client,
        sms,
        callback,
    };
    outbox.deliver_forever(&twilio).await;
}

/// Twilio's Messages API, where texts leave.
struct Twilio {
    client: reqwest::Client,
    sms: SmsConfig,
    /// Where Twilio reports each text's delivery.
    callback: String,
}

impl Carrier for Twilio {
    async fn carry(&self, text: &OutboxMail) -> Handed {
        hand_over(&self.client, &self.sms, &self.callback, text).await
    }
}

/// One POST to Twilio's Messages API.
async fn hand_over(
    client: &reqwest::Client,
    sms: &SmsConfig,
    callback: &str,
    text: &OutboxMail,
) -> Handed {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        sms.api_base.trim_end_matches('/'),
        sms.account_sid
    );
    let sender = if sms.from.starts_with("MG") {
        "MessagingServiceSid"
    } else {
        "From"
    };
    let form = [
        ("To", text.to_addr.as_str()),
        (sender, sms.from.as_str()),
        ("Body", text.body_text.as_str()),
        ("StatusCallback", callback),
    ];
    let response = client
        .post(url)
        .basic_auth(&sms.account_sid, sms.auth_token.as_deref())
        .form(&form)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return Handed::Later(format!("the provider did not answer: {e}")),
    };
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        return match answer.get("sid").and_then(|s| s.as_str()) {
            Some(sid) => Handed::Taken(Some(sid.to_owned())),
            None => Handed::Later("the provider's answer has no message sid".to_owned()),
        };
    }
    let why = format!(
        "{} {}: {}",
        status.as_u16(),
        answer
            .get("code")
            .map(|c| c.to_string())
            .unwrap_or_default(),
        answer
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("no message")
    );
    if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
        Handed::Refused(why)
    } else {
        Handed::Later(why)
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    /// The example Twilio publishes with its request validators (token 12345).
    #[test]
    fn signs_as_twilio_does() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        );
    }
}
