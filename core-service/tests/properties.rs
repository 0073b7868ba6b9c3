//! Invariants that are cheaper to state than to fuzz, checked over
//! generated cases on a real PostgreSQL:
//! - a chat's `seq` has no gaps and no repeats, however many senders store
//!   at once through the group commit, retries included;
//! - a read marker only moves forward and never past the chat's last
//!   message, and each message is completed for its sender only once;
//! - paging through a chat's history by cursor, back or forward, in pages
//!   of any size, yields every message exactly once, in order.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use core_service::commands::history::{self, HistoryQuery};
use core_service::demo_data::populate;
use core_service::ids::{ChatId, MessageId, UserId};
use core_service::membership::DEFAULT_TTL;
use core_service::state::{Chats, Limits};
use core_service::store::Store;
use core_service::store::records::NewMessage;
use core_service::store::writer::MessageWriter;
use core_service::testing::TestDatabase;
use demo_data::DemoData;
use demo_data::generate::{Sizes, generate};
use futures_util::future::join_all;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tokio::runtime::Runtime;
use uuid::Uuid;

/// Cases per property: each runs against the database, so few.
const CASES: u32 = 16;

/// Few cases (each runs against the database); a failing case is printed
/// with its shrunk input rather than saved beside the sources.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A database with groups of four to send in, and its world.
fn database(runtime: &Runtime) -> (TestDatabase, DemoData) {
    let world = generate(&Sizes {
        users: 8,
        personal_chats: 2,
        groups: 24,
        group_size: 4,
        messages_per_chat: 3,
        ..Sizes::default()
    })
    .unwrap();
    let db = runtime.block_on(async {
        let db = TestDatabase::create().await;
        populate::populate(&db.store(), &world).await.unwrap();
        db
    });
    (db, world)
}

/// The members of the `index`-th group's chat.
fn group(world: &DemoData, index: usize) -> (ChatId, Vec<UserId>) {
    let chat = world.groups[index % world.groups.len()].chat_id;
    let members = world
        .chat_members
        .iter()
        .filter(|member| member.chat_id == chat)
        .map(|member| UserId(member.user_id))
        .collect();
    (ChatId(chat), members)
}

/// The case's number: each case takes chats of its own.
fn next(round: &std::sync::atomic::AtomicUsize) -> usize {
    round.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn message(chat: ChatId, sender: UserId, client_id: Uuid) -> NewMessage {
    NewMessage {
        id: MessageId(Uuid::now_v7()),
        chat_id: chat,
        sender_id: sender,
        client_id,
        text: format!("message {client_id}"),
        attachments: Default::default(),
    }
}

async fn seqs(store: &Store, chat: ChatId, after: i64) -> Vec<i64> {
    let client = store.connection().await.unwrap();
    client
        .query(
            "SELECT seq FROM messages WHERE chat_id = $1 AND seq > $2 ORDER BY seq",
            &[&chat, &after],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// A send of the plan: to which of three chats, by which member, and
/// whether it repeats the plan's previous send (a client's retry).
fn sends() -> impl Strategy<Value = Vec<(usize, usize, bool)>> {
    prop::collection::vec((0..3usize, 0..4usize, any::<bool>()), 1..80)
}

#[test]
fn seq_is_gapless_per_chat_under_concurrent_sends_and_retries() {
    let runtime = Runtime::new().unwrap();
    let (db, world) = database(&runtime);
    let store = db.store();
    let writer = runtime.block_on(async { MessageWriter::start(store.clone()) });
    let round = std::sync::atomic::AtomicUsize::new(0);
    let config = config();
    proptest!(config, |(plan in sends())| {
        // Three chats of their own per case.
        let chats: Vec<(ChatId, Vec<UserId>)> =
            (0..3).map(|n| group(&world, next(&round) * 3 + n)).collect();
        let mut messages = Vec::new();
        for (index, &(chat, sender, retry)) in plan.iter().enumerate() {
            if retry && index > 0 {
                let earlier: &NewMessage = &messages[index - 1];
                messages.push(message(earlier.chat_id, earlier.sender_id, earlier.client_id));
            } else {
                let (chat, members) = &chats[chat];
                messages.push(message(*chat, members[sender], Uuid::new_v4()));
            }
        }
        runtime.block_on(async {
            let ids: Vec<ChatId> = chats.iter().map(|(chat, _)| *chat).collect();
            let before: BTreeMap<ChatId, i64> = store.last_seqs(&ids).await.unwrap().into_iter().collect();
            let stored = join_all(messages.iter().map(|m| writer.store(m.clone()))).await;
            let mut by_client: BTreeMap<Uuid, (MessageId, i64)> = BTreeMap::new();
            for (sent, stored) in messages.iter().zip(stored) {
                let stored = stored.unwrap().expect("a member's message is stored");
                let first = by_client.entry(sent.client_id).or_insert((stored.id, stored.seq));
                assert_eq!(*first, (stored.id, stored.seq), "a retry gets the first copy");
            }
            for (chat, _) in &chats {
                let last = before.get(chat).copied().unwrap_or(0);
                let distinct: BTreeSet<Uuid> = messages
                    .iter()
                    .filter(|m| m.chat_id == *chat)
                    .map(|m| m.client_id)
                    .collect();
                let expected: Vec<i64> = (last + 1..=last + distinct.len() as i64).collect();
                assert_eq!(seqs(&store, *chat, last).await, expected, "gapless, once each");
            }
        });
    });
}

/// Read-up-to calls: by which member, up to which seq (past the end too).
fn reads() -> impl Strategy<Value = Vec<(usize, i64)>> {
    let upto = prop_oneof![0..40i64, Just(i64::MAX)];
    prop::collection::vec((0..4usize, upto), 1..40)
}

#[test]
fn read_markers_only_move_forward_and_stop_at_the_last_message() {
    let runtime = Runtime::new().unwrap();
    let (db, world) = database(&runtime);
    let store = db.store();
    let round = std::sync::atomic::AtomicUsize::new(0);
    let config = config();
    proptest!(config, |(plan in reads(), more in 0..25usize)| {
        let (chat, members) = group(&world, next(&round));
        runtime.block_on(async {
            for n in 0..more {
                let sender = members[n % members.len()];
                store.insert_message(&message(chat, sender, Uuid::new_v4())).await.unwrap();
            }
            let last = store.last_seqs(&[chat]).await.unwrap()[0].1;
            let mut markers: BTreeMap<UserId, i64> = BTreeMap::new();
            let mut completed = BTreeSet::new();
            for (reader, upto) in plan {
                let reader = members[reader];
                let outcome = store.read_up_to(chat, reader, upto).await.unwrap().unwrap();
                let before = markers.get(&reader).copied().unwrap_or(0);
                assert_eq!(outcome.read_seq, before.max(upto.min(last)), "forward only, clamped");
                markers.insert(reader, outcome.read_seq);
                for record in outcome.now_seen_by_all {
                    assert!(record.seq <= last);
                    assert!(completed.insert(record.id), "completed once: seq {}", record.seq);
                }
            }
        });
    });
}

/// Page sizes, taken in turn.
fn pages() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(1..=100u32, 1..8)
}

#[test]
fn paging_by_cursor_yields_every_message_once_in_order() {
    let runtime = Runtime::new().unwrap();
    let (db, world) = database(&runtime);
    let store = db.store();
    let chats =
        runtime.block_on(async { Chats::new(store.clone(), Limits::default(), DEFAULT_TTL) });
    let round = std::sync::atomic::AtomicUsize::new(0);
    let config = config();
    proptest!(config, |(sizes in pages(), more in 0..260usize, backwards in any::<bool>())| {
        let (chat, members) = group(&world, next(&round));
        runtime.block_on(async {
            let batch: Vec<NewMessage> = (0..more)
                .map(|n| message(chat, members[n % members.len()], Uuid::new_v4()))
                .collect();
            if !batch.is_empty() {
                store.insert_messages(&batch.iter().collect::<Vec<_>>()).await.unwrap();
            }
            let last = store.last_seqs(&[chat]).await.unwrap()[0].1;
            let reader = members[0];
            let mut seen = Vec::new();
            // Back from past the newest message; forward from before the first.
            let mut cursor = if backwards { u64::try_from(last).unwrap() + 1 } else { 0 };
            for turn in 0.. {
                let limit = Some(sizes[turn % sizes.len()]);
                let query = if backwards {
                    HistoryQuery { chat_id: chat, limit, before_seq: Some(cursor), ..HistoryQuery::default() }
                } else {
                    HistoryQuery { chat_id: chat, limit, after_seq: Some(cursor), ..HistoryQuery::default() }
                };
                let page = history::get(&chats, reader, query).await.unwrap();
                let Some(edge) = (if backwards { page.first() } else { page.last() }) else {
                    break;
                };
                cursor = u64::try_from(edge.seq).unwrap();
                let mut seqs: Vec<i64> = page.iter().map(|record| record.seq).collect();
                assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "a page is oldest first");
                if backwards {
                    seqs.extend(seen);
                    seen = seqs;
                } else {
                    seen.extend(seqs);
                }
            }
            let expected: Vec<i64> = (1..=last).collect();
            assert_eq!(seen, expected, "every message once, in order");
        });
    });
}
