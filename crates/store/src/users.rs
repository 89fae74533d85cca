//! Accounts: identity, role, password hash, MFA secret, language, disabled flag.

use chrono::{DateTime, Utc};
use telemed_domain::names::{PersonName, UNIDENTIFIED};
use telemed_domain::{Email, Error, Result, Role, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store, Tx};

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub totp_secret: Option<String>,
    pub mfa_enabled_at: Option<DateTime<Utc>>,
    pub locale: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The IANA zone of the browser they last signed in with, if it told one.
    pub time_zone: Option<String>,
    /// The name in parts (the display name split, for accounts made before parts were
    /// kept and not yet backfilled).
    pub name: PersonName,
}

impl User {
    pub fn mfa_enabled(&self) -> bool {
        self.mfa_enabled_at.is_some() && self.totp_secret.is_some()
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    display_name: String,
    role: String,
    password_hash: String,
    email_verified_at: Option<i64>,
    totp_secret: Option<String>,
    mfa_enabled_at: Option<i64>,
    locale: String,
    disabled_at: Option<i64>,
    created_at: i64,
    time_zone: Option<String>,
    family_name: Option<String>,
    given_names: Option<String>,
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<Self> {
        let name = match r.family_name {
            Some(family) => PersonName {
                family,
                given: r
                    .given_names
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            },
            None => PersonName::from_display(&r.display_name),
        };
        Ok(User {
            id: r
                .id
                .parse()
                .map_err(|_| Error::internal("corrupt user id"))?,
            email: Email::parse(&r.email).map_err(|_| Error::internal("corrupt user email"))?,
            display_name: r.display_name,
            role: r
                .role
                .parse()
                .map_err(|_| Error::internal("corrupt user role"))?,
            password_hash: r.password_hash,
            email_verified_at: r.email_verified_at.map(from_micros),
            totp_secret: r.totp_secret,
            mfa_enabled_at: r.mfa_enabled_at.map(from_micros),
            locale: r.locale,
            disabled_at: r.disabled_at.map(from_micros),
            created_at: from_micros(r.created_at),
            time_zone: r.time_zone,
            name,
        })
    }
}

pub(crate) const COLUMNS: &str =
    "id, email, display_name, role, password_hash, email_verified_at, totp_secret, \
                       mfa_enabled_at, locale, disabled_at, created_at, time_zone, family_name, given_names";

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub email_verified: bool,
    pub locale: &'a str,
    /// The name in parts; `None` splits the display name.
    pub name: Option<PersonName>,
}

/// Fills in the name parts of accounts made before they were kept (at store start).
pub(crate) async fn backfill_names(pool: &sqlx::AnyPool) -> Result<()> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, display_name FROM users WHERE search_family IS NULL")
            .fetch_all(pool)
            .await
            .db()?;
    for (id, display) in rows {
        let name = PersonName::from_display(&display);
        sqlx::query(
            "UPDATE users SET family_name = $2, given_names = $3, search_family = $4, search_given = $5 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(name.family.clone())
        .bind(name.given_joined())
        .bind(name.search_family())
        .bind(name.search_given())
        .execute(pool)
        .await
        .db()?;
    }
    let unindexed: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, search_family, search_given FROM users u WHERE search_family IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM person_name_words w WHERE w.user_id = u.id)",
    )
    .fetch_all(pool)
    .await
    .db()?;
    if !unindexed.is_empty() {
        let mut conn = pool.acquire().await.db()?;
        for (id, family, given) in unindexed {
            index_name_words(&mut conn, &id, &[&family, &given]).await?;
        }
    }
    Ok(())
}

/// Changes a person's name (a correction, a new legal name): the display name, its
/// parts, and the words name search finds them by; the name as it was is kept in
/// `former_names`. Whether anything changed.
pub async fn rename(
    conn: &mut Conn,
    id: UserId,
    display_name: &str,
    name: &PersonName,
    now: DateTime<Utc>,
) -> Result<bool> {
    let id_text = id.to_string();
    let differs = "(display_name <> $2 OR COALESCE(family_name, '') <> $3 \
         OR COALESCE(given_names, '') <> $4)";
    // The name as it was is kept when it changes — unless it was only the label of a
    // patient registered without a name, which was never anyone's name.
    sqlx::query(&format!(
        "INSERT INTO former_names (user_id, display_name, family_name, given_names, until) \
         SELECT id, display_name, family_name, given_names, $5 FROM users \
         WHERE id = $1 AND {differs} AND NOT (display_name = $6 \
         AND COALESCE(family_name, '') = '' AND COALESCE(given_names, '') = '')"
    ))
    .bind(id_text.clone())
    .bind(display_name.to_owned())
    .bind(name.family.clone())
    .bind(name.given_joined())
    .bind(to_micros(now))
    .bind(UNIDENTIFIED)
    .execute(&mut *conn)
    .await
    .db()?;
    let changed = sqlx::query(&format!(
        "UPDATE users SET display_name = $2, family_name = $3, given_names = $4, \
         search_family = $5, search_given = $6, updated_at = $7 WHERE id = $1 AND {differs}"
    ))
    .bind(id_text.clone())
    .bind(display_name.to_owned())
    .bind(name.family.clone())
    .bind(name.given_joined())
    .bind(name.search_family())
    .bind(name.search_given())
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await
    .db()?
    .rows_affected()
        == 1;
    if changed {
        sqlx::query("DELETE FROM person_name_words WHERE user_id = $1")
            .bind(id_text.clone())
            .execute(&mut *conn)
            .await
            .db()?;
        index_person_name(conn, &id_text, name).await?;
    }
    Ok(changed)
}

/// Records the words of `name` for name search.
async fn index_person_name(conn: &mut Conn, id: &str, name: &PersonName) -> Result<()> {
    index_name_words(conn, id, &[&name.search_family(), &name.search_given()]).await
}

/// Records every word of a person's folded names (`search_family`, `search_given`) for
/// name search.
async fn index_name_words(conn: &mut Conn, id: &str, folded: &[&str]) -> Result<()> {
    let mut words: Vec<&str> = folded
        .iter()
        .flat_map(|names| names.split_whitespace())
        .collect();
    words.sort_unstable();
    words.dedup();
    for word in words {
        sqlx::query(
            "INSERT INTO person_name_words (word, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(word.to_owned())
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await
        .db()?;
    }
    Ok(())
}

/// Validates a person's display name: 1 to 100 characters, no control characters.
pub fn validate_display_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "display_name",
            "enter a name of 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

/// Creates an account. An email that is taken is a `Conflict`, and leaves the caller's
/// transaction usable (PostgreSQL aborts a transaction on a failed statement, so the
/// conflict is detected with `ON CONFLICT DO NOTHING` rather than by an error).
pub async fn insert(conn: &mut Conn, user: NewUser<'_>, now: DateTime<Utc>) -> Result<UserId> {
    let id = UserId::new();
    let now = to_micros(now);
    let name = user
        .name
        .clone()
        .unwrap_or_else(|| PersonName::from_display(user.display_name));
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO users (id, email, display_name, role, password_hash, email_verified_at, locale, created_at, updated_at, \
         family_name, given_names, search_family, search_given) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12) ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(id.to_string())
    .bind(user.email.as_str().to_owned())
    .bind(user.display_name.to_owned())
    .bind(user.role.as_str())
    .bind(user.password_hash.to_owned())
    .bind(user.email_verified.then_some(now))
    .bind(user.locale.to_owned())
    .bind(now)
    .bind(name.family.clone())
    .bind(name.given_joined())
    .bind(name.search_family())
    .bind(name.search_given())
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    match inserted {
        Some(_) => {
            index_person_name(conn, &id.to_string(), &name).await?;
            Ok(id)
        }
        None => Err(Error::Conflict(
            "an account with this email exists already".into(),
        )),
    }
}

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<Role>,
    /// Case-insensitive match on name or email.
    pub query: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl Store {
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(self.pool())
                .await
                .db()?;
        row.map(User::try_from).transpose()
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
                .bind(email.as_str().to_owned())
                .fetch_optional(self.pool())
                .await
                .db()?;
        row.map(User::try_from).transpose()
    }

    pub async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>> {
        let pattern = filter
            .query
            .as_deref()
            .map(|q| format!("%{}%", crate::like_escape(&q.to_lowercase())));
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM users \
             WHERE ($1 IS NULL OR role = $1) \
               AND ($2 IS NULL OR lower(display_name) LIKE $2 ESCAPE '\\' OR email LIKE $2 ESCAPE '\\') \
             ORDER BY display_name, id LIMIT $3 OFFSET $4"
        ))
        .bind(filter.role.map(|r| r.as_str()))
        .bind(pattern)
        .bind(filter.limit.clamp(1, 500))
        .bind(filter.offset.max(0))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(User::try_from).collect()
    }

    pub async fn count_users(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await
            .db()
    }
}

/// Runs one `UPDATE users ... WHERE id = $1` whose `$2` is the time of the change and
/// `$3`, when given, the new value.
async fn update_user(
    conn: &mut Conn,
    id: UserId,
    sql: &'static str,
    value: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut query = sqlx::query(sql).bind(id.to_string()).bind(to_micros(now));
    if let Some(value) = value {
        query = query.bind(value.to_owned());
    }
    if query.execute(conn).await.db()?.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Changes a person's role (a credential change: see `Tx::credentials_changed`).
pub async fn set_role(tx: &mut Tx, id: UserId, role: Role, now: DateTime<Utc>) -> Result<()> {
    update_user(
        tx,
        id,
        "UPDATE users SET role = $3, updated_at = $2 WHERE id = $1",
        Some(role.as_str()),
        now,
    )
    .await?;
    tx.credentials_changed();
    Ok(())
}

pub async fn set_password_hash(
    conn: &mut Conn,
    id: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    update_user(
        conn,
        id,
        "UPDATE users SET password_hash = $3, updated_at = $2 WHERE id = $1",
        Some(hash),
        now,
    )
    .await
}

pub async fn set_locale(
    conn: &mut Conn,
    id: UserId,
    locale: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    update_user(
        conn,
        id,
        "UPDATE users SET locale = $3, updated_at = $2 WHERE id = $1",
        Some(locale),
        now,
    )
    .await
}

/// Remembers the time zone of the browser `id` signed in with (an IANA name), when it
/// told one and it changed.
pub async fn remember_time_zone(conn: &mut Conn, id: UserId, zone: Option<&str>) -> Result<()> {
    let Some(zone) = zone else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE users SET time_zone = $2 WHERE id = $1 AND (time_zone IS NULL OR time_zone <> $2)",
    )
    .bind(id.to_string())
    .bind(zone.to_owned())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Stores a TOTP secret that is not yet confirmed (MFA stays off until `enable_mfa`).
pub async fn set_pending_totp(
    conn: &mut Conn,
    id: UserId,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let sql =
        "UPDATE users SET totp_secret = $3, mfa_enabled_at = NULL, updated_at = $2 WHERE id = $1";
    update_user(conn, id, sql, Some(secret), now).await
}

pub async fn enable_mfa(conn: &mut Conn, id: UserId, now: DateTime<Utc>) -> Result<()> {
    let sql = "UPDATE users SET mfa_enabled_at = $2, updated_at = $2 WHERE id = $1 AND totp_secret IS NOT NULL";
    update_user(conn, id, sql, None, now).await
}

pub async fn disable_mfa(conn: &mut Conn, id: UserId, now: DateTime<Utc>) -> Result<()> {
    let sql =
        "UPDATE users SET totp_secret = NULL, mfa_enabled_at = NULL, updated_at = $2 WHERE id = $1";
    update_user(conn, id, sql, None, now).await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

pub async fn mark_email_verified(conn: &mut Conn, id: UserId, now: DateTime<Utc>) -> Result<()> {
    let sql = "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2), updated_at = $2 WHERE id = $1";
    update_user(conn, id, sql, None, now).await
}

/// Disables or re-enables an account (a credential change: see
/// `Tx::credentials_changed`).
pub async fn set_disabled(
    tx: &mut Tx,
    id: UserId,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let sql = if disabled {
        "UPDATE users SET disabled_at = $2, updated_at = $2 WHERE id = $1"
    } else {
        "UPDATE users SET disabled_at = NULL, updated_at = $2 WHERE id = $1"
    };
    update_user(tx, id, sql, None, now).await?;
    tx.credentials_changed();
    Ok(())
}

/// Replaces the user's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    conn: &mut Conn,
    id: UserId,
    code_hashes: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .db()?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(id.to_string())
            .bind(hash.clone())
            .execute(&mut *conn)
            .await
            .db()?;
    }
    Ok(())
}

/// Uses up one recovery code; true when it was valid and unused.
pub async fn consume_recovery_code(
    conn: &mut Conn,
    id: UserId,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
        .bind(to_micros(now))
        .bind(id.to_string())
        .bind(code_hash.to_owned())
        .execute(conn)
        .await
        .db()?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    pub async fn unused_recovery_codes(&self, id: UserId) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(id.to_string())
        .fetch_one(self.pool())
        .await
        .db()
    }
}

/// Records that the TOTP code of time step `step` was used; false when that step (or a
/// later one) was used already, i.e. the code is being replayed.
pub async fn claim_totp_step(conn: &mut Conn, id: UserId, step: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(id.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_specialty(conn: &mut Conn, id: UserId, specialty: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO clinician_profiles (user_id, specialty) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET specialty = excluded.specialty",
    )
    .bind(id.to_string())
    .bind(specialty.to_owned())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

impl Store {
    pub async fn specialty_of(&self, id: UserId) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT specialty FROM clinician_profiles WHERE user_id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .db()
    }
}

/// Reads a user on a given connection, e.g. inside a transaction that just wrote it.
pub async fn by_id_in(conn: &mut Conn, id: UserId) -> Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(conn)
            .await
            .db()?;
    row.map(User::try_from).transpose()
}

impl Store {
    /// Display names and roles of these users (for showing who did what).
    pub async fn names_of(
        &self,
        ids: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, (String, Role)>> {
        let mut names = std::collections::HashMap::new();
        for chunk in ids.chunks(200) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id, display_name, role FROM users WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
            for id in chunk {
                query = query.bind(id.to_string());
            }
            for (id, name, role) in query.fetch_all(self.pool()).await.db()? {
                if let (Ok(id), Ok(role)) = (id.parse(), role.parse()) {
                    names.insert(id, (name, role));
                }
            }
        }
        Ok(names)
    }
}
