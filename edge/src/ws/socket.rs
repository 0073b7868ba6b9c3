//! One WebSocket connection: its session on the core, the loop that relays
//! frames both ways, and the writes to the client (batched, timed out for a
//! slow consumer).

use super::about::About;
use super::admission::Places;
use super::close_codes::{self, Close, close_frame, ended_close, read_error_close};
use super::link::{LinkSession, Links, Next};
use super::session_move::Carry;
use super::upgrade::Socket;
use super::{frames, translate};
use crate::auth::Caller;
use crate::server::Peer;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use messenger_proto::v1::ClientOperation;
use messenger_proto::v1::Resumable;
use messenger_proto::v1::{EndReason, SessionEnded};
use startup::traces::{SpanKind, Traces};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Settings of every connection.
#[derive(Clone)]
pub(super) struct ConnectionSettings {
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

/// How long the edge tries to say goodbye to a client it disconnects.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a connection needs besides its socket.
pub(super) struct Pending {
    pub(super) settings: ConnectionSettings,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) caller: Caller,
    pub(super) places: Places,
    /// Its TCP connection's places under the per-address caps.
    pub(super) peer: Option<Peer>,
}

/// One open connection: the socket's halves and its session on the core.
pub(super) struct Connection {
    sink: SplitSink<Socket, Message>,
    source: SplitStream<Socket>,
    session: LinkSession,
    /// Who connected (address and agent, for a session opened again).
    caller: Caller,
    /// What moving the session to another core takes.
    carry: Carry,
    settings: ConnectionSettings,
    shutdown: watch::Receiver<bool>,
    places: Places,
    peer: Option<Peer>,
}

/// Runs one WebSocket connection until either side ends it.
///
/// Opening it (joining the link, maybe opening it) runs in a
/// boxed future that is gone once the connection is open, so the task an
/// idle socket keeps holds only what the open connection waits on. The
/// connection itself is boxed too: a value moved from a local into the
/// future awaited after it still keeps its slot in the task, which would
/// hold the connection twice.
pub(super) fn run(socket: Socket, pending: Box<Pending>) -> impl Future<Output = ()> + Send {
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
    let Some(session) = settings.links.join(&caller, None).await else {
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
        carry: Carry::default(),
        settings,
        shutdown,
        places,
        peer,
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
        crate::telemetry::ended(self.carry.logged_in());
        Box::pin(say_goodbye(self.sink, close)).await;
    }

    /// The frames to write for `text` and whatever else is queued (up to
    /// [`WRITE_BATCH`]), each noted in what the session carries.
    fn batch(&mut self, text: Utf8Bytes, about: &About) -> Vec<Utf8Bytes> {
        self.carry.wrote(about);
        let mut batch = vec![text];
        while batch.len() < WRITE_BATCH {
            let Some((text, about)) = self.session.try_next_frame() else {
                break;
            };
            self.carry.wrote(&about);
            batch.push(text);
        }
        batch
    }

    /// Sends one of the client's operations to the core. Its span (when
    /// traces are on) only hands it over; the core's span for it continues
    /// the trace (as does the core's for a resent copy).
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
        self.carry.sent(&operation);
        self.session.send(operation);
    }

    /// Keeps the core's `resumable`; the first one means the client logged
    /// in, and the connection no longer counts as anonymous.
    fn keep(&mut self, resumable: Resumable) {
        self.places.anonymous = None;
        if let Some(peer) = &self.peer {
            peer.logged_in();
        }
        if self.carry.keep(resumable) {
            crate::telemetry::logged_in();
        }
    }

    /// Opens the session again on another core and catches it up, keeping
    /// the WebSocket; false when it cannot be (not logged in, or no core
    /// takes it). Awaited boxed: it may open a link to a core, a future of
    /// some 800 bytes that every idle socket's task would otherwise keep
    /// room for.
    async fn move_session(&mut self) -> bool {
        let Some((token, moving)) = self.carry.moving() else {
            return false;
        };
        let caller = self.caller.with_token(token);
        let Some(session) = self.settings.links.join(&caller, Some(moving)).await else {
            return false;
        };
        tracing::info!("session moved to another core");
        self.session = session;
        true
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
                incoming = self.source.next(), if self.session.has_room() => match incoming {
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
                        let batch = self.batch(text, &about);
                        if let Err(failed) = write_batch(&mut self.sink, batch, settings).await {
                            return failed.close();
                        }
                    }
                    Next::Resumable(resumable) => self.keep(*resumable),
                    Next::Room => {}
                    // Stopping together with the core (one process): the
                    // client hears that this server is going away.
                    Next::Ended(_) | Next::LinkEnded if *self.shutdown.borrow() => {
                        return Some(shutting_down());
                    }
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
                () = &mut login_deadline, if !self.carry.logged_in() => {
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
                () = stopping(&mut self.shutdown) => return Some(shutting_down()),
            }
        }
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
/// The close for a socket this edge ends because it is shutting down.
fn shutting_down() -> Close {
    (close_codes::GOING_AWAY, "server shutting down".into())
}

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
