//! The `EdgeLink` RPC: the core's side of an edge's link.
//!
//! The response stream carries the link's queued deliveries; a task reads
//! the edge's signals: sessions opening and closing, their operations, slow
//! clients. Each session runs in a task of its own, like a session on its
//! own stream. Whichever end of the link goes first ends the link, and with
//! it every session on it (see [`crate::sessions::link`]).

use super::outgoing::{self, Ending, Outgoing};
use super::session::{self, Operations};
use crate::accounts;
use crate::commands::{SessionState, session_move};
use crate::error::Error;
use crate::ids::LinkId;
use crate::sessions::link::Queued;
use crate::sessions::link::{OperationQueue, Refusal, SessionCaps};
use crate::sessions::{CloseSwitch, Link, Moved, Outbox, SessionNumber};
use crate::state::Core;
use crate::store::connections::{ConnectionOrigin, EndReason};
use futures_util::StreamExt;
use messenger_proto::v1::{ClientOperation, LinkSignal, OpenSession, link_signal::Signal};
use messenger_proto::{EDGE_CREDIT_METADATA, EDGE_LINK_METADATA, LinkDelivery, MAX_CREDIT_WINDOW};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tonic::metadata::MetadataMap;
use tonic::{Status, Streaming};
use uuid::Uuid;

/// Deliveries queued for one edge before it counts as not reading at all.
/// Each is one event for any number of the edge's sessions.
const LINK_QUEUE: usize = 65_536;

/// The response stream of one link.
pub type DeliveryStream = Outgoing<LinkDelivery>;

/// What an edge says of the link it opens, in its metadata.
pub struct LinkTerms {
    pub id: LinkId,
    /// The name the edge gave itself.
    pub edge: Option<String>,
    /// Frames of a catch-up the edge takes ahead of each socket.
    pub credit_window: Option<u32>,
}

/// The link named in `metadata` (a UUID), the edge's name, and its credit
/// window, if named (1 to [`MAX_CREDIT_WINDOW`] frames).
pub fn terms(metadata: &MetadataMap) -> Result<LinkTerms, Error> {
    let text = |key| metadata.get(key).and_then(|value| value.to_str().ok());
    let id = text(EDGE_LINK_METADATA)
        .and_then(|text| Uuid::parse_str(text).ok())
        .map(LinkId)
        .ok_or_else(|| Error::invalid(EDGE_LINK_METADATA, "must name the link with a UUID"))?;
    let credit_window = metadata
        .get(EDGE_CREDIT_METADATA)
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| text.parse().ok())
                .filter(|window| (1..=MAX_CREDIT_WINDOW).contains(window))
                .ok_or_else(|| {
                    let reason = format!("must be a number of frames, 1 to {MAX_CREDIT_WINDOW}");
                    Error::invalid(EDGE_CREDIT_METADATA, reason)
                })
        })
        .transpose()?;
    Ok(LinkTerms {
        id,
        edge: super::credentials::edge_name(metadata),
        credit_window,
    })
}

/// Opens the link the edge described over its signal stream; returns its
/// deliveries. A name in use by a live link is refused.
pub fn open(
    core: Arc<Core>,
    terms: LinkTerms,
    signals: Streaming<LinkSignal>,
    shutdown: watch::Receiver<bool>,
) -> Result<DeliveryStream, Status> {
    let (deliveries, queue) = mpsc::channel(LINK_QUEUE);
    let caps = SessionCaps {
        sessions: core.edges.max_sessions_per_link,
        anonymous: core.edges.max_anonymous_sessions_per_link,
    };
    let id = terms.id;
    let link = Link::new(id, terms.edge, deliveries, caps, terms.credit_window);
    let link = Arc::new(link);
    if !core.links.insert(link.clone()) {
        return Err(Status::already_exists("a live link has this name"));
    }
    // Link names are kept out of info logs: they are the links' handles.
    tracing::info!(edge = link.edge(), "edge link opened");
    tracing::debug!(link = %id, "edge link opened");
    let ending = LinkEnding {
        link: link.clone(),
        shutdown: shutdown.clone(),
    };
    core.clone()
        .tasks
        .spawn(read_signals(core, link, signals, shutdown.clone()));
    // A reply's place in the replies' share is freed as it leaves.
    let stream = outgoing::stream(queue, ending, shutdown);
    Ok(Box::pin(stream.map(|queued| {
        queued.map(|queued: Queued| queued.delivery)
    })))
}

/// Applies the edge's signals until it hangs up, then ends the link.
async fn read_signals(
    core: Arc<Core>,
    link: Arc<Link>,
    mut signals: Streaming<LinkSignal>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let next = tokio::select! {
            next = signals.message() => next,
            () = link.closed() => break,
            _ = shutdown.wait_for(|stopping| *stopping) => break,
        };
        match next {
            Ok(Some(LinkSignal {
                signal: Some(signal),
            })) => apply(&core, &link, signal, &shutdown),
            Ok(Some(LinkSignal { signal: None })) => {}
            Ok(None) | Err(_) => break,
        }
    }
    core.links.remove(&link);
    link.close(closing_reason(&shutdown));
    tracing::info!(edge = link.edge(), "edge link ended");
    tracing::debug!(link = %link.id(), "edge link ended");
}

/// Applies one signal of the edge.
fn apply(core: &Arc<Core>, link: &Arc<Link>, signal: Signal, shutdown: &watch::Receiver<bool>) {
    match signal {
        Signal::SlowSession(session) => {
            link.close_session(SessionNumber(session), EndReason::SlowConsumer);
        }
        Signal::EndSession(end) => {
            // Only the edge's own reasons; the rest are the core's to give.
            let reason = match end.reason() {
                reason @ (EndReason::TimedOut | EndReason::SlowConsumer) => reason,
                _ => EndReason::Error,
            };
            link.close_session(SessionNumber(end.session), reason);
        }
        Signal::OpenSession(opening) => open_session(core, link, opening, shutdown),
        Signal::Operation(operation) => {
            // An empty one is answered as on a session's own stream: with an
            // error event.
            let client_operation = operation.operation.unwrap_or_default();
            link.operation(SessionNumber(operation.session), Box::new(client_operation));
        }
        Signal::CloseSession(session) => link.detach(SessionNumber(session)),
        Signal::Credit(credit) => link.credit(SessionNumber(credit.session), credit.frames),
    }
}

/// Starts the session the edge opened; a number already in use is ignored.
fn open_session(
    core: &Arc<Core>,
    link: &Arc<Link>,
    opening: OpenSession,
    shutdown: &watch::Receiver<bool>,
) {
    let (switch, closed) = CloseSwitch::channel();
    let number = SessionNumber(opening.session);
    let operations = match link.add(number, switch.clone(), opening.token.is_empty()) {
        Ok(operations) => operations,
        Err(Refusal::Full) => {
            tracing::warn!(edge = link.edge(), "edge link full, session refused");
            let link = link.clone();
            core.tasks
                .spawn(async move { link.end_session(number, EndReason::Overloaded).await });
            return;
        }
        Err(refusal) => {
            tracing::warn!(edge = link.edge(), session = %number, ?refusal, "session not started");
            return;
        }
    };
    let span = tracing::info_span!("link_session", link_session = opening.session);
    let started = Started {
        operations,
        switch,
        closed,
    };
    let session = run_session(
        core.clone(),
        link.clone(),
        opening,
        started,
        shutdown.clone(),
    );
    core.tasks
        .spawn(tracing::Instrument::instrument(session, span));
}

/// What the link gave a session it started.
struct Started {
    operations: OperationQueue,
    /// Held by the link too, which closes the session with it.
    switch: Arc<CloseSwitch>,
    closed: oneshot::Receiver<EndReason>,
}

/// Runs one session of the link and tells the edge how it ended.
async fn run_session(
    core: Arc<Core>,
    link: Arc<Link>,
    opening: OpenSession,
    started: Started,
    shutdown: watch::Receiver<bool>,
) {
    let Started {
        operations,
        switch,
        closed,
    } = started;
    let number = SessionNumber(opening.session);
    let user = if opening.token.is_empty() {
        None
    } else {
        match accounts::authenticate_token(&core.accounts, &opening.token).await {
            Ok(found) => Some(found),
            Err(error) => {
                link.detach(number);
                let reason = match error {
                    Error::InvalidCredential => EndReason::LoggedOut,
                    other => {
                        other.log();
                        EndReason::Error
                    }
                };
                return link.end_session(number, reason).await;
            }
        }
    };
    let login = user.as_ref().map(|user| user.login);
    let mut outbox = Outbox::over_link(link.clone(), number, switch, login);
    let moving = opening.moving.filter(|_| user.is_some());
    if let Some(moving) = &moving {
        if !session_move::is_within_bounds(moving, core.chats.limits.max_chats_per_user) {
            tracing::warn!(edge = link.edge(), session = %number, "a session move beyond bounds");
            link.detach(number);
            return link.end_session(number, EndReason::Unspecified).await;
        }
        outbox = outbox.moved(Moved::new(moving));
    }
    let outbox = Arc::new(outbox);
    let origin = ConnectionOrigin::new(
        Some(&opening.client_address),
        Some(&opening.user_agent),
        link.edge(),
    );
    let session = SessionState::new(core.live.sessions.new_session_id(), outbox, origin);
    let mut operations = Linked {
        operations,
        closed,
        shutdown,
    };
    let ending = session::run(core, session, user, moving, &mut operations).await;
    // A client that hung up, or logged in as someone else, is gone already
    // as far as the edge knows.
    if !matches!(ending, EndReason::ClientClosed | EndReason::SwitchedUser) {
        link.end_session(number, ending).await;
    }
}

/// The operations of a session on a link.
struct Linked {
    operations: OperationQueue,
    /// Fires when the core closes the session (slow client, logout, the
    /// link's end).
    closed: oneshot::Receiver<EndReason>,
    shutdown: watch::Receiver<bool>,
}

impl Operations for Linked {
    async fn next(&mut self) -> Result<ClientOperation, EndReason> {
        tokio::select! {
            biased;
            // The reason is the outbox's to tell (see `session::run`).
            _ = &mut self.closed => Err(EndReason::Error),
            _ = self.shutdown.wait_for(|stopping| *stopping) => Err(EndReason::ServerShutdown),
            next = self.operations.recv() => match next {
                Some(operation) => Ok(*operation),
                None => Err(EndReason::ClientClosed),
            },
        }
    }
}

/// Why a link's sessions end when the link does.
fn closing_reason(shutdown: &watch::Receiver<bool>) -> EndReason {
    if *shutdown.borrow() {
        EndReason::ServerShutdown
    } else {
        EndReason::Error
    }
}

/// How a link's response stream ends; dropped with the stream (the edge
/// went away), it ends the link.
struct LinkEnding {
    link: Arc<Link>,
    shutdown: watch::Receiver<bool>,
}

impl Ending for LinkEnding {
    async fn ended(&mut self) {
        self.link.closed().await;
    }

    fn status(&self, shutting_down: bool) -> Option<Status> {
        Some(if shutting_down {
            Status::unavailable("the core is shutting down")
        } else {
            Status::unavailable("the edge link ended")
        })
    }
}

impl Drop for LinkEnding {
    fn drop(&mut self) {
        self.link.close(closing_reason(&self.shutdown));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(entries: &[(&'static str, &str)]) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        for &(key, value) in entries {
            metadata.insert(key, value.parse().expect("ASCII"));
        }
        metadata
    }

    #[test]
    fn a_link_paces_catch_ups_only_with_a_window_the_edge_named() {
        let id = Uuid::new_v4().to_string();
        let window = |credit: Option<&str>| {
            let mut entries = vec![(EDGE_LINK_METADATA, id.as_str())];
            entries.extend(credit.map(|credit| (EDGE_CREDIT_METADATA, credit)));
            terms(&metadata(&entries)).map(|terms| terms.credit_window)
        };
        assert_eq!(window(None).ok(), Some(None), "an edge without credit");
        assert_eq!(window(Some("256")).ok(), Some(Some(256)));
        for bad in ["0", "4097", "-1", "many"] {
            assert!(window(Some(bad)).is_err(), "{bad}");
        }
        assert!(terms(&metadata(&[])).is_err(), "no link name");
    }
}
