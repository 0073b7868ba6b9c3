//! `GET /ws`: one WebSocket connection = one session on the core, on the
//! edge's link (see [`link`]).
//!
//! Text frames are parsed here and sent up the link as the session's
//! operations; the core's events come down it, made into JSON once per
//! edge, and are written back. Frames the edge cannot parse are answered
//! with an error frame and the connection stays open. When its core goes
//! away, a logged-in socket moves to another core (see [`resume`]); when
//! no core can be reached, the socket is closed with a close code that
//! tells the client what happened (see [`close_codes`]).

pub mod frames;
pub mod link;
pub mod resume;
pub mod translate;
pub mod upgrade;

use crate::auth::{Caller, Source, caller};
use crate::config::EdgeConfig;
use crate::core_client::Cores;
use crate::error::{ApiError, Detail};
use crate::openapi::Document;
use crate::origin::is_own;
use crate::server::Peer;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use link::{LinkSession, Links, Next};
use messenger_proto::LINK_OPERATION_WINDOW;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::{AuthenticateRequest, EndReason, SessionEnded};
use messenger_proto::v1::{ClientOperation, Resumable, Sync, WatchPresence};
use resume::{About, Resume, Unanswered};
use startup::traces::{SpanKind, Traces};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use upgrade::{Socket, Upgrade};
use warp::reply::Response;
use warp::{Filter, Rejection};

/// The WebSocket close codes the edge uses.
pub mod close_codes {
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
}

/// How long the edge tries to say goodbye to a client it disconnects.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Settings of every connection.
#[derive(Clone)]
pub struct ConnectionSettings {
    pub max_frame_bytes: usize,
    pub ping_interval: Duration,
    /// How long a frame may wait to be taken by the client.
    pub write_timeout: Duration,
    /// How long a connection may stay open without logging in.
    pub login_timeout: Duration,
    /// The edge's links to the cores.
    pub links: Arc<Links>,
    /// Where the operations' spans go.
    pub traces: Traces,
}

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

/// Cross-site WebSocket hijacking guard: a browser sends the cookie with
/// any page's upgrade, so a cookie only counts from the edge's own origin
/// (checked before) or an allowed one. Clients that send no `Origin` are
/// not browsers and pass.
fn check_origin(
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
struct Budget {
    connections: Arc<Semaphore>,
    anonymous: Arc<Semaphore>,
}

/// A connection's places in the [`Budget`].
struct Places {
    _connection: OwnedSemaphorePermit,
    /// Given back when the connection logs in.
    anonymous: Option<OwnedSemaphorePermit>,
}

impl Budget {
    /// Places for a new connection of `caller`: a credential on the upgrade
    /// logs it in from the start; without one it is anonymous until its
    /// login frame succeeds.
    fn take(&self, caller: &Caller) -> Result<Places, ApiError> {
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

/// What a connection needs besides its socket.
struct Pending {
    settings: ConnectionSettings,
    shutdown: watch::Receiver<bool>,
    caller: Caller,
    places: Places,
    /// Its TCP connection's place under `MAX_CONNECTIONS_PER_ADDRESS`.
    peer: Option<Peer>,
}

/// One open connection: the socket's halves and its session on the core.
struct Connection {
    sink: SplitSink<Socket, Message>,
    source: SplitStream<Socket>,
    session: LinkSession,
    /// Who connected (address and agent, for a session opened again).
    caller: Caller,
    /// How to move the session to another core, once it logged in.
    resume: Option<Box<Resume>>,
    /// The client's messages not answered yet, by `client_id`: sent again
    /// when the session moves.
    unanswered: Vec<(String, ClientOperation)>,
    /// The client's syncs not done yet, oldest first: sent again when the
    /// session moves (their answers may have gone with the core). At most
    /// [`LINK_OPERATION_WINDOW`]: a refused one is never done, and an older
    /// one than that has been refused.
    syncs: VecDeque<ClientOperation>,
    /// Operations for a session that just moved, waiting for room in its
    /// window; the client is read again once they are all sent.
    resends: VecDeque<ClientOperation>,
    /// The client asked for presence: asked again of the next core.
    watches_presence: bool,
    settings: ConnectionSettings,
    shutdown: watch::Receiver<bool>,
    places: Places,
    _peer: Option<Peer>,
}

/// Runs one WebSocket connection until either side ends it.
///
/// Opening it (joining the link, maybe opening it) runs in a
/// boxed future that is gone once the connection is open, so the task an
/// idle socket keeps holds only what the open connection waits on. The
/// connection itself is boxed too: a value moved from a local into the
/// future awaited after it still keeps its slot in the task, which would
/// hold the connection twice.
fn run(socket: Socket, pending: Box<Pending>) -> impl Future<Output = ()> + Send {
    let opening = Box::pin(open(socket, pending));
    async move {
        let connection = opening.await;
        if let Some(connection) = connection {
            crate::telemetry::opened();
            connection.serve().await;
        }
    }
}

/// Opens the connection's session on the core; `None` (after telling the
/// client) when the core cannot be reached.
async fn open(socket: Socket, pending: Box<Pending>) -> Option<Box<Connection>> {
    let Pending {
        settings,
        shutdown,
        caller,
        places,
        peer,
    } = *pending;
    let (mut sink, source) = socket.split();
    let Some(session) = settings.links.join(&caller).await else {
        tracing::warn!("core unreachable, refusing WebSocket session");
        let close = (
            close_codes::TRY_AGAIN_LATER,
            "core unavailable, retry later",
        );
        let _ = sink.send(close_frame(close.0, close.1.into())).await;
        return None;
    };
    Some(Box::new(Connection {
        sink,
        source,
        session,
        caller,
        resume: None,
        unanswered: Vec::new(),
        syncs: VecDeque::new(),
        resends: VecDeque::new(),
        watches_presence: false,
        settings,
        shutdown,
        places,
        _peer: peer,
    }))
}

impl Connection {
    /// Relays frames both ways until either side ends, then says goodbye.
    async fn serve(mut self: Box<Self>) {
        let close = self.relay().await;
        if close
            .as_ref()
            .is_some_and(|(code, _)| *code == close_codes::SLOW_CONSUMER)
        {
            Box::pin(self.report_slow()).await;
        }
        crate::telemetry::ended(self.resume.is_some());
        Box::pin(say_goodbye(self.sink, close)).await;
    }

    /// Tells the core that this client did not take a frame in time, and
    /// waits (briefly) for the core to end the session, so that it records
    /// why the connection ended before the edge hangs up.
    async fn report_slow(&mut self) {
        self.session.report_slow();
        let ended = async {
            while let Next::Frame(..) | Next::Room | Next::Resumable(_) = self.session.next().await
            {
            }
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, ended).await;
    }

    /// The connection's loop; returns the close frame to send, if any.
    async fn relay(&mut self) -> Option<Close> {
        let interval = self.settings.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + interval, interval);
        let mut last_heard = Instant::now();
        let settings = &self.settings.clone();
        let login_deadline = tokio::time::sleep(settings.login_timeout);
        tokio::pin!(login_deadline);
        loop {
            tokio::select! {
                // While the core has not taken the operations already sent,
                // the client waits (see `link`).
                incoming = self.source.next(), if self.session.has_room() && self.resends.is_empty() => match incoming {
                    Some(Ok(frame)) => {
                        last_heard = Instant::now();
                        if frame.is_close() {
                            return None;
                        }
                        let reply = match handle_frame(frame, settings) {
                            Handled::Operation(operation) => {
                                self.send(operation);
                                None
                            }
                            Handled::Reply(reply) => Some(reply),
                            Handled::Nothing => None,
                        };
                        if let Some(reply) = reply
                            && let Err(failed) = write(&mut self.sink, Message::text(reply), settings).await
                        {
                            return failed.close();
                        }
                    }
                    Some(Err(error)) => return read_error_close(&error),
                    None => return None,
                },
                next = self.session.next() => match next {
                    Next::Frame(text, about) => {
                        // Whatever else is already queued goes out in the same write.
                        let batch = self.batch(text, about);
                        self.resend();
                        if let Err(failed) = write_batch(&mut self.sink, batch, settings).await {
                            return failed.close();
                        }
                    }
                    Next::Resumable(resumable) => self.keep(*resumable),
                    Next::Room => self.resend(),
                    Next::Ended(ended) => {
                        if core_went_away(&ended) && Box::pin(self.move_session()).await {
                            continue;
                        }
                        return Some(ended_close(&ended));
                    }
                    Next::LinkEnded => {
                        if Box::pin(self.move_session()).await {
                            continue;
                        }
                        return Some((close_codes::SERVICE_RESTART, "core link ended, reconnect".into()));
                    }
                },
                () = &mut login_deadline, if self.resume.is_none() => {
                    self.session.end(EndReason::TimedOut);
                    return Some((close_codes::LOGIN_TIMEOUT, "not logged in in time".into()));
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= interval * 2 {
                        self.session.end(EndReason::TimedOut);
                        return Some((close_codes::GOING_AWAY, "ping timeout".into()));
                    }
                    if let Err(failed) = write(&mut self.sink, Message::Ping(Default::default()), settings).await {
                        return failed.close();
                    }
                }
                () = stopping(&mut self.shutdown) => {
                    return Some((close_codes::GOING_AWAY, "server shutting down".into()));
                }
            }
        }
    }
}

impl Connection {
    /// The frames to write for `text` and whatever else is queued (up to
    /// [`WRITE_BATCH`]), as the session's [`Resume`] lets them through.
    fn batch(&mut self, text: Utf8Bytes, about: About) -> Vec<Utf8Bytes> {
        let mut batch = Vec::new();
        self.admit(text, about, &mut batch);
        while batch.len() < WRITE_BATCH {
            let Some((text, about)) = self.session.try_next_frame() else {
                break;
            };
            self.admit(text, about, &mut batch);
        }
        batch
    }

    fn admit(&mut self, text: Utf8Bytes, about: About, batch: &mut Vec<Utf8Bytes>) {
        if let About::Ack { client_id, .. } | About::Refused { client_id } = &about {
            self.unanswered
                .retain(|(id, _)| id.as_str() != &**client_id);
        }
        let unanswered = Unanswered {
            sends: !self.unanswered.is_empty(),
            syncs: !self.syncs.is_empty(),
        };
        // A move's own catch-up ends with a `sync_done` the client never sees.
        let moving = self
            .resume
            .as_ref()
            .is_some_and(|resume| resume.is_moving());
        let sync_done = matches!(about, About::SyncDone);
        match &mut self.resume {
            Some(resume) => resume.admit(text, about, unanswered, batch),
            None => batch.push(text),
        }
        if sync_done && !moving {
            self.syncs.pop_front();
        }
    }

    /// Sends one of the client's operations to the core, keeping a copy of
    /// a message until it is answered. Its span (when traces are on) only
    /// hands it over; the core's span for it continues the trace (as does
    /// the core's for a resent copy).
    fn send(&mut self, mut operation: ClientOperation) {
        if let Some(kind) = &operation.operation
            && let Some(traceparent) = self
                .settings
                .traces
                .start(kind.name(), SpanKind::Producer, None)
                .traceparent()
        {
            operation.traceparent = traceparent;
        }
        match &operation.operation {
            Some(Operation::SendMessage(message)) => self
                .unanswered
                .push((message.client_id.clone(), operation.clone())),
            Some(Operation::WatchPresence(_)) => self.watches_presence = true,
            Some(Operation::Sync(_)) => {
                if self.syncs.len() == LINK_OPERATION_WINDOW as usize {
                    self.syncs.pop_front();
                }
                self.syncs.push_back(operation.clone());
            }
            _ => {}
        }
        self.session.send(operation);
    }

    /// Sends what a move left waiting, as far as the new session's window
    /// goes.
    fn resend(&mut self) {
        while self.session.has_room() {
            let Some(operation) = self.resends.pop_front() else {
                return;
            };
            self.session.send(operation);
        }
    }

    /// Keeps the core's [`Resumable`]: a new one after the client logged
    /// in (again), or the new core's token after a move.
    fn keep(&mut self, resumable: Resumable) {
        // Logged in: the connection no longer counts as anonymous.
        self.places.anonymous = None;
        if self.resume.is_none() {
            crate::telemetry::logged_in();
        }
        match &mut self.resume {
            Some(resume) if resume.is_moving() => resume.renew(resumable),
            _ => self.resume = Some(Box::new(Resume::new(resumable))),
        }
    }

    /// Opens the session again on another core and catches it up, keeping
    /// the WebSocket; false when it cannot be (not logged in, or no core
    /// takes it). Awaited boxed: it may open a link to a core, a future of
    /// some 800 bytes that every idle socket's task would otherwise keep
    /// room for.
    async fn move_session(&mut self) -> bool {
        let Some(resume) = &mut self.resume else {
            return false;
        };
        let caller = self.caller.with_token(resume.token());
        let Some(session) = self.settings.links.join(&caller).await else {
            return false;
        };
        tracing::info!("session moved to another core");
        let since = resume.start_move();
        self.session = session;
        self.resends.clear();
        let unanswered = self.unanswered.iter().map(|(_, operation)| operation);
        self.resends.extend(unanswered.cloned());
        // The new core's `presence_list` shows the client what changed
        // while the session moved.
        if self.watches_presence {
            self.resends
                .push_back(Operation::WatchPresence(WatchPresence {}).into());
        }
        self.resends
            .push_back(Operation::Sync(Sync { since: Some(since) }).into());
        self.resends.extend(self.syncs.iter().cloned());
        self.resend();
        true
    }
}

/// Writes `batch` (if it has anything) to the client with one flush.
async fn write_batch(
    sink: &mut SplitSink<Socket, Message>,
    batch: Vec<Utf8Bytes>,
    settings: &ConnectionSettings,
) -> Result<(), WriteFailed> {
    let mut frames = batch.into_iter().map(Message::Text);
    let Some(first) = frames.next() else {
        return Ok(());
    };
    write_frames(sink, first, || frames.next(), settings).await
}

/// Whether a session ended because its core went away (rather than for
/// something about the session itself).
fn core_went_away(ended: &SessionEnded) -> bool {
    matches!(ended.reason(), EndReason::ServerShutdown | EndReason::Error)
}

/// Sends the close frame, if there is one, and closes the socket.
async fn say_goodbye(mut sink: SplitSink<Socket, Message>, close: Option<Close>) {
    if let Some((code, reason)) = close {
        let goodbye = sink.send(close_frame(code, reason));
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await;
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
}

/// The most frames one write to a client takes from its queue.
const WRITE_BATCH: usize = 64;

/// Why frames could not be written to a client.
enum WriteFailed {
    /// The connection is gone: nothing more can be said on it.
    Gone,
    /// The client did not take the frames within the write timeout.
    TooSlow,
}

impl WriteFailed {
    /// The close frame to end the connection with, if it can take one.
    fn close(self) -> Option<Close> {
        match self {
            WriteFailed::Gone => None,
            WriteFailed::TooSlow => Some((
                close_codes::SLOW_CONSUMER,
                "slow consumer: reconnect and sync".into(),
            )),
        }
    }
}

/// Writes one frame to the client; see [`write_frames`].
async fn write(
    sink: &mut SplitSink<Socket, Message>,
    frame: Message,
    settings: &ConnectionSettings,
) -> Result<(), WriteFailed> {
    write_frames(sink, frame, || None, settings).await
}

/// Writes `first` and up to [`WRITE_BATCH`] − 1 frames from `more` to the
/// client with one flush, so frames queued together cost one system call.
/// Fails when the client is gone, or has not taken the frames within the
/// write timeout (a slow consumer). The timeout keeps a stalled client from holding the core's
/// stream (and its share of the HTTP/2 connection to the core) for long.
async fn write_frames(
    sink: &mut SplitSink<Socket, Message>,
    first: Message,
    mut more: impl FnMut() -> Option<Message>,
    settings: &ConnectionSettings,
) -> Result<(), WriteFailed> {
    let writing = async {
        sink.feed(first).await?;
        for _ in 1..WRITE_BATCH {
            let Some(frame) = more() else { break };
            sink.feed(frame).await?;
        }
        sink.flush().await
    };
    let mut writing = std::pin::pin!(writing);
    // Nearly every write completes at once; only one that has to wait for
    // the client pays for a timer.
    // Boxed, as it is rare and its timer is large: an idle socket's task
    // keeps room for the largest future it may await.
    let written = match writing.as_mut().now_or_never() {
        Some(written) => Ok(written),
        None => Box::pin(tokio::time::timeout(settings.write_timeout, writing)).await,
    };
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(WriteFailed::Gone),
        Err(_) => Err(WriteFailed::TooSlow),
    }
}

/// Completes once the edge starts shutting down.
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Parses one client frame: the operation for the core, or the error
/// frame to send back when the frame was refused.
fn handle_frame(frame: Message, settings: &ConnectionSettings) -> Handled {
    let text = match &frame {
        Message::Text(text) => text.as_str(),
        Message::Binary(_) => {
            return Handled::Reply(translate::frame_error_json(&frames::FrameError::binary()));
        }
        _ => return Handled::Nothing,
    };
    if text.len() > settings.max_frame_bytes {
        let error = frames::FrameError::too_large(settings.max_frame_bytes);
        return Handled::Reply(translate::frame_error_json(&error));
    }
    match frames::parse(text) {
        Ok(frame) => Handled::Operation(translate::operation(frame)),
        Err(error) => Handled::Reply(translate::frame_error_json(&error)),
    }
}

/// What a client frame comes to.
enum Handled {
    /// An operation for the core.
    Operation(ClientOperation),
    /// An error frame to send back: the frame was refused.
    Reply(String),
    /// Nothing (a control frame).
    Nothing,
}

type Close = (u16, String);

fn close_frame(code: u16, reason: String) -> Message {
    crate::telemetry::closed(code);
    Message::Close(Some(CloseFrame {
        code: code.into(),
        reason: reason.into(),
    }))
}

/// The close code and reason for a session the core ended.
fn ended_close(ended: &SessionEnded) -> Close {
    match ended.reason() {
        EndReason::LoggedOut => (close_codes::LOGGED_OUT, "logged out".into()),
        EndReason::SlowConsumer => (
            close_codes::SLOW_CONSUMER,
            "slow consumer: reconnect and read history".into(),
        ),
        EndReason::ServerShutdown | EndReason::Error => (
            close_codes::SERVICE_RESTART,
            "core unavailable, reconnect".into(),
        ),
        EndReason::TimedOut => (close_codes::GOING_AWAY, "ping timeout".into()),
        EndReason::Expired => (close_codes::EXPIRED, "credential expired".into()),
        EndReason::Overloaded => (
            close_codes::TRY_AGAIN_LATER,
            "too many connections, retry later".into(),
        ),
        reason @ (EndReason::Unspecified | EndReason::ClientClosed | EndReason::SwitchedUser) => {
            tracing::error!(?reason, message = %ended.message, "core ended a session");
            (close_codes::INTERNAL_ERROR, "internal error".into())
        }
    }
}

/// A frame beyond the hard limit is not read; the socket is closed with 1009.
fn read_error_close(error: &tungstenite::Error) -> Option<Close> {
    tracing::debug!(%error, "WebSocket read failed");
    matches!(error, tungstenite::Error::Capacity(_))
        .then(|| (close_codes::MESSAGE_TOO_BIG, "frame too large".into()))
}
