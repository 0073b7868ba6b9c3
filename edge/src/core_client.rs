//! The connections to the cores (`CORE_URLS`, or the one `CORE_URL`).
//!
//! Each channel is lazy: it connects on first use and reconnects by itself
//! after its core was away, so the edge never needs a restart. While a core
//! is unreachable, calls to it fail fast with UNAVAILABLE. A core whose link
//! could not be opened or ended is down: REST calls and new WebSockets go
//! to the others (to it only if all are down) until its link opens again,
//! which is tried every [`RETRY`] (see `ws::link`).

use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::{EDGE_SECRET_METADATA, EdgeSecret};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tonic::Status;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::{Interceptor, interceptor::InterceptedService};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// A cheap-to-clone client of one core's gRPC API, whose calls carry the
/// edges' secret.
pub type CoreClient = MessengerClient<InterceptedService<Channel, PresentSecret>>;

/// Adds the edges' secret to every call: the core lets only edges open
/// links and speak for their clients.
#[derive(Clone)]
pub struct PresentSecret(MetadataValue<Ascii>);

impl Interceptor for PresentSecret {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        request
            .metadata_mut()
            .insert(EDGE_SECRET_METADATA, self.0.clone());
        Ok(request)
    }
}

/// How long a connection attempt to the core may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// HTTP/2 flow-control window of one stream: the link, which carries the
/// events of every WebSocket, or a REST call's reply.
const STREAM_WINDOW: u32 = 256 * 1024;
/// HTTP/2 flow-control window of the whole connection to the core.
const CONNECTION_WINDOW: u32 = 64 * 1024 * 1024;
/// How often an idle connection to the core is pinged.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// Largest message the edge takes from a core: above the core's own cap on
/// one delivery (`sessions::link::MAX_DELIVERY_BYTES`), so that no single
/// event can end a link (tonic's default is 4 MiB).
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// How often a core that is down is tried again.
pub const RETRY: Duration = Duration::from_secs(2);

/// A client for the core at `url` (e.g. `http://127.0.0.1:50051`).
pub fn connect_lazy(url: &str, secret: &EdgeSecret) -> Result<CoreClient, CoreUrlError> {
    messenger_client(channel(url)?, secret)
}

fn messenger_client(channel: Channel, secret: &EdgeSecret) -> Result<CoreClient, CoreUrlError> {
    let secret = secret.expose().parse().map_err(|_| CoreUrlError::Secret)?;
    Ok(
        MessengerClient::with_interceptor(channel, PresentSecret(secret))
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
    )
}

/// The connection to the core at `url`, opened on first use.
fn channel(url: &str) -> Result<Channel, CoreUrlError> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_while_idle(true)
        // The link and the REST calls share one HTTP/2 connection. Data a
        // stream has not read yet counts against the connection's window,
        // so the connection window is much larger than any one stream's: a
        // stalled stream cannot starve the others.
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .connect_lazy())
}

/// Why the cores cannot be called.
#[derive(Debug, thiserror::Error)]
pub enum CoreUrlError {
    #[error("invalid CORE_URL or CORE_URLS: {0}")]
    Url(#[from] tonic::transport::Error),
    #[error("EDGE_SECRET cannot be sent in gRPC metadata")]
    Secret,
}

/// The cores of the cluster, taken in turn.
pub struct Cores {
    cores: Vec<Core>,
    /// The turn of new WebSockets, and that of REST calls: counted apart,
    /// so that sockets alternate whatever calls come in between.
    next_socket: AtomicUsize,
    next_call: AtomicUsize,
}

struct Core {
    client: CoreClient,
    /// The core's standard gRPC health service, on the same connection.
    health: HealthClient<Channel>,
    /// It failed and has not worked since.
    down: AtomicBool,
}

impl Cores {
    /// Clients for the cores at `urls` (at least one).
    pub fn connect_lazy(urls: &[String], secret: &EdgeSecret) -> Result<Cores, CoreUrlError> {
        let cores = urls
            .iter()
            .map(|url| {
                let channel = channel(url)?;
                Ok(Core {
                    client: messenger_client(channel.clone(), secret)?,
                    health: HealthClient::new(channel),
                    down: AtomicBool::new(false),
                })
            })
            .collect::<Result<Vec<_>, CoreUrlError>>()?;
        assert!(!cores.is_empty(), "at least one core URL");
        // Each edge starts its turns at a core of its own, so that the
        // first sockets of several edges do not all go to the first core.
        let start = (uuid::Uuid::new_v4().as_u128() % cores.len() as u128) as usize;
        Ok(Cores {
            cores,
            next_socket: AtomicUsize::new(start),
            next_call: AtomicUsize::new(start),
        })
    }

    /// Whether any core says it can serve (its database answers, its bus
    /// is up), each asked for at most `patience`.
    pub async fn any_ready(&self, patience: Duration) -> bool {
        for core in &self.cores {
            let request = HealthCheckRequest {
                service: "messenger.v1.Messenger".into(),
            };
            let answer = tokio::time::timeout(patience, core.health.clone().check(request)).await;
            if let Ok(Ok(response)) = answer
                && response.into_inner().status() == ServingStatus::Serving
            {
                return true;
            }
        }
        false
    }

    /// How many cores there are (at least one).
    pub fn count(&self) -> usize {
        self.cores.len()
    }

    /// The core with this index.
    pub fn client(&self, index: usize) -> CoreClient {
        self.cores[index].client.clone()
    }

    /// The next core in turn that is not down (or the next one, if all
    /// are): for a REST call.
    pub fn pick(&self) -> CoreClient {
        let count = self.cores.len();
        let start = self.next_call.fetch_add(1, Ordering::Relaxed) % count;
        let up = (0..count)
            .map(|n| (start + n) % count)
            .find(|&index| !self.is_down(index));
        self.client(up.unwrap_or(start))
    }

    /// Every core's index in the order a new WebSocket tries them: from
    /// the next in turn on, the ones that are not down first.
    pub fn order(&self) -> Vec<usize> {
        let count = self.cores.len();
        let start = self.next_socket.fetch_add(1, Ordering::Relaxed) % count;
        let mut order: Vec<usize> = (0..count).map(|n| (start + n) % count).collect();
        order.sort_by_key(|&index| self.is_down(index));
        order
    }

    /// Core `index` could not be reached, or went away.
    pub fn failed(&self, index: usize) {
        self.cores[index].down.store(true, Ordering::Relaxed);
    }

    /// Core `index` answered.
    pub fn worked(&self, index: usize) {
        self.cores[index].down.store(false, Ordering::Relaxed);
    }

    /// Whether core `index` failed and has not worked since.
    pub fn is_down(&self, index: usize) -> bool {
        self.cores[index].down.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cores_are_taken_in_turn_and_one_that_is_down_last() {
        let urls: Vec<String> = (1..=3).map(|n| format!("http://127.0.0.1:{n}")).collect();
        let cores = Cores::connect_lazy(&urls, &EdgeSecret::random()).expect("valid URLs");
        cores.next_socket.store(0, Ordering::Relaxed);
        assert_eq!(cores.order(), [0, 1, 2]);
        assert_eq!(cores.order(), [1, 2, 0]);
        cores.failed(2);
        assert_eq!(cores.order(), [0, 1, 2]);
        assert_eq!(cores.order(), [0, 1, 2], "the one that is down goes last");
        cores.worked(2);
        assert_eq!(cores.order(), [1, 2, 0]);
    }
}
