//! A person's mobile number for text messages. A number is used only once confirmed:
//! the number typed waits with the hash of a code sent to it, and the right code (in
//! time, within five tries) makes it the person's number.

use chrono::{DateTime, Utc};
use telemed_domain::{Result, UserId};

use crate::{to_micros, Conn, DbResult, Store};

/// Wrong codes a pending number takes before it must be sent a new one.
pub const MAX_TRIES: i64 = 5;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mobile {
    /// The confirmed number, E.164.
    pub confirmed: Option<String>,
    /// A number typed and sent a code, not yet confirmed.
    pub pending: Option<String>,
}

/// How a confirmation code was taken.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirmation {
    /// The number is now the person's.
    Confirmed(String),
    /// Not the code; it may be tried again.
    Wrong,
    /// No number waits for a code: none was sent, it expired, or it had its tries.
    NothingWaiting,
}

pub async fn mobile_of(conn: &mut Conn, user: UserId) -> Result<Mobile> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT mobile, mobile_pending FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(conn)
            .await
            .db()?;
    Ok(row
        .map(|(confirmed, pending)| Mobile { confirmed, pending })
        .unwrap_or_default())
}

impl Store {
    /// A person's number, confirmed and waiting.
    pub async fn mobile(&self, user: UserId) -> Result<Mobile> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT mobile, mobile_pending FROM users WHERE id = $1")
                .bind(user.to_string())
                .fetch_optional(self.pool())
                .await
                .db()?;
        Ok(row
            .map(|(confirmed, pending)| Mobile { confirmed, pending })
            .unwrap_or_default())
    }
}

/// Sets `number` waiting for the code whose hash is `code_hash`, until `expires_at`;
/// a number waiting before is replaced. The confirmed number stays until this one is.
pub async fn await_confirmation(
    conn: &mut Conn,
    user: UserId,
    number: &str,
    code_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET mobile_pending = $1, mobile_code_hash = $2, mobile_code_expires_at = $3, mobile_code_tries = 0 WHERE id = $4",
    )
    .bind(number.to_owned())
    .bind(code_hash.to_owned())
    .bind(to_micros(expires_at))
    .bind(user.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// A waiting number, its code's hash, when the code expires, the tries it had.
type Waiting = (Option<String>, Option<String>, Option<i64>, i64);

/// Takes a code for the waiting number, in the caller's (write) transaction.
pub async fn confirm(
    conn: &mut Conn,
    user: UserId,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<Confirmation> {
    let row: Option<Waiting> = sqlx::query_as(
        "SELECT mobile_pending, mobile_code_hash, mobile_code_expires_at, mobile_code_tries FROM users WHERE id = $1",
    )
    .bind(user.to_string())
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    let Some((Some(pending), Some(hash), Some(expires_at), tries)) = row else {
        return Ok(Confirmation::NothingWaiting);
    };
    if expires_at <= to_micros(now) || tries >= MAX_TRIES {
        return Ok(Confirmation::NothingWaiting);
    }
    if hash != code_hash {
        sqlx::query("UPDATE users SET mobile_code_tries = mobile_code_tries + 1 WHERE id = $1")
            .bind(user.to_string())
            .execute(conn)
            .await
            .db()?;
        return Ok(Confirmation::Wrong);
    }
    sqlx::query(
        "UPDATE users SET mobile = mobile_pending, mobile_pending = NULL, mobile_code_hash = NULL, mobile_code_expires_at = NULL, mobile_code_tries = 0 WHERE id = $1",
    )
    .bind(user.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(Confirmation::Confirmed(pending))
}

/// Forgets the person's number, confirmed or waiting: no text goes to them any more.
pub async fn remove(conn: &mut Conn, user: UserId) -> Result<()> {
    sqlx::query(
        "UPDATE users SET mobile = NULL, mobile_pending = NULL, mobile_code_hash = NULL, mobile_code_expires_at = NULL, mobile_code_tries = 0 WHERE id = $1",
    )
    .bind(user.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}
