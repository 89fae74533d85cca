//! Group commit for messages: concurrent sends to existing threads queue here and are
//! written together, in one transaction with a fixed number of statements per batch
//! (numbers, messages, read positions, notifications, audit entries). Each sender still
//! gets its answer only after the commit. If a batch fails, its sends are retried one by
//! one, so one bad send never fails another.

use chrono::{DateTime, Utc};
use telemed_domain::audit::AuditRecord;
use telemed_domain::{Error, Result, ThreadId, UserId};
use telemed_store::messaging::{self, Appended, NewMessage};
use telemed_store::{DbResult as _, Store};
use tokio::sync::{mpsc, oneshot};

/// The most sends written in one transaction.
const MAX_BATCH: usize = 64;

/// A send waiting to be written.
pub struct Send {
    pub thread: ThreadId,
    pub sender: UserId,
    pub body: String,
    pub client_id: Option<String>,
    pub now: DateTime<Utc>,
    /// Written only if the message is new (not a resend).
    pub audit: AuditRecord,
}

/// A stored message and its thread's members as read in the same transaction (the
/// live audience, without a second query).
pub type Written = (Appended, Vec<UserId>);

struct Job {
    send: Send,
    reply: oneshot::Sender<Result<Written>>,
}

#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task; it ends when the last `Writer` is dropped.
    /// `clinic` names the clinic in the emails the messages cause.
    pub fn start(
        store: Store,
        public_url: String,
        clinic: std::sync::Arc<crate::clinic::ClinicCache>,
    ) -> Self {
        let (queue, jobs) = mpsc::channel(1024);
        tokio::spawn(run(store, public_url, clinic, jobs));
        Writer { queue }
    }

    /// Stores the message (after its batch commits) and returns it with its thread's
    /// members.
    pub async fn write(&self, send: Send) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { send, reply })
            .await
            .map_err(|_| Error::internal("the message writer has stopped"))?;
        answer
            .await
            .map_err(|_| Error::internal("the message writer dropped a send"))?
    }
}

async fn run(
    store: Store,
    public_url: String,
    clinic: std::sync::Arc<crate::clinic::ClinicCache>,
    mut jobs: mpsc::Receiver<Job>,
) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let sends: Vec<&Send> = batch.iter().map(|j| &j.send).collect();
        // Read before the batch's transaction opens (a read of its own).
        let clinic = clinic.get(&store).await;
        let sender = super::Sender {
            public_url: &public_url,
            clinic: &clinic.settings.name,
        };
        match write_batch(&store, sender, &sends).await {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) if batch.len() == 1 => {
                if let Some(job) = batch.pop() {
                    let _ = job.reply.send(Err(e));
                }
            }
            Err(_) => {
                for job in batch {
                    let result = write_batch(&store, sender, &[&job.send])
                        .await
                        .and_then(|mut r| r.pop().ok_or_else(|| Error::internal("empty batch")));
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

async fn write_batch(
    store: &Store,
    sender: super::Sender<'_>,
    sends: &[&Send],
) -> Result<Vec<Written>> {
    let now = sends.iter().map(|s| s.now).max().unwrap_or_default();
    let items: Vec<NewMessage<'_>> = sends
        .iter()
        .map(|s| NewMessage {
            thread: s.thread,
            sender: s.sender,
            body: &s.body,
            client_id: s.client_id.as_deref(),
            attachments: &[],
        })
        .collect();
    let mut tx = store.begin_write().await?;
    let written = async {
        let appended = messaging::append_many(&mut tx, &items, now).await?;
        let new: Vec<_> = appended
            .iter()
            .filter(|a| !a.duplicate)
            .map(|a| a.message.clone())
            .collect();
        let members = super::notify_members(sender, &mut tx, &new, now).await?;
        let records: Vec<AuditRecord> = sends
            .iter()
            .zip(&appended)
            .filter(|(_, a)| !a.duplicate)
            .map(|(s, _)| s.audit.clone())
            .collect();
        telemed_store::audit::append(&mut tx, &records).await?;
        let written: Vec<Written> = appended
            .into_iter()
            .map(|a| {
                let thread = a.message.thread_id;
                let of_thread = members
                    .iter()
                    .filter(|(t, _)| *t == thread)
                    .map(|(_, u)| *u)
                    .collect();
                (a, of_thread)
            })
            .collect();
        Ok::<_, Error>(written)
    }
    .await;
    match written {
        Ok(appended) => {
            tx.commit().await.db()?;
            Ok(appended)
        }
        Err(e) => {
            tx.rollback().await.db()?;
            Err(e)
        }
    }
}
