//! Invariants that are cheaper to state than to fuzz, checked over
//! generated cases on a real PostgreSQL:
//! - a chat's `seq` has no gaps and no repeats, however many senders store
//!   at once through the group commit, retries included;
//! - a read marker only moves forward and never past the chat's last
//!   message, and each message is completed for its sender only once;
//! - paging through a chat's history by cursor, back or forward, in pages
//!   of any size, yields every message exactly once, in order;
//! - the unread count of a chat list is what the member's history says:
//!   the messages after their mark that are not theirs, not marked seen one
//!   by one and not from someone they block, whatever sends, retries,
//!   receipts, read markers, hiding and blocks came, at once or in turn.

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
        written_at: None,
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

/// One step of what a chat's members do.
#[derive(Debug, Clone)]
enum Step {
    /// A member sends (through the group commit or alone); a retry sends
    /// the previous message again.
    Send {
        sender: usize,
        alone: bool,
        retry: bool,
    },
    /// A member marks one message seen (picked among those sent so far).
    Receipt { reader: usize, pick: usize },
    /// A member moves their read marker (a seq, past the end too).
    Read { reader: usize, upto: i64 },
    /// A member hides the chat.
    Hide { member: usize },
    /// A member blocks or unblocks another.
    Block {
        blocker: usize,
        blocked: usize,
        on: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..4usize, any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(sender, alone, retry)| Step::Send { sender, alone, retry }),
        2 => (0..4usize, any::<usize>()).prop_map(|(reader, pick)| Step::Receipt { reader, pick }),
        1 => (0..4usize, prop_oneof![0..30i64, Just(i64::MAX)])
            .prop_map(|(reader, upto)| Step::Read { reader, upto }),
        1 => (0..4usize).prop_map(|member| Step::Hide { member }),
        1 => (0..4usize, 0..4usize, any::<bool>())
            .prop_map(|(blocker, blocked, on)| Step::Block { blocker, blocked, on }),
    ]
}

/// Rounds of steps: the steps of one round run at once.
fn rounds() -> impl Strategy<Value = Vec<Vec<Step>>> {
    prop::collection::vec(prop::collection::vec(step(), 1..6), 1..12)
}

/// Runs one step; `sent` holds what was sent so far (for receipts and
/// retries).
async fn run_step(
    store: &Store,
    writer: &MessageWriter,
    chat: ChatId,
    members: &[UserId],
    sent: &[NewMessage],
    step: Step,
) {
    match step {
        Step::Send {
            sender,
            alone,
            retry,
        } => {
            let message = match sent.last() {
                Some(earlier) if retry => message(chat, earlier.sender_id, earlier.client_id),
                _ => message(chat, members[sender], Uuid::new_v4()),
            };
            let stored = match alone {
                true => store.insert_message(&message).await.unwrap(),
                false => writer.store(message).await.unwrap(),
            };
            assert!(stored.is_some(), "a member's message is stored");
        }
        Step::Receipt { reader, pick } if !sent.is_empty() => {
            let message = &sent[pick % sent.len()];
            store.mark_seen(members[reader], message.id).await.unwrap();
        }
        Step::Receipt { .. } => {}
        Step::Read { reader, upto } => {
            store.read_up_to(chat, members[reader], upto).await.unwrap();
        }
        Step::Hide { member } => {
            store.hide_chat(chat, members[member]).await.unwrap();
        }
        Step::Block {
            blocker,
            blocked,
            on,
        } if blocker != blocked => {
            let (blocker, blocked) = (members[blocker], members[blocked]);
            match on {
                true => assert!(store.block(blocker, blocked).await.unwrap()),
                false => store.unblock(blocker, blocked).await.unwrap(),
            }
        }
        Step::Block { .. } => {}
    }
}

/// What `reader`'s history of the chat says is unread: the messages it
/// shows (none up to where they hid it, none of people they block) after
/// their read marker, sent by others and not marked seen by them.
async fn unread_in_history(chats: &Chats, chat: ChatId, reader: UserId) -> i64 {
    let client = chats.store.connection().await.unwrap();
    let marker: i64 = client
        .query_one(
            "SELECT read_seq FROM chat_members WHERE chat_id = $1 AND user_id = $2",
            &[&chat, &reader],
        )
        .await
        .unwrap()
        .get(0);
    let receipted: BTreeSet<Uuid> = client
        .query(
            "SELECT s.message_id FROM message_seen_status s
             JOIN messages m ON m.id = s.message_id
             WHERE s.user_id = $2 AND m.chat_id = $1",
            &[&chat, &reader],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut unread = 0;
    let mut cursor = 0;
    loop {
        let query = HistoryQuery {
            chat_id: chat,
            limit: Some(100),
            after_seq: Some(cursor),
            ..HistoryQuery::default()
        };
        let page = history::get(chats, reader, query).await.unwrap();
        let Some(last) = page.last() else {
            return unread;
        };
        cursor = u64::try_from(last.seq).unwrap();
        unread += page
            .iter()
            .filter(|m| m.seq > marker && m.sender_id != reader && !receipted.contains(&m.id.0))
            .count() as i64;
    }
}

#[test]
fn unread_counts_are_what_history_says() {
    let runtime = Runtime::new().unwrap();
    let (db, world) = database(&runtime);
    let store = db.store();
    let writer = runtime.block_on(async { MessageWriter::start(store.clone()) });
    let chats =
        runtime.block_on(async { Chats::new(store.clone(), Limits::default(), DEFAULT_TTL) });
    let round = std::sync::atomic::AtomicUsize::new(0);
    let config = config();
    proptest!(config, |(plan in rounds())| {
        let (chat, members) = group(&world, next(&round));
        runtime.block_on(async {
            let mut sent: Vec<NewMessage> = Vec::new();
            for steps in plan {
                let runs = steps.iter().cloned().map(|step| {
                    run_step(&store, &writer, chat, &members, &sent, step)
                });
                join_all(runs).await;
                sent = history_of(&store, chat).await;
                for member in &members {
                    let listed = store.chats_of_user(*member, 100, 0).await.unwrap();
                    let counted = listed.iter().find(|summary| summary.id == chat);
                    let expected = unread_in_history(&chats, chat, *member).await;
                    match counted {
                        Some(summary) => assert_eq!(summary.unread, expected, "{member:?}"),
                        // A hidden chat with nothing new is left out.
                        None => assert_eq!(expected, 0, "{member:?}"),
                    }
                }
            }
        });
    });
}

/// The chat's messages as sent (for receipts and retries).
async fn history_of(store: &Store, chat: ChatId) -> Vec<NewMessage> {
    let client = store.connection().await.unwrap();
    client
        .query(
            "SELECT id, sender_id, client_id, text FROM messages WHERE chat_id = $1 ORDER BY seq",
            &[&chat],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| NewMessage {
            id: MessageId(row.get(0)),
            chat_id: chat,
            sender_id: UserId(row.get(1)),
            // A message loaded without one is sent again as a new one.
            client_id: row.get::<_, Option<Uuid>>(2).unwrap_or_else(Uuid::new_v4),
            written_at: None,
            text: row.get(3),
            attachments: Default::default(),
        })
        .collect()
}
