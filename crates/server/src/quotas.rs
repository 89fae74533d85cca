//! What one person may store (`[files] quota_mb_*`) and how fast (`[limits]
//! uploads_per_hour_*`), asked before any file of a request is stored; and the expiry
//! of uploads nobody sent (`[files] unsent_upload_hours`). See ARCHITECTURE.md, "Quotas
//! and unsent uploads".

use chrono::{DateTime, Duration, Utc};
use telemed_domain::access::Principal;
use telemed_domain::{Error, Permission, Result, Role, UserId};
use telemed_store::storage;

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::rate_limits::{self, Use};
use crate::AppState;

/// The bytes `role` may store; `None` for no quota.
pub fn quota_of(state: &AppState, role: Role) -> Option<u64> {
    let files = &state.config.files;
    let mb = match role {
        Role::Patient => files.quota_mb_patient,
        _ => files.quota_mb_staff,
    };
    (mb > 0).then(|| mb * 1024 * 1024)
}

/// Admits a request that stores `incoming` bytes for `principal`: one use of their
/// upload rate (429 when spent), then room in their quota (413 saying how much they
/// store). Called before anything is stored.
pub async fn admit(state: &AppState, principal: &Principal, incoming: u64) -> Result<()> {
    rate_limits::spend(state, &[Use::UploadBy(principal.user_id, principal.role)]).await?;
    let Some(quota) = quota_of(state, principal.role) else {
        return Ok(());
    };
    let used = u64::try_from(state.store.stored_bytes(principal.user_id).await?).unwrap_or(0);
    if used.saturating_add(incoming) > quota {
        return Err(Error::QuotaExceeded {
            used,
            incoming,
            quota,
        });
    }
    Ok(())
}

/// When an upload made at `now` and not sent is deleted.
pub fn unsent_expiry(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::hours(state.config.files.unsent_upload_hours)
}

/// Deletes the uploads nobody sent before their expiry: rows with an audit entry each,
/// then the stored objects. Returns how many went. Every node may run it: a file a
/// message took meanwhile, or another node deleted, is left alone.
pub async fn expire_unsent(state: &AppState) -> Result<usize> {
    const BATCH: i64 = 100;
    let job = Ctx::background("expire-unsent-uploads");
    let mut expired = 0;
    loop {
        let now = state.clock.now();
        let mut change = Change::begin(state).await?;
        let candidates = storage::expired_unsent(change.tx(), now, BATCH).await?;
        let mut gone: Vec<(telemed_domain::BlobId, UserId)> = vec![];
        for (blob, owner) in &candidates {
            if storage::delete_expired(change.tx(), *blob, now).await? {
                gone.push((*blob, *owner));
            }
        }
        for (blob, owner) in &gone {
            let event = Event::new(&job, now, "attachment.expire", "blob")
                .on(*blob)
                .detail(format!("unsent upload of {owner}"));
            change.audit(event);
        }
        if gone.is_empty() {
            change.rollback().await?;
        } else {
            change.commit().await?;
        }
        for (blob, _) in &gone {
            if let Err(e) = state.blobs.delete_object(*blob).await {
                // The sweep of unreferenced objects takes it later.
                tracing::warn!(blob = %blob, error = %e, "could not remove an expired upload's object");
            }
        }
        expired += gone.len();
        if candidates.len() < BATCH as usize {
            return Ok(expired);
        }
    }
}

/// One person's storage against their quota, as admins see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PersonStorage {
    pub user_id: UserId,
    pub display_name: String,
    pub role: Role,
    pub files: i64,
    pub bytes: i64,
    /// Uploads waiting for a message (they expire).
    pub unsent_files: i64,
    pub unsent_bytes: i64,
    /// What they may store, in bytes; absent: no quota.
    pub quota_bytes: Option<u64>,
}

/// The clinic's stored files and the people who store the most.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StorageReport {
    pub files: i64,
    pub bytes: i64,
    pub unsent_files: i64,
    pub unsent_bytes: i64,
    /// Most first.
    pub people: Vec<PersonStorage>,
}

/// The storage of the people listed (`ids`), for admins: usage by id, nobody missing
/// (a person with no files stores nothing).
pub async fn usage_of(
    state: &AppState,
    principal: &Principal,
    ids: &[UserId],
) -> Result<std::collections::HashMap<UserId, storage::Usage>> {
    principal.require(Permission::UsersRead)?;
    let mut usage = state.store.usage_of(ids).await?;
    for id in ids {
        usage.entry(*id).or_default();
    }
    Ok(usage)
}

/// The clinic's total and the `limit` people storing the most, for admins; audited.
pub async fn report(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    limit: i64,
) -> Result<StorageReport> {
    principal.require(Permission::UsersRead)?;
    let total = state.store.total_usage().await?;
    let largest = state.store.largest_usage(limit.clamp(1, 500)).await?;
    let ids: Vec<UserId> = largest.iter().map(|(id, _)| *id).collect();
    let names = state.store.names_of(&ids).await?;
    let people = largest
        .into_iter()
        .map(|(id, u)| {
            let (display_name, role) = names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| (String::new(), Role::Patient));
            PersonStorage {
                user_id: id,
                display_name,
                role,
                files: u.files,
                bytes: u.bytes,
                unsent_files: u.unsent_files,
                unsent_bytes: u.unsent_bytes,
                quota_bytes: quota_of(state, role),
            }
        })
        .collect::<Vec<_>>();
    let event = Event::new(ctx, state.clock.now(), "storage.read", "user")
        .by(principal.user_id, principal.role)
        .detail(format!("{} rows", people.len()));
    state.audit.record(event.build()).await?;
    Ok(StorageReport {
        files: total.files,
        bytes: total.bytes,
        unsent_files: total.unsent_files,
        unsent_bytes: total.unsent_bytes,
        people,
    })
}

/// Every stored file of the clinic, for admins.
pub async fn clinic_total(state: &AppState, principal: &Principal) -> Result<storage::Usage> {
    principal.require(Permission::UsersRead)?;
    state.store.total_usage().await
}
