//! Single-use, expiring tokens sent by email: address verification and password reset.

use chrono::{DateTime, Utc};
use telemed_domain::{Error, Result, UserId};

use crate::{to_micros, Conn, DbResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
}

pub async fn insert(
    conn: &mut Conn,
    purpose: Purpose,
    user: UserId,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash.to_owned())
        .bind(purpose.as_str())
        .bind(user.to_string())
        .bind(to_micros(now))
        .bind(to_micros(expires_at))
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Uses the token up and returns its user, if it is valid, unused and unexpired. Two
/// concurrent uses cannot both succeed.
pub async fn consume(
    conn: &mut Conn,
    purpose: Purpose,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserId>> {
    let user: Option<String> = sqlx::query_scalar(
        "UPDATE one_time_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(to_micros(now))
    .bind(token_hash.to_owned())
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
    .db()?;
    user.map(|u| u.parse().map_err(|_| Error::internal("corrupt token user")))
        .transpose()
}

/// Voids the user's other unused tokens of this purpose (e.g. after a password reset).
pub async fn void_all(
    conn: &mut Conn,
    purpose: Purpose,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE one_time_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
        .bind(to_micros(now))
        .bind(user.to_string())
        .bind(purpose.as_str())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}
