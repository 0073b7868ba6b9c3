//! The end of a soak: the ledger against PostgreSQL and against itself.

use super::client::Client;
use super::ledger::{Counts, Ledger};
use crate::dataset::Directory;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use tokio_postgres::NoTls;
use uuid::Uuid;

/// What the checks found; `clean` when nothing was lost or doubled.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub counts: Counts,
    pub clients: usize,
    /// Clients that had everything acked and caught up within the drain.
    pub clients_finished: usize,
    pub reconnects: u64,
    /// Acked, yet not in the database.
    pub acked_not_stored: u64,
    /// A `client_id` stored more than once.
    pub stored_twice: u64,
    /// Stored with another id or seq than the ack said.
    pub stored_otherwise: u64,
    /// Deliveries of acked messages to other members that never came.
    pub undelivered: u64,
    /// Of those, the ones the member skipped: it got a later message of
    /// the chat (so its cursor, and a sync from it, passed them by).
    pub undelivered_holes: u64,
    /// Of those, the ones for members whose client finished (took its
    /// last catch-up); the others may only be late.
    pub undelivered_to_finished: u64,
    /// Chats whose seqs are not exactly 1 … their count.
    pub chats_with_gaps: i64,
    pub clean: bool,
}

/// Checks every ack against the database, every chat's seqs, and every
/// acked message's deliveries.
/// `directory` is the data set the soak ran on, in the database at
/// `database_url`.
pub async fn check(
    database_url: &str,
    directory: &Directory,
    ledger: &Ledger,
    clients: &[Client],
) -> Result<Verdict, tokio_postgres::Error> {
    let (database, connection) = tokio_postgres::connect(database_url, NoTls).await?;
    tokio::spawn(connection);
    let acks = ledger.acks();
    let ids: Vec<Uuid> = acks.keys().copied().collect();
    // One pass over `messages` for all of them: its `client_id` has no
    // index (the keys the server keeps are in `sent_keys`, for a window).
    let rows = database
        .query(
            "SELECT m.client_id, count(*), min(m.id::text), min(m.seq)
             FROM messages m JOIN unnest($1::uuid[]) acked (id) ON acked.id = m.client_id
             GROUP BY m.client_id",
            &[&ids],
        )
        .await?;
    let stored: HashMap<Uuid, (i64, String, i64)> = rows
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3))))
        .collect();
    let (mut acked_not_stored, mut stored_twice, mut stored_otherwise) = (0, 0, 0);
    for (client_id, ack) in &acks {
        match stored.get(client_id) {
            None => acked_not_stored += 1,
            Some((count, _, _)) if *count > 1 => stored_twice += 1,
            Some((_, id, seq)) if *id != ack.id.to_string() || *seq != ack.seq as i64 => {
                stored_otherwise += 1;
            }
            Some(_) => {}
        }
    }
    let gaps: i64 = database
        .query_one(
            "SELECT count(*) FROM (SELECT chat_id FROM messages GROUP BY chat_id
             HAVING count(*) <> max(seq) OR min(seq) <> 1) AS gapped",
            &[],
        )
        .await?
        .get(0);
    let counts = ledger.counts();
    let finished: HashSet<usize> = clients.iter().map(|client| client.user).collect();
    let undelivered = ledger.undelivered(&directory.chat_members, &finished);
    let clean = acked_not_stored + stored_twice + stored_otherwise + undelivered.missing == 0
        && gaps == 0
        && counts.conflicting_acks == 0
        && counts.out_of_order == 0
        && clients.len() == directory.users.len();
    Ok(Verdict {
        counts,
        clients: directory.users.len(),
        clients_finished: clients.len(),
        reconnects: clients.iter().map(|client| client.reconnects).sum(),
        acked_not_stored,
        stored_twice,
        stored_otherwise,
        undelivered: undelivered.missing,
        undelivered_holes: undelivered.holes,
        undelivered_to_finished: undelivered.to_finished,
        chats_with_gaps: gaps,
        clean,
    })
}
