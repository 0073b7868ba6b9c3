//! Presence counts in Redis, shared by the cores of one cluster.
//!
//! Each core has a hash of its sessions per user, `…:core:<id>`, and the
//! cluster a set of the cores that have one, `…:cores`; both expire unless
//! renewed, so a cluster that is gone leaves nothing behind. Every key of a cluster carries the same hash tag, so a
//! script may use them all (on a Redis Cluster they share a slot).

use crate::ids::{CoreId, UserId};
use crate::redis_link::RedisLink;
use redis::{RedisResult, Script, ScriptInvocation};
use uuid::Uuid;

/// KEYS: the cores set, this core's hash; ARGV: core id, user, delta, ttl
/// (s), the hash key prefix. Returns how many other cores have the user.
const CHANGE: &str = r"
local n = redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
if n <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local others = 0
for _, core in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if core ~= ARGV[1] and redis.call('HEXISTS', ARGV[5] .. core, ARGV[2]) == 1 then
    others = others + 1
  end
end
return others
";

/// KEYS: the cores set; ARGV: the hash key prefix, then users. Returns 1
/// or 0 per user.
const ONLINE: &str = r"
local cores = redis.call('SMEMBERS', KEYS[1])
local result = {}
for i = 2, #ARGV do
  local online = 0
  for _, core in ipairs(cores) do
    if redis.call('HEXISTS', ARGV[1] .. core, ARGV[i]) == 1 then
      online = 1
      break
    end
  end
  result[i - 1] = online
end
return result
";

/// KEYS: the cores set; ARGV: the hash key prefix, then the gone cores.
/// Removes their counts and returns the users no core has any more. Cores
/// whose hash expired leave the set too.
const REMOVE_CORES: &str = r"
local offline = {}
for i = 2, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  local users = redis.call('HKEYS', key)
  redis.call('DEL', key)
  redis.call('SREM', KEYS[1], ARGV[i])
  local cores = redis.call('SMEMBERS', KEYS[1])
  for _, user in ipairs(users) do
    local elsewhere = false
    for _, core in ipairs(cores) do
      if redis.call('HEXISTS', ARGV[1] .. core, user) == 1 then
        elsewhere = true
        break
      end
    end
    if not elsewhere then table.insert(offline, user) end
  end
end
for _, core in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. core) == 0 then redis.call('SREM', KEYS[1], core) end
end
return offline
";

pub struct SharedPresence {
    redis: RedisLink,
    /// `messenger:presence:{<cluster>}:`
    prefix: String,
    change: Script,
    online: Script,
    remove_cores: Script,
}

impl SharedPresence {
    pub fn new(redis: RedisLink, cluster: &str) -> Self {
        SharedPresence {
            redis,
            prefix: format!("messenger:presence:{{{cluster}}}:"),
            change: Script::new(CHANGE),
            online: Script::new(ONLINE),
            remove_cores: Script::new(REMOVE_CORES),
        }
    }

    /// Adds `delta` to `core`'s count of `user`; how many other cores have
    /// a session of `user`.
    pub async fn change(&self, core: CoreId, user: UserId, delta: i64) -> RedisResult<u64> {
        self.change
            .key(self.cores_key())
            .key(self.core_key(core))
            .arg(core.0.to_string())
            .arg(user.0.to_string())
            .arg(delta)
            .arg(TTL_SECONDS)
            .arg(self.core_prefix())
            .invoke_async(&mut self.redis.connection().await?)
            .await
    }

    /// Records that `user` was announced `online` (or not); whether that
    /// differs from what the cluster announced last (another core may have
    /// told the same already).
    pub async fn tell(&self, user: UserId, online: bool) -> RedisResult<bool> {
        let value = if online { "1" } else { "0" };
        let previous: Option<String> = redis::cmd("SET")
            .arg(format!("{}told:{}", self.prefix, user.0))
            .arg(value)
            .arg("GET")
            .arg("EX")
            .arg(TOLD_TTL_SECONDS)
            .query_async(&mut self.redis.connection().await?)
            .await?;
        Ok(previous.as_deref() != Some(value))
    }

    /// Whether any core has a session of each of `users`.
    pub async fn online(&self, users: &[UserId]) -> RedisResult<Vec<bool>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let flags: Vec<u8> = self
            .over_cores(&self.online, users.iter().map(|user| user.0))
            .invoke_async(&mut self.redis.connection().await?)
            .await?;
        Ok(flags.into_iter().map(|flag| flag == 1).collect())
    }

    /// Renews `core`'s hash and the cluster's set of cores (which lasts as
    /// long as some core renews it); false if the hash is not there
    /// (expired, or Redis restarted).
    pub async fn renew(&self, core: CoreId) -> RedisResult<bool> {
        let (renewed, _): (bool, bool) = redis::pipe()
            .expire(self.core_key(core), TTL_SECONDS)
            .expire(self.cores_key(), TTL_SECONDS)
            .query_async(&mut self.redis.connection().await?)
            .await?;
        Ok(renewed)
    }

    /// Replaces `core`'s hash with `counts`.
    pub async fn rewrite(&self, core: CoreId, counts: &[(UserId, u32)]) -> RedisResult<()> {
        let key = self.core_key(core);
        let fields: Vec<(String, u32)> = counts
            .iter()
            .map(|(user, count)| (user.0.to_string(), *count))
            .collect();
        redis::pipe()
            .atomic()
            .del(&key)
            .hset_multiple(&key, &fields)
            .expire(&key, TTL_SECONDS)
            .sadd(self.cores_key(), core.0.to_string())
            .expire(self.cores_key(), TTL_SECONDS)
            .query_async(&mut self.redis.connection().await?)
            .await
    }

    /// Removes the hashes of `gone`; the users no core has any more.
    pub async fn remove_cores(&self, gone: &[CoreId]) -> RedisResult<Vec<UserId>> {
        let users: Vec<String> = self
            .over_cores(&self.remove_cores, gone.iter().map(|core| core.0))
            .invoke_async(&mut self.redis.connection().await?)
            .await?;
        Ok(users
            .iter()
            .filter_map(|user| Uuid::parse_str(user).ok().map(UserId))
            .collect())
    }

    /// `script` called with the cores set as its key and the hash key
    /// prefix then `ids` as its arguments (`ONLINE`, `REMOVE_CORES`).
    fn over_cores<'a>(
        &self,
        script: &'a Script,
        ids: impl Iterator<Item = Uuid>,
    ) -> ScriptInvocation<'a> {
        let mut invocation = script.key(self.cores_key());
        invocation.arg(self.core_prefix());
        for id in ids {
            invocation.arg(id.to_string());
        }
        invocation
    }

    fn cores_key(&self) -> String {
        format!("{}cores", self.prefix)
    }

    fn core_prefix(&self) -> String {
        format!("{}core:", self.prefix)
    }

    fn core_key(&self, core: CoreId) -> String {
        format!("{}{}", self.core_prefix(), core.0)
    }
}

/// How long the cluster remembers what it announced of a user: past it, a
/// change is announced even if it repeats the last (harmless).
const TOLD_TTL_SECONDS: i64 = 24 * 3600;

/// How long a core's counts last without renewal: longer than a core may
/// stay silent before another takes it for gone (`cores::SILENCE`), so
/// that the one that finds it gone still finds its counts to announce.
const TTL_SECONDS: i64 = 90;
