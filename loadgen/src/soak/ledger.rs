//! What the soak's clients saw: every ack and every delivery, after the
//! de-duplication a correct client does (by message id), and the breaches
//! of the messenger's promises found on the way.

use crate::latency::{Latencies, Summary};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
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

#[derive(Default)]
struct State {
    sent: u64,
    /// By `client_id`.
    acks: HashMap<Uuid, Ack>,
    /// From a message's first sending to its first ack, across reconnects
    /// and resends: how long its sender waited.
    ack_waits: Latencies,
    /// Acks of one `client_id` naming another message or seq than the first.
    conflicting_acks: u64,
    /// (user, message id) delivered, once each.
    delivered: HashSet<(usize, Uuid)>,
    /// The highest seq each user got in each chat.
    highest: HashMap<(usize, Uuid), u64>,
    /// Copies a client dropped as already had (resends, syncs after
    /// reconnecting): expected, and counted for the report.
    repeated: u64,
    /// A new message older than one the same connection already had in
    /// that chat.
    out_of_order: u64,
    /// Error frames, by code.
    errors: HashMap<String, u64>,
}

/// Shared by every client task.
#[derive(Default)]
pub struct Ledger(Mutex<State>);

impl Ledger {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().expect("ledger lock")
    }

    pub fn sent(&self) {
        self.state().sent += 1;
    }

    /// `client_id` was acked as `ack`, `waited` after it was first sent.
    pub fn acked(&self, client_id: Uuid, ack: Ack, waited: Duration) {
        let mut state = self.state();
        match state.acks.get(&client_id) {
            Some(first) if *first != ack => state.conflicting_acks += 1,
            Some(_) => {}
            None => {
                state.acks.insert(client_id, ack);
                state.ack_waits.record(waited);
            }
        }
    }

    /// A message reached `user`'s connection; false if it already had it.
    pub fn delivered(&self, user: usize, id: Uuid, chat: Uuid, seq: u64) -> bool {
        let mut state = self.state();
        let new = state.delivered.insert((user, id));
        if new {
            let highest = state.highest.entry((user, chat)).or_default();
            *highest = (*highest).max(seq);
        } else {
            state.repeated += 1;
        }
        new
    }

    pub fn out_of_order(&self) {
        self.state().out_of_order += 1;
    }

    pub fn error(&self, code: &str) {
        *self.state().errors.entry(code.to_owned()).or_default() += 1;
    }

    /// Every ack so far, by `client_id`.
    pub fn acks(&self) -> HashMap<Uuid, Ack> {
        self.state().acks.clone()
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
        let state = self.state();
        let mut undelivered = Undelivered::default();
        for ack in state.acks.values() {
            for &user in members
                .get(&ack.chat)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if user != ack.sender && !state.delivered.contains(&(user, ack.id)) {
                    undelivered.missing += 1;
                    if state
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
        let state = self.state();
        (state.sent, state.acks.len() as u64)
    }

    pub fn counts(&self) -> Counts {
        let state = self.state();
        Counts {
            sent: state.sent,
            acked: state.acks.len() as u64,
            ack_wait: state.ack_waits.summary(),
            deliveries: state.delivered.len() as u64,
            conflicting_acks: state.conflicting_acks,
            repeated_copies_dropped: state.repeated,
            out_of_order: state.out_of_order,
            errors: state.errors.clone(),
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
