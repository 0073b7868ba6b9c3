//! How fast one user may send messages (or upload files: the same rate,
//! counted apart), from all their devices together
//! and (with `REDIS_URL`) through every core of the cluster: `per_second`
//! on average, with bursts of up to `burst` (a client flushing what it
//! queued offline), beyond which a send is refused with `rate_limited`
//! and the time until the next one fits.
//!
//! The limit is a generic cell rate: each user has a "theoretical arrival
//! time" that every accepted message moves on by one interval; a message
//! fits while that time is at most `burst - 1` intervals ahead of now. One
//! number per user, so one Redis script does check and count at once (two
//! cores cannot both let the last message of a burst through), on Redis's
//! clock (so cores with different clocks agree).
//!
//! If Redis cannot be reached, the core counts in its own memory until it
//! can again: a message is never refused because Redis is down.

use crate::ids::UserId;
use crate::redis_link::RedisLink;
use redis::Script;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Users the memory count remembers at most (beyond it, finished ones are
/// swept; a user that still finds no room is counted as fresh).
const MAX_USERS: usize = 100_000;

/// How long a send waits for Redis before counting in memory instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// KEYS: the user's key; ARGV: the interval and the burst's tolerance
/// (both µs). Returns 0 when the message fits (and counts it), else the µs
/// until one would.
const TAKE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then
  return math.ceil(tat - now - tolerance)
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
return 0
";

/// The rate itself.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Time between two messages on average.
    interval: Duration,
    /// How far ahead of now a user's arrival time may be and still send.
    tolerance: Duration,
}

impl Rate {
    /// `count` a minute on average, all of them at once if they come so.
    pub fn per_minute(count: u32) -> Self {
        let interval = Duration::from_secs(60) / count.max(1);
        Rate {
            interval,
            tolerance: interval * (count.max(1) - 1),
        }
    }

    /// `per_second` messages a second on average, `burst` at once (each at
    /// least one).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let interval = Duration::from_secs(1) / per_second.max(1);
        Rate {
            interval,
            tolerance: interval * (burst.max(1) - 1),
        }
    }
}

/// The send rate of every user.
pub struct SendRate {
    rate: Rate,
    local: Mutex<HashMap<UserId, Instant>>,
    shared: Option<Shared>,
}

/// The counts in Redis.
struct Shared {
    redis: RedisLink,
    take: Script,
    /// `messenger:send-rate:{<cluster>}:`: one Redis may serve several.
    prefix: String,
}

impl SendRate {
    /// Counted in this core's memory only.
    pub fn local(rate: Rate) -> Self {
        SendRate {
            rate,
            local: Mutex::default(),
            shared: None,
        }
    }

    /// Counted in the Redis at `url`, shared by every core of the cluster
    /// `cluster` (its bus subject).
    pub fn shared(rate: Rate, redis: RedisLink, cluster: &str) -> Self {
        SendRate::shared_as("send-rate", rate, redis, cluster)
    }

    /// [`SendRate::shared`] for what `name` counts, under keys of its own.
    pub fn shared_as(name: &str, rate: Rate, redis: RedisLink, cluster: &str) -> Self {
        let shared = Shared {
            redis,
            take: Script::new(TAKE),
            prefix: format!("messenger:{name}:{{{cluster}}}:"),
        };
        SendRate {
            shared: Some(shared),
            ..SendRate::local(rate)
        }
    }

    /// Counts a message of `user`: `Ok` if it fits, else how long until
    /// one would.
    pub async fn take(&self, user: UserId) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            match tokio::time::timeout(REDIS_TIMEOUT, self.take_shared(shared, user)).await {
                Ok(Ok(wait)) => return wait,
                Ok(Err(error)) => tracing::warn!(%error, "send rate: counted in memory"),
                Err(_) => tracing::warn!("send rate: Redis timed out, counted in memory"),
            }
        }
        self.take_local(user, Instant::now())
    }

    async fn take_shared(
        &self,
        shared: &Shared,
        user: UserId,
    ) -> redis::RedisResult<Result<(), Duration>> {
        let wait: u64 = shared
            .take
            .key(format!("{}{}", shared.prefix, user.0))
            .arg(micros(self.rate.interval))
            .arg(micros(self.rate.tolerance))
            .invoke_async(&mut shared.redis.connection().await?)
            .await?;
        Ok(match wait {
            0 => Ok(()),
            wait => Err(Duration::from_micros(wait)),
        })
    }

    fn take_local(&self, user: UserId, now: Instant) -> Result<(), Duration> {
        let mut users = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if users.len() >= MAX_USERS && !users.contains_key(&user) {
            users.retain(|_, arrival| *arrival > now);
        }
        let arrival = users.get(&user).copied().unwrap_or(now).max(now);
        let ahead = arrival - now;
        if ahead > self.rate.tolerance {
            return Err(ahead - self.rate.tolerance);
        }
        if users.len() < MAX_USERS || users.contains_key(&user) {
            users.insert(user, arrival + self.rate.interval);
        }
        Ok(())
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_rate_per_minute_lets_all_of_a_minute_come_at_once() {
        let rate = SendRate::local(Rate::per_minute(3));
        let user = UserId(Uuid::new_v4());
        let now = Instant::now();
        for _ in 0..3 {
            assert!(rate.take_local(user, now).is_ok());
        }
        let wait = rate.take_local(user, now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(rate.take_local(user, now + wait).is_ok());
    }

    #[test]
    fn a_burst_then_the_average() {
        let rate = SendRate::local(Rate::new(2, 3));
        let (alice, bob) = (UserId(Uuid::new_v4()), UserId(Uuid::new_v4()));
        let now = Instant::now();
        for _ in 0..3 {
            assert!(rate.take_local(alice, now).is_ok());
        }
        assert_eq!(rate.take_local(alice, now), Err(Duration::from_millis(500)));
        assert!(rate.take_local(bob, now).is_ok(), "each user has their own");
        let later = now + Duration::from_millis(500);
        assert!(rate.take_local(alice, later).is_ok());
        assert!(rate.take_local(alice, later).is_err());
    }
}
