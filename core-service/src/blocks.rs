//! Who blocks whom, as fan-out needs it: for a user, the users who block
//! them, so that nothing of theirs reaches those users' sessions.
//!
//! Like [`crate::membership`], a cache of the database's `blocks` and only a
//! hint: reads of history and sync ask the database itself. An entry is
//! read again after its time to live; a block or an unblock drops the
//! blocked user's entry on this core at once and, through the bus, on the
//! others; a new connection to the bus empties it.

use crate::error::Result;
use crate::ids::UserId;
use crate::membership::Members;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Entries kept at most; beyond it the cache starts again empty (a hint
/// read again costs one indexed query).
const MAX_ENTRIES: usize = 100_000;

/// User → the users who block them, filled on demand.
pub struct BlockCache {
    blockers: RwLock<HashMap<UserId, (Members, Instant)>>,
    ttl: Duration,
}

impl BlockCache {
    /// A cache whose entries are read again after `ttl`.
    pub fn with_ttl(ttl: Duration) -> Self {
        BlockCache {
            blockers: RwLock::default(),
            ttl,
        }
    }

    /// The users who block `user`.
    pub async fn blockers_of(&self, store: &Store, user: UserId) -> Result<Members> {
        if let Some(blockers) = self.cached(user) {
            return Ok(blockers);
        }
        let blockers: Members = store.blockers_of(user).await?.into();
        let mut cache = self.blockers.write().expect("block cache lock poisoned");
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(user, (blockers.clone(), Instant::now()));
        Ok(blockers)
    }

    /// `members` but those who block `sender`: who may get what `sender`
    /// does.
    pub async fn audience(
        &self,
        store: &Store,
        sender: UserId,
        members: Members,
    ) -> Result<Members> {
        let blockers = self.blockers_of(store, sender).await?;
        if blockers.is_empty() || !members.iter().any(|m| blockers.contains(m)) {
            return Ok(members);
        }
        Ok(members
            .iter()
            .copied()
            .filter(|m| !blockers.contains(m))
            .collect())
    }

    /// Someone blocked or unblocked `user`: read again on next use.
    pub fn forget(&self, user: UserId) {
        self.blockers
            .write()
            .expect("block cache lock poisoned")
            .remove(&user);
    }

    /// Drops everything (events may have been missed).
    pub fn clear(&self) {
        self.blockers
            .write()
            .expect("block cache lock poisoned")
            .clear();
    }

    fn cached(&self, user: UserId) -> Option<Members> {
        let cache = self.blockers.read().expect("block cache lock poisoned");
        let (blockers, read_at) = cache.get(&user)?;
        (read_at.elapsed() <= self.ttl).then(|| blockers.clone())
    }
}
