//! Who gets a WebSocket: the edge's connection budget (all sockets, and
//! those not logged in yet), and the cross-site guard on cookies.

use crate::auth::{Caller, Source};
use crate::error::ApiError;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use warp::Rejection;

/// Cross-site WebSocket hijacking guard: a browser sends the cookie with
/// any page's upgrade, so a cookie only counts from the edge's own origin
/// (checked before) or an allowed one. Clients that send no `Origin` are
/// not browsers and pass.
pub(super) fn check_origin(
    caller: &Caller,
    origin: Option<&str>,
    allowed: &[String],
) -> Result<(), Rejection> {
    let from_cookie = caller
        .credential
        .as_ref()
        .is_some_and(|credential| credential.source == Source::Cookie);
    let Some(origin) = origin.filter(|_| from_cookie) else {
        return Ok(());
    };
    let origin = origin.trim_end_matches('/').to_lowercase();
    if allowed.contains(&origin) {
        Ok(())
    } else {
        Err(warp::reject::custom(ApiError::Forbidden(format!(
            "origin {origin} may not use the session cookie"
        ))))
    }
}

/// The WebSockets the edge takes: `MAX_CONNECTIONS` in all, of which at
/// most `MAX_ANONYMOUS_CONNECTIONS` not logged in, so that sockets that
/// never log in cannot take the places of those that do.
#[derive(Clone)]
pub(super) struct Budget {
    pub(super) connections: Arc<Semaphore>,
    pub(super) anonymous: Arc<Semaphore>,
}

/// A connection's places in the [`Budget`].
pub(super) struct Places {
    _connection: OwnedSemaphorePermit,
    /// Given back when the connection logs in.
    pub(super) anonymous: Option<OwnedSemaphorePermit>,
}

impl Budget {
    /// Places for a new connection of `caller`: a credential on the upgrade
    /// logs it in from the start; without one it is anonymous until its
    /// login frame succeeds.
    pub(super) fn take(&self, caller: &Caller) -> Result<Places, ApiError> {
        let connection = self
            .connections
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::TooManyConnections)?;
        let anonymous = match caller.credential {
            Some(_) => None,
            None => Some(
                self.anonymous
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| ApiError::TooManyConnections)?,
            ),
        };
        Ok(Places {
            _connection: connection,
            anonymous,
        })
    }
}
