//! Talking to the server: WebSocket connections from chosen loopback
//! addresses, password logins and OAuth tokens.

use demo_data::DemoUser as User;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

pub type Socket = WebSocketStream<TcpStream>;

/// How long a connection attempt or a login may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// Why a client could not get going.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("WebSocket handshake failed: {0}")]
    Handshake(#[from] tungstenite::Error),
    #[error("login refused: {0}")]
    Refused(String),
    #[error("token request failed: {0}")]
    Token(String),
    #[error("timed out")]
    Timeout,
    #[error("the server closed the connection")]
    Closed,
    #[error("bad server address {0:?}: {1}")]
    Address(String, String),
}

/// Where the edge listens.
#[derive(Debug, Clone)]
pub struct Server {
    /// `http://host:port`, no trailing slash.
    pub http: String,
    pub address: SocketAddr,
}

impl Server {
    /// From `http://host:port` (or `host:port`).
    pub async fn resolve(url: &str) -> Result<Server, ClientError> {
        let host_port = url
            .trim_end_matches('/')
            .trim_start_matches("http://")
            .to_owned();
        let address = tokio::net::lookup_host(&host_port)
            .await
            .map_err(|error| ClientError::Address(url.to_owned(), error.to_string()))?
            .find(SocketAddr::is_ipv4)
            .ok_or_else(|| ClientError::Address(url.to_owned(), "no IPv4 address".into()))?;
        Ok(Server {
            http: format!("http://{host_port}"),
            address,
        })
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.address)
    }
}

/// Local addresses to connect from: 127.0.0.1 … 127.0.0.n when the server is
/// on loopback (each gives its own ~28k ephemeral ports), else the default.
pub fn source_addresses(server: &Server, count: u8) -> Vec<Option<IpAddr>> {
    if !server.address.ip().is_loopback() || count == 0 {
        return vec![None];
    }
    (1..=count)
        .map(|n| Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))))
        .collect()
}

/// Opens a WebSocket to `/ws` from `source`, with a bearer token if given.
pub async fn connect(
    server: &Server,
    source: Option<IpAddr>,
    bearer: Option<&str>,
) -> Result<Socket, ClientError> {
    let socket = TcpSocket::new_v4().map_err(|e| ClientError::Connect(server.address, e))?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| ClientError::Connect(server.address, e))?;
    }
    let stream = within(socket.connect(server.address))
        .await?
        .map_err(|e| ClientError::Connect(server.address, e))?;
    stream
        .set_nodelay(true)
        .map_err(|e| ClientError::Connect(server.address, e))?;
    let mut request = server.ws_url().into_client_request()?;
    if let Some(token) = bearer {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| ClientError::Token(e.to_string()))?;
        request.headers_mut().insert("authorization", value);
    }
    // Frames here are small; tungstenite's default 128 KiB read buffer is
    // zeroed on every read, which was a quarter of this tool's CPU time.
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let connecting = tokio_tungstenite::client_async_with_config(request, stream, Some(config));
    let (socket, _) = within(connecting).await??;
    Ok(socket)
}

/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 4096;

/// Waits for `auth_success` (bearer connections get it first thing).
pub async fn await_auth(socket: &mut Socket) -> Result<(), ClientError> {
    within(async {
        while let Some(frame) = socket.next().await {
            let Message::Text(text) = frame? else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match value["type"].as_str() {
                Some("auth_success") => return Ok(()),
                Some("error") => return Err(ClientError::Refused(value["detail"].to_string())),
                _ => continue,
            }
        }
        Err(ClientError::Closed)
    })
    .await?
}

/// Logs in with the protocol's login frame.
pub async fn log_in(socket: &mut Socket, user: &User) -> Result<(), ClientError> {
    let frame = json!({"email": user.email, "password": user.password}).to_string();
    socket.send(Message::text(frame)).await?;
    await_auth(socket).await
}

/// An access token for `user` by the OAuth password grant.
pub async fn access_token(
    http: &reqwest::Client,
    server: &Server,
    user: &User,
) -> Result<String, ClientError> {
    let form = [
        ("grant_type", "password"),
        ("username", user.email.as_str()),
        ("password", user.password.as_str()),
    ];
    let response = http
        .post(format!("{}/oauth/token", server.http))
        .form(&form)
        .send()
        .await
        .map_err(|e| ClientError::Token(e.to_string()))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| ClientError::Token(e.to_string()))?;
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(ClientError::Token(format!("{status} {body}"))),
    }
}

async fn within<T>(future: impl Future<Output = T>) -> Result<T, ClientError> {
    tokio::time::timeout(PATIENCE, future)
        .await
        .map_err(|_| ClientError::Timeout)
}

/// How many entries the JSON array a successful answer carries has; `None`
/// for a failure or another answer. Counted, not built into values: the
/// load generator shares the machine it measures.
pub async fn array_length(answer: reqwest::Result<reqwest::Response>) -> Option<usize> {
    let response = answer
        .ok()
        .filter(|response| response.status().is_success())?;
    let body = response.bytes().await.ok()?;
    let entries: Vec<serde::de::IgnoredAny> = serde_json::from_slice(&body).ok()?;
    Some(entries.len())
}
