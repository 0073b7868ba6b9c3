//! The bound on one user's logged-in sessions on this core
//! (`MAX_SESSIONS_PER_USER`).
//!
//! A logged-in session is accountable to its user, so sockets are not
//! capped per client address once logged in (many users may share one
//! behind a NAT); instead one user's devices and tabs are. A place is
//! taken when a login is let in, before anything of it is written, so a
//! burst of one user's logins cannot pass the bound together; it is given
//! back when the session ends or logs in as someone else.

use crate::ids::UserId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Places taken per user. Entries go with their last place, so the map
/// holds no more users than have sessions.
pub struct UserPlaces {
    taken: Mutex<HashMap<UserId, usize>>,
    max: usize,
}

/// One session's place under its user's bound, given back when dropped.
pub struct UserPlace {
    places: Arc<UserPlaces>,
    user: UserId,
}

impl UserPlaces {
    /// At most `max` sessions per user (at least one).
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(UserPlaces {
            taken: Mutex::new(HashMap::new()),
            max: max.max(1),
        })
    }

    /// The bound.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A place for one more session of `user`, if the user has one left.
    pub fn take(self: &Arc<Self>, user: UserId) -> Option<UserPlace> {
        let mut taken = self.lock();
        let count = taken.entry(user).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(UserPlace {
            places: self.clone(),
            user,
        })
    }

    /// How many places `user` holds.
    pub fn taken(&self, user: UserId) -> usize {
        self.lock().get(&user).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, usize>> {
        self.taken.lock().expect("user places lock poisoned")
    }
}

impl Drop for UserPlace {
    fn drop(&mut self) {
        let mut taken = self.places.lock();
        if let Some(count) = taken.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                taken.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_max_places_and_gets_them_back() {
        let places = UserPlaces::new(2);
        let (one, two) = (UserId::random(), UserId::random());
        let first = places.take(one).unwrap();
        let _second = places.take(one).unwrap();
        assert!(places.take(one).is_none(), "a third session of one user");
        assert!(
            places.take(two).is_some(),
            "another user has places of their own"
        );
        drop(first);
        assert_eq!(places.taken(one), 1);
        assert!(places.take(one).is_some(), "a freed place is taken again");
        assert_eq!(places.taken(two), 0, "an ended session's user is forgotten");
    }
}
