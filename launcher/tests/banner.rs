//! What `messenger` prints once it is up: the web client's address first
//! (what most people open), then the WebSocket, history, API docs and gRPC
//! addresses and a demo login; every page it names answers.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{free_port, get, messenger};
use core_service::testing::{Process, TestDatabase};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

/// The lines from "messenger is running" to the blank line that ends the
/// list, as `output` gives them.
fn banner(output: impl BufRead + Send + 'static) -> Vec<String> {
    let (lines, read) = mpsc::channel();
    // Reads to the end, even once no one listens: a closed pipe would make
    // the messenger's next line fail.
    std::thread::spawn(move || {
        for line in output.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let next = || {
        read.recv_timeout(Duration::from_secs(120))
            .expect("messenger printed its addresses in time")
    };
    while !next().starts_with("messenger is running") {}
    std::iter::from_fn(|| Some(next()).filter(|line| !line.is_empty())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_names_the_web_client_first_and_every_address_answers() {
    let db = TestDatabase::create().await;
    let (edge_port, core_port) = (free_port(), free_port());
    let command = messenger(&db, edge_port, core_port);
    let (_messenger, output) = Process::start_reading(command, "the messenger binary");
    let lines = banner(BufReader::new(output));

    let edge = format!("127.0.0.1:{edge_port}");
    let expected = [
        format!("  web client http://{edge}/"),
        format!("  WebSocket  ws://{edge}/ws"),
        format!("  history    http://{edge}/history/{{chat_id}}?limit=50&offset=0"),
        format!("  API docs   http://{edge}/docs  (OpenAPI: http://{edge}/openapi.json)"),
        format!("  gRPC core  127.0.0.1:{core_port}  (reflection and health enabled)"),
    ];
    assert_eq!(lines[..expected.len()], expected, "{lines:#?}");
    assert!(
        lines[expected.len()].starts_with("  demo login {\"email\":"),
        "{lines:#?}"
    );

    let (status, page) = get(&format!("http://{edge}/")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.to_lowercase().contains("<!doctype html>"), "{page}");
    for page in ["/docs", "/openapi.json"] {
        let (status, answer) = get(&format!("http://{edge}{page}")).await;
        assert_eq!(status, 200, "{page}: {answer}");
    }
}
