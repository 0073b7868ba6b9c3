//! `run`: many connections send to their chats for a while; every ack and
//! every delivery is checked against the ledger.

use crate::connections::Connection;
use crate::dataset::Directory;
use crate::latency::Latencies;
use crate::ledger::{Ledger, Tally};
use crate::timeline::{Event, Second, Timeline};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Most un-acked messages a fixed-rate connection lets pile up before it
/// stops adding more (the server is not keeping up).
const MAX_IN_FLIGHT: usize = 1000;

/// How the connections send.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Each connection sends this many messages per second.
    Rate(f64),
    /// Each connection keeps this many messages un-acked.
    Window(usize),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub pace: Pace,
    pub duration: Duration,
    /// How long to wait for the last acks and deliveries after sending stops.
    pub drain: Duration,
    /// Length of each message's text.
    pub text_bytes: usize,
}

/// What a run measured.
pub struct Outcome {
    pub tally: Tally,
    pub error_frames: u64,
    pub disconnects: u64,
    pub foreign_messages: u64,
    pub ack_latency: Latencies,
    pub delivery_latency: Latencies,
    pub seconds: Vec<Second>,
    /// From the first send to the moment sending stopped.
    pub sending_seconds: f64,
}

type Sink = SplitSink<crate::client::Socket, Message>;

/// Shared by every connection task.
struct Context {
    settings: Settings,
    directory: Directory,
    /// Connections that should receive a message sent to each chat, the
    /// sending connection included.
    listeners: HashMap<Uuid, u32>,
    ledger: Ledger,
    timeline: Timeline,
    error_frames: AtomicU64,
    disconnects: AtomicU64,
    foreign_messages: AtomicU64,
    sending: watch::Receiver<bool>,
    finish: watch::Receiver<bool>,
}

/// Runs the load on the already logged-in `connections`.
pub async fn run(
    connections: Vec<Connection>,
    directory: Directory,
    settings: Settings,
) -> Outcome {
    let (sending_tx, sending) = watch::channel(true);
    let (finish_tx, finish) = watch::channel(false);
    let start = Instant::now();
    let timeline_seconds = (settings.duration + settings.drain).as_secs() as usize + 2;
    let context = Arc::new(Context {
        listeners: listeners(&connections, &directory),
        directory,
        ledger: Ledger::new(),
        timeline: Timeline::new(start, timeline_seconds),
        error_frames: AtomicU64::new(0),
        disconnects: AtomicU64::new(0),
        foreign_messages: AtomicU64::new(0),
        sending,
        finish,
        settings,
    });
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|connection| tokio::spawn(drive(connection, context.clone())))
        .collect();
    let progress = tokio::spawn(show_progress(context.clone(), start));
    tokio::time::sleep(context.settings.duration).await;
    let _ = sending_tx.send(false);
    let sending_seconds = start.elapsed().as_secs_f64();
    drain(&context).await;
    let _ = finish_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    progress.abort();
    let (ack_latency, delivery_latency) = context.ledger.latencies();
    Outcome {
        tally: context.ledger.tally(),
        error_frames: context.error_frames.load(Ordering::Relaxed),
        disconnects: context.disconnects.load(Ordering::Relaxed),
        foreign_messages: context.foreign_messages.load(Ordering::Relaxed),
        ack_latency,
        delivery_latency,
        seconds: context.timeline.seconds(),
        sending_seconds,
    }
}

/// Per chat: how many of the connections belong to its members.
fn listeners(connections: &[Connection], directory: &Directory) -> HashMap<Uuid, u32> {
    let mut per_user = vec![0u32; directory.users.len()];
    for connection in connections {
        per_user[connection.user] += 1;
    }
    directory
        .chat_members
        .iter()
        .map(|(chat, members)| (*chat, members.iter().map(|&m| per_user[m]).sum()))
        .collect()
}

/// Waits until every message is acked and delivered, or the drain time is up.
async fn drain(context: &Context) {
    let deadline = Instant::now() + context.settings.drain;
    while Instant::now() < deadline {
        if context.ledger.unacked() == 0 && context.ledger.outstanding() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn show_progress(context: Arc<Context>, start: Instant) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.tick().await;
    let mut last = (0, 0, 0);
    loop {
        every.tick().await;
        let now = context.timeline.totals();
        eprintln!(
            "  {:>4.0} s  sent {:>7}/s  acked {:>7}/s  delivered {:>7}/s  in flight {:>6}  errors {}  disconnects {}",
            start.elapsed().as_secs_f64(),
            now.0 - last.0,
            now.1 - last.1,
            now.2 - last.2,
            now.0.saturating_sub(now.1),
            context.error_frames.load(Ordering::Relaxed),
            context.disconnects.load(Ordering::Relaxed),
        );
        last = now;
    }
}

/// One connection's state while it runs.
struct Sender {
    index: u32,
    sender_id: Uuid,
    chats: Vec<Uuid>,
    next_chat: usize,
    in_flight: usize,
    sending: bool,
}

async fn drive(connection: Connection, context: Arc<Context>) {
    let (mut sink, mut stream) = connection.socket.split();
    let chats = context.directory.chats_of[connection.user].clone();
    let mut sender = Sender {
        index: connection.index,
        sender_id: context.directory.users[connection.user].id,
        sending: !chats.is_empty(),
        next_chat: connection.index as usize,
        chats,
        in_flight: 0,
    };
    let mut ticker = ticker(context.settings.pace);
    if let Pace::Window(window) = context.settings.pace {
        for _ in 0..window {
            if sender.send(&context, &mut sink).await.is_err() {
                break;
            }
        }
    }
    let (mut sending, mut finish) = (context.sending.clone(), context.finish.clone());
    let ended = loop {
        tokio::select! {
            frame = stream.next() => {
                if !receive(frame, &mut sender, &context, &mut sink).await {
                    break false;
                }
            }
            _ = tick(&mut ticker), if sender.sending && sender.in_flight < MAX_IN_FLIGHT => {
                if sender.send(&context, &mut sink).await.is_err() {
                    break false;
                }
            }
            _ = sending.changed(), if sender.sending => sender.sending = *sending.borrow(),
            _ = finish.changed() => break true,
        }
    };
    if ended {
        let _ = sink.send(Message::Close(None)).await;
        // Read until the server's close so no frame is cut off mid-way.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
    } else {
        context.disconnects.fetch_add(1, Ordering::Relaxed);
    }
}

fn ticker(pace: Pace) -> Option<Interval> {
    let Pace::Rate(rate) = pace else {
        return None;
    };
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    // Spread the connections' first sends over one period.
    let offset = period.mul_f64(rand::random::<f64>());
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    Some(interval)
}

async fn tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl Sender {
    async fn send(&mut self, context: &Context, sink: &mut Sink) -> Result<(), ()> {
        if !self.sending {
            return Ok(());
        }
        let chat = self.chats[self.next_chat % self.chats.len()];
        self.next_chat += 1;
        let client_id = Uuid::new_v4();
        let frame = send_frame(client_id, self.sender_id, chat, context.settings.text_bytes);
        let expected = context.listeners.get(&chat).copied().unwrap_or(1) - 1;
        let now = Instant::now();
        context.ledger.sent(client_id, expected, now);
        context.timeline.record(Event::Sent, now);
        self.in_flight += 1;
        sink.send(Message::text(frame)).await.map_err(|_| ())
    }
}

/// A send frame whose text starts with its client id, so that every
/// delivery can be matched to its send; written now, as a client says.
pub fn send_frame(client_id: Uuid, sender_id: Uuid, chat_id: Uuid, text_bytes: usize) -> String {
    let padding = "x".repeat(text_bytes.saturating_sub(37));
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    format!(
        r#"{{"client_id":"{client_id}","sender_id":"{sender_id}","chat_id":"{chat_id}","timestamp":"{now}","text":"{client_id} {padding}"}}"#
    )
}

/// The fields of server frames a run looks at.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    client_id: Option<Uuid>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

/// The client id a delivered message's text starts with.
pub fn client_id_in(text: &str) -> Option<Uuid> {
    text.get(..36).and_then(|id| Uuid::parse_str(id).ok())
}

/// Handles one incoming frame; false when the connection is gone.
async fn receive(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    sender: &mut Sender,
    context: &Context,
    sink: &mut Sink,
) -> bool {
    let text = match frame {
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return false,
        Some(Ok(_)) => return true,
    };
    let now = Instant::now();
    let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
        context.error_frames.fetch_add(1, Ordering::Relaxed);
        return true;
    };
    match frame.kind.as_ref() {
        "message_ack" => {
            if let Some(id) = frame.client_id {
                context.ledger.acked(id, now);
                context.timeline.record(Event::Acked, now);
            }
            sender.in_flight = sender.in_flight.saturating_sub(1);
            if matches!(context.settings.pace, Pace::Window(_)) {
                return sender.send(context, sink).await.is_ok();
            }
        }
        "message" => match frame.text.as_deref().and_then(client_id_in) {
            Some(id) => {
                context.ledger.delivered(id, sender.index, now);
                context.timeline.record(Event::Delivered, now);
            }
            None => {
                context.foreign_messages.fetch_add(1, Ordering::Relaxed);
            }
        },
        "error" => {
            context.error_frames.fetch_add(1, Ordering::Relaxed);
            if frame.client_id.is_some() {
                sender.in_flight = sender.in_flight.saturating_sub(1);
            }
        }
        _ => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_frame_is_valid_json_and_names_its_client_id() {
        let (client, sender, chat) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let frame: serde_json::Value =
            serde_json::from_str(&send_frame(client, sender, chat, 100)).unwrap();
        let text = frame["text"].as_str().unwrap();
        assert_eq!(text.len(), 100);
        assert_eq!(client_id_in(text), Some(client));
        assert_eq!(frame["client_id"], client.to_string());
        assert_eq!(frame["sender_id"], sender.to_string());
        assert_eq!(frame["chat_id"], chat.to_string());
    }

    #[test]
    fn short_texts_still_carry_the_id() {
        let client = Uuid::new_v4();
        let frame: serde_json::Value =
            serde_json::from_str(&send_frame(client, client, client, 0)).unwrap();
        assert_eq!(client_id_in(frame["text"].as_str().unwrap()), Some(client));
    }

    #[test]
    fn texts_of_other_clients_are_not_mistaken_for_ours() {
        assert_eq!(client_id_in("hello"), None);
        assert_eq!(client_id_in("not-a-uuid-but-thirty-six-characters!!"), None);
    }

    #[test]
    fn server_frames_parse_borrowed_or_escaped() {
        let frame: Frame =
            serde_json::from_str(r#"{"type":"message","text":"a\"b","id":"x"}"#).unwrap();
        assert_eq!(frame.kind, "message");
        assert_eq!(frame.text.as_deref(), Some("a\"b"));
        assert!(frame.client_id.is_none());
    }
}
