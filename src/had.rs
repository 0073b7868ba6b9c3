//! What a client has of one chat's messages, as a session move counts it:
//! the edge while it writes them, the core that takes the session over.

use std::collections::BTreeSet;

/// Every message up to a seq, and some later ones (the client's own,
/// acked ahead of earlier ones, or ones that came out of order).
#[derive(Debug, Default, Clone)]
pub struct Had {
    upto: u64,
    above: BTreeSet<u64>,
}

impl Had {
    /// Every message up to `upto`.
    pub fn up_to(upto: u64) -> Had {
        Had {
            upto,
            above: BTreeSet::new(),
        }
    }

    /// The seq up to which the client has every message.
    pub fn upto(&self) -> u64 {
        self.upto
    }

    /// The later messages it has too.
    pub fn above(&self) -> impl Iterator<Item = u64> + '_ {
        self.above.iter().copied()
    }

    pub fn has(&self, seq: u64) -> bool {
        seq <= self.upto || self.above.contains(&seq)
    }

    /// Notes `seq` as had, moving `upto` over what is now unbroken.
    pub fn add(&mut self, seq: u64) {
        if seq <= self.upto {
            return;
        }
        self.above.insert(seq);
        while self.above.remove(&(self.upto + 1)) {
            self.upto += 1;
        }
    }
}
