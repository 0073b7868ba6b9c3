//! Login attempts counted in Redis, shared by every core.
//!
//! Each account and address is a sorted set of attempt ids scored by the
//! time they started (Redis's own clock, so that cores with different
//! clocks agree). A script checks and counts in one step, so two cores
//! cannot both let through the attempt that reaches the limit. Keys expire
//! with the window. (All keys of one attempt are used in one script: on a
//! Redis Cluster they would need one hash slot.)

use super::limits::{Attempt, FIRST_DELAY, Limits, MAX_DELAY};
use crate::redis_link::RedisLink;
use redis::{RedisResult, Script};
use std::time::Duration;

/// Prefix of every key the throttle writes.
const PREFIX: &str = "messenger:throttle:";

/// KEYS: the attempt's account, then its address if any; ARGV: window
/// (ms), attempt id, the account's free attempts, the address's limit, the
/// first and the longest delay (ms). Returns 0 when counted, else the ms to
/// wait (see [`super::limits::account_delay`], which this mirrors).
const BEGIN: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local free = tonumber(ARGV[3])
if count >= free then
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  local doublings = math.min(count - free, 16)
  local delay = math.min(tonumber(ARGV[5]) * 2 ^ doublings, tonumber(ARGV[6]), window)
  wait = math.max(wait, tonumber(newest[2]) + delay - now)
end
if KEYS[2] then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 1)
  end
end
if wait > 0 then
  return math.ceil(wait)
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window)
end
return 0
";

/// KEYS: the account, then the address if any; ARGV: the attempt id, and
/// whether the account is cleared ('1') or loses only this attempt.
const SUCCEEDED: &str = r"
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
if KEYS[2] then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
";

/// The Redis side of the throttle; connects on first use.
pub struct SharedThrottle {
    limits: Limits,
    redis: RedisLink,
    begin: Script,
    succeeded: Script,
}

impl SharedThrottle {
    pub fn new(limits: Limits, redis: RedisLink) -> Self {
        SharedThrottle {
            limits,
            redis,
            begin: Script::new(BEGIN),
            succeeded: Script::new(SUCCEEDED),
        }
    }

    /// Counts `attempt` (`Ok(Ok(()))`) or says how long to wait (`Ok(Err)`).
    pub async fn begin(&self, attempt: &Attempt) -> RedisResult<Result<(), Duration>> {
        let mut invocation = self.begin.prepare_invoke();
        invocation.key(key(&attempt.account));
        if let Some(address) = &attempt.address {
            invocation.key(key(address));
        }
        invocation
            .arg(millis(self.limits.window).max(1))
            .arg(&attempt.id);
        invocation.arg(self.limits.per_account);
        invocation.arg(self.limits.per_address);
        invocation.arg(millis(FIRST_DELAY));
        invocation.arg(millis(MAX_DELAY));
        let wait: u64 = invocation
            .invoke_async(&mut self.redis.connection().await?)
            .await?;
        Ok(match wait {
            0 => Ok(()),
            ms => Err(Duration::from_millis(ms)),
        })
    }

    /// Clears the account of `attempt` and takes it back from its address.
    /// Takes `attempt` back from its address, and clears its account (or,
    /// unless `clear_account`, takes it back from the account only).
    pub async fn take_back(&self, attempt: &Attempt, clear_account: bool) -> RedisResult<()> {
        let mut invocation = self.succeeded.prepare_invoke();
        invocation.key(key(&attempt.account));
        if let Some(address) = &attempt.address {
            invocation.key(key(address));
        }
        invocation
            .arg(&attempt.id)
            .arg(if clear_account { "1" } else { "0" });
        let _: i64 = invocation
            .invoke_async(&mut self.redis.connection().await?)
            .await?;
        Ok(())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}
