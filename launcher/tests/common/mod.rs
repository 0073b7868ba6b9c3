//! What the tests that run the messenger's binaries share: the command of
//! `messenger` on a test database and ports of its own, the demo data's
//! users, and plain HTTP and WebSocket clients.
// Each test file uses its own part of this module.
#![allow(dead_code)]

use core_service::testing::TestDatabase;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The messenger on `db`, its edge on `edge_port` and its core on
/// `core_port` (metrics on free ports), logging warnings only.
pub fn messenger(db: &TestDatabase, edge_port: u16, core_port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger"));
    command
        .current_dir(workspace())
        .env("DATABASE_URL", db.url())
        .env("MEDIA_URL", db.media_url())
        .env("EDGE_LISTEN", format!("127.0.0.1:{edge_port}"))
        .env("CORE_LISTEN", format!("127.0.0.1:{core_port}"))
        .env("CORE_METRICS_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("EDGE_METRICS_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("RUST_LOG", "warn");
    command
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Two users of the demo data who share a personal chat: (email, password,
/// id) each, and the chat.
pub fn demo_pair() -> ([(String, String, String); 2], String) {
    let text = std::fs::read_to_string(workspace().join("fake_data.json")).unwrap();
    let data: Value = serde_json::from_str(&text).unwrap();
    let chat = data["chats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == 0)
        .unwrap();
    let chat_id = chat["id"].as_str().unwrap().to_owned();
    let members = data["chat_members"].as_array().unwrap();
    let ids: Vec<&str> = members
        .iter()
        .filter(|m| m["chat_id"] == chat_id.as_str())
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    let user = |id: &str| {
        let users = data["users"].as_array().unwrap();
        let user = users.iter().find(|u| u["id"] == id).unwrap();
        let field = |name: &str| user[name].as_str().unwrap().to_owned();
        (field("email"), field("password"), field("id"))
    };
    ([user(ids[0]), user(ids[1])], chat_id)
}

pub async fn logged_in(port: u16, email: &str, password: &str) -> Socket {
    let url = format!("ws://127.0.0.1:{port}/ws");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut socket = loop {
        if let Ok((socket, _)) = tokio_tungstenite::connect_async(&url).await {
            break socket;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the messenger did not start"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let login = json!({"email": email, "password": password}).to_string();
    socket.send(Message::text(login)).await.unwrap();
    let answer = next_frame(&mut socket).await.unwrap();
    assert_eq!(answer["type"], "auth_success", "{answer}");
    socket
}

/// The next JSON frame; `None` once the server closed (its code kept in
/// the `Err`).
pub async fn next_frame(socket: &mut Socket) -> Result<Value, Option<u16>> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a frame or the end in time");
        match message {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// The status code and body of a GET of `url` (plain HTTP/1.1).
pub async fn get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    (status, response)
}
