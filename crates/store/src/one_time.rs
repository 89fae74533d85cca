//! Single-use, expiring tokens sent by email: address verification, password reset and
//! the codes patients sign in with.

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

/// A sign-in code for `user` (its hash), voiding the user's earlier unused codes.
pub async fn insert_sign_in_code(
    conn: &mut Conn,
    user: UserId,
    code_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE sign_in_codes SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(to_micros(now))
        .bind(user.to_string())
        .execute(&mut *conn)
        .await
        .db()?;
    sqlx::query(
        "INSERT INTO sign_in_codes (code_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(code_hash.to_owned())
    .bind(user.to_string())
    .bind(to_micros(now))
    .bind(to_micros(expires_at))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Uses up `user`'s sign-in code of this hash, if it is unused and unexpired; two
/// concurrent uses cannot both succeed.
pub async fn consume_sign_in_code(
    conn: &mut Conn,
    user: UserId,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let used = sqlx::query(
        "UPDATE sign_in_codes SET used_at = $1 \
         WHERE code_hash = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(to_micros(now))
    .bind(code_hash.to_owned())
    .bind(user.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(used.rows_affected() == 1)
}
