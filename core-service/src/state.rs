//! The core's shared state: its services, handed to each operation by
//! name, and the settings and limits they are made with.

use crate::auth::password::Lanes;
use crate::auth::throttle::{self, Throttle};
use crate::auth::token_cache::TokenCache;
use crate::blocks::BlockCache;
use crate::bus::Bus;
use crate::bus::access::NatsAccess;
use crate::bus::seal::ClusterSecret;
use crate::ids::{ChatId, CoreId, UserId};
use crate::lines::ChatOrder;
use crate::media::objects::ObjectsError;
use crate::media::{Media, MediaSettings};
use crate::membership::MembershipCache;
use crate::pace::Pace;
use crate::presence::Presence;
use crate::redis_link::RedisLink;
use crate::send_rate::{Rate, SendRate};
use crate::sessions::{Expiries, Links, Registry, UserPlaces};
use crate::store::Store;
use crate::store::writer::MessageWriter;
use crate::words::WordIndex;
use messenger_proto::EdgeSecret;
use startup::traces::Traces;
use std::sync::Arc;
use std::time::Duration;

/// Bounds on what clients may ask for; each is a configuration value.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest message text, in characters.
    pub max_text_chars: usize,
    /// Longest group name, in characters.
    pub max_group_name_chars: usize,
    /// Most members a new group may have, the creator included.
    pub max_group_members: usize,
    /// Most groups one user may create.
    pub max_groups_per_user: usize,
    /// Most chats one user may be in: bounds the per-chat cursors of sync
    /// and resume, which must stay far below one event's size limit.
    pub max_chats_per_user: usize,
    /// Largest history page.
    pub max_page_size: u32,
    /// The page size of a request that names none (at most the largest).
    pub default_page_size: u32,
    /// Searches (of people and of messages) one user may make per minute.
    pub searches_per_minute: u32,
    /// Messages one user may send per second on average, all devices and
    /// cores together.
    pub messages_per_second: u32,
    /// How many of them may come at once.
    pub message_burst: u32,
    /// Events queued for one session with a stream of its own before it
    /// counts as a slow consumer.
    pub session_queue: usize,
    /// How long a send's `client_id` is kept, so that a retry within it is
    /// answered with the message stored first (`sql/0033`).
    pub idempotency_window: Duration,
    /// Most sessions one user may have logged in on this core at once
    /// (devices and tabs): what bounds one user's sockets, since sockets
    /// are not capped per address once logged in.
    pub max_sessions_per_user: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_chars: 4096,
            max_group_name_chars: 128,
            max_group_members: 1000,
            max_groups_per_user: 500,
            max_chats_per_user: 10_000,
            max_page_size: 100,
            default_page_size: 50,
            searches_per_minute: 30,
            messages_per_second: 10,
            message_burst: 100,
            session_queue: 1024,
            idempotency_window: crate::store::sent_keys::DEFAULT_WINDOW,
            max_sessions_per_user: 100,
        }
    }
}

/// Account and credential rules; each is a configuration value.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Shortest password accepted at registration, in characters.
    pub min_password_chars: usize,
    /// Lifetime of an OAuth access token.
    pub access_token_ttl: Duration,
    /// Lifetime of an OAuth refresh token.
    pub refresh_token_ttl: Duration,
    /// Lifetime of a browser login session.
    pub session_ttl: Duration,
    /// Failed logins allowed per account within the window.
    pub max_login_failures: usize,
    /// Failed logins allowed per client address within the window.
    pub max_login_failures_per_address: usize,
    /// The window over which failed logins are counted.
    pub login_failure_window: Duration,
    /// Registrations allowed per client address within their window.
    pub max_registrations_per_address: usize,
    /// The window over which registrations are counted.
    pub registration_window: Duration,
}

impl AuthSettings {
    /// The defaults, as a constant so that the configuration's flags can
    /// show them.
    pub const DEFAULT: AuthSettings = AuthSettings {
        min_password_chars: 8,
        access_token_ttl: Duration::from_secs(15 * 60),
        refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
        session_ttl: Duration::from_secs(30 * 24 * 3600),
        max_login_failures: 5,
        max_login_failures_per_address: 100,
        login_failure_window: Duration::from_secs(5 * 60),
        max_registrations_per_address: 10,
        registration_window: Duration::from_secs(3600),
    };
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings::DEFAULT
    }
}

/// Who may act as an edge, and how much one edge may ask of the core.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// The secret edges present; without one, the core accepts no edges
    /// (direct gRPC clients are still served).
    pub secret: Option<EdgeSecret>,
    /// Most sessions one edge link may hold at once.
    pub max_sessions_per_link: usize,
    /// Most of them that have not logged in yet.
    pub max_anonymous_sessions_per_link: usize,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        EdgeSettings {
            secret: None,
            max_sessions_per_link: 100_000,
            max_anonymous_sessions_per_link: 25_000,
        }
    }
}

/// How often one user's typing in one chat is passed on at most; clients
/// repeat `typing` about this often while the user types.
pub const TYPING_INTERVAL: Duration = Duration::from_secs(3);
/// The window of `Limits::searches_per_minute`.
pub const SEARCH_WINDOW: Duration = Duration::from_secs(60);

/// All settings of a core.
#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: Limits,
    pub auth: AuthSettings,
    pub edges: EdgeSettings,
    /// The Redis that cores of one cluster share counts in (the login
    /// throttle); without it each core counts in its own memory.
    pub redis_url: Option<String>,
    /// PEM certificates a `rediss://` Redis's certificate must chain to
    /// (else the system's roots).
    pub redis_ca_file: Option<std::path::PathBuf>,
    /// The NATS server the cores of one cluster exchange events over.
    pub nats_url: Option<String>,
    /// The subject they exchange them on.
    pub nats_subject: String,
    /// How a core gets into that NATS.
    pub nats_access: NatsAccess,
    /// The secret the cores of one cluster seal their events with.
    pub cluster_secret: Option<ClusterSecret>,
    /// How long a stopping core waits for its sessions to finish their
    /// last writes (their operations, their connection rows).
    pub shutdown_grace: Duration,
    /// The OpenTelemetry collector spans go to, if any.
    pub otlp_endpoint: Option<String>,
    /// How long a chat's cached members, and a user's blockers, are used
    /// before they are read again (see [`crate::membership`]).
    pub membership_ttl: Duration,
    /// The pace of one user's presence announcements (see
    /// [`crate::presence`]).
    pub presence_pace: Duration,
    /// Where files go and the bounds on them.
    pub media: MediaSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            auth: AuthSettings::default(),
            edges: EdgeSettings::default(),
            redis_url: None,
            redis_ca_file: None,
            nats_url: None,
            nats_subject: crate::bus::DEFAULT_SUBJECT.to_owned(),
            nats_access: NatsAccess::default(),
            cluster_secret: None,
            shutdown_grace: Duration::from_secs(10),
            otlp_endpoint: None,
            membership_ttl: crate::membership::DEFAULT_TTL,
            presence_pace: crate::presence::DEFAULT_PACE,
            media: MediaSettings::default(),
        }
    }
}

impl From<Limits> for Settings {
    fn from(limits: Limits) -> Self {
        Settings {
            limits,
            ..Settings::default()
        }
    }
}

/// A core: the services its operations use, and what its transport keeps.
/// Each operation takes only the services it needs, so its signature
/// shows its reach.
pub struct Core {
    pub chats: Chats,
    pub accounts: Accounts,
    pub rates: Rates,
    pub live: Live,
    pub media: Media,
    /// The edges' delivery links.
    pub links: Links,
    pub edges: EdgeSettings,
    /// Every session task, so that shutdown can wait for them to finish
    /// their last writes.
    pub tasks: tokio_util::task::TaskTracker,
    /// How long shutdown waits for them.
    pub shutdown_grace: Duration,
    /// Where spans go (nowhere unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
    pub traces: Traces,
}

/// The chats, their members, messages and blocks: the database, the
/// caches in front of it, and the bounds on what clients may ask.
pub struct Chats {
    pub store: Store,
    /// Stores sent messages with group commit.
    pub writer: MessageWriter,
    pub membership: MembershipCache,
    /// Who blocks whom, for fan-out.
    pub blocks: BlockCache,
    /// The chats whose new messages' words are to be indexed.
    pub words: WordIndex,
    pub limits: Limits,
}

/// Registration, login, credentials and their expiry.
pub struct Accounts {
    pub store: Store,
    pub settings: AuthSettings,
    /// Failed logins per account and per address.
    pub throttle: Throttle,
    /// Registrations per address (and per email).
    pub registrations: Throttle,
    /// Password hashes waiting for a thread, by why they are hashed.
    pub lanes: Lanes,
    /// Live tokens looked up recently.
    pub tokens: TokenCache,
    /// Sessions that end when their credential expires.
    pub expiries: Arc<Expiries>,
}

/// How often one user may do something, on every device and core.
pub struct Rates {
    /// Sent messages, per user.
    pub send: SendRate,
    /// Typing notices passed on, per user and chat.
    pub typing: Pace<(UserId, ChatId)>,
    /// Searches of people and of messages, per user.
    pub searches: Pace<UserId>,
    /// Uploads of files, per user, on every device and core.
    pub uploads: SendRate,
}

/// What is live now: who is connected, and the ways an event reaches
/// them (this core's sessions, each chat's line, presence, the bus to the
/// other cores).
pub struct Live {
    /// This process among the cores of its database and cluster.
    pub id: CoreId,
    pub sessions: Registry,
    /// The bound on each user's sessions here.
    pub places: Arc<UserPlaces>,
    /// Each chat's delivered messages, in order.
    pub order: ChatOrder,
    /// Who is online, in this core and (with Redis) the cluster.
    pub presence: Presence,
    /// The other cores of the cluster, if there is one (`NATS_URL`).
    pub bus: Option<Bus>,
}

impl Core {
    /// A core over `store` with no sessions yet; an error if the Redis URL
    /// is not one or the media store cannot be opened.
    pub fn new(store: Store, settings: Settings) -> Result<Self, CoreError> {
        let Settings {
            limits,
            auth,
            edges,
            redis_url,
            redis_ca_file,
            nats_url: _,
            nats_subject,
            nats_access: _,
            cluster_secret: _,
            shutdown_grace,
            otlp_endpoint: _,
            membership_ttl,
            presence_pace,
            media,
        } = settings;
        let uploads_per_minute = media.uploads_per_minute;
        let redis = match redis_url.as_deref() {
            Some(url) => Some(RedisLink::new(url, redis_ca_file.as_deref())?),
            None => None,
        };
        let id = CoreId::random();
        let presence = match &redis {
            Some(redis) => Presence::shared(id, redis.clone(), &nats_subject),
            None => Presence::local(id),
        }
        .with_pace(presence_pace);
        let places = UserPlaces::new(limits.max_sessions_per_user);
        Ok(Core {
            rates: Rates::new(&limits, uploads_per_minute, redis.as_ref(), &nats_subject),
            media: Media::open(media)?,
            accounts: Accounts::new(store.clone(), auth, redis.as_ref()),
            chats: Chats::new(store, limits, membership_ttl),
            live: Live {
                id,
                sessions: Registry::default(),
                places,
                order: ChatOrder::default(),
                presence,
                bus: None,
            },
            links: Links::default(),
            edges,
            tasks: tokio_util::task::TaskTracker::new(),
            shutdown_grace,
            traces: Traces::default(),
        })
    }
}

impl Chats {
    /// The chats of `store`, with caches that keep entries for `ttl`.
    pub fn new(store: Store, limits: Limits, ttl: Duration) -> Self {
        Chats {
            writer: MessageWriter::start(store.clone()),
            store,
            membership: MembershipCache::with_ttl(ttl),
            blocks: BlockCache::with_ttl(ttl),
            words: WordIndex::default(),
            limits,
        }
    }
}

impl Accounts {
    /// The accounts of `store`; the throttles count in `redis` if given.
    fn new(store: Store, settings: AuthSettings, redis: Option<&RedisLink>) -> Self {
        Accounts {
            store,
            throttle: login_throttle(&settings, redis),
            registrations: registration_throttle(&settings, redis),
            settings,
            lanes: Lanes::default(),
            tokens: TokenCache::default(),
            expiries: Arc::default(),
        }
    }
}

impl Rates {
    /// The rates of `limits` (and `uploads_per_minute`), counted in
    /// `redis` (under `prefix`) if given.
    fn new(
        limits: &Limits,
        uploads_per_minute: u32,
        redis: Option<&RedisLink>,
        prefix: &str,
    ) -> Self {
        let rate = Rate::new(limits.messages_per_second, limits.message_burst);
        let send = match redis {
            Some(redis) => SendRate::shared(rate, redis.clone(), prefix),
            None => SendRate::local(rate),
        };
        let upload_rate = Rate::per_minute(uploads_per_minute);
        let uploads = match redis {
            Some(redis) => SendRate::shared_as("upload-rate", upload_rate, redis.clone(), prefix),
            None => SendRate::local(upload_rate),
        };
        Rates {
            send,
            typing: Pace::new(1, TYPING_INTERVAL),
            searches: Pace::new(limits.searches_per_minute, SEARCH_WINDOW),
            uploads,
        }
    }
}

/// Why a core could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("invalid REDIS_URL or REDIS_CA_FILE: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cannot open the media store (MEDIA_URL): {0}")]
    Media(#[from] ObjectsError),
}

/// The login throttle: shared through Redis when there is one.
fn login_throttle(auth: &AuthSettings, redis: Option<&RedisLink>) -> Throttle {
    let limits = throttle::Limits {
        per_account: auth.max_login_failures,
        per_address: auth.max_login_failures_per_address,
        window: auth.login_failure_window,
    };
    throttle_with(limits, redis)
}

/// The registration throttle: every registration counts against its
/// address (and its email), whether it succeeds or not.
fn registration_throttle(auth: &AuthSettings, redis: Option<&RedisLink>) -> Throttle {
    let limits = throttle::Limits {
        per_account: auth.max_registrations_per_address,
        per_address: auth.max_registrations_per_address,
        window: auth.registration_window,
    };
    throttle_with(limits, redis).named("registration:")
}

fn throttle_with(limits: throttle::Limits, redis: Option<&RedisLink>) -> Throttle {
    match redis {
        Some(redis) => Throttle::shared(limits, redis.clone()),
        None => Throttle::local(limits),
    }
}
