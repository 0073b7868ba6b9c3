//! A cache of who is a member of which chat.
//!
//! Every send needs the chat's members (to check the sender and to fan the
//! message out); reading them from PostgreSQL each time would double the
//! round trips on the hot path. A chat's members change only when it is
//! created, when members are added, and when a member leaves or is
//! removed; each change is put into the cache of each core (by the code
//! that makes it, and by its event on the others), so entries stay
//! correct without expiry. A chat that is not cached yet is read once on
//! first use.
//!
//! Each list carries the chat's `members_version` (`sql/0020`), and the
//! cache keeps the newest: two changes whose events arrive out of order,
//! or a read from the database that finishes after a newer change was
//! learnt, cannot put an older list back.

use crate::error::Result;
use crate::ids::{ChatId, UserId};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The members of one chat.
pub type Members = Arc<[UserId]>;

/// A chat's members as of one version of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub chat: ChatId,
    pub version: i64,
    pub members: Members,
}

/// Chat id → members, filled on demand.
#[derive(Default)]
pub struct MembershipCache {
    chats: RwLock<HashMap<ChatId, (i64, Members)>>,
}

impl MembershipCache {
    /// The chat's members; an empty list if the chat does not exist.
    pub async fn members(&self, store: &Store, chat_id: ChatId) -> Result<Members> {
        if let Some(members) = self.cached(chat_id) {
            crate::telemetry::cache("membership", true);
            return Ok(members);
        }
        crate::telemetry::cache("membership", false);
        let (version, members) = store.chat_members(chat_id).await?;
        let members: Members = members.into();
        // A chat without members is not cached: it may be created later.
        if !members.is_empty() {
            self.update(&Membership {
                chat: chat_id,
                version,
                members: members.clone(),
            });
        }
        Ok(members)
    }

    /// Records the members of a chat just created (its first version).
    pub fn insert(&self, chat_id: ChatId, members: Members) {
        self.update(&Membership {
            chat: chat_id,
            version: 0,
            members,
        });
    }

    /// Records a version of a chat's members, unless a newer one is known.
    pub fn update(&self, membership: &Membership) {
        let mut chats = self.chats.write().expect("membership lock poisoned");
        let newer = chats
            .get(&membership.chat)
            .is_none_or(|(known, _)| *known <= membership.version);
        if newer {
            let entry = (membership.version, membership.members.clone());
            chats.insert(membership.chat, entry);
        }
    }

    fn cached(&self, chat_id: ChatId) -> Option<Members> {
        self.chats
            .read()
            .expect("membership lock poisoned")
            .get(&chat_id)
            .map(|(_, members)| members.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = MembershipCache::default();
        let chat = ChatId::random();
        let (one, two) = (UserId::random(), UserId::random());
        let version = |version, members: Vec<UserId>| Membership {
            chat,
            version,
            members: members.into(),
        };
        cache.update(&version(2, vec![one]));
        cache.update(&version(1, vec![one, two]));
        assert_eq!(cache.cached(chat).unwrap().to_vec(), [one]);
        cache.update(&version(3, vec![one, two]));
        assert_eq!(cache.cached(chat).unwrap().to_vec(), [one, two]);
    }
}
