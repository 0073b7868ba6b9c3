//! A bounded single-producer, single-consumer queue that holds no slots
//! while it is empty.
//!
//! The messenger keeps a queue per connected client on each side of the
//! edge link: the edge one for the frames going to a WebSocket, the core
//! one for the operations coming from it. Nearly all of the time both are
//! empty. Tokio's channel reserves a block of 32 slots and cache-padded
//! counters up front: about 1.5 KiB for a queue of frames, most of an idle
//! connection's memory besides its socket. This one is a `VecDeque` behind
//! a lock, which takes memory only while something is queued and gives back
//! what a burst grew.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Slots an empty queue keeps (the first allocation of a `VecDeque` of
/// small items); one grown beyond this by a burst is freed once it is empty
/// again.
const KEPT_SLOTS: usize = 4;

/// A queue holding at most `capacity` items (at least one).
pub fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        capacity: capacity.max(1),
        state: Mutex::new(State {
            items: VecDeque::new(),
            receiver: None,
            sender: None,
            sender_gone: false,
            receiver_gone: false,
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The producing end; dropping it ends the queue once it is read empty.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The consuming end; dropping it drops what is queued.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// Why an item was not queued; it is given back.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError<T> {
    /// The queue holds `capacity` items.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

struct Shared<T> {
    capacity: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    items: VecDeque<T>,
    /// Woken when an item arrives or the sender goes.
    receiver: Option<Waker>,
    /// Woken when a slot frees or the receiver goes.
    sender: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing here panics while holding the lock; a poisoned one still
        // holds a consistent queue.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Queues `item` and wakes the receiver, after the lock is let go.
fn push<T>(mut state: MutexGuard<'_, State<T>>, item: T) {
    state.items.push_back(item);
    if let Some(receiver) = state.receiver.take() {
        drop(state);
        receiver.wake();
    }
}

impl<T> Sender<T> {
    /// Queues `item` unless the queue is full or the receiver is gone.
    pub fn try_send(&self, item: T) -> Result<(), SendError<T>> {
        let state = self.shared.lock();
        if state.receiver_gone {
            return Err(SendError::Closed(item));
        }
        if state.items.len() >= self.shared.capacity {
            return Err(SendError::Full(item));
        }
        push(state, item);
        Ok(())
    }

    /// Queues `item` even when the queue is full: for the few items that
    /// must reach the receiver whatever else it has not read yet (such as
    /// the news that the stream ends). Gives it back if the receiver is gone.
    pub fn force_send(&self, item: T) -> Result<(), T> {
        let state = self.shared.lock();
        if state.receiver_gone {
            return Err(item);
        }
        push(state, item);
        Ok(())
    }

    /// Queues `item`, waiting for a free slot; gives it back if the
    /// receiver is gone.
    pub async fn send(&self, item: T) -> Result<(), T> {
        let mut item = Some(item);
        poll_fn(|context| {
            let next = item.take().expect("polled after completion");
            match self.try_send(next) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(SendError::Closed(next)) => Poll::Ready(Err(next)),
                Err(SendError::Full(next)) => {
                    let mut state = self.shared.lock();
                    // Read again under the lock: the receiver may have taken
                    // an item since `try_send` looked.
                    if state.items.len() < self.shared.capacity || state.receiver_gone {
                        drop(state);
                        item = Some(next);
                        context.waker().wake_by_ref();
                    } else {
                        state.sender = Some(context.waker().clone());
                        item = Some(next);
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.sender_gone = true;
        if let Some(receiver) = state.receiver.take() {
            drop(state);
            receiver.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once the sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|context| self.poll_recv(context)).await
    }

    /// An item already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        let mut state = self.shared.lock();
        let item = state.items.pop_front();
        if item.is_some() {
            Self::after_take(state);
        }
        item
    }

    fn poll_recv(&mut self, context: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.shared.lock();
        match state.items.pop_front() {
            Some(item) => {
                Self::after_take(state);
                Poll::Ready(Some(item))
            }
            None if state.sender_gone => Poll::Ready(None),
            None => {
                state.receiver = Some(context.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Frees what a burst grew once the queue is empty, and wakes a sender
    /// waiting for the slot just freed.
    fn after_take(mut state: MutexGuard<'_, State<T>>) {
        if state.items.is_empty() && state.items.capacity() > KEPT_SLOTS {
            state.items = VecDeque::new();
        }
        if let Some(sender) = state.sender.take() {
            drop(state);
            sender.wake();
        }
    }
}

impl<T> futures_util::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(context)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        let items = std::mem::take(&mut state.items);
        let sender = state.sender.take();
        drop(state);
        drop(items);
        if let Some(sender) = sender {
            sender.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{FutureExt, StreamExt};
    use std::time::Duration;

    #[test]
    fn items_come_out_in_order_and_a_full_queue_refuses_more() {
        let (sender, mut receiver) = queue(2);
        assert_eq!(sender.try_send(1), Ok(()));
        assert_eq!(sender.try_send(2), Ok(()));
        assert_eq!(sender.try_send(3), Err(SendError::Full(3)));
        assert_eq!(receiver.try_recv(), Some(1));
        assert_eq!(sender.try_send(3), Ok(()));
        assert_eq!(receiver.try_recv(), Some(2));
        assert_eq!(receiver.try_recv(), Some(3));
        assert_eq!(receiver.try_recv(), None);
    }

    #[test]
    fn a_forced_item_goes_in_beyond_the_capacity() {
        let (sender, mut receiver) = queue(1);
        sender.try_send(1).unwrap();
        assert_eq!(sender.force_send(2), Ok(()));
        assert_eq!(sender.try_send(3), Err(SendError::Full(3)));
        assert_eq!(receiver.try_recv(), Some(1));
        assert_eq!(receiver.try_recv(), Some(2));
        drop(receiver);
        assert_eq!(sender.force_send(4), Err(4));
    }

    #[test]
    fn the_receiver_reads_what_is_left_after_the_sender_goes_then_ends() {
        let (sender, mut receiver) = queue(4);
        sender.try_send("last").unwrap();
        drop(sender);
        assert_eq!(receiver.recv().now_or_never(), Some(Some("last")));
        assert_eq!(receiver.recv().now_or_never(), Some(None));
    }

    #[test]
    fn a_sender_whose_receiver_is_gone_gets_its_item_back() {
        let (sender, receiver) = queue(4);
        drop(receiver);
        assert_eq!(sender.try_send(7), Err(SendError::Closed(7)));
        assert_eq!(sender.send(8).now_or_never(), Some(Err(8)));
    }

    #[test]
    fn an_empty_queue_gives_back_what_a_burst_grew() {
        let (sender, mut receiver) = queue(1024);
        for n in 0..500 {
            sender.try_send(n).unwrap();
        }
        while receiver.try_recv().is_some() {}
        assert!(sender.shared.lock().items.capacity() <= KEPT_SLOTS);
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_an_item() {
        let (sender, mut receiver) = queue(4);
        let reader = tokio::spawn(async move { receiver.next().await });
        tokio::task::yield_now().await;
        sender.try_send(5).unwrap();
        let read = tokio::time::timeout(Duration::from_secs(5), reader).await;
        assert_eq!(read.unwrap().unwrap(), Some(5));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sender_waits_for_a_free_slot_and_loses_nothing() {
        let (sender, mut receiver) = queue(3);
        let writer = tokio::spawn(async move {
            for n in 0..1000 {
                sender.send(n).await.unwrap();
            }
        });
        let mut read = Vec::new();
        while let Some(n) = tokio::time::timeout(Duration::from_secs(5), receiver.recv())
            .await
            .unwrap()
        {
            read.push(n);
        }
        writer.await.unwrap();
        assert_eq!(read, (0..1000).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_waiting_sender_is_released_when_the_receiver_goes() {
        let (sender, receiver) = queue(1);
        sender.try_send(1).unwrap();
        let writer = tokio::spawn(async move { sender.send(2).await });
        tokio::task::yield_now().await;
        drop(receiver);
        let sent = tokio::time::timeout(Duration::from_secs(5), writer).await;
        assert_eq!(sent.unwrap().unwrap(), Err(2));
    }
}
