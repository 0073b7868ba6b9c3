//! `sync`: one user catching up, over and over: how long a `sync` takes
//! when some chats are behind by some messages and the rest are current,
//! so that the cost of what is new and of what is stored can be told apart.

use crate::client::{self, ClientError, Server, Socket};
use crate::dataset::Directory;
use crate::latency::Latencies;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Catch-ups to time.
    pub repeats: usize,
    /// Chats the cursor puts behind (the first by id); the rest are current.
    pub chats_behind: usize,
    /// Messages each of those chats is behind by.
    pub messages_behind: u64,
    /// Who catches up (an e-mail of the data set); the first by e-mail if none.
    pub email: Option<String>,
}

/// What the catch-ups measured.
#[derive(Serialize)]
pub struct Outcome {
    pub syncs: usize,
    /// Chats in the user's cursor.
    pub chats: usize,
    /// Messages one catch-up brought (the last one's).
    pub messages: u64,
    pub seconds: f64,
    #[serde(skip)]
    pub latency: Latencies,
}

/// Takes the user's cursor with a first sync, then times `repeats` syncs
/// from it with `chats_behind` chats set back by `messages_behind`.
pub async fn run(
    server: &Server,
    directory: &Directory,
    settings: &Settings,
) -> Result<Outcome, ClientError> {
    let user = (directory.user_by_email(settings.email.as_deref()))
        .ok_or_else(|| ClientError::Refused("no such user in the data set".into()))?;
    let http = reqwest::Client::new();
    let token = client::access_token(&http, server, user).await?;
    let mut socket = client::connect(server, None, Some(&token)).await?;
    client::await_auth(&mut socket).await?;
    let (cursor, _) = catch_up(&mut socket, Value::Null).await?;
    let since = set_back(&cursor, settings.chats_behind, settings.messages_behind);
    let mut outcome = Outcome {
        syncs: 0,
        chats: cursor.len(),
        messages: 0,
        seconds: 0.0,
        latency: Latencies::new(),
    };
    let started = Instant::now();
    for _ in 0..settings.repeats {
        let began = Instant::now();
        let (_, messages) = catch_up(&mut socket, Value::Object(since.clone())).await?;
        outcome.latency.record(began.elapsed());
        outcome.syncs += 1;
        outcome.messages = messages;
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

/// The cursor with its first `chats` chats (by id) `behind` messages back.
fn set_back(cursor: &Map<String, Value>, chats: usize, behind: u64) -> Map<String, Value> {
    let mut ids: Vec<&String> = cursor.keys().collect();
    ids.sort();
    let mut since = cursor.clone();
    for id in ids.into_iter().take(chats) {
        let seq = cursor[id].as_u64().unwrap_or(0);
        since.insert(id.clone(), json!(seq.saturating_sub(behind)));
    }
    since
}

/// Sends a sync from `since` and reads until its `sync_done`: the cursor
/// it gives and the messages that came before it.
async fn catch_up(
    socket: &mut Socket,
    since: Value,
) -> Result<(Map<String, Value>, u64), ClientError> {
    let frame = json!({"type": "sync", "since": since}).to_string();
    socket.send(Message::text(frame)).await?;
    let mut messages = 0;
    while let Some(frame) = socket.next().await {
        let Message::Text(text) = frame? else {
            continue;
        };
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match value["type"].as_str() {
            Some("message") => messages += 1,
            Some("sync_done") => {
                let cursor = value["cursor"].as_object().cloned().unwrap_or_default();
                return Ok((cursor, messages));
            }
            Some("error") => return Err(ClientError::Refused(value["detail"].to_string())),
            _ => {}
        }
    }
    Err(ClientError::Closed)
}
