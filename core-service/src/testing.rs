//! Test support: a fresh, migrated database per test, removed afterwards.
//!
//! The server is `DATABASE_URL` when set; otherwise the embedded default
//! cluster in the workspace's `.data/postgres`, started if needed (and left
//! running, so the next test run starts at once). Tests may run in
//! parallel: each gets its own database.

use crate::local_db::LocalPostgres;
use crate::store::{Store, migrate};
use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;
use tokio_postgres::{Config, NoTls};

/// The tables a demo-data load writes.
pub const LOADED_TABLES: [&str; 8] = [
    "users",
    "chats",
    "chat_members",
    "groups",
    "user_groups",
    "messages",
    "message_seen_status",
    "direct_chats",
];

/// The server's administrative connection settings, found once per process.
static ADMIN: OnceCell<Config> = OnceCell::const_new();

/// A database that exists for the life of this value.
pub struct TestDatabase {
    admin: Config,
    name: String,
    config: Config,
    store: Store,
}

impl TestDatabase {
    /// Refuses (`false`) or allows new connections to the database; when
    /// refusing, the open ones are ended too (the database "goes away").
    pub async fn set_reachable(&self, reachable: bool) {
        let admin = ADMIN.get_or_init(admin_config).await.clone();
        let name = &self.name;
        execute(
            &admin,
            &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"),
        )
        .await;
        if !reachable {
            let terminate = format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            );
            execute(&admin, &terminate).await;
        }
    }

    /// Creates and migrates a new database with a unique name.
    pub async fn create() -> TestDatabase {
        let admin = ADMIN.get_or_init(admin_config).await.clone();
        let name = format!("messenger_test_{}", uuid::Uuid::new_v4().simple());
        execute(&admin, &format!("CREATE DATABASE {name}")).await;
        let mut config = admin.clone();
        config.dbname(&name);
        let store = Store::with_config(config.clone(), 8).expect("test pool");
        migrate::run(&store).await.expect("migrations apply");
        TestDatabase {
            admin,
            name,
            config,
            store,
        }
    }

    /// A pool on this database.
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// Connection settings of this database.
    pub fn config(&self) -> Config {
        self.config.clone()
    }

    /// A URL of this database, for processes started by a test.
    pub fn url(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or("postgres");
        let password = self
            .config
            .get_password()
            .map(|password| format!(":{}", String::from_utf8_lossy(password)))
            .unwrap_or_default();
        format!("postgres://{user}{password}@{host}:{port}/{}", self.name)
    }

    /// The row count of each table a demo-data load writes, in the order
    /// of [`LOADED_TABLES`], to compare database states.
    pub async fn loaded_counts(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in LOADED_TABLES {
            counts.push(self.count(&format!("SELECT count(*) FROM {table}")).await);
        }
        counts
    }

    /// Runs one query on a fresh connection and returns its first column of
    /// the first row as a count (for assertions on what was stored).
    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.store.connection().await.expect("connection");
        client
            .query_one(sql, &[])
            .await
            .expect("count query")
            .get(0)
    }
}

impl TestDatabase {
    /// A folder of this database's own for files (`file://…`), removed
    /// with it: content is shared by digest, so two tests' collections
    /// must not see each other's files.
    pub fn media_url(&self) -> String {
        format!("file://{}", self.media_folder().display())
    }

    fn media_folder(&self) -> PathBuf {
        std::env::temp_dir().join(format!("{}-media", self.name))
    }

    /// `settings` with this database's media folder, unless they name one.
    pub fn with_media(&self, mut settings: crate::state::Settings) -> crate::state::Settings {
        if settings.media.url.is_none() {
            settings.media.url = Some(self.media_url());
        }
        settings
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.media_folder());
        self.store.close();
        let admin = self.admin.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await: drop the database from a short-lived runtime.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(execute(&admin, &statement));
        })
        .join();
    }
}

async fn admin_config() -> Config {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return url.parse().expect("DATABASE_URL is a valid PostgreSQL URL");
    }
    let dir = workspace_root().join(".data/postgres");
    let local = tokio::task::spawn_blocking(move || LocalPostgres::ensure_running(&dir))
        .await
        .expect("local cluster task")
        .unwrap_or_else(|error| panic!("no DATABASE_URL and no local PostgreSQL: {error}"));
    local.url().parse().expect("local URL")
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core-service sits in the workspace")
        .to_path_buf()
}

async fn execute(config: &Config, statement: &str) {
    let (client, connection) = config.connect(NoTls).await.expect("admin connection");
    let task = tokio::spawn(connection);
    client
        .batch_execute(statement)
        .await
        .unwrap_or_else(|error| panic!("{statement}: {error}"));
    drop(client);
    let _ = task.await;
}

/// A process a test started (a core or an edge binary, a NATS server),
/// killed (SIGKILL) and reaped when dropped, so that a failing test leaves
/// none behind.
pub struct Process(std::process::Child);

impl Process {
    /// Starts `command` with its output discarded; `what` names it in the
    /// failure when it cannot be started.
    pub fn start(mut command: std::process::Command, what: &str) -> Process {
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what}: {error}"));
        Process(child)
    }

    /// Starts `command` with its standard output to read (its errors
    /// discarded); `what` names it in the failure when it cannot be started.
    pub fn start_reading(
        mut command: std::process::Command,
        what: &str,
    ) -> (Process, std::process::ChildStdout) {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what}: {error}"));
        let output = child.stdout.take().expect("a piped standard output");
        (Process(child), output)
    }

    /// Starts `command` with its output appended to the file `log`, for a
    /// test to show when the process does not do what it should.
    pub fn start_logging(mut command: std::process::Command, what: &str, log: &Path) -> Process {
        let file = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap_or_else(|error| panic!("cannot open {}: {error}", log.display()))
        };
        let child = command
            .stdout(file())
            .stderr(file())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what}: {error}"));
        Process(child)
    }

    /// Kills it now (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Sends it SIGTERM, as `docker stop` does.
    pub fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.0.id()).expect("a process id");
        // SAFETY: `kill` only sends a signal; the child is ours and not
        // yet reaped, so the id is still its own.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }

    /// Waits up to `patience` for it to exit; its exit status, if it did.
    pub fn wait_exit(&mut self, patience: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + patience;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The secret that test cores and test edges share.
pub fn edge_secret() -> messenger_proto::EdgeSecret {
    EDGE_SECRET.parse().expect("a valid test secret")
}

/// [`edge_secret`] as the `EDGE_SECRET` a test gives the processes it starts.
pub const EDGE_SECRET: &str = "test-edge-secret-0123456789";

/// The secret test cores of one cluster seal their events with.
pub fn cluster_secret() -> crate::bus::seal::ClusterSecret {
    CLUSTER_SECRET.parse().expect("a valid test secret")
}

/// [`cluster_secret`] as the `CLUSTER_SECRET` a test gives the processes
/// it starts.
pub const CLUSTER_SECRET: &str = "test-cluster-secret-0123456789abcdef";

/// Edge settings with [`edge_secret`], for a test core that edges link to.
pub fn edge_settings() -> crate::state::EdgeSettings {
    crate::state::EdgeSettings {
        secret: Some(edge_secret()),
        ..crate::state::EdgeSettings::default()
    }
}

/// `settings` whose core accepts the test edges.
pub fn with_test_edges(settings: impl Into<crate::state::Settings>) -> crate::state::Settings {
    crate::state::Settings {
        edges: edge_settings(),
        ..settings.into()
    }
}

/// The folder of the messenger's binaries (`messenger-core`,
/// `messenger-edge`), built like the calling test: cargo builds only a
/// test's own package's binaries for it, so this builds the others.
pub fn built_binaries() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args(["build", "-p", "core-service", "-p", "edge", "--bins"])
        .status()
        .expect("cargo runs");
    assert!(built.success(), "the binaries build");
    let test = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<the test>
    test.ancestors()
        .nth(2)
        .expect("a test binary sits in target/<profile>/deps")
        .to_path_buf()
}

/// Runs `command` to its end: whether it exited successfully, and what it
/// printed (its output, then its errors).
pub fn run_to_end(command: &mut std::process::Command) -> (bool, String) {
    let output = command.output().expect("the command starts");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// Makes `a` and `b` contacts as users do: each writes once in their
/// personal chat (opened if they have none).
pub async fn make_contacts(store: &Store, a: crate::ids::UserId, b: crate::ids::UserId) {
    use crate::ids::{ChatId, MessageId};
    let chat = store
        .open_direct_chat(a, b, ChatId::random(), usize::MAX)
        .await
        .expect("their personal chat")
        .chat_id();
    for sender_id in [a, b] {
        let message = crate::store::records::NewMessage {
            id: MessageId(uuid::Uuid::now_v7()),
            chat_id: chat,
            sender_id,
            client_id: uuid::Uuid::new_v4(),
            written_at: None,
            text: "hello".into(),
            attachments: Default::default(),
        };
        store
            .insert_message(&message)
            .await
            .expect("stored")
            .expect("a member");
    }
}
