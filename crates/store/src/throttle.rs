//! Throttling: events counted per key in a window; too many lock the key for a while.
//! Sign-in counts its failures (per account, per client address); rate limits count
//! every use (`spend`). Keys are stored hashed.

use chrono::{DateTime, Duration, Utc};
use telemed_domain::Result;

use crate::{from_micros, to_micros, Conn, DbResult, Store};

#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    /// The events the window allows; the one that reaches it locks the key.
    pub max_events: i64,
    pub window: Duration,
    pub lockout: Duration,
}

impl Store {
    /// Until when the key is locked, if it is locked now.
    pub async fn throttle_locked_until(
        &self,
        key_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let until: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE key_hash = $1")
                .bind(key_hash.to_owned())
                .fetch_optional(self.pool())
                .await
                .db()?;
        Ok(until.flatten().map(from_micros).filter(|t| *t > now))
    }
}

/// Counts one event (a failed sign-in, a use); locks the key when the rule's limit is
/// reached. Returns the lock's end.
pub async fn count_event(
    conn: &mut Conn,
    key_hash: &str,
    rule: ThrottleRule,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let window_start = to_micros(now - rule.window);
    let events: i64 = sqlx::query_scalar(
        "INSERT INTO login_throttle (key_hash, failures, window_started_at) VALUES ($1, 1, $2) \
         ON CONFLICT (key_hash) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_started_at < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
           window_started_at = CASE WHEN login_throttle.window_started_at < $3 THEN $2 ELSE login_throttle.window_started_at END \
         RETURNING failures",
    )
    .bind(key_hash.to_owned())
    .bind(to_micros(now))
    .bind(window_start)
    .fetch_one(&mut *conn)
    .await
    .db()?;
    if events < rule.max_events {
        return Ok(None);
    }
    let until = now + rule.lockout;
    sqlx::query("UPDATE login_throttle SET locked_until = $1, failures = 0, window_started_at = $2 WHERE key_hash = $3")
        .bind(to_micros(until))
        .bind(to_micros(now))
        .bind(key_hash.to_owned())
        .execute(conn)
        .await
        .db()?;
    Ok(Some(until))
}

impl Store {
    /// Spends one use of each key under its rule, in a transaction of its own (so that a
    /// request refused later still counts): `RateLimited` while any key is locked, and
    /// then nothing is counted.
    pub async fn spend(&self, keys: &[(String, ThrottleRule)], now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut locked_until = None;
        for (key, _) in keys {
            let until: Option<Option<i64>> =
                sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE key_hash = $1")
                    .bind(key.clone())
                    .fetch_optional(tx.conn())
                    .await
                    .db()?;
            if let Some(until) = until.flatten().map(from_micros).filter(|t| *t > now) {
                locked_until = locked_until.max(Some(until));
            }
        }
        if let Some(until) = locked_until {
            let retry_after_secs = (until - now).num_seconds().max(1) as u64;
            return Err(telemed_domain::Error::RateLimited { retry_after_secs });
        }
        for (key, rule) in keys {
            count_event(&mut tx, key, *rule, now).await?;
        }
        tx.commit().await.db()
    }
}

pub async fn clear(conn: &mut Conn, key_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key_hash = $1")
        .bind(key_hash.to_owned())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}
