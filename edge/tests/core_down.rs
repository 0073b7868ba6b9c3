//! The core being away: clear errors at the edge, and recovery by itself.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, PATIENCE, Stack, World, get_json_as, send_frame};
use std::time::Duration;

/// Logs in, retrying while the edge is still reconnecting to the core.
async fn login_when_back(stack: &Stack, world: &World) -> Client {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut client = stack.connect().await;
        client.send(common::login_frame(&world.users[0])).await;
        if let Ok(frame) = tokio::time::timeout(Duration::from_secs(1), client.recv()).await {
            assert_eq!(frame["type"], "auth_success");
            return client;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edge never reconnected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_shutdown_closes_sessions_with_1012_and_the_edge_recovers() {
    let mut stack = Stack::start().await;
    let world = World::new();
    stack.load(&world).await;
    let mut client = stack.login(&world.users[0]).await;
    let token = stack.access_token(&world.users[0]).await;
    let history = stack.http_url(&format!("/history/{}", world.personal_chat));

    stack.stop_core().await;
    let (code, reason) = client.recv_close().await;
    assert_eq!(code, 1012, "{reason}");

    // While the core is down: new sockets are closed with 1013, REST is 503.
    let mut refused = stack.connect().await;
    let (code, reason) = refused.recv_close().await;
    assert_eq!(code, 1013);
    assert!(reason.contains("unavailable"), "{reason}");
    let (status, body) = get_json_as(&history, &token).await;
    assert_eq!(status, 503);
    assert!(body["detail"].as_str().unwrap().contains("unavailable"));

    // Back again: no edge restart needed.
    stack.restart_core().await;
    let mut client = login_when_back(&stack, &world).await;
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "back");
    client.send(frame).await;
    assert_eq!(client.recv().await["type"], "message_ack");
    let (status, _) = get_json_as(&history, &token).await;
    assert_eq!(status, 200);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_started_before_its_core_serves_once_the_core_is_up() {
    let reserved = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let core_address = reserved.local_addr().unwrap();
    drop(reserved);
    let (stop_edge, edge_task, edge_address) = common::start_edge_only(core_address).await;

    let mut client = Client::connect(&format!("ws://{edge_address}/ws")).await;
    assert_eq!(client.recv_close().await.0, 1013);
    // A token the core has never issued: only the core can say so.
    let url = format!("http://{edge_address}/history/{}", uuid::Uuid::new_v4());
    let (status, _) = get_json_as(&url, "msa_unknown").await;
    assert_eq!(status, 503);

    let db = core_service::testing::TestDatabase::create().await;
    let listener = tokio::net::TcpListener::bind(core_address).await.unwrap();
    let (stop_core, stopped) = tokio::sync::watch::channel(false);
    let core = tokio::spawn(core_service::serve(
        db.store(),
        db.with_media(core_service::testing::with_test_edges(
            core_service::state::Settings::default(),
        )),
        listener,
        async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|stop| *stop).await;
        },
    ));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while get_json_as(&url, "msa_unknown").await.0 == 503 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edge never reached the core"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get_json_as(&url, "msa_unknown").await.0, 401);
    let _ = stop_core.send(true);
    core.await.unwrap().unwrap();
    let _ = stop_edge.send(true);
    edge_task.await.unwrap();
}

/// `/healthz` says the edge is alive whatever happens behind it; `/readyz`
/// follows the cores: not ready while the database is unreachable (the
/// core's health service says so) or the core is gone, ready again when the
/// database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_and_the_core() {
    let mut stack = Stack::start().await;
    let status = |path: &'static str| {
        let url = stack.http_url(path);
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/healthz").await, 200);
    assert_eq!(status("/readyz").await, 200);

    stack.db.set_reachable(false).await;
    wait_for_status(&stack, "/readyz", 503).await;
    assert_eq!(status("/healthz").await, 200);
    stack.db.set_reachable(true).await;
    wait_for_status(&stack, "/readyz", 200).await;

    stack.stop_core().await;
    wait_for_status(&stack, "/readyz", 503).await;
    assert_eq!(
        reqwest::get(stack.http_url("/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    stack.stop().await;
}

/// Polls `path` until it answers `expected` (the core checks its database
/// every 2 s).
async fn wait_for_status(stack: &Stack, path: &str, expected: u16) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = reqwest::get(stack.http_url(path))
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} stayed {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
