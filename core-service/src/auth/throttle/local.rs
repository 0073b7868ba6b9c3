//! Login attempts counted in this core's memory.

use super::limits::{Attempt, Limits, account_delay};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most accounts and addresses tracked at once. Beyond it (after the
/// expired ones are gone) those whose last attempt is oldest are forgotten
/// first, so that a flood of made-up emails cannot grow the core's memory.
const MAX_KEYS: usize = 100_000;
/// How often expired entries are swept, at most.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The recent attempts of every account and address, oldest first.
pub struct LocalThrottle {
    limits: Limits,
    state: Mutex<State>,
}

struct State {
    attempts: HashMap<String, VecDeque<(Instant, String)>>,
    swept: Instant,
}

impl LocalThrottle {
    pub fn new(limits: Limits) -> Self {
        LocalThrottle {
            limits,
            state: Mutex::new(State {
                attempts: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    /// Counts `attempt` against its account and address, unless either must
    /// wait: then how long. An account has `per_account` attempts free, then
    /// waits a delay that doubles with each further one (see
    /// [`account_delay`]); an address has `per_address` per window.
    pub fn begin(&self, attempt: &Attempt) -> Result<(), Duration> {
        let now = Instant::now();
        let window = self.limits.window;
        let mut state = self.lock();
        state.tidy(now, window);
        let attempts = &mut state.attempts;
        let mut wait = Duration::ZERO;
        if let Some(times) = recent(attempts, &attempt.account, now, window)
            && times.len() >= self.limits.per_account
            && let Some((newest, _)) = times.back()
        {
            let delay = account_delay(times.len() - self.limits.per_account, window);
            wait = wait.max((*newest + delay).saturating_duration_since(now));
        }
        if let Some(address) = &attempt.address
            && let Some(times) = recent(attempts, address, now, window)
            && times.len() >= self.limits.per_address
            && let Some((oldest, _)) = times.front()
        {
            wait = wait.max(window.saturating_sub(now - *oldest));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        let keys = std::iter::once(&attempt.account).chain(attempt.address.as_ref());
        for key in keys {
            let times = attempts.entry(key.clone()).or_default();
            times.push_back((now, attempt.id.clone()));
        }
        Ok(())
    }

    /// Takes `attempt` back from its address and clears its account.
    /// Takes `attempt` back from its address, and clears its account (or,
    /// unless `clear_account`, takes it back from the account only).
    pub fn take_back(&self, attempt: &Attempt, clear_account: bool) {
        let mut state = self.lock();
        let attempts = &mut state.attempts;
        if clear_account {
            attempts.remove(&attempt.account);
        }
        let keys = std::iter::once(&attempt.account).chain(attempt.address.as_ref());
        for key in keys {
            if let Some(times) = attempts.get_mut(key) {
                times.retain(|(_, id)| *id != attempt.id);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("throttle lock poisoned")
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().attempts.len()
    }
}

/// The attempts of `key` still within `window`, if it has any.
fn recent<'a>(
    attempts: &'a mut HashMap<String, VecDeque<(Instant, String)>>,
    key: &str,
    now: Instant,
    window: Duration,
) -> Option<&'a VecDeque<(Instant, String)>> {
    let times = attempts.get_mut(key)?;
    while times
        .front()
        .is_some_and(|(first, _)| now - *first >= window)
    {
        times.pop_front();
    }
    Some(times)
}

impl State {
    /// Drops expired entries (at most once a second), then, above
    /// [`MAX_KEYS`], the least recently tried tenth.
    fn tidy(&mut self, now: Instant, window: Duration) {
        if now - self.swept >= SWEEP_EVERY {
            self.swept = now;
            self.attempts
                .retain(|_, times| times.back().is_some_and(|(last, _)| now - *last < window));
        }
        if self.attempts.len() < MAX_KEYS {
            return;
        }
        let mut last_tried: Vec<Instant> = self
            .attempts
            .values()
            .filter_map(|times| times.back().map(|(last, _)| *last))
            .collect();
        let cut = last_tried.len() / 10;
        let (_, &mut threshold, _) = last_tried.select_nth_unstable(cut);
        self.attempts
            .retain(|_, times| times.back().is_some_and(|(last, _)| *last > threshold));
    }
}

#[cfg(test)]
mod tests {
    use super::super::Throttle;
    use super::*;
    use crate::email::Email;

    fn email(text: &str) -> Email {
        Email::normalize(text).unwrap()
    }

    fn throttle(per_account: usize, per_address: usize, window: Duration) -> Throttle {
        Throttle::local(Limits {
            per_account,
            per_address,
            window,
        })
    }

    #[tokio::test]
    async fn an_account_waits_longer_after_each_attempt_beyond_the_free_ones() {
        let throttle = throttle(3, 100, Duration::from_secs(60));
        for _ in 0..3 {
            throttle.begin(&email("a@example.com"), None).await.unwrap();
        }
        let wait = throttle
            .begin(&email("A@example.com"), None)
            .await
            .unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(throttle.begin(&email("b@example.com"), None).await.is_ok());
        // Never a lockout for the whole window: the first delay is a second.
        tokio::time::sleep(Duration::from_millis(1_050)).await;
        throttle.begin(&email("a@example.com"), None).await.unwrap();
        let wait = throttle
            .begin(&email("a@example.com"), None)
            .await
            .unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(2),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn attempts_leave_the_count_after_the_window() {
        let throttle = throttle(1, 100, Duration::from_millis(200));
        throttle.begin(&email("a@example.com"), None).await.unwrap();
        assert!(throttle.begin(&email("a@example.com"), None).await.is_err());
        tokio::time::sleep(Duration::from_millis(220)).await;
        assert!(throttle.begin(&email("a@example.com"), None).await.is_ok());
    }

    #[tokio::test]
    async fn an_address_is_throttled_across_accounts_for_the_window() {
        let throttle = throttle(5, 2, Duration::from_secs(60));
        throttle
            .begin(&email("a@example.com"), Some("10.0.0.1"))
            .await
            .unwrap();
        throttle
            .begin(&email("b@example.com"), Some("10.0.0.1"))
            .await
            .unwrap();
        let wait = throttle
            .begin(&email("c@example.com"), Some("10.0.0.1"))
            .await
            .unwrap_err();
        assert!(wait > Duration::from_secs(59), "{wait:?}");
        assert!(
            throttle
                .begin(&email("c@example.com"), Some("10.0.0.2"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn success_clears_the_account_and_gives_the_address_its_attempt_back() {
        let throttle = throttle(2, 2, Duration::from_secs(60));
        throttle
            .begin(&email("a@example.com"), Some("10.0.0.1"))
            .await
            .unwrap();
        let attempt = throttle
            .begin(&email("a@example.com"), Some("10.0.0.1"))
            .await
            .unwrap();
        assert!(throttle.begin(&email("a@example.com"), None).await.is_err());
        throttle.succeeded(&attempt).await;
        assert!(throttle.begin(&email("a@example.com"), None).await.is_ok());
        // The address holds the first (failed) attempt only, so one more fits.
        assert!(
            throttle
                .begin(&email("b@example.com"), Some("10.0.0.1"))
                .await
                .is_ok()
        );
        assert!(
            throttle
                .begin(&email("c@example.com"), Some("10.0.0.1"))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_withdrawn_attempt_counts_against_no_one() {
        let throttle = throttle(1, 1, Duration::from_secs(60));
        let attempt = throttle
            .begin(&email("a@example.com"), Some("10.0.0.1"))
            .await
            .unwrap();
        throttle.withdrawn(&attempt).await;
        let again = throttle
            .begin(&email("a@example.com"), Some("10.0.0.1"))
            .await;
        assert!(again.is_ok(), "neither the account nor the address kept it");
    }

    #[test]
    fn made_up_emails_cannot_grow_the_map_without_bound() {
        let throttle = LocalThrottle::new(Limits {
            per_account: 5,
            per_address: 5,
            window: Duration::from_secs(3600),
        });
        for n in 0..(MAX_KEYS + 5_000) {
            let attempt = Attempt {
                id: n.to_string(),
                account: format!("account:{n}@example.com"),
                address: None,
                local: true,
            };
            throttle.begin(&attempt).unwrap();
        }
        assert!(throttle.tracked() <= MAX_KEYS, "{}", throttle.tracked());
    }
}
