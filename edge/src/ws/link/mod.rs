//! The edge's end of its link to the core (`EdgeLink`).
//!
//! One link carries every WebSocket on this edge as a numbered session:
//! the socket's operations go up it, and the core's events come down it.
//! Each delivery is one event with the numbers of the sessions it is for:
//! it is decoded and turned into JSON once, and the same text is queued for
//! each of those sockets. A socket whose queue is full is reported to the
//! core, which ends its session as a slow consumer (4008).
//!
//! A catch-up (the answer to `sync`) comes paced: the edge names a credit
//! window of a quarter of a socket's queue, the core sends no more of a
//! session's `paced` frames than that ahead of what its socket took, and
//! the socket returns credit as it writes them. However long the backlog,
//! a client that reads slowly gets it at its own speed, with room left in
//! its queue for live events, instead of ending as a slow consumer.
//!
//! A socket has at most [`messenger_proto::LINK_OPERATION_WINDOW`] operations the core has
//! not taken; beyond that it stops reading its client until the core says
//! it took some, so a client that sends faster than the core applies its
//! operations waits in its own TCP window, not in memory here or there.
//!
//! The link is opened by the first WebSocket that needs it and again after
//! it ended (the core restarted). With several cores ([`Links`]), the edge
//! has a link to each and a new WebSocket joins the next in turn, skipping
//! a core that just failed; while no core can be reached, no WebSocket is
//! opened.
//!
//! Here: the links to every core and opening them; `open`'s, one open
//! link's reader and the sockets' entries on it; `session`'s, a socket's
//! session on a link.

mod open;
mod session;

use crate::auth::Caller;
use crate::core_client::{Cores, RETRY};
use messenger_proto::v1::link_signal::Signal;
use messenger_proto::v1::{OpenSession, SessionMove};
use messenger_proto::{
    EDGE_CREDIT_METADATA, EDGE_ID_METADATA, EDGE_LINK_METADATA, MAX_CREDIT_WINDOW,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::UnboundedReceiverStream;
use uuid::Uuid;

use open::{LinkEnd, OpenLink, SocketEntry, read};
pub use session::{LinkSession, Next};

/// The links to every core.
pub struct Links {
    cores: Arc<Cores>,
    links: Vec<EdgeLink>,
}

impl Links {
    /// A link to each of `cores` for the edge `name` (see [`EdgeLink::new`]).
    pub fn new(
        cores: Arc<Cores>,
        name: Arc<str>,
        queue: usize,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let links = (0..cores.count())
            .map(|index| EdgeLink::new(cores.clone(), index, name.clone(), queue, shutdown.clone()))
            .collect();
        Links { cores, links }
    }

    /// Every [`RETRY`], until shutdown, tries to open the link of each core
    /// that is down, so that it is used again once it is back.
    pub fn watch_down_cores(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let links = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(RETRY);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = shutdown.wait_for(|stopping| *stopping) => return,
                }
                for (index, link) in links.links.iter().enumerate() {
                    if links.cores.is_down(index) {
                        link.live().await;
                    }
                }
            }
        });
    }

    /// Opens a session for `caller` on the next core in turn that takes
    /// it; `None` when none can be reached.
    pub async fn join(&self, caller: &Caller, moving: Option<SessionMove>) -> Option<LinkSession> {
        for index in self.cores.order() {
            if let Some(session) = self.links[index].join(caller, moving.clone()).await {
                return Some(session);
            }
        }
        None
    }
}

/// Opens the link to one core when needed and opens sessions on it.
pub struct EdgeLink {
    cores: Arc<Cores>,
    /// This link's core among `cores`.
    index: usize,
    /// This edge's name, recorded in the connection history.
    name: Arc<str>,
    /// Frames queued for one socket before it counts as a slow consumer.
    queue: usize,
    shutdown: watch::Receiver<bool>,
    current: tokio::sync::Mutex<Current>,
}

#[derive(Default)]
struct Current {
    link: Option<Arc<OpenLink>>,
}

impl EdgeLink {
    /// A link to core `index` of `cores` for the edge `name`, opened on
    /// first use, with `queue` frames per socket.
    pub fn new(
        cores: Arc<Cores>,
        index: usize,
        name: Arc<str>,
        queue: usize,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        EdgeLink {
            cores,
            index,
            name,
            queue: queue.max(1),
            shutdown,
            current: tokio::sync::Mutex::new(Current::default()),
        }
    }

    /// Opens a session for `caller` on the live link, opening the link if
    /// needed; `None` when it cannot be opened.
    pub async fn join(&self, caller: &Caller, moving: Option<SessionMove>) -> Option<LinkSession> {
        let link = self.live().await?;
        let session = link.next_session.fetch_add(1, Ordering::Relaxed);
        let (queue, receiver) = lean_queue::queue(self.queue);
        let entry = SocketEntry { queue, slow: false };
        link.lock().insert(session, entry);
        let opening = OpenSession {
            moving,
            ..caller.open_session(session)
        };
        link.signal(Signal::OpenSession(opening));
        Some(LinkSession {
            link,
            session,
            queue: receiver,
            in_flight: 0,
            ended: None,
            resumable: None,
            paced_taken: 0,
        })
    }

    async fn live(&self) -> Option<Arc<OpenLink>> {
        let mut current = self.current.lock().await;
        if let Some(link) = current.link.as_ref().filter(|link| link.is_alive()) {
            return Some(link.clone());
        }
        // Tried again for every socket while the core is away: the channel
        // fails fast then, and the first socket after its return succeeds.
        match self.open().await {
            Ok(link) => {
                self.cores.worked(self.index);
                current.link = Some(link.clone());
                Some(link)
            }
            Err(status) => {
                tracing::warn!(%status, core = self.index, "could not open the edge link");
                self.cores.failed(self.index);
                None
            }
        }
    }

    async fn open(&self) -> Result<Arc<OpenLink>, tonic::Status> {
        let id = Uuid::new_v4();
        let (signals, outgoing) = mpsc::unbounded_channel();
        let mut request = tonic::Request::new(UnboundedReceiverStream::new(outgoing));
        let metadata = request.metadata_mut();
        let name = id.to_string().parse().expect("a UUID is valid metadata");
        metadata.insert(EDGE_LINK_METADATA, name);
        let window = credit_window(self.queue);
        metadata.insert(EDGE_CREDIT_METADATA, window.into());
        if let Ok(edge) = self.name.parse() {
            metadata.insert(EDGE_ID_METADATA, edge);
        }
        let client = self.cores.client(self.index);
        let deliveries = client.clone().edge_link(request).await?.into_inner();
        let link = Arc::new(OpenLink::new(id, signals, window));
        tracing::info!(core = self.index, "edge link opened");
        tracing::debug!(link = %id, "edge link opened");
        let reading = read(link.clone(), deliveries, self.shutdown.clone());
        let (cores, index) = (self.cores.clone(), self.index);
        tokio::spawn(async move {
            if reading.await == LinkEnd::CoreGone {
                cores.failed(index);
            }
        });
        Ok(link)
    }
}

/// The frames of a catch-up the core may send a socket ahead of what it
/// took: a quarter of its queue (see the module's notes), at most what the
/// core accepts.
fn credit_window(queue: usize) -> u32 {
    u32::try_from(queue / 4)
        .unwrap_or(u32::MAX)
        .clamp(1, MAX_CREDIT_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use messenger_proto::SharedEvent;
    use messenger_proto::v1::server_event::Event;
    use messenger_proto::v1::{
        ClientOperation, EndReason, LinkSignal, Message, ServerEvent, SessionEnded,
    };
    use messenger_proto::{LINK_OPERATION_WINDOW, LinkDelivery};
    use tokio_tungstenite::tungstenite::Utf8Bytes;

    fn link() -> (Arc<OpenLink>, mpsc::UnboundedReceiver<LinkSignal>) {
        let (signals, received) = mpsc::unbounded_channel();
        (
            Arc::new(OpenLink::new(Uuid::new_v4(), signals, 8)),
            received,
        )
    }

    /// A socket on `link` as `number`, with room for `capacity` frames.
    fn member(link: &Arc<OpenLink>, number: u64, capacity: usize) -> LinkSession {
        let (queue, receiver) = lean_queue::queue(capacity);
        let entry = SocketEntry { queue, slow: false };
        link.lock().insert(number, entry);
        LinkSession {
            link: link.clone(),
            session: number,
            queue: receiver,
            in_flight: 0,
            ended: None,
            resumable: None,
            paced_taken: 0,
        }
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
            ..Default::default()
        }
    }

    fn frame(member: &mut LinkSession) -> Option<Utf8Bytes> {
        match member.next().now_or_never()? {
            Next::Frame(text, _) => Some(text),
            _ => None,
        }
    }

    #[test]
    fn an_event_the_edge_cannot_read_ends_its_sessions_not_the_link() {
        let (link, mut signals) = link();
        let mut hit = member(&link, 1, 4);
        let mut spared = member(&link, 2, 4);
        // Bytes that are no ServerEvent (a field with wire type 7).
        let unreadable = LinkDelivery {
            sessions: vec![1],
            event: Some(SharedEvent::Encoded(vec![0x0f, 0x01].into())),
            ..Default::default()
        };
        link.dispatch(unreadable);
        let Some(Next::Ended(ended)) = hit.next().now_or_never() else {
            panic!("expected the session's end");
        };
        assert_eq!(ended.reason(), EndReason::Error);
        match signals.try_recv().unwrap().signal {
            Some(Signal::EndSession(end)) => assert_eq!(end.session, 1),
            other => panic!("expected the core to be told, got {other:?}"),
        }
        assert!(link.is_alive());
        link.dispatch(delivery(vec![2], "still here"));
        assert!(frame(&mut spared).is_some());
    }

    #[test]
    fn one_event_becomes_the_same_frame_for_each_of_its_sockets() {
        let (link, _signals) = link();
        let mut first = member(&link, 1, 4);
        let mut second = member(&link, 2, 4);
        let mut other = member(&link, 3, 4);
        link.dispatch(delivery(vec![1, 2, 99], "hi"));
        let (a, b) = (frame(&mut first).unwrap(), frame(&mut second).unwrap());
        assert!(a.as_str().contains(r#""text":"hi""#), "{a}");
        // The same bytes, not a copy per socket.
        assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr());
        assert!(frame(&mut other).is_none());
    }

    #[test]
    fn a_full_socket_is_reported_once_and_skipped_after() {
        let (link, mut signals) = link();
        let _slow = member(&link, 1, 1);
        let mut fast = member(&link, 2, 8);
        for n in 0..3 {
            link.dispatch(delivery(vec![1, 2], &n.to_string()));
        }
        let signal = signals.try_recv().unwrap();
        assert_eq!(signal.signal, Some(Signal::SlowSession(1)));
        assert!(signals.try_recv().is_err(), "reported once");
        for _ in 0..3 {
            assert!(frame(&mut fast).is_some());
        }
    }

    #[test]
    fn the_end_of_the_link_ends_every_sockets_items() {
        let (link, _signals) = link();
        let mut socket = member(&link, 1, 4);
        link.dispatch(delivery(vec![1], "last"));
        link.end();
        assert!(!link.is_alive());
        assert!(frame(&mut socket).is_some(), "queued frames are still read");
        let ended = socket.next().now_or_never();
        assert!(matches!(ended, Some(Next::LinkEnded)));
    }

    #[test]
    fn a_socket_sends_up_to_the_window_and_more_once_the_core_took_some() {
        let (link, mut signals) = link();
        let mut socket = member(&link, 5, 4);
        for _ in 0..LINK_OPERATION_WINDOW {
            assert!(socket.has_room());
            socket.send(ClientOperation::default());
        }
        assert!(!socket.has_room(), "the window is full");
        let sent = std::iter::from_fn(|| signals.try_recv().ok()).count();
        assert_eq!(sent as u32, LINK_OPERATION_WINDOW);

        // A reply that says two were taken opens the window by two, even
        // behind a queue the socket has not read (the count goes in beyond
        // the capacity).
        for n in 0..4 {
            link.dispatch(delivery(vec![5], &n.to_string()));
        }
        let mut reply = delivery(vec![5], "reply");
        reply.operations_taken = 2;
        link.dispatch(reply);
        while socket.try_next_frame().is_some() {}
        assert_eq!(socket.in_flight, LINK_OPERATION_WINDOW - 2);
        assert!(socket.has_room());
    }

    #[test]
    fn a_session_ended_by_the_core_reads_its_frames_then_its_end() {
        let (link, _signals) = link();
        let mut socket = member(&link, 3, 4);
        link.dispatch(delivery(vec![3], "before"));
        let ended = LinkDelivery {
            sessions: vec![3],
            ended: Some(SessionEnded {
                reason: messenger_proto::v1::EndReason::SlowConsumer.into(),
                message: "slow".into(),
            }),
            ..Default::default()
        };
        link.dispatch(ended);
        assert!(link.lock().is_empty(), "the entry is freed at once");
        assert!(socket.try_next_frame().is_some());
        assert!(socket.try_next_frame().is_none());
        match socket.next().now_or_never() {
            Some(Next::Ended(ended)) => assert_eq!(ended.message, "slow"),
            _ => panic!("expected the end"),
        }
    }

    /// Credit returned to the core by a socket, in the order given.
    fn credits(signals: &mut mpsc::UnboundedReceiver<LinkSignal>) -> Vec<u32> {
        std::iter::from_fn(|| signals.try_recv().ok())
            .filter_map(|signal| match signal.signal {
                Some(Signal::Credit(credit)) => Some(credit.frames),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_socket_returns_the_credit_of_paced_frames_it_took() {
        // A window of 8: batches of 2.
        let (link, mut signals) = link();
        let mut socket = member(&link, 4, 16);
        for n in 0..5 {
            let mut paced = delivery(vec![4], &n.to_string());
            paced.paced = true;
            link.dispatch(paced);
        }
        link.dispatch(delivery(vec![4], "live"));
        assert!(credits(&mut signals).is_empty(), "nothing taken yet");
        for _ in 0..3 {
            assert!(socket.try_next_frame().is_some());
        }
        assert_eq!(credits(&mut signals), [2], "a full batch goes at once");
        while socket.try_next_frame().is_some() {}
        assert_eq!(credits(&mut signals), [2], "live frames earn no credit");
        assert!(socket.next().now_or_never().is_none());
        assert_eq!(credits(&mut signals), [1], "the rest goes when it waits");
    }

    #[test]
    fn a_paced_event_that_makes_no_frame_returns_its_credit_at_once() {
        let (link, mut signals) = link();
        let mut socket = member(&link, 4, 16);
        let empty = LinkDelivery {
            sessions: vec![4],
            event: Some(SharedEvent::encode_once(&ServerEvent { event: None })),
            paced: true,
            ..Default::default()
        };
        link.dispatch(empty);
        assert!(socket.try_next_frame().is_none());
        assert_eq!(credits(&mut signals), [1]);
    }

    #[test]
    fn the_credit_window_is_a_quarter_of_a_socket_queue() {
        assert_eq!(credit_window(1024), 256);
        assert_eq!(credit_window(2), 1);
        assert_eq!(credit_window(1 << 40), MAX_CREDIT_WINDOW);
    }

    #[test]
    fn a_socket_that_leaves_closes_its_session_once() {
        let (link, mut signals) = link();
        let socket = member(&link, 8, 4);
        drop(socket);
        let signal = signals.try_recv().unwrap();
        assert_eq!(signal.signal, Some(Signal::CloseSession(8)));
        assert!(signals.try_recv().is_err());
    }
}
