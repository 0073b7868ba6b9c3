//! Bounds on connections: how many, and how long a silent one may live.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Stack, World};
use core_service::state::Limits;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_beyond_the_connection_limit_get_503_until_one_closes() {
    let stack =
        Stack::start_configured(Limits::default(), |config| config.max_connections = 2).await;
    let world = World::new();
    stack.load(&world).await;
    let first = stack.login(&world.users[0]).await;
    let _second = stack.login(&world.users[1]).await;

    let refused = tokio_tungstenite::connect_async(stack.ws_url()).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = refused else {
        panic!("the third connection was accepted");
    };
    assert_eq!(response.status().as_u16(), 503);
    // REST is not limited by WebSocket connections.
    let path = format!("/history/{}", world.group_chat);
    let (status, _) = stack.get_as(&world.users[0], &path).await;
    assert_eq!(status, 200);

    first.close().await;
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        if tokio_tungstenite::connect_async(stack.ws_url())
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot was never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_no_pings_is_disconnected() {
    let stack =
        Stack::start_configured(Limits::default(), |config| config.ws_ping_interval_ms = 200).await;
    let world = World::new();
    stack.load(&world).await;
    let mut silent = stack.login(&world.users[0]).await;
    let mut lively = stack.login(&world.users[1]).await;
    // Reading answers pings (the client library pongs); not reading does not.
    let listening = tokio::spawn(async move {
        lively.expect_silence().await;
        lively.expect_silence().await;
        lively
    });
    // The silent client must not read before the edge has given up on it:
    // reading is what answers pings, and on a busy machine the edge may not
    // have missed two yet after a fixed sleep. Its connection history says
    // when the edge has ended it.
    let row = ended(&stack, &world.users[0], 0).await;
    assert_eq!(row["end_reason"], "timed_out", "{row}");
    // The edge sent 1001 and hung up; reading now, the client library tries
    // to answer the pings it finds first, and may meet the reset before it
    // gets to the close frame.
    let seen = silent.wait_closed().await;
    assert!(matches!(seen, Some(1001) | None), "{seen:?}");
    let mut lively = listening.await.unwrap();
    let (_, frame) = common::send_frame(&world.users[1], world.personal_chat, "still here");
    lively.send(frame).await;
    assert_eq!(lively.recv().await["type"], "message_ack");
    stack.stop().await;
}

/// The caller's connection history through `GET /me/connections`.
async fn history_of(
    stack: &Stack,
    user: &core_service::demo_data::DemoUser,
) -> Vec<serde_json::Value> {
    let token = stack.access_token(user).await;
    let (status, body) = common::get_json_as(&stack.http_url("/me/connections"), &token).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// Waits until the user's newest-but-`index` connection has ended.
async fn ended(
    stack: &Stack,
    user: &core_service::demo_data::DemoUser,
    index: usize,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        let rows = history_of(stack, user).await;
        if !rows[index]["ended_at"].is_null() {
            return rows[index].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the connection never ended: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_is_recorded_and_visible_to_its_user_only() {
    let (stack, world) = common::stack_with_world().await;
    let url = stack.ws_url();
    let mut phone = common::Client::connect_with(&url, &[("user-agent", "phone-app/1.0")])
        .await
        .unwrap();
    phone.send(common::login_frame(&world.users[0])).await;
    phone.recv().await;
    phone.close().await;
    let first = ended(&stack, &world.users[0], 0).await;
    assert_eq!(first["end_reason"], "client_closed");
    assert_eq!(first["user_agent"], "phone-app/1.0");
    assert_eq!(first["client_address"], "127.0.0.1");
    assert_eq!(first["edge"], "test-edge");

    let mut laptop = common::Client::connect_with(&url, &[("user-agent", "laptop/2.0")])
        .await
        .unwrap();
    laptop.send(common::login_frame(&world.users[0])).await;
    laptop.recv().await;
    let rows = history_of(&stack, &world.users[0]).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["user_agent"], "laptop/2.0", "newest first");
    assert!(rows[0]["ended_at"].is_null() && rows[0]["end_reason"].is_null());
    assert_eq!(rows[1]["id"], first["id"]);

    // Another user sees only their own (none yet); paging works.
    assert!(history_of(&stack, &world.users[1]).await.is_empty());
    let token = stack.access_token(&world.users[0]).await;
    let page = stack.http_url("/me/connections?limit=1&offset=1");
    let (_, rows) = common::get_json_as(&page, &token).await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["id"], first["id"]);
    let (status, _) = common::get_json_as(&stack.http_url("/me/connections?limit=0"), &token).await;
    assert_eq!(status, 422);
    assert_eq!(
        common::get_json(&stack.http_url("/me/connections")).await.0,
        401
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_and_switching_users_are_recorded_as_such() {
    let (mut stack, world) = common::stack_with_world().await;
    let mut client = stack.login(&world.users[0]).await;
    client.send(common::login_frame(&world.users[1])).await;
    client.recv().await;
    assert_eq!(
        ended(&stack, &world.users[0], 0).await["end_reason"],
        "switched_user"
    );
    stack.stop_core().await;
    let open = stack
        .db
        .count("SELECT count(*) FROM connections WHERE ended_at IS NULL")
        .await;
    assert_eq!(
        open, 0,
        "the core records its sessions' end before it stops"
    );
    let reasons = stack
        .db
        .count("SELECT count(*) FROM connections WHERE end_reason = 'server_shutdown'")
        .await;
    assert_eq!(reasons, 1);
    stack.restart_core().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_stops_reading_is_closed_while_others_keep_receiving() {
    let limits = Limits {
        max_text_chars: 20_000,
        session_queue: 16,
        // The flood comes from one user.
        message_burst: 1_000,
        ..Limits::default()
    };
    let stack = Stack::start_configured(limits, |config| {
        config.ws_write_timeout_ms = 1000;
        config.ws_queue = 16;
    })
    .await;
    let world = World::new();
    stack.load(&world).await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut stalled = stack.login(&world.users[1]).await;
    let mut fast = stack.login(&world.users[2]).await;
    let total = 400;
    let reader = tokio::spawn(async move {
        for n in 0..total {
            let frame = fast.recv().await;
            assert_eq!(
                frame["text"].as_str().unwrap().split(' ').next(),
                Some(n.to_string().as_str())
            );
        }
        fast
    });
    let padding = "x".repeat(16_000);
    for n in 0..total {
        let (_, frame) =
            common::send_frame(&world.users[0], world.group_chat, &format!("{n} {padding}"));
        sender.send(frame).await;
        assert_eq!(sender.recv().await["type"], "message_ack");
    }
    let mut fast = reader.await.unwrap();
    fast.expect_silence().await;
    // The stalled client, reading at last, finds its connection ended
    // (with 4008 when the close frame got through before the reset).
    if let Some(code) = stalled.wait_closed().await {
        assert_eq!(code, 4008);
    }
    stack.stop().await;
}

/// A client back after a long absence asks for far more than its queue on
/// the edge holds (16 frames; 600 messages of 16 KB, more than the socket
/// buffers too), and reads nothing for a second. The catch-up waits for it
/// instead of overflowing its queue: it gets every message, in order, and
/// stays connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_gets_a_long_catch_up_at_its_own_pace() {
    let limits = Limits {
        max_text_chars: 20_000,
        // The flood comes from one user.
        message_burst: 1_000,
        ..Limits::default()
    };
    let stack = Stack::start_configured(limits, |config| {
        config.ws_write_timeout_ms = 3000;
        config.ws_queue = 16;
    })
    .await;
    let world = World::new();
    stack.load(&world).await;
    let mut sender = stack.login(&world.users[0]).await;
    let padding = "x".repeat(16_000);
    let total = 600;
    for n in 0..total {
        let (_, frame) =
            common::send_frame(&world.users[0], world.group_chat, &format!("{n} {padding}"));
        sender.send(frame).await;
        assert_eq!(sender.recv().await["type"], "message_ack");
    }
    let mut catching_up = stack.login(&world.users[1]).await;
    let since = serde_json::json!({
        world.group_chat.to_string(): 0,
        world.personal_chat.to_string(): 0,
    });
    catching_up
        .send(serde_json::json!({"type": "sync", "since": since}))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in 0..total {
        let frame = catching_up.recv().await;
        assert_eq!(frame["type"], "message", "{}", frame["type"]);
        assert_eq!(frame["seq"], n + 1);
    }
    let done = catching_up.recv().await;
    assert_eq!(done["type"], "sync_done");
    assert_eq!(done["cursor"][world.group_chat.to_string()], total);

    // Still connected: live messages arrive.
    let (_, frame) = common::send_frame(&world.users[0], world.group_chat, "after");
    sender.send(frame).await;
    assert_eq!(catching_up.recv().await["text"], "after");
    stack.stop().await;
}

/// How the connection of a client that logs in and then never reads ends,
/// while another member sends it far more than the socket buffers between
/// edge and client hold. The core's own session queue (1,024) never fills.
async fn end_of_a_stalled_socket(ws_queue: usize, write_timeout_ms: u64) -> serde_json::Value {
    let limits = Limits {
        max_text_chars: 20_000,
        // The flood comes from one user.
        message_burst: 1_000,
        ..Limits::default()
    };
    let stack = Stack::start_configured(limits, |config| {
        config.ws_write_timeout_ms = write_timeout_ms;
        config.ws_queue = ws_queue;
    })
    .await;
    let world = World::new();
    stack.load(&world).await;
    let mut sender = stack.login(&world.users[0]).await;
    let _stalled = stack.login(&world.users[1]).await;
    let padding = "x".repeat(16_000);
    for n in 0..900 {
        let (_, frame) =
            common::send_frame(&world.users[0], world.group_chat, &format!("{n} {padding}"));
        sender.send(frame).await;
        assert_eq!(sender.recv().await["type"], "message_ack");
    }
    let row = ended(&stack, &world.users[1], 0).await;
    stack.stop().await;
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_fills_its_queue_on_the_edge_is_ended_as_a_slow_consumer() {
    // The edge's queue of 8 fills long before the 2 s write timeout.
    let row = end_of_a_stalled_socket(8, 2000).await;
    assert_eq!(row["end_reason"], "slow_consumer", "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_takes_no_frame_in_time_is_ended_as_a_slow_consumer() {
    // The queue holds all 900 messages; the write timeout ends it.
    let row = end_of_a_stalled_socket(1024, 1000).await;
    assert_eq!(row["end_reason"], "slow_consumer", "{row}");
}
