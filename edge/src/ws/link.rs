//! The edge's end of its delivery link to the core (`EdgeLink`).
//!
//! One link carries the events of every WebSocket on this edge. Each
//! delivery is one event with the numbers of the sessions it is for: it is
//! decoded and turned into JSON once, and the same text is queued for each
//! of those sockets. A socket whose queue is full is reported to the core,
//! which ends its session as a slow consumer (4008).
//!
//! The link is opened by the first WebSocket that needs it and again after
//! it ended (the core restarted). While the core cannot be reached, sockets
//! do without it: the core then sends their events on their own streams.

use super::queue::{self, SendError};
use super::translate;
use crate::core_client::CoreClient;
use messenger_proto::v1::{LinkSignal, link_signal::Signal};
use messenger_proto::{EDGE_LINK_METADATA, EDGE_SESSION_METADATA, LinkDelivery};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tonic::Streaming;
use uuid::Uuid;

/// How long after a failed attempt to open the link sockets go without one.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Opens the link when needed and hands out places on it.
pub struct EdgeLink {
    core: CoreClient,
    /// Frames queued for one socket before it counts as a slow consumer.
    queue: usize,
    shutdown: watch::Receiver<bool>,
    current: tokio::sync::Mutex<Current>,
}

#[derive(Default)]
struct Current {
    link: Option<Arc<Shared>>,
    failed_at: Option<Instant>,
}

/// One open link, shared by its reader task and its sockets.
struct Shared {
    id: Uuid,
    next_session: AtomicU64,
    sessions: Mutex<HashMap<u64, Place>>,
    signals: mpsc::UnboundedSender<LinkSignal>,
    alive: AtomicBool,
    /// Woken when the last socket leaves (shutdown waits for that).
    emptied: Notify,
}

/// One socket's place on the link.
struct Place {
    frames: queue::Sender<Utf8Bytes>,
    /// Reported as slow: nothing more is queued for it.
    slow: bool,
}

/// A socket's membership of the link: its number there and its frames.
/// Dropping it leaves the link.
pub struct Membership {
    shared: Arc<Shared>,
    session: u64,
    frames: queue::Receiver<Utf8Bytes>,
}

impl EdgeLink {
    /// A link to `core`, opened on first use, with `queue` frames per socket.
    pub fn new(core: CoreClient, queue: usize, shutdown: watch::Receiver<bool>) -> Self {
        EdgeLink {
            core,
            queue: queue.max(1),
            shutdown,
            current: tokio::sync::Mutex::new(Current::default()),
        }
    }

    /// A place on the live link, opening it if needed; `None` when it cannot
    /// be opened (the socket's events then come on its own stream).
    pub async fn join(&self) -> Option<Membership> {
        let shared = self.live().await?;
        let session = shared.next_session.fetch_add(1, Ordering::Relaxed);
        let (frames, receiver) = queue::queue(self.queue);
        let place = Place {
            frames,
            slow: false,
        };
        shared.lock().insert(session, place);
        Some(Membership {
            shared,
            session,
            frames: receiver,
        })
    }

    async fn live(&self) -> Option<Arc<Shared>> {
        let mut current = self.current.lock().await;
        if let Some(link) = current.link.as_ref().filter(|link| link.is_alive()) {
            return Some(link.clone());
        }
        if current
            .failed_at
            .is_some_and(|failed| failed.elapsed() < RETRY_AFTER)
        {
            return None;
        }
        match self.open().await {
            Ok(link) => {
                current.link = Some(link.clone());
                current.failed_at = None;
                Some(link)
            }
            Err(status) => {
                tracing::debug!(%status, "could not open the edge link");
                current.failed_at = Some(Instant::now());
                None
            }
        }
    }

    async fn open(&self) -> Result<Arc<Shared>, tonic::Status> {
        let id = Uuid::new_v4();
        let (signals, outgoing) = mpsc::unbounded_channel();
        let mut request = tonic::Request::new(UnboundedReceiverStream::new(outgoing));
        let name = id.to_string().parse().expect("a UUID is valid metadata");
        request.metadata_mut().insert(EDGE_LINK_METADATA, name);
        let deliveries = self.core.clone().edge_link(request).await?.into_inner();
        let shared = Arc::new(Shared::new(id, signals));
        tracing::info!(link = %id, "edge link opened");
        tokio::spawn(read(shared.clone(), deliveries, self.shutdown.clone()));
        Ok(shared)
    }
}

/// Hands the link's deliveries to the sockets until the core ends the link,
/// or the edge is shutting down and its last socket has left.
async fn read(
    shared: Arc<Shared>,
    mut deliveries: Streaming<LinkDelivery>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let next = tokio::select! {
            next = deliveries.message() => next,
            () = shared.drained(&mut shutdown) => break,
        };
        match next {
            Ok(Some(delivery)) => shared.dispatch(delivery),
            Ok(None) => break,
            Err(status) => {
                tracing::info!(%status, "edge link ended");
                break;
            }
        }
    }
    shared.end();
}

impl Shared {
    fn new(id: Uuid, signals: mpsc::UnboundedSender<LinkSignal>) -> Self {
        Shared {
            id,
            next_session: AtomicU64::new(0),
            sessions: Mutex::new(HashMap::new()),
            signals,
            alive: AtomicBool::new(true),
            emptied: Notify::new(),
        }
    }

    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Queues the delivery's event, as JSON made once, for its sockets.
    fn dispatch(&self, delivery: LinkDelivery) {
        let Some(text) = delivery.event.and_then(event_text) else {
            return;
        };
        let mut sessions = self.lock();
        for number in delivery.sessions {
            let Some(place) = sessions.get_mut(&number).filter(|place| !place.slow) else {
                continue;
            };
            if let Err(SendError::Full(_)) = place.frames.try_send(text.clone()) {
                place.slow = true;
                let signal = LinkSignal {
                    signal: Some(Signal::SlowSession(number)),
                };
                let _ = self.signals.send(signal);
            }
        }
    }

    /// Marks the link ended; its sockets see their frames end.
    fn end(&self) {
        self.alive.store(false, Ordering::Release);
        self.lock().clear();
        tracing::info!(link = %self.id, "edge link closed");
    }

    /// Completes once the edge is shutting down and no socket is left.
    async fn drained(&self, shutdown: &mut watch::Receiver<bool>) {
        let _ = shutdown.wait_for(|stopping| *stopping).await;
        loop {
            let emptied = self.emptied.notified();
            if self.lock().is_empty() {
                return;
            }
            emptied.await;
        }
    }

    fn leave(&self, session: u64) {
        let mut sessions = self.lock();
        sessions.remove(&session);
        if sessions.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Place>> {
        self.sessions.lock().expect("edge link lock poisoned")
    }
}

/// The JSON frame for an event from the link, if it makes one.
fn event_text(event: messenger_proto::SharedEvent) -> Option<Utf8Bytes> {
    match event.into_event() {
        Ok(event) => translate::event_json(&event).map(Utf8Bytes::from),
        Err(error) => {
            tracing::error!(%error, "undecodable event on the edge link");
            None
        }
    }
}

impl Membership {
    /// Names the link and this socket's number on it in a session request.
    pub fn tag<T>(&self, request: &mut tonic::Request<T>) {
        let metadata = request.metadata_mut();
        let link = self.shared.id.to_string().parse();
        let session = self.session.to_string().parse();
        if let (Ok(link), Ok(session)) = (link, session) {
            metadata.insert(EDGE_LINK_METADATA, link);
            metadata.insert(EDGE_SESSION_METADATA, session);
        }
    }

    /// Reports this socket to the core as a slow consumer (its client did
    /// not take a frame within the write timeout).
    pub fn report_slow(&self) {
        if let Some(place) = self.shared.lock().get_mut(&self.session) {
            place.slow = true;
        }
        let signal = LinkSignal {
            signal: Some(Signal::SlowSession(self.session)),
        };
        let _ = self.shared.signals.send(signal);
    }

    /// The next frame for this socket; `None` once the link has ended.
    pub async fn next(&mut self) -> Option<Utf8Bytes> {
        self.frames.recv().await
    }

    /// A frame already queued for this socket, without waiting.
    pub fn try_next(&mut self) -> Option<Utf8Bytes> {
        self.frames.try_recv()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.shared.leave(self.session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use messenger_proto::SharedEvent;
    use messenger_proto::v1::server_event::Event;
    use messenger_proto::v1::{Message, ServerEvent};

    fn shared() -> (Arc<Shared>, mpsc::UnboundedReceiver<LinkSignal>) {
        let (signals, received) = mpsc::unbounded_channel();
        (Arc::new(Shared::new(Uuid::new_v4(), signals)), received)
    }

    fn place(shared: &Shared, number: u64, capacity: usize) -> queue::Receiver<Utf8Bytes> {
        let (frames, receiver) = queue::queue(capacity);
        let place = Place {
            frames,
            slow: false,
        };
        shared.lock().insert(number, place);
        receiver
    }

    fn delivery(sessions: Vec<u64>, text: &str) -> LinkDelivery {
        let event = ServerEvent {
            event: Some(Event::Message(Message {
                text: text.into(),
                ..Default::default()
            })),
        };
        LinkDelivery {
            sessions,
            event: Some(SharedEvent::encode_once(&event)),
        }
    }

    #[test]
    fn one_event_becomes_the_same_frame_for_each_of_its_sockets() {
        let (shared, _signals) = shared();
        let mut first = place(&shared, 1, 4);
        let mut second = place(&shared, 2, 4);
        let mut other = place(&shared, 3, 4);
        shared.dispatch(delivery(vec![1, 2, 99], "hi"));
        let (a, b) = (first.try_recv().unwrap(), second.try_recv().unwrap());
        assert!(a.as_str().contains(r#""text":"hi""#), "{a}");
        // The same bytes, not a copy per socket.
        assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr());
        assert!(other.try_recv().is_none());
    }

    #[test]
    fn a_full_socket_is_reported_once_and_skipped_after() {
        let (shared, mut signals) = shared();
        let _slow = place(&shared, 1, 1);
        let mut fast = place(&shared, 2, 8);
        for n in 0..3 {
            shared.dispatch(delivery(vec![1, 2], &n.to_string()));
        }
        let signal = signals.try_recv().unwrap();
        assert_eq!(signal.signal, Some(Signal::SlowSession(1)));
        assert!(signals.try_recv().is_err(), "reported once");
        for _ in 0..3 {
            assert!(fast.try_recv().is_some());
        }
    }

    #[test]
    fn the_end_of_the_link_ends_every_sockets_frames() {
        let (shared, _signals) = shared();
        let mut frames = place(&shared, 1, 4);
        shared.dispatch(delivery(vec![1], "last"));
        shared.end();
        assert!(!shared.is_alive());
        assert!(frames.try_recv().is_some(), "queued frames are still read");
        let ended = futures_util::FutureExt::now_or_never(frames.recv());
        assert_eq!(ended, Some(None));
    }
}
