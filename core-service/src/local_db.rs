//! The embedded default database: a private PostgreSQL cluster in a
//! project-local folder, run from the PostgreSQL server binaries installed
//! on the machine. Used when no `DATABASE_URL` is configured.
//!
//! The cluster is created on first use (with a free loopback port recorded
//! in its configuration), started if it is not running, and keeps its data
//! between runs. A lock file serialises processes that start it at once.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The superuser of the private cluster (trust authentication, loopback only).
const SUPERUSER: &str = "postgres";
/// When run as root, PostgreSQL runs as this system user (it refuses root).
const SYSTEM_USER: &str = "postgres";
/// Marks the settings this module appends to `postgresql.conf`.
const SETTINGS_MARK: &str = "# messenger local cluster";

/// Why the local cluster could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LocalDbError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found; install them \
         (Debian/Ubuntu: `apt-get install postgresql`, macOS: `brew install postgresql`) \
         or set DATABASE_URL to a running server"
    )]
    BinariesMissing,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("local database folder {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
}

/// A running local cluster.
#[derive(Debug)]
pub struct LocalPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    /// Whether this process started the server (and so should stop it).
    pub started_here: bool,
}

impl LocalPostgres {
    /// Creates the cluster in `data_dir` if needed and starts it if it is
    /// not running. Blocking: call it off the async workers.
    pub fn ensure_running(data_dir: &Path) -> Result<Self, LocalDbError> {
        let bin_dir = find_binaries()?;
        let parent = data_dir.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(|cause| io_error(parent, cause))?;
        let lock_path = data_dir.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|cause| io_error(&lock_path, cause))?;
        lock.lock().map_err(|cause| io_error(&lock_path, cause))?;
        let data_dir = std::path::absolute(data_dir).map_err(|cause| io_error(data_dir, cause))?;
        let mut cluster = LocalPostgres {
            data_dir,
            bin_dir,
            port: 0,
            started_here: false,
        };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.create()?;
        }
        cluster.port = cluster.configured_port()?;
        if !cluster.is_running() {
            cluster.start()?;
            cluster.started_here = true;
        }
        drop(lock);
        Ok(cluster)
    }

    /// Stops the cluster in `data_dir` if it is running; returns whether it was.
    pub fn stop_if_running(data_dir: &Path) -> Result<bool, LocalDbError> {
        if !data_dir.join("PG_VERSION").exists() {
            return Ok(false);
        }
        let data_dir = std::path::absolute(data_dir).map_err(|cause| io_error(data_dir, cause))?;
        let cluster = LocalPostgres {
            data_dir,
            bin_dir: find_binaries()?,
            port: 0,
            started_here: false,
        };
        if !cluster.is_running() {
            return Ok(false);
        }
        cluster.stop()?;
        Ok(true)
    }

    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The cluster's data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the server (fast shutdown: sessions are ended, data is flushed).
    pub fn stop(&self) -> Result<(), LocalDbError> {
        let data = self.data_dir.display().to_string();
        self.run(
            "pg_ctl stop",
            "pg_ctl",
            &["stop", "-D", &data, "-m", "fast", "-w"],
        )?;
        Ok(())
    }

    fn create(&self) -> Result<(), LocalDbError> {
        fs::create_dir_all(&self.data_dir).map_err(|cause| io_error(&self.data_dir, cause))?;
        if running_as_root() {
            let owner = format!("{SYSTEM_USER}:{SYSTEM_USER}");
            let data = self.data_dir.display().to_string();
            check(
                "chown of the data folder",
                Command::new("chown").args(["-R", &owner, &data]).output(),
            )?;
        }
        let data = self.data_dir.display().to_string();
        let args = [
            "-D",
            &data,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ];
        self.run("initdb", "initdb", &args)?;
        self.append_settings(free_port()?)
    }

    fn append_settings(&self, port: u16) -> Result<(), LocalDbError> {
        let path = self.data_dir.join("postgresql.conf");
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|cause| io_error(&path, cause))?;
        let settings = format!(
            "\n{SETTINGS_MARK}\nport = {port}\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = ''\nmax_connections = 300\n"
        );
        file.write_all(settings.as_bytes())
            .map_err(|cause| io_error(&path, cause))
    }

    fn configured_port(&self) -> Result<u16, LocalDbError> {
        let path = self.data_dir.join("postgresql.conf");
        let text = fs::read_to_string(&path).map_err(|cause| io_error(&path, cause))?;
        let settings = text.split(SETTINGS_MARK).nth(1).unwrap_or_default();
        settings
            .lines()
            .filter_map(|line| line.strip_prefix("port = "))
            .find_map(|port| port.trim().parse().ok())
            .ok_or_else(|| LocalDbError::Command {
                what: "reading the local cluster's port".into(),
                detail: format!(
                    "no port in {}; delete the folder to recreate it",
                    path.display()
                ),
            })
    }

    fn is_running(&self) -> bool {
        let data = self.data_dir.display().to_string();
        self.command("pg_ctl", &["status", "-D", &data])
            .output()
            .is_ok_and(|output| output.status.success())
    }

    fn start(&self) -> Result<(), LocalDbError> {
        let data = self.data_dir.display().to_string();
        let log = self.data_dir.join("server.log").display().to_string();
        let args = ["start", "-D", &data, "-l", &log, "-w", "-t", "60"];
        self.run("pg_ctl start", "pg_ctl", &args)
            .map(|_| ())
            .map_err(|error| LocalDbError::Command {
                what: "starting the local PostgreSQL".into(),
                detail: format!("{error} (see {log})"),
            })
    }

    fn run(&self, what: &str, program: &str, args: &[&str]) -> Result<Output, LocalDbError> {
        check(what, self.command(program, args).output())
    }

    /// A server command, run as the `postgres` system user when we are root.
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin_dir.join(program);
        if running_as_root() {
            let mut command = Command::new("setpriv");
            command
                .args([
                    "--reuid",
                    SYSTEM_USER,
                    "--regid",
                    SYSTEM_USER,
                    "--init-groups",
                    "--",
                ])
                .arg(program)
                .args(args);
            command
        } else {
            let mut command = Command::new(program);
            command.args(args);
            command
        }
    }
}

/// The folder holding `initdb` and `pg_ctl`: the `PATH`, then the usual
/// Debian and Homebrew locations (newest version first).
fn find_binaries() -> Result<PathBuf, LocalDbError> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut versioned: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    versioned.sort_by_key(|path| std::cmp::Reverse(version_of(path)));
    on_path
        .into_iter()
        .chain(versioned)
        .chain([
            PathBuf::from("/opt/homebrew/bin"),
            PathBuf::from("/usr/local/bin"),
        ])
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or(LocalDbError::BinariesMissing)
}

fn version_of(bin_dir: &Path) -> u32 {
    bin_dir
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .and_then(|name| name.parse().ok())
        .unwrap_or(0)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

fn free_port() -> Result<u16, LocalDbError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|cause| io_error(Path::new("127.0.0.1:0"), cause))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|cause| io_error(Path::new("127.0.0.1:0"), cause))
}

fn check(what: &str, output: std::io::Result<Output>) -> Result<Output, LocalDbError> {
    let output = output.map_err(|cause| LocalDbError::Command {
        what: what.to_owned(),
        detail: cause.to_string(),
    })?;
    if output.status.success() {
        return Ok(output);
    }
    let detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(LocalDbError::Command {
        what: what.to_owned(),
        detail: if detail.is_empty() {
            output.status.to_string()
        } else {
            detail
        },
    })
}

fn io_error(path: &Path, cause: std::io::Error) -> LocalDbError {
    LocalDbError::Io {
        path: path.display().to_string(),
        cause,
    }
}
