//! Edge links: one stream per edge that carries every session of that edge.
//!
//! A client connected to an edge is a session numbered on the edge's link:
//! its operations come over the link into a small queue of its own, and its
//! events go back over the link. A fanned-out event is sent once per edge
//! with the numbers of the edge's sessions it is for, instead of once per
//! session: one HTTP/2 frame here and one decode and JSON encode at the
//! edge, however many recipients the edge serves. A session's own replies
//! take the same path, so each session still sees its events in one order.
//! A connected client costs no HTTP/2 stream on either side, which is most
//! of what an idle connection would otherwise cost.
//!
//! Flow control is per session: the edge sends at most
//! [`LINK_OPERATION_WINDOW`] operations the core has not taken, and the core
//! says which it took on its replies. The edge keeps a bounded queue per
//! WebSocket and reports a session that fills it (`slow_session`); the core
//! then closes that session. The link's own queue here is bounded too: an
//! edge that cannot take its events at all loses its link, and with it its
//! sessions, rather than growing the core's memory.

use super::registry::{CloseReason, Outbox};
use messenger_proto::v1::{ClientOperation, SessionEnded};
use messenger_proto::{LINK_OPERATION_WINDOW, LinkDelivery, SharedEvent};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A session's number on its edge's link.
pub type LinkSession = u64;

/// The operations of one session on a link, in the order the client sent them.
pub type Operations = lean_queue::Receiver<Box<ClientOperation>>;

/// The core's end of one edge's link.
pub struct Link {
    id: Uuid,
    /// The name the edge gave itself, for the connection history.
    edge: Option<String>,
    deliveries: mpsc::Sender<LinkDelivery>,
    sessions: Mutex<HashMap<LinkSession, Member>>,
    closed: CancellationToken,
}

/// One session on a link.
struct Member {
    operations: lean_queue::Sender<Box<ClientOperation>>,
    /// Unset while the session is starting.
    outbox: Weak<Outbox>,
}

impl Link {
    /// A link of the edge `edge` whose deliveries go into `deliveries`.
    pub fn new(id: Uuid, edge: Option<String>, deliveries: mpsc::Sender<LinkDelivery>) -> Self {
        Link {
            id,
            edge,
            deliveries,
            sessions: Mutex::new(HashMap::new()),
            closed: CancellationToken::new(),
        }
    }

    /// The name the edge gave the link.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The name the edge gave itself.
    pub fn edge(&self) -> Option<&str> {
        self.edge.as_deref()
    }

    /// Whether the link has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Completes once the link has ended.
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }

    /// Starts `session`: its operations from now on go into the queue
    /// returned. `None` if the link has ended or the number is taken.
    pub fn add(&self, session: LinkSession) -> Option<Operations> {
        let mut sessions = self.lock();
        if self.is_closed() || sessions.contains_key(&session) {
            return None;
        }
        let (operations, queue) = lean_queue::queue(LINK_OPERATION_WINDOW as usize);
        let outbox = Weak::new();
        sessions.insert(session, Member { operations, outbox });
        Some(queue)
    }

    /// Makes `session`'s outbox reachable for the edge's signals. False if
    /// the session or the link has ended meanwhile.
    pub fn attach(&self, session: LinkSession, outbox: Weak<Outbox>) -> bool {
        let mut sessions = self.lock();
        match sessions.get_mut(&session) {
            Some(member) if !self.is_closed() => {
                member.outbox = outbox;
                true
            }
            _ => false,
        }
    }

    /// Queues an operation of `session`. One beyond the window ends the
    /// session: a well-behaved edge never sends it.
    pub fn operation(&self, session: LinkSession, operation: Box<ClientOperation>) {
        let mut sessions = self.lock();
        let Some(member) = sessions.get(&session) else {
            // The session ended while the operation was on its way.
            return;
        };
        if let Err(lean_queue::SendError::Full(_)) = member.operations.try_send(operation) {
            tracing::warn!(link = %self.id, session, "edge sent beyond the operation window");
            match member.outbox.upgrade() {
                Some(outbox) => outbox.close(CloseReason::SlowConsumer),
                None => {
                    sessions.remove(&session);
                }
            }
        }
    }

    /// Forgets `session`: it has ended, or the edge says its client hung
    /// up. Its queue ends once the operations already in it are done.
    pub fn detach(&self, session: LinkSession) {
        self.lock().remove(&session);
    }

    /// Queues `event` for one session, waiting for room: a session's own
    /// replies, with the operations it took since it last said. False if
    /// the link has ended.
    pub async fn reply(&self, session: LinkSession, event: SharedEvent, taken: u32) -> bool {
        let delivery = LinkDelivery {
            sessions: vec![session],
            event: Some(event),
            operations_taken: taken,
            ended: None,
        };
        self.deliveries.send(delivery).await.is_ok()
    }

    /// Tells the edge that `session` took `taken` more operations.
    pub async fn report_taken(&self, session: LinkSession, taken: u32) {
        let delivery = LinkDelivery {
            sessions: vec![session],
            operations_taken: taken,
            ..LinkDelivery::default()
        };
        let _ = self.deliveries.send(delivery).await;
    }

    /// Tells the edge that `session` has ended, and how.
    pub async fn end_session(&self, session: LinkSession, status: &tonic::Status) {
        let ended = SessionEnded {
            code: status.code() as i32,
            message: status.message().to_owned(),
        };
        let delivery = LinkDelivery {
            sessions: vec![session],
            ended: Some(ended),
            ..LinkDelivery::default()
        };
        let _ = self.deliveries.send(delivery).await;
    }

    /// Queues `event` for `sessions` without waiting. An edge whose queue is
    /// full is not reading at all; its link is closed.
    pub fn deliver(&self, sessions: Vec<LinkSession>, event: SharedEvent) {
        let delivery = LinkDelivery {
            sessions,
            event: Some(event),
            ..LinkDelivery::default()
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = self.deliveries.try_send(delivery) {
            tracing::warn!(link = %self.id, "edge link queue full, closing the link");
            self.close(CloseReason::LinkLost);
        }
    }

    /// The edge reports that `session`'s client does not keep up.
    pub fn slow_session(&self, session: LinkSession) {
        let outbox = self
            .lock()
            .get(&session)
            .and_then(|member| member.outbox.upgrade());
        if let Some(outbox) = outbox {
            outbox.close(CloseReason::SlowConsumer);
        }
    }

    /// Ends the link and every session on it, for `reason`.
    pub fn close(&self, reason: CloseReason) {
        let sessions = {
            let mut sessions = self.lock();
            self.closed.cancel();
            std::mem::take(&mut *sessions)
        };
        for member in sessions.into_values() {
            if let Some(outbox) = member.outbox.upgrade() {
                outbox.close(reason);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LinkSession, Member>> {
        self.sessions.lock().expect("link lock poisoned")
    }
}

/// The live links, by the names their edges gave them.
#[derive(Default)]
pub struct Links {
    links: Mutex<HashMap<Uuid, Arc<Link>>>,
}

impl Links {
    /// Makes `link` findable by its name, replacing an ended one.
    pub fn insert(&self, link: Arc<Link>) {
        let replaced = self.lock().insert(link.id(), link);
        if let Some(old) = replaced {
            old.close(CloseReason::LinkLost);
        }
    }

    /// The live link named `id`.
    pub fn get(&self, id: Uuid) -> Option<Arc<Link>> {
        self.lock()
            .get(&id)
            .filter(|link| !link.is_closed())
            .cloned()
    }

    /// Removes `link` (if it is still the one under its name).
    pub fn remove(&self, link: &Arc<Link>) {
        let mut links = self.lock();
        if links
            .get(&link.id())
            .is_some_and(|found| Arc::ptr_eq(found, link))
        {
            links.remove(&link.id());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Link>>> {
        self.links.lock().expect("links lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    fn link() -> (Arc<Link>, mpsc::Receiver<LinkDelivery>) {
        let (deliveries, received) = mpsc::channel(16);
        (
            Arc::new(Link::new(Uuid::new_v4(), None, deliveries)),
            received,
        )
    }

    #[test]
    fn operations_beyond_the_window_close_only_that_session() {
        let (link, _deliveries) = link();
        let mut flooded = link.add(1).unwrap();
        let (close, mut closed) = oneshot::channel();
        let outbox = Arc::new(Outbox::over_link(link.clone(), 1, close, None));
        assert!(link.attach(1, Arc::downgrade(&outbox)));
        let mut calm = link.add(2).unwrap();

        for _ in 0..LINK_OPERATION_WINDOW {
            link.operation(1, Box::default());
        }
        assert!(closed.try_recv().is_err(), "within the window");
        link.operation(1, Box::default());
        assert_eq!(closed.try_recv(), Ok(CloseReason::SlowConsumer));

        link.operation(2, Box::default());
        assert!(calm.try_recv().is_some());
        let queued = std::iter::from_fn(|| flooded.try_recv()).count();
        assert_eq!(queued as u32, LINK_OPERATION_WINDOW);
    }

    #[test]
    fn a_number_in_use_or_a_closed_link_starts_no_session() {
        let (link, _deliveries) = link();
        let mut operations = link.add(4).unwrap();
        assert!(link.add(4).is_none(), "number in use");
        link.close(CloseReason::Shutdown);
        assert!(link.add(5).is_none(), "link closed");
        // The session's queue ended with the link.
        assert!(futures_util::FutureExt::now_or_never(operations.recv()) == Some(None));
    }

    #[test]
    fn a_client_that_leaves_ends_its_queue_after_what_it_sent() {
        let (link, _deliveries) = link();
        let mut operations = link.add(3).unwrap();
        link.operation(3, Box::default());
        link.detach(3);
        link.operation(3, Box::default());
        assert!(operations.try_recv().is_some());
        assert!(futures_util::FutureExt::now_or_never(operations.recv()) == Some(None));
    }
}
