//! `GET /ws`: one WebSocket connection = one session on the core, on the
//! edge's link (see [`link`]).
//!
//! Text frames are parsed ([`frames`]) and sent up the link as the
//! session's operations ([`translate`]); the core's events come down it,
//! made into JSON once per edge, and are written back (`socket`). Frames
//! the edge cannot parse are answered with an error frame and the
//! connection stays open. When its core goes away, a logged-in socket moves
//! to another core with what it carries (`session_move`); when no core can be
//! reached, the socket is closed with a close code that tells the client
//! what happened ([`close_codes`]). Who gets a socket at all is
//! `admission`'s; the handshake is [`upgrade`]'s.

pub mod about;
mod admission;
pub mod close_codes;
pub mod frames;
pub mod link;
mod session_move;
mod socket;
pub mod translate;
pub mod upgrade;

use crate::auth::{Caller, caller};
use crate::config::EdgeConfig;
use crate::core_client::Cores;
use crate::error::{ApiError, Detail};
use crate::openapi::Document;
use crate::origin::is_own;
use crate::server::Peer;
use admission::{Budget, check_origin};
use link::Links;
use messenger_proto::v1::AuthenticateRequest;
use socket::{ConnectionSettings, Pending, run};
use startup::traces::Traces;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use upgrade::Upgrade;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// `GET /ws`: upgrades while fewer than `max_connections` are open. With a
/// credential (cookie or bearer) the connection is logged in from the start;
/// a cookie is only honoured from an allowed `Origin`.
#[utoipa::path(
    get,
    path = "/ws",
    description = "Upgrade to a WebSocket and exchange JSON text frames: login, send message, \
        create group and message seen from the client; auth_success, message, message_ack, \
        group_created, message_seen and error from the server. See /docs. A session cookie or \
        bearer token on the upgrade logs the connection in from the start (first frame \
        auth_success); an invalid one is refused with 401, and a cookie from an Origin outside \
        ALLOWED_ORIGINS with 403. Additions: {\"type\":\"sync\",\"since\":<cursor>} catches up \
        on every chat and ends with {\"type\":\"sync_done\",\"cursor\":{...}}; message frames and \
        acks carry seq; a retried client_id is acked with the first message's id; \
        {\"type\":\"watch_presence\"}, {\"type\":\"leave_group\",\"chat_id\":…} and \
        {\"type\":\"block_user\"|\"unblock_user\",\"user_id\":…} (see /docs and docs/protocol.md).",
    responses(
        (status = 101, description = "Switching protocols"),
        (status = 400, description = "Not a WebSocket upgrade", body = Detail),
        (status = 401, description = "The credential given is invalid, expired or revoked",
            body = Detail),
        (status = 403, description = "A cookie from an origin that is not allowed", body = Detail),
        (status = 503, description = "The edge is full, or the core is unavailable", body = Detail),
    )
)]
pub fn route(
    document: &mut Document,
    config: &EdgeConfig,
    origins: Arc<Vec<String>>,
    scheme: &'static str,
    cores: Arc<Cores>,
    shutdown: watch::Receiver<bool>,
    traces: Traces,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + use<> {
    let settings = ConnectionSettings {
        traces,
        max_frame_bytes: config.max_frame_bytes,
        ping_interval: Duration::from_millis(config.ws_ping_interval_ms.max(1)),
        write_timeout: Duration::from_millis(config.ws_write_timeout_ms.max(1)),
        login_timeout: Duration::from_millis(config.ws_login_timeout_ms.max(1)),
        links: Arc::new(Links::new(
            cores.clone(),
            config.edge_name().into(),
            config.ws_queue,
            shutdown.clone(),
        )),
    };
    if cores.count() > 1 {
        settings.links.watch_down_cores(shutdown.clone());
    }
    let hard_limit = config.hard_frame_limit();
    let budget = Budget {
        connections: Arc::new(Semaphore::new(config.max_connections)),
        anonymous: Arc::new(Semaphore::new(
            config.max_anonymous_connections.min(config.max_connections),
        )),
    };
    document
        .route::<__path_route>()
        .and(upgrade::upgrade())
        // The upgrade gets no span: each operation gets one.
        .and(caller(config.cookie_secure(), Traces::default()))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("host"))
        .and(warp::ext::optional::<Peer>())
        .and_then(
            move |upgrade: Upgrade,
                  caller: Caller,
                  origin: Option<String>,
                  host: Option<String>,
                  peer: Option<Peer>| {
                let places = budget.take(&caller);
                let (cores, shutdown) = (cores.clone(), shutdown.clone());
                let origins = origins.clone();
                let settings = settings.clone();
                async move {
                    let places = places.map_err(warp::reject::custom)?;
                    let own = origin
                        .as_deref()
                        .is_some_and(|origin| is_own(origin, host.as_deref(), scheme));
                    if !own {
                        check_origin(&caller, origin.as_deref(), &origins)?;
                    }
                    if caller.credential.is_some() {
                        cores
                            .pick()
                            .authenticate(caller.request(AuthenticateRequest {}))
                            .await
                            .map_err(|status| {
                                warp::reject::custom(ApiError::from_status(&status, "header"))
                            })?;
                    }
                    let pending = Box::new(Pending {
                        settings,
                        shutdown,
                        caller,
                        places,
                        peer,
                    });
                    Ok::<_, Rejection>(
                        upgrade.on_upgrade(hard_limit, move |socket| run(socket, pending)),
                    )
                }
            },
        )
}
