//! A socket's session on a link: its operations up (within the window), its
//! frames, credit and end down.

use super::open::{OpenLink, ToSocket};
use crate::ws::about::About;
use messenger_proto::LINK_OPERATION_WINDOW;
use messenger_proto::v1::{
    ClientOperation, EndReason, EndSession, Resumable, SessionCredit, SessionEnded,
    SessionOperation, link_signal::Signal,
};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A socket's session on the link, held by the socket's task. Dropping it ends
/// the session.
pub struct LinkSession {
    pub(super) link: Arc<OpenLink>,
    pub(super) session: u64,
    pub(super) queue: lean_queue::Receiver<ToSocket>,
    /// Operations sent that the core has not said it took.
    pub(super) in_flight: u32,
    /// The end of the session, read while taking queued frames.
    pub(super) ended: Option<Box<SessionEnded>>,
    /// A [`Resumable`] read while taking queued frames.
    pub(super) resumable: Option<Box<Resumable>>,
    /// Paced frames taken whose credit the core has not been given.
    pub(super) paced_taken: u32,
}

/// What a socket waits for on the link.
pub enum Next {
    /// A frame for the client, and what it is.
    Frame(Utf8Bytes, About),
    /// How to move the session to another core.
    Resumable(Box<Resumable>),
    /// The core took operations: there may be room to send more.
    Room,
    /// The core ended the session, with this status.
    Ended(Box<SessionEnded>),
    /// The link ended (the core went away).
    LinkEnded,
}

impl LinkSession {
    /// Whether another operation may be sent now.
    pub fn has_room(&self) -> bool {
        self.in_flight < LINK_OPERATION_WINDOW
    }

    /// Sends one of the client's operations to the core.
    pub fn send(&mut self, operation: ClientOperation) {
        self.in_flight += 1;
        self.link.signal(Signal::Operation(SessionOperation {
            session: self.session,
            operation: Some(operation),
        }));
    }

    /// Reports this socket to the core as a slow consumer (its client did
    /// not take a frame within the write timeout).
    pub fn report_slow(&self) {
        if let Some(entry) = self.link.lock().get_mut(&self.session) {
            entry.slow = true;
        }
        self.link.signal(Signal::SlowSession(self.session));
    }

    /// Tells the core that the edge is ending this socket's session for
    /// `reason` (the client stopped answering pings), so that the core
    /// records why; the socket's leaving follows.
    pub fn end(&self, reason: EndReason) {
        self.link.signal(Signal::EndSession(EndSession {
            session: self.session,
            reason: reason.into(),
        }));
    }

    /// What comes next for this socket. Called when the socket has written
    /// what it took before: that is when its credit goes back.
    pub async fn next(&mut self) -> Next {
        self.return_credit();
        if let Some(resumable) = self.resumable.take() {
            return Next::Resumable(resumable);
        }
        if let Some(ended) = self.ended.take() {
            return Next::Ended(ended);
        }
        match self.queue.recv().await {
            Some(ToSocket::Frame(text, about, paced)) => {
                self.took_frame(paced);
                Next::Frame(text, about)
            }
            Some(ToSocket::Resumable(resumable)) => Next::Resumable(resumable),
            Some(ToSocket::Taken(taken)) => {
                self.took(taken);
                Next::Room
            }
            Some(ToSocket::Ended(ended)) => Next::Ended(ended),
            None => Next::LinkEnded,
        }
    }

    /// A frame already queued for this socket, without waiting; taken
    /// operations on the way are counted, and an end or a [`Resumable`]
    /// is kept for `next`.
    pub fn try_next_frame(&mut self) -> Option<(Utf8Bytes, About)> {
        while self.ended.is_none() && self.resumable.is_none() {
            match self.queue.try_recv()? {
                ToSocket::Frame(text, about, paced) => {
                    self.took_frame(paced);
                    return Some((text, about));
                }
                ToSocket::Resumable(resumable) => self.resumable = Some(resumable),
                ToSocket::Taken(taken) => self.took(taken),
                ToSocket::Ended(ended) => self.ended = Some(ended),
            }
        }
        None
    }

    /// The core took `taken` of the operations in flight.
    fn took(&mut self, taken: u32) {
        self.in_flight = self.in_flight.saturating_sub(taken);
    }

    /// Counts a frame taken; a batch of paced ones returns its credit
    /// even while the socket keeps writing.
    fn took_frame(&mut self, paced: bool) {
        if paced {
            self.paced_taken += 1;
            if self.paced_taken >= self.link.credit_batch {
                self.return_credit();
            }
        }
    }

    /// Gives the core back the credit of the paced frames taken.
    fn return_credit(&mut self) {
        let frames = std::mem::take(&mut self.paced_taken);
        if frames > 0 {
            self.link.signal(Signal::Credit(SessionCredit {
                session: self.session,
                frames,
            }));
        }
    }
}

impl Drop for LinkSession {
    fn drop(&mut self) {
        self.link.leave(self.session);
    }
}
