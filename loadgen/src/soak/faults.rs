//! The faults a soak injects, one at a time on a schedule, and what each
//! did.

use super::client::Command;
use super::cluster::Cluster;
use super::ledger::Ledger;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// SIGKILL a core (in turn), start it again after 2 s.
    KillCore,
    /// SIGKILL an edge (in turn), start it again after 2 s.
    KillEdge,
    /// Restart PostgreSQL at once (`--restart-postgres`); the cores stay.
    RestartPostgres,
    /// Stall PostgreSQL for sends: a transaction holds an exclusive lock
    /// on `chats` for 10 s, so every commit of a message waits.
    StallPostgres,
    /// Make PostgreSQL slow for sends for a while ([`Slowness`]): every
    /// statement storing messages takes longer. The fault returns at
    /// once, so the faults after it land while PostgreSQL is slow.
    SlowPostgres,
    /// One client in ten drops its connection without a close frame.
    DropClients,
    /// One client stops reading for 30 s (a slow consumer).
    StallClient,
    /// Restart NATS (`--restart-nats`).
    RestartNats,
    /// Restart Redis (`--restart-redis`).
    RestartRedis,
}

/// Shell commands for the faults outside the soak's own processes.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub restart_postgres: Option<String>,
    pub restart_nats: Option<String>,
    pub restart_redis: Option<String>,
    pub database_url: String,
    pub slowness: Slowness,
}

/// How slow `slow-postgres` makes PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct Slowness {
    /// How long it lasts.
    pub lasting: Duration,
    /// Added to every statement that stores messages (one per transaction
    /// of the core's group commit, whatever its number of messages).
    pub per_store: Duration,
}

impl Default for Slowness {
    fn default() -> Self {
        Slowness {
            lasting: Duration::from_secs(60),
            per_store: Duration::from_secs(1),
        }
    }
}

/// What one fault did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Applied {
    /// Seconds into the soak.
    pub at_seconds: f64,
    pub fault: Fault,
    pub detail: String,
    /// From the end of the fault to the next ack of any message; `None`
    /// if none came before the next fault.
    pub first_ack_after_seconds: Option<f64>,
    /// Acks that arrived while the fault lasted.
    pub acks_during: u64,
    /// Messages sent and not yet acked when the fault began.
    #[serde(default)]
    pub unacked_before: u64,
}

/// How many cores and edges were killed.
#[derive(Default)]
pub struct Kills {
    cores: usize,
    edges: usize,
}

/// What applying faults needs.
pub struct Target {
    pub cluster: Arc<Mutex<Cluster>>,
    pub clients: Vec<mpsc::Sender<Command>>,
    pub hooks: Hooks,
    pub shared: Arc<super::client::Shared>,
    pub started: Instant,
    /// Cores and edges killed so far, to take each in turn.
    pub kills: Kills,
}

impl Target {
    /// Applies `fault` and waits for the first ack after it.
    pub async fn apply(&mut self, fault: Fault, patience: Duration) -> Applied {
        let at_seconds = self.started.elapsed().as_secs_f64();
        let (sent, before) = self.shared.ledger.progress();
        let detail = match self.inject(fault).await {
            Ok(detail) => detail,
            Err(error) => format!("failed: {error}"),
        };
        let after_fault = acked(&self.shared.ledger);
        let ended = Instant::now();
        let mut first_ack_after_seconds = None;
        while ended.elapsed() < patience {
            if acked(&self.shared.ledger) > after_fault {
                first_ack_after_seconds = Some(ended.elapsed().as_secs_f64());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Applied {
            at_seconds,
            fault,
            detail,
            first_ack_after_seconds,
            acks_during: after_fault - before,
            unacked_before: sent.saturating_sub(before),
        }
    }

    async fn inject(&mut self, fault: Fault) -> Result<String, String> {
        match fault {
            Fault::KillCore => self.kill(true).await,
            Fault::KillEdge => self.kill(false).await,
            Fault::RestartPostgres => {
                let pids = self.core_pids();
                run_hook(self.hooks.restart_postgres.as_deref(), "--restart-postgres").await?;
                wait_for_database(&self.hooks.database_url).await?;
                let same = pids == self.core_pids();
                Ok(format!("cores kept running: {same} (pids {pids:?})"))
            }
            Fault::StallPostgres => stall_postgres(&self.hooks.database_url).await,
            Fault::SlowPostgres => {
                slow_postgres(&self.hooks.database_url, self.hooks.slowness).await
            }
            Fault::DropClients => {
                let count = self.clients.len().div_ceil(10);
                let chosen: Vec<_> = self
                    .clients
                    .choose_multiple(&mut rand::rng(), count)
                    .collect();
                for client in &chosen {
                    let _ = client.send(Command::Drop).await;
                }
                Ok(format!("{} connections dropped", chosen.len()))
            }
            Fault::StallClient => {
                if let Some(client) = self.clients.choose(&mut rand::rng()) {
                    let _ = client.send(Command::Stall(Duration::from_secs(30))).await;
                }
                Ok("one client stopped reading for 30 s".into())
            }
            Fault::RestartNats => {
                run_hook(self.hooks.restart_nats.as_deref(), "--restart-nats").await?;
                Ok("NATS restarted".into())
            }
            Fault::RestartRedis => {
                run_hook(self.hooks.restart_redis.as_deref(), "--restart-redis").await?;
                Ok("Redis restarted".into())
            }
        }
    }

    /// SIGKILLs a core or an edge (in turn) and starts it again 2 s later.
    async fn kill(&mut self, core: bool) -> Result<String, String> {
        let cluster = self.cluster.clone();
        let kills = if core {
            &mut self.kills.cores
        } else {
            &mut self.kills.edges
        };
        let turn = *kills;
        *kills += 1;
        tokio::task::spawn_blocking(move || {
            let mut cluster = cluster.lock().expect("cluster lock");
            let processes = if core {
                &mut cluster.cores
            } else {
                &mut cluster.edges
            };
            let count = processes.len();
            let process = &mut processes[turn % count];
            let pid = process.pid();
            process.kill();
            std::thread::sleep(Duration::from_secs(2));
            process
                .start()
                .map(|()| format!("{} (pid {pid:?}) killed, started again", process.name))
                .map_err(|error| error.to_string())
        })
        .await
        .map_err(|error| error.to_string())?
    }

    fn core_pids(&self) -> Vec<Option<u32>> {
        let cluster = self.cluster.lock().expect("cluster lock");
        cluster
            .cores
            .iter()
            .map(super::cluster::Supervised::pid)
            .collect()
    }
}

fn acked(ledger: &Ledger) -> u64 {
    ledger.progress().1
}

async fn run_hook(command: Option<&str>, flag: &str) -> Result<(), String> {
    let command = command.ok_or_else(|| format!("skipped: no {flag} command given"))?;
    let status = tokio::process::Command::new("sh")
        .args(["-c", command])
        .status()
        .await
        .map_err(|error| error.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{flag} command failed: {status}"))
    }
}

/// Waits until PostgreSQL answers again (up to a minute).
async fn wait_for_database(url: &str) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok((client, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await
        {
            tokio::spawn(connection);
            if client.simple_query("SELECT 1").await.is_ok() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err("PostgreSQL did not come back within a minute".into())
}

/// Holds an exclusive lock on `chats` for 10 s: every message commit
/// (which locks its chat's row) waits behind it.
async fn stall_postgres(url: &str) -> Result<String, String> {
    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    let transaction = client
        .transaction()
        .await
        .map_err(|error| error.to_string())?;
    transaction
        .batch_execute("LOCK TABLE chats IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(10)")
        .await
        .map_err(|error| error.to_string())?;
    transaction
        .commit()
        .await
        .map_err(|error| error.to_string())?;
    Ok("chats locked for 10 s".into())
}

/// A trigger that makes every statement storing messages sleep; `{}` is
/// the seconds. `DROP TRIGGER` waits for the statements under way, so the
/// slowness ends at most one statement after it is lifted.
const SLOW_STORES: &str = "
    CREATE OR REPLACE FUNCTION soak_slow_store() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep({}); RETURN NULL; END $$;
    DROP TRIGGER IF EXISTS soak_slow_store ON messages;
    CREATE TRIGGER soak_slow_store BEFORE INSERT ON messages
        FOR EACH STATEMENT EXECUTE FUNCTION soak_slow_store();";

/// Lifts [`SLOW_STORES`]; also run when a soak starts, in case an earlier
/// one stopped while PostgreSQL was slow.
pub const FAST_STORES: &str = "
    DROP TRIGGER IF EXISTS soak_slow_store ON messages;
    DROP FUNCTION IF EXISTS soak_slow_store();";

/// Makes PostgreSQL slow for sends and lifts it in the background after
/// `slowness.lasting`, trying again while PostgreSQL is down (another
/// fault may restart it meanwhile).
async fn slow_postgres(url: &str, slowness: Slowness) -> Result<String, String> {
    let seconds = slowness.per_store.as_secs_f64();
    let slow = SLOW_STORES.replace("{}", &seconds.to_string());
    execute(url, &slow)
        .await
        .map_err(|error| error.to_string())?;
    let url = url.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(slowness.lasting).await;
        let started = Instant::now();
        while let Err(error) = execute(&url, FAST_STORES).await {
            if started.elapsed() > Duration::from_secs(120) {
                eprintln!("PostgreSQL left slow: {error}");
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Ok(format!(
        "every store of messages {seconds} s slower for {} s",
        slowness.lasting.as_secs()
    ))
}

/// Runs `statements` on a connection of its own.
pub async fn execute(url: &str, statements: &str) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client.batch_execute(statements).await
}
