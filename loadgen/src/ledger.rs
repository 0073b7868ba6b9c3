//! The ledger of a run: every message sent, its ack and its deliveries.
//!
//! From it come the run's verdict (lost, duplicated, unacked messages) and
//! its latencies. It is sharded by message so that many connection tasks
//! can write to it at once.

use crate::latency::Latencies;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use uuid::Uuid;

const SHARDS: usize = 64;

/// Thread-safe record of a run's messages.
pub struct Ledger {
    shards: Vec<Mutex<Shard>>,
}

#[derive(Default)]
struct Shard {
    messages: HashMap<Uuid, Entry>,
    ack_latency: Latencies,
    delivery_latency: Latencies,
    unknown_acks: u64,
    duplicate_acks: u64,
    unknown_deliveries: u64,
}

struct Entry {
    sent_at: Instant,
    /// How many connections should receive the message.
    expected: u32,
    acked: bool,
    /// The connections that received it, each once.
    receivers: Vec<u32>,
    duplicates: u32,
}

/// Counts over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub sent: u64,
    pub acked: u64,
    /// Sent but never acked (the run ended or the connection broke first).
    pub unacked: u64,
    /// Deliveries the acked messages should have had.
    pub expected_deliveries: u64,
    /// Deliveries that arrived, counting each (message, connection) once.
    pub deliveries: u64,
    /// Expected deliveries of acked messages that never arrived.
    pub lost: u64,
    /// Deliveries of a message to a connection that already had it.
    pub duplicated: u64,
    /// Deliveries to more connections than expected.
    pub misdelivered: u64,
    /// Acks of a message that was acked before.
    pub duplicate_acks: u64,
    /// Acks and deliveries of messages this run never sent.
    pub unknown_acks: u64,
    pub unknown_deliveries: u64,
}

impl Tally {
    /// No message lost, duplicated, misdelivered or left without an ack.
    pub fn is_clean(&self) -> bool {
        self.unacked == 0
            && self.lost == 0
            && self.duplicated == 0
            && self.misdelivered == 0
            && self.duplicate_acks == 0
            && self.unknown_acks == 0
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

impl Ledger {
    pub fn new() -> Self {
        Ledger {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, id: Uuid) -> std::sync::MutexGuard<'_, Shard> {
        let index = (id.as_u128() % SHARDS as u128) as usize;
        self.shards[index].lock().expect("ledger lock")
    }

    /// A message about to be written, that `expected` connections should get.
    pub fn sent(&self, id: Uuid, expected: u32, at: Instant) {
        let entry = Entry {
            sent_at: at,
            expected,
            acked: false,
            receivers: Vec::with_capacity(expected as usize),
            duplicates: 0,
        };
        self.shard(id).messages.insert(id, entry);
    }

    /// The sender's ack arrived.
    pub fn acked(&self, id: Uuid, at: Instant) {
        let mut shard = self.shard(id);
        let Some(entry) = shard.messages.get_mut(&id) else {
            shard.unknown_acks += 1;
            return;
        };
        if entry.acked {
            shard.duplicate_acks += 1;
            return;
        }
        entry.acked = true;
        let latency = at.saturating_duration_since(entry.sent_at);
        shard.ack_latency.record(latency);
    }

    /// Connection `receiver` got the message.
    pub fn delivered(&self, id: Uuid, receiver: u32, at: Instant) {
        let mut shard = self.shard(id);
        let Some(entry) = shard.messages.get_mut(&id) else {
            shard.unknown_deliveries += 1;
            return;
        };
        if entry.receivers.contains(&receiver) {
            entry.duplicates += 1;
            return;
        }
        entry.receivers.push(receiver);
        let latency = at.saturating_duration_since(entry.sent_at);
        shard.delivery_latency.record(latency);
    }

    /// Deliveries still awaited for acked messages (to know when to stop
    /// waiting at the end of a run).
    pub fn outstanding(&self) -> u64 {
        self.fold(0, |outstanding, shard| {
            outstanding
                + shard
                    .messages
                    .values()
                    .filter(|entry| entry.acked)
                    .map(|entry| {
                        u64::from(entry.expected).saturating_sub(entry.receivers.len() as u64)
                    })
                    .sum::<u64>()
        })
    }

    /// Messages sent and not yet acked.
    pub fn unacked(&self) -> u64 {
        self.fold(0, |count, shard| {
            count + shard.messages.values().filter(|entry| !entry.acked).count() as u64
        })
    }

    pub fn tally(&self) -> Tally {
        self.fold(Tally::default(), |mut tally, shard| {
            tally.duplicate_acks += shard.duplicate_acks;
            tally.unknown_acks += shard.unknown_acks;
            tally.unknown_deliveries += shard.unknown_deliveries;
            for entry in shard.messages.values() {
                count_entry(&mut tally, entry);
            }
            tally
        })
    }

    /// Ack and send→delivery latencies of the whole run.
    pub fn latencies(&self) -> (Latencies, Latencies) {
        self.fold(
            (Latencies::new(), Latencies::new()),
            |(mut ack, mut delivery), shard| {
                ack.add(&shard.ack_latency);
                delivery.add(&shard.delivery_latency);
                (ack, delivery)
            },
        )
    }

    fn fold<T>(&self, init: T, mut step: impl FnMut(T, &Shard) -> T) -> T {
        let mut value = init;
        for shard in &self.shards {
            value = step(value, &shard.lock().expect("ledger lock"));
        }
        value
    }
}

fn count_entry(tally: &mut Tally, entry: &Entry) {
    let received = entry.receivers.len() as u64;
    let expected = u64::from(entry.expected);
    tally.sent += 1;
    tally.deliveries += received;
    tally.duplicated += u64::from(entry.duplicates);
    tally.misdelivered += received.saturating_sub(expected);
    if entry.acked {
        tally.acked += 1;
        tally.expected_deliveries += expected;
        tally.lost += expected.saturating_sub(received);
    } else {
        tally.unacked += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    #[test]
    fn a_clean_run_counts_every_delivery_once() {
        let ledger = Ledger::new();
        let start = Instant::now();
        for id in ids(100) {
            ledger.sent(id, 4, start);
            ledger.acked(id, start + Duration::from_millis(2));
            for receiver in 0..4 {
                ledger.delivered(id, receiver, start + Duration::from_millis(3));
            }
        }
        let tally = ledger.tally();
        assert_eq!(tally.sent, 100);
        assert_eq!(tally.acked, 100);
        assert_eq!(tally.expected_deliveries, 400);
        assert_eq!(tally.deliveries, 400);
        assert_eq!(tally.lost, 0);
        assert!(tally.is_clean(), "{tally:?}");
        assert_eq!(ledger.outstanding(), 0);
        let (ack, delivery) = ledger.latencies();
        assert_eq!(ack.len(), 100);
        assert_eq!(delivery.len(), 400);
        assert!((ack.summary().p50_ms - 2.0).abs() < 0.01);
        assert!((delivery.summary().max_ms - 3.0).abs() < 0.01);
    }

    #[test]
    fn a_missing_delivery_is_lost() {
        let ledger = Ledger::new();
        let [a, b] = ids(2).try_into().unwrap();
        let now = Instant::now();
        ledger.sent(a, 3, now);
        ledger.sent(b, 3, now);
        ledger.acked(a, now);
        ledger.acked(b, now);
        ledger.delivered(a, 0, now);
        ledger.delivered(a, 1, now);
        for receiver in 0..3 {
            ledger.delivered(b, receiver, now);
        }
        assert_eq!(ledger.outstanding(), 1);
        let tally = ledger.tally();
        assert_eq!(tally.lost, 1);
        assert_eq!(tally.deliveries, 5);
        assert!(!tally.is_clean());
    }

    #[test]
    fn a_second_delivery_to_the_same_connection_is_a_duplicate() {
        let ledger = Ledger::new();
        let id = Uuid::new_v4();
        let now = Instant::now();
        ledger.sent(id, 2, now);
        ledger.acked(id, now);
        ledger.delivered(id, 7, now);
        ledger.delivered(id, 7, now);
        ledger.delivered(id, 8, now);
        let tally = ledger.tally();
        assert_eq!(tally.duplicated, 1);
        assert_eq!(tally.deliveries, 2);
        assert_eq!(tally.lost, 0);
        assert!(!tally.is_clean());
        // The duplicate adds no latency sample.
        assert_eq!(ledger.latencies().1.len(), 2);
    }

    #[test]
    fn acks_are_checked_too() {
        let ledger = Ledger::new();
        let id = Uuid::new_v4();
        let now = Instant::now();
        ledger.sent(id, 0, now);
        ledger.acked(id, now);
        ledger.acked(id, now);
        ledger.acked(Uuid::new_v4(), now);
        ledger.delivered(Uuid::new_v4(), 1, now);
        let tally = ledger.tally();
        assert_eq!(tally.duplicate_acks, 1);
        assert_eq!(tally.unknown_acks, 1);
        assert_eq!(tally.unknown_deliveries, 1);
        assert!(!tally.is_clean());
    }

    #[test]
    fn an_unacked_message_is_not_counted_as_lost_but_fails_the_run() {
        let ledger = Ledger::new();
        let id = Uuid::new_v4();
        let now = Instant::now();
        ledger.sent(id, 4, now);
        assert_eq!(ledger.unacked(), 1);
        let tally = ledger.tally();
        assert_eq!(
            (tally.unacked, tally.lost, tally.expected_deliveries),
            (1, 0, 0)
        );
        assert!(!tally.is_clean());
    }

    #[test]
    fn extra_receivers_are_misdelivered() {
        let ledger = Ledger::new();
        let id = Uuid::new_v4();
        let now = Instant::now();
        ledger.sent(id, 1, now);
        ledger.acked(id, now);
        ledger.delivered(id, 1, now);
        ledger.delivered(id, 2, now);
        let tally = ledger.tally();
        assert_eq!(tally.misdelivered, 1);
        assert!(!tally.is_clean());
    }

    #[test]
    fn many_threads_write_at_once() {
        let ledger = std::sync::Arc::new(Ledger::new());
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let ledger = ledger.clone();
                std::thread::spawn(move || {
                    for id in ids(1000) {
                        let now = Instant::now();
                        ledger.sent(id, 2, now);
                        ledger.acked(id, now);
                        ledger.delivered(id, worker, now);
                        ledger.delivered(id, worker + 100, now);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let tally = ledger.tally();
        assert_eq!((tally.sent, tally.deliveries), (4000, 8000));
        assert!(tally.is_clean());
    }
}
