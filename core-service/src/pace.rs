//! Fixed-window rate limits kept in this core's memory, for requests whose
//! excess costs others little (typing notices, people searches): at most
//! `per_window` per key in each `window`.
//!
//! The map is bounded: when it holds [`MAX_KEYS`] keys, windows that have
//! ended are swept, and a new key that still finds no room is refused (a
//! flood of keys cannot grow memory).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys one limit remembers at most.
pub const MAX_KEYS: usize = 100_000;

/// A rate limit per key.
pub struct Pace<K> {
    per_window: u32,
    window: Duration,
    keys: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Hash + Eq> Pace<K> {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Pace {
            per_window,
            window,
            keys: Mutex::default(),
        }
    }

    /// Counts a request for `key`: `Ok` if it is within the limit, else
    /// how long until the key's window ends.
    pub fn take(&self, key: K) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut keys = self.keys.lock().expect("pace lock");
        if keys.len() >= MAX_KEYS && !keys.contains_key(&key) {
            keys.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if keys.len() >= MAX_KEYS {
                return Err(self.window);
            }
        }
        let (start, count) = keys.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            (*start, *count) = (now, 0);
        }
        if *count >= self.per_window {
            return Err(self.window - now.duration_since(*start));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_gets_its_share_per_window() {
        let pace = Pace::new(2, Duration::from_secs(3));
        let now = Instant::now();
        assert!(pace.take_at("a", now).is_ok());
        assert!(pace.take_at("a", now).is_ok());
        let wait = pace.take_at("a", now + Duration::from_secs(1)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(2));
        assert!(pace.take_at("b", now).is_ok());
        assert!(pace.take_at("a", now + Duration::from_secs(3)).is_ok());
    }

    #[test]
    fn the_map_stays_bounded() {
        let pace = Pace::new(1, Duration::from_secs(3));
        let now = Instant::now();
        for key in 0..MAX_KEYS {
            assert!(pace.take_at(key, now).is_ok());
        }
        assert!(pace.take_at(MAX_KEYS, now).is_err());
        // Once the old windows end, new keys take their place.
        assert!(pace.take_at(MAX_KEYS, now + Duration::from_secs(3)).is_ok());
        assert_eq!(pace.keys.lock().unwrap().len(), 1);
    }
}
