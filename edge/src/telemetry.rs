//! The edge's metrics (see `core_service::telemetry` for the conventions):
//! its WebSockets, how they were closed, and the frames it refused itself.

use metrics::{Gauge, counter, gauge};
use std::sync::LazyLock;

pub const CONNECTIONS: &str = "messenger_edge_connections";
pub const CLOSES: &str = "messenger_edge_closes_total";
pub const FRAME_ERRORS: &str = "messenger_edge_frame_errors_total";

/// Every metric the edge records.
pub const NAMES: [&str; 3] = [CONNECTIONS, CLOSES, FRAME_ERRORS];

static ANONYMOUS: LazyLock<Gauge> = LazyLock::new(|| gauge!(CONNECTIONS, "state" => "anonymous"));
static LOGGED_IN: LazyLock<Gauge> = LazyLock::new(|| gauge!(CONNECTIONS, "state" => "logged_in"));

/// A WebSocket's session opened; it is not logged in yet.
pub fn opened() {
    ANONYMOUS.increment(1.0);
}

/// A WebSocket's client logged in (or its credential did, on opening).
pub fn logged_in() {
    ANONYMOUS.decrement(1.0);
    LOGGED_IN.increment(1.0);
}

/// A WebSocket's session ended, logged in or not.
pub fn ended(logged_in: bool) {
    if logged_in {
        LOGGED_IN.decrement(1.0);
    } else {
        ANONYMOUS.decrement(1.0);
    }
}

/// The edge closed a WebSocket with `code` (the documented close codes).
pub fn closed(code: u16) {
    counter!(CLOSES, "code" => code.to_string()).increment(1);
}

/// The edge refused a client frame with `code` (the frame error codes).
pub fn frame_error(code: &'static str) {
    counter!(FRAME_ERRORS, "code" => code).increment(1);
}
