//! The switch that ends a session, shared by the session's outbox and, for
//! a session on an edge link, by the link.
//!
//! It is a leaf: closing it only sends the reason to the session's task,
//! and dropping it does nothing, so the link can hold it under its own lock
//! without calling back into the registry.

use messenger_proto::v1::EndReason;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Ends one session, once: the first reason given is the one that counts.
pub struct CloseSwitch {
    switch: Mutex<Option<oneshot::Sender<EndReason>>>,
    closed_as: Mutex<Option<EndReason>>,
    /// Fired on closing, for whatever of the session waits on its client.
    fired: CancellationToken,
}

impl CloseSwitch {
    /// A switch that sends the reason into `close`.
    fn new(close: oneshot::Sender<EndReason>) -> Self {
        CloseSwitch {
            switch: Mutex::new(Some(close)),
            closed_as: Mutex::new(None),
            fired: CancellationToken::new(),
        }
    }

    /// A new switch, shared, and the receiver that hears the reason.
    pub fn channel() -> (Arc<Self>, oneshot::Receiver<EndReason>) {
        let (close, closed) = oneshot::channel();
        (Arc::new(CloseSwitch::new(close)), closed)
    }

    /// Ends the session with `reason` (only the first reason counts).
    pub fn close(&self, reason: EndReason) {
        let switch = self.switch.lock().expect("close switch poisoned").take();
        if let Some(switch) = switch {
            *self.closed_as.lock().expect("close switch poisoned") = Some(reason);
            let _ = switch.send(reason);
            self.fired.cancel();
        }
    }

    /// Completes once the session is closed.
    pub async fn closed(&self) {
        self.fired.cancelled().await;
    }

    /// Why the session was closed, if it was.
    pub fn reason(&self) -> Option<EndReason> {
        *self.closed_as.lock().expect("close switch poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_reason_counts() {
        let (close, mut closed) = oneshot::channel();
        let switch = CloseSwitch::new(close);
        assert_eq!(switch.reason(), None);
        switch.close(EndReason::LoggedOut);
        switch.close(EndReason::SlowConsumer);
        assert_eq!(switch.reason(), Some(EndReason::LoggedOut));
        assert_eq!(closed.try_recv(), Ok(EndReason::LoggedOut));
    }
}
