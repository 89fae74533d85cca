//! Invitations of clinicians, staff and admins by an admin: a single-use, expiring link.

use chrono::{DateTime, Utc};
use telemed_domain::{Email, Error, InvitationId, Result, Role, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: InvitationId,
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    email: String,
    display_name: String,
    role: String,
    invited_by: String,
    created_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = Error;
    fn try_from(r: InvitationRow) -> Result<Self> {
        let corrupt = |_| Error::internal("corrupt invitation");
        Ok(Invitation {
            id: r.id.parse().map_err(corrupt)?,
            email: Email::parse(&r.email).map_err(corrupt)?,
            display_name: r.display_name,
            role: r.role.parse().map_err(corrupt)?,
            invited_by: r.invited_by.parse().map_err(corrupt)?,
            created_at: from_micros(r.created_at),
            expires_at: from_micros(r.expires_at),
            accepted_at: r.accepted_at.map(from_micros),
            revoked_at: r.revoked_at.map(from_micros),
        })
    }
}

const COLUMNS: &str =
    "id, email, display_name, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

pub struct NewInvitation<'a> {
    pub token_hash: &'a str,
    pub email: &'a Email,
    pub display_name: &'a str,
    pub role: Role,
    pub invited_by: UserId,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut Conn,
    inv: NewInvitation<'_>,
    now: DateTime<Utc>,
) -> Result<InvitationId> {
    let id = InvitationId::new();
    sqlx::query(
        "INSERT INTO invitations (id, token_hash, email, display_name, role, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(inv.token_hash.to_owned())
    .bind(inv.email.as_str().to_owned())
    .bind(inv.display_name.to_owned())
    .bind(inv.role.as_str())
    .bind(inv.invited_by.to_string())
    .bind(to_micros(now))
    .bind(to_micros(inv.expires_at))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

/// Marks the invitation accepted and returns it, if the link is valid now. Single use.
pub async fn accept(
    conn: &mut Conn,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Invitation>> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "UPDATE invitations SET accepted_at = $1 \
         WHERE token_hash = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1 RETURNING {COLUMNS}"
    ))
    .bind(to_micros(now))
    .bind(token_hash.to_owned())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(Invitation::try_from).transpose()
}

pub async fn revoke(conn: &mut Conn, id: InvitationId, now: DateTime<Utc>) -> Result<()> {
    let done = sqlx::query("UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL")
        .bind(to_micros(now))
        .bind(id.to_string())
        .execute(conn)
        .await
        .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

impl Store {
    /// The invitation behind a link, without using it (to show the acceptance form).
    pub async fn pending_invitation(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>> {
        let row: Option<InvitationRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM invitations \
             WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
        ))
        .bind(token_hash.to_owned())
        .bind(to_micros(now))
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(Invitation::try_from).transpose()
    }

    pub async fn recent_invitations(&self, limit: i64) -> Result<Vec<Invitation>> {
        let rows: Vec<InvitationRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM invitations ORDER BY created_at DESC LIMIT $1"
        ))
        .bind(limit.clamp(1, 500))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(Invitation::try_from).collect()
    }
}
