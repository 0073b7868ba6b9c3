//! The `Session` RPC: one client connection as a pair of streams.
//!
//! A task reads the client's operations and applies them one at a time, in
//! order. Events for the client go through the session's bounded queue into
//! the response stream, or over its edge's link when it was opened on one;
//! either way the response stream ends early with a status when the core
//! shuts down, the client reads too slowly, or the link ends.

use crate::commands::{self, SessionState};
use crate::sessions::{CloseReason, Link, LinkSession, Outbox};
use crate::state::Core;
use crate::store::connections::{ConnectionOrigin, EndReason};
use crate::store::users::UserRecord;
use futures_util::Stream;
use messenger_proto::SharedEvent;
use messenger_proto::v1::ClientOperation;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tonic::{Status, Streaming};

/// The response stream of one session.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<SharedEvent, Status>> + Send>>;

/// How a session starts.
pub struct Opening {
    /// The user the session's credential belongs to and its login, if it
    /// had one.
    pub user: Option<(UserRecord, uuid::Uuid)>,
    pub origin: ConnectionOrigin,
    /// The edge link to deliver the session's events over, and the
    /// session's number there.
    pub link: Option<(Arc<Link>, LinkSession)>,
}

/// Starts a session over the client's operation stream; returns its events.
pub fn open(
    core: Arc<Core>,
    operations: Streaming<ClientOperation>,
    shutdown: watch::Receiver<bool>,
    opening: Opening,
) -> EventStream {
    let login = opening.user.as_ref().map(|(_, login)| *login);
    let (outbox, queue, closed) = outbox(&core, opening.link, login);
    let id = core.sessions.new_session_id();
    let session = SessionState::new(id, outbox, opening.origin);
    let span = tracing::info_span!("session", session_id = session.id);
    core.clone().tasks.spawn(tracing::Instrument::instrument(
        read_operations(
            core,
            session,
            operations,
            shutdown.clone(),
            opening.user.map(|(user, _)| user),
        ),
        span,
    ));
    outgoing(queue, closed, shutdown)
}

/// The session's outbox, with the receiving ends of its own queue (none
/// when its events go over a link) and of its close switch.
fn outbox(
    core: &Core,
    link: Option<(Arc<Link>, LinkSession)>,
    login: Option<uuid::Uuid>,
) -> (
    Arc<Outbox>,
    Option<mpsc::Receiver<SharedEvent>>,
    oneshot::Receiver<CloseReason>,
) {
    let (close, closed) = oneshot::channel();
    if let Some((link, number)) = link {
        let outbox = Arc::new(Outbox::over_link(link.clone(), number, close, login));
        if link.attach(number, Arc::downgrade(&outbox)) {
            return (outbox, None, closed);
        }
        // The link ended in between: this session uses its own stream.
        let (close, closed) = oneshot::channel();
        let (events, queue) = mpsc::channel(core.limits.session_queue);
        return (
            Arc::new(Outbox::new(events, close, login)),
            Some(queue),
            closed,
        );
    }
    let (events, queue) = mpsc::channel(core.limits.session_queue);
    (
        Arc::new(Outbox::new(events, close, login)),
        Some(queue),
        closed,
    )
}

/// Applies the client's operations until it hangs up or the core stops.
async fn read_operations(
    core: Arc<Core>,
    mut session: SessionState,
    mut operations: Streaming<ClientOperation>,
    mut shutdown: watch::Receiver<bool>,
    user: Option<UserRecord>,
) {
    if let Some(user) = user
        && let Err(error) = Box::pin(session.log_in(&core, &user)).await
    {
        error.log();
        session.outbox.close(CloseReason::Shutdown);
        return;
    }
    let ending = loop {
        let next = tokio::select! {
            next = operations.message() => next,
            _ = shutdown.wait_for(|stopping| *stopping) => break EndReason::ServerShutdown,
        };
        match next {
            // Boxed, like the other rare large futures here, so that the
            // task an idle session keeps is a few hundred bytes, not KiBs.
            Ok(Some(operation)) => {
                Box::pin(commands::dispatch(&core, &mut session, operation)).await
            }
            Ok(None) => break EndReason::ClientClosed,
            Err(status) => {
                tracing::debug!(%status, "client stream ended");
                break EndReason::Error;
            }
        }
    };
    let reason = match session.outbox.closed_reason() {
        Some(CloseReason::SlowConsumer) => EndReason::SlowConsumer,
        Some(CloseReason::Shutdown) => EndReason::ServerShutdown,
        Some(CloseReason::LoggedOut) => EndReason::LoggedOut,
        Some(CloseReason::LinkLost) => EndReason::Error,
        None => ending,
    };
    Box::pin(session.finish(&core, reason)).await;
    tracing::debug!(reason = reason.as_str(), "session ended");
}

/// What the response stream reads from.
struct Outgoing {
    /// The session's own queue; `None` when its events go over a link.
    queue: Option<mpsc::Receiver<SharedEvent>>,
    closed: oneshot::Receiver<CloseReason>,
    shutdown: watch::Receiver<bool>,
    finished: bool,
}

/// The queue as a stream that ends with a status when the session is closed.
fn outgoing(
    queue: Option<mpsc::Receiver<SharedEvent>>,
    closed: oneshot::Receiver<CloseReason>,
    shutdown: watch::Receiver<bool>,
) -> EventStream {
    let state = Outgoing {
        queue,
        closed,
        shutdown,
        finished: false,
    };
    Box::pin(futures_util::stream::unfold(state, next_event))
}

async fn next_event(mut state: Outgoing) -> Option<(Result<SharedEvent, Status>, Outgoing)> {
    if state.finished {
        return None;
    }
    let next = tokio::select! {
        biased;
        _ = state.shutdown.wait_for(|stopping| *stopping) => Err(Some(CloseReason::Shutdown)),
        reason = &mut state.closed => Err(reason.ok()),
        event = next_queued(&mut state.queue) => Ok(event),
    };
    let closed = match next {
        Ok(Some(event)) => return Some((Ok(event), state)),
        Err(Some(reason)) => Some(reason),
        // The session task ended and dropped the outbox. At shutdown it ends
        // too, and the client must be told why rather than see a plain end
        // (the shutdown branch above may not have been polled ready first).
        Ok(None) | Err(None) => (*state.shutdown.borrow()).then_some(CloseReason::Shutdown),
    };
    state.finished = true;
    let reason = closed?;
    Some((Err(close_status(reason)), state))
}

/// The next event of the session's own queue; never, without one.
async fn next_queued(queue: &mut Option<mpsc::Receiver<SharedEvent>>) -> Option<SharedEvent> {
    match queue {
        Some(queue) => queue.recv().await,
        None => std::future::pending().await,
    }
}

/// The status a closed session's stream ends with.
fn close_status(reason: CloseReason) -> Status {
    match reason {
        CloseReason::SlowConsumer => {
            Status::resource_exhausted("slow consumer: the session's outgoing queue is full")
        }
        CloseReason::Shutdown => Status::unavailable("the core is shutting down"),
        CloseReason::LoggedOut => Status::unauthenticated("logged out: the login was revoked"),
        CloseReason::LinkLost => Status::unavailable("the edge link of the session ended"),
    }
}
