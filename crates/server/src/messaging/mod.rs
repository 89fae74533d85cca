//! Secure messaging: threads between a patient and their care team (clinicians with a
//! visit, the clinic inbox that staff share) or between clinicians. Who may write to
//! whom is decided here; every message is stored (with its notifications and audit
//! entry) before it is acknowledged, then announced on the bus. A thread someone may
//! not see reads as not found.

use chrono::{DateTime, Utc};
pub use telemed_domain::access::Recipient;
use telemed_domain::access::{self, Principal, ThreadGrant, ThreadStart};
use telemed_domain::{BlobId, Error, MediaType, Permission, Result, Role, ThreadId, UserId};
use telemed_store::blobs::{self, Blob, Sealed};
use telemed_store::messaging::{
    self, Appended, InboxEntry, Message, NewMessage, NewThread, Thread,
};
use telemed_store::notifications::{self, NewNotification};
use telemed_store::scheduling::AppointmentStatus;
use telemed_store::storage;

pub mod writer;

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::realtime::{Envelope, LiveEvent};
use crate::AppState;

pub const MAX_BODY_CHARS: usize = 10_000;
/// Files one message may carry.
pub const MAX_ATTACHMENTS: usize = 5;
/// What may be attached to a message: pictures and PDFs (imaging goes to the record).
pub const ATTACHABLE: [MediaType; 5] = [
    MediaType::Png,
    MediaType::Jpeg,
    MediaType::Gif,
    MediaType::Webp,
    MediaType::Pdf,
];
pub const MAX_SUBJECT_CHARS: usize = 200;
const MAX_CLIENT_ID: usize = 100;

/// What someone sends: text, files uploaded earlier (API), files carried with the
/// request (web form), and the sender's own id for the message.
#[derive(Default)]
pub struct Draft<'a> {
    pub body: &'a str,
    pub client_id: Option<&'a str>,
    /// Unsent uploads of the sender (`upload_attachment`).
    pub uploaded: &'a [BlobId],
    /// Files sent with the message itself: (name, content).
    pub files: Vec<(String, Vec<u8>)>,
}

impl<'a> Draft<'a> {
    fn attachment_count(&self) -> usize {
        self.uploaded.len() + self.files.len()
    }

    /// The checked text; it may be empty when files go with it.
    fn checked_body(&self) -> Result<&'a str> {
        let body = self.body.trim();
        if body.is_empty() && self.attachment_count() > 0 {
            return Ok(body);
        }
        check_body(body)
    }
}

/// Checks a file against what messages accept; nothing is stored.
fn check_attachment(bytes: &[u8], max_bytes: usize) -> Result<MediaType> {
    let media = telemed_domain::files::accept(bytes, &ATTACHABLE, max_bytes)?;
    crate::imaging::check_picture_size(bytes, media)?;
    Ok(media)
}

/// Seals the draft's files (objects written, rows not yet). A refused file stops
/// everything before anything is stored.
async fn seal_files(
    state: &AppState,
    principal: &Principal,
    draft: &Draft<'_>,
) -> Result<Vec<Sealed>> {
    if draft.attachment_count() > MAX_ATTACHMENTS {
        return Err(Error::invalid(
            "attachments",
            format!("attach up to {MAX_ATTACHMENTS} files to a message"),
        ));
    }
    let max = state.config.files.max_attachment_bytes;
    let mut kinds = Vec::with_capacity(draft.files.len());
    for (_, bytes) in &draft.files {
        kinds.push(check_attachment(bytes, max)?);
    }
    if !draft.files.is_empty() {
        let incoming = draft.files.iter().map(|(_, b)| b.len() as u64).sum();
        crate::quotas::admit(state, principal, incoming).await?;
    }
    let mut sealed = Vec::with_capacity(draft.files.len());
    for ((name, bytes), kind) in draft.files.iter().zip(kinds) {
        match seal_one(state, principal, name, bytes, kind).await {
            Ok(s) => sealed.push(s),
            Err(e) => {
                discard(state, &sealed).await;
                return Err(e);
            }
        }
    }
    Ok(sealed)
}

/// Encrypts and writes one checked file under a safe name (its row comes later).
async fn seal_one(
    state: &AppState,
    principal: &Principal,
    name: &str,
    bytes: &[u8],
    kind: MediaType,
) -> Result<Sealed> {
    crate::files::seal(
        &state.blobs,
        principal.user_id,
        name,
        bytes,
        kind,
        state.clock.now(),
    )
    .await
}

async fn discard(state: &AppState, sealed: &[Sealed]) {
    crate::files::discard(&state.blobs, sealed).await
}

/// Stores a file for a message still to be written (API: upload, then send with its id).
pub async fn upload_attachment(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    file_name: &str,
    bytes: &[u8],
) -> Result<Blob> {
    principal.require(Permission::Messages)?;
    let kind = check_attachment(bytes, state.config.files.max_attachment_bytes)?;
    crate::quotas::admit(state, principal, bytes.len() as u64).await?;
    let sealed = seal_one(state, principal, file_name, bytes, kind).await?;
    let now = sealed.blob.created_at;
    let stored = async {
        let mut change = Change::begin(state).await?;
        blobs::insert(change.tx(), &sealed).await?;
        let expires_at = crate::quotas::unsent_expiry(state, now);
        storage::insert_unsent(change.tx(), sealed.blob.id, principal.user_id, expires_at).await?;
        let record = Event::new(ctx, now, "attachment.upload", "blob")
            .by(principal.user_id, principal.role)
            .on(sealed.blob.id);
        change.audit(record);
        change.commit().await
    }
    .await;
    if let Err(e) = stored {
        discard(state, std::slice::from_ref(&sealed)).await;
        return Err(e);
    }
    Ok(sealed.blob)
}

/// A file someone may open: an attachment of a thread they see, or their own unsent
/// upload. Anything else reads as not found. The read is audited.
pub async fn open_attachment(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: BlobId,
) -> Result<(Blob, Vec<u8>)> {
    principal.require(Permission::Messages)?;
    let blob = state.store.blob(id).await?.ok_or(Error::NotFound)?;
    let place = state.store.attachment_place(id).await?;
    let patient = match place {
        Some(place) => {
            visible_thread(state, principal, place.thread_id)
                .await?
                .0
                .patient_id
        }
        None if blob.owner_id == principal.user_id => None,
        None => return Err(Error::NotFound),
    };
    let (blob, bytes) = state.blobs.read(&state.store, id).await?;
    let mut record = Event::new(ctx, state.clock.now(), "attachment.read", "blob")
        .by(principal.user_id, principal.role)
        .on(id);
    if let Some(p) = patient {
        record = record.patient(p);
    }
    state.audit.record(record.build()).await?;
    Ok((blob, bytes))
}

fn check_body(body: &str) -> Result<&str> {
    let body = body.trim();
    if body.is_empty() {
        return Err(Error::invalid("body", "write a message"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(Error::invalid(
            "body",
            format!("keep a message under {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(body)
}

fn check_subject(subject: &str) -> Result<&str> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(Error::invalid(
            "subject",
            format!("give a subject of 1 to {MAX_SUBJECT_CHARS} characters"),
        ));
    }
    Ok(subject)
}

async fn active_with_role(state: &AppState, id: UserId, role: Role) -> Result<UserId> {
    state
        .store
        .user_by_id(id)
        .await?
        .filter(|u| u.role == role && u.disabled_at.is_none())
        .map(|u| u.id)
        .ok_or(Error::NotFound)
}

/// The new thread's shape, if the policy lets `principal` start it
/// (`access::thread_start`) with a recipient who is an active account of the role named.
async fn thread_shape(
    state: &AppState,
    principal: &Principal,
    to: Recipient,
) -> Result<ThreadStart> {
    let me = principal.user_id;
    // The care relationship matters between a patient and a clinician only.
    let in_care = match (principal.role, to) {
        (Role::Patient, Recipient::Clinician(c)) => {
            let c = active_with_role(state, c, Role::Clinician).await?;
            state.store.has_care_relationship(me, c).await?
        }
        (Role::Clinician, Recipient::Patient(p)) => {
            let p = active_with_role(state, p, Role::Patient).await?;
            state.store.has_care_relationship(p, me).await?
        }
        (Role::Clinician | Role::Staff, Recipient::Clinician(c)) if c != me => {
            active_with_role(state, c, Role::Clinician).await?;
            false
        }
        (Role::Staff, Recipient::Patient(p)) => {
            active_with_role(state, p, Role::Patient).await?;
            false
        }
        _ => false,
    };
    access::thread_start(principal, to, in_care)
}

/// A thread `principal` may see, with their read position (None: not a member).
pub async fn visible_thread(
    state: &AppState,
    principal: &Principal,
    id: ThreadId,
) -> Result<(Thread, Option<i64>)> {
    let (thread, read_seq, _) = seen_thread(state, principal, id).await?;
    Ok((thread, read_seq))
}

/// The same, with the policy's grant to read its messages (`access::thread_grant`);
/// `NotFound` when the policy says no, like a thread that does not exist.
async fn seen_thread(
    state: &AppState,
    principal: &Principal,
    id: ThreadId,
) -> Result<(Thread, Option<i64>, ThreadGrant)> {
    let entry = state
        .store
        .thread_as(id, principal.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    let member = entry.read_seq.is_some();
    let grant = access::thread_grant(principal, id, member, entry.thread.clinic_inbox)
        .ok_or(Error::NotFound)?;
    Ok((entry.thread, entry.read_seq, grant))
}

/// How far each member of `thread` has read (its receipts), for whoever sees it.
pub async fn receipts(
    state: &AppState,
    principal: &Principal,
    thread: ThreadId,
) -> Result<Vec<(UserId, i64)>> {
    let (_, _, grant) = seen_thread(state, principal, thread).await?;
    state.store.thread_members(grant.thread()).await
}

/// Who hears of activity in `thread` live: its members, and all staff for the inbox.
async fn audience(state: &AppState, thread: &Thread) -> Result<Vec<UserId>> {
    let mut to: Vec<UserId> = state
        .store
        .thread_members(thread.id)
        .await?
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    if thread.clinic_inbox {
        to.extend(state.store.active_ids_with_role(Role::Staff).await?);
        to.sort_by_key(|u| u.to_string());
        to.dedup();
    }
    Ok(to)
}

pub struct NewThreadRequest<'a> {
    pub subject: &'a str,
    pub to: Recipient,
    pub first: Draft<'a>,
}

/// Writes sealed files' rows and the message in the caller's transaction.
async fn store_message(
    tx: &mut telemed_store::Conn,
    thread: ThreadId,
    principal: &Principal,
    draft: &Draft<'_>,
    body: &str,
    sealed: &[Sealed],
    now: DateTime<Utc>,
) -> Result<Appended> {
    let mut attachments: Vec<BlobId> = draft.uploaded.to_vec();
    for s in sealed {
        // Stored with the message: an upload the message takes at once.
        blobs::insert(tx, s).await?;
        storage::insert_unsent(tx, s.blob.id, principal.user_id, now).await?;
        attachments.push(s.blob.id);
    }
    let new = NewMessage {
        thread,
        sender: principal.user_id,
        body,
        client_id: draft.client_id,
        attachments: &attachments,
    };
    messaging::append_message(tx, new, now).await
}

/// Starts a thread with its first message.
pub async fn start_thread(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    req: NewThreadRequest<'_>,
) -> Result<ThreadId> {
    principal.require(Permission::Messages)?;
    let subject = check_subject(req.subject)?;
    let body = req.first.checked_body()?;
    let shape = thread_shape(state, principal, req.to).await?;
    let sealed = seal_files(state, principal, &req.first).await?;
    let now = state.clock.now();
    let stored = async {
        let clinic = &ctx.clinic;
        let mut change = Change::begin(state).await?;
        let new = NewThread {
            subject,
            patient_id: shape.patient,
            clinic_inbox: shape.clinic_inbox,
            created_by: principal.user_id,
            members: &shape.members,
        };
        let id = messaging::create_thread(change.tx(), new, now).await?;
        let appended =
            store_message(change.tx(), id, principal, &req.first, body, &sealed, now).await?;
        notify_members(
            Sender {
                public_url: &state.config.public_url,
                clinic: &clinic.settings.name,
            },
            change.tx(),
            std::slice::from_ref(&appended.message),
            now,
        )
        .await?;
        let mut record = Event::new(ctx, now, "thread.create", "thread")
            .by(principal.user_id, principal.role)
            .on(id);
        if let Some(p) = shape.patient {
            record = record.patient(p);
        }
        change.audit(record);
        change.commit().await?;
        Ok::<_, Error>((id, appended))
    }
    .await;
    let (id, appended) = match stored {
        Ok(done) => done,
        Err(e) => {
            discard(state, &sealed).await;
            return Err(e);
        }
    };
    if let Some(thread) = state.store.thread(id).await? {
        announce(state, &thread, &appended.message, None).await;
    }
    Ok(id)
}

/// Tells everyone in each message's thread but its sender: an in-app notification
/// always, and an email (a link, never the text) to those who want one for the first
/// message they have not read, so a conversation does not become a flood of mail (nor
/// to someone who wrote in the same thread in this batch: they are in the conversation).
/// Runs in the caller's transaction, reading on its connection; returns the members it
/// read (every member of each thread), who are also the live audience.
/// Who message emails come from: the links' site and the clinic's name.
#[derive(Clone, Copy)]
pub(crate) struct Sender<'a> {
    pub public_url: &'a str,
    pub clinic: &'a str,
}

pub(crate) async fn notify_members(
    sender: Sender<'_>,
    conn: &mut telemed_store::Conn,
    messages: &[Message],
    now: DateTime<Utc>,
) -> Result<Vec<(ThreadId, UserId)>> {
    let mut threads: Vec<ThreadId> = messages.iter().map(|m| m.thread_id).collect();
    threads.sort_by_key(|t| t.to_string());
    threads.dedup();
    let members = messaging::members_for_notice(conn, &threads).await?;
    let mut told: Vec<(UserId, ThreadId, String)> = Vec::new();
    let mut emails: Vec<(UserId, ThreadId)> = Vec::new();
    for m in messages {
        let others = members
            .iter()
            .filter(|(t, member, _, _)| *t == m.thread_id && *member != m.sender_id);
        for (_, member, read_seq, wants_email) in others {
            told.push((*member, m.thread_id, format!("message:{}:{member}", m.id)));
            let wrote_here = messages
                .iter()
                .any(|o| o.thread_id == m.thread_id && o.sender_id == *member);
            if *wants_email && !wrote_here && *read_seq == m.seq - 1 {
                emails.push((*member, m.thread_id));
            }
        }
    }
    let notes: Vec<NewNotification<'_>> = told
        .iter()
        .map(|(member, thread, source)| NewNotification {
            user_id: *member,
            kind: "message.new",
            subject_id: Some(thread.to_string()),
            subject_at: None,
            source: Some(source),
        })
        .collect();
    notifications::notify_many(conn, &notes, now).await?;
    for (member, thread) in emails {
        if let Some(user) = telemed_store::users::by_id_in(conn, member).await? {
            let lang = crate::i18n::Lang::from_code(&user.locale).unwrap_or(crate::i18n::Lang::En);
            let link = format!("{}/messages/{thread}", sender.public_url);
            let mail = crate::mail::Mail::NewMessage { link: &link };
            let letter = crate::mail::Letter {
                lang,
                clinic: sender.clinic,
            };
            crate::mail::enqueue(conn, &user.email, mail, letter, now).await?;
        }
    }
    Ok(members.into_iter().map(|(t, u, _, _)| (t, u)).collect())
}

/// Tells the thread's audience, live, that a message arrived.
/// `members` are the thread's members when the caller has just read them in its
/// transaction; otherwise they are looked up.
async fn announce(
    state: &AppState,
    thread: &Thread,
    message: &Message,
    members: Option<Vec<UserId>>,
) {
    let to = match members {
        Some(mut to) if thread.clinic_inbox => {
            match state.store.active_ids_with_role(Role::Staff).await {
                Ok(staff) => {
                    to.extend(staff);
                    to.sort_by_key(|u| u.to_string());
                    to.dedup();
                    to
                }
                Err(_) => return,
            }
        }
        Some(to) => to,
        None => match audience(state, thread).await {
            Ok(to) => to,
            Err(_) => return,
        },
    };
    let others: Vec<UserId> = to
        .iter()
        .copied()
        .filter(|u| *u != message.sender_id)
        .collect();
    state
        .bus
        .publish(Envelope {
            to,
            guests: Vec::new(),
            event: LiveEvent::Message {
                thread: thread.id.to_string(),
                seq: message.seq,
            },
        })
        .await;
    state
        .bus
        .publish(Envelope {
            to: others,
            guests: Vec::new(),
            event: LiveEvent::Notification {
                kind: "message.new".into(),
            },
        })
        .await;
}

/// Sends a message. With a `client_id` already used by the sender, the stored message
/// is returned and nothing new is stored (a resend after a lost answer).
pub async fn send(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    thread: ThreadId,
    mut draft: Draft<'_>,
) -> Result<Message> {
    let (t, read_seq) = visible_thread(state, principal, thread).await?;
    let body = draft.checked_body()?;
    draft.client_id = draft.client_id.map(str::trim).filter(|c| !c.is_empty());
    if draft.client_id.is_some_and(|c| c.len() > MAX_CLIENT_ID) {
        return Err(Error::invalid(
            "client_id",
            "use an id of up to 100 characters",
        ));
    }
    let now = state.clock.now();
    let audit = |t: &Thread| {
        let mut record = Event::new(ctx, now, "message.send", "thread")
            .by(principal.user_id, principal.role)
            .on(thread);
        if let Some(p) = t.patient_id {
            record = record.patient(p);
        }
        record.build()
    };
    if draft.attachment_count() == 0 && read_seq.is_some() {
        // The common case, batched with concurrent sends.
        let send = writer::Send {
            thread,
            sender: principal.user_id,
            body: body.to_owned(),
            client_id: draft.client_id.map(str::to_owned),
            now,
            audit: audit(&t),
        };
        let (Appended { message, duplicate }, members) = state.message_writer.write(send).await?;
        if !duplicate {
            announce(state, &t, &message, Some(members)).await;
        }
        return Ok(message);
    }
    let sealed = seal_files(state, principal, &draft).await?;
    let stored = async {
        let clinic = &ctx.clinic;
        let mut change = Change::begin(state).await?;
        if read_seq.is_none() {
            // Staff answering from the clinic inbox join the thread.
            messaging::add_member(change.tx(), thread, principal.user_id, now).await?;
        }
        let appended =
            store_message(change.tx(), thread, principal, &draft, body, &sealed, now).await?;
        if appended.duplicate {
            change.rollback().await?;
            return Ok(appended);
        }
        notify_members(
            Sender {
                public_url: &state.config.public_url,
                clinic: &clinic.settings.name,
            },
            change.tx(),
            std::slice::from_ref(&appended.message),
            now,
        )
        .await?;
        change.audit(audit(&t));
        change.commit().await?;
        Ok(appended)
    }
    .await;
    let Appended { message, duplicate } = match stored {
        Ok(a) => a,
        Err(e) => {
            discard(state, &sealed).await;
            return Err(e);
        }
    };
    if duplicate {
        discard(state, &sealed).await;
    } else {
        announce(state, &t, &message, None).await;
    }
    Ok(message)
}

/// A thread's messages after `after` (audited as a read of the patient's messages).
pub async fn read(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    thread: ThreadId,
    after: i64,
) -> Result<(Thread, Vec<Message>)> {
    let (t, _, grant) = seen_thread(state, principal, thread).await?;
    let messages = state
        .store
        .messages_after(&grant, after.max(0), 500)
        .await?;
    let mut record = Event::new(ctx, state.clock.now(), "thread.read", "thread")
        .by(principal.user_id, principal.role)
        .on(thread);
    if let Some(p) = t.patient_id {
        record = record.patient(p);
    }
    state.audit.record(record.build()).await?;
    Ok((t, messages))
}

/// Moves the reader's position to `seq` and tells the thread (read receipts).
pub async fn mark_read(
    state: &AppState,
    principal: &Principal,
    thread: ThreadId,
    seq: i64,
) -> Result<()> {
    let (t, member) = visible_thread(state, principal, thread).await?;
    if member.is_none() {
        return Ok(());
    }
    if seq < 0 || seq > t.last_seq {
        return Err(Error::invalid("seq", "no such message in this thread"));
    }
    if state
        .store
        .mark_thread_read(thread, principal.user_id, seq)
        .await?
    {
        let to = audience(state, &t).await?;
        state
            .bus
            .publish(Envelope {
                to,
                guests: Vec::new(),
                event: LiveEvent::Read {
                    thread: thread.to_string(),
                    user: principal.user_id,
                    seq,
                },
            })
            .await;
    }
    Ok(())
}

pub async fn set_archived(
    state: &AppState,
    principal: &Principal,
    thread: ThreadId,
    archived: bool,
) -> Result<()> {
    let (_, member) = visible_thread(state, principal, thread).await?;
    if member.is_none() {
        return Err(Error::Conflict("only members archive a thread".into()));
    }
    state
        .store
        .set_thread_archived(thread, principal.user_id, archived, state.clock.now())
        .await?;
    Ok(())
}

/// Staff bring a clinician into a thread (route it).
pub async fn route(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    thread: ThreadId,
    clinician: UserId,
) -> Result<()> {
    if principal.role != Role::Staff {
        return Err(Error::Forbidden);
    }
    let (t, _) = visible_thread(state, principal, thread).await?;
    let clinician = active_with_role(state, clinician, Role::Clinician)
        .await
        .map_err(|_| Error::invalid("clinician_id", "no active clinician has this id"))?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    messaging::add_member(change.tx(), thread, principal.user_id, now).await?;
    messaging::add_member(change.tx(), thread, clinician, now).await?;
    let n = NewNotification {
        user_id: clinician,
        kind: "message.routed",
        subject_id: Some(thread.to_string()),
        subject_at: None,
        source: Some(&format!("route:{thread}:{clinician}")),
    };
    notifications::notify(change.tx(), n, now).await?;
    let mut record = Event::new(ctx, now, "thread.route", "thread")
        .by(principal.user_id, principal.role)
        .on(thread)
        .detail(format!("to clinician {clinician}"));
    if let Some(p) = t.patient_id {
        record = record.patient(p);
    }
    change.audit(record);
    change.commit().await?;
    state
        .bus
        .publish(Envelope {
            to: vec![clinician],
            guests: Vec::new(),
            event: LiveEvent::Notification {
                kind: "message.routed".into(),
            },
        })
        .await;
    Ok(())
}

/// `principal`'s inbox (staff: with the clinic inbox).
pub async fn inbox(
    state: &AppState,
    principal: &Principal,
    archived: bool,
) -> Result<Vec<InboxEntry>> {
    principal.require(Permission::Messages)?;
    state
        .store
        .inbox(principal.user_id, principal.role == Role::Staff, archived)
        .await
}

/// The clinicians a patient may write to (those with a visit), or for a clinician the
/// patients they may write to.
pub async fn contacts(state: &AppState, principal: &Principal) -> Result<Vec<(UserId, String)>> {
    principal.require(Permission::Messages)?;
    if !matches!(principal.role, Role::Patient | Role::Clinician) {
        return Ok(Vec::new());
    }
    let Some(reach) = access::visit_reach(principal) else {
        return Ok(Vec::new());
    };
    let now = state.clock.now();
    let visits = state
        .store
        .appointments(
            &reach,
            now - chrono::Duration::days(730),
            now + chrono::Duration::days(400),
            1000,
        )
        .await?;
    let mut ids: Vec<UserId> = visits
        .iter()
        .filter(|a| {
            !matches!(
                a.status,
                AppointmentStatus::Cancelled | AppointmentStatus::EnteredInError
            )
        })
        .map(|a| {
            if principal.role == Role::Patient {
                a.clinician_id
            } else {
                a.patient_id
            }
        })
        .collect();
    ids.sort_by_key(|u| u.to_string());
    ids.dedup();
    let names = state.store.names_of(&ids).await?;
    let mut out: Vec<(UserId, String)> = ids
        .into_iter()
        .map(|id| (id, names.get(&id).map(|n| n.0.clone()).unwrap_or_default()))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}
