//! The plans PostgreSQL picks for the send, receipt and history paths find
//! their rows through indexes whatever the statistics say: planned while
//! the tables are empty (a new deployment), on a large table whose
//! statistics were taken while it was empty (autovacuum off or behind), and
//! after an `ANALYZE` of the large table.
//!
//! The store runs its real operations on connections that force generic
//! plans (the kind a connection keeps for the rest of its life) and have
//! `auto_explain` send every executed plan, nested statements and
//! foreign-key checks included, back as a notice.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use core_service::demo_data::DemoData;
use core_service::demo_data::generate::{Sizes, generate};
use core_service::demo_data::populate;
use core_service::ids::{ChatId, ConnectionId, CoreId, GroupId, MessageId, UserId};
use core_service::store::Store;
use core_service::store::attachments::MediaRecord;
use core_service::store::chats::{GroupQuota, GroupRecord};
use core_service::store::connections::{ConnectionOrigin, EndReason};
use core_service::store::direct_chats::DirectChat;
use core_service::store::edits::Change;
use core_service::store::members::{AddLimits, Role};
use core_service::store::privacy::PrivacyChange;
use core_service::store::receipts::{ReadOutcome, SeenOutcome};
use core_service::store::records::NewMessage;
use core_service::store::search::MessageSearch;
use core_service::testing::TestDatabase;
use deadpool_postgres::Connect;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, Error, NoTls};
use uuid::Uuid;

/// Tables that grow with use: none may be read without an index condition.
/// (And the partitions of `sent_keys`, each one day's: [`growing`].)
const GROWING: [&str; 11] = [
    "messages",
    "message_words",
    "chat_words",
    "message_edits",
    "direct_chats",
    "groups",
    "blocks",
    "message_seen_status",
    "chats",
    "chat_members",
    "users",
];

/// Whether `table` is one that grows with use.
fn growing(table: &str) -> bool {
    let day = table.strip_prefix("sent_keys_");
    GROWING.contains(&table) || day.is_some_and(|day| day.bytes().all(|b| b.is_ascii_digit()))
}

/// Session settings that report every plan as a JSON notice.
const EXPLAIN_OPTIONS: &str = "-c session_preload_libraries=auto_explain \
     -c auto_explain.log_min_duration=0 -c auto_explain.log_nested_statements=on \
     -c auto_explain.log_level=notice -c auto_explain.log_format=json \
     -c plan_cache_mode=force_generic_plan";

/// Opens connections whose notices (the plans) are collected.
#[derive(Clone, Default)]
struct Explaining {
    plans: Arc<Mutex<Vec<String>>>,
}

type Connected = Result<(Client, JoinHandle<()>), Error>;

impl Connect for Explaining {
    fn connect(&self, config: &Config) -> Pin<Box<dyn Future<Output = Connected> + Send + '_>> {
        let config = config.clone();
        let plans = self.plans.clone();
        Box::pin(async move {
            let (client, mut connection) = config.connect(NoTls).await?;
            let task = tokio::spawn(async move {
                while let Some(Ok(message)) =
                    std::future::poll_fn(|cx| connection.poll_message(cx)).await
                {
                    if let AsyncMessage::Notice(notice) = message {
                        plans.lock().unwrap().push(notice.message().to_owned());
                    }
                }
            });
            Ok((client, task))
        })
    }
}

/// A store on `db` whose plans are collected, with fresh connections (so
/// fresh plans) and no recent-messages cache (so history reads SQL).
fn explaining_store(db: &TestDatabase) -> (Store, Explaining) {
    let explaining = Explaining::default();
    let mut config = db.config();
    config.options(EXPLAIN_OPTIONS);
    let store = Store::with_connect(config, 4, explaining.clone())
        .unwrap()
        .with_recent_budget(0);
    (store, explaining)
}

fn data() -> DemoData {
    generate(&Sizes {
        users: 6,
        personal_chats: 2,
        groups: 2,
        group_size: 4,
        messages_per_chat: 3,
        seed: 11,
        ..Sizes::default()
    })
    .unwrap()
}

fn members_of(data: &DemoData, chat: ChatId) -> Vec<UserId> {
    data.chat_members
        .iter()
        .filter(|member| member.chat_id == chat.0)
        .map(|member| UserId(member.user_id))
        .collect()
}

fn new_message(chat_id: ChatId, sender_id: UserId, client_id: Uuid) -> NewMessage {
    NewMessage {
        id: MessageId(Uuid::now_v7()),
        chat_id,
        sender_id,
        client_id,
        written_at: None,
        text: "plan".into(),
        attachments: Default::default(),
    }
}

/// Runs every operation of the send, receipt and history paths once.
// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
async fn exercise(store: &Store, data: &DemoData) {
    let chat = ChatId(data.chats[0].id);
    let other_chat = ChatId(data.chats[1].id);
    let members = members_of(data, chat);
    let (sender, reader) = (members[0], members[1]);
    let stranger = data
        .users
        .iter()
        .map(|user| UserId(user.id))
        .find(|user| !members.contains(user))
        .unwrap();

    let first = new_message(chat, sender, Uuid::new_v4());
    let stored = store.insert_message(&first).await.unwrap().unwrap();
    assert!(stored.created);
    assert!(!store.insert_message(&first).await.unwrap().unwrap().created);
    let fresh = new_message(other_chat, members_of(data, other_chat)[0], Uuid::new_v4());
    let batch = [&fresh, &first, &fresh];
    let answers = store.insert_messages(&batch).await.unwrap();
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.as_ref().unwrap().created)
            .count(),
        1
    );

    store.chat_members(chat).await.unwrap();
    assert!(store.reader(chat, reader).await.unwrap().is_some());
    assert!(store.reader(chat, stranger).await.unwrap().is_none());
    let refused = new_message(chat, stranger, Uuid::new_v4());
    assert!(store.insert_message(&refused).await.unwrap().is_none());
    let last = stored.seq;
    let hidden = [sender];
    let oldest = store.history_hiding(chat, Some(0), None, 0, 5, &hidden);
    assert!(oldest.await.unwrap().iter().all(|m| m.sender_id != sender));
    let newest = store.history_hiding(chat, None, Some(last + 1), 0, 5, &hidden);
    assert!(newest.await.unwrap().iter().all(|m| m.sender_id != sender));
    // Part of each chat indexed: search reads words, then text.
    let (behind, _) = store.chats_behind(None, 100).await.unwrap();
    assert!(behind.contains(&chat));
    store.index_words(&[chat, other_chat], 2).await.unwrap();
    let search = MessageSearch {
        reader,
        query: "words",
        chat: None,
        before: Some(stored.id),
        limit: 5,
    };
    store.search_messages(&search).await.unwrap();
    let in_chat = MessageSearch {
        chat: Some(chat),
        before: None,
        ..search
    };
    store.search_messages(&in_chat).await.unwrap();
    assert!(store.blockers_of(reader).await.unwrap().is_empty());
    assert!(store.blocked_by(reader).await.unwrap().is_empty());
    assert_eq!(store.history(chat, 2, 0).await.unwrap().len(), 2);
    assert_eq!(store.history(chat, 2, last - 1).await.unwrap().len(), 1);
    assert!(
        !store
            .history_between(chat, Some(1), None, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .history_between(chat, None, Some(last), 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .history_between(chat, Some(0), Some(last), 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .history_between(chat, None, None, 5)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        store.mark_seen(stranger, stored.id).await.unwrap(),
        SeenOutcome::NotFound
    );
    let mut outcomes = vec![];
    for member in &members {
        outcomes.push(store.mark_seen(*member, stored.id).await.unwrap());
    }
    assert!(matches!(
        outcomes.last(),
        Some(SeenOutcome::NowSeenByAll(_))
    ));
    store.mark_seen(reader, stored.id).await.unwrap();
    let unread = new_message(chat, sender, Uuid::new_v4());
    store.insert_message(&unread).await.unwrap();
    assert!(store.read_up_to(chat, stranger, 5).await.unwrap().is_none());
    for member in &members {
        store.read_up_to(chat, *member, last + 5).await.unwrap();
    }
    let edit = Uuid::new_v4();
    let edited = store.edit_message(unread.id, sender, edit, "edited").await;
    assert!(matches!(edited.unwrap(), Change::Changed(_)));
    let again = store.edit_message(unread.id, sender, edit, "edited").await;
    assert!(matches!(again.unwrap(), Change::Repeated(_)));
    store.delete_message(unread.id, sender).await.unwrap();
    let again = store.delete_message(unread.id, sender).await;
    assert!(matches!(again.unwrap(), Change::Repeated(_)));

    store.chat_positions(reader).await.unwrap();
    assert!(!store.chats_of_user(reader, 50, 0).await.unwrap().is_empty());
    assert_eq!(store.hide_chat(chat, stranger).await.unwrap(), None);
    assert!(store.hide_chat(chat, reader).await.unwrap().is_some());
    assert_eq!(store.hidden_from(chat, 1).await.unwrap(), [reader]);
    let hidden_chats = store.chats_of_user(reader, 50, 0).await.unwrap();
    assert!(hidden_chats.iter().all(|summary| summary.id != chat));
    let connection = ConnectionId(Uuid::now_v7());
    store
        .start_connection(
            connection,
            reader,
            &ConnectionOrigin::default(),
            CoreId::random(),
        )
        .await
        .unwrap();
    store
        .end_connection(connection, EndReason::ClientClosed)
        .await
        .unwrap();

    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let look_back = std::time::Duration::from_secs(3600);
    let recent = store.recent_before(chat, last + 1, look_back, since).await;
    assert!(!recent.unwrap().is_empty());
    assert_eq!(store.last_seqs(&[chat]).await.unwrap(), [(chat, last + 1)]);
    let core = CoreId::random();
    assert!(store.core_alive(core).await.unwrap());
    store
        .end_gone_cores(std::time::Duration::from_secs(30))
        .await
        .unwrap();
    store.core_stopped(core).await.unwrap();

    // Contacts: both wrote in their personal chat (which a trigger notes).
    let direct = store.open_direct_chat(sender, reader, ChatId::random(), 100);
    let direct = direct.await.unwrap().chat_id();
    for writer in [sender, reader] {
        let message = new_message(direct, writer, Uuid::new_v4());
        store.insert_message(&message).await.unwrap().unwrap();
    }
    let change = PrivacyChange {
        adds_from_contacts_only: Some(true),
        ..PrivacyChange::default()
    };
    assert!(
        store
            .change_privacy(reader, change)
            .await
            .unwrap()
            .is_some()
    );
    let audience = store.presence_audience(reader, false, 5_000).await;
    assert!(audience.unwrap().contains(&sender));
    assert!(store.last_seen(reader).await.is_ok());
    assert!(
        !store
            .contacts_last_seen(reader, 5_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.last_seen_now(reader).await.unwrap().is_some());
    let email = core_service::email::Email::normalize("a@example.com").unwrap();
    store
        .search_users(reader, "a", &email, 10, 0)
        .await
        .unwrap();
    groups_and_blocks(store, reader, stranger).await;
    files(store, chat, sender, reader).await;
    assert_eq!(
        store.message_text(stored.id).await.unwrap().as_deref(),
        Some("plan")
    );
}

/// A file uploaded, sent, read, its message deleted, and collection.
async fn files(store: &Store, chat: ChatId, sender: UserId, reader: UserId) {
    let content = MediaRecord {
        digest: [7; 32],
        size: 10,
        content_type: "text/plain".into(),
        width: None,
        height: None,
        thumbnail_size: None,
    };
    assert!(store.take_media(&content.digest).await.unwrap().is_none());
    store.add_media(&content).await.unwrap();
    assert!(store.take_media(&content.digest).await.unwrap().is_some());
    let upload = Uuid::now_v7();
    assert!(
        store
            .add_upload(upload, sender, &content, "a.txt", 100)
            .await
            .unwrap()
    );
    assert_eq!(store.storage_used(sender).await.unwrap(), 10);
    let uploads = store.uploads(&[upload]).await.unwrap();
    let message = NewMessage {
        attachments: vec![uploads[0].attachment.clone()].into(),
        ..new_message(chat, sender, Uuid::new_v4())
    };
    let stored = store.insert_message_with_attachments(&message).await;
    let stored = stored.unwrap().unwrap();
    assert!(store.readable_file(upload, reader).await.unwrap().is_some());
    store.delete_message(stored.id, sender).await.unwrap();
    assert!(store.readable_file(upload, reader).await.unwrap().is_none());
    store.delete_unsent(chrono::Utc::now()).await.unwrap();
    let collected = store
        .collect_media(chrono::Utc::now(), 10, async |_| true)
        .await
        .unwrap();
    assert_eq!(collected, 1);
}

/// A block, a group created past the quota, chat-count and block checks
/// (and the triggers that count chats), and a member leaving it.
async fn groups_and_blocks(store: &Store, creator: UserId, member: UserId) {
    assert!(store.block(member, creator).await.unwrap());
    store.unblock(member, creator).await.unwrap();
    let group = GroupRecord {
        id: GroupId::random(),
        name: "plans".into(),
        creator_id: creator,
        chat_id: ChatId::random(),
        member_ids: vec![creator, member],
    };
    let quota = GroupQuota {
        groups_per_creator: 100,
        chats_per_user: 100,
    };
    store.create_group(&group, quota).await.unwrap();
    let chat = group.chat_id;
    store.rename_group(chat, creator, "renamed").await.unwrap();
    store
        .set_role(chat, creator, member, Role::Admin)
        .await
        .unwrap();
    assert_eq!(store.group_state(chat).await.unwrap().members.len(), 2);
    let departure = store.remove_member(chat, member, member).await.unwrap();
    assert_eq!(departure.membership.members.to_vec(), vec![creator]);
    let limits = AddLimits {
        members_per_group: 10,
        chats_per_user: 100,
    };
    let added = store
        .add_members(chat, creator, &[member], limits)
        .await
        .unwrap();
    assert_eq!(added.added, vec![member]);
    store.remove_member(chat, creator, member).await.unwrap();
    let first = store.open_direct_chat(creator, member, ChatId::random(), 100);
    let chat = first.await.unwrap().chat_id();
    let again = store.open_direct_chat(member, creator, ChatId::random(), 100);
    assert_eq!(again.await.unwrap(), DirectChat::Existing(chat));
}

/// Statements the exercise must have been seen to run (so that an empty
/// list of plans cannot pass).
const EXPECTED: [&str; 50] = [
    "SET low_wrote = true",
    "adds_from_contacts_only = coalesce",
    "u.adds_from_contacts_only AND",
    "u.email = $2",
    "members_version = members_version + $2",
    "SET role = $3",
    "INSERT INTO chat_members (chat_id, user_id, read_seq)",
    "INSERT INTO message_edits",
    "SET text = '', deleted_at",
    "FROM message_edits e",
    "FROM direct_chats WHERE user_low",
    "ORDER BY m.seq FOR UPDATE",
    "cm.read_seq < m.seq",
    "count(*) FROM groups WHERE creator_id",
    "chat_count >= $2",
    "FROM blocks",
    "SET chat_count = chat_count + joiner.n",
    "DELETE FROM chat_members",
    "SELECT text FROM messages",
    "INSERT INTO sent_keys (sender_id, client_id, message_id)\n        SELECT",
    "FROM sent_key(p_sender_id, p_client_id, p_written_at) k",
    "CROSS JOIN LATERAL sent_key(",
    "stored AS (",
    "seq BETWEEN",
    "least($2, c.last_seq)",
    "WHERE m.id = $1 FOR UPDATE",
    "cm.user_id = $2\n                 FOR NO KEY UPDATE",
    "SET uncounted = uncounted + 1",
    "SET uncounted = cm.uncounted + 1",
    "FOR SHARE OF c",
    "SET uncounted = uncounted_after(",
    "m.seq > p_mark",
    "UPDATE messages m SET seen = true",
    "INSERT INTO message_seen_status (message_id, user_id) VALUES",
    "FROM ONLY \"public\".\"messages\"",
    "timestamp > greatest(",
    "core_id IN (SELECT id FROM gone)",
    "d.user_low = $1 AND d.low_wrote",
    "UPDATE media SET used_at",
    "INSERT INTO attachments (id, owner_id",
    "WHERE a.id = ANY ($1)",
    "(a.message_id IS NULL AND a.owner_id = $2)",
    "DELETE FROM attachments WHERE message_id IS NULL",
    "FOR UPDATE SKIP LOCKED",
    "SET last_seen_at = now()",
    "cleared_seq >= $2",
    "WITH mine AS MATERIALIZED (",
    "WITH page AS (",
    "m.seq <= cw.last_seq",
    "VALUES (NEW.chat_id, NEW.seq",
];

/// What auto_explain reported in the notices, one JSON document a
/// statement (its text, its plan, and whether it was compiled).
fn explained(notices: &[String]) -> Vec<Value> {
    notices
        .iter()
        .filter_map(|notice| notice.find('{').map(|start| &notice[start..]))
        .map(|json| serde_json::from_str(json).expect("auto_explain JSON"))
        .collect()
}

fn query_of(explained: &Value) -> String {
    explained["Query Text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Each statement's text and its plan.
fn parse(explained: &[Value]) -> Vec<(String, Value)> {
    explained
        .iter()
        .map(|statement| (query_of(statement), statement["Plan"].clone()))
        .collect()
}

/// The statements PostgreSQL would compile (JIT) before running them.
fn compiled(explained: &[Value]) -> Vec<String> {
    explained
        .iter()
        .filter(|statement| statement.get("JIT").is_some())
        .map(|statement| query_of(statement).trim().to_owned())
        .collect()
}

/// Every scan of a growing table that has no index condition, as
/// "table: node type (statement)".
fn unindexed_scans(plans: &[(String, Value)]) -> Vec<String> {
    let mut found = vec![];
    for (query, plan) in plans {
        let first_line = query.trim().lines().next().unwrap_or_default();
        walk(plan, &mut |node| {
            let kind = node["Node Type"].as_str().unwrap_or_default();
            let Some(table) = node["Relation Name"].as_str() else {
                return;
            };
            let indexed = node.get("Index Cond").is_some() || kind == "Bitmap Heap Scan";
            if growing(table) && kind != "ModifyTable" && !indexed {
                found.push(format!("{table}: {kind} ({first_line})"));
            }
        });
    }
    found
}

fn walk(node: &Value, visit: &mut impl FnMut(&Value)) {
    visit(node);
    for child in node["Plans"].as_array().into_iter().flatten() {
        walk(child, visit);
    }
}

/// Runs the exercise on fresh connections and checks every plan it ran.
async fn assert_plans_use_indexes(db: &TestDatabase, data: &DemoData, state: &str) {
    let (store, explaining) = explaining_store(db);
    exercise(&store, data).await;
    store.close();
    let explained = explained(&explaining.plans.lock().unwrap());
    let compiled = compiled(&explained);
    assert!(compiled.is_empty(), "{state}: compiled {compiled:#?}");
    let plans = parse(&explained);
    for statement in EXPECTED {
        assert!(
            plans.iter().any(|(query, _)| query.contains(statement)),
            "{state}: no plan seen for {statement:?}"
        );
    }
    let unindexed = unindexed_scans(&plans);
    assert!(unindexed.is_empty(), "{state}: {unindexed:#?}");
}

/// Adds `count` messages to `chat` (numbered on from its last, each seen by
/// `reader`) in one statement, as a grown database has them.
async fn grow(db: &TestDatabase, chat: Uuid, sender: Uuid, reader: Uuid, count: i64) {
    let client = db.store().connection().await.unwrap();
    client
        .execute(
            "WITH added AS (
                 INSERT INTO messages (id, chat_id, sender_id, client_id, text, seq)
                 SELECT gen_random_uuid(), c.id, $2, gen_random_uuid(), 'grown', c.last_seq + n
                 FROM chats c, generate_series(1, $4::bigint) n WHERE c.id = $1
                 RETURNING id
             ), seen AS (
                 INSERT INTO message_seen_status (message_id, user_id)
                 SELECT id, $3::uuid FROM added
             )
             UPDATE chats SET last_seq = last_seq + $4 WHERE id = $1",
            &[&chat, &sender, &reader, &count],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_made_on_empty_tables_use_indexes() {
    let db = TestDatabase::create().await;
    let data = data();
    // The migrations analysed the empty tables; the load adds a few rows,
    // far too few for the planner to prefer an index on its own.
    populate::populate(&db.store(), &data).await.unwrap();
    db.store()
        .connection()
        .await
        .unwrap()
        .batch_execute("ANALYZE")
        .await
        .unwrap();
    assert_plans_use_indexes(&db, &data, "empty tables").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_on_a_large_table_use_indexes_with_stale_and_with_fresh_statistics() {
    let db = TestDatabase::create().await;
    let data = data();
    // Loaded without the load's own ANALYZE: the statistics stay those of
    // the empty tables, as with autovacuum off or behind.
    load_without_analyze(&db, &data).await;
    for chat in &data.chats {
        let members = members_of(&data, ChatId(chat.id));
        grow(&db, chat.id, members[0].0, members[1].0, 12_000).await;
    }
    assert_plans_use_indexes(&db, &data, "large table, statistics of empty tables").await;

    let client = db.store().connection().await.unwrap();
    client.batch_execute("ANALYZE").await.unwrap();
    assert_plans_use_indexes(&db, &data, "large table, analysed").await;
}

/// `populate`, then the statistics put back to those of empty tables.
async fn load_without_analyze(db: &TestDatabase, data: &DemoData) {
    populate::populate(&db.store(), data).await.unwrap();
    let client = db.store().connection().await.unwrap();
    // Statistics as an ANALYZE of the empty tables left them.
    client
        .batch_execute(
            "UPDATE pg_class SET reltuples = 0, relpages = 0
             WHERE relnamespace = 'public'::regnamespace;
             DELETE FROM pg_statistic WHERE starelid IN
                 (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)",
        )
        .await
        .unwrap();
}

/// A read marker over a thousand messages is one statement, however many
/// messages it completes: `auto_explain` (top-level statements only) sees
/// one plan for the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_up_to_a_thousand_messages_is_one_statement() {
    let db = TestDatabase::create().await;
    let data = data();
    populate::populate(&db.store(), &data).await.unwrap();
    let chat = data.chats.iter().find(|chat| chat.kind == 0).unwrap();
    let chat = ChatId(chat.id);
    let members = members_of(&data, chat);
    let (sender, reader) = (members[0], members[1]);
    let messages: Vec<NewMessage> = (0..1000)
        .map(|_| new_message(chat, sender, Uuid::new_v4()))
        .collect();
    let store = db.store();
    for batch in messages.chunks(250) {
        store
            .insert_messages(&batch.iter().collect::<Vec<_>>())
            .await
            .unwrap();
    }
    let explaining = Explaining::default();
    let mut config = db.config();
    config.options(
        "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 \
         -c auto_explain.log_level=notice",
    );
    let store = Store::with_connect(config, 1, explaining.clone()).unwrap();
    store.read_up_to(chat, reader, 0).await.unwrap();
    explaining.plans.lock().unwrap().clear();

    let outcome: ReadOutcome = store.read_up_to(chat, reader, 2000).await.unwrap().unwrap();
    let plans = explaining.plans.lock().unwrap().clone();
    assert_eq!(plans.len(), 1, "{plans:#?}");
    assert!(plans[0].contains("FROM read_up_to("), "{}", plans[0]);
    let last = db.store().last_seqs(&[chat]).await.unwrap()[0].1;
    assert_eq!(outcome.read_seq, last);
    // Every one of the thousand (and the sender's older messages with them).
    let completed: Vec<MessageId> = outcome.now_seen_by_all.iter().map(|m| m.id).collect();
    assert!(
        messages
            .iter()
            .all(|message| completed.contains(&message.id))
    );
    let seqs: Vec<i64> = outcome.now_seen_by_all.iter().map(|m| m.seq).collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]));
}
