//! Input meant to hurt others: text PostgreSQL refuses, member lists that
//! cost quadratic time, a reused `client_id`, endless groups.

use crate::common::*;

/// The next event of a session, within the test's patience.
async fn next_event(events: &mut tonic::Streaming<messenger_proto::SharedEvent>) -> Event {
    let next = tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("an answer in time")
        .unwrap()
        .expect("the session is open");
    next.into_event().unwrap().event.unwrap()
}

/// The code of an error event, or a panic naming what came instead.
fn error_code(event: Event) -> String {
    match event {
        Event::Error(error) => error.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn send(
    core: &Core,
    user: usize,
    chat: uuid::Uuid,
    client_id: uuid::Uuid,
    text: &str,
) -> ClientOperation {
    let send = pb::SendMessage {
        attachment_ids: Vec::new(),
        written_at: None,
        client_id: client_id.to_string(),
        sender_id: core.data.users[user].id.to_string(),
        chat_id: chat.to_string(),
        text: text.into(),
    };
    ClientOperation::from(Operation::SendMessage(send))
}

fn create_group(name: &str, user_ids: Vec<String>) -> ClientOperation {
    let create = pb::CreateGroup {
        name: name.into(),
        user_ids,
    };
    ClientOperation::from(Operation::CreateGroup(create))
}

/// The chats of demo user `user`.
fn chats_of(core: &Core, user: usize) -> Vec<uuid::Uuid> {
    let id = core.data.users[user].id;
    let members = core.data.chat_members.iter();
    members
        .filter(|member| member.user_id == id)
        .map(|member| member.chat_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_refused_and_the_rest_of_the_batch_is_stored() {
    let core = start(Limits::default()).await;
    let chat = chats_of(&core, 0)[0];
    let before = core.db.count("SELECT count(*) FROM messages").await;
    let (operations, mut events) = session(&core, 0).await;
    // Sent without waiting, so that they reach the writer together.
    let texts = [
        "fine 1",
        "nul \0 inside",
        "fine 2",
        "bell \u{7}",
        "fine 3",
        "two\nlines\tok",
    ];
    for text in texts {
        let operation = send(&core, 0, chat, uuid::Uuid::new_v4(), text);
        operations.send(operation).await.unwrap();
    }
    let mut answers = Vec::new();
    for _ in texts {
        answers.push(match next_event(&mut events).await {
            Event::MessageAck(_) => "ack".to_owned(),
            other => error_code(other),
        });
    }
    assert_eq!(
        answers,
        ["ack", "invalid_field", "ack", "invalid_field", "ack", "ack"]
    );
    let after = core.db.count("SELECT count(*) FROM messages").await;
    assert_eq!(after - before, 4);
    let stored_nul = "SELECT count(*) FROM messages WHERE text LIKE '%bell%'";
    assert_eq!(core.db.count(stored_nul).await, 0);

    let group = create_group("bad\u{0}name", Vec::new());
    operations.send(group).await.unwrap();
    assert_eq!(error_code(next_event(&mut events).await), "invalid_field");
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_member_list_is_refused_by_its_size_before_it_is_read() {
    let core = start(Limits::default()).await;
    let (operations, mut events) = session(&core, 0).await;
    // Distinct ids, just under the core's 4 MiB message limit: read with a
    // quadratic duplicate check, this took minutes of a core thread.
    let ids = (0..90_000)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    operations.send(create_group("crowd", ids)).await.unwrap();
    assert_eq!(error_code(next_event(&mut events).await), "invalid_field");
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_reused_for_another_message_is_refused() {
    let core = start(Limits::default()).await;
    let user = (0..core.data.users.len())
        .find(|&user| chats_of(&core, user).len() > 1)
        .unwrap();
    let chats = chats_of(&core, user);
    let (operations, mut events) = session(&core, user).await;
    let client_id = uuid::Uuid::new_v4();
    operations
        .send(send(&core, user, chats[0], client_id, "first"))
        .await
        .unwrap();
    let Event::MessageAck(first) = next_event(&mut events).await else {
        panic!("the first send is acked");
    };
    // The same send again (a retry) is acked with the same message.
    operations
        .send(send(&core, user, chats[0], client_id, "first"))
        .await
        .unwrap();
    let Event::MessageAck(again) = next_event(&mut events).await else {
        panic!("the retry is acked");
    };
    assert_eq!(again.id, first.id);
    // Another text or another chat under the same id is a client bug.
    operations
        .send(send(&core, user, chats[0], client_id, "second"))
        .await
        .unwrap();
    assert_eq!(
        error_code(next_event(&mut events).await),
        "client_id_reused"
    );
    operations
        .send(send(&core, user, chats[1], client_id, "first"))
        .await
        .unwrap();
    assert_eq!(
        error_code(next_event(&mut events).await),
        "client_id_reused"
    );
    let sql = format!("SELECT count(*) FROM messages WHERE client_id = '{client_id}'");
    assert_eq!(core.db.count(&sql).await, 1);
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_creates_no_more_groups_than_the_quota() {
    let limits = Limits {
        max_groups_per_user: 2,
        ..Limits::default()
    };
    let core = start(limits).await;
    // A user who created none of the demo groups.
    let creators: Vec<uuid::Uuid> = core.data.groups.iter().map(|g| g.creator_id).collect();
    let user = (0..core.data.users.len())
        .find(|&user| !creators.contains(&core.data.users[user].id))
        .unwrap();
    let (operations, mut events) = session(&core, user).await;
    let friend = vec![core.data.users[(user + 1) % 4].id.to_string()];
    for n in 0..3 {
        operations
            .send(create_group(&format!("group {n}"), friend.clone()))
            .await
            .unwrap();
    }
    for _ in 0..2 {
        let event = next_event(&mut events).await;
        assert!(matches!(event, Event::GroupCreated(_)), "{event:?}");
    }
    assert_eq!(error_code(next_event(&mut events).await), "too_many_groups");
    let creator = core.data.users[user].id;
    let sql = format!("SELECT count(*) FROM groups WHERE creator_id = '{creator}'");
    assert_eq!(core.db.count(&sql).await, 2);
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_is_put_in_more_chats_than_the_limit() {
    // The demo data gives each user a few chats, counted as they load.
    let probe = start(Limits::default()).await;
    let target = 1;
    let already = chats_of(&probe, target).len();
    probe.stop().await;
    let limits = Limits {
        max_chats_per_user: already + 1,
        ..Limits::default()
    };
    let core = start(limits).await;
    let target_id = core.data.users[target].id;
    let counted = format!("SELECT chat_count::bigint FROM users WHERE id = '{target_id}'");
    assert_eq!(core.db.count(&counted).await, already as i64);
    let (operations, mut events) = session(&core, 0).await;
    let member = vec![target_id.to_string()];
    operations
        .send(create_group("one more", member.clone()))
        .await
        .unwrap();
    let event = next_event(&mut events).await;
    assert!(matches!(event, Event::GroupCreated(_)), "{event:?}");
    operations
        .send(create_group("one too many", member))
        .await
        .unwrap();
    assert_eq!(error_code(next_event(&mut events).await), "too_many_chats");
    assert_eq!(core.db.count(&counted).await, already as i64 + 1);
    core.stop().await;
}
