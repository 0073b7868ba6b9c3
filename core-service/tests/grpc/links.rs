//! Edge links: many sessions on one stream.

use crate::common::*;
use messenger_proto::v1::EndReason;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_carries_each_event_once_for_all_its_sessions() {
    let core = start(Limits::default()).await;
    let members = group_members(&core);
    let chat = core.data.chats.iter().find(|chat| {
        core.data
            .chat_members
            .iter()
            .filter(|m| m.chat_id == chat.id)
            .count()
            == members.len()
    });
    let chat = chat.unwrap().id.to_string();
    let (signals, mut link) = edge_link(&core).await;
    let (sender_ops, mut sender_events) = session(&core, members[0]).await;
    linked_session(&core, &signals, &mut link, 7, members[1]).await;
    linked_session(&core, &signals, &mut link, 9, members[2]).await;

    let send = pb::SendMessage {
        attachment_ids: Vec::new(),
        written_at: None,
        client_id: uuid::Uuid::new_v4().to_string(),
        sender_id: core.data.users[members[0]].id.to_string(),
        chat_id: chat,
        text: "once per edge".into(),
    };
    let operation = Some(Operation::SendMessage(send));
    sender_ops
        .send(ClientOperation {
            operation,
            traceparent: String::new(),
        })
        .await
        .unwrap();
    let ack = sender_events.message().await.unwrap().unwrap();
    assert!(matches!(
        ack.into_event().unwrap().event,
        Some(Event::MessageAck(_))
    ));
    let delivery_of_message = delivery(&mut link).await;
    let mut sessions = delivery_of_message.sessions.clone();
    sessions.sort_unstable();
    assert_eq!(sessions, vec![7, 9], "one delivery for both sessions");
    assert_eq!(delivery_of_message.operations_taken, 0);
    match event_of(delivery_of_message) {
        Some(Event::Message(message)) => assert_eq!(message.text, "once per edge"),
        other => panic!("expected the message, got {other:?}"),
    }

    // A session the edge reports as slow ends; the other one does not.
    signal(&signals, pb::link_signal::Signal::SlowSession(9)).await;
    let ended = delivery(&mut link).await;
    assert_eq!(ended.sessions, vec![9]);
    let status = ended.ended.expect("session 9 ended");
    assert_eq!(status.reason(), EndReason::SlowConsumer);
    let quiet = tokio::time::timeout(Duration::from_millis(200), link.message()).await;
    assert!(quiet.is_err(), "nothing for session 7: {quiet:?}");

    // When the edge drops the link, the sessions on it end; the history
    // names the edge and the client the edge reported.
    drop(signals);
    drop(link);
    let ended = "SELECT count(*) FROM connections WHERE edge = 'edge-under-test' \
                 AND client_address = '192.0.2.7' AND user_agent = 'grpc-test' AND end_reason";
    wait_for_count(&core, &format!("{ended} = 'slow_consumer'"), 1).await;
    wait_for_count(&core, &format!("{ended} = 'error'"), 1).await;
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_session_opened_with_a_token_is_logged_in_and_ends_when_its_client_leaves() {
    let core = start(Limits::default()).await;
    let user = &core.data.users[0];
    let mut client = MessengerClient::new(core.channel().await);
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    let token = client.create_login_session(login).await.unwrap();
    let token = token.into_inner().token;
    let (signals, mut link) = edge_link(&core).await;

    open_linked(&signals, 1, &token).await;
    let first = delivery(&mut link).await;
    assert_eq!(first.sessions, vec![1]);
    match event_of(first) {
        Some(Event::AuthSuccess(me)) => assert_eq!(me.id, user.id.to_string()),
        other => panic!("expected auth_success, got {other:?}"),
    }
    // With the way to reopen the session elsewhere: a token of a login of
    // its own, which works, and the user's chats.
    let resumable = resumable(&mut link, 1).await;
    assert_ne!(resumable.token, token);
    let chats = resumable.cursor.clone().unwrap().chats.len();
    assert_eq!(
        i64::try_from(chats).unwrap(),
        core.db
            .count(&format!(
                "SELECT count(*) FROM chat_members WHERE user_id = '{}'",
                user.id
            ))
            .await
    );

    // A token that is not valid ends the session at once.
    open_linked(&signals, 2, "msa_not-a-token").await;
    let refused = delivery(&mut link).await;
    assert_eq!(refused.sessions, vec![2]);
    assert_eq!(refused.ended.unwrap().reason(), EndReason::LoggedOut);

    // An operation with no reply is still reported as taken.
    let seen = pb::MessageSeen {
        message_id: uuid::Uuid::new_v4().to_string(),
    };
    let operation = ClientOperation::from(Operation::MessageSeen(seen));
    operate(&signals, 1, operation).await;
    let answer = delivery(&mut link).await;
    assert_eq!(answer.operations_taken, 1);

    signal(&signals, pb::link_signal::Signal::CloseSession(1)).await;
    let closed = "SELECT count(*) FROM connections WHERE end_reason = 'client_closed'";
    wait_for_count(&core, closed, 1).await;
    // The session's own login ended with it.
    let hash = core_service::auth::tokens::hash(&resumable.token);
    let revoked = format!(
        "SELECT count(*) FROM auth_tokens WHERE token_hash = '{hash}' AND revoked_at IS NOT NULL"
    );
    wait_for_count(&core, &revoked, 1).await;
    core.stop().await;
}

/// A message from `sender` (a demo user's own session) in `chat`, acked.
async fn send_and_wait(
    core: &Core,
    (operations, events): &mut (
        mpsc::Sender<ClientOperation>,
        tonic::Streaming<messenger_proto::SharedEvent>,
    ),
    sender: usize,
    chat: &str,
    text: &str,
) -> u64 {
    operations
        .send(send_operation(core, sender, chat, text))
        .await
        .unwrap();
    loop {
        let event = events
            .message()
            .await
            .unwrap()
            .unwrap()
            .into_event()
            .unwrap();
        if let Some(Event::MessageAck(ack)) = event.event {
            return ack.seq;
        }
    }
}

fn send_operation(core: &Core, sender: usize, chat: &str, text: &str) -> ClientOperation {
    let send = pb::SendMessage {
        attachment_ids: Vec::new(),
        written_at: None,
        client_id: uuid::Uuid::new_v4().to_string(),
        sender_id: core.data.users[sender].id.to_string(),
        chat_id: chat.to_owned(),
        text: text.into(),
    };
    ClientOperation::from(Operation::SendMessage(send))
}

/// The session move, the core's side: a session opened with what its
/// client has gets no `auth_success`, the answer to its unanswered message,
/// only the messages it missed (not one it had beyond its cursor), no
/// `sync_done`, and then the live ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_session_gets_what_it_missed_and_nothing_it_had() {
    let core = start(Limits::default()).await;
    let members = group_members(&core);
    let (mover, other) = (members[0], members[1]);
    let chat = core
        .data
        .chats
        .iter()
        .find(|chat| {
            let member = |user: usize| {
                core.data
                    .chat_members
                    .iter()
                    .any(|m| m.chat_id == chat.id && m.user_id == core.data.users[user].id)
            };
            member(mover) && member(other) && chat.kind == core_service::store::chats::GROUP_CHAT
        })
        .unwrap()
        .id
        .to_string();
    let token = access_token(&core, mover).await;
    let (signals, mut link) = edge_link(&core).await;
    // The session on its first core: what the client has when it logs in.
    open_linked(&signals, 1, &token).await;
    let _ = delivery(&mut link).await;
    let resumable = resumable(&mut link, 1).await;
    signal(&signals, pb::link_signal::Signal::CloseSession(1)).await;
    let mut cursor = resumable.cursor.unwrap().chats;

    // While it moves: three messages; it had the first and the third.
    let mut sender = session(&core, other).await;
    let mut seqs = Vec::new();
    for text in ["had", "missed", "had too"] {
        seqs.push(send_and_wait(&core, &mut sender, other, &chat, text).await);
    }
    cursor.insert(chat.clone(), seqs[0]);
    let moving = pb::SessionMove {
        had_up_to: cursor,
        had_also: vec![pb::ChatSeq {
            chat_id: chat.clone(),
            seq: seqs[2],
        }],
        resend: vec![send_operation(&core, mover, &chat, "unanswered")],
        syncs: Vec::new(),
    };
    // (Opened with the client's own token: the first core's session was
    // closed by its client here, which revoked the session's own.)
    open_moved(&signals, 2, &token, Some(moving)).await;

    let mut events = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_millis(500), link.message()).await {
        let delivery = next.unwrap().unwrap();
        if delivery.sessions.contains(&2)
            && let Some(event) = event_of(delivery)
        {
            events.push(event);
        }
    }
    match &events[..] {
        [
            Event::Resumable(renewed),
            Event::MessageAck(ack),
            Event::Message(missed),
        ] => {
            assert!(renewed.cursor.is_none(), "the edge's cursor goes on");
            assert_eq!(ack.seq, seqs[2] + 1);
            assert_eq!((missed.seq, missed.text.as_str()), (seqs[1], "missed"));
        }
        other => panic!("expected resumable, ack, the missed message: {other:?}"),
    }
    // Live from now on, and still nothing it had.
    let live = send_and_wait(&core, &mut sender, other, &chat, "live").await;
    let delivery = delivery(&mut link).await;
    assert!(delivery.sessions.contains(&2), "{delivery:?}");
    match event_of(delivery) {
        Some(Event::Message(message)) => assert_eq!(message.seq, live),
        other => panic!("expected the live message, got {other:?}"),
    }
    core.stop().await;
}

/// An operation the core answers with an error event at once.
fn unknown_receipt() -> ClientOperation {
    let seen = pb::MessageSeen {
        message_id: uuid::Uuid::new_v4().to_string(),
    };
    ClientOperation::from(Operation::MessageSeen(seen))
}

/// The next delivery for `session`, skipping others.
async fn delivery_for(
    link: &mut tonic::Streaming<messenger_proto::LinkDelivery>,
    session: u64,
) -> messenger_proto::LinkDelivery {
    loop {
        let next = delivery(link).await;
        if next.sessions == vec![session] {
            return next;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_that_sends_past_a_sessions_window_ends_only_that_session() {
    let core = start(Limits::default()).await;
    let member = &core.data.chat_members[0];
    let user = core.data.users.iter().position(|u| u.id == member.user_id);
    let (signals, mut link) = edge_link(&core).await;
    linked_session(&core, &signals, &mut link, 1, 0).await;
    linked_session(&core, &signals, &mut link, 2, user.unwrap()).await;

    // Session 2's send waits for the chat's row, which the test holds, so
    // the operations after it pile up: one more than the window.
    let holder = core.db.store().connection().await.unwrap();
    let chat = member.chat_id;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM chats WHERE id = '{chat}' FOR UPDATE"
        ))
        .await
        .unwrap();
    let send = pb::SendMessage {
        attachment_ids: Vec::new(),
        written_at: None,
        client_id: uuid::Uuid::new_v4().to_string(),
        sender_id: member.user_id.to_string(),
        chat_id: chat.to_string(),
        text: "held".into(),
    };
    let operation = Some(Operation::SendMessage(send));
    operate(
        &signals,
        2,
        ClientOperation {
            operation,
            traceparent: String::new(),
        },
    )
    .await;
    for _ in 0..=messenger_proto::LINK_OPERATION_WINDOW {
        operate(&signals, 2, unknown_receipt()).await;
    }
    // The link applies signals in order, so once session 1 is answered the
    // flood has been applied; session 1 is not held up by it. Session 2
    // ends as soon as it next looks for an operation: at once if it had
    // not started on the send, else once the send is through.
    operate(&signals, 1, unknown_receipt()).await;
    let mut ended = None;
    loop {
        let next = delivery(&mut link).await;
        match next.sessions.as_slice() {
            [1] => break assert!(matches!(event_of(next), Some(Event::Error(_)))),
            [2] => ended = next.ended.or(ended),
            other => panic!("a delivery for {other:?}"),
        }
    }
    holder.batch_execute("COMMIT").await.unwrap();
    while ended.is_none() {
        ended = delivery_for(&mut link, 2).await.ended;
    }
    assert_eq!(ended.unwrap().reason(), EndReason::SlowConsumer);

    // The link and its other session carry on.
    operate(&signals, 1, unknown_receipt()).await;
    let answer = delivery_for(&mut link, 1).await;
    assert!(matches!(event_of(answer), Some(Event::Error(_))));
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_needs_a_uuid_name() {
    let core = start(Limits::default()).await;
    let (_signals, queue) = mpsc::channel::<pb::LinkSignal>(1);
    let mut client = MessengerClient::new(core.channel().await);
    let mut request = tonic::Request::new(ReceiverStream::new(queue));
    request
        .metadata_mut()
        .insert("x-edge-link", "not-a-uuid".parse().unwrap());
    request.metadata_mut().insert(
        messenger_proto::EDGE_SECRET_METADATA,
        core_service::testing::EDGE_SECRET.parse().unwrap(),
    );
    let status = client.edge_link(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    core.stop().await;
}
