//! One open link: the reader task that hands the core's deliveries to the
//! sockets (each event made into JSON once), and the sockets' entries on it.

use crate::ws::about::About;
use crate::ws::translate;
use lean_queue::SendError;
use messenger_proto::LinkDelivery;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{
    EndReason, EndSession, LinkSignal, Resumable, ServerEvent, SessionCredit, SessionEnded,
    link_signal::Signal,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tonic::Streaming;
use uuid::Uuid;

/// One open link, link by its reader task and its sockets.
pub(super) struct OpenLink {
    pub(super) id: Uuid,
    pub(super) next_session: AtomicU64,
    pub(super) sessions: Mutex<HashMap<u64, SocketEntry>>,
    pub(super) signals: mpsc::UnboundedSender<LinkSignal>,
    /// Paced frames a socket takes before it returns their credit (at the
    /// latest; it returns what it has whenever it waits for more).
    pub(super) credit_batch: u32,
    pub(super) alive: AtomicBool,
    /// Woken when the last socket leaves (shutdown waits for that).
    pub(super) emptied: Notify,
}

/// What the link hands a socket.
pub(super) enum ToSocket {
    /// A frame, and whether it is paced (its credit goes back once taken).
    Frame(Utf8Bytes, About, bool),
    /// How to move the session to another core (see [`crate::ws::resume`]).
    Resumable(Box<Resumable>),
    /// The core took this many of the socket's operations.
    Taken(u32),
    /// The core ended the socket's session.
    Ended(Box<SessionEnded>),
}

/// One socket's entry on the link.
pub(super) struct SocketEntry {
    pub(super) queue: lean_queue::Sender<ToSocket>,
    /// Reported as slow: no more frames are queued for it.
    pub(super) slow: bool,
}

/// Why a link's reader stopped.
#[derive(Debug, PartialEq)]
pub(super) enum LinkEnd {
    /// The edge is shutting down.
    Shutdown,
    /// The core ended the link or went away.
    CoreGone,
}

/// Hands the link's deliveries to the sockets until the core ends the link,
/// or the edge is shutting down and its last socket has left.
pub(super) async fn read(
    link: Arc<OpenLink>,
    mut deliveries: Streaming<LinkDelivery>,
    mut shutdown: watch::Receiver<bool>,
) -> LinkEnd {
    let end = loop {
        let next = tokio::select! {
            next = deliveries.message() => next,
            () = link.drained(&mut shutdown) => break LinkEnd::Shutdown,
        };
        match next {
            Ok(Some(delivery)) => link.dispatch(delivery),
            Ok(None) => break LinkEnd::CoreGone,
            Err(status) => {
                tracing::info!(%status, "edge link ended");
                break LinkEnd::CoreGone;
            }
        }
    };
    link.end();
    end
}

impl OpenLink {
    /// A link whose sockets return credit for paced frames in `window`.
    pub(super) fn new(id: Uuid, signals: mpsc::UnboundedSender<LinkSignal>, window: u32) -> Self {
        OpenLink {
            id,
            next_session: AtomicU64::new(0),
            sessions: Mutex::new(HashMap::new()),
            signals,
            credit_batch: (window / 4).max(1),
            alive: AtomicBool::new(true),
            emptied: Notify::new(),
        }
    }

    pub(super) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Sends `signal` to the core (lost if the link has ended, which every
    /// socket on it learns by itself).
    pub(super) fn signal(&self, signal: Signal) {
        let _ = self.signals.send(LinkSignal {
            signal: Some(signal),
        });
    }

    /// Queues the delivery's event, as JSON made once, for its sockets, and
    /// hands its first socket the operations taken and the session's end.
    pub(super) fn dispatch(&self, delivery: LinkDelivery) {
        let mut sessions = self.lock();
        let Some(&first) = delivery.sessions.first() else {
            return;
        };
        let event = match delivery.event.map(messenger_proto::SharedEvent::into_event) {
            Some(Ok(event)) => Some(event),
            Some(Err(error)) => {
                tracing::error!(%error, "undecodable event on the edge link; its sessions end");
                for &number in &delivery.sessions {
                    self.fail(&mut sessions, number);
                }
                return;
            }
            None => None,
        };
        match event {
            Some(ServerEvent {
                event: Some(Event::Resumable(resumable)),
            }) => {
                if let Some(entry) = sessions.get(&first) {
                    let _ = entry
                        .queue
                        .force_send(ToSocket::Resumable(Box::new(resumable)));
                }
            }
            Some(event) => {
                if let Some(text) = translate::event_json(&event) {
                    let text = Utf8Bytes::from(text);
                    let about = About::of(&event);
                    for &number in &delivery.sessions {
                        let frame = ToSocket::Frame(text.clone(), about.clone(), delivery.paced);
                        self.queue_frame(&mut sessions, number, frame);
                    }
                } else if delivery.paced {
                    // No frame to take: its credit goes back now, or the
                    // rest of the catch-up would wait for it for ever.
                    self.signal(Signal::Credit(SessionCredit {
                        session: first,
                        frames: 1,
                    }));
                }
            }
            None => {}
        }
        if delivery.operations_taken > 0
            && let Some(entry) = sessions.get(&first)
        {
            let _ = entry
                .queue
                .force_send(ToSocket::Taken(delivery.operations_taken));
        }
        if let Some(ended) = delivery.ended
            && let Some(entry) = self.remove(&mut sessions, first)
        {
            let _ = entry.queue.force_send(ToSocket::Ended(Box::new(ended)));
        }
    }

    /// Ends session `number` here and on the core: it missed an event the
    /// edge could not read. Its client reconnects (or the session moves)
    /// and catches up.
    pub(super) fn fail(&self, sessions: &mut HashMap<u64, SocketEntry>, number: u64) {
        self.signal(Signal::EndSession(EndSession {
            session: number,
            reason: EndReason::Error.into(),
        }));
        if let Some(entry) = self.remove(sessions, number) {
            let ended = SessionEnded {
                reason: EndReason::Error.into(),
                message: "an event could not be read".into(),
            };
            let _ = entry.queue.force_send(ToSocket::Ended(Box::new(ended)));
        }
    }

    /// Queues `frame` for socket `number`; a full queue makes it slow.
    pub(super) fn queue_frame(
        &self,
        sessions: &mut HashMap<u64, SocketEntry>,
        number: u64,
        frame: ToSocket,
    ) {
        let Some(entry) = sessions.get_mut(&number).filter(|entry| !entry.slow) else {
            return;
        };
        if let Err(SendError::Full(_)) = entry.queue.try_send(frame) {
            entry.slow = true;
            self.signal(Signal::SlowSession(number));
        }
    }

    /// Marks the link ended; its sockets see their queue end.
    pub(super) fn end(&self) {
        self.alive.store(false, Ordering::Release);
        self.lock().clear();
        tracing::info!("edge link closed");
        tracing::debug!(link = %self.id, "edge link closed");
    }

    /// Completes once the edge is shutting down and no socket is left.
    pub(super) async fn drained(&self, shutdown: &mut watch::Receiver<bool>) {
        let _ = shutdown.wait_for(|stopping| *stopping).await;
        loop {
            let emptied = self.emptied.notified();
            if self.lock().is_empty() {
                return;
            }
            emptied.await;
        }
    }

    /// Socket `session` has gone: the core ends its session.
    pub(super) fn leave(&self, session: u64) {
        let mut sessions = self.lock();
        if self.remove(&mut sessions, session).is_some() {
            self.signal(Signal::CloseSession(session));
        }
    }

    /// Takes socket `number`'s entry off the link; the last one to go
    /// wakes whoever waits for the link to empty.
    pub(super) fn remove(
        &self,
        sessions: &mut HashMap<u64, SocketEntry>,
        number: u64,
    ) -> Option<SocketEntry> {
        let entry = sessions.remove(&number);
        if sessions.is_empty() {
            self.emptied.notify_waiters();
        }
        entry
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, SocketEntry>> {
        self.sessions.lock().expect("edge link lock poisoned")
    }
}
