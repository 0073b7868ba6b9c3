//! Throttling of failed logins, per account and per client address.
//!
//! After a number of failed logins within `window` (one limit per account,
//! a higher one per address, since many users may share an address behind
//! a NAT), further attempts for that account (or from that address) are
//! refused without checking the password until the oldest failure leaves
//! the window. A successful login
//! clears the account's failures; attempts that are not throttled are never
//! slowed down. The counts live in the core's memory: they reset when the
//! core restarts.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, expired entries are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

/// The failure counts of all accounts and addresses.
pub struct LoginThrottle {
    per_account: usize,
    per_address: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    /// A throttle allowing `per_account` failures per account and
    /// `per_address` per client address within `window`.
    pub fn new(per_account: usize, per_address: usize, window: Duration) -> Self {
        LoginThrottle {
            per_account: per_account.max(1),
            per_address: per_address.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(wait)` if a login for `email` from `address` must wait.
    pub fn check(&self, email: &str, address: Option<&str>) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.lock();
        keys(email, address)
            .iter()
            .filter_map(|(key, limit)| self.wait_for(failures.get_mut(key)?, now, *limit))
            .max()
    }

    /// Records a failed login for `email` from `address`.
    pub fn record_failure(&self, email: &str, address: Option<&str>) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() > SWEEP_ABOVE {
            let window = self.window;
            failures.retain(|_, times| times.back().is_some_and(|last| now - *last < window));
        }
        for (key, limit) in keys(email, address) {
            let times = failures.entry(key).or_default();
            times.push_back(now);
            while times.len() > self.limit(limit) {
                times.pop_front();
            }
        }
    }

    /// Clears the account's failures after a successful login.
    pub fn record_success(&self, email: &str) {
        self.lock().remove(&account_key(email));
    }

    fn limit(&self, kind: Limit) -> usize {
        match kind {
            Limit::Account => self.per_account,
            Limit::Address => self.per_address,
        }
    }

    fn wait_for(
        &self,
        times: &mut VecDeque<Instant>,
        now: Instant,
        kind: Limit,
    ) -> Option<Duration> {
        while times
            .front()
            .is_some_and(|first| now - *first >= self.window)
        {
            times.pop_front();
        }
        if times.len() < self.limit(kind) {
            return None;
        }
        let oldest = *times.front()?;
        Some(self.window - (now - oldest))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.failures.lock().expect("throttle lock poisoned")
    }
}

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

/// Which limit a key counts against.
#[derive(Debug, Clone, Copy)]
enum Limit {
    Account,
    Address,
}

fn keys(email: &str, address: Option<&str>) -> Vec<(String, Limit)> {
    let mut keys = vec![(account_key(email), Limit::Account)];
    if let Some(address) = address {
        keys.push((format!("address:{address}"), Limit::Address));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_after_the_limit_and_lifts_after_the_window() {
        let throttle = LoginThrottle::new(3, 10, Duration::from_millis(200));
        for _ in 0..2 {
            throttle.record_failure("a@example.com", None);
        }
        assert!(throttle.check("a@example.com", None).is_none());
        throttle.record_failure("A@example.com", None);
        let wait = throttle.check("a@example.com", None).unwrap();
        assert!(wait <= Duration::from_millis(200));
        assert!(throttle.check("b@example.com", None).is_none());
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.check("a@example.com", None).is_none());
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let throttle = LoginThrottle::new(5, 2, Duration::from_secs(60));
        throttle.record_failure("a@example.com", Some("10.0.0.1"));
        throttle.record_failure("b@example.com", Some("10.0.0.1"));
        assert!(throttle.check("c@example.com", Some("10.0.0.1")).is_some());
        assert!(throttle.check("c@example.com", Some("10.0.0.2")).is_none());
    }

    #[test]
    fn success_clears_the_account() {
        let throttle = LoginThrottle::new(1, 10, Duration::from_secs(60));
        throttle.record_failure("a@example.com", None);
        assert!(throttle.check("a@example.com", None).is_some());
        throttle.record_success("a@example.com");
        assert!(throttle.check("a@example.com", None).is_none());
    }
}
