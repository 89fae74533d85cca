//! Threads, their members and messages. A message takes the next number of its thread
//! (`threads.last_seq`, incremented in the sending transaction: on PostgreSQL the row
//! lock orders concurrent senders, on SQLite the write lock does), so every reader sees
//! one order and can ask for what came after the last number it has.

use chrono::{DateTime, Utc};
use telemed_domain::{Error, MessageId, Result, ThreadId, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

#[derive(Debug, Clone)]
pub struct Thread {
    pub id: ThreadId,
    pub subject: String,
    pub patient_id: Option<UserId>,
    pub clinic_inbox: bool,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub last_seq: i64,
    pub last_message_at: DateTime<Utc>,
}

/// A thread as one person sees it in their inbox.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    pub thread: Thread,
    /// The last message they have read; `None` when they are not a member (staff
    /// looking at the clinic inbox).
    pub read_seq: Option<i64>,
    pub archived: bool,
}

impl InboxEntry {
    pub fn unread(&self) -> i64 {
        (self.thread.last_seq - self.read_seq.unwrap_or(0)).max(0)
    }
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: MessageId,
    pub thread_id: ThreadId,
    pub seq: i64,
    pub sender_id: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

type ThreadRow = (String, String, Option<String>, i64, String, i64, i64, i64);
const THREAD_COLUMNS: &str =
    "t.id, t.subject, t.patient_id, t.clinic_inbox, t.created_by, t.created_at, t.last_seq, t.last_message_at";

fn corrupt<E>(_: E) -> Error {
    Error::internal("corrupt messaging row")
}

fn thread_of(r: ThreadRow) -> Result<Thread> {
    Ok(Thread {
        id: r.0.parse().map_err(corrupt)?,
        subject: r.1,
        patient_id: r.2.map(|p| p.parse()).transpose().map_err(corrupt)?,
        clinic_inbox: r.3 != 0,
        created_by: r.4.parse().map_err(corrupt)?,
        created_at: from_micros(r.5),
        last_seq: r.6,
        last_message_at: from_micros(r.7),
    })
}

/// A thread with one person's membership columns.
#[derive(sqlx::FromRow)]
struct InboxRow {
    id: String,
    subject: String,
    patient_id: Option<String>,
    clinic_inbox: i64,
    created_by: String,
    created_at: i64,
    last_seq: i64,
    last_message_at: i64,
    read_seq: Option<i64>,
    archived_at: Option<i64>,
}

type MessageRow = (String, String, i64, String, String, i64);
const MESSAGE_COLUMNS: &str = "id, thread_id, seq, sender_id, body, created_at";

fn message_of(r: MessageRow) -> Result<Message> {
    Ok(Message {
        id: r.0.parse().map_err(corrupt)?,
        thread_id: r.1.parse().map_err(corrupt)?,
        seq: r.2,
        sender_id: r.3.parse().map_err(corrupt)?,
        body: r.4,
        created_at: from_micros(r.5),
    })
}

pub struct NewThread<'a> {
    pub subject: &'a str,
    pub patient_id: Option<UserId>,
    pub clinic_inbox: bool,
    pub created_by: UserId,
    pub members: &'a [UserId],
}

pub async fn create_thread(
    conn: &mut Conn,
    t: NewThread<'_>,
    now: DateTime<Utc>,
) -> Result<ThreadId> {
    let id = ThreadId::new();
    sqlx::query(
        "INSERT INTO threads (id, subject, patient_id, clinic_inbox, created_by, created_at, last_seq, last_message_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
    )
    .bind(id.to_string())
    .bind(t.subject.to_owned())
    .bind(t.patient_id.map(|p| p.to_string()))
    .bind(i64::from(t.clinic_inbox))
    .bind(t.created_by.to_string())
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await
    .db()?;
    for member in t.members {
        add_member(conn, id, *member, now).await?;
    }
    Ok(id)
}

/// Adds a member (no-op if they are one already).
pub async fn add_member(
    conn: &mut Conn,
    thread: ThreadId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO thread_members (thread_id, user_id, read_seq, added_at) VALUES ($1, $2, 0, $3) \
         ON CONFLICT (thread_id, user_id) DO NOTHING",
    )
    .bind(thread.to_string())
    .bind(user.to_string())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// The members of a thread and how far each has read, in the caller's transaction.
pub async fn members_in(conn: &mut Conn, thread: ThreadId) -> Result<Vec<(UserId, i64)>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT user_id, read_seq FROM thread_members WHERE thread_id = $1")
            .bind(thread.to_string())
            .fetch_all(conn)
            .await
            .db()?;
    rows.into_iter()
        .map(|(u, seq)| Ok((u.parse().map_err(corrupt)?, seq)))
        .collect()
}

/// What sending stored: the message, and whether it was a resend of one stored before.
pub struct Appended {
    pub message: Message,
    pub duplicate: bool,
}

/// Stores a message as the thread's next. With a `client_id` the sender already used,
/// the earlier message is returned and nothing is stored. The sender has read up to it;
/// the thread comes back out of everyone's archive.
pub async fn append_message(
    conn: &mut Conn,
    thread: ThreadId,
    sender: UserId,
    body: &str,
    client_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Appended> {
    if let Some(client_id) = client_id {
        let earlier: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = $1 AND client_id = $2"
        ))
        .bind(sender.to_string())
        .bind(client_id.to_owned())
        .fetch_optional(&mut *conn)
        .await
        .db()?;
        if let Some(row) = earlier {
            let message = message_of(row)?;
            if message.thread_id != thread {
                return Err(Error::Conflict(
                    "this client id was used in another thread".into(),
                ));
            }
            return Ok(Appended {
                message,
                duplicate: true,
            });
        }
    }
    let (seq,): (i64,) = sqlx::query_as(
        "UPDATE threads SET last_seq = last_seq + 1, last_message_at = $1 WHERE id = $2 RETURNING last_seq",
    )
    .bind(to_micros(now))
    .bind(thread.to_string())
    .fetch_one(&mut *conn)
    .await
    .db()?;
    let id = MessageId::new();
    let stored = sqlx::query(
        "INSERT INTO messages (id, thread_id, seq, sender_id, body, client_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sender_id, client_id) DO NOTHING",
    )
    .bind(id.to_string())
    .bind(thread.to_string())
    .bind(seq)
    .bind(sender.to_string())
    .bind(body.to_owned())
    .bind(client_id.map(str::to_owned))
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await
    .db()?;
    if stored.rows_affected() == 0 {
        // The same client id arrived twice at once: the caller rolls back and resends.
        return Err(Error::Conflict("this message is being sent already".into()));
    }
    sqlx::query("UPDATE thread_members SET read_seq = $1 WHERE thread_id = $2 AND user_id = $3")
        .bind(seq)
        .bind(thread.to_string())
        .bind(sender.to_string())
        .execute(&mut *conn)
        .await
        .db()?;
    sqlx::query(
        "UPDATE thread_members SET archived_at = NULL WHERE thread_id = $1 AND archived_at IS NOT NULL",
    )
        .bind(thread.to_string())
        .execute(conn)
        .await
        .db()?;
    Ok(Appended {
        message: Message {
            id,
            thread_id: thread,
            seq,
            sender_id: sender,
            body: body.to_owned(),
            created_at: now,
        },
        duplicate: false,
    })
}

impl Store {
    pub async fn thread(&self, id: ThreadId) -> Result<Option<Thread>> {
        let row: Option<ThreadRow> = sqlx::query_as(&format!(
            "SELECT {THREAD_COLUMNS} FROM threads t WHERE t.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(thread_of).transpose()
    }

    /// `user`'s read position and archive flag in `thread`, if a member.
    pub async fn membership(&self, thread: ThreadId, user: UserId) -> Result<Option<(i64, bool)>> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT read_seq, archived_at FROM thread_members WHERE thread_id = $1 AND user_id = $2",
        )
        .bind(thread.to_string())
        .bind(user.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        Ok(row.map(|(seq, archived)| (seq, archived.is_some())))
    }

    /// Members with their read positions (for receipts).
    pub async fn thread_members(&self, thread: ThreadId) -> Result<Vec<(UserId, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT user_id, read_seq FROM thread_members WHERE thread_id = $1 ORDER BY added_at, user_id",
        )
        .bind(thread.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(u, s)| Ok((u.parse().map_err(corrupt)?, s)))
            .collect()
    }

    /// The threads `user` belongs to (and, with `clinic_inbox`, every clinic-inbox
    /// thread), newest activity first; archived ones or the others.
    pub async fn inbox(
        &self,
        user: UserId,
        clinic_inbox: bool,
        archived: bool,
    ) -> Result<Vec<InboxEntry>> {
        let rows: Vec<InboxRow> = sqlx::query_as(&format!(
            "SELECT {THREAD_COLUMNS}, m.read_seq, m.archived_at FROM threads t \
                 LEFT JOIN thread_members m ON m.thread_id = t.id AND m.user_id = $1 \
                 WHERE (m.user_id IS NOT NULL OR ($2 = 1 AND t.clinic_inbox = 1)) \
                 AND (CASE WHEN m.archived_at IS NULL THEN 0 ELSE 1 END) = $3 \
                 ORDER BY t.last_message_at DESC, t.id LIMIT 500"
        ))
        .bind(user.to_string())
        .bind(i64::from(clinic_inbox))
        .bind(i64::from(archived))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|r| {
                Ok(InboxEntry {
                    read_seq: r.read_seq,
                    archived: r.archived_at.is_some(),
                    thread: thread_of((
                        r.id,
                        r.subject,
                        r.patient_id,
                        r.clinic_inbox,
                        r.created_by,
                        r.created_at,
                        r.last_seq,
                        r.last_message_at,
                    ))?,
                })
            })
            .collect()
    }

    /// Messages of a thread after `after`, in order, at most `limit`.
    pub async fn messages_after(
        &self,
        thread: ThreadId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(thread.to_string())
        .bind(after)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(message_of).collect()
    }

    /// Moves `user`'s read position forward to `seq` (never back); true if it moved.
    pub async fn mark_thread_read(&self, thread: ThreadId, user: UserId, seq: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE thread_members SET read_seq = $1 WHERE thread_id = $2 AND user_id = $3 AND read_seq < $1 \
             AND $1 <= (SELECT last_seq FROM threads WHERE id = $2)",
        )
        .bind(seq)
        .bind(thread.to_string())
        .bind(user.to_string())
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_thread_archived(
        &self,
        thread: ThreadId,
        user: UserId,
        archived: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE thread_members SET archived_at = $1 WHERE thread_id = $2 AND user_id = $3",
        )
        .bind(archived.then(|| to_micros(now)))
        .bind(thread.to_string())
        .bind(user.to_string())
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected() == 1)
    }

    /// Unread messages across `user`'s threads.
    pub async fn unread_messages(&self, user: UserId) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(SUM(t.last_seq - m.read_seq), 0) FROM thread_members m \
             JOIN threads t ON t.id = m.thread_id WHERE m.user_id = $1 AND m.archived_at IS NULL",
        )
        .bind(user.to_string())
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok(n)
    }

    /// Whether the clinician has seen or will see the patient: a visit that is not
    /// cancelled or entered in error.
    pub async fn has_care_relationship(&self, patient: UserId, clinician: UserId) -> Result<bool> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM appointments WHERE patient_id = $1 AND clinician_id = $2 \
             AND status NOT IN ('cancelled', 'entered-in-error')",
        )
        .bind(patient.to_string())
        .bind(clinician.to_string())
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok(n > 0)
    }

    /// Everyone with `role`, active (e.g. all staff, who share the clinic inbox).
    pub async fn active_ids_with_role(&self, role: telemed_domain::Role) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM users WHERE role = $1 AND disabled_at IS NULL")
                .bind(role.as_str())
                .fetch_all(self.pool())
                .await
                .db()?;
        rows.into_iter()
            .map(|(id,)| id.parse().map_err(corrupt))
            .collect()
    }
}
