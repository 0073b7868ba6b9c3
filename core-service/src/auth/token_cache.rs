//! Live tokens looked up recently, so that a client making many requests
//! with one token costs one database lookup rather than one per request.
//!
//! A revocation on this core forgets the revoked login here at once, and
//! one on another core does so when its event arrives over the bus (a few
//! milliseconds; see `events`), so a cached token does not outlive its
//! revocation. Entries also end at the token's own expiry, and after
//! [`STALE_AFTER`]: the bound for a core that missed the event, or for a
//! table changed behind the cores' backs.

use super::Authenticated;
use crate::ids::LoginId;
use crate::store::users::UserRecord;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a looked-up token is trusted without asking the database again.
const STALE_AFTER: Duration = Duration::from_secs(60);
/// Most tokens remembered; a full cache starts over.
const CAPACITY: usize = 100_000;

/// Token hash → its owner and login.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    user: UserRecord,
    login: LoginId,
    expires_at: DateTime<Utc>,
    cached_at: Instant,
}

impl TokenCache {
    /// Whom a token stands for, if it is cached and still live.
    pub fn get(&self, hash: &str) -> Option<Authenticated> {
        let mut entries = self.entries.lock().expect("token cache lock");
        let entry = entries.get(hash)?;
        if entry.expires_at > Utc::now() && entry.cached_at.elapsed() < STALE_AFTER {
            return Some(Authenticated {
                user: entry.user.clone(),
                login: entry.login,
                expires_at: entry.expires_at,
            });
        }
        entries.remove(hash);
        None
    }

    /// Remembers a live token looked up in the database.
    pub fn insert(
        &self,
        hash: String,
        user: UserRecord,
        login: LoginId,
        expires_at: DateTime<Utc>,
    ) {
        let mut entries = self.entries.lock().expect("token cache lock");
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        let cached_at = Instant::now();
        let entry = Entry {
            user,
            login,
            expires_at,
            cached_at,
        };
        entries.insert(hash, entry);
    }

    /// Forgets every token of a revoked login.
    pub fn forget_login(&self, login: LoginId) {
        let mut entries = self.entries.lock().expect("token cache lock");
        entries.retain(|_, entry| entry.login != login);
    }

    /// Forgets everything (a revocation whose login is not known here).
    pub fn clear(&self) {
        self.entries.lock().expect("token cache lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    fn user() -> UserRecord {
        UserRecord {
            id: UserId::random(),
            name: "A".into(),
            email: "a@example.com".into(),
            password_hash: String::new(),
        }
    }

    fn in_minutes(minutes: i64) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::minutes(minutes)
    }

    #[test]
    fn a_live_token_is_remembered() {
        let cache = TokenCache::default();
        let (owner, login) = (user(), LoginId::random());
        cache.insert("h".into(), owner.clone(), login, in_minutes(5));
        let cached = cache.get("h").unwrap();
        assert_eq!((cached.user.id, cached.login), (owner.id, login));
        assert!(cache.get("other").is_none());
    }

    #[test]
    fn an_expired_token_is_not_served() {
        let cache = TokenCache::default();
        cache.insert("h".into(), user(), LoginId::random(), in_minutes(-1));
        assert!(cache.get("h").is_none());
    }

    #[test]
    fn a_revoked_login_is_forgotten_with_all_its_tokens() {
        let cache = TokenCache::default();
        let (revoked, kept) = (LoginId::random(), LoginId::random());
        cache.insert("a".into(), user(), revoked, in_minutes(5));
        cache.insert("b".into(), user(), revoked, in_minutes(5));
        cache.insert("c".into(), user(), kept, in_minutes(5));
        cache.forget_login(revoked);
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_none());
        assert!(cache.get("c").is_some());
        cache.clear();
        assert!(cache.get("c").is_none());
    }
}
