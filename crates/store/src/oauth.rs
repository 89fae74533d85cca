//! OAuth 2 clients, grants, one-time codes and tokens (see migration 0013). Only hashes
//! of secrets are stored. A token is live while it has not expired, its grant is not
//! revoked, its client is not disabled and its user is not disabled.

use chrono::{DateTime, Utc};
use telemed_domain::{Error, OAuthClientId, OAuthGrantId, Result, Role, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store, Tx};

fn corrupt<E>(_: E) -> Error {
    Error::internal("corrupt oauth row")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: OAuthClientId,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    pub secret_hash: Option<String>,
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

type ClientRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
);

const CLIENT_COLUMNS: &str =
    "id, name, redirect_uris, secret_hash, scopes, created_at, disabled_at";

fn client_of(r: ClientRow) -> Result<Client> {
    Ok(Client {
        id: r.0.parse().map_err(corrupt)?,
        name: r.1,
        redirect_uris: r.2.lines().map(str::to_owned).collect(),
        confidential: r.3.is_some(),
        secret_hash: r.3,
        scopes: r.4,
        created_at: from_micros(r.5),
        disabled: r.6.is_some(),
    })
}

pub struct NewClient<'a> {
    pub name: &'a str,
    pub redirect_uris: &'a [String],
    pub secret_hash: Option<&'a str>,
    pub scopes: &'a str,
    pub created_by: UserId,
}

pub async fn insert_client(
    conn: &mut Conn,
    c: NewClient<'_>,
    now: DateTime<Utc>,
) -> Result<OAuthClientId> {
    let id = OAuthClientId::new();
    sqlx::query(
        "INSERT INTO oauth_clients (id, name, redirect_uris, secret_hash, scopes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(c.name.to_owned())
    .bind(c.redirect_uris.join("\n"))
    .bind(c.secret_hash.map(str::to_owned))
    .bind(c.scopes.to_owned())
    .bind(c.created_by.to_string())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

/// Disables a client: its tokens stop working (a credential change: see
/// `Tx::credentials_changed`).
pub async fn disable_client(tx: &mut Tx, id: OAuthClientId, now: DateTime<Utc>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE oauth_clients SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL",
    )
    .bind(id.to_string())
    .bind(to_micros(now))
    .execute(tx.conn())
    .await
    .db()?;
    let disabled = done.rows_affected() == 1;
    if disabled {
        tx.credentials_changed();
    }
    Ok(disabled)
}

/// An authorization a user gave a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub id: OAuthGrantId,
    pub client_id: OAuthClientId,
    pub user_id: UserId,
    pub scopes: String,
    pub patient: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

type GrantRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
);

const GRANT_COLUMNS: &str =
    "g.id, g.client_id, g.user_id, g.scopes, g.patient_id, g.created_at, g.revoked_at";

fn grant_of(r: GrantRow) -> Result<Grant> {
    Ok(Grant {
        id: r.0.parse().map_err(corrupt)?,
        client_id: r.1.parse().map_err(corrupt)?,
        user_id: r.2.parse().map_err(corrupt)?,
        scopes: r.3,
        patient: r.4.map(|p| p.parse()).transpose().map_err(corrupt)?,
        created_at: from_micros(r.5),
        revoked: r.6.is_some(),
    })
}

/// What an access token stands for while it lives.
pub struct LiveAccess {
    pub grant: Grant,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

pub struct NewGrant<'a> {
    pub client_id: OAuthClientId,
    pub user_id: UserId,
    pub scopes: &'a str,
    pub patient: Option<UserId>,
}

pub async fn insert_grant(
    conn: &mut Conn,
    g: NewGrant<'_>,
    now: DateTime<Utc>,
) -> Result<OAuthGrantId> {
    let id = OAuthGrantId::new();
    sqlx::query(
        "INSERT INTO oauth_grants (id, client_id, user_id, scopes, patient_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(g.client_id.to_string())
    .bind(g.user_id.to_string())
    .bind(g.scopes.to_owned())
    .bind(g.patient.map(|p| p.to_string()))
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(id)
}

pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub grant: OAuthGrantId,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub nonce: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_code(conn: &mut Conn, c: NewCode<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.code_hash.to_owned())
    .bind(c.grant.to_string())
    .bind(c.redirect_uri.to_owned())
    .bind(c.code_challenge.to_owned())
    .bind(c.nonce.map(str::to_owned))
    .bind(to_micros(c.expires_at))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// A code being exchanged.
#[derive(Debug, Clone)]
pub enum CodeUse {
    /// First use, in time: the grant, the redirect URI and PKCE challenge it was issued for.
    Fresh {
        grant: Grant,
        redirect_uri: String,
        code_challenge: String,
        nonce: Option<String>,
    },
    /// Used before (a replay): the grant it belongs to, to be revoked.
    Replayed(OAuthGrantId),
    /// Unknown or expired.
    Invalid,
}

/// Spends a code: marks it used in the same statement that checks it was not, so two
/// exchanges of one code cannot both succeed.
pub async fn spend_code(conn: &mut Conn, code_hash: &str, now: DateTime<Utc>) -> Result<CodeUse> {
    let spent: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 \
         RETURNING grant_id, redirect_uri, code_challenge, nonce",
    )
    .bind(code_hash.to_owned())
    .bind(to_micros(now))
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    match spent {
        Some((grant_id, redirect_uri, code_challenge, nonce)) => {
            let grant = grant_in(conn, grant_id.parse().map_err(corrupt)?)
                .await?
                .ok_or_else(|| Error::internal("code without grant"))?;
            Ok(CodeUse::Fresh {
                grant,
                redirect_uri,
                code_challenge,
                nonce,
            })
        }
        None => {
            let used: Option<(String, Option<i64>)> =
                sqlx::query_as("SELECT grant_id, used_at FROM oauth_codes WHERE code_hash = $1")
                    .bind(code_hash.to_owned())
                    .fetch_optional(conn)
                    .await
                    .db()?;
            Ok(match used {
                Some((grant, Some(_))) => CodeUse::Replayed(grant.parse().map_err(corrupt)?),
                _ => CodeUse::Invalid,
            })
        }
    }
}

async fn grant_in(conn: &mut Conn, id: OAuthGrantId) -> Result<Option<Grant>> {
    let row: Option<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM oauth_grants g WHERE g.id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(grant_of).transpose()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

pub async fn insert_token(
    conn: &mut Conn,
    token_hash: &str,
    grant: OAuthGrantId,
    kind: TokenKind,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO oauth_tokens (token_hash, grant_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash.to_owned())
    .bind(grant.to_string())
    .bind(kind.as_str())
    .bind(to_micros(now))
    .bind(to_micros(expires_at))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// A refresh token being used.
#[derive(Debug, Clone)]
pub enum RefreshUse {
    Fresh(Grant),
    /// Used before: someone holds a copy; the grant is to be revoked.
    Replayed(OAuthGrantId),
    Invalid,
}

/// Spends a refresh token of a live grant (rotation: each is used once).
pub async fn spend_refresh(
    conn: &mut Conn,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<RefreshUse> {
    let spent: Option<(String,)> = sqlx::query_as(
        "UPDATE oauth_tokens SET used_at = $2 WHERE token_hash = $1 AND kind = 'refresh' \
         AND used_at IS NULL AND expires_at > $2 RETURNING grant_id",
    )
    .bind(token_hash.to_owned())
    .bind(to_micros(now))
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    if let Some((grant_id,)) = spent {
        let grant = grant_in(conn, grant_id.parse().map_err(corrupt)?).await?;
        return Ok(match grant {
            Some(g) if !g.revoked => RefreshUse::Fresh(g),
            _ => RefreshUse::Invalid,
        });
    }
    let used: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT grant_id, used_at FROM oauth_tokens WHERE token_hash = $1 AND kind = 'refresh'",
    )
    .bind(token_hash.to_owned())
    .fetch_optional(conn)
    .await
    .db()?;
    Ok(match used {
        Some((grant, Some(_))) => RefreshUse::Replayed(grant.parse().map_err(corrupt)?),
        _ => RefreshUse::Invalid,
    })
}

/// Revokes a grant: every token of it stops working at once. `user`, when given, must
/// own it (a person revoking from their account page). A credential change: see
/// `Tx::credentials_changed`.
pub async fn revoke_grant(
    tx: &mut Tx,
    id: OAuthGrantId,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL \
         AND ($3 IS NULL OR user_id = $3)",
    )
    .bind(id.to_string())
    .bind(to_micros(now))
    .bind(user.map(|u| u.to_string()))
    .execute(tx.conn())
    .await
    .db()?;
    let revoked = done.rows_affected() == 1;
    if revoked {
        tx.credentials_changed();
    }
    Ok(revoked)
}

/// A user's role, read on `conn` (for the id_token's `fhirUser`).
pub async fn role_of(conn: &mut Conn, user: UserId) -> Result<Option<telemed_domain::Role>> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(user.to_string())
        .fetch_optional(conn)
        .await
        .db()?;
    Ok(role.and_then(|r| r.parse().ok()))
}

impl Store {
    pub async fn oauth_client(&self, id: OAuthClientId) -> Result<Option<Client>> {
        let row: Option<ClientRow> = sqlx::query_as(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(client_of).transpose()
    }

    pub async fn oauth_clients(&self) -> Result<Vec<Client>> {
        let rows: Vec<ClientRow> = sqlx::query_as(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY created_at DESC"
        ))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(client_of).collect()
    }

    /// The live grant behind an access token, with the client still enabled and the
    /// user not disabled: the grant, the user's role and when the token expires.
    pub async fn live_access_grant(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LiveAccess>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: String,
            client_id: String,
            user_id: String,
            scopes: String,
            patient_id: Option<String>,
            created_at: i64,
            revoked_at: Option<i64>,
            role: String,
            expires_at: i64,
        }
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {GRANT_COLUMNS}, u.role, t.expires_at FROM oauth_tokens t \
             JOIN oauth_grants g ON g.id = t.grant_id \
             JOIN oauth_clients c ON c.id = g.client_id \
             JOIN users u ON u.id = g.user_id \
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2 \
               AND g.revoked_at IS NULL AND c.disabled_at IS NULL AND u.disabled_at IS NULL"
        ))
        .bind(token_hash.to_owned())
        .bind(to_micros(now))
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(|r| {
            Ok(LiveAccess {
                grant: grant_of((
                    r.id,
                    r.client_id,
                    r.user_id,
                    r.scopes,
                    r.patient_id,
                    r.created_at,
                    r.revoked_at,
                ))?,
                role: r.role.parse().map_err(corrupt)?,
                expires_at: from_micros(r.expires_at),
            })
        })
        .transpose()
    }

    /// The grant a token (access or refresh) belongs to, whatever its state.
    pub async fn grant_of_token(&self, token_hash: &str) -> Result<Option<Grant>> {
        let row: Option<GrantRow> = sqlx::query_as(&format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id \
             WHERE t.token_hash = $1"
        ))
        .bind(token_hash.to_owned())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(grant_of).transpose()
    }

    /// A person's live authorizations (those that gave the app tokens), newest first,
    /// with the app's name.
    pub async fn grants_of(&self, user: UserId) -> Result<Vec<(Grant, String)>> {
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            i64,
            Option<i64>,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(&format!(
                "SELECT {GRANT_COLUMNS}, c.name FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id \
                 WHERE g.user_id = $1 AND g.revoked_at IS NULL \
                   AND EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = g.id) \
                 ORDER BY g.created_at DESC, g.id"
            ))
            .bind(user.to_string())
            .fetch_all(self.pool())
            .await
            .db()?;
        rows.into_iter()
            .map(|r| Ok((grant_of((r.0, r.1, r.2, r.3, r.4, r.5, r.6))?, r.7)))
            .collect()
    }
}
