//! `history`: concurrent authenticated `GET /history/{chat_id}` requests.

use crate::client::{self, ClientError, Server};
use crate::dataset::Directory;
use crate::latency::Latencies;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    pub duration: Duration,
    pub limit: u32,
    pub offset: u64,
}

/// What the requests measured.
#[derive(Serialize)]
pub struct Outcome {
    pub requests: u64,
    pub ok: u64,
    /// Non-200 answers and failed requests.
    pub failed: u64,
    /// Messages in the answers, to show the pages were full.
    pub messages: u64,
    pub seconds: f64,
    #[serde(skip)]
    pub latency: Latencies,
}

impl Outcome {
    fn empty() -> Self {
        Outcome {
            requests: 0,
            ok: 0,
            failed: 0,
            messages: 0,
            seconds: 0.0,
            latency: Latencies::new(),
        }
    }
}

/// One worker per `concurrency`, each as a different user reading its own
/// chats page after page for `duration`.
pub async fn run(
    server: &Server,
    directory: &Directory,
    settings: &Settings,
) -> Result<Outcome, ClientError> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| ClientError::Token(e.to_string()))?;
    let readers: Vec<usize> = (0..directory.users.len())
        .filter(|&u| !directory.chats_of[u].is_empty())
        .take(settings.concurrency)
        .collect();
    if readers.is_empty() {
        return Err(ClientError::Refused(
            "no user in the data set has a chat".into(),
        ));
    }
    let tokens: Vec<String> = stream::iter(&readers)
        .map(|&u| client::access_token(&http, server, &directory.users[u]))
        .buffered(8)
        .try_collect()
        .await?;
    let start = Instant::now();
    let deadline = start + settings.duration;
    let workers = (0..settings.concurrency).map(|worker| {
        let reader = readers[worker % readers.len()];
        let token = tokens[worker % readers.len()].clone();
        let chats = directory.chats_of[reader].clone();
        let (http, server) = (http.clone(), server.clone());
        let query = format!("limit={}&offset={}", settings.limit, settings.offset);
        tokio::spawn(async move { read(http, server, token, chats, query, deadline).await })
    });
    let mut outcome = Outcome::empty();
    for worker in workers.collect::<Vec<_>>() {
        let part = worker.await.expect("history worker");
        outcome.requests += part.requests;
        outcome.ok += part.ok;
        outcome.failed += part.failed;
        outcome.messages += part.messages;
        outcome.latency.add(&part.latency);
    }
    outcome.seconds = start.elapsed().as_secs_f64();
    Ok(outcome)
}

async fn read(
    http: reqwest::Client,
    server: Server,
    token: String,
    chats: Vec<uuid::Uuid>,
    query: String,
    deadline: Instant,
) -> Outcome {
    let mut outcome = Outcome::empty();
    let mut n = 0usize;
    while Instant::now() < deadline {
        let chat = chats[n % chats.len()];
        n += 1;
        let url = format!("{}/history/{chat}?{query}", server.http);
        let began = Instant::now();
        let answer = http.get(&url).bearer_auth(&token).send().await;
        let page = client::array_length(answer).await;
        outcome.latency.record(began.elapsed());
        outcome.requests += 1;
        match page {
            Some(entries) => {
                outcome.ok += 1;
                outcome.messages += entries as u64;
            }
            None => outcome.failed += 1,
        }
    }
    outcome
}
