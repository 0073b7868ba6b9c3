//! Edge links: one stream per edge that carries the events of all of that
//! edge's sessions.
//!
//! A fanned-out event is sent once per edge with the numbers of the edge's
//! sessions it is for, instead of once per session stream: one HTTP/2 frame
//! here and one decode and JSON encode at the edge, however many recipients
//! the edge serves. A session's own replies take the same path, so each
//! session still sees its events in one order.
//!
//! The edge keeps a bounded queue per WebSocket and reports a session that
//! fills it (`slow_session`); the core then closes that session. The link's
//! own queue here is bounded too: an edge that cannot take its events at
//! all loses its link, and with it its sessions, rather than growing the
//! core's memory.

use super::registry::{CloseReason, Outbox};
use messenger_proto::{LinkDelivery, SharedEvent};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A session's number on its edge's link.
pub type LinkSession = u64;

/// The core's end of one edge's link.
pub struct Link {
    id: Uuid,
    deliveries: mpsc::Sender<LinkDelivery>,
    sessions: Mutex<HashMap<LinkSession, Weak<Outbox>>>,
    closed: CancellationToken,
}

impl Link {
    /// A link whose deliveries go into `deliveries`.
    pub fn new(id: Uuid, deliveries: mpsc::Sender<LinkDelivery>) -> Self {
        Link {
            id,
            deliveries,
            sessions: Mutex::new(HashMap::new()),
            closed: CancellationToken::new(),
        }
    }

    /// The name the edge gave the link.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Whether the link has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Completes once the link has ended.
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }

    /// Routes `session`'s events over this link. False if the link has
    /// ended (the session must then use its own stream).
    pub fn attach(&self, session: LinkSession, outbox: Weak<Outbox>) -> bool {
        let mut sessions = self.lock();
        if self.is_closed() {
            return false;
        }
        sessions.insert(session, outbox);
        true
    }

    /// Forgets `session` (it has ended).
    pub fn detach(&self, session: LinkSession) {
        self.lock().remove(&session);
    }

    /// Queues `event` for one session, waiting for room: a session's own
    /// replies. False if the link has ended.
    pub async fn reply(&self, session: LinkSession, event: SharedEvent) -> bool {
        let delivery = LinkDelivery {
            sessions: vec![session],
            event: Some(event),
        };
        self.deliveries.send(delivery).await.is_ok()
    }

    /// Queues `event` for `sessions` without waiting. An edge whose queue is
    /// full is not reading at all; its link is closed.
    pub fn deliver(&self, sessions: Vec<LinkSession>, event: SharedEvent) {
        let delivery = LinkDelivery {
            sessions,
            event: Some(event),
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = self.deliveries.try_send(delivery) {
            tracing::warn!(link = %self.id, "edge link queue full, closing the link");
            self.close(CloseReason::LinkLost);
        }
    }

    /// The edge reports that `session`'s client does not keep up.
    pub fn slow_session(&self, session: LinkSession) {
        let outbox = self.lock().get(&session).and_then(Weak::upgrade);
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
        for outbox in sessions.values().filter_map(Weak::upgrade) {
            outbox.close(reason);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LinkSession, Weak<Outbox>>> {
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
