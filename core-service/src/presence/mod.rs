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
//! stored in PostgreSQL, which outlives Redis. Announcements are paced per
//! user: coming online is told at once, unless this core told something
//! of the user within the pace; going offline only once the user has been
//! gone for the pace (a reconnect within it tells nothing); and after each
//! announcement the next waits for the pace, then tells the state as it is
//! then, if it differs from what was told. Thirty reconnects in a second
//! are one announcement, or none.

mod shared;

use crate::ids::{CoreId, UserId};
use crate::redis_link::RedisLink;
use chrono::{DateTime, Utc};
use shared::SharedPresence;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Most contacts one presence list or announcement reaches: a list of
/// them is one event, which must stay far below an event's size limit.
pub const MAX_CONTACTS: i64 = 5_000;

/// The pace of one user's announcements by default (see the module's
/// documentation).
pub const DEFAULT_PACE: Duration = Duration::from_secs(3);

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

/// A user's new state, for the contacts who see their presence (each core
/// reads who they are: see [`crate::store::presence`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    pub user: UserId,
    pub online: bool,
    /// When their last device left (going offline only).
    pub last_seen: Option<chrono::DateTime<chrono::Utc>>,
    /// They hid their presence: the contacts who saw it are told they are
    /// offline, with no last-seen time.
    pub hidden: bool,
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
    pace: Duration,
    /// Users told of (or about to be) within the pace.
    paced: Mutex<HashMap<UserId, Paced>>,
}

/// A user whose next announcement waits.
#[derive(Debug, Clone, Copy)]
struct Paced {
    /// When the state is checked again.
    due: Instant,
    /// What their contacts were last told.
    shown_online: bool,
    /// When their last device left, if it did.
    last_seen: Option<DateTime<Utc>>,
}

/// A user whose pace is over: what was told, and when they were last seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Due {
    pub user: UserId,
    pub shown_online: bool,
    pub last_seen: Option<DateTime<Utc>>,
}

impl Presence {
    /// Presence counted in this core's memory only.
    pub fn local(core: CoreId) -> Self {
        Presence {
            core,
            local: Mutex::default(),
            shared: None,
            stale: AtomicBool::new(false),
            pace: DEFAULT_PACE,
            paced: Mutex::default(),
        }
    }

    /// The same with announcements paced by `pace`.
    pub fn with_pace(self, pace: Duration) -> Self {
        Presence { pace, ..self }
    }

    /// How often [`Presence::due`] should be asked.
    pub fn tick(&self) -> Duration {
        (self.pace / 4).max(Duration::from_millis(50))
    }

    /// `change` of `user` happened here: whether to announce it now (true
    /// only for coming online when nothing of theirs is paced). Otherwise
    /// [`Presence::due`] brings the user back when the pace is over.
    pub fn pace(&self, user: UserId, change: Change, last_seen: Option<DateTime<Utc>>) -> bool {
        self.pace_at(user, change, last_seen, Instant::now())
    }

    fn pace_at(
        &self,
        user: UserId,
        change: Change,
        last_seen: Option<DateTime<Utc>>,
        now: Instant,
    ) -> bool {
        let mut paced = lock(&self.paced);
        let went_offline = change == Change::WentOffline;
        if let Some(known) = paced.get_mut(&user) {
            if went_offline {
                known.due = known.due.max(now + self.pace);
                known.last_seen = last_seen;
            }
            return false;
        }
        let entry = Paced {
            due: now + self.pace,
            shown_online: true,
            last_seen,
        };
        paced.insert(user, entry);
        !went_offline
    }

    /// The users whose pace is over, no longer paced: the caller compares
    /// what was told with the state now and, if it tells anything, calls
    /// [`Presence::told`].
    pub fn due(&self) -> Vec<Due> {
        self.due_at(Instant::now())
    }

    fn due_at(&self, now: Instant) -> Vec<Due> {
        let mut paced = lock(&self.paced);
        let mut due = Vec::new();
        paced.retain(|user, entry| {
            if entry.due > now {
                return true;
            }
            due.push(Due {
                user: *user,
                shown_online: entry.shown_online,
                last_seen: entry.last_seen,
            });
            false
        });
        due
    }

    /// Whether announcing `user` as `online` is news to the cluster, which
    /// records it: two cores that each see the change tell it once. (Alone,
    /// or if Redis fails: always.)
    pub async fn is_news(&self, user: UserId, online: bool) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        match within(shared.tell(user, online)).await {
            Ok(news) => news,
            Err(error) => {
                tracing::warn!(%error, "presence: announced without asking the cluster");
                true
            }
        }
    }

    /// `user` was just announced as `online`: the next waits for the pace.
    pub fn told(&self, user: UserId, online: bool) {
        let entry = Paced {
            due: Instant::now() + self.pace,
            shown_online: online,
            last_seen: None,
        };
        lock(&self.paced).insert(user, entry);
    }

    /// Presence shared through the Redis at `url` with every core of the
    /// cluster `cluster` (its bus subject: one Redis may serve several).
    pub fn shared(core: CoreId, redis: RedisLink, cluster: &str) -> Self {
        Presence {
            shared: Some(SharedPresence::new(redis, cluster)),
            ..Presence::local(core)
        }
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
        lock(&self.local)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn within<T>(call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, PresenceError> {
    match tokio::time::timeout(REDIS_TIMEOUT, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(PresenceError::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn presence() -> Presence {
        Presence::local(CoreId::random()).with_pace(Duration::from_secs(3))
    }

    #[test]
    fn coming_online_is_told_at_once_then_paced() {
        let presence = presence();
        let user = UserId(Uuid::new_v4());
        let now = Instant::now();
        assert!(presence.pace_at(user, Change::CameOnline, None, now));
        // Flapping within the pace tells nothing now.
        for _ in 0..15 {
            assert!(!presence.pace_at(user, Change::WentOffline, None, now));
            assert!(!presence.pace_at(user, Change::CameOnline, None, now));
        }
        assert!(presence.due_at(now + Duration::from_secs(2)).is_empty());
        let due = presence.due_at(now + Duration::from_secs(3));
        assert_eq!(due.len(), 1);
        assert!(due[0].shown_online);
        assert!(presence.due_at(now + Duration::from_secs(9)).is_empty());
    }

    #[test]
    fn going_offline_waits_for_the_pace_after_the_last_departure() {
        let presence = presence();
        let user = UserId(Uuid::new_v4());
        let now = Instant::now();
        let seen = Some(Utc::now());
        assert!(!presence.pace_at(user, Change::WentOffline, None, now));
        let later = now + Duration::from_secs(2);
        assert!(!presence.pace_at(user, Change::WentOffline, seen, later));
        assert!(presence.due_at(now + Duration::from_secs(3)).is_empty());
        let due = presence.due_at(later + Duration::from_secs(3));
        assert_eq!(
            due,
            vec![Due {
                user,
                shown_online: true,
                last_seen: seen
            }]
        );
    }
}
