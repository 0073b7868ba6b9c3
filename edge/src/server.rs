//! The edge's HTTP server: warp's routes, served by hyper directly (over
//! TLS when the edge has a certificate, see [`crate::tls`]).
//!
//! warp's own server runs hyper without a timer, so a client that sends
//! its request head a byte at a time (or opens a connection and says
//! nothing) holds a socket for ever, and it accepts any number of
//! connections. Here every connection has a deadline for each request head
//! (which also ends idle keep-alive connections), a deadline for the whole
//! request, a place under the cap of HTTP connections, and a place under
//! the cap of connections from its address, which an upgraded WebSocket
//! keeps for as long as it is open.

use crate::config::EdgeConfig;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use warp::Reply;
use warp::http::{Request, StatusCode};

/// How long the accept loop rests after the process ran out of file
/// descriptors, rather than spinning on the error.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// What one connection may take.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// From the moment a request head is awaited until it is complete.
    pub header_timeout: Duration,
    /// From a complete head until the response (body reads included).
    pub request_timeout: Duration,
    /// HTTP connections open at once (upgraded WebSockets not counted:
    /// `MAX_CONNECTIONS` caps those).
    pub max_connections: usize,
    /// Connections from one address, logged-in WebSockets included.
    pub per_address: usize,
    /// Of those, the ones that are not logged in (every connection is,
    /// until its WebSocket logs in).
    pub anonymous_per_address: usize,
}

impl HttpLimits {
    /// The limits `config` sets.
    pub fn from_config(config: &EdgeConfig) -> Self {
        HttpLimits {
            header_timeout: Duration::from_millis(config.http_header_timeout_ms.max(1)),
            request_timeout: Duration::from_millis(config.http_request_timeout_ms.max(1)),
            max_connections: config.max_http_connections.max(1),
            per_address: config.max_connections_per_address.max(1),
            anonymous_per_address: config.max_anonymous_connections_per_address.max(1),
        }
    }
}

/// The connection a request came on, in the request's extensions: its
/// address, and its place under the per-address caps.
#[derive(Clone)]
pub struct Peer {
    pub address: SocketAddr,
    slot: Arc<AddressSlot>,
}

impl Peer {
    /// The connection's WebSocket logged in: it no longer counts against
    /// its address's anonymous connections.
    pub fn logged_in(&self) {
        self.slot.vouch();
    }
}

/// Serves `routes` on `listener` until `stop` completes; then stops
/// accepting and waits for the HTTP connections to finish their requests.
pub async fn serve<F>(
    routes: F,
    listener: TcpListener,
    limits: HttpLimits,
    tls: Option<TlsAcceptor>,
    stop: impl Future<Output = ()> + Send,
) where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let service = warp::service(routes);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let addresses = Arc::new(AddressCounts::new(
        limits.per_address,
        limits.anonymous_per_address,
    ));
    let (stopping, stopped) = watch::channel(false);
    let mut running = JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        // Finished connections' tasks are let go of as they come.
        while running.try_join_next().is_some() {}
        let (stream, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Refused connections are closed at once: nothing is read from
        // them, so they cost no more than the accept.
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::debug!(%address, "HTTP connection cap reached, connection refused");
            continue;
        };
        let Some(slot) = addresses.take(address.ip()) else {
            tracing::debug!(%address, "connections per address reached, connection refused");
            continue;
        };
        let peer = Peer {
            address,
            slot: Arc::new(slot),
        };
        let connection = Connection {
            service: service.clone(),
            peer,
            limits,
            _permit: permit,
        };
        let stopped = stopped.clone();
        match tls.clone() {
            None => running.spawn(connection.run(stream, stopped)),
            Some(tls) => running.spawn(async move {
                // The handshake has the same deadline as a request head.
                match tokio::time::timeout(limits.header_timeout, tls.accept(stream)).await {
                    Ok(Ok(stream)) => connection.run(stream, stopped).await,
                    Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            }),
        };
    }
    drop(listener);
    let _ = stopping.send(true);
    while running.join_next().await.is_some() {}
}

/// One accepted connection, served until it closes or upgrades.
struct Connection<S> {
    service: S,
    peer: Peer,
    limits: HttpLimits,
    /// Its place under the HTTP connection cap, freed when hyper is done
    /// with it (at once after an upgrade).
    _permit: OwnedSemaphorePermit,
}

impl<S> Connection<S>
where
    S: tower_service::Service<
            Request<Incoming>,
            Response = warp::reply::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    /// Serves the connection; once `stopped` turns true, finishes the
    /// request in progress and closes.
    fn run<I>(
        self,
        stream: I,
        mut stopped: watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            service,
            peer,
            limits,
            _permit,
        } = self;
        let handler = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(peer.clone());
            let mut service = service.clone();
            let answer = tower_service::Service::call(&mut service, request);
            async move {
                match tokio::time::timeout(limits.request_timeout, answer).await {
                    Ok(response) => response,
                    Err(_) => Ok(timed_out()),
                }
            }
        });
        // HTTP/1 only: the head timeout covers a connection from its
        // first moment (a protocol sniffer would wait for bytes first).
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let connection = builder
            .serve_connection(TokioIo::new(stream), handler)
            .with_upgrades();
        async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = stop_requested(&mut stopped) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%error, "HTTP connection ended with an error");
            }
            drop(_permit);
        }
    }
}

/// Completes once the server is stopping.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The answer to a request that took longer than `HTTP_REQUEST_TIMEOUT_MS`.
fn timed_out() -> warp::reply::Response {
    let detail = warp::reply::json(&serde_json::json!({"detail": "request timed out"}));
    warp::reply::with_status(detail, StatusCode::REQUEST_TIMEOUT).into_response()
}

/// Connections open per client address: all of them, and those not
/// logged in. Entries go when their last connection does, so the map
/// holds no more than the open connections.
struct AddressCounts {
    counts: Mutex<HashMap<IpAddr, Count>>,
    max: usize,
    max_anonymous: usize,
}

/// One address's open connections.
#[derive(Default)]
struct Count {
    all: usize,
    anonymous: usize,
}

/// One connection's place under its address's caps.
struct AddressSlot {
    counts: Arc<AddressCounts>,
    address: IpAddr,
    /// Still counted among the address's anonymous connections.
    anonymous: AtomicBool,
}

impl AddressCounts {
    fn new(max: usize, max_anonymous: usize) -> Self {
        AddressCounts {
            counts: Mutex::new(HashMap::new()),
            max,
            max_anonymous,
        }
    }

    /// A place for one more (anonymous) connection from `address`, if it
    /// has one left. IPv6 addresses count per /64
    /// (`messenger_proto::address_group`).
    fn take(self: &Arc<Self>, address: IpAddr) -> Option<AddressSlot> {
        let address = messenger_proto::address_group(address);
        let mut counts = self.lock();
        let count = counts.entry(address).or_default();
        if count.all >= self.max || count.anonymous >= self.max_anonymous {
            if count.all == 0 {
                counts.remove(&address);
            }
            return None;
        }
        count.all += 1;
        count.anonymous += 1;
        Some(AddressSlot {
            counts: self.clone(),
            address,
            anonymous: AtomicBool::new(true),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Count>> {
        self.counts.lock().expect("address counts lock poisoned")
    }
}

impl AddressSlot {
    /// Stops counting the connection as anonymous (once).
    fn vouch(&self) {
        if self.anonymous.swap(false, Ordering::AcqRel) {
            let mut counts = self.counts.lock();
            if let Some(count) = counts.get_mut(&self.address) {
                count.anonymous -= 1;
            }
        }
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let anonymous = *self.anonymous.get_mut();
        let mut counts = self.counts.lock();
        if let Some(count) = counts.get_mut(&self.address) {
            count.all -= 1;
            if anonymous {
                count.anonymous -= 1;
            }
            if count.all == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let counts = Arc::new(AddressCounts::new(1, 1));
        let one: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let same_network: IpAddr = "2001:db8:0:1:ffff::2".parse().unwrap();
        let other_network: IpAddr = "2001:db8:0:2::1".parse().unwrap();
        let _first = counts.take(one).unwrap();
        assert!(counts.take(same_network).is_none());
        assert!(counts.take(other_network).is_some());
    }

    #[test]
    fn each_address_has_its_own_cap_and_forgets_closed_connections() {
        let counts = Arc::new(AddressCounts::new(2, 2));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let first = counts.take(one).unwrap();
        let _second = counts.take(one).unwrap();
        assert!(counts.take(one).is_none(), "the third from one address");
        assert!(
            counts.take(two).is_some(),
            "another address is not affected"
        );
        drop(first);
        let third = counts.take(one);
        assert!(third.is_some(), "a closed connection frees its place");
        drop(third);
        drop(_second);
        assert!(
            counts.lock().is_empty(),
            "no entry outlives its connections"
        );
    }

    #[test]
    fn a_logged_in_connection_leaves_its_place_to_an_anonymous_one() {
        let counts = Arc::new(AddressCounts::new(3, 1));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let first = counts.take(one).unwrap();
        assert!(counts.take(one).is_none(), "a second anonymous one");
        first.vouch();
        first.vouch();
        let second = counts.take(one).unwrap();
        second.vouch();
        let third = counts.take(one).unwrap();
        assert!(counts.take(one).is_none(), "past all connections' cap");
        drop(third);
        drop(first);
        drop(second);
        assert!(
            counts.lock().is_empty(),
            "no entry outlives its connections"
        );
    }
}
