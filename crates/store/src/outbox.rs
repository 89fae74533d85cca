//! The outbox: every email and text message (SMS) is stored first and delivered by a
//! background sender of its channel, so a crash or an outage loses nothing. Bodies are
//! erased once delivered (they may hold sign-in links and codes).

use chrono::{DateTime, Duration, Utc};
use telemed_domain::{Error, Result};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub id: String,
    pub to_addr: String,
    pub subject: String,
    pub body_text: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// An iCalendar (RFC 5545) document sent as an attachment.
    pub calendar: Option<String>,
    /// `email` or `sms`.
    pub channel: String,
    /// A text's id at its provider, once handed over.
    pub provider_id: Option<String>,
    /// What the provider last said of a text: `sent`, `delivered`, `undelivered`,
    /// `failed`, or `rejected` (refused outright, not retried).
    pub delivery: Option<String>,
    next_attempt_at: i64,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: String,
    to_addr: String,
    subject: String,
    body_text: String,
    created_at: i64,
    next_attempt_at: i64,
    attempts: i64,
    sent_at: Option<i64>,
    last_error: Option<String>,
    calendar: Option<String>,
    channel: String,
    provider_id: Option<String>,
    delivery: Option<String>,
}

impl From<OutboxRow> for OutboxMail {
    fn from(r: OutboxRow) -> Self {
        OutboxMail {
            id: r.id,
            to_addr: r.to_addr,
            subject: r.subject,
            body_text: r.body_text,
            created_at: from_micros(r.created_at),
            attempts: r.attempts,
            sent_at: r.sent_at.map(from_micros),
            last_error: r.last_error,
            calendar: r.calendar,
            channel: r.channel,
            provider_id: r.provider_id,
            delivery: r.delivery,
            next_attempt_at: r.next_attempt_at,
        }
    }
}

const COLUMNS: &str =
    "id, to_addr, subject, body_text, created_at, next_attempt_at, attempts, sent_at, last_error, calendar, channel, provider_id, delivery";

/// A text message's channel in the outbox.
pub const SMS: &str = "sms";
/// An email's channel in the outbox.
pub const EMAIL: &str = "email";

/// Queues a mail, optionally with an iCalendar attachment. An address under the
/// reserved `.invalid` domain (RFC 2606: never deliverable; given to patients imported
/// without an e-mail address) is not queued.
pub async fn enqueue(
    conn: &mut Conn,
    to: &str,
    subject: &str,
    body: &str,
    calendar: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    if undeliverable(to) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO mail_outbox (id, to_addr, subject, body_text, calendar, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(to.to_owned())
    .bind(subject.to_owned())
    .bind(body.to_owned())
    .bind(calendar.map(str::to_owned))
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Queues a text message to `to` (a phone number in E.164), to be sent after the
/// caller's transaction commits.
pub async fn enqueue_sms(conn: &mut Conn, to: &str, body: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_outbox (id, to_addr, subject, body_text, created_at, next_attempt_at, channel) VALUES ($1, $2, '', $3, $4, $4, $5)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(to.to_owned())
    .bind(body.to_owned())
    .bind(to_micros(now))
    .bind(SMS)
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// The moment after which nothing is claimed: what is given up is put there.
const NEVER: i64 = i64::MAX;

impl Store {
    /// Claims up to `limit` mails that are due, leasing each for `lease` so that another
    /// node does not send it at the same time.
    pub async fn claim_due_mail(
        &self,
        channel: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<OutboxMail>> {
        let due: Vec<OutboxRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 AND channel = $3 ORDER BY next_attempt_at LIMIT $2"
        ))
        .bind(to_micros(now))
        .bind(limit)
        .bind(channel.to_owned())
        .fetch_all(self.pool())
        .await
        .db()?;
        let mut claimed = Vec::new();
        for row in due {
            let mail = OutboxMail::from(row);
            let done = sqlx::query(
                "UPDATE mail_outbox SET next_attempt_at = $1, attempts = attempts + 1 \
                 WHERE id = $2 AND next_attempt_at = $3 AND sent_at IS NULL",
            )
            .bind(to_micros(now + lease))
            .bind(mail.id.clone())
            .bind(mail.next_attempt_at)
            .execute(self.pool())
            .await
            .db()?;
            if done.rows_affected() == 1 {
                claimed.push(mail);
            }
        }
        Ok(claimed)
    }

    /// Marks a message handed to its carrier, under the carrier's id for it when it
    /// gives one (a text's, whose delivery its callbacks report later); its body is
    /// erased unless `keep_body` (the demo's outbox).
    pub async fn mark_sent(
        &self,
        id: &str,
        carrier_id: Option<&str>,
        now: DateTime<Utc>,
        keep_body: bool,
    ) -> Result<()> {
        let erase = if keep_body { "" } else { ", body_text = ''" };
        let delivery = if carrier_id.is_some() {
            ", delivery = 'sent'"
        } else {
            ""
        };
        sqlx::query(&format!(
            "UPDATE mail_outbox SET sent_at = $1, last_error = NULL, provider_id = COALESCE($2, provider_id){delivery}{erase} WHERE id = $3"
        ))
        .bind(to_micros(now))
        .bind(carrier_id.map(str::to_owned))
        .bind(id.to_owned())
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    /// Gives a message up: the provider refused it outright (a number that is not one),
    /// so it is never tried again; `error` says why, for the admin outbox.
    pub async fn mark_mail_rejected(&self, id: &str, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE mail_outbox SET last_error = $1, next_attempt_at = $2, delivery = 'rejected', body_text = '' WHERE id = $3",
        )
        .bind(error.chars().take(500).collect::<String>())
        .bind(NEVER)
        .bind(id.to_owned())
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    /// Records what a provider says of the text it knows as `provider_id`; false when
    /// no text has that id. `error` is the provider's error code, if any.
    pub async fn record_sms_delivery(
        &self,
        provider_id: &str,
        delivery: &str,
        error: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE mail_outbox SET delivery = $1, last_error = COALESCE($2, last_error) WHERE provider_id = $3 AND channel = $4",
        )
        .bind(delivery.to_owned())
        .bind(error.map(|e| e.chars().take(500).collect::<String>()))
        .bind(provider_id.to_owned())
        .bind(SMS)
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn mark_mail_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3")
            .bind(error.chars().take(500).collect::<String>())
            .bind(to_micros(retry_at))
            .bind(id.to_owned())
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }

    pub async fn recent_mail(&self, limit: i64) -> Result<Vec<OutboxMail>> {
        let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM mail_outbox ORDER BY created_at DESC LIMIT $1"
        ))
        .bind(limit.clamp(1, 500))
        .fetch_all(self.pool())
        .await
        .db()?;
        Ok(rows.into_iter().map(OutboxMail::from).collect())
    }

    pub async fn mail_by_id(&self, id: &str) -> Result<OutboxMail> {
        let row: Option<OutboxRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM mail_outbox WHERE id = $1"))
                .bind(id.to_owned())
                .fetch_optional(self.pool())
                .await
                .db()?;
        row.map(OutboxMail::from).ok_or(Error::NotFound)
    }
}

/// Whether an address is under the reserved `.invalid` top-level domain.
pub fn undeliverable(to: &str) -> bool {
    to.rsplit_once('@').is_some_and(|(_, domain)| {
        domain
            .to_ascii_lowercase()
            .trim_end_matches('.')
            .ends_with(".invalid")
    })
}
