//! The core's metrics, in Prometheus' conventions (units in names,
//! `_total` counters, labels from small fixed sets: never a user or chat
//! id). They are recorded through the `metrics` facade; a process that
//! installs an exporter (`startup::serve_metrics`) serves them at
//! `/metrics`, and one that does not records nothing. Handles on the send
//! path are looked up once.
//!
//! Every name is listed in [`NAMES`], which the dashboard in `docs/` is
//! checked against.

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};
use std::sync::LazyLock;
use std::time::Duration;

pub const MESSAGES_STORED: &str = "messenger_messages_stored_total";
pub const COMMIT_BATCH: &str = "messenger_commit_batch_messages";
pub const COMMIT_DURATION: &str = "messenger_commit_duration_seconds";
pub const ACK_DURATION: &str = "messenger_ack_duration_seconds";
pub const DELIVERIES: &str = "messenger_deliveries_total";
pub const FANOUT_DURATION: &str = "messenger_fanout_duration_seconds";
pub const SESSIONS: &str = "messenger_sessions";
pub const SESSION_ENDS: &str = "messenger_session_ends_total";
pub const ERROR_REPLIES: &str = "messenger_error_replies_total";
pub const LOGINS: &str = "messenger_logins_total";
pub const HISTORY_REQUESTS: &str = "messenger_history_requests_total";
pub const HISTORY_DURATION: &str = "messenger_history_duration_seconds";
pub const POOL_CONNECTIONS: &str = "messenger_db_pool_connections";
pub const CACHE_LOOKUPS: &str = "messenger_cache_lookups_total";
pub const BUS_EVENTS: &str = "messenger_bus_events_total";
pub const BUS_LAG: &str = "messenger_bus_lag_seconds";
pub const WORDS_INDEXED: &str = "messenger_words_indexed_total";

/// Every metric the core records.
pub const NAMES: [&str; 17] = [
    MESSAGES_STORED,
    COMMIT_BATCH,
    COMMIT_DURATION,
    ACK_DURATION,
    DELIVERIES,
    FANOUT_DURATION,
    SESSIONS,
    SESSION_ENDS,
    ERROR_REPLIES,
    LOGINS,
    HISTORY_REQUESTS,
    HISTORY_DURATION,
    POOL_CONNECTIONS,
    CACHE_LOOKUPS,
    BUS_EVENTS,
    BUS_LAG,
    WORDS_INDEXED,
];

static STORED: LazyLock<Counter> = LazyLock::new(|| counter!(MESSAGES_STORED));
static BATCH: LazyLock<Histogram> = LazyLock::new(|| histogram!(COMMIT_BATCH));
static COMMIT: LazyLock<Histogram> = LazyLock::new(|| histogram!(COMMIT_DURATION));
static ACK: LazyLock<Histogram> = LazyLock::new(|| histogram!(ACK_DURATION));
static DELIVERED: LazyLock<Counter> = LazyLock::new(|| counter!(DELIVERIES));
static FANOUT: LazyLock<Histogram> = LazyLock::new(|| histogram!(FANOUT_DURATION));
static OPEN_SESSIONS: LazyLock<Gauge> = LazyLock::new(|| gauge!(SESSIONS));
static MEMBERSHIP_HITS: LazyLock<Counter> =
    LazyLock::new(|| counter!(CACHE_LOOKUPS, "cache" => "membership", "result" => "hit"));

/// A group commit of `messages` (that stored `created` new ones) took
/// `took`.
pub fn committed(messages: usize, created: usize, took: Duration) {
    BATCH.record(messages as f64);
    COMMIT.record(took);
    STORED.increment(created as u64);
}

/// A send was acked `took` after the core took it.
pub fn acked(took: Duration) {
    ACK.record(took);
}

/// An event went to `sessions` sessions.
pub fn delivered(sessions: usize) {
    DELIVERED.increment(sessions as u64);
}

/// A message this core stored was handed to its members' sessions `took`
/// after its commit (the database's clock against this core's).
pub fn fanned_out(took: Duration) {
    FANOUT.record(took);
}

/// A session logged in (`1.0`) or ended logged in (`-1.0`).
pub fn sessions(change: f64) {
    OPEN_SESSIONS.increment(change);
}

/// A session ended, for `reason` (a fixed set: `EndReason`'s names).
pub fn session_ended(reason: &'static str) {
    counter!(SESSION_ENDS, "reason" => reason).increment(1);
}

/// An operation was refused with `code` (the fixed set of error codes).
pub fn error_reply(code: &'static str) {
    counter!(ERROR_REPLIES, "code" => code).increment(1);
}

/// A login attempt ended: `success`, `failure` or `throttled`.
pub fn login(result: &'static str) {
    counter!(LOGINS, "result" => result).increment(1);
}

/// A history page was read in `took`.
pub fn history(took: Duration) {
    counter!(HISTORY_REQUESTS).increment(1);
    histogram!(HISTORY_DURATION).record(took);
}

/// The database pool now: connections in use and idle.
pub fn pool(in_use: usize, idle: usize) {
    gauge!(POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    gauge!(POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
}

/// A cache (`membership`, `token`, `recent`) was asked and had the answer
/// (`hit`) or not.
pub fn cache(cache: &'static str, hit: bool) {
    if cache == "membership" && hit {
        return MEMBERSHIP_HITS.increment(1);
    }
    let result = if hit { "hit" } else { "miss" };
    counter!(CACHE_LOOKUPS, "cache" => cache, "result" => result).increment(1);
}

/// An event was published to the bus (`published`) or received from it.
pub fn bus_event(direction: &'static str) {
    counter!(BUS_EVENTS, "direction" => direction).increment(1);
}

/// A message another core stored arrived here `lag` after its commit.
pub fn bus_lag(lag: Duration) {
    histogram!(BUS_LAG).record(lag);
}

/// The words of `messages` more messages were indexed.
pub fn words_indexed(messages: u64) {
    counter!(WORDS_INDEXED).increment(messages);
}
