//! Bounds on connections: how many, and how long a silent one may live.

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
        Stack::start_configured(Limits::default(), |config| config.ws_ping_interval_ms = 100).await;
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
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(silent.wait_closed().await, Some(1001));
    let mut lively = listening.await.unwrap();
    let (_, frame) = common::send_frame(&world.users[1], world.personal_chat, "still here");
    lively.send(frame).await;
    assert_eq!(lively.recv().await["type"], "message_ack");
    stack.stop().await;
}
