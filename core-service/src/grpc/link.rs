//! The `EdgeLink` RPC: the core's side of an edge's delivery link.
//!
//! The response stream carries the link's queued deliveries; a task reads
//! the edge's signals. Whichever end goes first ends the link, and with it
//! every session on it (see [`crate::sessions::link`]).

use crate::error::Error;
use crate::sessions::{CloseReason, Link, LinkSession};
use crate::state::Core;
use futures_util::Stream;
use messenger_proto::v1::{LinkSignal, link_signal::Signal};
use messenger_proto::{EDGE_LINK_METADATA, EDGE_SESSION_METADATA, LinkDelivery};
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tonic::metadata::MetadataMap;
use tonic::{Status, Streaming};
use uuid::Uuid;

/// Deliveries queued for one edge before it counts as not reading at all.
/// Each is one event for any number of the edge's sessions.
const LINK_QUEUE: usize = 65_536;

/// The response stream of one link.
pub type DeliveryStream = Pin<Box<dyn Stream<Item = Result<LinkDelivery, Status>> + Send>>;

/// The link named in `metadata`, which must be a UUID.
pub fn link_id(metadata: &MetadataMap) -> Result<Uuid, Error> {
    metadata
        .get(EDGE_LINK_METADATA)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| Uuid::parse_str(text).ok())
        .ok_or_else(|| Error::invalid(EDGE_LINK_METADATA, "must name the link with a UUID"))
}

/// The live link a session opened with `metadata` asks for, with the
/// session's number on it. `None` (the session uses its own stream) when it
/// names none, or one that has ended.
pub fn of_session(core: &Core, metadata: &MetadataMap) -> Option<(Arc<Link>, LinkSession)> {
    let id = link_id(metadata).ok()?;
    let number = metadata
        .get(EDGE_SESSION_METADATA)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    Some((core.links.get(id)?, number))
}

/// Opens the link `id` over the edge's signal stream; returns its deliveries.
pub fn open(
    core: Arc<Core>,
    id: Uuid,
    signals: Streaming<LinkSignal>,
    shutdown: watch::Receiver<bool>,
) -> DeliveryStream {
    let (deliveries, queue) = mpsc::channel(LINK_QUEUE);
    let link = Arc::new(Link::new(id, deliveries));
    core.links.insert(link.clone());
    tracing::info!(link = %id, "edge link opened");
    let guard = Ending {
        link: link.clone(),
        shutdown: shutdown.clone(),
    };
    core.clone()
        .tasks
        .spawn(read_signals(core, link, signals, shutdown.clone()));
    let state = Outgoing {
        queue,
        guard,
        shutdown,
        finished: false,
    };
    Box::pin(futures_util::stream::unfold(state, next_delivery))
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
                signal: Some(Signal::SlowSession(session)),
            })) => link.slow_session(session),
            Ok(Some(LinkSignal { signal: None })) => {}
            Ok(None) | Err(_) => break,
        }
    }
    core.links.remove(&link);
    link.close(closing_reason(&shutdown));
    tracing::info!(link = %link.id(), "edge link ended");
}

/// Why a link's sessions end when the link does.
fn closing_reason(shutdown: &watch::Receiver<bool>) -> CloseReason {
    if *shutdown.borrow() {
        CloseReason::Shutdown
    } else {
        CloseReason::LinkLost
    }
}

/// Ends the link when its response stream is dropped (the edge went away).
struct Ending {
    link: Arc<Link>,
    shutdown: watch::Receiver<bool>,
}

impl Drop for Ending {
    fn drop(&mut self) {
        self.link.close(closing_reason(&self.shutdown));
    }
}

/// What the response stream reads from.
struct Outgoing {
    queue: mpsc::Receiver<LinkDelivery>,
    guard: Ending,
    shutdown: watch::Receiver<bool>,
    finished: bool,
}

async fn next_delivery(mut state: Outgoing) -> Option<(Result<LinkDelivery, Status>, Outgoing)> {
    if state.finished {
        return None;
    }
    let next = tokio::select! {
        biased;
        _ = state.shutdown.wait_for(|stopping| *stopping) => None,
        () = state.guard.link.closed() => None,
        delivery = state.queue.recv() => delivery,
    };
    if let Some(delivery) = next {
        return Some((Ok(delivery), state));
    }
    state.finished = true;
    let status = if *state.shutdown.borrow() {
        Status::unavailable("the core is shutting down")
    } else {
        Status::unavailable("the edge link ended")
    };
    Some((Err(status), state))
}
