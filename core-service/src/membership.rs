//! A cache of who is a member of which chat.
//!
//! Every send needs the chat's members (to fan the message out); reading
//! them from PostgreSQL each time would double the round trips on the hot
//! path. The cache is a hint, never the authority: the database checks a
//! sender's membership as it stores the message (`store_message`, see
//! `sql/`), and history checks it with a primary-key probe. The cache only
//! decides who gets live events, and how fast a non-member is turned away.
//!
//! What fills it:
//! - reads from the database, on first use and whenever an entry is older
//!   than its time to live (so a core that missed an event about a chat is
//!   wrong about it for a bounded time only);
//! - the lists this core's own transactions return when they change a
//!   chat's members (they come from the database too).
//!
//! What empties it: an event from another core that a chat's members
//! changed (the entry is dropped and read again on next use: the event
//! never installs a list), and a new connection to the bus (events may have
//! been missed in between).
//!
//! Each list carries the chat's `members_version` (`sql/0020`), and the
//! cache keeps the newest: a read that finishes after a newer change was
//! learnt or announced cannot put an older list back.

use crate::error::Result;
use crate::ids::{ChatId, UserId};
use crate::store::Store;
pub use crate::store::records::{Members, Membership};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long a chat's members are used before they are read again, unless
/// configured otherwise: the longest a core that missed an event about a
/// chat delivers to its old members or withholds from its new ones.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// What is known of one chat.
struct Entry {
    /// The newest version learnt or announced.
    version: i64,
    /// The members at `version`, when they were read; `None` when only the
    /// version is known (another core announced a change).
    members: Option<Members>,
    read_at: Instant,
}

/// Chat id → members, filled on demand.
pub struct MembershipCache {
    chats: RwLock<HashMap<ChatId, Entry>>,
    ttl: Duration,
}

impl Default for MembershipCache {
    fn default() -> Self {
        MembershipCache::with_ttl(DEFAULT_TTL)
    }
}

impl MembershipCache {
    /// A cache whose entries are read again after `ttl`.
    pub fn with_ttl(ttl: Duration) -> Self {
        MembershipCache {
            chats: RwLock::default(),
            ttl,
        }
    }

    /// The chat's members; an empty list if the chat does not exist.
    pub async fn members(&self, store: &Store, chat_id: ChatId) -> Result<Members> {
        if let Some(members) = self.cached(chat_id) {
            crate::telemetry::cache("membership", true);
            return Ok(members);
        }
        crate::telemetry::cache("membership", false);
        self.read(store, chat_id).await
    }

    /// The chat's members as the database has them now, whatever the cache
    /// holds (for a check the cache would refuse).
    pub async fn read(&self, store: &Store, chat_id: ChatId) -> Result<Members> {
        let (version, members) = store.chat_members(chat_id).await?;
        let members: Members = members.into();
        // A chat without members is not cached: it may be created later.
        if !members.is_empty() {
            self.learn(&Membership {
                chat: chat_id,
                version,
                members: members.clone(),
            });
        }
        Ok(members)
    }

    /// The chat's members if `user` is one of them. A cached "no" is
    /// checked against the database, since the user may have been added on
    /// another core a moment ago.
    pub async fn members_with(
        &self,
        store: &Store,
        chat_id: ChatId,
        user: UserId,
    ) -> Result<Option<Members>> {
        if let Some(members) = self.cached(chat_id).filter(|m| m.contains(&user)) {
            crate::telemetry::cache("membership", true);
            return Ok(Some(members));
        }
        crate::telemetry::cache("membership", false);
        let members = self.read(store, chat_id).await?;
        Ok(members.contains(&user).then_some(members))
    }

    /// Records a version of a chat's members read from the database (or
    /// returned by the transaction that changed them), unless a newer one
    /// is known.
    pub fn learn(&self, membership: &Membership) {
        let mut chats = self.chats.write().expect("membership lock poisoned");
        let newer = chats
            .get(&membership.chat)
            .is_none_or(|known| known.version <= membership.version);
        if newer {
            let entry = Entry {
                version: membership.version,
                members: Some(membership.members.clone()),
                read_at: Instant::now(),
            };
            chats.insert(membership.chat, entry);
        }
    }

    /// Another core changed the chat's members to `version`: what is
    /// cached is dropped, and no read of an older version is kept.
    pub fn forget(&self, chat: ChatId, version: i64) {
        let mut chats = self.chats.write().expect("membership lock poisoned");
        let known = chats.get(&chat).map_or(version, |known| known.version);
        let entry = Entry {
            version: known.max(version),
            members: None,
            read_at: Instant::now(),
        };
        chats.insert(chat, entry);
    }

    /// Drops everything (events may have been missed).
    pub fn clear(&self) {
        self.chats
            .write()
            .expect("membership lock poisoned")
            .clear();
    }

    fn cached(&self, chat_id: ChatId) -> Option<Members> {
        let chats = self.chats.read().expect("membership lock poisoned");
        let entry = chats.get(&chat_id)?;
        if entry.read_at.elapsed() > self.ttl {
            return None;
        }
        entry.members.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(chat: ChatId, version: i64, members: Vec<UserId>) -> Membership {
        Membership {
            chat,
            version,
            members: members.into(),
        }
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = MembershipCache::default();
        let chat = ChatId::random();
        let (one, two) = (UserId::random(), UserId::random());
        cache.learn(&version(chat, 2, vec![one]));
        cache.learn(&version(chat, 1, vec![one, two]));
        assert_eq!(cache.cached(chat).unwrap().to_vec(), [one]);
        cache.learn(&version(chat, 3, vec![one, two]));
        assert_eq!(cache.cached(chat).unwrap().to_vec(), [one, two]);
    }

    #[test]
    fn an_announced_change_drops_the_list_and_keeps_older_reads_out() {
        let cache = MembershipCache::default();
        let chat = ChatId::random();
        let (one, two) = (UserId::random(), UserId::random());
        cache.learn(&version(chat, 1, vec![one, two]));
        cache.forget(chat, 2);
        assert!(cache.cached(chat).is_none());
        // A read that started before the change finishes after it.
        cache.learn(&version(chat, 1, vec![one, two]));
        assert!(cache.cached(chat).is_none());
        cache.learn(&version(chat, 2, vec![one]));
        assert_eq!(cache.cached(chat).unwrap().to_vec(), [one]);
        // An announcement never lowers what is known.
        cache.forget(chat, 1);
        cache.learn(&version(chat, 1, vec![one, two]));
        assert!(cache.cached(chat).is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = MembershipCache::with_ttl(Duration::ZERO);
        let chat = ChatId::random();
        cache.learn(&version(chat, 1, vec![UserId::random()]));
        std::thread::sleep(Duration::from_millis(2));
        assert!(cache.cached(chat).is_none());
        let cache = MembershipCache::default();
        cache.learn(&version(chat, 1, vec![UserId::random()]));
        cache.clear();
        assert!(cache.cached(chat).is_none());
    }
}
