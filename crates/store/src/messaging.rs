//! Threads, their members and messages. A message takes the next number of its thread
//! (`threads.last_seq`, incremented in the sending transaction: on PostgreSQL the row
//! lock orders concurrent senders, on SQLite the write lock does), so every reader sees
//! one order and can ask for what came after the last number it has.

use chrono::{DateTime, Utc};
use telemed_domain::{BlobId, Error, MessageId, Result, ThreadId, UserId};

use crate::blobs::{Blob, BlobRecord, BLOB_COLUMNS};
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
    /// Files sent with the message, in the order they were attached.
    pub attachments: Vec<Blob>,
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

fn entry_of(r: InboxRow) -> Result<InboxEntry> {
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
        attachments: Vec::new(),
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

/// Who hears of new messages in `threads`: each member with their read position and
/// whether they want email for messages (on unless turned off).
pub async fn members_for_notice(
    conn: &mut Conn,
    threads: &[ThreadId],
) -> Result<Vec<(ThreadId, UserId, i64, bool)>> {
    if threads.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT m.thread_id, m.user_id, m.read_seq, COALESCE(p.email, 1) FROM thread_members m \
         LEFT JOIN notification_prefs p ON p.user_id = m.user_id AND p.kind = 'messages' \
         WHERE m.thread_id IN ({})",
        params(1, threads.len())
    );
    let mut query = sqlx::query_as::<_, (String, String, i64, i64)>(&sql);
    for t in threads {
        query = query.bind(t.to_string());
    }
    let rows = query.fetch_all(conn).await.db()?;
    rows.into_iter()
        .map(|(t, u, seq, email)| {
            Ok((
                t.parse().map_err(corrupt)?,
                u.parse().map_err(corrupt)?,
                seq,
                email != 0,
            ))
        })
        .collect()
}

/// What sending stored: the message, and whether it was a resend of one stored before.
pub struct Appended {
    pub message: Message,
    pub duplicate: bool,
}

pub struct NewMessage<'a> {
    pub thread: ThreadId,
    pub sender: UserId,
    pub body: &'a str,
    /// The sender's own id for the message, making a resend harmless.
    pub client_id: Option<&'a str>,
    /// Files the sender uploaded and has not sent yet.
    pub attachments: &'a [BlobId],
}

/// Stores a message as the thread's next, with its attachments. With a `client_id` the
/// sender already used, the earlier message is returned and nothing is stored. The
/// sender has read up to it; the thread comes back out of everyone's archive.
pub async fn append_message(
    conn: &mut Conn,
    new: NewMessage<'_>,
    now: DateTime<Utc>,
) -> Result<Appended> {
    append_many(conn, std::slice::from_ref(&new), now)
        .await?
        .pop()
        .ok_or_else(|| Error::internal("append_many returned nothing"))
}

/// Placeholders `$from, ..., $(from + count - 1)`.
fn params(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What becomes of one item of `append_many`.
enum Fate {
    New,
    /// A resend of a message stored before.
    Stored(Message),
    /// A resend of an earlier item of the same batch.
    SameAs(usize),
}

/// Stored messages whose (sender, client id) match `items`.
async fn earlier_by_client_id(
    conn: &mut Conn,
    items: &[NewMessage<'_>],
) -> Result<Vec<(Message, String)>> {
    let client_ids: Vec<&str> = items.iter().filter_map(|i| i.client_id).collect();
    if client_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, client_id FROM messages WHERE client_id IN ({})",
        params(1, client_ids.len())
    );
    let mut query = sqlx::query_as::<_, (String, String, i64, String, String, i64, String)>(&sql);
    for c in &client_ids {
        query = query.bind(c.to_string());
    }
    let rows = query.fetch_all(conn).await.db()?;
    rows.into_iter()
        .map(|(a, b, c, d, e, f, client_id)| Ok((message_of((a, b, c, d, e, f))?, client_id)))
        .collect()
}

/// Stores several messages in the caller's transaction with a fixed handful of
/// statements whatever their number (the send path batches concurrent senders this
/// way). Each message takes the next number of its thread in the order given; results
/// come back in the same order. A resend (a `client_id` its sender used before, or twice
/// in `items`) stores nothing and comes back as a duplicate. The senders have read up to
/// their messages; the threads come back out of everyone's archive. On an error the
/// caller rolls back.
pub async fn append_many(
    conn: &mut Conn,
    items: &[NewMessage<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Appended>> {
    let earlier = earlier_by_client_id(&mut *conn, items).await?;
    let mut fates = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let fate = match item.client_id {
            None => Fate::New,
            Some(c) => {
                let stored = earlier
                    .iter()
                    .find(|(m, id)| m.sender_id == item.sender && id == c);
                if let Some((m, _)) = stored {
                    if m.thread_id != item.thread {
                        return Err(Error::Conflict(
                            "this client id was used in another thread".into(),
                        ));
                    }
                    Fate::Stored(m.clone())
                } else if let Some(j) = items[..i]
                    .iter()
                    .position(|o| o.sender == item.sender && o.client_id == Some(c))
                {
                    Fate::SameAs(j)
                } else {
                    Fate::New
                }
            }
        };
        fates.push(fate);
    }
    let fresh: Vec<&NewMessage<'_>> = items
        .iter()
        .zip(&fates)
        .filter(|(_, f)| matches!(f, Fate::New))
        .map(|(i, _)| i)
        .collect();
    let mut numbered: Vec<Message> = Vec::with_capacity(fresh.len());
    if !fresh.is_empty() {
        numbered = number_and_insert(&mut *conn, &fresh, now).await?;
        for (item, message) in fresh.iter().zip(numbered.iter_mut()) {
            if !item.attachments.is_empty() {
                message.attachments = attach(
                    &mut *conn,
                    message.id,
                    item.thread,
                    item.sender,
                    item.attachments,
                )
                .await?;
            }
        }
        mark_sent(&mut *conn, &numbered).await?;
    }
    let mut numbered = numbered.into_iter();
    let mut out: Vec<Appended> = Vec::with_capacity(items.len());
    for fate in fates {
        let appended = match fate {
            Fate::New => Appended {
                message: numbered
                    .next()
                    .ok_or_else(|| Error::internal("a new message went missing"))?,
                duplicate: false,
            },
            Fate::Stored(mut message) => {
                message.attachments = attachments_of(&mut *conn, &[message.id])
                    .await?
                    .into_iter()
                    .map(|(_, b)| b)
                    .collect();
                Appended {
                    message,
                    duplicate: true,
                }
            }
            Fate::SameAs(j) => Appended {
                message: out
                    .get(j)
                    .map(|a| a.message.clone())
                    .ok_or_else(|| Error::internal("a batch resend went missing"))?,
                duplicate: true,
            },
        };
        out.push(appended);
    }
    Ok(out)
}

/// Takes the next numbers of the threads (one statement for all) and inserts the
/// messages (one statement).
async fn number_and_insert(
    conn: &mut Conn,
    fresh: &[&NewMessage<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Message>> {
    let mut per_thread: Vec<(ThreadId, i64)> = Vec::new();
    for item in fresh {
        match per_thread.iter_mut().find(|(t, _)| *t == item.thread) {
            Some((_, n)) => *n += 1,
            None => per_thread.push((item.thread, 1)),
        }
    }
    let cases: Vec<String> = (0..per_thread.len())
        .map(|i| format!("WHEN ${} THEN CAST(${} AS BIGINT)", 2 + 2 * i, 3 + 2 * i))
        .collect();
    let ids: Vec<String> = (0..per_thread.len())
        .map(|i| format!("${}", 2 + 2 * i))
        .collect();
    let ids = ids.join(", ");
    let sql = format!(
        "UPDATE threads SET last_seq = last_seq + CASE id {} END, last_message_at = $1 \
         WHERE id IN ({ids}) RETURNING id, last_seq",
        cases.join(" ")
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(to_micros(now));
    for (thread, n) in &per_thread {
        query = query.bind(thread.to_string()).bind(*n);
    }
    let last: Vec<(String, i64)> = query.fetch_all(&mut *conn).await.db()?;
    // The next free number of each thread, counted up as the batch takes them.
    let mut next: Vec<(ThreadId, i64)> = Vec::with_capacity(per_thread.len());
    for (thread, n) in &per_thread {
        let (_, last_seq) = last
            .iter()
            .find(|(id, _)| *id == thread.to_string())
            .ok_or(Error::NotFound)?;
        next.push((*thread, last_seq - n + 1));
    }
    let mut messages = Vec::with_capacity(fresh.len());
    for item in fresh {
        let slot = next
            .iter_mut()
            .find(|(t, _)| *t == item.thread)
            .ok_or_else(|| Error::internal("thread counter missing"))?;
        messages.push(Message {
            id: MessageId::new(),
            thread_id: item.thread,
            seq: slot.1,
            sender_id: item.sender,
            body: item.body.to_owned(),
            created_at: now,
            attachments: Vec::new(),
        });
        slot.1 += 1;
    }
    let rows: Vec<String> = (0..fresh.len())
        .map(|i| format!("({})", params(1 + 7 * i, 7)))
        .collect();
    let sql = format!(
        "INSERT INTO messages (id, thread_id, seq, sender_id, body, client_id, created_at) VALUES {} \
         ON CONFLICT (sender_id, client_id) DO NOTHING",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (item, m) in fresh.iter().zip(&messages) {
        query = query
            .bind(m.id.to_string())
            .bind(m.thread_id.to_string())
            .bind(m.seq)
            .bind(m.sender_id.to_string())
            .bind(m.body.clone())
            .bind(item.client_id.map(str::to_owned))
            .bind(to_micros(now));
    }
    let stored = query.execute(&mut *conn).await.db()?;
    if stored.rows_affected() != fresh.len() as u64 {
        // The same client id arrived at once through another transaction: the caller
        // rolls back and the sender's retry finds the stored message.
        return Err(Error::Conflict("this message is being sent already".into()));
    }
    Ok(messages)
}

/// Senders have read up to their own messages; their threads leave every archive.
async fn mark_sent(conn: &mut Conn, messages: &[Message]) -> Result<()> {
    // The last message of each (thread, sender).
    let mut reads: Vec<(ThreadId, UserId, i64)> = Vec::new();
    for m in messages {
        match reads
            .iter_mut()
            .find(|(t, u, _)| *t == m.thread_id && *u == m.sender_id)
        {
            Some(r) => r.2 = r.2.max(m.seq),
            None => reads.push((m.thread_id, m.sender_id, m.seq)),
        }
    }
    let cases: Vec<String> = (0..reads.len())
        .map(|i| {
            format!(
                "WHEN thread_id = ${} AND user_id = ${} THEN CAST(${} AS BIGINT)",
                1 + 3 * i,
                2 + 3 * i,
                3 + 3 * i
            )
        })
        .collect();
    let mut threads: Vec<ThreadId> = reads.iter().map(|r| r.0).collect();
    threads.sort_by_key(|t| t.to_string());
    threads.dedup();
    let base = 1 + 3 * reads.len();
    let sql = format!(
        "UPDATE thread_members SET read_seq = CASE {} ELSE read_seq END, archived_at = NULL \
         WHERE thread_id IN ({}) AND (archived_at IS NOT NULL OR {})",
        cases.join(" "),
        params(base, threads.len()),
        (0..reads.len())
            .map(|i| format!("(thread_id = ${} AND user_id = ${})", 1 + 3 * i, 2 + 3 * i))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    let mut query = sqlx::query(&sql);
    for (thread, user, seq) in &reads {
        query = query
            .bind(thread.to_string())
            .bind(user.to_string())
            .bind(*seq);
    }
    for thread in &threads {
        query = query.bind(thread.to_string());
    }
    query.execute(conn).await.db()?;
    Ok(())
}

/// Links uploaded files to a new message. Each must be one of the sender's unsent
/// uploads, which it stops being (a file belongs to one message), or nothing is linked.
async fn attach(
    conn: &mut Conn,
    message: MessageId,
    thread: ThreadId,
    sender: UserId,
    blobs: &[BlobId],
) -> Result<Vec<Blob>> {
    let mut attached = Vec::with_capacity(blobs.len());
    for (position, blob) in blobs.iter().enumerate() {
        if !crate::storage::take_unsent(&mut *conn, *blob, sender).await? {
            return Err(Error::invalid(
                "attachments",
                "an attachment is not one of your unsent uploads (they are kept for a while, then deleted)",
            ));
        }
        let row: BlobRecord = sqlx::query_as(&format!(
            "SELECT {BLOB_COLUMNS} FROM blobs b WHERE b.id = $1"
        ))
        .bind(blob.to_string())
        .fetch_one(&mut *conn)
        .await
        .db()?;
        sqlx::query(
            "INSERT INTO message_attachments (blob_id, message_id, thread_id, position) VALUES ($1, $2, $3, $4)",
        )
        .bind(blob.to_string())
        .bind(message.to_string())
        .bind(thread.to_string())
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await
        .db()?;
        attached.push(row.into_blob()?);
    }
    Ok(attached)
}

#[derive(sqlx::FromRow)]
struct AttachedRecord {
    message_id: String,
    #[sqlx(flatten)]
    blob: BlobRecord,
}

/// The attachments of `messages`, each with its message, in attachment order.
pub(crate) async fn attachments_of(
    conn: &mut Conn,
    messages: &[MessageId],
) -> Result<Vec<(MessageId, Blob)>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=messages.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT a.message_id, {BLOB_COLUMNS} FROM message_attachments a JOIN blobs b ON b.id = a.blob_id \
         WHERE a.message_id IN ({}) ORDER BY a.message_id, a.position",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, AttachedRecord>(&sql);
    for m in messages {
        query = query.bind(m.to_string());
    }
    let rows = query.fetch_all(conn).await.db()?;
    rows.into_iter()
        .map(|r| Ok((r.message_id.parse().map_err(corrupt)?, r.blob.into_blob()?)))
        .collect()
}

/// Where an attached file was sent: its thread and message.
#[derive(Debug, Clone, Copy)]
pub struct AttachmentPlace {
    pub thread_id: ThreadId,
    pub message_id: MessageId,
}

impl Store {
    /// The thread and message a file was sent in; None while it is an unsent upload.
    pub async fn attachment_place(&self, blob: BlobId) -> Result<Option<AttachmentPlace>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT thread_id, message_id FROM message_attachments WHERE blob_id = $1",
        )
        .bind(blob.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(|(t, m)| {
            Ok(AttachmentPlace {
                thread_id: t.parse().map_err(corrupt)?,
                message_id: m.parse().map_err(corrupt)?,
            })
        })
        .transpose()
    }

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
        rows.into_iter().map(entry_of).collect()
    }

    /// A thread with `user`'s membership (read position, archive flag) if any, in one
    /// query: what every send and read checks first.
    pub async fn thread_as(&self, id: ThreadId, user: UserId) -> Result<Option<InboxEntry>> {
        let row: Option<InboxRow> = sqlx::query_as(&format!(
            "SELECT {THREAD_COLUMNS}, m.read_seq, m.archived_at FROM threads t \
             LEFT JOIN thread_members m ON m.thread_id = t.id AND m.user_id = $2 WHERE t.id = $1"
        ))
        .bind(id.to_string())
        .bind(user.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(entry_of).transpose()
    }

    /// Messages of the thread the policy let its reader see, after `after`, in order,
    /// at most `limit`.
    pub async fn messages_after(
        &self,
        grant: &telemed_domain::access::ThreadGrant,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let thread = grant.thread();
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(thread.to_string())
        .bind(after)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await
        .db()?;
        let mut messages: Vec<Message> = rows.into_iter().map(message_of).collect::<Result<_>>()?;
        let with_files: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let mut conn = self.pool().acquire().await.db()?;
        for (message, blob) in attachments_of(&mut conn, &with_files).await? {
            if let Some(m) = messages.iter_mut().find(|m| m.id == message) {
                m.attachments.push(blob);
            }
        }
        Ok(messages)
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
