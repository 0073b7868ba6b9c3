//! A connection to Redis made on first use and shared by every caller: the
//! connection manager multiplexes one TCP connection and reconnects by
//! itself, so a core that starts while Redis is down still starts.
//!
//! A `rediss://` URL asks for TLS: the server's certificate is verified,
//! against the PEM certificates of `REDIS_CA_FILE` when it is given, else
//! against the system's roots.

use redis::aio::ConnectionManager;
use redis::{RedisResult, TlsCertificates};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// One link shared by the throttles, presence and the send rate (cloning
/// it shares the connection).
#[derive(Clone)]
pub struct RedisLink {
    client: redis::Client,
    connection: Arc<OnceCell<ConnectionManager>>,
}

impl RedisLink {
    /// A link to the Redis at `url` (checked now, connected on first use),
    /// trusting the certificates in `ca_file` when the URL asks for TLS.
    pub fn new(url: &str, ca_file: Option<&Path>) -> RedisResult<Self> {
        let client = match ca_file {
            None => redis::Client::open(url)?,
            Some(path) => {
                let certificates = TlsCertificates {
                    client_tls: None,
                    root_cert: Some(std::fs::read(path)?),
                };
                redis::Client::build_with_tls(url, certificates)?
            }
        };
        Ok(RedisLink {
            client,
            connection: Arc::default(),
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
