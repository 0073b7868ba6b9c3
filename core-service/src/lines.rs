//! Per-chat order of delivered messages on one core.
//!
//! Messages reach a core from its own sessions (after their commit) and
//! from the other cores (over the bus), and neither path keeps a chat's
//! order on its own: two commits to one chat can finish in either order,
//! two cores' events can cross, and a bus event can be lost. Every message
//! therefore passes through here before it is delivered: a chat's messages
//! leave in `seq` order, each exactly once, and what is missing is fetched
//! from the database (see [`crate::events`], its catch-up), which holds every message
//! without gaps.
//!
//! A chat's line starts with its first message since the core started (or
//! since the line was dropped as idle), from the recent messages the
//! database has before it; then `next` is the one seq that may be
//! delivered. A message ahead of `next` waits for the ones before it, a
//! message behind it was delivered already and is dropped.
//!
//! Deliveries happen under the lock, so two callers never deliver one
//! chat's messages in the wrong order; delivering never waits (see
//! [`crate::sessions::Registry::deliver`]).

use crate::ids::{ChatId, MessageId};
use crate::membership::Members;
use crate::sessions::SessionId;
use crate::store::records::MessageRecord;
use messenger_proto::v1::ServerEvent;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A message to deliver to the live sessions of its chat's members.
pub struct Arrival {
    pub record: MessageRecord,
    /// Its `message` event.
    pub event: ServerEvent,
    pub members: Members,
    /// The session that sent it, which has its ack instead.
    pub skip: Option<SessionId>,
}

/// What a line needs from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Its start: the recent messages before its first arrival.
    Start(ChatId),
    /// The messages of a gap, once they had a moment to arrive on their own.
    Gap(ChatId),
}

/// The messages missing from a line: `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    pub first: i64,
    pub last: i64,
}

/// The lines of every chat with recent messages.
pub struct ChatOrder {
    state: Mutex<State>,
    requests: mpsc::UnboundedSender<Request>,
    /// The receiving end, until the task that answers takes it.
    asked: Mutex<Option<mpsc::UnboundedReceiver<Request>>>,
}

#[derive(Default)]
struct State {
    lines: HashMap<ChatId, Line>,
    /// Messages of this core's sessions that are being stored: if the
    /// database hands one out before its own arrival, its sender is still
    /// skipped.
    sending: HashMap<MessageId, SessionId>,
}

struct Line {
    /// The seq to deliver next; `None` until the line has started.
    next: Option<i64>,
    waiting: BTreeMap<i64, Arrival>,
    /// The highest seq known to exist, from the database's count.
    known_last: i64,
    /// What the last tail check saw, believed once the next one still
    /// finds the line behind it.
    seen_last: Option<i64>,
    /// A request for this line is queued or running.
    asked: bool,
    touched: Instant,
}

impl Line {
    fn new(now: Instant) -> Self {
        Line {
            next: None,
            waiting: BTreeMap::new(),
            known_last: 0,
            seen_last: None,
            asked: false,
            touched: now,
        }
    }

    /// Delivers the waiting messages that are next in line.
    fn drain(&mut self, deliver: &mut impl FnMut(&Arrival)) {
        let Some(mut next) = self.next else { return };
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() > next {
                break;
            }
            let arrival = entry.remove();
            if arrival.record.seq == next {
                deliver(&arrival);
                next += 1;
            }
        }
        self.next = Some(next);
    }

    fn missing(&self) -> Option<Missing> {
        let first = self.next?;
        let last = match self.waiting.keys().next() {
            Some(waiting) => waiting - 1,
            None => self.known_last,
        };
        (first <= last).then_some(Missing { first, last })
    }

    fn is_idle(&self, since: Instant) -> bool {
        !self.asked && self.waiting.is_empty() && self.touched < since
    }
}

impl Default for ChatOrder {
    fn default() -> Self {
        let (requests, asked) = mpsc::unbounded_channel();
        ChatOrder {
            state: Mutex::new(State::default()),
            requests,
            asked: Mutex::new(Some(asked)),
        }
    }
}

impl ChatOrder {
    /// The lines' requests for the database, for the one task that answers
    /// them (`None` once taken).
    pub fn requests(&self) -> Option<mpsc::UnboundedReceiver<Request>> {
        self.asked.lock().expect("chat order lock poisoned").take()
    }

    /// A session of this core is storing message `id`.
    pub fn sending(&self, id: MessageId, session: SessionId) {
        self.lock().sending.insert(id, session);
    }

    /// Message `id` was not stored (or was stored before): it will not
    /// arrive from its sender.
    pub fn not_sent(&self, id: MessageId) {
        self.lock().sending.remove(&id);
    }

    /// Takes a message in: delivers it and whatever it lets through, keeps
    /// it until the messages before it are in, or drops it if it was
    /// delivered already.
    pub fn arrive(&self, mut arrival: Arrival, deliver: &mut impl FnMut(&Arrival)) {
        let mut state = self.lock();
        if let Some(sender) = state.sending.remove(&arrival.record.id) {
            arrival.skip = Some(sender);
        }
        let chat = arrival.record.chat_id;
        let line = state
            .lines
            .entry(chat)
            .or_insert_with(|| Line::new(Instant::now()));
        line.touched = Instant::now();
        let seq = arrival.record.seq;
        match line.next {
            Some(next) if seq < next => return,
            // The usual case, without a trip through the waiting map.
            Some(next) if seq == next && line.waiting.is_empty() => {
                deliver(&arrival);
                line.next = Some(next + 1);
                return;
            }
            _ => {}
        }
        line.waiting.insert(seq, arrival);
        line.drain(deliver);
        self.ask(chat, line);
    }

    /// Starts `chat`'s line with the recent messages the database has
    /// before its first arrival (possibly none), oldest first.
    pub fn start(&self, chat: ChatId, recent: Vec<Arrival>, deliver: &mut impl FnMut(&Arrival)) {
        let mut state = self.lock();
        let State { lines, sending } = &mut *state;
        let Some(line) = lines.get_mut(&chat) else {
            return;
        };
        line.asked = false;
        for mut arrival in recent {
            if let Some(sender) = sending.remove(&arrival.record.id) {
                arrival.skip = Some(sender);
            }
            line.waiting.entry(arrival.record.seq).or_insert(arrival);
        }
        line.next = line.waiting.keys().next().copied();
        line.drain(deliver);
        self.ask(chat, line);
    }

    /// What `chat`'s line misses now; `None` (and the line's request is
    /// over) when nothing.
    pub fn missing(&self, chat: ChatId) -> Option<Missing> {
        let mut state = self.lock();
        let line = state.lines.get_mut(&chat)?;
        let missing = line.missing();
        if missing.is_none() {
            line.asked = false;
        }
        missing
    }

    /// Ends a gap request with the messages read for it.
    pub fn filled(&self, chat: ChatId, read: Vec<Arrival>, deliver: &mut impl FnMut(&Arrival)) {
        for arrival in read {
            self.arrive(arrival, deliver);
        }
        let mut state = self.lock();
        if let Some(line) = state.lines.get_mut(&chat) {
            line.asked = false;
            self.ask(chat, line);
        }
    }

    /// A request for `chat` failed: it is asked again.
    pub fn retry(&self, chat: ChatId) {
        let mut state = self.lock();
        if let Some(line) = state.lines.get_mut(&chat) {
            line.asked = false;
            self.ask(chat, line);
        }
    }

    /// The chats whose line has started: the ones whose tail is checked.
    pub fn started(&self) -> Vec<ChatId> {
        let state = self.lock();
        state
            .lines
            .iter()
            .filter(|(_, line)| line.next.is_some())
            .map(|(chat, _)| *chat)
            .collect()
    }

    /// The lowest seq waiting in `chat`'s line.
    pub fn first_waiting(&self, chat: ChatId) -> Option<i64> {
        let state = self.lock();
        state.lines.get(&chat)?.waiting.keys().next().copied()
    }

    /// The database says `chat`'s last seq is `last`. A line still behind
    /// what the previous check saw has lost messages (their events never
    /// came), and fetches them; the one check of grace lets events that are
    /// merely on their way arrive first.
    pub fn tail(&self, chat: ChatId, last: i64) {
        let mut state = self.lock();
        let Some(line) = state.lines.get_mut(&chat) else {
            return;
        };
        if let Some(seen) = line.seen_last.take() {
            line.known_last = line.known_last.max(seen);
        }
        line.seen_last = line.next.filter(|next| last >= *next).map(|_| last);
        self.ask(chat, line);
    }

    /// Drops the lines without a message since `since` and nothing pending.
    pub fn forget_idle(&self, since: Instant) {
        self.lock().lines.retain(|_, line| !line.is_idle(since));
    }

    /// How many chats have a line.
    pub fn lines(&self) -> usize {
        self.lock().lines.len()
    }

    /// Asks the database for what the line needs, unless it asked already.
    fn ask(&self, chat: ChatId, line: &mut Line) {
        if line.asked {
            return;
        }
        let request = match line.next {
            None => Request::Start(chat),
            Some(_) if line.missing().is_some() => Request::Gap(chat),
            Some(_) => return,
        };
        line.asked = true;
        // The receiver lives as long as the core; a send after it stopped
        // has no one to serve anyway.
        let _ = self.requests.send(request);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("chat order lock poisoned")
    }
}

/// How long a line without messages is kept. Longer than the look-back of
/// a line's start, so that a restarted line never delivers again what the
/// dropped one delivered.
pub const IDLE: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use chrono::Utc;

    fn arrival(chat: ChatId, seq: i64) -> Arrival {
        Arrival {
            record: MessageRecord {
                id: MessageId::random(),
                chat_id: chat,
                sender_id: UserId::random(),
                text: format!("m{seq}"),
                timestamp: Utc::now(),
                seen: false,
                seq,
                edited_at: None,
                deleted: false,
                attachments: Default::default(),
            },
            event: ServerEvent::default(),
            members: Vec::new().into(),
            skip: None,
        }
    }

    /// Delivers into a list of seqs.
    fn collect(delivered: &mut Vec<i64>) -> impl FnMut(&Arrival) + '_ {
        |arrival| delivered.push(arrival.record.seq)
    }

    fn started(chat: ChatId, first: i64) -> (ChatOrder, mpsc::UnboundedReceiver<Request>) {
        let order = ChatOrder::default();
        let mut requests = order.requests().expect("not taken yet");
        let mut delivered = Vec::new();
        order.arrive(arrival(chat, first), &mut collect(&mut delivered));
        assert!(delivered.is_empty(), "nothing leaves before the start");
        assert_eq!(requests.try_recv(), Ok(Request::Start(chat)));
        order.start(chat, Vec::new(), &mut collect(&mut delivered));
        assert_eq!(delivered, [first]);
        (order, requests)
    }

    #[test]
    fn a_line_starts_from_the_recent_messages_before_its_first_arrival() {
        let order = ChatOrder::default();
        let mut requests = order.requests().expect("not taken yet");
        let chat = ChatId::random();
        let mut delivered = Vec::new();
        order.arrive(arrival(chat, 7), &mut collect(&mut delivered));
        order.arrive(arrival(chat, 9), &mut collect(&mut delivered));
        assert_eq!(requests.try_recv(), Ok(Request::Start(chat)));
        assert!(requests.try_recv().is_err(), "one request at a time");
        let recent = vec![arrival(chat, 5), arrival(chat, 6)];
        order.start(chat, recent, &mut collect(&mut delivered));
        assert_eq!(delivered, [5, 6, 7]);
        assert_eq!(requests.try_recv(), Ok(Request::Gap(chat)));
        assert_eq!(order.missing(chat), Some(Missing { first: 8, last: 8 }));
        order.filled(chat, vec![arrival(chat, 8)], &mut collect(&mut delivered));
        assert_eq!(delivered, [5, 6, 7, 8, 9]);
        assert!(requests.try_recv().is_err());
    }

    #[test]
    fn messages_leave_in_order_exactly_once() {
        let chat = ChatId::random();
        let (order, mut requests) = started(chat, 1);
        let mut delivered = Vec::new();
        for seq in [3, 2, 2, 1, 4, 3] {
            order.arrive(arrival(chat, seq), &mut collect(&mut delivered));
        }
        assert_eq!(delivered, [2, 3, 4]);
        // 3 came before 2: a gap was asked for, and is gone by the time
        // it is looked at.
        assert_eq!(requests.try_recv(), Ok(Request::Gap(chat)));
        assert_eq!(order.missing(chat), None);
    }

    #[test]
    fn a_lost_tail_is_fetched_after_one_check_of_grace() {
        let chat = ChatId::random();
        let (order, mut requests) = started(chat, 1);
        order.tail(chat, 3);
        assert!(
            requests.try_recv().is_err(),
            "events may still be on their way"
        );
        order.tail(chat, 3);
        assert_eq!(requests.try_recv(), Ok(Request::Gap(chat)));
        assert_eq!(order.missing(chat), Some(Missing { first: 2, last: 3 }));
    }

    #[test]
    fn a_tail_that_arrives_on_its_own_is_not_fetched() {
        let chat = ChatId::random();
        let (order, mut requests) = started(chat, 1);
        order.tail(chat, 2);
        order.arrive(arrival(chat, 2), &mut |_| {});
        order.tail(chat, 2);
        assert!(requests.try_recv().is_err());
    }

    #[test]
    fn the_sender_is_skipped_even_when_the_database_hands_its_message_out_first() {
        let chat = ChatId::random();
        let (order, _requests) = started(chat, 1);
        let mine = arrival(chat, 2);
        let session = crate::sessions::Registry::default().new_session_id();
        order.sending(mine.record.id, session);
        let mut skipped = Vec::new();
        order.filled(chat, vec![mine], &mut |arrival| skipped.push(arrival.skip));
        assert_eq!(skipped, [Some(session)]);
    }

    #[test]
    fn idle_lines_are_dropped() {
        let chat = ChatId::random();
        let (order, _requests) = started(chat, 1);
        order.forget_idle(Instant::now() - Duration::from_secs(1));
        assert_eq!(order.lines(), 1);
        order.forget_idle(Instant::now() + Duration::from_secs(1));
        assert_eq!(order.lines(), 0);
    }
}
