//! Login attempts counted in this core's memory.

use super::{Attempt, Limits};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, expired entries are swept on the next attempt.
const SWEEP_ABOVE: usize = 10_000;

/// The recent attempts of every account and address, oldest first.
pub struct LocalThrottle {
    limits: Limits,
    attempts: Mutex<HashMap<String, VecDeque<(Instant, String)>>>,
}

impl LocalThrottle {
    pub fn new(limits: Limits) -> Self {
        LocalThrottle {
            limits,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts `attempt` against its account and address, unless either is at
    /// its limit: then how long until the oldest attempt leaves the window.
    pub fn begin(&self, attempt: &Attempt) -> Result<(), Duration> {
        let now = Instant::now();
        let window = self.limits.window;
        let mut attempts = self.lock();
        if attempts.len() > SWEEP_ABOVE {
            attempts.retain(|_, times| times.back().is_some_and(|(last, _)| now - *last < window));
        }
        let keys = self.keys(attempt);
        let wait = keys
            .iter()
            .filter_map(|(key, limit)| {
                let times = attempts.get_mut(*key)?;
                while times
                    .front()
                    .is_some_and(|(first, _)| now - *first >= window)
                {
                    times.pop_front();
                }
                let (oldest, _) = times.front()?;
                (times.len() >= *limit).then(|| window - (now - *oldest))
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, _) in keys {
            let times = attempts.entry(key.to_owned()).or_default();
            times.push_back((now, attempt.id.clone()));
        }
        Ok(())
    }

    /// Takes `attempt` back from its address and clears its account.
    pub fn succeeded(&self, attempt: &Attempt) {
        let mut attempts = self.lock();
        attempts.remove(&attempt.account);
        if let Some(times) = attempt.address.as_ref().and_then(|a| attempts.get_mut(a)) {
            times.retain(|(_, id)| *id != attempt.id);
        }
    }

    fn keys<'a>(&self, attempt: &'a Attempt) -> Vec<(&'a str, usize)> {
        let mut keys = vec![(attempt.account.as_str(), self.limits.per_account)];
        if let Some(address) = &attempt.address {
            keys.push((address.as_str(), self.limits.per_address));
        }
        keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<(Instant, String)>>> {
        self.attempts.lock().expect("throttle lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::super::Throttle;
    use super::*;

    fn throttle(per_account: usize, per_address: usize, window: Duration) -> Throttle {
        Throttle::local(Limits {
            per_account,
            per_address,
            window,
        })
    }

    #[tokio::test]
    async fn throttles_at_the_limit_and_lifts_after_the_window() {
        let throttle = throttle(3, 10, Duration::from_millis(200));
        for _ in 0..3 {
            throttle.begin("a@example.com", None).await.unwrap();
        }
        let wait = throttle.begin("A@example.com", None).await.unwrap_err();
        assert!(wait <= Duration::from_millis(200));
        assert!(throttle.begin("b@example.com", None).await.is_ok());
        tokio::time::sleep(Duration::from_millis(220)).await;
        assert!(throttle.begin("a@example.com", None).await.is_ok());
    }

    #[tokio::test]
    async fn an_address_is_throttled_across_accounts() {
        let throttle = throttle(5, 2, Duration::from_secs(60));
        throttle
            .begin("a@example.com", Some("10.0.0.1"))
            .await
            .unwrap();
        throttle
            .begin("b@example.com", Some("10.0.0.1"))
            .await
            .unwrap();
        assert!(
            throttle
                .begin("c@example.com", Some("10.0.0.1"))
                .await
                .is_err()
        );
        assert!(
            throttle
                .begin("c@example.com", Some("10.0.0.2"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn success_clears_the_account_and_gives_the_address_its_attempt_back() {
        let throttle = throttle(2, 2, Duration::from_secs(60));
        throttle
            .begin("a@example.com", Some("10.0.0.1"))
            .await
            .unwrap();
        let attempt = throttle
            .begin("a@example.com", Some("10.0.0.1"))
            .await
            .unwrap();
        assert!(throttle.begin("a@example.com", None).await.is_err());
        throttle.succeeded(&attempt).await;
        assert!(throttle.begin("a@example.com", None).await.is_ok());
        // The address holds the first (failed) attempt only, so one more fits.
        assert!(
            throttle
                .begin("b@example.com", Some("10.0.0.1"))
                .await
                .is_ok()
        );
        assert!(
            throttle
                .begin("c@example.com", Some("10.0.0.1"))
                .await
                .is_err()
        );
    }
}
