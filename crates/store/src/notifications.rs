//! In-app notifications: a row per person and event, read or not. They name what
//! happened and link to it; the page renders the words in the reader's language.

use chrono::{DateTime, Utc};
use telemed_domain::{Result, Role, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

/// The groups of notices people choose channels for: visit notices, new messages, and
/// (patients only) sign-in codes.
pub const NOTICE_GROUPS: [&str; 3] = ["visits", "messages", "codes"];

/// The groups of notices that may also come by text message: the visits' (booked,
/// moved, cancelled, reminders, "your clinician is waiting"), and a patient's sign-in
/// codes (`codes`, which also has an email choice; with neither chosen, codes come by
/// email).
pub const SMS_GROUPS: [&str; 2] = ["visits", "codes"];

/// The groups `role` chooses channels for: sign-in codes are a patient's only.
pub fn groups_for(role: Role) -> impl Iterator<Item = &'static str> {
    NOTICE_GROUPS
        .into_iter()
        .filter(move |g| *g != "codes" || role == Role::Patient)
}

/// One group's channels as chosen (or by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeChoice {
    pub group: &'static str,
    pub email: bool,
    /// None where the group does not come by text.
    pub sms: Option<bool>,
}

/// A way notices come besides the app, with its column in `notification_prefs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// On unless turned off.
    Email,
    /// Off unless turned on.
    Sms,
}

impl Channel {
    fn column(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// Whether `user` wants `group` by `channel`, read in the caller's transaction.
pub async fn wants(conn: &mut Conn, user: UserId, group: &str, channel: Channel) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(&format!(
        "SELECT {} FROM notification_prefs WHERE user_id = $1 AND kind = $2",
        channel.column()
    ))
    .bind(user.to_string())
    .bind(group.to_owned())
    .fetch_optional(conn)
    .await
    .db()?;
    Ok(match row {
        Some((on,)) => on != 0,
        None => channel == Channel::Email,
    })
}

/// Sets whether `user` wants `group` by `channel`; the other channel keeps its choice
/// (or its default).
pub async fn choose(
    conn: &mut Conn,
    user: UserId,
    group: &str,
    channel: Channel,
    on: bool,
) -> Result<()> {
    let column = channel.column();
    // A first choice writes the row with the other channel at its default.
    let (email, sms) = match channel {
        Channel::Email => (on, false),
        Channel::Sms => (true, on),
    };
    sqlx::query(&format!(
        "INSERT INTO notification_prefs (user_id, kind, email, sms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, kind) DO UPDATE SET {column} = excluded.{column}"
    ))
    .bind(user.to_string())
    .bind(group.to_owned())
    .bind(i64::from(email))
    .bind(i64::from(sms))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Whether `user` wants email for `group` (on unless they turned it off).
pub async fn wants_email(conn: &mut Conn, user: UserId, group: &str) -> Result<bool> {
    wants(conn, user, group, Channel::Email).await
}

pub async fn set_email(conn: &mut Conn, user: UserId, group: &str, on: bool) -> Result<()> {
    choose(conn, user, group, Channel::Email, on).await
}

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub subject_id: Option<String>,
    pub subject_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

pub struct NewNotification<'a> {
    pub user_id: UserId,
    pub kind: &'a str,
    pub subject_id: Option<String>,
    pub subject_at: Option<DateTime<Utc>>,
    /// What produced it (a job id): the same source creates one notification.
    pub source: Option<&'a str>,
}

pub async fn notify(conn: &mut Conn, n: NewNotification<'_>, now: DateTime<Utc>) -> Result<()> {
    notify_many(conn, std::slice::from_ref(&n), now).await
}

/// Writes several notifications in one statement (each `source` at most once).
pub async fn notify_many(
    conn: &mut Conn,
    all: &[NewNotification<'_>],
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in all.chunks(100) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 1 + 6 * i;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, $0)",
                    b,
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let now_param = 1 + 6 * chunk.len();
        let sql = format!(
            "INSERT INTO notifications (id, user_id, kind, subject_id, subject_at, source, created_at) \
             VALUES {} ON CONFLICT (source) DO NOTHING",
            rows.join(", ").replace("$0", &format!("${now_param}"))
        );
        let mut query = sqlx::query(&sql);
        for n in chunk {
            query = query
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(n.user_id.to_string())
                .bind(n.kind.to_owned())
                .bind(n.subject_id.clone())
                .bind(n.subject_at.map(to_micros))
                .bind(n.source.map(str::to_owned));
        }
        query.bind(to_micros(now)).execute(&mut *conn).await.db()?;
    }
    Ok(())
}

type Row = (
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
);

impl Store {
    /// A person's newest notifications first.
    pub async fn notifications(&self, user: UserId, limit: i64) -> Result<Vec<Notification>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, kind, subject_id, subject_at, created_at, read_at FROM notifications \
             WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2",
        )
        .bind(user.to_string())
        .bind(limit.clamp(1, 500))
        .fetch_all(self.pool())
        .await
        .db()?;
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, subject_id, subject_at, created_at, read_at)| Notification {
                    id,
                    kind,
                    subject_id,
                    subject_at: subject_at.map(from_micros),
                    created_at: from_micros(created_at),
                    read_at: read_at.map(from_micros),
                },
            )
            .collect())
    }

    /// How `user` (of `role`) wants each group of notices they choose for: by email (on
    /// unless turned off) and, for the groups texts can carry, by text (off unless
    /// turned on).
    pub async fn notice_choices(&self, user: UserId, role: Role) -> Result<Vec<NoticeChoice>> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT kind, email, sms FROM notification_prefs WHERE user_id = $1")
                .bind(user.to_string())
                .fetch_all(self.pool())
                .await
                .db()?;
        Ok(groups_for(role)
            .map(|group| {
                let row = rows.iter().find(|(g, _, _)| g == group);
                NoticeChoice {
                    group,
                    email: row.is_none_or(|(_, email, _)| *email != 0),
                    sms: SMS_GROUPS
                        .contains(&group)
                        .then(|| row.is_some_and(|(_, _, sms)| *sms != 0)),
                }
            })
            .collect())
    }

    pub async fn unread_notifications(&self, user: UserId) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user.to_string())
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok(n)
    }

    /// Marks all of a person's notifications read; returns how many changed.
    pub async fn mark_notifications_read(&self, user: UserId, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(user.to_string())
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected())
    }
}
