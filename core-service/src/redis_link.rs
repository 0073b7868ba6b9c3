//! A connection to Redis made on first use and shared by every caller: the
//! connection manager multiplexes one TCP connection and reconnects by
//! itself, so a core that starts while Redis is down still starts.

use redis::RedisResult;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

pub struct RedisLink {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
}

impl RedisLink {
    /// A link to the Redis at `url` (checked now, connected on first use).
    pub fn new(url: &str) -> RedisResult<Self> {
        Ok(RedisLink {
            client: redis::Client::open(url)?,
            connection: OnceCell::new(),
        })
    }

    /// The connection, made on first use.
    pub async fn connection(&self) -> RedisResult<ConnectionManager> {
        let manager = self
            .connection
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await?;
        Ok(manager.clone())
    }
}
