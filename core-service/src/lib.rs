//! The messenger core: owns accounts, chats, messages, receipts and who is
//! connected where, and serves them over gRPC (`proto/`).
//!
//! Its modules, in their layers (`docs/architecture.md`, "Layers"), top
//! first:
//!
//! - [`grpc`]: the `Messenger` service (session streams, history, login
//!   check), plus health and reflection; [`config`]: the settings read at
//!   start; [`demo_data`]: the `fake_data.json` loader (the shape and
//!   generator are the `demo-data` crate's); `testing` (with the `testing`
//!   feature, for tests only): a throw-away database per test.
//! - [`commands`]: one module per client operation (a session's, history,
//!   chat lists), and the session move's catch-up; [`cores`]: this core among the cores that serve its
//!   database, and what a stopped or vanished one leaves behind.
//! - [`accounts`]: registration, credentials, login sessions, OAuth tokens.
//! - [`events`]: what happened, told to the sessions it concerns here and
//!   to the other cores.
//! - [`state`]: the [`state::Core`] and its services (chats, accounts,
//!   rates, live, media), which operations take by name, and the settings and
//!   limits they are made with.
//! - [`auth`]: passwords, tokens, the token cache, login throttling;
//!   [`blocks`]: the cache of who blocks whom that fan-out filters by;
//!   [`bus`]: the cores' events over NATS, sealed; [`convert`]: stored
//!   records into the contract's protobuf messages; [`lines`]: each chat's
//!   line, which hands its messages to sessions in `seq` order, once.
//! - [`membership`]: the cache of chat members used on every send;
//!   [`sessions`]: the registry of live sessions and delivery to them
//!   (and what the client of a session moved here already has);
//!   [`media`]: files' bytes in the object store, images read off the
//!   runtime, and the collection of what no one uses; [`words`]: the
//!   indexing of sent messages' words for search, off the send path.
//! - [`store`]: PostgreSQL (all SQL lives here) and the migrations;
//!   [`local_db`]: the embedded default PostgreSQL cluster; [`pace`]: an
//!   in-memory rate per key.
//! - [`email`]: e-mail addresses in their one spelling; [`text`]: what
//!   client text may contain (no control characters); [`error`]: the one
//!   error type and its mapping to gRPC statuses.
//! - [`presence`]: who is online, counted per core and (in a cluster) in
//!   Redis; [`send_rate`]: how fast one user may send; [`redis_link`]: the
//!   lazily made Redis connection they and the login throttle share.
//! - [`ids`]: the id types (`UserId`, `ChatId`, …); [`telemetry`]: the
//!   metrics the core records.

pub mod accounts;
pub mod auth;
pub mod blocks;
pub mod bus;
pub mod commands;
pub mod config;
pub mod convert;
pub mod cores;
pub mod demo_data;
pub mod email;
pub mod error;
pub mod events;
pub mod grpc;
pub mod ids;
pub mod lines;
pub mod local_db;
pub mod media;
pub mod membership;
pub mod pace;
pub mod presence;
pub mod redis_link;
pub mod send_rate;
pub mod sessions;
pub mod state;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod text;
pub mod words;

use config::DatabaseConfig;
use local_db::LocalPostgres;
use startup::traces::Traces;
use std::future::Future;
use std::sync::Arc;
use store::Store;
use tokio::net::TcpListener;

/// A database that is ready: migrated, with its pool.
pub struct Database {
    pub store: Store,
    /// The embedded cluster, when no URL was configured.
    pub local: Option<LocalPostgres>,
}

/// Why the database could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(transparent)]
    Local(#[from] local_db::LocalDbError),
    #[error(transparent)]
    Setup(#[from] store::StoreSetupError),
    #[error("cannot prepare the database schema: {0}")]
    Migrate(#[from] error::Error),
}

/// Connects to the configured database (starting the embedded one when no
/// URL is set) and applies pending migrations.
pub async fn open_database(config: &DatabaseConfig) -> Result<Database, DatabaseError> {
    let (url, local) = match &config.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let dir = config.local_db_dir.clone();
            let local = tokio::task::spawn_blocking(move || LocalPostgres::ensure_running(&dir))
                .await
                .map_err(|error| error::Error::Internal(error.to_string()))??;
            (local.url(), Some(local))
        }
    };
    tracing::info!(database = %startup::mask_url_password(&url), "using database");
    let ca_file = config.database_ca_file.as_deref();
    let store = Store::open(&url, config.database_pool_size, ca_file)?
        .with_recent_budget(config.history_cache_mib.saturating_mul(config::MIB));
    // The error's own text is what a client may see ("internal error");
    // whoever starts the process needs the cause.
    store::migrate::run(&store)
        .await
        .inspect_err(error::Error::log)?;
    Ok(Database { store, local })
}

/// Serves the core on `listener` until `stop` completes.
pub async fn serve(
    store: Store,
    settings: impl Into<state::Settings>,
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send,
) -> Result<(), grpc::ServeError> {
    let settings: state::Settings = settings.into();
    let bus = bus_settings(&settings)?;
    let traces = Traces::export(settings.otlp_endpoint.as_deref(), "messenger-core")?;
    let mut core = state::Core::new(store, settings)?;
    core.traces = traces;
    if let Some(bus) = bus {
        let bus = bus::Bus::connect(&bus, core.live.id)
            .await
            .map_err(grpc::ServeError::Bus)?;
        core.live.bus = Some(bus);
    }
    grpc::serve(Arc::new(core), listener, stop).await
}

/// Where the cluster's bus is and how to join it; `None` for a core alone.
/// A cluster needs Redis and the cluster's secret (`serve` and
/// `check-config` both ask here).
pub fn bus_settings(
    settings: &state::Settings,
) -> Result<Option<bus::BusSettings>, grpc::ServeError> {
    let Some(url) = &settings.nats_url else {
        return Ok(None);
    };
    if settings.redis_url.is_none() {
        return Err(grpc::ServeError::ClusterWithoutRedis);
    }
    let secret = (settings.cluster_secret.clone()).ok_or(grpc::ServeError::ClusterWithoutSecret)?;
    Ok(Some(bus::BusSettings {
        url: url.clone(),
        subject: settings.nats_subject.clone(),
        access: settings.nats_access.clone(),
        secret,
    }))
}

/// The log filter when `RUST_LOG` is not set: the driver's per-query
/// notices are noise.
pub const LOG_FILTER: &str = "info,tokio_postgres=warn";
