//! One soak client: a user's device that behaves as a correct client must.
//! It logs in (keeping its OAuth tokens), sends at its pace, keeps every message until it is acked,
//! and when its connection breaks it reconnects with backoff, catches up
//! with `sync` from its cursor and sends the un-acked messages again with
//! the same `client_id`. It drops the copies it already had (by id) and
//! records the rest in the ledger.

use super::ledger::{Ack, Ledger};
use crate::client::{self, Server, Socket};
use demo_data::DemoUser;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::{self, Message};
use uuid::Uuid;

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A send answered with an error is tried again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Something done to a client from outside: the faults on the client side.
#[derive(Debug, Clone, Copy)]
pub enum Command {
    /// Drop the connection without a close frame.
    Drop,
    /// Stop reading for this long (a slow consumer).
    Stall(Duration),
}

/// What every client shares.
pub struct Shared {
    pub ledger: Ledger,
    pub http: reqwest::Client,
    pub servers: Vec<Server>,
    /// Messages per second per client.
    pub rate: f64,
    /// Most un-acked messages a client keeps before it stops sending new
    /// ones.
    pub window: usize,
    /// True while clients send new messages.
    pub sending: watch::Receiver<bool>,
    /// Set once sending stopped and every message is acked: catch up one
    /// last time, and end.
    pub finishing: watch::Receiver<bool>,
    /// Clients that have logged in at least once.
    pub connected: AtomicUsize,
}

impl Shared {
    pub fn connected(&self) -> usize {
        self.connected.load(Ordering::Relaxed)
    }
}

/// A message waiting for its ack.
struct Pending {
    client_id: Uuid,
    chat: Uuid,
    text: String,
    /// Not before then (after an error).
    due: Instant,
    /// When it was first sent.
    first_sent: Instant,
}

/// How one connection ended.
enum End {
    /// The client finished: everything acked, caught up.
    Done,
    /// The connection broke, or was dropped on purpose.
    Broken,
}

pub struct Client {
    pub user: usize,
    me: DemoUser,
    chats: Vec<Uuid>,
    /// The seq up to which each chat is known to be complete: the `sync`
    /// cursor.
    cursor: BTreeMap<Uuid, u64>,
    /// Seqs received past a chat's cursor, not yet next to it.
    ahead: HashMap<Uuid, BTreeSet<u64>>,
    /// In the order they were first sent.
    unacked: BTreeMap<u64, Pending>,
    order_of: HashMap<Uuid, u64>,
    /// The chat of every message sent, by `client_id` (acks do not say).
    chat_of: HashMap<Uuid, Uuid>,
    next: u64,
    /// Times the client connected again.
    pub reconnects: u64,
    credential: Option<Credential>,
}

/// A client's OAuth tokens.
struct Credential {
    access: String,
    refresh: String,
}

/// An OAuth grant (`form`): the tokens it gives.
async fn grant(
    http: &reqwest::Client,
    server: &Server,
    form: &[(&str, &str)],
) -> Result<Credential, client::ClientError> {
    let failed = |error: String| client::ClientError::Token(error);
    let response = http
        .post(format!("{}/oauth/token", server.http))
        .form(form)
        .send()
        .await
        .map_err(|error| failed(error.to_string()))?;
    let body: Value = response
        .json()
        .await
        .map_err(|error| failed(error.to_string()))?;
    match (
        body["access_token"].as_str(),
        body["refresh_token"].as_str(),
    ) {
        (Some(access), Some(refresh)) => Ok(Credential {
            access: access.to_owned(),
            refresh: refresh.to_owned(),
        }),
        _ => Err(failed(body.to_string())),
    }
}

impl Client {
    pub fn new(user: usize, me: DemoUser, chats: Vec<Uuid>) -> Client {
        Client {
            user,
            me,
            chats,
            cursor: BTreeMap::new(),
            ahead: HashMap::new(),
            unacked: BTreeMap::new(),
            order_of: HashMap::new(),
            chat_of: HashMap::new(),
            next: 0,
            reconnects: 0,
            credential: None,
        }
    }

    /// Runs until sending has stopped and everything it sent is acked and
    /// it has caught up; returns itself for the report.
    pub async fn run(
        mut self,
        shared: Arc<Shared>,
        mut commands: mpsc::Receiver<Command>,
    ) -> Client {
        let mut failures = 0u32;
        let mut first = true;
        loop {
            let server = &shared.servers[(self.user + failures as usize) % shared.servers.len()];
            let Ok(socket) = self.connect(server, &shared.http).await else {
                failures += 1;
                backoff(failures).await;
                continue;
            };
            if first {
                shared.connected.fetch_add(1, Ordering::Relaxed);
            } else {
                self.reconnects += 1;
            }
            first = false;
            failures = 0;
            match self.session(socket, &shared, &mut commands).await {
                End::Done => return self,
                End::Broken => {
                    failures += 1;
                    backoff(failures).await;
                }
            }
        }
    }

    /// Connects with the client's access token, as an app keeps its
    /// tokens: the password is used once, and an expired access token is
    /// refreshed (so reconnecting costs no password check).
    async fn connect(
        &mut self,
        server: &Server,
        http: &reqwest::Client,
    ) -> Result<Socket, client::ClientError> {
        let credential = match self.credential.take() {
            Some(credential) => credential,
            None => {
                let form = [
                    ("grant_type", "password"),
                    ("username", self.me.email.as_str()),
                    ("password", self.me.password.as_str()),
                ];
                grant(http, server, &form).await?
            }
        };
        match client::connect(server, None, Some(&credential.access)).await {
            Ok(mut socket) => {
                self.credential = Some(credential);
                client::await_auth(&mut socket).await?;
                Ok(socket)
            }
            Err(client::ClientError::Handshake(tungstenite::Error::Http(response)))
                if response.status() == 401 =>
            {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", credential.refresh.as_str()),
                ];
                // A failed refresh leaves no credential: the password next.
                self.credential = grant(http, server, &form).await.ok();
                Err(client::ClientError::Refused("access token expired".into()))
            }
            Err(error) => {
                self.credential = Some(credential);
                Err(error)
            }
        }
    }

    /// One connection: catch up, resend, then send and read until it ends.
    /// Sends go through a queue to a writer of their own, as a browser's
    /// WebSocket buffers them: while the server holds back the client's
    /// operations (its TCP window full), the client goes on reading.
    async fn session(
        &mut self,
        socket: Socket,
        shared: &Shared,
        commands: &mut mpsc::Receiver<Command>,
    ) -> End {
        let (sink, mut frames) = socket.split();
        let (outbox, outgoing) = mpsc::unbounded_channel();
        let mut writer = tokio::spawn(write_all(sink, outgoing));
        let connection = Connection {
            frames: &mut frames,
            outbox: &outbox,
            writer: &mut writer,
        };
        let end = self.converse(connection, shared, commands).await;
        drop(outbox);
        match end {
            // The close frame is queued: let the writer send it.
            End::Done => {
                let _ = writer.await;
            }
            // Dropped without a close frame.
            End::Broken => writer.abort(),
        }
        end
    }

    /// Reads and sends over one connection until it ends.
    async fn converse(
        &mut self,
        connection: Connection<'_>,
        shared: &Shared,
        commands: &mut mpsc::Receiver<Command>,
    ) -> End {
        let Connection {
            frames,
            outbox,
            writer,
        } = connection;
        // Catch up first (on the first connection too: its answer is the
        // first cursor). Until `sync_done`, live messages and the catch-up
        // interleave, so order is only checked outside a sync.
        if outbox.send(sync_frame(&self.cursor)).is_err() {
            return End::Broken;
        }
        let mut syncing = true;
        let now = Instant::now();
        for pending in self.unacked.values_mut() {
            pending.due = now;
        }
        let mut last_seq: HashMap<Uuid, u64> = HashMap::new();
        let mut finishing = shared.finishing.clone();
        let mut sending = shared.sending.clone();
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / shared.rate));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut final_sync = false;
        loop {
            if *finishing.borrow() && self.unacked.is_empty() && !final_sync {
                // Everything acked: one last catch-up, then done.
                if outbox.send(sync_frame(&self.cursor)).is_err() {
                    return End::Broken;
                }
                final_sync = true;
                syncing = true;
            }
            tokio::select! {
                frame = frames.next() => {
                    let Some(Ok(frame)) = frame else { return End::Broken };
                    let Message::Text(text) = frame else { continue };
                    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if self.read(&value, shared, &mut last_seq, syncing) {
                        syncing = false;
                        if final_sync {
                            let _ = outbox.send(Message::Close(None));
                            return End::Done;
                        }
                    }
                }
                _ = ticks.tick() => {
                    let sending_now = *sending.borrow_and_update();
                    if self.send_due(outbox, shared, sending_now).is_err() {
                        return End::Broken;
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Drop) => return End::Broken,
                    Some(Command::Stall(time)) => tokio::time::sleep(time).await,
                    None => {}
                },
                _ = &mut *writer => return End::Broken,
                _ = finishing.changed() => {}
            }
        }
    }

    /// Sends the messages due again, and a new one when sending.
    fn send_due(&mut self, outbox: &Outbox, shared: &Shared, sending: bool) -> Result<(), ()> {
        let now = Instant::now();
        let due: Vec<u64> = self
            .unacked
            .iter()
            .filter(|(_, pending)| pending.due <= now)
            .map(|(order, _)| *order)
            .collect();
        for order in due {
            let frame = self.send_frame(&self.unacked[&order]);
            // Not sent again until it fails again (or the connection does).
            if let Some(pending) = self.unacked.get_mut(&order) {
                pending.due = now + Duration::from_secs(3600);
            }
            outbox.send(frame).map_err(|_| ())?;
        }
        if sending && self.unacked.len() < shared.window && !self.chats.is_empty() {
            let chat = self.chats[rand::rng().random_range(0..self.chats.len())];
            let pending = Pending {
                client_id: Uuid::new_v4(),
                chat,
                text: format!("soak {} from {}", self.next, self.user),
                due: now + Duration::from_secs(3600),
                first_sent: now,
            };
            let frame = self.send_frame(&pending);
            self.order_of.insert(pending.client_id, self.next);
            self.chat_of.insert(pending.client_id, pending.chat);
            self.unacked.insert(self.next, pending);
            self.next += 1;
            shared.ledger.sent();
            outbox.send(frame).map_err(|_| ())?;
        }
        Ok(())
    }

    fn send_frame(&self, pending: &Pending) -> Message {
        let frame = json!({
            "client_id": pending.client_id,
            "sender_id": self.me.id,
            "chat_id": pending.chat,
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "text": pending.text,
        });
        Message::text(frame.to_string())
    }

    /// Takes one server frame; true when it was the answer to a `sync`.
    fn read(
        &mut self,
        value: &Value,
        shared: &Shared,
        last_seq: &mut HashMap<Uuid, u64>,
        syncing: bool,
    ) -> bool {
        match value["type"].as_str() {
            Some("message_ack") => {
                // The ack names the message, not its chat: the chat is the
                // one this client sent it to.
                if let (Some(client_id), Some(id), Some(seq)) = (
                    uuid(&value["client_id"]),
                    uuid(&value["id"]),
                    value["seq"].as_u64(),
                ) && let Some(&chat) = self.chat_of.get(&client_id)
                {
                    let first_sent = self
                        .order_of
                        .remove(&client_id)
                        .and_then(|order| self.unacked.remove(&order))
                        .map(|pending| pending.first_sent);
                    let ack = Ack {
                        id,
                        chat,
                        seq,
                        sender: self.user,
                    };
                    let waited = first_sent.map(|sent| sent.elapsed()).unwrap_or_default();
                    shared.ledger.acked(client_id, ack, waited);
                    self.complete(chat, seq);
                }
                false
            }
            Some("message") => {
                if let (Some(id), Some(chat), Some(seq)) = (
                    uuid(&value["id"]),
                    uuid(&value["chat_id"]),
                    value["seq"].as_u64(),
                ) {
                    self.received(shared, last_seq, (id, chat, seq), syncing);
                }
                false
            }
            Some("sync_done") => {
                if let Some(cursor) = value["cursor"].as_object() {
                    for (chat, seq) in cursor {
                        if let (Ok(chat), Some(seq)) = (chat.parse::<Uuid>(), seq.as_u64()) {
                            self.caught_up(chat, seq);
                        }
                    }
                }
                true
            }
            Some("error") => {
                let detail = &value["detail"];
                shared.ledger.error(detail["code"].as_str().unwrap_or("?"));
                if let Some(order) =
                    uuid(&detail["client_id"]).and_then(|id| self.order_of.get(&id))
                    && let Some(pending) = self.unacked.get_mut(order)
                {
                    pending.due = Instant::now() + RETRY_AFTER;
                }
                false
            }
            _ => false,
        }
    }

    /// A message (id, chat, seq) reached this connection.
    fn received(
        &mut self,
        shared: &Shared,
        last_seq: &mut HashMap<Uuid, u64>,
        (id, chat, seq): (Uuid, Uuid, u64),
        syncing: bool,
    ) {
        if shared.ledger.delivered(self.user, id, chat, seq) {
            let last = last_seq.entry(chat).or_default();
            if seq < *last && !syncing {
                shared.ledger.out_of_order();
            }
            *last = (*last).max(seq);
        }
        // Every copy fills its place, a live one during a sync too: the
        // cursor moves only over seqs with none missing below them, so this
        // never passes a message by. Left out, the live messages of a sync
        // would hold the cursor at the sync's end for good, and every
        // catch-up after it would start there, growing with time.
        self.complete(chat, seq);
    }

    /// `seq` of `chat` is here (a message, or the ack of this client's
    /// own): the cursor moves over every seq now complete, and only those,
    /// so that a sync from it never passes a message by.
    fn complete(&mut self, chat: Uuid, seq: u64) {
        let known = self.cursor.entry(chat).or_default();
        let ahead = self.ahead.entry(chat).or_default();
        if seq > *known {
            ahead.insert(seq);
        }
        while ahead.remove(&(*known + 1)) {
            *known += 1;
        }
    }

    /// A sync's answer: `chat` is complete up to `seq`.
    fn caught_up(&mut self, chat: Uuid, seq: u64) {
        let known = self.cursor.entry(chat).or_default();
        *known = (*known).max(seq);
        let ahead = self.ahead.entry(chat).or_default();
        ahead.retain(|&later| later > seq);
        self.complete(chat, seq);
    }
}

/// Frames queued for a connection's writer.
type Outbox = mpsc::UnboundedSender<Message>;

/// One connection's halves, as a client's session uses them.
struct Connection<'a> {
    frames: &'a mut SplitStream<Socket>,
    outbox: &'a Outbox,
    /// Ends when a send fails.
    writer: &'a mut tokio::task::JoinHandle<()>,
}

/// Sends the queued frames in order until the queue closes or a send fails.
async fn write_all(
    mut sink: SplitSink<Socket, Message>,
    mut outgoing: mpsc::UnboundedReceiver<Message>,
) {
    while let Some(frame) = outgoing.recv().await {
        if sink.send(frame).await.is_err() {
            return;
        }
    }
}

/// `sync` from `cursor`; with none yet, the newest messages of every chat
/// (whose answer gives the first cursor).
fn sync_frame(cursor: &BTreeMap<Uuid, u64>) -> Message {
    if cursor.is_empty() {
        return Message::text(json!({"type": "sync"}).to_string());
    }
    let since: serde_json::Map<String, Value> = cursor
        .iter()
        .map(|(chat, seq)| (chat.to_string(), json!(seq)))
        .collect();
    Message::text(json!({"type": "sync", "since": since}).to_string())
}

fn uuid(value: &Value) -> Option<Uuid> {
    value.as_str()?.parse().ok()
}

/// Waits before the `failures`-th attempt: doubling from 100 ms up to
/// [`MAX_BACKOFF`], with jitter so that clients do not come back at once.
async fn backoff(failures: u32) {
    let base = Duration::from_millis(100)
        .saturating_mul(1 << failures.min(6))
        .min(MAX_BACKOFF);
    let jitter = rand::rng().random_range(0.5..1.0);
    tokio::time::sleep(base.mul_f64(jitter)).await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn shared() -> Shared {
        Shared {
            ledger: Ledger::default(),
            http: reqwest::Client::new(),
            servers: Vec::new(),
            rate: 1.0,
            window: 16,
            sending: watch::channel(false).1,
            finishing: watch::channel(false).1,
            connected: AtomicUsize::new(0),
        }
    }

    fn client(chat: Uuid) -> Client {
        let me = DemoUser {
            id: Uuid::new_v4(),
            name: "ann".into(),
            email: "ann@example.com".into(),
            password: "secret".into(),
        };
        Client::new(0, me, vec![chat])
    }

    /// Live messages that come while a sync is under way, past what the
    /// sync sends, count once the sync is done: the cursor ends after them,
    /// not at the sync's end, and stops below a seq that never came.
    #[test]
    fn a_sync_and_the_live_messages_during_it_move_the_cursor_together() {
        let (shared, chat) = (shared(), Uuid::new_v4());
        let mut client = client(chat);
        let mut last_seq = HashMap::new();
        let mut receive = |client: &mut Client, seq: u64, syncing: bool| {
            client.received(&shared, &mut last_seq, (Uuid::new_v4(), chat, seq), syncing);
        };
        for seq in 1..=3 {
            receive(&mut client, seq, false);
        }
        assert_eq!(client.cursor[&chat], 3);
        // A sync from 3: live 6 and 7 come before its 4 and 5.
        for seq in [6, 7, 4, 5] {
            receive(&mut client, seq, true);
        }
        client.caught_up(chat, 5);
        assert_eq!(client.cursor[&chat], 7);
        receive(&mut client, 9, false);
        assert_eq!(client.cursor[&chat], 7, "8 is missing");
        receive(&mut client, 8, false);
        assert_eq!(client.cursor[&chat], 9);
    }
}
