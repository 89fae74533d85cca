//! The outbox's delivery loop, shared by email and texts: it claims the due messages of
//! one channel, hands each to its carrier (the SMTP server, the SMS provider), records
//! what became of it, and waits five seconds or until it is woken.

use std::future::Future;
use std::time::Duration as StdDuration;

use chrono::Duration;
use telemed_domain::Clock;
use telemed_store::outbox::OutboxMail;
use telemed_store::Store;
use tokio::sync::Notify;

/// What the carrier did with one message.
pub enum Handed {
    /// Taken, under the carrier's own id for it when it gives one (a text's message sid).
    Taken(Option<String>),
    /// Refused outright (a number that is not one): never tried again.
    Refused(String),
    /// Not now (the carrier or the network is down, or it asks to slow down).
    Later(String),
}

/// A way messages leave: the SMTP server, the SMS provider.
pub trait Carrier: Sync {
    /// Hands one message over.
    fn carry(&self, message: &OutboxMail) -> impl Future<Output = Handed> + Send;
}

/// How long a message of the outbox waits after its `attempts`th failed attempt: 30 s,
/// doubling, at most about an hour.
pub fn retry_delay(attempts: i64) -> Duration {
    Duration::seconds(30 * (1i64 << attempts.clamp(0, 7)))
}

/// The outbox of one channel and how its messages leave.
pub struct Outbox<'a> {
    pub store: &'a Store,
    pub clock: &'a dyn Clock,
    /// `outbox::EMAIL` or `outbox::SMS`.
    pub channel: &'static str,
    /// The demo keeps what was sent readable in the admin outbox; a clinic erases it.
    pub keep_bodies: bool,
    pub wake: &'a Notify,
}

impl Outbox<'_> {
    /// Delivers through `carry` until the process ends. The log never holds an address,
    /// a number or a body: why a message failed is on its outbox row.
    pub async fn deliver_forever(&self, carrier: &impl Carrier) {
        let what = self.channel;
        loop {
            let now = self.clock.now();
            match self
                .store
                .claim_due_mail(self.channel, now, Duration::minutes(5), 20)
                .await
            {
                Ok(batch) => {
                    for message in batch {
                        let handed = carrier.carry(&message).await;
                        let now = self.clock.now();
                        let id = message.id.as_str();
                        let stored = match handed {
                            Handed::Taken(carrier_id) => {
                                self.store
                                    .mark_sent(id, carrier_id.as_deref(), now, self.keep_bodies)
                                    .await
                            }
                            Handed::Refused(why) => {
                                tracing::warn!(
                                    channel = what,
                                    "a message was refused for good (the admin outbox shows why)"
                                );
                                self.store.mark_mail_rejected(id, &why).await
                            }
                            Handed::Later(why) => {
                                tracing::warn!(
                                    channel = what,
                                    attempt = message.attempts + 1,
                                    "sending a message failed; will retry (the admin outbox shows why)"
                                );
                                let retry_at = now + retry_delay(message.attempts);
                                self.store.mark_mail_failed(id, &why, retry_at).await
                            }
                        };
                        if let Err(e) = stored {
                            tracing::error!(channel = what, error = ?e, "recording a message's outcome failed");
                        }
                    }
                }
                // An outage is logged by the store, once in a while.
                Err(telemed_domain::Error::Unavailable { .. }) => {}
                Err(e) => tracing::error!(channel = what, error = ?e, "reading the outbox failed"),
            }
            pause(self.wake).await;
        }
    }
}

/// Five seconds, or less when someone queues a message and wakes the sender.
pub async fn pause(wake: &Notify) {
    tokio::select! {
        _ = wake.notified() => {}
        _ = tokio::time::sleep(StdDuration::from_secs(5)) => {}
    }
}
