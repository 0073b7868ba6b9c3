//! A cache of who is a member of which chat.
//!
//! Every send needs the chat's members (to check the sender and to fan the
//! message out); reading them from PostgreSQL each time would double the
//! round trips on the hot path. A chat's members change only when it is
//! created or a member leaves; either change is put into the cache of each
//! core (by the code that makes it, and by its event on the others), so
//! entries stay correct without expiry. A chat that is not cached yet is
//! read once on first use.

use crate::error::Result;
use crate::ids::{ChatId, UserId};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The members of one chat.
pub type Members = Arc<[UserId]>;

/// Chat id → members, filled on demand.
#[derive(Default)]
pub struct MembershipCache {
    chats: RwLock<HashMap<ChatId, Members>>,
}

impl MembershipCache {
    /// The chat's members; an empty list if the chat does not exist.
    pub async fn members(&self, store: &Store, chat_id: ChatId) -> Result<Members> {
        if let Some(members) = self.cached(chat_id) {
            return Ok(members);
        }
        let members: Members = store.chat_members(chat_id).await?.into();
        // A chat without members is not cached: it may be created later.
        if !members.is_empty() {
            self.insert(chat_id, members.clone());
        }
        Ok(members)
    }

    /// Records the members of a chat the core has just created.
    pub fn insert(&self, chat_id: ChatId, members: Members) {
        self.chats
            .write()
            .expect("membership lock poisoned")
            .insert(chat_id, members);
    }

    fn cached(&self, chat_id: ChatId) -> Option<Members> {
        self.chats
            .read()
            .expect("membership lock poisoned")
            .get(&chat_id)
            .cloned()
    }
}
