//! `files`: many users upload a file each at once (`POST /media`), then
//! download it back (`GET /media/{id}`): the throughput both ways, and the
//! server processes' largest resident memory meanwhile (sampled every
//! 50 ms), which stays flat when uploads are streamed.

use crate::client::{self, ClientError, Server};
use crate::dataset::Directory;
use crate::process;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Bytes of one piece of an upload's body.
const PIECE: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Users uploading at once, one file each.
    pub clients: usize,
    /// Bytes per file.
    pub bytes: u64,
    /// Process names whose memory is sampled.
    pub processes: Vec<String>,
}

/// What one direction measured.
#[derive(Debug, Default, Serialize)]
pub struct Transfer {
    pub ok: usize,
    pub failed: usize,
    pub seconds: f64,
    /// Bytes of the successful transfers per second, in MiB.
    pub mib_per_second: f64,
    /// The largest resident memory of each process while it ran, in KiB.
    pub peak_rss_kib: BTreeMap<String, u64>,
    /// Before it began.
    pub rss_before_kib: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct Outcome {
    pub clients: usize,
    pub bytes_per_file: u64,
    pub upload: Transfer,
    pub download: Transfer,
}

/// Uploads, then downloads, `settings.clients` files at once.
pub async fn run(
    server: &Server,
    directory: &Directory,
    settings: &Settings,
) -> Result<Outcome, ClientError> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.clients)
        .build()
        .map_err(|e| ClientError::Token(e.to_string()))?;
    let users = directory.users.iter().take(settings.clients);
    let tokens: Vec<String> = stream::iter(users)
        .map(|user| client::access_token(&http, server, user))
        .buffered(8)
        .try_collect()
        .await?;
    let (upload, ids) = measured(settings, async {
        let uploads = tokens
            .iter()
            .enumerate()
            .map(|(n, token)| upload(&http, server, token, n, settings.bytes));
        futures_util::future::join_all(uploads).await
    })
    .await;
    let mut upload = tally(upload, &ids, settings.bytes);
    let pairs: Vec<(&String, &String)> = tokens
        .iter()
        .zip(&ids)
        .filter_map(|(token, id)| Some((token, id.as_ref()?)))
        .collect();
    let (download, sizes) = measured(settings, async {
        let downloads = pairs
            .iter()
            .map(|(token, id)| download(&http, server, token, id));
        futures_util::future::join_all(downloads).await
    })
    .await;
    let got: Vec<Option<()>> = sizes
        .iter()
        .map(|size| (*size == Some(settings.bytes)).then_some(()))
        .collect();
    let download = tally(download, &got, settings.bytes);
    upload.failed += settings.clients - tokens.len();
    Ok(Outcome {
        clients: settings.clients,
        bytes_per_file: settings.bytes,
        upload,
        download,
    })
}

/// Runs `work` while sampling the processes' memory: its time, the
/// memory before and at its peak, and its result.
async fn measured<T>(settings: &Settings, work: impl Future<Output = T>) -> (Transfer, T) {
    let before = rss(&settings.processes);
    let (stop, stopped) = watch::channel(false);
    let names = settings.processes.clone();
    let sampler = tokio::spawn(peaks(names, stopped));
    let started = Instant::now();
    let result = work.await;
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let peak_rss_kib = sampler.await.unwrap_or_default();
    let transfer = Transfer {
        seconds,
        peak_rss_kib,
        rss_before_kib: before,
        ..Transfer::default()
    };
    (transfer, result)
}

/// Counts the successes and the throughput.
fn tally<T>(mut transfer: Transfer, results: &[Option<T>], bytes: u64) -> Transfer {
    transfer.ok = results.iter().filter(|r| r.is_some()).count();
    transfer.failed = results.len() - transfer.ok;
    let mib = (transfer.ok as u64 * bytes) as f64 / (1024.0 * 1024.0);
    transfer.mib_per_second = mib / transfer.seconds.max(f64::EPSILON);
    transfer
}

fn rss(names: &[String]) -> BTreeMap<String, u64> {
    process::usage_by_name(names)
        .into_iter()
        .map(|(name, usage)| (name, usage.rss_kib))
        .collect()
}

/// The largest memory of each process until `stopped`.
async fn peaks(names: Vec<String>, mut stopped: watch::Receiver<bool>) -> BTreeMap<String, u64> {
    let mut peak = BTreeMap::new();
    loop {
        for (name, kib) in rss(&names) {
            let top = peak.entry(name).or_insert(0);
            *top = kib.max(*top);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = stopped.changed() => return peak,
        }
    }
}

/// Uploads `bytes` of client `n`'s own content (no two alike, so none is
/// kept once for two); the attachment's id.
async fn upload(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    n: usize,
    bytes: u64,
) -> Option<String> {
    let pieces = bytes.div_ceil(PIECE as u64);
    let body = stream::iter(0..pieces).map(move |index| {
        let length = (bytes - index * PIECE as u64).min(PIECE as u64) as usize;
        Ok::<_, std::io::Error>(piece(n, index, length))
    });
    let url = format!("{}/media?name=load-{n}.bin", server.http);
    let response = http
        .post(url)
        .bearer_auth(token)
        .header("content-length", bytes)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .ok()?;
    if response.status().as_u16() != 201 {
        eprintln!("upload {n}: {}", response.status());
        return None;
    }
    let answer: serde_json::Value = response.json().await.ok()?;
    Some(answer["id"].as_str()?.to_owned())
}

/// Piece `index` of client `n`'s file: its numbers, then bytes of a cheap
/// generator (not compressible, not alike).
fn piece(n: usize, index: u64, length: usize) -> Vec<u8> {
    let mut state = (n as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index;
    let mut bytes = Vec::with_capacity(length);
    while bytes.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(length);
    bytes
}

/// Downloads file `id`: the bytes received.
async fn download(http: &reqwest::Client, server: &Server, token: &str, id: &str) -> Option<u64> {
    let url = format!("{}/media/{id}", server.http);
    let response = http.get(url).bearer_auth(token).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let mut body = response.bytes_stream();
    let mut total = 0;
    while let Some(chunk) = body.next().await {
        total += chunk.ok()?.len() as u64;
    }
    Some(total)
}
