//! The response streams the core writes: a session's events on its own
//! stream, an edge's deliveries on its link. Both read one bounded queue
//! until the core shuts down, the stream's end fires, or the queue is
//! drained, and then end with the status their [`Ending`] gives.

use futures_util::Stream;
use std::pin::Pin;
use tokio::sync::{mpsc, watch};
use tonic::Status;

/// A response stream of `T`s.
pub type Outgoing<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// How one kind of response stream ends.
pub trait Ending: Send + 'static {
    /// Fires when the stream must end without draining its queue. Not
    /// polled again once it has fired.
    fn ended(&mut self) -> impl Future<Output = ()> + Send;

    /// The status the stream ends with (`None`: a plain end).
    fn status(&self, shutting_down: bool) -> Option<Status>;
}

/// The stream of `queue`, ended as `ending` says.
pub fn stream<T: Send + 'static>(
    queue: mpsc::Receiver<T>,
    ending: impl Ending,
    shutdown: watch::Receiver<bool>,
) -> Outgoing<T> {
    let state = State {
        queue,
        ending,
        shutdown,
        finished: false,
    };
    Box::pin(futures_util::stream::unfold(state, next))
}

struct State<T, E> {
    queue: mpsc::Receiver<T>,
    ending: E,
    shutdown: watch::Receiver<bool>,
    finished: bool,
}

async fn next<T, E: Ending>(mut state: State<T, E>) -> Option<(Result<T, Status>, State<T, E>)> {
    if state.finished {
        return None;
    }
    let next = tokio::select! {
        biased;
        _ = state.shutdown.wait_for(|stopping| *stopping) => None,
        () = state.ending.ended() => None,
        item = state.queue.recv() => item,
    };
    if let Some(item) = next {
        return Some((Ok(item), state));
    }
    state.finished = true;
    let status = state.ending.status(*state.shutdown.borrow())?;
    Some((Err(status), state))
}
