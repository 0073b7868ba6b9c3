//! The WebSocket handshake (RFC 6455 §4.2), done here instead of by warp's
//! `ws()` filter so that each connection's buffers can be sized.
//!
//! warp builds every socket with the default configuration, whose read
//! buffer is 128 KiB and is zero-filled before each read: for a chat socket
//! carrying small frames that is most of the edge's memory per connection
//! and a fifth of its CPU time under load. Here the read buffer starts at
//! [`READ_BUFFER`] bytes and grows only for a larger frame.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use warp::Filter;
use warp::http::{HeaderMap, StatusCode, header};
use warp::reply::Response;

/// A server-side WebSocket over an upgraded HTTP connection.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// A connection's read buffer, and the most one read takes from its socket.
///
/// Every connection keeps this much for as long as it is open, so it is
/// sized for the common frame (a chat message, a receipt: a few hundred
/// bytes), not the largest: a larger frame is read in several reads into a
/// buffer that grows to fit it. 512 bytes rather than 4 KiB took idle
/// memory per connection from about 20.5 to 16 KiB with no measurable
/// change in closed-loop throughput.
const READ_BUFFER: usize = 512;

/// A valid upgrade request, not yet answered.
pub struct Upgrade {
    key: String,
    on_upgrade: OnUpgrade,
}

/// Why a request to `/ws` is not a WebSocket upgrade.
#[derive(Debug, PartialEq, Eq)]
pub struct NotAnUpgrade(pub &'static str);

impl warp::reject::Reject for NotAnUpgrade {}

/// Matches a GET that asks for a WebSocket (version 13) and can be upgraded.
pub fn upgrade() -> impl Filter<Extract = (Upgrade,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and_then(
            |headers: HeaderMap, on_upgrade: Option<OnUpgrade>| async move {
                let key = check(&headers).map_err(warp::reject::custom)?;
                let on_upgrade = on_upgrade.ok_or_else(|| {
                    warp::reject::custom(NotAnUpgrade("the connection cannot be upgraded"))
                })?;
                Ok::<_, warp::Rejection>(Upgrade { key, on_upgrade })
            },
        )
}

/// The request's `Sec-WebSocket-Key` when its headers ask for a WebSocket.
fn check(headers: &HeaderMap) -> Result<String, NotAnUpgrade> {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let connection_upgrade = value(header::CONNECTION)
        .split(',')
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_upgrade {
        return Err(NotAnUpgrade("missing `Connection: upgrade`"));
    }
    if !value(header::UPGRADE).eq_ignore_ascii_case("websocket") {
        return Err(NotAnUpgrade("missing `Upgrade: websocket`"));
    }
    if value(header::SEC_WEBSOCKET_VERSION) != "13" {
        return Err(NotAnUpgrade("unsupported Sec-WebSocket-Version (13 is)"));
    }
    let key = value(header::SEC_WEBSOCKET_KEY);
    if key.is_empty() {
        return Err(NotAnUpgrade("missing Sec-WebSocket-Key"));
    }
    Ok(key.to_owned())
}

impl Upgrade {
    /// Answers 101 and runs `session` on the socket once the client has the
    /// answer. Frames above `max_frame_bytes` are not read (close 1009).
    pub fn on_upgrade<F, Fut>(self, max_frame_bytes: usize, session: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(max_frame_bytes))
            .max_frame_size(Some(max_frame_bytes));
        let on_upgrade = self.on_upgrade;
        // The session runs as a task of its own, so that what it keeps for
        // as long as the socket is open (about 900 bytes) is not laid out
        // beside the upgrade's state and a second slot for the socket moved
        // out of it (about 1 KiB more per connection in one task).
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let io = TokioIo::new(upgraded);
                    let socket =
                        WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                    tokio::spawn(session(socket));
                }
                Err(error) => tracing::debug!(%error, "WebSocket upgrade failed"),
            }
        });
        let mut response = Response::default();
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("upgrade"),
        );
        headers.insert(
            header::UPGRADE,
            header::HeaderValue::from_static("websocket"),
        );
        let accept = derive_accept_key(self.key.as_bytes());
        if let Ok(accept) = header::HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, header::HeaderValue::from_static(value));
        }
        map
    }

    const GOOD: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_browser_style_upgrade_is_accepted() {
        assert_eq!(check(&headers(GOOD)).unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
        // RFC 6455's worked example.
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn each_missing_part_is_named() {
        for (skip, reason) in [
            ("connection", "missing `Connection: upgrade`"),
            ("upgrade", "missing `Upgrade: websocket`"),
            (
                "sec-websocket-version",
                "unsupported Sec-WebSocket-Version (13 is)",
            ),
            ("sec-websocket-key", "missing Sec-WebSocket-Key"),
        ] {
            let partial: Vec<_> = GOOD
                .iter()
                .copied()
                .filter(|(name, _)| *name != skip)
                .collect();
            assert_eq!(
                check(&headers(&partial)),
                Err(NotAnUpgrade(reason)),
                "{skip}"
            );
        }
    }
}
