//! `soak`: a long load on a cluster the soak runs itself, with faults
//! injected on a schedule, by clients that behave as correct clients do.
//! At the end the ledger must show every acked message stored once (in
//! PostgreSQL) and delivered to every other member once after
//! de-duplication, and the processes' memory sampled each second must not
//! have grown without bound.

pub mod client;
pub mod cluster;
pub mod faults;
pub mod ledger;
pub mod memory;
pub mod verdict;

use crate::client::Server;
use crate::dataset::Directory;
use crate::limits;
use client::{Client, Command, Shared};
use cluster::{Cluster, Layout};
use faults::{Applied, Fault, Hooks, Target};
use ledger::Ledger;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How long the clients get to have everything acked and caught up after
/// sending stops.
const DRAIN: Duration = Duration::from_secs(180);

/// What to run.
pub struct Settings {
    pub layout: Layout,
    pub hooks: Hooks,
    pub directory: Directory,
    pub duration: Duration,
    /// Messages per second per client.
    pub rate: f64,
    /// Most un-acked messages per client.
    pub window: usize,
    pub faults: Vec<Fault>,
    pub fault_every: Duration,
}

/// Why a soak could not run.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error("cannot start the cluster: {0}")]
    Cluster(std::io::Error),
    #[error("cannot check the database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Task(String),
}

/// What a soak did and found.
pub struct Outcome {
    pub applied: Vec<Applied>,
    pub memory: Vec<memory::Sample>,
    pub verdict: verdict::Verdict,
    pub seconds: f64,
    /// Seconds from the end of sending until every message was acked;
    /// `None` if some were not within [`DRAIN`] (then clients took their
    /// last catch-up before the last acks, and may miss those messages).
    pub settled_after: Option<f64>,
}

/// Runs the soak: starts the cluster, connects every user of the data set,
/// sends with faults for `duration`, drains, and checks the ledger.
pub async fn run(settings: Settings) -> Result<Outcome, SoakError> {
    faults::execute(&settings.hooks.database_url, faults::FAST_STORES).await?;
    let layout = settings.layout.clone();
    let raised = limits::needed(&load(settings.directory.users.len()));
    println!("{}", limits::describe(&raised));
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&layout, &raised))
        .await
        .map_err(|error| SoakError::Task(error.to_string()))?
        .map_err(SoakError::Cluster)?;
    let mut servers = Vec::new();
    for url in cluster.edge_urls() {
        servers.push(
            Server::resolve(&url)
                .await
                .map_err(|e| SoakError::Task(e.to_string()))?,
        );
    }
    let cluster = Arc::new(Mutex::new(cluster));
    let (start_sending, sending) = watch::channel(false);
    let (finish, finishing) = watch::channel(false);
    let shared = Arc::new(Shared {
        ledger: Ledger::default(),
        http: reqwest::Client::new(),
        servers,
        rate: settings.rate,
        window: settings.window,
        sending,
        finishing,
        connected: Default::default(),
    });
    let (tasks, commands) = start_clients(&settings.directory, &shared);
    wait_connected(&shared, settings.directory.users.len()).await;
    let started = Instant::now();
    let sampler = memory::Sampler::start(started, shared.clone());
    let _ = start_sending.send(true);
    let mut target = Target {
        cluster: cluster.clone(),
        clients: commands,
        hooks: settings.hooks.clone(),
        shared: shared.clone(),
        started,
        kills: faults::Kills::default(),
    };
    let applied = inject_faults(&settings, &mut target, started).await;
    let _ = start_sending.send(false);
    // Only once every message is acked may clients take their last
    // catch-up: a client that did it earlier would miss the messages
    // acked after it.
    let settled_after = settle(&shared).await;
    if settled_after.is_none() {
        println!("not every message acked within the drain; last catch-ups begin anyway");
    }
    let _ = finish.send(true);
    let clients = drain(tasks).await;
    let seconds = started.elapsed().as_secs_f64();
    let memory = sampler.stop();
    let verdict = verdict::check(
        &settings.hooks.database_url,
        &settings.directory,
        &shared.ledger,
        &clients,
    )
    .await?;
    drop(cluster);
    Ok(Outcome {
        applied,
        memory,
        verdict,
        seconds,
        settled_after,
    })
}

type Tasks = Vec<tokio::task::JoinHandle<Client>>;

/// The soak as the servers see it: one client per user, all from this
/// machine's one address, logging in with their passwords at once at the
/// start and reconnecting at once after a fault, onto one edge after the
/// others were killed.
fn load(clients: usize) -> limits::Load {
    limits::Load {
        sockets: clients,
        users: clients,
        addresses: 1,
        edges: 1,
        logging_in: clients,
        password_checks: clients,
    }
}

fn start_clients(
    directory: &Directory,
    shared: &Arc<Shared>,
) -> (Tasks, Vec<mpsc::Sender<Command>>) {
    let mut tasks = Vec::new();
    let mut commands = Vec::new();
    for (user, me) in directory.users.iter().enumerate() {
        let (sender, receiver) = mpsc::channel(4);
        let client = Client::new(user, me.clone(), directory.chats_of[user].clone());
        tasks.push(tokio::spawn(client.run(shared.clone(), receiver)));
        commands.push(sender);
    }
    (tasks, commands)
}

/// Waits (up to two minutes) until every client has logged in once.
async fn wait_connected(shared: &Shared, clients: usize) {
    let started = Instant::now();
    while shared.connected() < clients && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("{} of {clients} clients connected", shared.connected());
}

/// Applies the faults in turn, one every `fault_every`, until the time is up.
async fn inject_faults(settings: &Settings, target: &mut Target, started: Instant) -> Vec<Applied> {
    let mut applied = Vec::new();
    let mut next = 0;
    loop {
        let due = settings.fault_every * (applied.len() as u32 + 1);
        if due >= settings.duration || settings.faults.is_empty() {
            break;
        }
        tokio::time::sleep_until((started + due).into()).await;
        let fault = settings.faults[next % settings.faults.len()];
        next += 1;
        let done = target.apply(fault, settings.fault_every / 2).await;
        println!(
            "{:>6.0} s  {:?}: {} (first ack {:?} s after)",
            done.at_seconds, done.fault, done.detail, done.first_ack_after_seconds
        );
        applied.push(done);
    }
    tokio::time::sleep_until((started + settings.duration).into()).await;
    applied
}

/// Waits (up to [`DRAIN`]) until every message sent is acked; how long
/// that took, if it happened.
async fn settle(shared: &Shared) -> Option<f64> {
    let started = Instant::now();
    while started.elapsed() < DRAIN {
        let (sent, acked) = shared.ledger.progress();
        if acked >= sent {
            return Some(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Waits for every client to finish (all acked, caught up), up to [`DRAIN`].
async fn drain(tasks: Tasks) -> Vec<Client> {
    let deadline = tokio::time::Instant::now() + DRAIN;
    let mut clients = Vec::new();
    for task in tasks {
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(client)) => clients.push(client),
            Ok(Err(error)) => println!("a client task failed: {error}"),
            Err(_) => {}
        }
    }
    clients
}

/// The report of a soak, as JSON: the faults and what each did, the
/// verdict, and each process's memory at the start, at its highest and at
/// the end (the samples themselves too).
pub fn report(outcome: &Outcome) -> serde_json::Value {
    let memory: serde_json::Map<String, serde_json::Value> = memory::PROCESSES
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let values: Vec<f64> = outcome.memory.iter().map(|s| s.rss_mib[index]).collect();
            let summary = serde_json::json!({
                "first_mib": values.first(),
                "max_mib": values.iter().copied().fold(0.0, f64::max),
                "last_mib": values.last(),
            });
            ((*name).to_owned(), summary)
        })
        .collect();
    serde_json::json!({
        "seconds": outcome.seconds,
        "settled_after_seconds": outcome.settled_after,
        "faults": outcome.applied,
        "verdict": outcome.verdict,
        "memory": memory,
        "samples": outcome.memory,
    })
}
