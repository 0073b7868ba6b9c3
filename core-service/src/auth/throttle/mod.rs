//! Throttling of logins (and registrations), per account and per client
//! address.
//!
//! Every attempt is counted when it starts, before the password is checked,
//! so that guesses sent at the same moment cannot slip past the limit.
//! An account has `per_account` attempts within `window` free; each
//! further one must wait a delay after the last that doubles each time
//! (1 s, 2 s, 4 s, … at most a minute): guessing stays slow, and a stranger's
//! five wrong passwords cost the real user a second, not a lockout. An
//! address has `per_address` attempts per window (a higher limit, since
//! many users may share one behind a NAT), then waits for the oldest to
//! leave it. Refused attempts never check a password. A successful login
//! takes its attempt back and clears the account; a failed one stays
//! counted.
//!
//! With `REDIS_URL` the counts are shared by every core ([`shared`]);
//! without it they live in this core's memory ([`local`]) and reset when it
//! restarts. If Redis cannot be reached, the core counts in its own memory
//! until it can again: a login is never refused because Redis is down.

pub mod limits;
pub mod local;
pub mod shared;

use crate::email::Email;
use crate::redis_link::RedisLink;
pub use limits::{Attempt, FIRST_DELAY, Limits, MAX_DELAY, account_delay};
use local::LocalThrottle;
use shared::SharedThrottle;
use std::time::Duration;

/// How long a login waits for Redis before counting in memory instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// A throttle of a core: of logins, or (under another [`Throttle::named`])
/// of registrations.
pub struct Throttle {
    /// Put before every key, so that two throttles never share a count.
    name: &'static str,
    local: LocalThrottle,
    shared: Option<SharedThrottle>,
}

impl Throttle {
    /// A throttle counting in this core's memory.
    pub fn local(limits: Limits) -> Self {
        Throttle {
            name: "",
            local: LocalThrottle::new(limits.at_least_one()),
            shared: None,
        }
    }

    /// A throttle counting in the Redis at `url`, shared with every core
    /// that uses the same Redis.
    pub fn shared(limits: Limits, redis: RedisLink) -> Self {
        let limits = limits.at_least_one();
        Throttle {
            name: "",
            local: LocalThrottle::new(limits),
            shared: Some(SharedThrottle::new(limits, redis)),
        }
    }

    /// The same throttle counting under `name` (logins count under none).
    #[must_use]
    pub fn named(self, name: &'static str) -> Self {
        Throttle { name, ..self }
    }

    /// Counts an attempt for `email` from `address`, or says how long to
    /// wait if the account or the address is at its limit.
    pub async fn begin(&self, email: &Email, address: Option<&str>) -> Result<Attempt, Duration> {
        let attempt = Attempt {
            id: uuid::Uuid::new_v4().simple().to_string(),
            account: format!("{}account:{email}", self.name),
            // IPv6 per /64: one client can pick any address of its network.
            address: address.map(|address| {
                let key = messenger_proto::address_key(address);
                format!("{}address:{key}", self.name)
            }),
            local: false,
        };
        if let Some(shared) = &self.shared {
            match tokio::time::timeout(REDIS_TIMEOUT, shared.begin(&attempt)).await {
                Ok(Ok(outcome)) => return outcome.map(|()| attempt),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "login throttle: Redis failed, counting locally");
                }
                Err(_) => tracing::warn!("login throttle: Redis timed out, counting locally"),
            }
        }
        self.local.begin(&attempt)?;
        Ok(Attempt {
            local: true,
            ..attempt
        })
    }

    /// The attempt logged in: it is taken back, and the account cleared.
    pub async fn succeeded(&self, attempt: &Attempt) {
        self.take_back(attempt, true).await;
    }

    /// The attempt was never made (the server was too busy to check the
    /// password): it is taken back, and counts against no one.
    pub async fn withdrawn(&self, attempt: &Attempt) {
        self.take_back(attempt, false).await;
    }

    async fn take_back(&self, attempt: &Attempt, clear_account: bool) {
        match &self.shared {
            Some(shared) if !attempt.local => {
                let taking_back = shared.take_back(attempt, clear_account);
                match tokio::time::timeout(REDIS_TIMEOUT, taking_back).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "login throttle: Redis failed to clear an account");
                    }
                    Err(_) => tracing::warn!("login throttle: Redis timed out clearing an account"),
                }
            }
            _ => self.local.take_back(attempt, clear_account),
        }
    }
}
