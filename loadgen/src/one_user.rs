//! `search`: one user's message searches (`GET /search`), over and over,
//! from a few workers at once: how long a search takes.

use crate::client::{self, ClientError, Server};
use crate::dataset::Directory;
use crate::latency::Latencies;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    pub duration: Duration,
    /// The queries, taken in turn.
    pub queries: Vec<String>,
    pub limit: u32,
    /// Who searches (an e-mail of the data set); the first by e-mail if none.
    pub email: Option<String>,
}

/// What the searches measured.
#[derive(Serialize)]
pub struct Outcome {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    /// Messages found, to show the pages were not empty.
    pub found: u64,
    pub seconds: f64,
    #[serde(skip)]
    pub latency: Latencies,
}

/// `settings.concurrency` workers searching as one user for `duration`.
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
    let user = match &settings.email {
        Some(email) => directory.users.iter().find(|user| &user.email == email),
        None => directory.users.iter().min_by(|a, b| a.email.cmp(&b.email)),
    }
    .ok_or_else(|| ClientError::Refused("no such user in the data set".into()))?;
    // The rate of searches per user is the server's to bound; a load run
    // raises it (SEARCHES_PER_MINUTE).
    let token = client::access_token(&http, server, user).await?;
    let deadline = Instant::now() + settings.duration;
    let started = Instant::now();
    let workers: Vec<_> = (0..settings.concurrency)
        .map(|worker| {
            let (http, server, token) = (http.clone(), server.clone(), token.clone());
            let (queries, limit) = (settings.queries.clone(), settings.limit);
            tokio::spawn(async move {
                search(http, server, token, queries, limit, worker, deadline).await
            })
        })
        .collect();
    let mut outcome = empty();
    for worker in workers {
        let part = worker.await.expect("search worker");
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

async fn search(
    http: reqwest::Client,
    server: Server,
    token: String,
    queries: Vec<String>,
    limit: u32,
    first: usize,
    deadline: Instant,
) -> Outcome {
    let mut outcome = empty();
    let mut n = first;
    while Instant::now() < deadline {
        let query = &queries[n % queries.len()];
        n += 1;
        let url = format!("{}/search", server.http);
        let began = Instant::now();
        let answer = http
            .get(&url)
            .query(&[("query", query.as_str()), ("limit", &limit.to_string())])
            .bearer_auth(&token)
            .send()
            .await;
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
