//! Who a FHIR bearer token stands for, remembered between requests so that a read
//! costs one query (the data), not two (the token, then the data).
//!
//! Correctness rests on three rules:
//! - Every committed change that can take a token's power away (a token or app grant
//!   revoked, an app disabled, an account disabled or its role changed) moves the
//!   store's [`CredentialsEpoch`] on: the store's functions that make those changes mark
//!   their transaction (`Tx::credentials_changed`), whichever path calls them. What
//!   the cache holds belongs to one epoch and is dropped when the epoch has moved.
//! - A lookup notes the epoch *before* it reads the database and keeps what it read
//!   only if the epoch has not moved since: a read that raced a revocation is never
//!   remembered.
//! - The cache is only on when this process is the only node (the in-process bus). With
//!   several nodes a revocation on one would not reach the others' memory at once, so
//!   there every request asks the database.
//!
//! Entries also lapse with the token and after [`KEEP_FOR`], so a personal token's
//! "last used" still moves.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use telemed_store::CredentialsEpoch;

use super::FhirCaller;

/// The longest a caller is remembered.
pub const KEEP_FOR: Duration = Duration::seconds(60);

/// Most tokens remembered at once; past it the cache starts again empty.
const CAPACITY: usize = 10_000;

struct Remembered {
    caller: FhirCaller,
    until: DateTime<Utc>,
}

/// The callers remembered, all read in `epoch`.
#[derive(Default)]
struct Entries {
    epoch: u64,
    callers: HashMap<String, Remembered>,
}

impl Entries {
    /// Empties the entries if they belong to an earlier epoch than `current`.
    fn catch_up(&mut self, current: u64) {
        if self.epoch != current {
            self.callers.clear();
            self.epoch = current;
        }
    }
}

pub struct CallerCache {
    enabled: bool,
    credentials: CredentialsEpoch,
    entries: Mutex<Entries>,
}

/// The epoch a lookup started in; hand it back to [`CallerCache::remember`].
#[derive(Clone, Copy)]
pub struct Epoch(u64);

impl CallerCache {
    /// A cache that remembers only when `enabled` (one node), following the store's
    /// credential changes.
    pub fn new(enabled: bool, credentials: CredentialsEpoch) -> Self {
        Self {
            enabled,
            credentials,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The caller a token hash was last seen to stand for, if still valid at `now` and
    /// no credential has changed since.
    pub fn recall(&self, token_hash: &str, now: DateTime<Utc>) -> Option<FhirCaller> {
        if !self.enabled {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.catch_up(self.credentials.current());
        entries
            .callers
            .get(token_hash)
            .filter(|r| r.until > now)
            .map(|r| r.caller.clone())
    }

    /// To be read before the database is asked about a token.
    pub fn epoch(&self) -> Epoch {
        Epoch(self.credentials.current())
    }

    /// Remembers what the database said at `seen` (from [`Self::epoch`]) until `expires`
    /// (the token's own end) or [`KEEP_FOR`], unless a credential changed meanwhile.
    pub fn remember(
        &self,
        token_hash: &str,
        seen: Epoch,
        caller: &FhirCaller,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) {
        if !self.enabled {
            return;
        }
        let current = self.credentials.current();
        if current != seen.0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // A change committed after `current` was read moves the epoch on, and the next
        // recall drops this entry with the rest.
        entries.catch_up(current);
        if entries.callers.len() >= CAPACITY {
            entries.callers.clear();
        }
        entries.callers.insert(
            token_hash.to_owned(),
            Remembered {
                caller: caller.clone(),
                until: expires.min(now + KEEP_FOR),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telemed_domain::access::Principal;
    use telemed_domain::{Role, UserId};
    use telemed_fhir::Scopes;

    fn caller() -> FhirCaller {
        FhirCaller {
            principal: Principal {
                user_id: UserId::new(),
                role: Role::Clinician,
                permissions: vec![],
            },
            scopes: Scopes::parse("user/*.rs").unwrap_or_else(|_| unreachable!()),
            patient: None,
        }
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn a_caller_is_recalled_until_its_token_or_the_keep_time_ends() {
        let cache = CallerCache::new(true, CredentialsEpoch::default());
        let c = caller();
        cache.remember("a", cache.epoch(), &c, at(0), at(30));
        cache.remember("b", cache.epoch(), &c, at(0), at(3600));
        assert!(cache.recall("a", at(29)).is_some());
        assert!(cache.recall("a", at(30)).is_none(), "the token expired");
        assert!(cache.recall("b", at(59)).is_some());
        assert!(cache.recall("b", at(60)).is_none(), "kept at most a minute");
        assert!(cache.recall("c", at(1)).is_none());
    }

    #[test]
    fn what_was_read_before_a_revocation_is_not_remembered() {
        let credentials = CredentialsEpoch::default();
        let cache = CallerCache::new(true, credentials.clone());
        let c = caller();
        cache.remember("a", cache.epoch(), &c, at(0), at(3600));
        let before = cache.epoch();
        credentials.advance();
        assert!(cache.recall("a", at(1)).is_none(), "forgotten");
        cache.remember("b", before, &c, at(0), at(3600));
        assert!(cache.recall("b", at(1)).is_none(), "read in the old epoch");
        cache.remember("b", cache.epoch(), &c, at(0), at(3600));
        assert!(cache.recall("b", at(1)).is_some());
    }

    #[test]
    fn a_cache_for_several_nodes_remembers_nothing() {
        let cache = CallerCache::new(false, CredentialsEpoch::default());
        cache.remember("a", cache.epoch(), &caller(), at(0), at(3600));
        assert!(cache.recall("a", at(1)).is_none());
    }
}
