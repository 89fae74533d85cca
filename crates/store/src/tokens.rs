//! Personal access tokens for the API: scoped, expiring, revocable; stored as SHA-256.

use chrono::{DateTime, Utc};
use telemed_domain::role::{format_scopes, parse_scopes};
use telemed_domain::{ApiTokenId, Error, Permission, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store, Tx};

#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub user_id: UserId,
    pub name: String,
    pub scopes: Vec<Permission>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    name: String,
    scopes: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = Error;
    fn try_from(r: TokenRow) -> Result<Self> {
        Ok(ApiToken {
            id: r
                .id
                .parse()
                .map_err(|_| Error::internal("corrupt token id"))?,
            user_id: r
                .user_id
                .parse()
                .map_err(|_| Error::internal("corrupt token user"))?,
            name: r.name,
            scopes: parse_scopes(&r.scopes).map_err(|_| Error::internal("corrupt token scopes"))?,
            created_at: from_micros(r.created_at),
            expires_at: from_micros(r.expires_at),
            last_used_at: r.last_used_at.map(from_micros),
        })
    }
}

const COLUMNS: &str = "id, user_id, name, scopes, created_at, expires_at, last_used_at";

pub struct NewApiToken<'a> {
    pub user_id: UserId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub scopes: &'a [Permission],
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut Conn, t: NewApiToken<'_>, now: DateTime<Utc>) -> Result<ApiTokenId> {
    let id = ApiTokenId::new();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(t.user_id.to_string())
    .bind(t.name.to_owned())
    .bind(t.token_hash.to_owned())
    .bind(format_scopes(t.scopes))
    .bind(to_micros(now))
    .bind(to_micros(t.expires_at))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

/// Revokes one of `user`'s API tokens (a credential change: see `Tx::credentials_changed`).
pub async fn revoke(tx: &mut Tx, user: UserId, id: ApiTokenId, now: DateTime<Utc>) -> Result<()> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(to_micros(now))
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(tx.conn())
        .await
        .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    tx.credentials_changed();
    Ok(())
}

/// Revokes every live API token and app grant of `user` (a password reset, an account
/// disabled, a role changed: the credentials follow the person); how many of each. A
/// credential change: see `Tx::credentials_changed`.
pub async fn revoke_all_of(tx: &mut Tx, user: UserId, now: DateTime<Utc>) -> Result<(u64, u64)> {
    let tokens = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(to_micros(now))
    .bind(user.to_string())
    .execute(tx.conn())
    .await
    .db()?
    .rows_affected();
    let grants = sqlx::query(
        "UPDATE oauth_grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(to_micros(now))
    .bind(user.to_string())
    .execute(tx.conn())
    .await
    .db()?
    .rows_affected();
    tx.credentials_changed();
    Ok((tokens, grants))
}

#[derive(sqlx::FromRow)]
struct TokenUserRow {
    #[sqlx(flatten)]
    user: crate::users::UserRow,
    t_id: String,
    t_name: String,
    t_scopes: String,
    t_created_at: i64,
    t_expires_at: i64,
    t_last_used_at: Option<i64>,
}

impl Store {
    /// The live token whose secret hashes to `token_hash`, with its owner, in one round
    /// trip (this runs on every API request).
    pub async fn live_api_token_with_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(ApiToken, crate::users::User)>> {
        let user_columns = crate::users::COLUMNS
            .split(", ")
            .map(|c| format!("u.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let row: Option<TokenUserRow> = sqlx::query_as(&format!(
            "SELECT {user_columns}, t.id AS t_id, t.name AS t_name, t.scopes AS t_scopes, t.created_at AS t_created_at, \
             t.expires_at AS t_expires_at, t.last_used_at AS t_last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2"
        ))
        .bind(token_hash.to_owned())
        .bind(to_micros(now))
        .fetch_optional(self.pool())
        .await
        .db()?;
        let Some(r) = row else { return Ok(None) };
        let user = crate::users::User::try_from(r.user)?;
        let token = ApiToken::try_from(TokenRow {
            id: r.t_id,
            user_id: user.id.to_string(),
            name: r.t_name,
            scopes: r.t_scopes,
            created_at: r.t_created_at,
            expires_at: r.t_expires_at,
            last_used_at: r.t_last_used_at,
        })?;
        Ok(Some((token, user)))
    }

    /// The unrevoked, unexpired token whose secret hashes to `token_hash`.
    pub async fn live_api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiToken>> {
        let row: Option<TokenRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2"
        ))
        .bind(token_hash.to_owned())
        .bind(to_micros(now))
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(ApiToken::try_from).transpose()
    }

    pub async fn live_api_tokens_of(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC"
        ))
        .bind(user.to_string())
        .bind(to_micros(now))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    pub async fn touch_api_token(&self, id: ApiTokenId, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(to_micros(now))
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }
}
