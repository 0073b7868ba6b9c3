//! PostgreSQL storage: the only place in the core that holds SQL.
//!
//! Each submodule owns the queries of one table family; every query is plain
//! SQL that can be pasted into `psql`. Statements are prepared once per pooled
//! connection (`prepare_cached`).

pub mod attachments;
pub mod blocks;
pub mod bulk;
pub mod catch_up;
pub mod chats;
pub mod connections;
pub mod cores;
pub mod direct_chats;
pub mod edits;
pub mod members;
pub mod messages;
pub mod migrate;
pub mod presence;
pub mod privacy;
pub mod receipts;
pub mod recent;
pub mod records;
pub mod search;
pub mod sent_keys;
pub mod tls;
pub mod tokens;
pub mod users;
pub mod words;
pub mod writer;

use crate::error::Result;
use deadpool_postgres::{
    ConfigConnectImpl, Connect, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Timeouts,
};
use recent::RecentMessages;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;

/// How long an operation waits for a free connection before it fails.
const POOL_WAIT: Duration = Duration::from_secs(10);
/// Planner settings of every connection the core opens.
///
/// Every statement the core runs finds its rows through an index, and must
/// go on doing so however stale the statistics are: a plan is kept for the
/// life of a connection, and one made while a table was empty (a new
/// deployment) or under statistics taken then would otherwise read the
/// whole table on every call once it has grown. With sequential scans priced
/// out, the planner takes the index even for a table it believes empty;
/// this also covers the foreign-key checks PostgreSQL plans on first use in
/// each connection. A statement that has no index to use still runs, with a
/// sequential scan (see `docs/data-model.md`, "Plans").
///
/// No JIT compiling: a sequential scan priced out costs 1e10, far past
/// `jit_above_cost`, so a statement on a small table without an index for
/// it was compiled on every call (the check for gone cores: 360–640 ms of
/// PostgreSQL's CPU every few seconds on every core). The core's statements
/// each read a few rows, which compiling never pays for.
pub const PLANNER_OPTIONS: &str = "-c enable_seqscan=off -c jit=off";
/// Bytes of recent messages kept in memory unless configured otherwise.
pub const DEFAULT_RECENT_BUDGET: usize = 64 * 1024 * 1024;

/// A pool of connections to the messenger's database.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Shared by every clone: the newest messages of recently read chats.
    recent: Arc<RecentMessages>,
}

impl Store {
    /// Creates a pool for `url` (a libpq-style URL) of at most `size`
    /// connections. Connections are opened on first use.
    pub fn new(url: &str, size: usize) -> Result<Self, StoreSetupError> {
        Store::open(url, size, None)
    }

    /// Like [`Store::new`]; when the URL asks for TLS (`sslmode=require`),
    /// the server's certificate is verified against `ca_file`'s
    /// certificates, or the system's roots without one (`store/tls.rs`).
    pub fn open(url: &str, size: usize, ca_file: Option<&Path>) -> Result<Self, StoreSetupError> {
        let config: tokio_postgres::Config = url.parse().map_err(StoreSetupError::Url)?;
        if config.get_ssl_mode() == SslMode::Require {
            let tls = tls::connector(ca_file)?;
            return Store::with_connect(config, size, ConfigConnectImpl { tls });
        }
        Store::with_config(config, size)
    }

    /// Like [`Store::new`], from an already parsed configuration.
    pub fn with_config(
        config: tokio_postgres::Config,
        size: usize,
    ) -> Result<Self, StoreSetupError> {
        Store::with_connect(config, size, ConfigConnectImpl { tls: NoTls })
    }

    /// Like [`Store::with_config`], opening connections with `connect`
    /// (which receives the configuration with [`PLANNER_OPTIONS`] added).
    pub fn with_connect(
        mut config: tokio_postgres::Config,
        size: usize,
        connect: impl Connect + 'static,
    ) -> Result<Self, StoreSetupError> {
        let options = match config.get_options() {
            Some(options) => format!("{options} {PLANNER_OPTIONS}"),
            None => PLANNER_OPTIONS.to_owned(),
        };
        config.options(&options);
        let manager = Manager::from_connect(
            config,
            connect,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size)
            .timeouts(Timeouts {
                wait: Some(POOL_WAIT),
                create: Some(POOL_WAIT),
                recycle: Some(POOL_WAIT),
            })
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|error| StoreSetupError::Pool(error.to_string()))?;
        Ok(Store {
            pool,
            recent: Arc::new(RecentMessages::new(DEFAULT_RECENT_BUDGET)),
        })
    }

    /// The same store with a cache of recent messages of about `bytes`
    /// (0: none). Clones made before keep the old cache.
    pub fn with_recent_budget(mut self, bytes: usize) -> Self {
        self.recent = Arc::new(RecentMessages::new(bytes));
        self
    }

    /// A connection from the pool.
    pub async fn connection(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }

    /// Connections of the pool in use and idle now.
    pub fn pool_use(&self) -> (usize, usize) {
        let status = self.pool.status();
        (status.size - status.available, status.available)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        let client = self.connection().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }

    /// Closes the pool: no new connections, idle ones are dropped.
    pub fn close(&self) {
        self.pool.close();
    }
}

/// Why a [`Store`] could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StoreSetupError {
    #[error("invalid database URL: {0}")]
    Url(tokio_postgres::Error),
    #[error("cannot create the connection pool: {0}")]
    Pool(String),
    #[error(transparent)]
    Tls(#[from] tls::DatabaseTlsError),
}
