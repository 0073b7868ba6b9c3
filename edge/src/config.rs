//! The edge's configuration: flags and environment variables (and `.env`).

use clap::Args;
use messenger_proto::EdgeSecret;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Where the edge serves its Prometheus metrics (`/metrics`), or
    /// `off`; kept apart from the public port.
    #[arg(long, env = "EDGE_METRICS_LISTEN", default_value = "127.0.0.1:9102")]
    pub edge_metrics_listen: startup::MetricsListen,
    /// URL of the core's gRPC API (one core).
    #[arg(long, env = "CORE_URL", default_value = "http://127.0.0.1:50051")]
    pub core_url: String,
    /// URLs of the cores of a cluster, comma-separated; when given, they
    /// replace `CORE_URL`. New WebSockets and REST calls go to each in turn,
    /// leaving out for a moment a core that could not be reached.
    #[arg(long, env = "CORE_URLS", value_delimiter = ',')]
    pub core_urls: Vec<String>,
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
    /// Web origins (`https://chat.example.com`, comma-separated) allowed to
    /// call the REST API from a browser (CORS) and to open cookie-
    /// authenticated WebSockets. Empty: no cross-origin access at all.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// The names (`Host`) the edge serves, comma-separated, each with or
    /// without a port; a request for another gets 421 (health checks
    /// excepted). Empty: any host.
    #[arg(long, env = "ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Give the session cookie the `Secure` attribute (HTTPS only). Unset:
    /// on when the edge serves TLS itself (`TLS_CERT_FILE`), off otherwise;
    /// behind a TLS-terminating proxy set it to true.
    #[arg(long, env = "COOKIE_SECURE", action = clap::ArgAction::Set)]
    pub cookie_secure: Option<bool>,
    /// How long a frame may wait for a WebSocket client to take it, in
    /// milliseconds; a client slower than that is disconnected (4008).
    #[arg(long, env = "WS_WRITE_TIMEOUT_MS", default_value_t = 10_000)]
    pub ws_write_timeout_ms: u64,
    /// Frames queued for one WebSocket client before it counts as a slow
    /// consumer and is disconnected (4008).
    #[arg(long, env = "WS_QUEUE", default_value_t = 1024)]
    pub ws_queue: usize,
    /// Most WebSocket connections at once that have not logged in: the
    /// rest of `MAX_CONNECTIONS` is kept for logged-in ones.
    #[arg(long, env = "MAX_ANONYMOUS_CONNECTIONS", default_value_t = 5_000)]
    pub max_anonymous_connections: usize,
    /// How long a WebSocket may stay open without logging in, in
    /// milliseconds; then it is closed (4003).
    #[arg(long, env = "WS_LOGIN_TIMEOUT_MS", default_value_t = 10_000)]
    pub ws_login_timeout_ms: u64,
    /// Most connections (HTTP and WebSocket) from one client address that
    /// are not logged in; further ones are closed at once. A WebSocket stops
    /// counting here once it logs in: many users may share one address
    /// behind a NAT, and a logged-in socket is bounded by its user
    /// (`MAX_SESSIONS_PER_USER` on the core).
    #[arg(
        long,
        env = "MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    pub max_anonymous_connections_per_address: usize,
    /// Most connections from one client address, logged-in ones included:
    /// a backstop against one address holding many accounts' sockets.
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 10_000)]
    pub max_connections_per_address: usize,
    /// Largest file one upload may be, in bytes: a larger `Content-Length`
    /// is refused before any byte is read (the core checks the bytes too,
    /// and reads the same variable; the flag is the edge's own, so that one
    /// process can run both).
    #[arg(
        id = "edge_max_upload_bytes",
        long = "edge-max-upload-bytes",
        env = "MAX_UPLOAD_BYTES",
        default_value_t = 25 * 1024 * 1024
    )]
    pub max_upload_bytes: u64,
    /// Most HTTP connections at once (WebSockets, once upgraded, count
    /// under `MAX_CONNECTIONS` instead); further ones are closed at once.
    #[arg(long, env = "MAX_HTTP_CONNECTIONS", default_value_t = 4_096)]
    pub max_http_connections: usize,
    /// How long a client may take to send a request's head, in
    /// milliseconds; also how long a keep-alive connection may stay idle.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub http_header_timeout_ms: u64,
    /// How long a request may take from its head to its response (its body
    /// included), in milliseconds; then it is answered 408.
    #[arg(long, env = "HTTP_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub http_request_timeout_ms: u64,
    /// PEM file with the certificate chain for serving HTTPS and `wss://`
    /// (with `TLS_KEY_FILE`); unset, the edge serves plain HTTP (put it
    /// behind a TLS-terminating proxy then).
    #[arg(long, env = "TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM file with the private key of `TLS_CERT_FILE`.
    #[arg(long, env = "TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// This edge's name in the connection history (default `edge@<address>`).
    #[arg(long, env = "EDGE_ID")]
    pub edge_id: Option<String>,
    /// The secret this edge presents to the cores (`EDGE_SECRET`, set by
    /// the binary that runs the edge: both binaries take the same variable).
    #[arg(skip)]
    pub edge_secret: Option<EdgeSecret>,
    /// The OpenTelemetry collector this edge sends its spans to
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT`, read by the binary that runs the
    /// edge, like `EDGE_SECRET`).
    #[arg(skip)]
    pub otlp_endpoint: Option<String>,
}

impl EdgeConfig {
    /// Whether the session cookie gets `Secure`: as configured, else
    /// whenever the edge serves TLS itself.
    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.unwrap_or(self.tls_cert_file.is_some())
    }

    /// The cores to use: `CORE_URLS` when given, else `CORE_URL`.
    pub fn cores(&self) -> Vec<String> {
        let urls: Vec<String> = self
            .core_urls
            .iter()
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
            .collect();
        if urls.is_empty() {
            vec![self.core_url.clone()]
        } else {
            urls
        }
    }

    /// The name this edge gives itself in the connection history.
    pub fn edge_name(&self) -> String {
        self.edge_id
            .clone()
            .unwrap_or_else(|| format!("edge@{}", self.listen))
    }

    /// The allowed origins, normalised (no trailing slash, lower case);
    /// an error names the first one that is not `scheme://host[:port]`.
    pub fn origins(&self) -> Result<Vec<String>, String> {
        self.allowed_origins
            .iter()
            .map(|origin| origin.trim().trim_end_matches('/').to_lowercase())
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                let valid = origin.split_once("://").is_some_and(|(scheme, host)| {
                    matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/')
                });
                if valid {
                    Ok(origin)
                } else {
                    Err(format!("invalid origin {origin:?} in ALLOWED_ORIGINS"))
                }
            })
            .collect()
    }

    /// Frames beyond this size are not even read: the connection is closed
    /// (WebSocket close code 1009). Between `max_frame_bytes` and this, the
    /// client gets an error frame and may go on.
    pub fn hard_frame_limit(&self) -> usize {
        (self.max_frame_bytes * 16).max(1024 * 1024)
    }
}
