//! A change to telemed's data as one unit of work: the write transaction, and the audit
//! entries that say who made it, committed together or not at all.
//!
//! Every use case that writes follows the same path — ask the policy, write, audit,
//! commit — and this is its tail, written once:
//!
//! ```ignore
//! let grant = record::authorize(state, ctx, principal, patient, Section::Problems, Op::Write).await?;
//! let mut change = Change::begin(state).await?;
//! let entry = store::insert_entry(change.tx(), &grant, &valid, now).await?;
//! change.audit(audit_write(ctx, state, &grant, entry.id));
//! change.commit().await?;
//! ```
//!
//! A change that would commit without an audit entry is refused (an internal error that
//! rolls back): nothing is written to a patient's record without saying who wrote it.

use telemed_domain::audit::AuditRecord;
use telemed_domain::{Error, Result};
use telemed_store::{DbResult, Tx};

use crate::AppState;

#[must_use = "a change is written only by `commit`"]
pub struct Change {
    tx: Tx,
    events: Vec<AuditRecord>,
}

impl Change {
    /// Begins the write transaction (see `Store::begin_write`).
    pub async fn begin(state: &AppState) -> Result<Change> {
        Ok(Change::on(state.store.begin_write().await?))
    }

    /// A change on a transaction already begun (a conditional write's, once its
    /// searches are done).
    pub fn on(tx: Tx) -> Change {
        Change {
            tx,
            events: Vec::new(),
        }
    }

    /// The transaction, for the store's functions.
    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// An audit entry to append with the change.
    pub fn audit(&mut self, entry: impl Into<AuditRecord>) {
        self.events.push(entry.into());
    }

    /// Several audit entries to append with the change.
    pub fn audit_all(&mut self, entries: impl IntoIterator<Item = AuditRecord>) {
        self.events.extend(entries);
    }

    /// Whether an audit entry was added: a change that may write nothing (a request
    /// refused before it touched anything) commits only when it has one.
    pub fn has_audit(&self) -> bool {
        !self.events.is_empty()
    }

    /// Ends a change that will not be written (it turned out to write nothing, or it
    /// failed a check after it began): rolled back, nothing audited.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await.db()
    }

    /// Appends the audit entries and commits. A change with no audit entry is a
    /// mistake in the code: it is rolled back and reported.
    pub async fn commit(self) -> Result<()> {
        let Change { mut tx, events } = self;
        if events.is_empty() {
            tx.rollback().await.db()?;
            return Err(Error::internal("a change without an audit entry"));
        }
        telemed_store::audit::append(&mut tx, &events).await?;
        tx.commit().await.db()
    }
}
