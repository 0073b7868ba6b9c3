//! Clients that hold connections by being slow: the request head a byte
//! at a time, or nothing at all.

use crate::common::{PATIENCE, Stack};
use core_service::state::Limits;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Waits until the server closes `stream`; fails the test if it does not
/// within the test's patience.
async fn closed_by_server(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .ok();
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_sent_too_slowly_loses_its_connection() {
    let stack = Stack::start_configured(Limits::default(), |config| {
        config.http_header_timeout_ms = 400;
    })
    .await;
    let mut slow = TcpStream::connect(stack.edge_address).await.unwrap();
    slow.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: edge\r\n")
        .await
        .unwrap();
    // It keeps sending a header line now and then, never the end.
    let trickle = async {
        for n in 0.. {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let line = format!("X-Slow-{n}: y\r\n");
            if slow.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    };
    tokio::time::timeout(PATIENCE, trickle)
        .await
        .expect("the server hangs up on the slow client");

    // An idle connection goes the same way; a normal request is served.
    let mut idle = TcpStream::connect(stack.edge_address).await.unwrap();
    closed_by_server(&mut idle).await;
    let (status, _) = crate::common::get_json(&stack.http_url("/openapi.json")).await;
    assert_eq!(status, 200);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_http_cap_are_closed_at_once() {
    let stack = Stack::start_configured(Limits::default(), |config| {
        config.max_http_connections = 2;
        config.http_header_timeout_ms = 60_000;
    })
    .await;
    let _held: Vec<TcpStream> = vec![
        TcpStream::connect(stack.edge_address).await.unwrap(),
        TcpStream::connect(stack.edge_address).await.unwrap(),
    ];
    // Let the server take both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(stack.edge_address).await.unwrap();
    let _ = third
        .write_all(b"GET /openapi.json HTTP/1.1\r\nHost: edge\r\n\r\n")
        .await;
    assert!(
        closed_by_server(&mut third).await.is_empty(),
        "closed without an answer"
    );
    drop(_held);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answered = reqwest::get(stack.http_url("/openapi.json")).await;
        if answered.is_ok_and(|response| response.status() == 200) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "places freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.stop().await;
}
