//! The core's shared state, handed to every session and RPC.

use crate::membership::MembershipCache;
use crate::sessions::Registry;
use crate::store::Store;

/// Bounds on what clients may ask for; each is a configuration value.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest message text, in characters.
    pub max_text_chars: usize,
    /// Longest group name, in characters.
    pub max_group_name_chars: usize,
    /// Most members a new group may have, the creator included.
    pub max_group_members: usize,
    /// Largest history page.
    pub max_page_size: u32,
    /// Events queued for one session before it counts as a slow consumer.
    pub session_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_chars: 4096,
            max_group_name_chars: 128,
            max_group_members: 1000,
            max_page_size: 100,
            session_queue: 1024,
        }
    }
}

/// Everything a session or RPC needs: storage, who is connected, caches.
pub struct Core {
    pub store: Store,
    pub sessions: Registry,
    pub membership: MembershipCache,
    pub limits: Limits,
}

impl Core {
    /// A core over `store` with no sessions yet.
    pub fn new(store: Store, limits: Limits) -> Self {
        Core {
            store,
            sessions: Registry::default(),
            membership: MembershipCache::default(),
            limits,
        }
    }
}
