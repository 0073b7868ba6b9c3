//! The session registry: user id → that user's live sessions (one per
//! connected device).
//!
//! A session's events go either into its own bounded queue (its gRPC
//! stream) or over its edge's link (see [`super::link`]), where an event is
//! sent once for all of that edge's recipients. Delivery never waits: a
//! session whose queue is full is a slow consumer, and it is closed (it can
//! reconnect and read history) rather than slowing anyone else down. The
//! lock is a plain mutex held only to copy or change the map, never across
//! `.await`.

use super::close::CloseSwitch;
use super::link::{Link, SessionNumber};
use super::moved::{Admit, Moved};
use crate::ids::{LoginId, UserId};
use messenger_proto::SharedEvent;
use messenger_proto::v1::EndReason;
use messenger_proto::v1::ServerEvent;
use messenger_proto::v1::server_event::Event;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Identifies one session of this core for its whole life: in the logs,
/// and to leave out the sender's own session when delivering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(u64);

impl SessionId {
    /// Above every session id (a bound for ranges).
    pub const MAX: SessionId = SessionId(u64::MAX);
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a session's events go.
enum Route {
    /// The session's own queue, read by its gRPC stream.
    Queue(mpsc::Sender<SharedEvent>),
    /// Its edge's link, under the session's number there.
    Link {
        link: Arc<Link>,
        session: SessionNumber,
    },
}

/// The sending side of one session: its route and the switch that closes it.
pub struct Outbox {
    /// The login (token family) the session was opened with, if any.
    login: Option<LoginId>,
    route: Route,
    switch: Arc<CloseSwitch>,
    /// Operations taken from a link session's queue that the edge has not
    /// been told about yet.
    taken: AtomicU32,
    /// The session asked for presence events.
    watches_presence: AtomicBool,
    /// What its client has, for a session moved here from another core.
    moved: Option<Box<Moved>>,
}

impl Outbox {
    /// An outbox around a session's own queue, ended by `switch`.
    pub fn new(
        events: mpsc::Sender<SharedEvent>,
        switch: Arc<CloseSwitch>,
        login: Option<LoginId>,
    ) -> Self {
        Self::with_route(Route::Queue(events), switch, login)
    }

    /// An outbox whose events go over `link` as `session`, ended by the
    /// `switch` the link was given for it.
    pub fn over_link(
        link: Arc<Link>,
        session: SessionNumber,
        switch: Arc<CloseSwitch>,
        login: Option<LoginId>,
    ) -> Self {
        Self::with_route(Route::Link { link, session }, switch, login)
    }

    fn with_route(route: Route, switch: Arc<CloseSwitch>, login: Option<LoginId>) -> Self {
        Outbox {
            login,
            route,
            switch,
            taken: AtomicU32::new(0),
            watches_presence: AtomicBool::new(false),
            moved: None,
        }
    }

    /// The same outbox for a session moved here, whose client has what
    /// `moved` says: its live events wait until [`Outbox::caught_up`].
    pub fn moved(mut self, moved: Moved) -> Self {
        self.moved = Some(Box::new(moved));
        self
    }

    /// What the client of a moved session has, if it was moved.
    pub fn moved_state(&self) -> Option<&Moved> {
        self.moved.as_deref()
    }

    /// A moved session has caught up: the live events held meanwhile go
    /// out now, ahead of any later one.
    pub fn caught_up(&self) {
        let (Some(moved), Route::Link { link, session }) = (&self.moved, &self.route) else {
            return;
        };
        moved.caught_up(|event| link.deliver(vec![*session], event));
    }

    /// The session logged in: on a link, it no longer counts as anonymous.
    pub fn logged_in(&self) {
        if let Route::Link { link, session } = &self.route {
            link.logged_in(*session);
        }
    }

    /// From now on the session gets presence events.
    pub fn watch_presence(&self) {
        self.watches_presence.store(true, Ordering::Relaxed);
    }

    /// Whether the session is on an edge's link (rather than on a stream
    /// of its own).
    pub fn is_linked(&self) -> bool {
        matches!(self.route, Route::Link { .. })
    }

    /// The session took an operation from its queue. On a link, the edge
    /// learns of it with the next reply (see [`Outbox::report_taken`]).
    pub fn took_operation(&self) {
        if let Route::Link { .. } = self.route {
            self.taken.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tells the edge about taken operations no reply has carried: after an
    /// operation that was not answered, so the edge's window opens again.
    pub async fn report_taken(&self) {
        if let Route::Link { link, session } = &self.route {
            let taken = self.taken.swap(0, Ordering::Relaxed);
            if taken > 0 {
                link.report_taken(*session, taken).await;
            }
        }
    }

    /// Queues an event for this session, waiting for room: used for the
    /// session's own replies, so a client that does not read only holds up
    /// itself. Returns false if the session is gone.
    pub async fn reply(&self, event: ServerEvent) -> bool {
        match &self.route {
            Route::Queue(events) => events.send(event.into()).await.is_ok(),
            Route::Link { link, session } => {
                let taken = self.taken.swap(0, Ordering::Relaxed);
                link.reply(*session, event.into(), taken).await
            }
        }
    }

    /// Queues a reply of a catch-up: as [`Outbox::reply`], but on a link
    /// it waits until the client has taken enough of the earlier ones (see
    /// [`Link::paced_reply`]). On its own stream, HTTP/2 already paces it.
    pub async fn paced_reply(&self, event: ServerEvent) -> bool {
        match &self.route {
            Route::Queue(_) => self.reply(event).await,
            Route::Link { link, session } => {
                let taken = self.taken.swap(0, Ordering::Relaxed);
                link.paced_reply(*session, event.into(), taken, &self.switch)
                    .await
            }
        }
    }

    /// Queues an event on the session's own queue without waiting; a full
    /// queue closes the session.
    fn deliver_to_queue(&self, events: &mpsc::Sender<SharedEvent>, event: SharedEvent) {
        match events.try_send(event) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.close(EndReason::SlowConsumer),
        }
    }

    /// Ends the session with `reason` (only the first reason counts).
    pub fn close(&self, reason: EndReason) {
        self.switch.close(reason);
    }

    /// Why the core closed this session, if it did.
    pub fn closed_reason(&self) -> Option<EndReason> {
        self.switch.reason()
    }
}

impl Drop for Outbox {
    /// The session is over: its link stops taking operations for it.
    fn drop(&mut self) {
        if let Route::Link { link, session } = &self.route {
            link.detach(*session);
        }
    }
}

/// The sessions on one link that an event is for.
type LinkBatch = (Arc<Link>, Vec<SessionNumber>);

/// Each user's live sessions.
type SessionsByUser = HashMap<UserId, Vec<(SessionId, Arc<Outbox>)>>;

/// All live, logged-in sessions of the core.
#[derive(Default)]
pub struct Registry {
    next_id: AtomicU64,
    users: Mutex<SessionsByUser>,
}

impl Registry {
    /// A fresh session id.
    pub fn new_session_id(&self) -> SessionId {
        SessionId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Makes `session` of `user_id` reachable.
    pub fn register(&self, user_id: UserId, session: SessionId, outbox: Arc<Outbox>) {
        self.lock()
            .entry(user_id)
            .or_default()
            .push((session, outbox));
        crate::telemetry::sessions(1.0);
    }

    /// Removes `session` of `user_id`.
    pub fn unregister(&self, user_id: UserId, session: SessionId) {
        let mut users = self.lock();
        if let Some(sessions) = users.get_mut(&user_id) {
            let before = sessions.len();
            sessions.retain(|(id, _)| *id != session);
            if sessions.len() < before {
                crate::telemetry::sessions(-1.0);
            }
            if sessions.is_empty() {
                users.remove(&user_id);
            }
        }
    }

    /// Delivers `event` to every session of every user in `user_ids`, except
    /// the session `skip` (the one whose operation caused the event). The
    /// event is encoded once; each session with its own queue gets a
    /// reference to the bytes, and each edge link gets them once with the
    /// list of its sessions.
    pub fn deliver(&self, user_ids: &[UserId], skip: Option<SessionId>, event: &ServerEvent) {
        Self::deliver_to(&self.outboxes(user_ids, skip), event);
    }

    /// Delivers a presence `event` to the sessions of `user_ids` that asked
    /// for presence.
    pub fn deliver_presence(&self, user_ids: &[UserId], event: &ServerEvent) {
        let mut outboxes = self.outboxes(user_ids, None);
        outboxes.retain(|outbox| outbox.watches_presence.load(Ordering::Relaxed));
        Self::deliver_to(&outboxes, event);
    }

    fn deliver_to(outboxes: &[Arc<Outbox>], event: &ServerEvent) {
        if outboxes.is_empty() {
            return;
        }
        crate::telemetry::delivered(outboxes.len());
        let place = message_place(event);
        let event = SharedEvent::encode_once(event);
        let mut batches: Vec<LinkBatch> = Vec::new();
        for outbox in outboxes {
            if let Some(moved) = &outbox.moved {
                match moved.live(place, &event) {
                    Admit::Pass => {}
                    Admit::Held | Admit::Drop => continue,
                    Admit::Overflow => {
                        outbox.close(EndReason::SlowConsumer);
                        continue;
                    }
                }
            }
            match &outbox.route {
                Route::Queue(events) => outbox.deliver_to_queue(events, event.clone()),
                Route::Link { link, session } => add_to_batch(&mut batches, link, *session),
            }
        }
        for (link, sessions) in batches {
            link.deliver(sessions, event.clone());
        }
    }

    /// Closes the user's sessions that were opened with `login`.
    pub fn close_login(&self, user_id: UserId, login: LoginId) {
        let sessions: Vec<Arc<Outbox>> = self
            .lock()
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter(|(_, outbox)| outbox.login == Some(login))
            .map(|(_, outbox)| outbox.clone())
            .collect();
        for outbox in sessions {
            outbox.close(EndReason::LoggedOut);
        }
    }

    /// How many sessions are live.
    pub fn session_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn outboxes(&self, user_ids: &[UserId], skip: Option<SessionId>) -> Vec<Arc<Outbox>> {
        let users = self.lock();
        user_ids
            .iter()
            .filter_map(|user| users.get(user))
            .flatten()
            .filter(|(id, _)| Some(*id) != skip)
            .map(|(_, outbox)| outbox.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionsByUser> {
        self.users.lock().expect("registry lock poisoned")
    }
}

/// A message's chat and seq, for the sessions that filter them.
fn message_place(event: &ServerEvent) -> Option<(&str, u64)> {
    match &event.event {
        Some(Event::Message(message)) => Some((message.chat_id.as_str(), message.seq)),
        _ => None,
    }
}

/// Adds `session` to its link's batch (an event reaches few links, so a
/// list is faster than a map).
fn add_to_batch(batches: &mut Vec<LinkBatch>, link: &Arc<Link>, session: SessionNumber) {
    match batches
        .iter_mut()
        .find(|(known, _)| Arc::ptr_eq(known, link))
    {
        Some((_, sessions)) => sessions.push(session),
        None => batches.push((link.clone(), vec![session])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use messenger_proto::v1::Error as ErrorEvent;
    use messenger_proto::v1::server_event::Event;
    use tokio::sync::oneshot;

    fn event() -> ServerEvent {
        ServerEvent {
            event: Some(Event::Error(ErrorEvent::default())),
        }
    }

    fn session(
        capacity: usize,
    ) -> (
        Arc<Outbox>,
        mpsc::Receiver<SharedEvent>,
        oneshot::Receiver<EndReason>,
    ) {
        let (events, receiver) = mpsc::channel(capacity);
        let (switch, closed) = CloseSwitch::channel();
        (
            Arc::new(Outbox::new(events, switch, None)),
            receiver,
            closed,
        )
    }

    #[test]
    fn delivers_to_every_device_but_the_skipped_one() {
        let registry = Registry::default();
        let user = UserId::random();
        let (phone, mut phone_events, _) = session(4);
        let (laptop, mut laptop_events, _) = session(4);
        let (phone_id, laptop_id) = (registry.new_session_id(), registry.new_session_id());
        assert_ne!(phone_id, laptop_id);
        registry.register(user, phone_id, phone);
        registry.register(user, laptop_id, laptop);
        registry.deliver(&[user], Some(phone_id), &event());
        assert!(phone_events.try_recv().is_err());
        assert!(laptop_events.try_recv().is_ok());
        registry.unregister(user, laptop_id);
        assert_eq!(registry.session_count(), 1);
    }

    #[test]
    fn a_full_queue_closes_only_that_session() {
        let registry = Registry::default();
        let (slow, _slow_events, mut slow_closed) = session(1);
        let (fast, mut fast_events, mut fast_closed) = session(8);
        let (slow_user, fast_user) = (UserId::random(), UserId::random());
        registry.register(slow_user, registry.new_session_id(), slow);
        registry.register(fast_user, registry.new_session_id(), fast);
        for _ in 0..3 {
            registry.deliver(&[slow_user, fast_user], None, &event());
        }
        assert_eq!(slow_closed.try_recv(), Ok(EndReason::SlowConsumer));
        assert!(fast_closed.try_recv().is_err());
        for _ in 0..3 {
            assert!(fast_events.try_recv().is_ok());
        }
    }
}
