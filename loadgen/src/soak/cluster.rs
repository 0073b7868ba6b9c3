//! The processes a soak runs and breaks: its cores and edges, started from
//! the release binaries, killed with SIGKILL and started again.

use crate::limits::Raise;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to be ready after it starts.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// What the cluster is made of.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Where `messenger-core` and `messenger-edge` are.
    pub bin_dir: PathBuf,
    pub database_url: String,
    pub cores: usize,
    pub edges: usize,
    /// Used with two cores or more.
    pub nats_url: String,
    pub redis_url: String,
    /// Where each process's output goes.
    pub log_dir: PathBuf,
}

/// One process the soak runs: how to start it, and its child while it runs.
pub struct Supervised {
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// `core` processes answer the gRPC health check here; `edge` ones
    /// serve `/readyz` here.
    pub address: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Supervised {
    /// Starts the process and waits until it is ready.
    pub fn start(&mut self) -> std::io::Result<()> {
        let log = File::options().create(true).append(true).open(&self.log)?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// SIGKILL, as a crash or an OOM kill would end it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn wait_ready(&mut self) -> std::io::Result<()> {
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if self.is_ready() {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(std::io::Error::other(format!(
                    "{} exited: {status}",
                    self.name
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(std::io::Error::other(format!(
            "{} not ready in time",
            self.name
        )))
    }

    fn is_ready(&self) -> bool {
        if self.name.starts_with("core") {
            let core = self.program.with_file_name("messenger-core");
            Command::new(core)
                .args(["health", "--url", &format!("http://{}", self.address)])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        } else {
            ready_http(&self.address)
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // A soak that ends (or fails) leaves nothing running.
        if let Some(child) = &self.child {
            terminate(child.id());
        }
        self.kill();
    }
}

/// Asks a process to stop gracefully first (SIGTERM), for its logs.
fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(300));
}

/// `GET /readyz` answered 200.
fn ready_http(address: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// The cores and edges of a soak.
pub struct Cluster {
    pub cores: Vec<Supervised>,
    pub edges: Vec<Supervised>,
}

impl Cluster {
    /// Starts every core, then every edge, each ready before the next,
    /// with the limits in `raised` raised as far as they need.
    pub fn start(layout: &Layout, raised: &[Raise]) -> std::io::Result<Cluster> {
        std::fs::create_dir_all(&layout.log_dir)?;
        let secret = format!("soak-{}", uuid::Uuid::new_v4().simple());
        let bus = SoakBus {
            subject: format!("soak.{}.events", uuid::Uuid::new_v4().simple()),
            // Its own: the edges must not be able to seal the cores' events.
            secret: format!("soak-cluster-{}", uuid::Uuid::new_v4().simple()),
        };
        let core_addresses = (0..layout.cores)
            .map(|_| free_address())
            .collect::<std::io::Result<Vec<String>>>()?;
        let cores = core_addresses
            .iter()
            .enumerate()
            .map(|(n, address)| core(layout, n, address, &secret, &bus, raised))
            .collect();
        let urls: Vec<String> = core_addresses
            .iter()
            .map(|a| format!("http://{a}"))
            .collect();
        let edges = (0..layout.edges)
            .map(|n| {
                let address = free_address()?;
                Ok(edge(layout, n, &address, &urls.join(","), &secret, raised))
            })
            .collect::<std::io::Result<Vec<Supervised>>>()?;
        let mut cluster = Cluster { cores, edges };
        for process in cluster.cores.iter_mut().chain(cluster.edges.iter_mut()) {
            process.start()?;
        }
        Ok(cluster)
    }

    /// The edges' HTTP addresses.
    pub fn edge_urls(&self) -> Vec<String> {
        self.edges
            .iter()
            .map(|edge| format!("http://{}", edge.address))
            .collect()
    }
}

/// What every process of the soak gets: the shared secret, one worker
/// thread, logs as JSON, no metrics, the database, and the `raised` limits.
fn common_env(layout: &Layout, secret: &str, raised: &[Raise]) -> Vec<(String, String)> {
    let raised = raised
        .iter()
        .map(|raise| (raise.name.to_owned(), raise.needed.to_string()));
    [
        ("EDGE_SECRET", secret),
        ("WORKER_THREADS", "1"),
        ("RUST_LOG", "warn"),
        ("LOG_FORMAT", "json"),
        ("CORE_METRICS_LISTEN", "off"),
        ("EDGE_METRICS_LISTEN", "off"),
        ("DATABASE_URL", layout.database_url.as_str()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .chain(raised)
    .collect()
}

/// The subject and the secret of the soak cluster's events.
struct SoakBus {
    subject: String,
    secret: String,
}

fn core(
    layout: &Layout,
    n: usize,
    address: &str,
    secret: &str,
    bus: &SoakBus,
    raised: &[Raise],
) -> Supervised {
    let mut env = common_env(layout, secret, raised);
    env.push(("CORE_LISTEN".into(), address.into()));
    if layout.cores > 1 {
        env.push(("NATS_URL".into(), layout.nats_url.clone()));
        env.push(("REDIS_URL".into(), layout.redis_url.clone()));
        env.push(("NATS_SUBJECT".into(), bus.subject.clone()));
        env.push(("CLUSTER_SECRET".into(), bus.secret.clone()));
    }
    supervised(
        layout,
        format!("core-{n}"),
        "messenger-core",
        vec!["serve".into()],
        env,
        address,
    )
}

fn edge(
    layout: &Layout,
    n: usize,
    address: &str,
    cores: &str,
    secret: &str,
    raised: &[Raise],
) -> Supervised {
    let mut env = common_env(layout, secret, raised);
    env.push(("EDGE_LISTEN".into(), address.into()));
    env.push(("CORE_URLS".into(), cores.into()));
    env.push(("EDGE_ID".into(), format!("soak-edge-{n}")));
    supervised(
        layout,
        format!("edge-{n}"),
        "messenger-edge",
        Vec::new(),
        env,
        address,
    )
}

fn supervised(
    layout: &Layout,
    name: String,
    binary: &str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    address: &str,
) -> Supervised {
    Supervised {
        log: log_path(&layout.log_dir, &name),
        name,
        program: layout.bin_dir.join(binary),
        args,
        env,
        address: address.to_owned(),
        child: None,
    }
}

/// A loopback address with a port nothing listens on now (each process
/// keeps its address across restarts).
fn free_address() -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

fn log_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.log"))
}
