//! The WebSocket close codes the edge uses, and the close frames it sends:
//! each tells the client what happened and what to do (reconnect, refresh
//! its credential, retry later).

use messenger_proto::v1::{EndReason, SessionEnded};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

/// The edge is shutting down, or the client stopped answering pings.
pub const GOING_AWAY: u16 = 1001;
/// A frame was beyond the hard size limit and was not read.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The core failed unexpectedly.
pub const INTERNAL_ERROR: u16 = 1011;
/// The core went away during the session (restart, crash): reconnect.
pub const SERVICE_RESTART: u16 = 1012;
/// The core could not be reached when the connection opened: retry later.
pub const TRY_AGAIN_LATER: u16 = 1013;
/// The login the connection was opened with was revoked (logout).
pub const LOGGED_OUT: u16 = 4001;
/// The credential the connection was opened with expired: refresh it
/// and reconnect.
pub const EXPIRED: u16 = 4002;
/// The client did not log in within `WS_LOGIN_TIMEOUT_MS`.
pub const LOGIN_TIMEOUT: u16 = 4003;
/// The client read too slowly: its queue on the core filled up, or a
/// frame waited longer than the write timeout.
pub const SLOW_CONSUMER: u16 = 4008;

/// A close code and its reason.
pub(super) type Close = (u16, String);

/// The close frame for `code` and `reason` (counted by code).
pub(super) fn close_frame(code: u16, reason: String) -> Message {
    crate::telemetry::closed(code);
    Message::Close(Some(CloseFrame {
        code: code.into(),
        reason: reason.into(),
    }))
}

/// The close code and reason for a session the core ended.
pub(super) fn ended_close(ended: &SessionEnded) -> Close {
    match ended.reason() {
        EndReason::LoggedOut => (LOGGED_OUT, "logged out".into()),
        EndReason::SlowConsumer => (
            SLOW_CONSUMER,
            "slow consumer: reconnect and read history".into(),
        ),
        EndReason::ServerShutdown | EndReason::Error => {
            (SERVICE_RESTART, "core unavailable, reconnect".into())
        }
        EndReason::TimedOut => (GOING_AWAY, "ping timeout".into()),
        EndReason::Expired => (EXPIRED, "credential expired".into()),
        EndReason::Overloaded => (TRY_AGAIN_LATER, "too many connections, retry later".into()),
        reason @ (EndReason::Unspecified | EndReason::ClientClosed | EndReason::SwitchedUser) => {
            tracing::error!(?reason, message = %ended.message, "core ended a session");
            (INTERNAL_ERROR, "internal error".into())
        }
    }
}

/// A frame beyond the hard limit is not read; the socket is closed with 1009.
pub(super) fn read_error_close(error: &tungstenite::Error) -> Option<Close> {
    tracing::debug!(%error, "WebSocket read failed");
    matches!(error, tungstenite::Error::Capacity(_))
        .then(|| (MESSAGE_TOO_BIG, "frame too large".into()))
}
