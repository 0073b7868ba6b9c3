//! The other cores of a cluster, over NATS (`NATS_URL`).
//!
//! Every core publishes what happened on it (a stored message, a message
//! seen by all, a new group, a revoked login) once, on one subject, and
//! every other core applies it to its own sessions and caches (see
//! [`crate::events`]). Plain NATS rather than a JetStream stream: the
//! database is the log, and a core that misses events finds the gap in a
//! chat's `seq` numbers (or in its last seq, checked every second) and
//! reads what it missed from there, so a second durable copy of every
//! message would cost a disk write for nothing.
//!
//! Only cores may speak on the bus: NATS lets in only who presents the
//! cluster's credentials ([`access`], `deploy/nats.conf`), and every event
//! carries a seal made with the cluster's secret, without which it is
//! dropped ([`seal`]). Even so the events are hints: what they say about
//! members or messages is checked against the database.
//!
//! Publishing never waits for NATS: events queue for a task that sends
//! them, and when that queue is full (NATS unreachable for long) they are
//! dropped, which the other cores recover from as from any lost event.

pub mod access;
pub mod seal;
pub mod wire;

use crate::ids::CoreId;
use access::NatsAccess;
use futures_util::StreamExt;
use seal::{ClusterSecret, Seal};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;
use wire::Envelope;
pub use wire::Event;

/// The subject events are published on unless configured otherwise.
pub const DEFAULT_SUBJECT: &str = "messenger.events";
/// Events waiting to be handed to NATS.
const OUTGOING: usize = 64 * 1024;

/// This core's connection to the bus.
pub struct Bus {
    client: async_nats::Client,
    /// Where events are published.
    subject: String,
    /// Names this core in what it publishes, so it skips its own events.
    core: Uuid,
    outgoing: mpsc::Sender<Vec<u8>>,
    /// Counts the connections to NATS: a new one after a loss means events
    /// may have been missed.
    connections: watch::Receiver<u64>,
    dropped: AtomicU64,
    seal: Seal,
}

/// The other cores' events, as they come.
pub struct Incoming {
    subscriber: async_nats::Subscriber,
    core: Uuid,
    seal: Seal,
    rejected: u64,
}

/// Where the bus is and how a core gets in.
#[derive(Debug, Clone)]
pub struct BusSettings {
    pub url: String,
    /// The subject events are published on.
    pub subject: String,
    pub access: NatsAccess,
    /// Seals every event (see [`seal`]).
    pub secret: ClusterSecret,
}

/// Why the bus could not be joined.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot read a NATS credential file: {0}")]
    Credentials(#[from] std::io::Error),
    #[error(transparent)]
    Connect(#[from] async_nats::ConnectError),
}

impl Bus {
    /// Connects to the NATS server of `settings`, to exchange events as
    /// `core`.
    pub async fn connect(settings: &BusSettings, core: CoreId) -> Result<Bus, BusError> {
        let (count, connections) = watch::channel(0);
        let count = Arc::new(count);
        let client = settings
            .access
            .options()
            .await?
            .event_callback(move |event| {
                let count = count.clone();
                async move { observe(&count, event) }
            })
            .connect(&settings.url)
            .await?;
        let (outgoing, queue) = mpsc::channel(OUTGOING);
        tokio::spawn(send(client.clone(), settings.subject.clone(), queue));
        Ok(Bus {
            client,
            subject: settings.subject.clone(),
            core: core.0,
            outgoing,
            connections,
            dropped: AtomicU64::new(0),
            seal: Seal::new(&settings.secret, &settings.subject),
        })
    }

    /// Tells the other cores about `event`, without waiting.
    pub fn publish(&self, event: &Event) {
        let payload = self.seal.seal(Envelope::encode(self.core, event));
        if self.outgoing.try_send(payload).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "the bus is not taking events; dropping them");
            }
        }
    }

    /// Subscribes to the other cores' events. The subscription is in place
    /// when this returns.
    pub async fn subscribe(&self) -> Result<Incoming, async_nats::Error> {
        let subscriber = self.client.subscribe(self.subject.clone()).await?;
        // The server has the subscription once a round trip followed it.
        self.client.flush().await?;
        Ok(Incoming {
            subscriber,
            core: self.core,
            seal: self.seal.clone(),
            rejected: 0,
        })
    }

    /// Changes with every new connection to NATS.
    pub fn connections(&self) -> watch::Receiver<u64> {
        self.connections.clone()
    }

    /// Whether the connection to NATS is up now.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

impl Incoming {
    /// The next event of another core; `None` once the subscription ends.
    pub async fn next(&mut self) -> Option<Event> {
        while let Some(message) = self.subscriber.next().await {
            let envelope = match self.seal.open(&message.payload) {
                Ok(envelope) => envelope,
                Err(reason) => {
                    self.reject(reason);
                    continue;
                }
            };
            match Envelope::decode_event(envelope) {
                Ok((core, _)) if core == self.core => {}
                Ok((_, event)) => return Some(event),
                Err(error) => tracing::warn!(%error, "undecodable event on the bus"),
            }
        }
        None
    }

    /// Counts an event without this cluster's seal; logs the first and
    /// then every power of two, so a flood cannot flood the log too.
    fn reject(&mut self, reason: seal::Unsealed) {
        crate::telemetry::bus_event("rejected");
        self.rejected += 1;
        if self.rejected.is_power_of_two() {
            tracing::warn!(%reason, rejected = self.rejected, "dropped an event without the cluster's seal");
        }
    }
}

/// Hands queued events to NATS, in order, until the bus is dropped.
async fn send(client: async_nats::Client, subject: String, mut queue: mpsc::Receiver<Vec<u8>>) {
    while let Some(payload) = queue.recv().await {
        if let Err(error) = client.publish(subject.clone(), payload.into()).await {
            tracing::error!(%error, "cannot publish an event");
        }
    }
}

fn observe(count: &watch::Sender<u64>, event: async_nats::Event) {
    match event {
        async_nats::Event::Connected => {
            count.send_modify(|count| *count += 1);
            tracing::info!("connected to NATS");
        }
        async_nats::Event::Disconnected => tracing::warn!("lost the connection to NATS"),
        async_nats::Event::SlowConsumer(_) => {
            tracing::warn!("NATS dropped events this core did not read in time");
        }
        other => tracing::debug!(event = %other, "NATS"),
    }
}
