//! A short-lived, in-process cache of authenticated sessions, so that a page view or an API call
//! does not read its session, account and organisation from the database every time.
//!
//! Safe because: an entry is good for [`TTL_SECS`] at most; it remembers the counter of the
//! `sessions` change signal it was read under and is ignored as soon as that counter moves
//! (every change to sessions or accounts bumps it in its own transaction — logout, password
//! change, role change, lock, disable, resets, login steps — and every process follows it);
//! expiry is checked on every use; an entry that looks expired is read again before anything is
//! deleted; and the idle-timeout touch is still written, as often as without the cache.

use crate::context::Actor;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use vsys_domain::access::Stage;
use vsys_store::sessions::SessionRow;

/// How long an entry may serve without reading the database again.
pub const TTL_SECS: i64 = 10;
/// Beyond this many sessions the cache starts afresh (a bound on memory, not a policy).
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub session: SessionRow,
    /// The account as it was read (its address is the request's, filled in on use).
    pub actor: Actor,
    pub stage: Stage,
    /// The `sessions` counter this entry was read under.
    pub version: i64,
    pub loaded_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl SessionCache {
    /// The entry of a session token's hash, if it is fresh and no change was signalled since.
    pub(crate) fn get(&self, hash: &str, version: i64, now: DateTime<Utc>) -> Option<Entry> {
        let map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(hash)
            .filter(|e| e.version == version && now - e.loaded_at < Duration::seconds(TTL_SECS))
            .cloned()
    }

    pub(crate) fn put(&self, hash: String, entry: Entry) {
        let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(hash, entry);
    }

    pub(crate) fn forget(&self, hash: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(hash);
    }

    /// Notes that the session was seen at `now` (after the touch was written).
    pub(crate) fn touched(&self, hash: &str, now: DateTime<Utc>) {
        if let Some(e) = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(hash)
        {
            e.session.last_seen_at = now;
        }
    }

    /// Sessions cached now (metrics, tests).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
