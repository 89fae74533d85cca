//! Text messages through Twilio's Messages API, against a local server that speaks it:
//! what telemed hands over, what it does when the provider refuses or is down, and
//! which status callbacks it believes.

use telemed_store::outbox::{self, OutboxMail, SMS};
use telemed_testkit::twilio::INVALID_NUMBER;
use telemed_testkit::{Backend, FakeTwilio, TestApp};

const CLINIC_NUMBER: &str = "+34910000000";

async fn queue(app: &TestApp, to: &str, body: &str) {
    let state = app.state();
    let mut tx = state.store.begin_write().await.unwrap();
    outbox::enqueue_sms(&mut tx, to, body, state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    state.sms_wake.notify_one();
}

async fn texts_in_outbox(app: &TestApp) -> Vec<OutboxMail> {
    let all = app.state().store.recent_mail(100).await.unwrap();
    all.into_iter().filter(|m| m.channel == SMS).collect()
}

/// Waits (15 s at most) until the outbox's text to `to` satisfies `done`.
async fn outbox_text(app: &TestApp, to: &str, done: impl Fn(&OutboxMail) -> bool) -> OutboxMail {
    for _ in 0..150 {
        if let Some(t) = texts_in_outbox(app)
            .await
            .into_iter()
            .find(|t| t.to_addr == to)
        {
            if done(&t) {
                return t;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the text to {to} never reached the state asked for");
}

async fn texts_go_to_the_provider_and_only_signed_reports_count(backend: Backend) {
    let twilio = FakeTwilio::start().await.unwrap();
    let app = TestApp::spawn_with(backend, |c| twilio.configure(c, CLINIC_NUMBER)).await;
    twilio.proxy_callbacks_to(&app.url(""));

    queue(&app, "+34600111222", "Clínica Sol: su código es 042917").await;
    let sent = twilio.text_to("+34600111222").await.unwrap();
    assert_eq!(sent.from, CLINIC_NUMBER);
    assert_eq!(sent.body, "Clínica Sol: su código es 042917");
    let public = app
        .state()
        .config
        .public_url
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(
        sent.status_callback,
        Some(format!("{public}/hooks/sms/twilio"))
    );
    let row = outbox_text(&app, "+34600111222", |t| t.sent_at.is_some()).await;
    assert_eq!(row.provider_id.as_deref(), Some(sent.sid.as_str()));
    assert_eq!(row.delivery.as_deref(), Some("sent"));
    assert_eq!(row.body_text, "", "a code is not kept once handed over");

    // A report signed with another token, or not signed, changes nothing.
    assert_eq!(
        twilio
            .report_signed_with(&sent, "delivered", "not-the-token")
            .await
            .unwrap(),
        403
    );
    let unsigned = app
        .client()
        .post(app.url("/hooks/sms/twilio"))
        .form(&[
            ("MessageSid", sent.sid.as_str()),
            ("MessageStatus", "failed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 403);
    let row = outbox_text(&app, "+34600111222", |_| true).await;
    assert_eq!(row.delivery.as_deref(), Some("sent"));

    // The provider's signed word is kept.
    assert_eq!(twilio.report(&sent, "delivered").await.unwrap(), 204);
    outbox_text(&app, "+34600111222", |t| {
        t.delivery.as_deref() == Some("delivered")
    })
    .await;
    // A status that is not one is refused, even signed.
    assert_eq!(twilio.report(&sent, "teleported").await.unwrap(), 400);

    // A number the provider refuses is given up at once, with the provider's reason.
    queue(&app, INVALID_NUMBER, "Clínica Sol: recordatorio").await;
    let refused = outbox_text(&app, INVALID_NUMBER, |t| {
        t.delivery.as_deref() == Some("rejected")
    })
    .await;
    assert!(refused.sent_at.is_none());
    assert!(
        refused
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("21211"),
        "{refused:?}"
    );
    assert_eq!(refused.attempts, 1);

    // While the provider is down, the text waits in the outbox with the reason.
    twilio.set_down(true);
    queue(&app, "+34600333444", "Clínica Sol: recordatorio").await;
    let waiting = outbox_text(&app, "+34600333444", |t| t.last_error.is_some()).await;
    assert!(waiting.sent_at.is_none() && waiting.delivery.is_none());
    assert!(waiting.last_error.unwrap().contains("503"));
    assert!(twilio.texts().iter().all(|t| t.to != "+34600333444"));
    app.shutdown().await;
}

on_both_databases!(texts_go_to_the_provider_and_only_signed_reports_count);
