//! The connection to the core.
//!
//! The channel is lazy: it connects on first use and reconnects by itself
//! after the core was away, so the edge never needs a restart. While the
//! core is unreachable, calls fail fast with UNAVAILABLE.

use messenger_proto::v1::messenger_client::MessengerClient;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// A cheap-to-clone client of the core's gRPC API.
pub type CoreClient = MessengerClient<Channel>;

/// How long a connection attempt to the core may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// HTTP/2 flow-control window of one stream: the link, which carries the
/// events of every WebSocket, or a REST call's reply.
const STREAM_WINDOW: u32 = 256 * 1024;
/// HTTP/2 flow-control window of the whole connection to the core.
const CONNECTION_WINDOW: u32 = 64 * 1024 * 1024;
/// How often an idle connection to the core is pinged.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);

/// A client for the core at `url` (e.g. `http://127.0.0.1:50051`).
pub fn connect_lazy(url: &str) -> Result<CoreClient, tonic::transport::Error> {
    let channel = Endpoint::from_shared(url.to_owned())?
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
        .connect_lazy();
    Ok(MessengerClient::new(channel))
}
