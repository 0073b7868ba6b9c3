//! The sessions on one link: each one's operation queue, close switch and
//! credit, and the counts (not logged in, cut off) the link's caps and
//! cut-off rule read.

use crate::sessions::close::CloseSwitch;
use messenger_proto::v1::{ClientOperation, EndReason};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// A session's number on its edge's link, chosen by the edge (the
/// contract's `session` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionNumber(pub u64);

impl std::fmt::Display for SessionNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The sessions on a link, and how many of them have not logged in.
#[derive(Default)]
pub(super) struct Members {
    pub(super) by_number: HashMap<SessionNumber, Member>,
    pub(super) anonymous: usize,
    /// Sessions cut off after the link's queue was full for them.
    pub(super) cut: usize,
}

/// One session on a link.
pub(super) struct Member {
    pub(super) operations: lean_queue::Sender<Box<ClientOperation>>,
    pub(super) switch: Arc<CloseSwitch>,
    pub(super) anonymous: bool,
    /// Missed an event: nothing more is queued for it but its end.
    pub(super) cut: bool,
    /// Paced replies the edge takes now (with the link's credit window).
    pub(super) credit: Option<Arc<Semaphore>>,
}

impl Member {
    /// Ends a paced reply waiting for credit that will not come.
    pub(super) fn stop_pacing(&self) {
        if let Some(credit) = &self.credit {
            credit.close();
        }
    }
}

impl Members {
    pub(super) fn remove(&mut self, session: SessionNumber) -> Option<Member> {
        let member = self.by_number.remove(&session)?;
        member.stop_pacing();
        if member.anonymous {
            self.anonymous -= 1;
        }
        if member.cut {
            self.cut -= 1;
        }
        Some(member)
    }

    pub(super) fn is_cut(&self, session: SessionNumber) -> bool {
        self.by_number
            .get(&session)
            .is_some_and(|member| member.cut)
    }

    /// Cuts off `sessions` (they missed an event); true when that leaves
    /// most of the link's sessions cut.
    pub(super) fn cut(&mut self, sessions: &[u64]) -> bool {
        for &number in sessions {
            if let Some(member) = self.by_number.get_mut(&SessionNumber(number))
                && !member.cut
            {
                member.cut = true;
                member.switch.close(EndReason::SlowConsumer);
                self.cut += 1;
            }
        }
        self.cut * 2 > self.by_number.len()
    }
}
