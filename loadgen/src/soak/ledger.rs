//! What the soak's clients saw: every ack and every delivery, after the
//! de-duplication a correct client does (by message id), and the breaches
//! of the messenger's promises found on the way.

use crate::latency::{Latencies, Summary};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use uuid::Uuid;

/// An acked message: what the server said it stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub id: Uuid,
    pub chat: Uuid,
    pub seq: u64,
    /// The sending user (its own connection gets the ack, not a copy).
    pub sender: usize,
}

/// Shards of the ledger, each locked alone: the clients record tens of
/// millions of deliveries, and one table that size stalls every client
/// (and so every socket's reading) for seconds each time it grows.
const SHARDS: usize = 64;

/// What one shard holds: the users whose index falls to it, with the
/// messages they sent and the ones they got.
#[derive(Default)]
struct Shard {
    /// Acks of the shard's users' messages, by `client_id`.
    acks: HashMap<Uuid, Ack>,
    /// (user, message id) delivered, once each.
    delivered: HashSet<(usize, Uuid)>,
    /// The highest seq each user got in each chat.
    highest: HashMap<(usize, Uuid), u64>,
}

/// Shared by every client task.
pub struct Ledger {
    shards: Vec<Mutex<Shard>>,
    sent: AtomicU64,
    acked: AtomicU64,
    /// From a message's first sending to its first ack, across reconnects
    /// and resends: how long its sender waited.
    ack_waits: Mutex<Latencies>,
    /// Acks of one `client_id` naming another message or seq than the first.
    conflicting_acks: AtomicU64,
    /// Copies a client dropped as already had (resends, syncs after
    /// reconnecting): expected, and counted for the report.
    repeated: AtomicU64,
    /// A new message older than one the same connection already had in
    /// that chat.
    out_of_order: AtomicU64,
    /// Error frames, by code.
    errors: Mutex<HashMap<String, u64>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            ack_waits: Mutex::default(),
            conflicting_acks: AtomicU64::new(0),
            repeated: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            errors: Mutex::default(),
        }
    }
}

impl Ledger {
    /// The shard that holds `user`'s acks and deliveries.
    fn index(user: usize) -> usize {
        user % SHARDS
    }

    fn shard(&self, user: usize) -> MutexGuard<'_, Shard> {
        self.shards[Self::index(user)].lock().expect("ledger lock")
    }

    fn all_shards(&self) -> Vec<MutexGuard<'_, Shard>> {
        self.shards
            .iter()
            .map(|shard| shard.lock().expect("ledger lock"))
            .collect()
    }

    pub fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// `client_id` was acked as `ack`, `waited` after it was first sent.
    pub fn acked(&self, client_id: Uuid, ack: Ack, waited: Duration) {
        let mut shard = self.shard(ack.sender);
        match shard.acks.get(&client_id) {
            Some(first) if *first != ack => {
                self.conflicting_acks.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {}
            None => {
                shard.acks.insert(client_id, ack);
                drop(shard);
                self.acked.fetch_add(1, Ordering::Relaxed);
                self.ack_waits.lock().expect("ledger lock").record(waited);
            }
        }
    }

    /// A message reached `user`'s connection; false if it already had it.
    pub fn delivered(&self, user: usize, id: Uuid, chat: Uuid, seq: u64) -> bool {
        let mut shard = self.shard(user);
        let new = shard.delivered.insert((user, id));
        if new {
            let highest = shard.highest.entry((user, chat)).or_default();
            *highest = (*highest).max(seq);
        } else {
            self.repeated.fetch_add(1, Ordering::Relaxed);
        }
        new
    }

    pub fn out_of_order(&self) {
        self.out_of_order.fetch_add(1, Ordering::Relaxed);
    }

    pub fn error(&self, code: &str) {
        let mut errors = self.errors.lock().expect("ledger lock");
        *errors.entry(code.to_owned()).or_default() += 1;
    }

    /// Every ack so far, by `client_id`.
    pub fn acks(&self) -> HashMap<Uuid, Ack> {
        self.all_shards()
            .iter()
            .flat_map(|shard| shard.acks.iter().map(|(&id, ack)| (id, ack.clone())))
            .collect()
    }

    /// Deliveries of acked messages that never came (to every member of
    /// the chat but the sender): how many, how many of those are holes
    /// (the member got a later message of the chat), and how many were
    /// for members whose client `finished` (took its last catch-up).
    pub fn undelivered(
        &self,
        members: &HashMap<Uuid, Vec<usize>>,
        finished: &HashSet<usize>,
    ) -> Undelivered {
        let shards = self.all_shards();
        let mut undelivered = Undelivered::default();
        for ack in shards.iter().flat_map(|shard| shard.acks.values()) {
            for &user in members
                .get(&ack.chat)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let book = &shards[Self::index(user)];
                if user != ack.sender && !book.delivered.contains(&(user, ack.id)) {
                    undelivered.missing += 1;
                    if book
                        .highest
                        .get(&(user, ack.chat))
                        .is_some_and(|&seq| seq > ack.seq)
                    {
                        undelivered.holes += 1;
                    }
                    if finished.contains(&user) {
                        undelivered.to_finished += 1;
                    }
                }
            }
        }
        undelivered
    }

    /// Messages sent and acked so far (what the soak polls while it runs).
    pub fn progress(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.acked.load(Ordering::Relaxed),
        )
    }

    pub fn counts(&self) -> Counts {
        let deliveries = self
            .all_shards()
            .iter()
            .map(|shard| shard.delivered.len() as u64)
            .sum();
        let (sent, acked) = self.progress();
        Counts {
            sent,
            acked,
            ack_wait: self.ack_waits.lock().expect("ledger lock").summary(),
            deliveries,
            conflicting_acks: self.conflicting_acks.load(Ordering::Relaxed),
            repeated_copies_dropped: self.repeated.load(Ordering::Relaxed),
            out_of_order: self.out_of_order.load(Ordering::Relaxed),
            errors: self.errors.lock().expect("ledger lock").clone(),
        }
    }
}

/// Deliveries that never came; see [`Ledger::undelivered`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Undelivered {
    pub missing: u64,
    pub holes: u64,
    pub to_finished: u64,
}

/// The ledger's totals.
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub sent: u64,
    pub acked: u64,
    /// From first sending to ack.
    pub ack_wait: Summary,
    pub deliveries: u64,
    pub conflicting_acks: u64,
    pub repeated_copies_dropped: u64,
    pub out_of_order: u64,
    pub errors: HashMap<String, u64>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ack(chat: Uuid, seq: u64, sender: usize) -> Ack {
        Ack {
            id: Uuid::new_v4(),
            chat,
            seq,
            sender,
        }
    }

    /// Users in different shards: each member's deliveries are looked up
    /// in its own shard, whichever shard holds the sender's acks.
    #[test]
    fn undelivered_counts_every_missing_member_across_shards() {
        let ledger = Ledger::default();
        let chat = Uuid::new_v4();
        let (sender, got_all, missed_first, never) = (1, 2, SHARDS + 3, 2 * SHARDS + 4);
        let members = HashMap::from([(chat, vec![sender, got_all, missed_first, never])]);
        let first = ack(chat, 1, sender);
        let second = ack(chat, 2, sender);
        for message in [&first, &second] {
            ledger.sent();
            ledger.acked(Uuid::new_v4(), message.clone(), Duration::from_millis(5));
        }
        for message in [&first, &second] {
            assert!(ledger.delivered(got_all, message.id, chat, message.seq));
        }
        assert!(!ledger.delivered(got_all, first.id, chat, first.seq));
        assert!(ledger.delivered(missed_first, second.id, chat, second.seq));

        let finished = HashSet::from([got_all, missed_first]);
        let undelivered = ledger.undelivered(&members, &finished);
        assert_eq!(undelivered.missing, 3, "one to missed_first, two to never");
        assert_eq!(undelivered.holes, 1, "missed_first got the later one");
        assert_eq!(undelivered.to_finished, 1);
        let counts = ledger.counts();
        assert_eq!((counts.sent, counts.acked, counts.deliveries), (2, 2, 3));
        assert_eq!(counts.repeated_copies_dropped, 1);
        assert_eq!(ledger.acks().len(), 2);
    }

    #[test]
    fn a_second_ack_naming_another_message_conflicts() {
        let ledger = Ledger::default();
        let chat = Uuid::new_v4();
        let client_id = Uuid::new_v4();
        let first = ack(chat, 1, 7);
        ledger.acked(client_id, first.clone(), Duration::ZERO);
        ledger.acked(client_id, first, Duration::ZERO);
        ledger.acked(client_id, ack(chat, 2, 7), Duration::ZERO);
        let counts = ledger.counts();
        assert_eq!((counts.acked, counts.conflicting_acks), (1, 1));
        assert_eq!(counts.ack_wait.count, 1);
    }
}
