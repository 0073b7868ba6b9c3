//! Who is online: a user is online while any of their devices has a session
//! on any core, and "last seen" when the last one left.
//!
//! Each core counts its own sessions per user. Alone, that count is the
//! answer. In a cluster (`REDIS_URL`) each core also keeps its counts in
//! Redis ([`shared`]), where a change and the question "does another core
//! have this user?" are one script, so that two cores cannot both miss (or
//! both announce) a user's first device or last one. A core's counts there
//! expire unless it renews them, and a core found gone has them removed by
//! the core that found it, which announces whoever that leaves offline.
//!
//! If Redis fails, the change is not announced and the core's counts there
//! are written again from its own at its next heartbeat.
//!
//! When a device comes or goes, only a change of the user's state is
//! announced (see [`crate::events::presence`]); the last-seen time is
//! stored in PostgreSQL, which outlives Redis.

mod shared;

use crate::ids::{CoreId, UserId};
use shared::SharedPresence;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a call to Redis may take before presence gives up on it.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// A user's change of state that others are told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Their first device connected.
    CameOnline,
    /// Their last device left.
    WentOffline,
}

/// A user's new state, for everyone who shares a chat with them.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    pub user: UserId,
    pub online: bool,
    /// When their last device left (going offline only).
    pub last_seen: Option<chrono::DateTime<chrono::Utc>>,
    /// Who is told: the people who share a chat with them.
    pub contacts: Vec<UserId>,
}

/// Why presence could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    #[error("presence: Redis failed: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("presence: Redis timed out")]
    Timeout,
}

/// This core's sessions per user, and the cluster's if there is one.
pub struct Presence {
    core: CoreId,
    local: Mutex<HashMap<UserId, u32>>,
    shared: Option<SharedPresence>,
    /// A change did not reach Redis: write this core's counts again.
    stale: AtomicBool,
}

impl Presence {
    /// Presence counted in this core's memory only.
    pub fn local(core: CoreId) -> Self {
        Presence {
            core,
            local: Mutex::default(),
            shared: None,
            stale: AtomicBool::new(false),
        }
    }

    /// Presence shared through the Redis at `url` with every core of the
    /// cluster `cluster` (its bus subject: one Redis may serve several).
    pub fn shared(core: CoreId, url: &str, cluster: &str) -> Result<Self, redis::RedisError> {
        Ok(Presence {
            shared: Some(SharedPresence::new(url, cluster)?),
            ..Presence::local(core)
        })
    }

    /// A session of `user` started on this core; `CameOnline` if it is the
    /// user's first anywhere.
    pub async fn arrived(&self, user: UserId) -> Option<Change> {
        let first_here = self.count(user, 1) == 1;
        let alone = self.change_shared(user, 1).await?;
        (first_here && alone).then_some(Change::CameOnline)
    }

    /// A session of `user` on this core ended; `WentOffline` if it was the
    /// user's last anywhere.
    pub async fn left(&self, user: UserId) -> Option<Change> {
        let last_here = self.count(user, -1) == 0;
        let alone = self.change_shared(user, -1).await?;
        (last_here && alone).then_some(Change::WentOffline)
    }

    /// Whether each of `users` is online.
    pub async fn online(&self, users: &[UserId]) -> Result<Vec<bool>, PresenceError> {
        match &self.shared {
            Some(shared) => within(shared.online(users)).await,
            None => {
                let local = self.lock();
                Ok(users.iter().map(|user| local.contains_key(user)).collect())
            }
        }
    }

    /// Renews this core's counts in Redis (writing them again if they went
    /// missing or a change failed); called with every heartbeat.
    pub async fn beat(&self) {
        let Some(shared) = &self.shared else { return };
        let stale = self.stale.swap(false, Ordering::Relaxed);
        let renewed = match within(shared.renew(self.core)).await {
            Ok(renewed) => renewed,
            Err(error) => {
                tracing::warn!(%error, "presence: could not renew this core's counts");
                false
            }
        };
        if stale || !renewed {
            self.rewrite(shared).await;
        }
    }

    /// Writes this core's counts to Redis again, replacing what is there.
    async fn rewrite(&self, shared: &SharedPresence) {
        let counts: Vec<(UserId, u32)> = self.lock().iter().map(|(u, n)| (*u, *n)).collect();
        if !counts.is_empty()
            && let Err(error) = within(shared.rewrite(self.core, &counts)).await
        {
            tracing::warn!(%error, "presence: could not rewrite this core's counts");
            self.stale.store(true, Ordering::Relaxed);
        }
    }

    /// This core stops: its sessions' users with no device on another core
    /// (the sessions that moved have arrived there by now) go offline.
    pub async fn stopped(&self) -> Vec<UserId> {
        let here: Vec<UserId> = std::mem::take(&mut *self.lock()).into_keys().collect();
        match &self.shared {
            Some(_) => self.cores_gone(&[self.core]).await,
            None => here,
        }
    }

    /// Removes the counts of cores found gone; returns the users this
    /// leaves with no device anywhere.
    pub async fn cores_gone(&self, gone: &[CoreId]) -> Vec<UserId> {
        let (Some(shared), false) = (&self.shared, gone.is_empty()) else {
            return Vec::new();
        };
        match within(shared.remove_cores(gone)).await {
            Ok(offline) => offline,
            Err(error) => {
                tracing::warn!(%error, "presence: could not remove gone cores");
                Vec::new()
            }
        }
    }

    /// Adds `delta` to this core's count of `user`; the new count.
    fn count(&self, user: UserId, delta: i32) -> u32 {
        let mut local = self.lock();
        let count = local.entry(user).or_default();
        *count = count.saturating_add_signed(delta);
        let now = *count;
        if now == 0 {
            local.remove(&user);
        }
        now
    }

    /// Applies `delta` to this core's count in Redis; whether no other
    /// core has a session of `user` (true without Redis), `None` if Redis
    /// failed.
    async fn change_shared(&self, user: UserId, delta: i64) -> Option<bool> {
        let Some(shared) = &self.shared else {
            return Some(true);
        };
        match within(shared.change(self.core, user, delta)).await {
            Ok(others) => Some(others == 0),
            Err(error) => {
                tracing::warn!(%error, "presence: change not shared");
                self.stale.store(true, Ordering::Relaxed);
                None
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, u32>> {
        self.local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn within<T>(call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, PresenceError> {
    match tokio::time::timeout(REDIS_TIMEOUT, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(PresenceError::Timeout),
    }
}
