//! The edge's configuration: flags and environment variables (and `.env`).

use clap::Args;
use std::net::SocketAddr;

/// Where the edge listens, where the core is, and the limits it enforces.
#[derive(Debug, Clone, Args)]
pub struct EdgeConfig {
    /// Address of the HTTP and WebSocket server.
    #[arg(
        id = "edge_listen",
        long = "edge-listen",
        env = "EDGE_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,
    /// URL of the core's gRPC API.
    #[arg(long, env = "CORE_URL", default_value = "http://127.0.0.1:50051")]
    pub core_url: String,
    /// Largest WebSocket frame accepted, in bytes; a larger one is answered
    /// with a `frame_too_large` error and the connection stays open.
    #[arg(long, env = "MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,
    /// Most WebSocket connections at once; further upgrades get HTTP 503.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// How often the edge pings an idle WebSocket client, in milliseconds; a
    /// client silent for two intervals is disconnected (close code 1001).
    #[arg(long, env = "WS_PING_INTERVAL_MS", default_value_t = 30_000)]
    pub ws_ping_interval_ms: u64,
}

impl EdgeConfig {
    /// Frames beyond this size are not even read: the connection is closed
    /// (WebSocket close code 1009). Between `max_frame_bytes` and this, the
    /// client gets an error frame and may go on.
    pub fn hard_frame_limit(&self) -> usize {
        (self.max_frame_bytes * 16).max(1024 * 1024)
    }
}
