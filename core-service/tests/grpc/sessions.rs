//! Session streams of gRPC clients of their own.

use crate::common::*;

// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_while_others_keep_receiving() {
    // Big messages, so that the HTTP/2 windows between core and reader
    // (2 MiB per stream, about 130 of these messages) fill up and the
    // core's queue of 32 overflows well before the 400th. The queue leaves
    // the reader that does read a margin when other tests load the machine
    // (with 4 it was closed too, now and then, while images were decoded).
    let limits = Limits {
        session_queue: 32,
        max_text_chars: 20_000,
        // The flood comes from one user.
        message_burst: 1_000,
        ..Limits::default()
    };
    let core = start(limits).await;
    let chat = &core.data.chats[0];
    let members: Vec<usize> = core
        .data
        .chat_members
        .iter()
        .filter(|m| m.chat_id == chat.id)
        .map(|m| {
            core.data
                .users
                .iter()
                .position(|u| u.id == m.user_id)
                .unwrap()
        })
        .collect();
    let (sender_ops, mut sender_events) = session(&core, members[0]).await;
    let (slow_ops, mut slow_events) = session(&core, members[1]).await;
    let (_fast_ops, mut fast_events) = session(&core, members[1]).await;
    let sender_id = core.data.users[members[0]].id.to_string();
    let total = 400;
    let fast_reader = tokio::spawn(async move {
        let mut received = 0;
        while received < total {
            match fast_events
                .message()
                .await
                .unwrap()
                .unwrap()
                .into_event()
                .unwrap()
                .event
            {
                Some(Event::Message(_)) => received += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        received
    });
    for n in 0..total {
        let send = pb::SendMessage {
            attachment_ids: Vec::new(),
            written_at: None,
            client_id: uuid::Uuid::new_v4().to_string(),
            sender_id: sender_id.clone(),
            chat_id: chat.id.to_string(),
            text: format!("{n} {}", "x".repeat(16_000)),
        };
        sender_ops
            .send(ClientOperation::from(Operation::SendMessage(send)))
            .await
            .unwrap();
        let ack = sender_events
            .message()
            .await
            .unwrap()
            .unwrap()
            .into_event()
            .unwrap();
        assert!(matches!(ack.event, Some(Event::MessageAck(_))), "{ack:?}");
    }
    assert_eq!(fast_reader.await.unwrap(), total);
    // The slow session, read only now, ends with RESOURCE_EXHAUSTED.
    let status = loop {
        match slow_events.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the slow session ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted);
    // Once the client hangs up, its connection history says why it ended.
    drop(slow_ops);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let sql = "SELECT count(*) FROM connections WHERE end_reason = 'slow_consumer'";
    while core.db.count(sql).await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "slow consumer not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_sessions_with_unavailable() {
    let core = start(Limits::default()).await;
    let (_ops, mut events) = session(&core, 0).await;
    let (_anonymous, queue) = mpsc::channel::<ClientOperation>(1);
    let mut client = MessengerClient::new(core.channel().await);
    let mut anonymous_events = client
        .session(ReceiverStream::new(queue))
        .await
        .unwrap()
        .into_inner();
    let _ = core.stop.send(true);
    assert_eq!(
        events.message().await.unwrap_err().code(),
        Code::Unavailable
    );
    assert_eq!(
        anonymous_events.message().await.unwrap_err().code(),
        Code::Unavailable
    );
    tokio::time::timeout(Duration::from_secs(10), core.task)
        .await
        .unwrap()
        .unwrap();
}
