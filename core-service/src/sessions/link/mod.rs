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
//! event that finds it full (the edge falls behind, as under a burst) is
//! dropped for the sessions it was for, and those sessions alone end as
//! slow consumers, getting nothing after it, so that none of their clients
//! sees a later event without it; they reconnect and catch up. Moving the
//! whole link's sessions would only add their catch-ups to the burst. An
//! edge that has fallen so far behind that most of its sessions are cut
//! is not reading at all: it loses its link, rather than growing the
//! core's memory.
//!
//! Replies wait for room instead, but may hold only a quarter of the
//! link's queue ([`REPLY_SHARE`]): a burst of catch-ups (every client of a
//! restarted edge syncing at once) cannot fill it and starve the live
//! events, whose sessions would end and ask for the same catch-up again.
//! A catch-up is paced by its client, too, when the edge grants credit:
//! at most the edge's window of a session's `paced` replies are ahead of
//! what its socket took, so a client reading slowly gets its backlog as
//! fast as it reads it, rather than overflowing its queue on the edge.

mod members;

use super::close::CloseSwitch;
use crate::ids::LinkId;
pub use members::SessionNumber;
use members::{Member, Members};
use messenger_proto::v1::EndReason;
use messenger_proto::v1::{ClientOperation, SessionEnded};
use messenger_proto::{LINK_OPERATION_WINDOW, LinkDelivery, SharedEvent};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// The largest event sent over a link. An edge takes up to twice as much
/// (`edge::core_client`), so no one event can end a link and every session
/// on it; an event above this (which per-user limits on chats and members
/// keep from happening) ends only the sessions it was for.
pub const MAX_DELIVERY_BYTES: usize = 8 * 1024 * 1024;

/// The share of a link's queue that replies may hold (one in this many).
const REPLY_SHARE: usize = 4;

/// A delivery in a link's queue; a reply holds its place in the replies'
/// share until the link's stream takes it.
pub struct Queued {
    pub delivery: LinkDelivery,
    _reply: Option<OwnedSemaphorePermit>,
}

impl Queued {
    fn new(delivery: LinkDelivery) -> Self {
        Queued {
            delivery,
            _reply: None,
        }
    }
}

/// The operations of one session on a link, in the order the client sent them.
pub type OperationQueue = lean_queue::Receiver<Box<ClientOperation>>;

/// The core's end of one edge's link.
pub struct Link {
    id: LinkId,
    /// The name the edge gave itself, for the connection history.
    edge: Option<String>,
    deliveries: mpsc::Sender<Queued>,
    /// Places for replies in `deliveries` ([`REPLY_SHARE`]).
    reply_room: Arc<Semaphore>,
    /// Frames of a session's catch-up the edge takes ahead of its socket;
    /// `None`: the edge grants no credit, catch-ups are not paced.
    credit_window: Option<u32>,
    caps: SessionCaps,
    sessions: Mutex<Members>,
    closed: CancellationToken,
}

/// How many sessions one link may hold: a bound on what one edge (or
/// whoever holds its secret) can make the core keep.
#[derive(Debug, Clone, Copy)]
pub struct SessionCaps {
    pub sessions: usize,
    /// Sessions not logged in yet.
    pub anonymous: usize,
}

/// Why a link did not start a session.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The link has ended.
    Closed,
    /// The edge used the number for another session.
    NumberInUse,
    /// The link holds as many sessions (or anonymous ones) as it may.
    Full,
}

impl Link {
    /// A link of the edge `edge` whose deliveries go into `deliveries`,
    /// pacing catch-ups if the edge grants credit (`credit_window`).
    pub fn new(
        id: LinkId,
        edge: Option<String>,
        deliveries: mpsc::Sender<Queued>,
        caps: SessionCaps,
        credit_window: Option<u32>,
    ) -> Self {
        let replies = (deliveries.max_capacity() / REPLY_SHARE).max(1);
        Link {
            id,
            edge,
            deliveries,
            reply_room: Arc::new(Semaphore::new(replies)),
            credit_window,
            caps,
            sessions: Mutex::new(Members::default()),
            closed: CancellationToken::new(),
        }
    }

    /// The name the edge gave the link.
    pub fn id(&self) -> LinkId {
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
    /// returned, and `switch` ends it when it goes past its window, when the
    /// edge says its client is slow, or when the link ends. Holding the
    /// switch from the start means a session flooded while it is still
    /// starting is closed, not silently forgotten. An `anonymous` session
    /// (no credential yet) counts against the smaller cap until
    /// [`Link::logged_in`].
    pub fn add(
        &self,
        session: SessionNumber,
        switch: Arc<CloseSwitch>,
        anonymous: bool,
    ) -> Result<OperationQueue, Refusal> {
        let mut sessions = self.lock();
        if self.is_closed() {
            return Err(Refusal::Closed);
        }
        if sessions.by_number.contains_key(&session) {
            return Err(Refusal::NumberInUse);
        }
        if sessions.by_number.len() >= self.caps.sessions
            || (anonymous && sessions.anonymous >= self.caps.anonymous)
        {
            return Err(Refusal::Full);
        }
        let (operations, queue) = lean_queue::queue(LINK_OPERATION_WINDOW as usize);
        sessions.anonymous += usize::from(anonymous);
        let credit = self
            .credit_window
            .map(|window| Arc::new(Semaphore::new(window as usize)));
        let member = Member {
            operations,
            switch,
            anonymous,
            cut: false,
            credit,
        };
        sessions.by_number.insert(session, member);
        Ok(queue)
    }

    /// `session` has logged in: it no longer counts as anonymous.
    pub fn logged_in(&self, session: SessionNumber) {
        let mut sessions = self.lock();
        if let Some(member) = sessions.by_number.get_mut(&session)
            && std::mem::take(&mut member.anonymous)
        {
            sessions.anonymous -= 1;
        }
    }

    /// Queues an operation of `session`. One beyond the window ends the
    /// session: a well-behaved edge never sends it.
    pub fn operation(&self, session: SessionNumber, operation: Box<ClientOperation>) {
        let sessions = self.lock();
        let Some(member) = sessions.by_number.get(&session) else {
            // The session ended while the operation was on its way.
            return;
        };
        if let Err(lean_queue::SendError::Full(_)) = member.operations.try_send(operation) {
            tracing::warn!(edge = self.edge(), %session, "edge sent beyond the operation window");
            member.switch.close(EndReason::SlowConsumer);
        }
    }

    /// Forgets `session`: it has ended, or the edge says its client hung
    /// up. Its queue ends once the operations already in it are done.
    pub fn detach(&self, session: SessionNumber) {
        self.lock().remove(session);
    }

    /// Queues `event` for one session, waiting for room: a session's own
    /// replies, with the operations it took since it last said. False if
    /// the link has ended or the session was cut off.
    pub async fn reply(&self, session: SessionNumber, event: SharedEvent, taken: u32) -> bool {
        self.queue_reply(session, event, taken, false).await
    }

    /// Like [`Link::reply`], for a reply of a catch-up: first waits until
    /// the session's socket has taken enough of the earlier ones (when the
    /// edge grants credit). False as well once `switch` closes the session.
    pub async fn paced_reply(
        &self,
        session: SessionNumber,
        event: SharedEvent,
        taken: u32,
        switch: &CloseSwitch,
    ) -> bool {
        if self.credit_window.is_none() {
            return self.reply(session, event, taken).await;
        }
        let credit = self
            .lock()
            .by_number
            .get(&session)
            .and_then(|member| member.credit.clone());
        let Some(credit) = credit else {
            return false;
        };
        tokio::select! {
            permit = credit.acquire() => match permit {
                Ok(permit) => permit.forget(),
                Err(_) => return false,
            },
            () = switch.closed() => return false,
        }
        self.queue_reply(session, event, taken, true).await
    }

    async fn queue_reply(
        &self,
        session: SessionNumber,
        event: SharedEvent,
        taken: u32,
        paced: bool,
    ) -> bool {
        if self.too_large(&event, &[session]) {
            return false;
        }
        let Ok(share) = self.reply_room.clone().acquire_owned().await else {
            return false;
        };
        let Ok(room) = self.deliveries.reserve().await else {
            return false;
        };
        // Checked with the room in hand and under the lock that cutting
        // takes: no reply of a session can follow an event it missed.
        let members = self.lock();
        if members.is_cut(session) {
            return false;
        }
        let delivery = LinkDelivery {
            sessions: vec![session.0],
            event: Some(event),
            operations_taken: taken,
            ended: None,
            paced,
        };
        room.send(Queued {
            delivery,
            _reply: Some(share),
        });
        true
    }

    /// The edge says the socket of `session` took `frames` paced replies:
    /// as many more may go. Never more than the window, whatever it says.
    pub fn credit(&self, session: SessionNumber, frames: u32) {
        let Some(window) = self.credit_window else {
            return;
        };
        let members = self.lock();
        if let Some(credit) = members
            .by_number
            .get(&session)
            .and_then(|member| member.credit.as_ref())
        {
            let room = (window as usize).saturating_sub(credit.available_permits());
            credit.add_permits(room.min(frames as usize));
        }
    }

    /// Tells the edge that `session` took `taken` more operations.
    pub async fn report_taken(&self, session: SessionNumber, taken: u32) {
        let delivery = LinkDelivery {
            sessions: vec![session.0],
            operations_taken: taken,
            ..LinkDelivery::default()
        };
        let _ = self.deliveries.send(Queued::new(delivery)).await;
    }

    /// Tells the edge that `session` has ended, and why.
    pub async fn end_session(&self, session: SessionNumber, reason: EndReason) {
        let ended = SessionEnded {
            reason: reason.into(),
            message: reason.name().to_owned(),
        };
        let delivery = LinkDelivery {
            sessions: vec![session.0],
            ended: Some(ended),
            ..LinkDelivery::default()
        };
        let _ = self.deliveries.send(Queued::new(delivery)).await;
    }

    /// Queues `event` for `sessions` without waiting (sessions cut off
    /// earlier are left out). If the queue is full, the sessions miss it
    /// and are cut off (see the module's notes).
    pub fn deliver(&self, sessions: Vec<SessionNumber>, event: SharedEvent) {
        if self.too_large(&event, &sessions) {
            return;
        }
        let mut members = self.lock();
        let sessions: Vec<u64> = sessions
            .into_iter()
            .filter(|&session| !members.is_cut(session))
            .map(|session| session.0)
            .collect();
        if sessions.is_empty() {
            return;
        }
        let delivery = LinkDelivery {
            sessions,
            event: Some(event),
            ..LinkDelivery::default()
        };
        let Err(mpsc::error::TrySendError::Full(Queued {
            delivery: missed, ..
        })) = self.deliveries.try_send(Queued::new(delivery))
        else {
            return;
        };
        tracing::warn!(
            edge = self.edge(),
            sessions = missed.sessions.len(),
            "edge link queue full, its sessions that miss an event end"
        );
        let most_cut = members.cut(&missed.sessions);
        drop(members);
        if most_cut {
            tracing::warn!(edge = self.edge(), "edge not reading, closing the link");
            self.close(EndReason::Error);
        }
    }

    /// Whether `event` is above [`MAX_DELIVERY_BYTES`]; if so, the sessions
    /// it was for are closed instead (they catch up when they return).
    fn too_large(&self, event: &SharedEvent, sessions: &[SessionNumber]) -> bool {
        let size = prost::Message::encoded_len(event);
        if size <= MAX_DELIVERY_BYTES {
            return false;
        }
        tracing::error!(size, "an event too large for the link; its sessions end");
        for &session in sessions {
            self.close_session(session, EndReason::Error);
        }
        true
    }

    /// The edge ends `session` for `reason` (its client does not keep up,
    /// or stopped answering pings): the session closes with that reason.
    pub fn close_session(&self, session: SessionNumber, reason: EndReason) {
        if let Some(member) = self.lock().by_number.get(&session) {
            member.switch.close(reason);
        }
    }

    /// Ends the link and every session on it, for `reason`.
    pub fn close(&self, reason: EndReason) {
        let sessions = {
            let mut sessions = self.lock();
            self.closed.cancel();
            std::mem::take(&mut *sessions)
        };
        self.reply_room.close();
        for member in sessions.by_number.into_values() {
            member.stop_pacing();
            member.switch.close(reason);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Members> {
        self.sessions.lock().expect("link lock poisoned")
    }
}

/// The live links, by the names their edges gave them.
#[derive(Default)]
pub struct Links {
    links: Mutex<HashMap<LinkId, Arc<Link>>>,
}

impl Links {
    /// Makes `link` findable by its name; false if a live link has that
    /// name already. Knowing a link's name is no reason to end it: the
    /// live one stays, and the newcomer is refused.
    pub fn insert(&self, link: Arc<Link>) -> bool {
        let mut links = self.lock();
        if links.get(&link.id()).is_some_and(|live| !live.is_closed()) {
            return false;
        }
        links.insert(link.id(), link);
        true
    }

    /// The live link named `id`.
    pub fn get(&self, id: LinkId) -> Option<Arc<Link>> {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LinkId, Arc<Link>>> {
        self.links.lock().expect("links lock poisoned")
    }
}

#[cfg(test)]
mod tests;
