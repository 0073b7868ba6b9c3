//! The core's configuration: flags, environment variables (and `.env`),
//! read once at start-up.

use crate::bus::DEFAULT_SUBJECT;
use crate::bus::access::{NatsAccess, NatsCredentials, NatsTls};
use crate::bus::seal::ClusterSecret;
use crate::media::MediaSettings;
use crate::state::{AuthSettings, EdgeSettings, Limits, Settings};
use clap::Args;
use messenger_proto::EdgeSecret;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The defaults of the auth settings, written once (in `AuthSettings`).
const AUTH: AuthSettings = AuthSettings::DEFAULT;

/// Where the core listens and which database it uses.
#[derive(Debug, Clone, Args)]
pub struct CoreConfig {
    /// Address of the gRPC server.
    #[arg(
        id = "core_listen",
        long = "core-listen",
        env = "CORE_LISTEN",
        default_value = "127.0.0.1:50051"
    )]
    pub listen: SocketAddr,
    /// Where the core serves its Prometheus metrics (`/metrics`), or `off`
    /// (the launcher serves the core's and the edge's there).
    #[arg(long, env = "CORE_METRICS_LISTEN", default_value = "127.0.0.1:9101")]
    pub core_metrics_listen: startup::MetricsListen,
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Redis shared by the cores of a cluster (login attempts are counted
    /// there); unset, each core counts in its own memory.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// CA certificates (PEM) that a `rediss://` Redis's certificate is
    /// verified against; without it, the system's roots.
    #[arg(long, env = "REDIS_CA_FILE", requires = "redis_url")]
    pub redis_ca_file: Option<PathBuf>,
    /// NATS shared by the cores of a cluster (events between them: messages,
    /// receipts, groups, logouts); unset, a core is alone.
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    /// The NATS subject the cores of this cluster exchange events on; two
    /// clusters that share a NATS need one each.
    #[arg(long, env = "NATS_SUBJECT", default_value = DEFAULT_SUBJECT)]
    pub nats_subject: String,
    #[command(flatten)]
    pub cluster: ClusterConfig,
    #[command(flatten)]
    pub media: MediaConfig,
    /// On SIGTERM or SIGINT, how long the core waits for its sessions to
    /// finish what they took (and record their ends) before it exits.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
    /// OpenTelemetry collector (OTLP over gRPC, e.g. `http://127.0.0.1:4317`)
    /// the core sends its spans to; unset, it records none.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The secret the cluster's edges present (at least 16 characters),
    /// from `EDGE_SECRET` or `EDGE_SECRET_FILE` (see
    /// [`EdgeSecret::from_environment`]; never a flag), unless a program
    /// that runs the core sets it. Unset, the core accepts no edges and
    /// serves only gRPC clients.
    #[arg(skip)]
    pub edge_secret: Option<EdgeSecret>,
    /// Most sessions one edge link may hold at once.
    #[arg(long, env = "MAX_SESSIONS_PER_LINK", default_value_t = EdgeSettings::default().max_sessions_per_link)]
    pub max_sessions_per_link: usize,
    /// Most sessions of one edge link that have not logged in yet.
    #[arg(long, env = "MAX_ANONYMOUS_SESSIONS_PER_LINK", default_value_t = EdgeSettings::default().max_anonymous_sessions_per_link)]
    pub max_anonymous_sessions_per_link: usize,
    /// Longest message text, in characters.
    #[arg(long, env = "MAX_MESSAGE_CHARS", default_value_t = Limits::default().max_text_chars)]
    pub max_message_chars: usize,
    /// How long a send's `client_id` is kept to answer its retries (`7d`,
    /// `36h`, …): a send written longer ago than this may be refused as
    /// `stale_retry` (`docs/protocol.md`).
    #[arg(long, env = "IDEMPOTENCY_WINDOW", default_value = "7d",
          value_parser = idempotency_window)]
    pub idempotency_window: Duration,
    /// Most members a new group may have, the creator included.
    #[arg(long, env = "MAX_GROUP_MEMBERS", default_value_t = Limits::default().max_group_members)]
    pub max_group_members: usize,
    /// Most groups one user may create.
    #[arg(long, env = "MAX_GROUPS_PER_USER", default_value_t = Limits::default().max_groups_per_user)]
    pub max_groups_per_user: usize,
    /// Most chats one user may be in (a new group with a member at the
    /// limit is refused).
    #[arg(long, env = "MAX_CHATS_PER_USER", default_value_t = Limits::default().max_chats_per_user)]
    pub max_chats_per_user: usize,
    /// Most sessions (sockets, gRPC streams) one user may have logged in
    /// on this core at once; a login past it is refused.
    #[arg(long, env = "MAX_SESSIONS_PER_USER", default_value_t = Limits::default().max_sessions_per_user)]
    pub max_sessions_per_user: usize,
    /// Searches of people (`GET /users?query=`) and of messages (`GET
    /// /search?query=`) one user may make per minute, both together.
    #[arg(long, env = "SEARCHES_PER_MINUTE", default_value_t = Limits::default().searches_per_minute)]
    pub searches_per_minute: u32,
    /// Messages one user may send per second on average (all their devices
    /// together, on every core).
    #[arg(long, env = "MESSAGES_PER_SECOND", default_value_t = Limits::default().messages_per_second)]
    pub messages_per_second: u32,
    /// How many messages one user may send at once before that average
    /// applies.
    #[arg(long, env = "MESSAGE_BURST", default_value_t = Limits::default().message_burst)]
    pub message_burst: u32,
    /// Largest history page a client may ask for.
    #[arg(long, env = "MAX_HISTORY_PAGE", default_value_t = Limits::default().max_page_size)]
    pub max_history_page: u32,
    /// Events queued for one session with a stream of its own before it is
    /// closed as a slow consumer (sessions behind an edge link are bounded
    /// by the edge's per-socket queue instead).
    #[arg(long, env = "SESSION_QUEUE", default_value_t = Limits::default().session_queue)]
    pub session_queue: usize,
    /// Shortest password accepted at registration.
    #[arg(long, env = "MIN_PASSWORD_CHARS", default_value_t = AUTH.min_password_chars)]
    pub min_password_chars: usize,
    /// Lifetime of an OAuth access token, in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECONDS", default_value_t = AUTH.access_token_ttl.as_secs())]
    pub access_token_ttl_seconds: u64,
    /// Lifetime of an OAuth refresh token, in seconds.
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECONDS", default_value_t = AUTH.refresh_token_ttl.as_secs())]
    pub refresh_token_ttl_seconds: u64,
    /// Lifetime of a browser login session (cookie), in seconds.
    #[arg(long, env = "SESSION_TTL_SECONDS", default_value_t = AUTH.session_ttl.as_secs())]
    pub session_ttl_seconds: u64,
    /// Failed logins allowed per account in the window.
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value_t = AUTH.max_login_failures)]
    pub login_max_failures: usize,
    /// Failed logins allowed per client address in the window.
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ADDRESS", default_value_t = AUTH.max_login_failures_per_address)]
    pub login_max_failures_per_address: usize,
    /// Registrations allowed per client address in their window.
    #[arg(long, env = "REGISTRATIONS_PER_ADDRESS", default_value_t = AUTH.max_registrations_per_address)]
    pub registrations_per_address: usize,
    /// The window over which registrations are counted, in seconds.
    #[arg(long, env = "REGISTRATION_WINDOW_SECONDS", default_value_t = AUTH.registration_window.as_secs())]
    pub registration_window_seconds: u64,
    /// The window over which failed logins are counted, in seconds.
    #[arg(long, env = "LOGIN_FAILURE_WINDOW_SECONDS", default_value_t = AUTH.login_failure_window.as_secs())]
    pub login_failure_window_seconds: u64,
}

impl CoreConfig {
    /// Every setting of the core; an error for a secret that is too weak
    /// or a file that cannot be read.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        Ok(Settings {
            limits: self.limits(),
            auth: AuthSettings {
                min_password_chars: self.min_password_chars,
                access_token_ttl: Duration::from_secs(self.access_token_ttl_seconds),
                refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl_seconds),
                session_ttl: Duration::from_secs(self.session_ttl_seconds),
                max_login_failures: self.login_max_failures,
                max_login_failures_per_address: self.login_max_failures_per_address,
                login_failure_window: Duration::from_secs(self.login_failure_window_seconds),
                max_registrations_per_address: self.registrations_per_address,
                registration_window: Duration::from_secs(self.registration_window_seconds),
            },
            edges: EdgeSettings {
                secret: match &self.edge_secret {
                    Some(secret) => Some(secret.clone()),
                    None => EdgeSecret::from_environment().map_err(ConfigError::Invalid)?,
                },
                max_sessions_per_link: self.max_sessions_per_link,
                max_anonymous_sessions_per_link: self.max_anonymous_sessions_per_link,
            },
            redis_url: self.redis_url.clone(),
            redis_ca_file: self.redis_ca_file.clone(),
            nats_url: self.nats_url.clone(),
            nats_subject: self.nats_subject.clone(),
            nats_access: self.cluster.nats_access()?,
            cluster_secret: self.cluster.secret()?,
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds),
            otlp_endpoint: self.otlp_endpoint.clone(),
            membership_ttl: crate::membership::DEFAULT_TTL,
            presence_pace: crate::presence::DEFAULT_PACE,
            media: self.media.settings(),
        })
    }

    /// The client-facing limits this configuration sets.
    pub fn limits(&self) -> Limits {
        Limits {
            max_text_chars: self.max_message_chars,
            max_group_members: self.max_group_members,
            max_groups_per_user: self.max_groups_per_user,
            max_chats_per_user: self.max_chats_per_user,
            max_page_size: self.max_history_page,
            searches_per_minute: self.searches_per_minute,
            messages_per_second: self.messages_per_second,
            message_burst: self.message_burst,
            session_queue: self.session_queue.max(1),
            idempotency_window: self.idempotency_window,
            max_sessions_per_user: self.max_sessions_per_user,
            ..Limits::default()
        }
    }
}

/// Where files go and the bounds on them.
#[derive(Debug, Clone, Args)]
pub struct MediaConfig {
    /// Where attachments are kept: `file:///folder`, or
    /// `s3://bucket[/prefix]` for an S3-compatible store that every core
    /// reaches (endpoint, region and credentials from `AWS_ENDPOINT`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ALLOW_HTTP`). Unset: the `.data/media` folder.
    #[arg(long, env = "MEDIA_URL")]
    pub media_url: Option<String>,
    /// Largest file one upload may be, in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = MediaSettings::default().max_upload_bytes)]
    pub max_upload_bytes: u64,
    /// Bytes one user's files may take in all.
    #[arg(long, env = "MEDIA_QUOTA_BYTES", default_value_t = MediaSettings::default().quota_bytes)]
    pub media_quota_bytes: u64,
    /// Uploads one user may make per minute.
    #[arg(long, env = "UPLOADS_PER_MINUTE", default_value_t = MediaSettings::default().uploads_per_minute)]
    pub uploads_per_minute: u32,
    /// Most pixels an image may have (more is refused before decoding).
    #[arg(long, env = "MAX_IMAGE_PIXELS", default_value_t = MediaSettings::default().max_image_pixels)]
    pub max_image_pixels: u64,
    /// How long a file uploaded but never sent is kept, in seconds.
    #[arg(long, env = "UNSENT_UPLOADS_KEPT_SECONDS", default_value_t = MediaSettings::default().unsent_kept.as_secs())]
    pub unsent_uploads_kept_seconds: u64,
}

impl MediaConfig {
    fn settings(&self) -> MediaSettings {
        MediaSettings {
            url: self.media_url.clone(),
            max_upload_bytes: self.max_upload_bytes,
            quota_bytes: self.media_quota_bytes,
            uploads_per_minute: self.uploads_per_minute,
            max_image_pixels: self.max_image_pixels,
            unsent_kept: Duration::from_secs(self.unsent_uploads_kept_seconds),
            ..MediaSettings::default()
        }
    }
}

/// Settings read from the environment only, never from a flag: the
/// cluster's secret, NATS's password and NATS's token, the edges' secret
/// (or the file that holds it).
pub const ENVIRONMENT_SECRETS: [&str; 5] = [
    "CLUSTER_SECRET",
    "NATS_PASSWORD",
    "NATS_TOKEN",
    "EDGE_SECRET",
    "EDGE_SECRET_FILE",
];

/// How a core joins the other cores of its cluster: its credentials for
/// NATS and the secret their events are sealed with. Secrets are read from
/// the environment or from files, never from flags (which any user of the
/// machine can read in the process list).
#[derive(Debug, Clone, Args)]
pub struct ClusterConfig {
    /// File holding the secret the cores of one cluster seal their events
    /// with (or `CLUSTER_SECRET` itself in the environment; 32 characters
    /// or more). A cluster (`NATS_URL`) needs it.
    #[arg(long, env = "CLUSTER_SECRET_FILE")]
    pub cluster_secret_file: Option<PathBuf>,
    #[arg(skip = std::env::var(ENVIRONMENT_SECRETS[0]).ok())]
    pub cluster_secret: Option<String>,
    /// NATS credentials file (`.creds`: a user JWT and its NKey seed).
    #[arg(long, env = "NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// File holding an NKey seed to authenticate to NATS with.
    #[arg(long, env = "NATS_NKEY_FILE")]
    pub nats_nkey_file: Option<PathBuf>,
    /// NATS user (with `NATS_PASSWORD` in the environment).
    #[arg(long, env = "NATS_USER")]
    pub nats_user: Option<String>,
    #[arg(skip = std::env::var(ENVIRONMENT_SECRETS[1]).ok())]
    pub nats_password: Option<String>,
    #[arg(skip = std::env::var(ENVIRONMENT_SECRETS[2]).ok())]
    pub nats_token: Option<String>,
    /// PEM certificates NATS's certificate must chain to (turns TLS on,
    /// as a `tls://` URL does).
    #[arg(long, env = "NATS_CA_FILE")]
    pub nats_ca_file: Option<PathBuf>,
    /// PEM certificate the core presents to NATS (mutual TLS), with
    /// `NATS_CLIENT_KEY_FILE`.
    #[arg(long, env = "NATS_CLIENT_CERT_FILE", requires = "nats_client_key_file")]
    pub nats_client_cert_file: Option<PathBuf>,
    /// PEM key of that certificate.
    #[arg(long, env = "NATS_CLIENT_KEY_FILE", requires = "nats_client_cert_file")]
    pub nats_client_key_file: Option<PathBuf>,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {name} ({path}): {error}")]
    File {
        name: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl ClusterConfig {
    /// The cluster's secret, from the environment or its file.
    pub fn secret(&self) -> Result<Option<ClusterSecret>, ConfigError> {
        let text = messenger_proto::text_or_file(
            ("CLUSTER_SECRET", self.cluster_secret.clone()),
            ("CLUSTER_SECRET_FILE", self.cluster_secret_file.as_deref()),
        )
        .map_err(ConfigError::Invalid)?;
        let secret = text.map(|text| text.parse()).transpose();
        secret.map_err(ConfigError::Invalid)
    }

    /// The credential and TLS files for NATS; at most one credential.
    pub fn nats_access(&self) -> Result<NatsAccess, ConfigError> {
        let mut given = Vec::new();
        if let Some(path) = &self.nats_creds {
            given.push(NatsCredentials::CredsFile(path.clone()));
        }
        if let Some(path) = &self.nats_nkey_file {
            given.push(NatsCredentials::NKey(read_secret("NATS_NKEY_FILE", path)?));
        }
        match (&self.nats_user, &self.nats_password) {
            (Some(user), Some(password)) => given.push(NatsCredentials::UserPassword {
                user: user.clone(),
                password: password.clone(),
            }),
            (None, None) => {}
            _ => {
                return Err(ConfigError::Invalid(
                    "NATS_USER and NATS_PASSWORD go together".into(),
                ));
            }
        }
        if let Some(token) = &self.nats_token {
            given.push(NatsCredentials::Token(token.clone()));
        }
        if given.len() > 1 {
            return Err(ConfigError::Invalid(
                "give one NATS credential: NATS_CREDS, NATS_NKEY_FILE, NATS_USER/NATS_PASSWORD or NATS_TOKEN".into(),
            ));
        }
        Ok(NatsAccess {
            credentials: given.pop().unwrap_or_default(),
            tls: NatsTls {
                ca_file: self.nats_ca_file.clone(),
                client_cert: self
                    .nats_client_cert_file
                    .clone()
                    .zip(self.nats_client_key_file.clone()),
            },
        })
    }
}

/// A secret kept in a file, without its surrounding white space.
fn read_secret(name: &'static str, path: &std::path::Path) -> Result<String, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().to_owned()),
        Err(error) => Err(ConfigError::File {
            name,
            path: path.to_owned(),
            error,
        }),
    }
}

/// Which PostgreSQL to use.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL URL; when unset, a private cluster in `--local-db-dir` is
    /// created and started from the PostgreSQL binaries on the machine.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// CA certificates (PEM) that the database's certificate is verified
    /// against when the URL asks for TLS (`sslmode=require`); without it,
    /// the system's roots.
    #[arg(long, env = "DATABASE_CA_FILE")]
    pub database_ca_file: Option<PathBuf>,
    /// Data folder of the embedded default cluster.
    #[arg(long, env = "LOCAL_DB_DIR", default_value = ".data/postgres")]
    pub local_db_dir: PathBuf,
    /// Most connections the core opens to PostgreSQL.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 16)]
    pub database_pool_size: usize,
    /// Memory for the newest messages of recently read chats, in MiB
    /// (history pages and sync served without a query); 0 turns it off.
    #[arg(
        long,
        env = "HISTORY_CACHE_MIB",
        default_value_t = crate::store::DEFAULT_RECENT_BUDGET / MIB
    )]
    pub history_cache_mib: usize,
}

/// Bytes in a MiB, for the settings given in MiB.
pub const MIB: usize = 1024 * 1024;

/// Parses `IDEMPOTENCY_WINDOW`: a duration of at least a day, so that a
/// client offline overnight can still retry.
fn idempotency_window(text: &str) -> Result<Duration, String> {
    let window = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if window < Duration::from_secs(24 * 3600) {
        return Err("must be at least a day (e.g. 7d)".into());
    }
    Ok(window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        config: CoreConfig,
    }

    #[test]
    fn without_flags_the_settings_are_the_defaults() {
        let config = Flags::parse_from(["core"]).config;
        let settings = config.settings().unwrap();
        assert_eq!(
            format!("{:?}", settings.auth),
            format!("{:?}", AuthSettings::default())
        );
        assert_eq!(
            format!("{:?}", settings.limits),
            format!("{:?}", Limits::default())
        );
        assert_eq!(
            format!("{:?}", settings.edges),
            format!("{:?}", EdgeSettings::default())
        );
    }

    #[test]
    fn the_idempotency_window_is_a_duration_of_a_day_or_more() {
        assert_eq!(
            idempotency_window("7d"),
            Ok(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(
            idempotency_window("36h"),
            Ok(Duration::from_secs(36 * 3600))
        );
        assert!(
            idempotency_window("1h")
                .unwrap_err()
                .contains("at least a day")
        );
        assert!(idempotency_window("soon").is_err());
    }
}
