//! Web sign-in sessions. The cookie holds a random secret; only its SHA-256 is stored.

use chrono::{DateTime, Utc};
use telemed_domain::{Error, Result, SessionId, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Password accepted; the TOTP or recovery code is still to come.
    MfaPending,
    /// Password accepted for a role that must use MFA but has not enrolled yet: only the
    /// enrolment pages are open.
    MfaEnroll,
    Active,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::MfaPending => "mfa_pending",
            SessionStage::MfaEnroll => "mfa_enroll",
            SessionStage::Active => "active",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "mfa_pending" => Ok(SessionStage::MfaPending),
            "mfa_enroll" => Ok(SessionStage::MfaEnroll),
            "active" => Ok(SessionStage::Active),
            _ => Err(Error::internal("corrupt session stage")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub stage: SessionStage,
    pub csrf_secret: String,
    pub user_agent: String,
    pub client_addr: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    user_id: String,
    stage: String,
    csrf_secret: String,
    user_agent: String,
    client_addr: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

impl TryFrom<SessionRow> for Session {
    type Error = Error;
    fn try_from(r: SessionRow) -> Result<Self> {
        Ok(Session {
            id: r
                .id
                .parse()
                .map_err(|_| Error::internal("corrupt session id"))?,
            user_id: r
                .user_id
                .parse()
                .map_err(|_| Error::internal("corrupt session user"))?,
            stage: SessionStage::parse(&r.stage)?,
            csrf_secret: r.csrf_secret,
            user_agent: r.user_agent,
            client_addr: r.client_addr,
            created_at: from_micros(r.created_at),
            last_seen_at: from_micros(r.last_seen_at),
            expires_at: from_micros(r.expires_at),
        })
    }
}

const COLUMNS: &str = "id, user_id, stage, csrf_secret, user_agent, client_addr, created_at, last_seen_at, expires_at";

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: UserId,
    pub stage: SessionStage,
    pub csrf_secret: &'a str,
    pub user_agent: &'a str,
    pub client_addr: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut Conn, s: NewSession<'_>, now: DateTime<Utc>) -> Result<SessionId> {
    let id = SessionId::new();
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, stage, csrf_secret, user_agent, client_addr, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
    )
    .bind(id.to_string())
    .bind(s.token_hash.to_owned())
    .bind(s.user_id.to_string())
    .bind(s.stage.as_str())
    .bind(s.csrf_secret.to_owned())
    .bind(s.user_agent.chars().take(200).collect::<String>())
    .bind(s.client_addr.to_owned())
    .bind(to_micros(now))
    .bind(to_micros(s.expires_at))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

impl Store {
    /// The live session whose cookie secret hashes to `token_hash`: not revoked, not past
    /// its absolute lifetime, and seen within `idle_since`.
    pub async fn live_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<Option<Session>> {
        let row: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3"
        ))
        .bind(token_hash.to_owned())
        .bind(to_micros(now))
        .bind(to_micros(idle_since))
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(Session::try_from).transpose()
    }

    pub async fn live_sessions_of(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<Vec<Session>> {
        let rows: Vec<SessionRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3 \
             ORDER BY created_at DESC"
        ))
        .bind(user.to_string())
        .bind(to_micros(now))
        .bind(to_micros(idle_since))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(Session::try_from).collect()
    }

    /// Records activity; cheap enough per request, and skipped by callers when recent.
    pub async fn touch_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(to_micros(now))
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }
}

pub async fn set_stage(conn: &mut Conn, id: SessionId, stage: SessionStage) -> Result<()> {
    sqlx::query("UPDATE sessions SET stage = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(stage.as_str())
        .bind(id.to_string())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Revokes one of `user`'s sessions; `NotFound` if it is not theirs or already gone.
pub async fn revoke(
    conn: &mut Conn,
    user: UserId,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(to_micros(now))
    .bind(id.to_string())
    .bind(user.to_string())
    .execute(conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Revokes all of `user`'s sessions (log out everywhere); returns how many.
pub async fn revoke_all(conn: &mut Conn, user: UserId, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(to_micros(now))
    .bind(user.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected())
}
