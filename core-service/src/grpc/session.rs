//! Client sessions: the `Session` RPC, and the loop every session runs,
//! whether its operations come on a stream of its own or over its edge's
//! link (see [`super::link`]).
//!
//! A task reads the client's operations and applies them one at a time, in
//! order. On a stream of its own, events for the client go through the
//! session's bounded queue into the response stream, which ends early with
//! a status when the core shuts down or the client reads too slowly.

use super::outgoing::{self, Ending, Outgoing};
use crate::auth::Authenticated;
use crate::commands::{self, SessionState};
use crate::error::Error;
use crate::sessions::{CloseSwitch, Outbox};
use crate::state::Core;
use crate::store::connections::{ConnectionOrigin, EndReason};
use messenger_proto::SharedEvent;
use messenger_proto::v1::{ClientOperation, SessionMove};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tonic::{Status, Streaming};

/// The response stream of one session.
pub type EventStream = Outgoing<SharedEvent>;

/// Where a session's operations come from.
pub trait Operations {
    /// The next operation; otherwise why the session ends.
    fn next(&mut self) -> impl Future<Output = Result<ClientOperation, EndReason>> + Send;
}

/// Starts a session over the client's operation stream; returns its events.
/// `user` is whom its credential stands for, if it had one.
pub fn open(
    core: Arc<Core>,
    operations: Streaming<ClientOperation>,
    shutdown: watch::Receiver<bool>,
    user: Option<Authenticated>,
    origin: ConnectionOrigin,
) -> EventStream {
    let login = user.as_ref().map(|user| user.login);
    let (switch, closed) = CloseSwitch::channel();
    let (events, queue) = mpsc::channel(core.chats.limits.session_queue);
    let outbox = Arc::new(Outbox::new(events, switch, login));
    let session = SessionState::new(core.live.sessions.new_session_id(), outbox, origin);
    let span = tracing::info_span!("session", session_id = %session.id);
    let mut operations = OwnStream {
        operations,
        shutdown: shutdown.clone(),
    };
    core.clone().tasks.spawn(tracing::Instrument::instrument(
        async move { run(core, session, user, None, &mut operations).await },
        span,
    ));
    let ending = SessionEnding {
        closed,
        reason: None,
    };
    outgoing::stream(queue, ending, shutdown)
}

/// A session's own stream of operations.
struct OwnStream {
    operations: Streaming<ClientOperation>,
    shutdown: watch::Receiver<bool>,
}

impl Operations for OwnStream {
    async fn next(&mut self) -> Result<ClientOperation, EndReason> {
        let next = tokio::select! {
            next = self.operations.message() => next,
            _ = self.shutdown.wait_for(|stopping| *stopping) => return Err(EndReason::ServerShutdown),
        };
        match next {
            Ok(Some(operation)) => Ok(operation),
            Ok(None) => Err(EndReason::ClientClosed),
            Err(status) => {
                tracing::debug!(%status, "client stream ended");
                Err(EndReason::Error)
            }
        }
    }
}

/// Runs a session: logs it in as `user` if given (catching it up if it is
/// `moving` here from another core), then [`serve`]s it.
pub async fn run(
    core: Arc<Core>,
    mut session: SessionState,
    user: Option<Authenticated>,
    moving: Option<SessionMove>,
    operations: &mut impl Operations,
) -> EndReason {
    if let Some(user) = user {
        session.moving = moving.is_some();
        session.grant = Some((user.login, user.expires_at));
        core.accounts
            .expiries
            .add(user.expires_at, session.id, &session.outbox);
        match Box::pin(session.log_in(&core.chats, &core.accounts, &core.live, &user.user)).await {
            Ok(()) => {}
            // The user's other sessions fill the bound: this one stays
            // open, not logged in, and its client is told why (as after a
            // login frame), rather than sent to another core.
            Err(error @ Error::TooManySessions { .. }) => {
                session.release_grant(&core.accounts);
                session.moving = false;
                commands::reply_error(&session, error, None, None).await;
                return serve(core, session, operations).await;
            }
            Err(error) => {
                error.log();
                session.outbox.close(EndReason::ServerShutdown);
                return EndReason::Error;
            }
        }
        if let Some(moving) = moving
            && let Err(error) =
                Box::pin(commands::session_move::resume(&core, &mut session, moving)).await
        {
            // Not as a core that went away, which the edge would move
            // again: the client reconnects and catches up itself.
            error.log();
            session.outbox.close(EndReason::Unspecified);
        }
    }
    serve(core, session, operations).await
}

/// Applies the client's operations until they end (or until the
/// credential the session rests on expires), and records how the session
/// ended, which it returns.
async fn serve(
    core: Arc<Core>,
    mut session: SessionState,
    operations: &mut impl Operations,
) -> EndReason {
    let ending = loop {
        match operations.next().await {
            // Boxed, like the other rare large futures here, so that the
            // task an idle session keeps is a few hundred bytes, not KiBs.
            Ok(operation) => {
                session.outbox.took_operation();
                Box::pin(commands::dispatch(&core, &mut session, operation)).await;
                session.outbox.report_taken().await;
            }
            Err(reason) => break reason,
        }
    };
    session.release_grant(&core.accounts);
    // When the core closed the session, its reason is the one that counts.
    let reason = session.outbox.closed_reason().unwrap_or(ending);
    Box::pin(session.finish(&core.chats, &core.live, reason)).await;
    tracing::debug!(reason = reason.name(), "session ended");
    reason
}

/// How a session's own response stream ends: when the core closes the
/// session (with the status for its reason), or when the session's task
/// ends. At shutdown the client is told why rather than seeing a plain end.
struct SessionEnding {
    closed: oneshot::Receiver<EndReason>,
    reason: Option<EndReason>,
}

impl Ending for SessionEnding {
    async fn ended(&mut self) {
        // An error: the session's task ended and dropped its outbox.
        self.reason = (&mut self.closed).await.ok();
    }

    fn status(&self, shutting_down: bool) -> Option<Status> {
        let reason = self
            .reason
            .or(shutting_down.then_some(EndReason::ServerShutdown))?;
        Some(close_status(reason))
    }
}

/// The status a session's own stream ends with when the core closed it.
fn close_status(reason: EndReason) -> Status {
    match reason {
        EndReason::SlowConsumer => {
            Status::resource_exhausted("slow consumer: the session's outgoing queue is full")
        }
        EndReason::ServerShutdown => Status::unavailable("the core is shutting down"),
        EndReason::LoggedOut => Status::unauthenticated("logged out: the login was revoked"),
        EndReason::Expired => Status::unauthenticated("the credential expired"),
        _ => Status::unavailable("the session failed, reconnect"),
    }
}
