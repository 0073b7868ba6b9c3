//! Storage against a real PostgreSQL: migrations, the demo-data loader,
//! and the embedded default cluster.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use core_service::demo_data::generate::{Sizes, generate};
use core_service::demo_data::populate::{self, PopulateError};
use core_service::ids::{ChatId, ConnectionId, CoreId, MessageId, UserId};
use core_service::store::Store;
use core_service::store::migrate;
use core_service::store::records::NewMessage;
use core_service::store::search::MessageSearch;
use core_service::testing::TestDatabase;
use core_service::words;

fn small_data(seed: u64) -> core_service::demo_data::DemoData {
    generate(&Sizes {
        users: 6,
        personal_chats: 3,
        groups: 2,
        group_size: 4,
        messages_per_chat: 4,
        seed,
        ..Sizes::default()
    })
    .unwrap()
}

/// How many migration files `sql/` holds: each is one migration.
fn migration_files() -> i64 {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql");
    let files = std::fs::read_dir(folder).unwrap();
    let sql = files.filter(|file| {
        let path = file.as_ref().unwrap().path();
        path.extension().is_some_and(|extension| extension == "sql")
    });
    i64::try_from(sql.count()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_recorded_and_running_them_again_does_nothing() {
    let db = TestDatabase::create().await;
    assert_eq!(migrate::run(&db.store()).await.unwrap(), 0);
    let recorded = db.count("SELECT count(*) FROM schema_migrations").await;
    assert_eq!(recorded, migration_files());
}

/// The files of `sql/functions/`.
fn function_files() -> i64 {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql/functions");
    i64::try_from(std::fs::read_dir(folder).unwrap().count()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_whose_text_changed_is_applied_again_at_start() {
    let db = TestDatabase::create().await;
    let recorded = db.count("SELECT count(*) FROM schema_functions").await;
    assert_eq!(recorded, function_files());
    let definition = "SELECT pg_get_functiondef('record_direct_chats'::regproc)";
    let client = db.store().connection().await.unwrap();
    let original: String = client.query_one(definition, &[]).await.unwrap().get(0);

    // Another text was applied (as by an older build): the file's comes back.
    client
        .batch_execute(
            "CREATE OR REPLACE FUNCTION record_direct_chats(p_chats uuid[]) RETURNS void
             LANGUAGE sql AS $$ SELECT $$;
             UPDATE schema_functions SET checksum = 'older' WHERE name = 'record_direct_chats'",
        )
        .await
        .unwrap();
    migrate::run(&db.store()).await.unwrap();
    let now: String = client.query_one(definition, &[]).await.unwrap().get(0);
    assert_eq!(now, original);

    // The same text is not applied twice.
    client
        .batch_execute(
            "CREATE OR REPLACE FUNCTION record_direct_chats(p_chats uuid[]) RETURNS void
             LANGUAGE sql AS $$ SELECT $$;",
        )
        .await
        .unwrap();
    migrate::run(&db.store()).await.unwrap();
    let kept: String = client.query_one(definition, &[]).await.unwrap().get(0);
    assert_ne!(kept, original, "a recorded text is not applied again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_started_at_once_by_several_processes_apply_once() {
    let db = TestDatabase::create().await;
    let client = db.store().connection().await.unwrap();
    client
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .await
        .unwrap();
    // Separate pools stand for separate processes.
    let runs = (0..4).map(|_| {
        let store = core_service::store::Store::with_config(db.config(), 2).unwrap();
        tokio::spawn(async move { migrate::run(&store).await.unwrap() })
    });
    let applied: Vec<usize> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let files = migration_files();
    assert_eq!(
        i64::try_from(applied.iter().sum::<usize>()).unwrap(),
        files,
        "{applied:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM schema_migrations").await,
        files
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_a_file_twice_adds_nothing_the_second_time() {
    let db = TestDatabase::create().await;
    let data = small_data(1);
    let first = populate::populate(&db.store(), &data).await.unwrap();
    assert_eq!((first.users, first.chats, first.messages), (6, 5, 20));
    let after_first = db.loaded_counts().await;
    let second = populate::populate(&db.store(), &data).await.unwrap();
    assert_eq!((second.users, second.chats, second.messages), (0, 0, 0));
    assert_eq!(db.loaded_counts().await, after_first);
    assert_eq!(after_first[6] as usize, data.message_seen_status.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_stored_only_as_argon2id_hashes() {
    let db = TestDatabase::create().await;
    let data = small_data(2);
    populate::populate(&db.store(), &data).await.unwrap();
    let user = &data.users[0];
    let stored = db
        .store()
        .user_by_email(&core_service::email::Email::normalize(&user.email).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(!stored.password_hash.contains(&user.password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_order_follows_the_files_timestamps() {
    let db = TestDatabase::create().await;
    let mut data = small_data(3);
    data.messages.reverse();
    populate::populate(&db.store(), &data).await.unwrap();
    let chat = ChatId(data.chats[0].id);
    let history = db.store().history(chat, 100, 0).await.unwrap();
    assert!(
        history
            .windows(2)
            .all(|pair| pair[0].timestamp <= pair[1].timestamp)
    );
    assert_eq!(history.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_a_dangling_reference_is_refused_and_nothing_is_written() {
    let db = TestDatabase::create().await;
    let mut data = small_data(4);
    let last = data.message_seen_status.len() - 1;
    data.message_seen_status[last].user_id = uuid::Uuid::new_v4();
    let error = populate::populate(&db.store(), &data).await.unwrap_err();
    assert!(matches!(error, PopulateError::Invalid { .. }));
    assert!(
        error
            .to_string()
            .starts_with(&format!("message_seen_status[{last}]: user_id"))
    );
    assert_eq!(db.loaded_counts().await, vec![0; 8]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_taken_by_another_account_is_refused_naming_the_entry() {
    let db = TestDatabase::create().await;
    populate::populate(&db.store(), &small_data(5))
        .await
        .unwrap();
    let before = db.loaded_counts().await;
    let mut other = small_data(6);
    other.users[2].email = small_data(5).users[0].email.to_uppercase();
    let error = populate::populate(&db.store(), &other).await.unwrap_err();
    assert!(error.to_string().starts_with("users[2]: email"), "{error}");
    assert_eq!(db.loaded_counts().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_cluster_is_created_started_and_stopped() {
    use core_service::local_db::LocalPostgres;
    use std::os::unix::fs::PermissionsExt;
    let folder = tempfile::tempdir().unwrap();
    // PostgreSQL may run as another system user, who must reach the folder.
    std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = folder.path().join("postgres");
    let dir = data_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || LocalPostgres::ensure_running(&dir))
        .await
        .unwrap()
        .expect("the embedded cluster starts");
    assert!(cluster.started_here);
    let store = core_service::store::Store::new(&cluster.url(), 1).unwrap();
    migrate::run(&store).await.unwrap();
    store.close();
    // A second start finds it running.
    let dir = data_dir.clone();
    let again = tokio::task::spawn_blocking(move || LocalPostgres::ensure_running(&dir))
        .await
        .unwrap()
        .unwrap();
    assert!(!again.started_here);
    assert_eq!(again.url(), cluster.url());
    cluster.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loaded_messages_are_numbered_per_chat_and_sends_continue_the_numbers() {
    use core_service::store::records::NewMessage;
    let db = TestDatabase::create().await;
    let data = small_data(8);
    populate::populate(&db.store(), &data).await.unwrap();
    let chat = ChatId(data.chats[0].id);
    let history = db.store().history(chat, 100, 0).await.unwrap();
    let seqs: Vec<i64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    assert!(
        history
            .windows(2)
            .all(|pair| pair[0].timestamp <= pair[1].timestamp)
    );

    let sender = data
        .chat_members
        .iter()
        .find(|member| member.chat_id == chat.0)
        .unwrap()
        .user_id;
    let message = NewMessage {
        id: MessageId::random(),
        chat_id: chat,
        sender_id: UserId(sender),
        client_id: uuid::Uuid::new_v4(),
        written_at: None,
        text: "live".into(),
        attachments: Default::default(),
    };
    let stored = db.store().insert_message(&message).await.unwrap().unwrap();
    assert_eq!((stored.seq, stored.created), (5, true));
    let retry = NewMessage {
        id: MessageId::random(),
        ..message.clone()
    };
    let again = db.store().insert_message(&retry).await.unwrap().unwrap();
    assert_eq!((again.id, again.seq, again.created), (message.id, 5, false));
    // A chat that does not exist stores nothing.
    let nowhere = NewMessage {
        chat_id: ChatId::random(),
        client_id: uuid::Uuid::new_v4(),
        written_at: None,
        ..message
    };
    assert!(db.store().insert_message(&nowhere).await.unwrap().is_none());
    assert_eq!(
        db.count(&format!("SELECT last_seq FROM chats WHERE id = '{chat}'"))
            .await,
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_left_open_by_a_killed_core_are_ended_at_the_next_start() {
    use core_service::store::connections::ConnectionOrigin;
    let db = TestDatabase::create().await;
    let data = small_data(9);
    populate::populate(&db.store(), &data).await.unwrap();
    let origin = ConnectionOrigin::default();
    db.store()
        .start_connection(
            ConnectionId::random(),
            UserId(data.users[0].id),
            &origin,
            CoreId::random(),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    core_service::serve(
        db.store(),
        db.with_media(core_service::state::Settings::default()),
        listener,
        async {},
    )
    .await
    .unwrap();
    let sql = "SELECT count(*) FROM connections WHERE ended_at IS NOT NULL AND end_reason = 'server_shutdown'";
    assert_eq!(db.count(sql).await, 1);
}

/// A new message from `sender` to `chat` with a fresh client id.
fn new_message(chat: ChatId, sender: UserId) -> core_service::store::records::NewMessage {
    core_service::store::records::NewMessage {
        id: MessageId::random(),
        chat_id: chat,
        sender_id: sender,
        client_id: uuid::Uuid::new_v4(),
        written_at: None,
        text: "batched".into(),
        attachments: Default::default(),
    }
}

/// A chat of `data` and one of its members.
fn chat_and_member(data: &core_service::demo_data::DemoData, index: usize) -> (ChatId, UserId) {
    let chat = data.chats[index].id;
    let member = data
        .chat_members
        .iter()
        .find(|member| member.chat_id == chat)
        .unwrap()
        .user_id;
    (ChatId(chat), UserId(member))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_numbers_each_chat_in_order_and_answers_retries_with_the_first_copy() {
    let db = TestDatabase::create().await;
    let data = small_data(9);
    populate::populate(&db.store(), &data).await.unwrap();
    let (a, alice) = chat_and_member(&data, 0);
    let (b, bob) = chat_and_member(&data, 1);
    let stored_before = new_message(a, alice);
    db.store()
        .insert_message(&stored_before)
        .await
        .unwrap()
        .unwrap();

    let first_a = new_message(a, alice);
    let first_b = new_message(b, bob);
    let second_a = new_message(a, alice);
    let retry_of_stored = core_service::store::records::NewMessage {
        id: MessageId::random(),
        ..stored_before.clone()
    };
    let repeat_in_batch = core_service::store::records::NewMessage {
        id: MessageId::random(),
        ..first_b.clone()
    };
    let nowhere = new_message(ChatId::random(), alice);
    let batch = [
        &first_a,
        &first_b,
        &retry_of_stored,
        &second_a,
        &repeat_in_batch,
        &nowhere,
    ];
    let answers = db.store().insert_messages(&batch).await.unwrap();
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();

    let seq_and_created = |i: usize| {
        let stored = answers[i].as_ref().unwrap();
        (stored.seq, stored.created)
    };
    assert_eq!(
        seq_and_created(0),
        (6, true),
        "chat a had 4 loaded + 1 sent"
    );
    assert_eq!(seq_and_created(1), (5, true));
    assert_eq!(seq_and_created(2), (5, false));
    assert_eq!(answers[2].as_ref().unwrap().id, stored_before.id);
    assert_eq!(seq_and_created(3), (7, true));
    assert_eq!(seq_and_created(4), (5, false));
    assert_eq!(answers[4].as_ref().unwrap().id, first_b.id);
    assert!(
        answers[5].is_none(),
        "a chat that does not exist stores nothing"
    );

    let last_seq = |chat: ChatId| format!("SELECT last_seq FROM chats WHERE id = '{chat}'");
    assert_eq!(db.count(&last_seq(a)).await, 7);
    assert_eq!(db.count(&last_seq(b)).await, 5);
    assert_eq!(
        db.count("SELECT count(*) FROM messages WHERE text = 'batched'")
            .await,
        4
    );
    let seen_by_sender = format!(
        "SELECT count(*) FROM message_seen_status WHERE message_id = '{}' AND user_id = '{alice}'",
        first_a.id
    );
    assert_eq!(
        db.count(&seen_by_sender).await,
        0,
        "the sender's status is implied, not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_stores_concurrent_sends_without_gaps_or_repeats() {
    use core_service::store::writer::MessageWriter;
    let db = TestDatabase::create().await;
    let data = small_data(10);
    populate::populate(&db.store(), &data).await.unwrap();
    let writer = MessageWriter::start(db.store());
    let chats: Vec<(ChatId, UserId)> = (0..3).map(|i| chat_and_member(&data, i)).collect();
    // Every message is sent twice at once, as a client retrying would.
    let sends = (0..300).flat_map(|i| {
        let (chat, sender) = chats[i % chats.len()];
        let message = new_message(chat, sender);
        let retry = core_service::store::records::NewMessage {
            id: MessageId::random(),
            ..message.clone()
        };
        [message, retry].map(|message| {
            let writer = writer.clone();
            tokio::spawn(async move {
                (
                    message.client_id,
                    writer.store(message).await.unwrap().unwrap(),
                )
            })
        })
    });
    let answers: Vec<_> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut by_client = std::collections::HashMap::new();
    for (client_id, stored) in &answers {
        by_client
            .entry(*client_id)
            .or_insert_with(Vec::new)
            .push(stored.clone());
    }
    assert_eq!(by_client.len(), 300);
    for copies in by_client.values() {
        assert_eq!(
            copies[0].id, copies[1].id,
            "both sends answered with the same message"
        );
        assert_eq!(copies[0].seq, copies[1].seq);
        assert_eq!(copies.iter().filter(|c| c.created).count(), 1);
    }
    for (chat, _) in chats {
        let seqs: Vec<i64> = db
            .store()
            .history(chat, 1000, 0)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as i64).collect::<Vec<_>>(),
            "no gaps in {chat}"
        );
        assert_eq!(seqs.len(), 4 + 100);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_message_fails_alone_and_its_batch_is_stored() {
    use core_service::store::writer::MessageWriter;
    let db = TestDatabase::create().await;
    let data = small_data(11);
    populate::populate(&db.store(), &data).await.unwrap();
    let writer = MessageWriter::start(db.store());
    let (chat, sender) = chat_and_member(&data, 0);
    // A NUL in a text is refused by PostgreSQL, which fails any batch
    // statement it is part of. (The core refuses it before it is stored:
    // this stands for any message the database refuses.)
    let sends = (0..200).map(|i| {
        let mut message = new_message(chat, sender);
        if i == 100 {
            message.text = "bad\0".into();
        }
        let writer = writer.clone();
        tokio::spawn(async move { writer.store(message).await })
    });
    let results: Vec<_> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(results[100].is_err());
    assert_eq!(
        results.iter().filter(|r| matches!(r, Ok(Some(_)))).count(),
        199
    );
    assert_eq!(
        db.count("SELECT count(*) FROM messages WHERE text = 'batched'")
            .await,
        199
    );
    let seqs: Vec<i64> = db
        .store()
        .history(chat, 1000, 0)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=4 + 199).collect::<Vec<i64>>(),
        "no gap where the bad one failed"
    );
}

/// The members of `chat` in `data`.
fn members_of(data: &core_service::demo_data::DemoData, chat: ChatId) -> Vec<UserId> {
    (data.chat_members.iter())
        .filter(|member| member.chat_id == chat.0)
        .map(|member| UserId(member.user_id))
        .collect()
}

/// The two members of a personal chat of `data`.
fn personal_chat(data: &core_service::demo_data::DemoData) -> (ChatId, UserId, UserId) {
    let chat = ChatId(data.chats.iter().find(|chat| chat.kind == 0).unwrap().id);
    let members = members_of(data, chat);
    (chat, members[0], members[1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_from_the_recent_messages_cache_matches_the_database() {
    let db = TestDatabase::create().await;
    let data = small_data(11);
    populate::populate(&db.store(), &data).await.unwrap();
    let cached = db.store();
    let direct = core_service::store::Store::with_config(db.config(), 2)
        .unwrap()
        .with_recent_budget(0);
    let (chat, sender, reader) = personal_chat(&data);
    let newest = |limit| cached.history_between(chat, None, None, limit);
    newest(10).await.unwrap();

    // More messages than the cache keeps per chat, some alone and some in
    // batches, some seen, with reads in between that keep it loaded.
    let window = core_service::store::recent::WINDOW;
    let mut sent = 0;
    while sent < window + 40 {
        if sent % 3 == 0 {
            let message = new_message(chat, sender);
            cached.insert_message(&message).await.unwrap().unwrap();
            cached.mark_seen(reader, message.id).await.unwrap();
            sent += 1;
        } else {
            let batch: Vec<_> = (0..7).map(|_| new_message(chat, sender)).collect();
            cached
                .insert_messages(&batch.iter().collect::<Vec<_>>())
                .await
                .unwrap();
            sent += batch.len();
        }
        newest(5).await.unwrap();
    }

    let last = i64::try_from(sent).unwrap() + 4;
    let first_held = last - i64::try_from(window).unwrap() + 1;
    for limit in [1, 20, 50, 100] {
        for offset in [0, 1, 50, 200, last - 3, last + 5] {
            assert_eq!(
                cached.history(chat, limit, offset).await.unwrap(),
                direct.history(chat, limit, offset).await.unwrap(),
                "limit {limit} offset {offset}"
            );
        }
        let afters = [
            None,
            Some(0),
            Some(30),
            Some(first_held - 2),
            Some(first_held - 1),
            Some(last - 4),
        ];
        let befores = [
            None,
            Some(10),
            Some(first_held + 3),
            Some(last),
            Some(last + 5),
        ];
        for after in afters {
            for before in befores {
                assert_eq!(
                    cached
                        .history_between(chat, after, before, limit)
                        .await
                        .unwrap(),
                    direct
                        .history_between(chat, after, before, limit)
                        .await
                        .unwrap(),
                    "limit {limit} after {after:?} before {before:?}"
                );
            }
        }
    }
    let page = cached.history_between(chat, None, None, 50).await.unwrap();
    assert_eq!(page.last().unwrap().seq, last);
    assert!(page.iter().any(|m| m.seen) && page.iter().any(|m| !m.seen));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_connections_of_a_silent_core_are_ended_not_a_live_peers() {
    use core_service::store::connections::ConnectionOrigin;
    let db = TestDatabase::create().await;
    let data = small_data(10);
    populate::populate(&db.store(), &data).await.unwrap();
    let store = db.store();
    let (live, silent) = (CoreId::random(), CoreId::random());
    assert!(
        store.core_alive(live).await.unwrap(),
        "a new core's row is made"
    );
    assert!(store.core_alive(silent).await.unwrap());
    assert!(!store.core_alive(live).await.unwrap(), "then renewed");
    let user = UserId(data.users[0].id);
    for core in [live, silent] {
        let origin = ConnectionOrigin::default();
        let connection = ConnectionId::random();
        store
            .start_connection(connection, user, &origin, core)
            .await
            .unwrap();
    }
    let silence = std::time::Duration::from_secs(30);
    assert_eq!(store.end_gone_cores(silence).await.unwrap(), (vec![], 0));
    let client = store.connection().await.unwrap();
    client
        .execute(
            "UPDATE cores SET seen_at = now() - interval '31 seconds' WHERE id = $1",
            &[&silent],
        )
        .await
        .unwrap();
    assert_eq!(
        store.end_gone_cores(silence).await.unwrap(),
        (vec![silent], 1),
        "the silent core is gone, and its connection ended"
    );
    let open = "SELECT count(*) FROM connections WHERE ended_at IS NULL";
    assert_eq!(db.count(open).await, 1);
    let live_open =
        format!("SELECT count(*) FROM connections WHERE ended_at IS NULL AND core_id = '{live}'");
    assert_eq!(db.count(&live_open).await, 1);
    assert_eq!(db.count("SELECT count(*) FROM cores").await, 1);
    // The silent core comes back: its row is made again, which it notices.
    assert!(store.core_alive(silent).await.unwrap());
}

/// A message of `sender` in `chat` with a fresh client id.
fn message_in(chat: ChatId, sender: UserId) -> core_service::store::records::NewMessage {
    core_service::store::records::NewMessage {
        id: MessageId(uuid::Uuid::now_v7()),
        chat_id: chat,
        sender_id: sender,
        client_id: uuid::Uuid::new_v4(),
        written_at: None,
        text: "hi".into(),
        attachments: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_stores_nothing_from_a_sender_outside_the_chat() {
    let db = TestDatabase::create().await;
    let data = small_data(3);
    let store = db.store();
    populate::populate(&store, &data).await.unwrap();
    let chat = ChatId(data.chats[0].id);
    let members = members_of(&data, chat);
    let outsider = (data.users.iter())
        .map(|user| UserId(user.id))
        .find(|user| !members.contains(user))
        .unwrap();
    let last_seq = format!("SELECT last_seq FROM chats WHERE id = '{}'", chat.0);
    let before = db.count(&last_seq).await;

    assert!(
        store
            .insert_message(&message_in(chat, outsider))
            .await
            .unwrap()
            .is_none()
    );
    let (one, two) = (message_in(chat, members[0]), message_in(chat, outsider));
    let answers = store.insert_messages(&[&one, &two, &one]).await.unwrap();
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    assert!(answers[0].as_ref().unwrap().created);
    assert!(
        answers[1].is_none(),
        "the outsider's message is refused alone"
    );
    assert!(!answers[2].as_ref().unwrap().created);
    assert_eq!(
        db.count(&last_seq).await,
        before + 1,
        "no number is used up"
    );

    // A retry of a message stored while its sender was a member is still
    // answered after they left.
    let client = store.connection().await.unwrap();
    client
        .execute(
            "DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2",
            &[&chat, &members[0]],
        )
        .await
        .unwrap();
    let retry = store.insert_message(&one).await.unwrap().unwrap();
    assert_eq!((retry.created, retry.id), (false, one.id));
    assert!(
        store
            .insert_message(&message_in(chat, members[0]))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.reader(chat, members[0]).await.unwrap().is_none());
    assert!(store.reader(chat, members[1]).await.unwrap().is_some());
    assert_eq!(db.count(&last_seq).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_edits_at_once_the_later_edited_at_is_the_text_that_stays() {
    use core_service::store::edits::Change;
    let db = TestDatabase::create().await;
    let data = small_data(4);
    let store = db.store();
    populate::populate(&store, &data).await.unwrap();
    let message = &data.messages[0];
    let (id, sender) = (MessageId(message.id), UserId(message.sender_id));
    let mut last = None;
    for round in 0..48 {
        let edits = ["left", "right"].map(|side| {
            let store = store.clone();
            let text = format!("{side} {round}");
            tokio::spawn(async move {
                store
                    .edit_message(id, sender, uuid::Uuid::new_v4(), &text)
                    .await
            })
        });
        let mut made = Vec::new();
        for edit in edits {
            match edit.await.unwrap().unwrap() {
                Change::Changed(record) => made.push(record),
                Change::Repeated(record) => panic!("not a retry: {record:?}"),
            }
        }
        made.sort_by_key(|record| record.edited_at);
        assert!(made[0].edited_at < made[1].edited_at, "{made:?}");
        assert!(last < made[0].edited_at, "edited_at never goes back");
        last = made[1].edited_at;
        let client = store.connection().await.unwrap();
        let row = client
            .query_one("SELECT text, edited_at FROM messages WHERE id = $1", &[&id])
            .await
            .unwrap();
        let stored: (String, Option<chrono::DateTime<chrono::Utc>>) = (row.get(0), row.get(1));
        assert_eq!(
            stored,
            (made[1].text.clone(), made[1].edited_at),
            "round {round}"
        );
    }
}

/// A key-value connection string for `db` through `host`, asking for TLS.
fn tls_url(db: &TestDatabase, host: &str) -> String {
    let config = db.config();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let dbname = config.get_dbname().unwrap_or("postgres");
    format!("host={host} port={port} user={user} dbname={dbname} sslmode=require")
}

/// Whether the connection runs over TLS, as the server sees it.
async fn over_tls(store: &core_service::store::Store) -> bool {
    let client = store.connection().await.unwrap();
    let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_asks_for_tls_gets_it_with_the_servers_certificate_verified() {
    use core_service::store::{Store, StoreSetupError};
    let db = TestDatabase::create().await;
    let admin = db.store().connection().await.unwrap();
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    let on_tcp = matches!(
        db.config().get_hosts().first(),
        Some(tokio_postgres::config::Host::Tcp(_))
    );
    if ssl != "on" || !on_tcp {
        eprintln!("skipped: this PostgreSQL serves no TLS over TCP");
        return;
    }
    let certificate: String = admin
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .unwrap()
        .get(0);
    let certificate = std::path::Path::new(&certificate);
    if std::fs::File::open(certificate).is_err() {
        eprintln!("skipped: the server's certificate cannot be read here");
        return;
    }
    // Its certificate as the only root (a self-signed one names localhost).
    let verified = Store::open(&tls_url(&db, "localhost"), 1, Some(certificate)).unwrap();
    assert!(over_tls(&verified).await);
    // Roots that do not vouch for it (the public authorities): no
    // connection, rather than an unverified one.
    let public = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    if public.exists() {
        let unverified = Store::open(&tls_url(&db, "localhost"), 1, Some(public)).unwrap();
        assert!(unverified.ping().await.is_err());
    }
    // Nor for another name than the certificate's.
    let misnamed = Store::open(&tls_url(&db, "127.0.0.1"), 1, Some(certificate)).unwrap();
    assert!(misnamed.ping().await.is_err());
    // A missing CA file is refused when the pool is set up.
    let missing = std::path::Path::new("/nonexistent/ca.pem");
    let refused = Store::open(&tls_url(&db, "localhost"), 1, Some(missing));
    assert!(matches!(refused, Err(StoreSetupError::Tls(_))));
    // Without sslmode=require, plain as before.
    assert!(!over_tls(&db.store()).await);
}

/// A message of `text` from `sender` to `chat`, stored: its id and seq.
async fn say(store: &Store, chat: ChatId, sender: UserId, text: &str) -> (MessageId, i64) {
    let message = NewMessage {
        text: text.into(),
        ..message_in(chat, sender)
    };
    let stored = store.insert_message(&message).await.unwrap().unwrap();
    (stored.id, stored.seq)
}

/// The texts `reader` finds for `query`, newest first.
async fn found(store: &Store, reader: UserId, query: &str) -> Vec<String> {
    let search = MessageSearch {
        reader,
        query,
        chat: None,
        before: None,
        limit: 1000,
    };
    let found = store.search_messages(&search).await.unwrap();
    found.into_iter().map(|found| found.message.text).collect()
}

/// Indexes every chat behind.
async fn index_all(store: &Store) {
    let (_, running) = tokio::sync::watch::channel(false);
    words::sweep(store, &running).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_the_same_before_and_after_the_words_are_indexed() {
    let db = TestDatabase::create().await;
    let data = small_data(5);
    let store = db.store();
    populate::populate(&store, &data).await.unwrap();
    let (chat, sender) = chat_and_member(&data, 0);
    index_all(&store).await;
    let indexed_seq = format!(
        "SELECT indexed_seq FROM chat_words WHERE chat_id = '{}'",
        chat.0
    );
    let last_seq = format!("SELECT last_seq FROM chats WHERE id = '{}'", chat.0);
    assert_eq!(db.count(&indexed_seq).await, db.count(&last_seq).await);

    // Two indexed, one not yet: all three found, newest first.
    let (fox, _) = say(&store, chat, sender, "a quick fox").await;
    let (thinking, _) = say(&store, chat, sender, "quick thinking").await;
    let pass = store.index_words(&[chat], 100).await.unwrap();
    assert_eq!((pass.indexed, pass.behind), (2, vec![]));
    let (late, _) = say(&store, chat, sender, "quick and late").await;
    let expected = ["quick and late", "quick thinking", "a quick fox"];
    assert_eq!(found(&store, sender, "quick").await, expected);

    // Edits and a deletion, of indexed messages and of one not yet.
    let edit = |id, text: &'static str| {
        let store = store.clone();
        async move {
            let edit = uuid::Uuid::new_v4();
            store.edit_message(id, sender, edit, text).await.unwrap();
        }
    };
    edit(thinking, "slow thinking").await;
    edit(late, "slow and late").await;
    store.delete_message(fox, sender).await.unwrap();
    for _ in 0..2 {
        assert_eq!(found(&store, sender, "quick").await, Vec::<String>::new());
        let slow = found(&store, sender, "slow").await;
        assert_eq!(slow, ["slow and late", "slow thinking"]);
        index_all(&store).await;
    }
    // What stays of the deleted message's words: none.
    let words = format!(
        "SELECT count(*) FROM message_words w JOIN messages m USING (chat_id, seq)
         WHERE m.id = '{}' AND w.words <> ''::tsvector",
        fox.0
    );
    assert_eq!(db.count(&words).await, 0);
    assert_eq!(db.count(&indexed_seq).await, db.count(&last_seq).await);
}

/// Every page of `size` the reader finds for `query`, each after the last
/// message of the one before: their texts.
async fn pages(store: &Store, reader: UserId, query: &str, size: i64) -> Vec<String> {
    let mut texts = Vec::new();
    let mut before = None;
    loop {
        let search = MessageSearch {
            reader,
            query,
            chat: None,
            before,
            limit: size,
        };
        let page = store.search_messages(&search).await.unwrap();
        let Some(last) = page.last() else {
            return texts;
        };
        before = Some(last.message.id);
        texts.extend(page.into_iter().map(|found| found.message.text));
        assert!(texts.len() < 1000, "the pages do not end: {texts:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_and_pages_are_the_same_read_from_the_words_or_from_the_text() {
    let db = TestDatabase::create().await;
    let data = small_data(7);
    let store = db.store();
    populate::populate(&store, &data).await.unwrap();
    index_all(&store).await;
    let chat = (data.chats.iter())
        .find(|chat| chat.kind == core_service::store::chats::GROUP_CHAT)
        .map(|chat| ChatId(chat.id))
        .unwrap();
    let members = members_of(&data, chat);
    let (reader, friend, blocked) = (members[0], members[1], members[2]);
    let mut kept = Vec::new();
    for n in 0..12 {
        let text = format!("zqx {n}");
        let sender = if n % 3 == 0 { blocked } else { friend };
        say(&store, chat, sender, &text).await;
        if sender == friend {
            kept.push(text);
        }
    }
    kept.reverse();
    assert!(store.block(reader, blocked).await.unwrap());

    // None indexed, the older half, all: the same pages of three.
    assert_eq!(pages(&store, reader, "zqx", 3).await, kept);
    let pass = store.index_words(&[chat], 6).await.unwrap();
    assert_eq!((pass.indexed, pass.behind), (6, vec![chat]));
    assert_eq!(pages(&store, reader, "zqx", 3).await, kept);
    index_all(&store).await;
    assert_eq!(pages(&store, reader, "zqx", 3).await, kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_racing_the_indexer_leave_the_words_of_each_text_as_it_is() {
    let db = TestDatabase::create().await;
    let data = small_data(6);
    let store = db.store();
    populate::populate(&store, &data).await.unwrap();
    let (chat, sender) = chat_and_member(&data, 0);
    let mut sent = Vec::new();
    for n in 0..300 {
        sent.push(
            say(&store, chat, sender, &format!("first text {n}"))
                .await
                .0,
        );
    }
    // One task indexes a few messages at a time while another edits and
    // deletes, in an order that meets the indexer at every point.
    let indexing = {
        let store = store.clone();
        tokio::spawn(async move {
            while !store
                .index_words(&[chat], 3)
                .await
                .unwrap()
                .behind
                .is_empty()
            {}
        })
    };
    for (n, id) in sent.iter().enumerate().rev() {
        if n % 7 == 0 {
            store.delete_message(*id, sender).await.unwrap();
        } else if n % 2 == 0 {
            let text = format!("second text {n}");
            store
                .edit_message(*id, sender, uuid::Uuid::new_v4(), &text)
                .await
                .unwrap();
        }
    }
    indexing.await.unwrap();
    index_all(&store).await;

    // Every message's words are those of its text now; a message without
    // text has none.
    let wrong = "SELECT count(*) FROM messages m
                 LEFT JOIN message_words w USING (chat_id, seq)
                 WHERE coalesce(w.words, ''::tsvector) <> to_tsvector('simple', m.text)";
    assert_eq!(db.count(wrong).await, 0);
    // Neither edited (even) nor deleted (multiples of 7): 150 - 21.
    assert_eq!(found(&store, sender, "first").await.len(), 129);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_applied_a_retired_migration_needs_nothing_more() {
    let db = TestDatabase::create().await;
    let client = db.store().connection().await.unwrap();
    // As recorded by the builds that applied the old texts.
    client
        .batch_execute(
            "UPDATE schema_migrations SET checksum = 'd09921dd2dd64f7e' WHERE version = 28;
             UPDATE schema_migrations SET checksum = '61110694bca91b50' WHERE version = 30",
        )
        .await
        .unwrap();
    assert_eq!(migrate::run(&db.store()).await.unwrap(), 0);
    // Another text is still refused.
    client
        .batch_execute("UPDATE schema_migrations SET checksum = '0' WHERE version = 30")
        .await
        .unwrap();
    assert!(migrate::run(&db.store()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_another_core_is_indexing_is_left_to_it_and_indexed_after() {
    let db = TestDatabase::create().await;
    let data = small_data(9);
    let store = db.store();
    populate::populate(&store, &data).await.unwrap();
    let (held, held_sender) = chat_and_member(&data, 0);
    let (free, free_sender) = chat_and_member(&data, 1);
    index_all(&store).await;
    say(&store, held, held_sender, "held one").await;
    say(&store, held, held_sender, "held two").await;
    say(&store, free, free_sender, "free one").await;

    // Another core's pass over `held` is under way: its transaction holds
    // the chat's indexing lock.
    let (mut other, connection) = db.config().connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let indexing = other.transaction().await.unwrap();
    let lock = format!(
        "SELECT pg_advisory_xact_lock(hashtextextended('{}', 2))",
        held.0
    );
    indexing.batch_execute(&lock).await.unwrap();
    let pass = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.index_words(&[held, free], 100),
    )
    .await
    .expect("a pass does not wait for another core's")
    .unwrap();
    assert_eq!(
        (pass.indexed, pass.behind, pass.busy),
        (1, vec![], vec![held])
    );
    let (_, running) = tokio::sync::watch::channel(false);
    let caught_up = words::catch_up(&store, &[held], &running).await.unwrap();
    assert_eq!((caught_up.indexed, caught_up.busy), (0, vec![held]));
    // Found all the same, from the text not indexed yet.
    assert_eq!(
        found(&store, held_sender, "held").await,
        ["held two", "held one"]
    );

    indexing.rollback().await.unwrap();
    let caught_up = words::catch_up(&store, &[held], &running).await.unwrap();
    assert_eq!((caught_up.indexed, caught_up.busy), (2, vec![]));
    let unindexed = "SELECT count(*) FROM chats c LEFT JOIN chat_words w ON w.chat_id = c.id
                     WHERE c.last_seq > coalesce(w.indexed_seq, 0)";
    assert_eq!(db.count(unindexed).await, 0);
    assert_eq!(
        found(&store, held_sender, "held").await,
        ["held two", "held one"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_made_while_the_indexer_reads_the_old_text_keeps_its_words() {
    let db = TestDatabase::create().await;
    let data = small_data(8);
    let store = db.store();
    populate::populate(&store, &data).await.unwrap();
    let (chat, sender) = chat_and_member(&data, 0);
    index_all(&store).await;
    let (_, first) = say(&store, chat, sender, "old one").await;
    let (second, second_seq) = say(&store, chat, sender, "old two").await;

    // Another transaction holds the first message's row, so the indexer,
    // its snapshot taken (the old texts), waits before writing the first.
    let (mut holder, connection) = db.config().connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let holding = holder.transaction().await.unwrap();
    let hold = format!(
        "INSERT INTO message_words (chat_id, seq, sender_id, words)
         SELECT chat_id, seq, sender_id, 'held' FROM messages
         WHERE chat_id = '{}' AND seq = {first}",
        chat.0
    );
    holding.batch_execute(&hold).await.unwrap();
    let indexing = {
        let store = store.clone();
        tokio::spawn(async move { store.index_words(&[chat], 100).await.unwrap() })
    };
    let waiting = "SELECT count(*) FROM pg_stat_activity
                   WHERE wait_event_type = 'Lock' AND datname = current_database()";
    while db.count(waiting).await == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // The second message is edited and committed meanwhile.
    let edit = uuid::Uuid::new_v4();
    store
        .edit_message(second, sender, edit, "new two")
        .await
        .unwrap();
    holding.rollback().await.unwrap();
    indexing.await.unwrap();

    let words = format!(
        "SELECT count(*) FROM message_words
         WHERE chat_id = '{}' AND seq = {second_seq} AND words = to_tsvector('simple', 'new two')",
        chat.0
    );
    assert_eq!(db.count(&words).await, 1, "the edit's words stay");
    assert_eq!(found(&store, sender, "new").await, ["new two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_are_listed_by_their_newest_message_the_reader_may_read() {
    let db = TestDatabase::create().await;
    let data = small_data(5);
    let store = db.store();
    populate::populate(&store, &data).await.unwrap();
    let groups: Vec<ChatId> = data.groups.iter().map(|g| ChatId(g.chat_id)).collect();
    let (first, second) = (groups[0], groups[1]);
    // Someone in both groups reads; someone else in the first one writes.
    let reader = *members_of(&data, first)
        .iter()
        .find(|user| members_of(&data, second).contains(user))
        .unwrap();
    let writer = *members_of(&data, first)
        .iter()
        .find(|user| **user != reader)
        .unwrap();
    let order = |store: Store| async move {
        let listed = store.chats_of_user(reader, 50, 0).await.unwrap();
        let at = |chat| {
            listed
                .iter()
                .position(|summary| summary.id == chat)
                .unwrap()
        };
        at(first) < at(second)
    };
    say(&store, second, reader, "older").await;
    say(&store, first, writer, "newer").await;
    assert!(order(store.clone()).await, "the newest message first");

    store.block(reader, writer).await.unwrap();
    assert!(
        !order(store.clone()).await,
        "a blocked writer's message moves nothing"
    );
    let listed = store.chats_of_user(reader, 50, 0).await.unwrap();
    let shown = listed.iter().find(|summary| summary.id == first).unwrap();
    let last = shown.last_message.as_ref().map(|m| m.text.as_str());
    assert_ne!(last, Some("newer"), "nor is it shown");

    store.unblock(reader, writer).await.unwrap();
    assert!(order(store.clone()).await, "until the block is lifted");
}

/// Retries are answered for as long as their keys are kept; once the
/// days of a send's key are forgotten, the send is refused rather than
/// stored a second time, alone or in a batch, and uses up no number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_key_may_be_forgotten_is_refused_not_stored_twice() {
    use chrono::{Duration, Utc};
    use core_service::error::Error;
    let db = TestDatabase::create().await;
    let data = small_data(21);
    populate::populate(&db.store(), &data).await.unwrap();
    let (chat, sender) = chat_and_member(&data, 0);
    let store = db.store();
    let written = |days: i64| Some(Utc::now() - Duration::days(days));
    let retry = |message: &NewMessage| NewMessage {
        id: MessageId::random(),
        ..message.clone()
    };

    // Written nine days ago, stored then: nothing was forgotten yet, so
    // it is stored, and its key lands in the oldest day the database has
    // a partition for (eight days back, whatever the time of day now).
    let old = NewMessage {
        written_at: written(9),
        ..new_message(chat, sender)
    };
    store.insert_message(&old).await.unwrap().unwrap();
    let moved = format!(
        "WITH moved AS (
             UPDATE sent_keys
             SET kept_at = date_trunc('day', now() - interval '8 days', 'UTC') + interval '6 hours'
             WHERE client_id = '{}' RETURNING 1)
         SELECT count(*) FROM moved",
        old.client_id
    );
    assert_eq!(db.count(&moved).await, 1);
    // An old clock whose send is recent: its key is kept.
    let slow_clock = NewMessage {
        written_at: "2025-05-04T04:45:50Z".parse().ok(),
        ..new_message(chat, sender)
    };
    let first = store.insert_message(&slow_clock).await.unwrap().unwrap();

    assert_eq!(
        forget_all_but_two_days(&db, &retry(&old)).await,
        (old.id, false)
    );

    let last_seq = format!("SELECT last_seq FROM chats WHERE id = '{chat}'");
    let before = db.count(&last_seq).await;
    assert!(matches!(
        store.insert_message(&retry(&old)).await,
        Err(Error::StaleRetry)
    ));
    let again = store
        .insert_message(&retry(&slow_clock))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.id, again.created),
        (first.id, false),
        "its key is kept"
    );
    let fresh = NewMessage {
        written_at: written(0),
        ..new_message(chat, sender)
    };
    let answers = store
        .insert_messages(&[&retry(&old), &fresh, &retry(&old)])
        .await
        .unwrap();
    assert!(matches!(answers[0], Err(Error::StaleRetry)));
    assert!(matches!(&answers[1], Ok(Some(stored)) if stored.created));
    assert!(matches!(answers[2], Err(Error::StaleRetry)));
    assert_eq!(db.count(&last_seq).await, before + 1, "one number used");
    let copies = format!(
        "SELECT count(*) FROM messages WHERE client_id = '{}'",
        old.client_id
    );
    assert_eq!(db.count(&copies).await, 1);
}

/// Keeps two days of send keys, in the rounds it takes: the horizon moves
/// first, the partitions go at a later round, once no send can hold the
/// old horizon. Answers how a retry of `probe` sent between the rounds
/// was answered (its id, whether it was created).
async fn forget_all_but_two_days(db: &TestDatabase, probe: &NewMessage) -> (MessageId, bool) {
    let store = db.store();
    let keep = std::time::Duration::from_secs(86_400);
    assert_eq!(store.keep_sent_keys(keep).await.unwrap(), 0);
    let retried = store.insert_message(probe).await.unwrap().unwrap();
    assert_eq!(store.keep_sent_keys(keep).await.unwrap(), 0, "too soon");
    let moved = "WITH moved AS (
                     UPDATE sent_keys_horizon SET moved_at = now() - interval '1 hour'
                     RETURNING 1)
                 SELECT count(*) FROM moved";
    assert_eq!(db.count(moved).await, 1);
    assert!(store.keep_sent_keys(keep).await.unwrap() >= 6);
    let partitions = "SELECT count(*) FROM pg_inherits WHERE inhparent = 'sent_keys'::regclass";
    assert_eq!(db.count(partitions).await, 5, "today-2 … today+2");
    (retried.id, retried.created)
}
