//! `search` and `chats`: one user's message searches (`GET /search`) or
//! chat lists (`GET /chats`), over and over, from a few workers at once:
//! how long one takes.

use crate::client::{self, ClientError, Server};
use crate::dataset::Directory;
use crate::latency::Latencies;
use serde::Serialize;
use std::time::{Duration, Instant};

/// What the user asks for.
#[derive(Debug, Clone)]
pub enum Ask {
    /// `GET /search` with these queries, taken in turn, pages of `limit`.
    Search { queries: Vec<String>, limit: u32 },
    /// `GET /chats`, the first page of `limit` chats.
    Chats { limit: u32 },
}

impl Ask {
    fn request(
        &self,
        http: &reqwest::Client,
        server: &Server,
        n: usize,
    ) -> reqwest::RequestBuilder {
        match self {
            Ask::Search { queries, limit } => http
                .get(format!("{}/search", server.http))
                .query(&[("query", queries[n % queries.len()].as_str())])
                .query(&[("limit", limit)]),
            Ask::Chats { limit } => http
                .get(format!("{}/chats", server.http))
                .query(&[("limit", limit)]),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    pub duration: Duration,
    pub ask: Ask,
    /// Who asks (an e-mail of the data set); the first by e-mail if none.
    pub email: Option<String>,
}

/// What the requests measured.
#[derive(Serialize)]
pub struct Outcome {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    /// Entries of the pages (messages found, chats listed), to show they
    /// were not empty.
    pub found: u64,
    pub seconds: f64,
    #[serde(skip)]
    pub latency: Latencies,
}

/// `settings.concurrency` workers asking as one user for `duration`.
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
    let user = (directory.user_by_email(settings.email.as_deref()))
        .ok_or_else(|| ClientError::Refused("no such user in the data set".into()))?;
    // The rate of searches per user is the server's to bound; a load run
    // raises it (SEARCHES_PER_MINUTE). Chat lists are not limited.
    let token = client::access_token(&http, server, user).await?;
    let deadline = Instant::now() + settings.duration;
    let started = Instant::now();
    let workers: Vec<_> = (0..settings.concurrency)
        .map(|worker| {
            let (http, server, token) = (http.clone(), server.clone(), token.clone());
            let ask = settings.ask.clone();
            tokio::spawn(async move { ask_again(http, server, token, ask, worker, deadline).await })
        })
        .collect();
    let mut outcome = empty();
    for worker in workers {
        let part = worker.await.expect("worker");
        outcome.requests += part.requests;
        outcome.ok += part.ok;
        outcome.failed += part.failed;
        outcome.found += part.found;
        outcome.latency.add(&part.latency);
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

fn empty() -> Outcome {
    Outcome {
        requests: 0,
        ok: 0,
        failed: 0,
        found: 0,
        seconds: 0.0,
        latency: Latencies::new(),
    }
}

async fn ask_again(
    http: reqwest::Client,
    server: Server,
    token: String,
    ask: Ask,
    first: usize,
    deadline: Instant,
) -> Outcome {
    let mut outcome = empty();
    let mut n = first;
    while Instant::now() < deadline {
        let request = ask.request(&http, &server, n).bearer_auth(&token);
        n += 1;
        let began = Instant::now();
        let answer = request.send().await;
        let page = client::array_length(answer).await;
        outcome.latency.record(began.elapsed());
        outcome.requests += 1;
        match page {
            Some(entries) => {
                outcome.ok += 1;
                outcome.found += entries as u64;
            }
            None => outcome.failed += 1,
        }
    }
    outcome
}
