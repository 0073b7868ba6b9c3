//! Moving a WebSocket's session to another core without closing the socket.
//!
//! After a socket logs in, its core sends the edge a [`Resumable`]: a token
//! of a login of the session's own and the last seq of each of the user's
//! chats. The edge moves that cursor on with every message it hands the
//! client. When the core goes away, the edge opens the session again on
//! another core with the token and sends a `Sync` from the cursor, without
//! telling the client: the new core's `auth_success` and `sync_done` are
//! not shown, the messages the client has already had are dropped, and
//! live messages that come ahead of the catch-up wait until it is done. So
//! the client sees no close, no gap and no repeat.
//!
//! Messages the client sent that were not answered yet are sent again to
//! the new core before the `Sync` (the same `client_id` is stored once), so
//! their acks come and the catch-up does not show the client its own
//! message. The client's own syncs that were not answered are sent again
//! after it: while one is under way, messages the client may already have
//! are let through, as its answer must hold every message after the
//! client's cursor (which only the client knows) before its `sync_done`
//! moves that cursor. Other operations in flight (a receipt, a new group)
//! may go unanswered.

use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{Cursor, Resumable, ServerEvent};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// What a frame from the core is, as far as moving its session goes.
#[derive(Debug, Clone, PartialEq)]
pub enum About {
    Message {
        chat: Arc<str>,
        seq: u64,
        sender: Arc<str>,
    },
    /// The ack of the client's own message, which it never gets as a
    /// `message` frame.
    Ack {
        client_id: Arc<str>,
        chat: Arc<str>,
        seq: u64,
    },
    /// An error answering one of the client's messages.
    Refused {
        client_id: Arc<str>,
    },
    Group {
        chat: Arc<str>,
    },
    AuthSuccess,
    SyncDone,
    Other,
}

impl About {
    pub fn of(event: &ServerEvent) -> About {
        match &event.event {
            Some(Event::Message(message)) => About::Message {
                chat: message.chat_id.as_str().into(),
                seq: message.seq,
                sender: message.sender_id.as_str().into(),
            },
            Some(Event::MessageAck(ack)) => About::Ack {
                client_id: ack.client_id.as_str().into(),
                chat: ack.chat_id.as_str().into(),
                seq: ack.seq,
            },
            Some(Event::Error(error)) => match &error.client_id {
                Some(client_id) => About::Refused {
                    client_id: client_id.as_str().into(),
                },
                None => About::Other,
            },
            Some(Event::GroupCreated(group)) => About::Group {
                chat: group.chat_id.as_str().into(),
            },
            Some(Event::AuthSuccess(_)) => About::AuthSuccess,
            Some(Event::SyncDone(_)) => About::SyncDone,
            _ => About::Other,
        }
    }
}

/// What the client has of one chat.
#[derive(Debug, Default)]
struct Had {
    /// It has every message up to this seq.
    upto: u64,
    /// And these later ones (its own, or ones that came out of order).
    above: BTreeSet<u64>,
}

impl Had {
    fn has(&self, seq: u64) -> bool {
        seq <= self.upto || self.above.contains(&seq)
    }

    fn add(&mut self, seq: u64) {
        if seq <= self.upto {
            return;
        }
        self.above.insert(seq);
        while self.above.remove(&(self.upto + 1)) {
            self.upto += 1;
        }
    }
}

/// What the client is waiting for answers to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unanswered {
    /// Messages not acked yet.
    pub sends: bool,
    /// Its own `sync`s, not done yet.
    pub syncs: bool,
}

/// A logged-in socket's way back to the cluster.
pub struct Resume {
    token: String,
    /// The session's user.
    user: String,
    /// What the client has, per chat.
    cursor: HashMap<Arc<str>, Had>,
    /// Moved at least once: messages the client has had can come again.
    moved: bool,
    /// Between a move and the end of its `Sync`.
    catching_up: bool,
    /// Messages that came ahead of the catch-up, per chat and seq.
    held: BTreeMap<(Arc<str>, u64), Utf8Bytes>,
}

impl Resume {
    pub fn new(resumable: Resumable) -> Resume {
        let cursor = resumable.cursor.unwrap_or_default().chats;
        Resume {
            token: resumable.token,
            user: resumable.user_id,
            cursor: cursor
                .into_iter()
                .map(|(chat, upto)| {
                    let had = Had {
                        upto,
                        above: BTreeSet::new(),
                    };
                    (chat.into(), had)
                })
                .collect(),
            moved: false,
            catching_up: false,
            held: BTreeMap::new(),
        }
    }

    /// The token to open the session with on another core.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A new core's [`Resumable`]: its token replaces this one; the cursor
    /// stays this socket's.
    pub fn renew(&mut self, resumable: Resumable) {
        self.token = resumable.token;
    }

    /// Whether this is the end of a move (the new core's login answer),
    /// rather than the client logging in again.
    pub fn is_moving(&self) -> bool {
        self.catching_up
    }

    /// The session is being opened on another core: the cursor to sync
    /// from.
    pub fn start_move(&mut self) -> Cursor {
        self.moved = true;
        self.catching_up = true;
        let chats = self
            .cursor
            .iter()
            .map(|(chat, had)| (chat.to_string(), had.upto))
            .collect();
        Cursor { chats }
    }

    /// The frames to hand the client for `text`, in order: none, it, or
    /// (at the end of a catch-up) the messages that waited for it. While
    /// messages of the client's are not answered yet, a message of its
    /// user that comes during a catch-up waits for the end of it: it may be
    /// one of those, delivered by the new core before its ack. While a
    /// sync of the client's is not done, messages it had are shown again.
    pub fn admit(
        &mut self,
        text: Utf8Bytes,
        about: About,
        unanswered: Unanswered,
        out: &mut Vec<Utf8Bytes>,
    ) {
        match about {
            About::Message { chat, seq, sender } => {
                if self.catching_up && unanswered.sends && *sender == *self.user {
                    self.held.insert((chat, seq), text);
                } else {
                    self.message(chat, seq, text, unanswered.syncs, out);
                }
            }
            About::Ack { chat, seq, .. } => {
                self.cursor.entry(chat).or_default().add(seq);
                out.push(text);
            }
            About::Group { chat } => {
                self.cursor.entry(chat).or_default();
                out.push(text);
            }
            About::AuthSuccess if self.catching_up => {}
            About::SyncDone if self.catching_up => {
                self.catching_up = false;
                for ((chat, seq), text) in std::mem::take(&mut self.held) {
                    self.message(chat, seq, text, unanswered.syncs, out);
                }
            }
            _ => out.push(text),
        }
    }

    /// Hands the client a message, unless it had it since a move (and is
    /// not syncing), or it comes ahead of the catch-up.
    fn message(
        &mut self,
        chat: Arc<str>,
        seq: u64,
        text: Utf8Bytes,
        syncing: bool,
        out: &mut Vec<Utf8Bytes>,
    ) {
        let had = self.cursor.entry(chat.clone()).or_default();
        if self.moved && had.has(seq) && !syncing {
            return;
        }
        if self.catching_up && seq > had.upto + 1 {
            self.held.insert((chat, seq), text);
            return;
        }
        had.add(seq);
        out.push(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resume(cursor: &[(&str, u64)]) -> Resume {
        Resume::new(Resumable {
            token: "t".into(),
            user_id: "me".into(),
            cursor: Some(Cursor {
                chats: cursor.iter().map(|(c, s)| ((*c).to_owned(), *s)).collect(),
            }),
        })
    }

    fn message(chat: &str, seq: u64) -> (Utf8Bytes, About) {
        let text = Utf8Bytes::from(format!("{chat}{seq}"));
        let about = About::Message {
            chat: chat.into(),
            seq,
            sender: "other".into(),
        };
        (text, about)
    }

    fn admit_all(resume: &mut Resume, frames: Vec<(Utf8Bytes, About)>) -> Vec<String> {
        let mut out = Vec::new();
        for (text, about) in frames {
            resume.admit(text, about, Unanswered::default(), &mut out);
        }
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn before_a_move_everything_passes_and_the_cursor_follows() {
        let mut resume = resume(&[("a", 5)]);
        let shown = admit_all(&mut resume, vec![message("a", 3), message("a", 6)]);
        assert_eq!(shown, ["a3", "a6"]);
        assert_eq!(resume.start_move().chats["a"], 6);
    }

    #[test]
    fn a_move_shows_no_repeat_no_gap_and_no_login_answer() {
        let mut resume = resume(&[("a", 5), ("b", 1)]);
        admit_all(&mut resume, vec![message("a", 6)]);
        resume.start_move();
        let sync_done = (Utf8Bytes::from("done"), About::SyncDone);
        let login = (Utf8Bytes::from("auth"), About::AuthSuccess);
        let frames = vec![
            login,
            // live, ahead of the catch-up
            message("a", 9),
            // the catch-up: one the client had, then the missing ones
            message("a", 6),
            message("a", 7),
            message("b", 2),
            message("a", 8),
            sync_done,
            // live again, one of them already shown
            message("a", 9),
            message("a", 10),
        ];
        let shown = admit_all(&mut resume, frames);
        assert_eq!(shown, ["a7", "b2", "a8", "a9", "a10"]);
        assert!(!resume.is_moving());
    }

    #[test]
    fn the_clients_own_messages_are_not_shown_back_after_a_move() {
        let mut resume = resume(&[("a", 5)]);
        let own = |seq| {
            let about = About::Ack {
                client_id: "c".into(),
                chat: "a".into(),
                seq,
            };
            (Utf8Bytes::from(format!("ack{seq}")), about)
        };
        // Its own 7 is acked before someone else's 6 arrives.
        admit_all(&mut resume, vec![own(7), message("a", 6)]);
        assert_eq!(resume.start_move().chats["a"], 7);
        let done = (Utf8Bytes::from("done"), About::SyncDone);
        let shown = admit_all(&mut resume, vec![message("a", 7), message("a", 8), done]);
        assert_eq!(shown, ["a8"]);
        resume.start_move();
        // A sync from 8 on a third core: nothing new.
        let done = (Utf8Bytes::from("done"), About::SyncDone);
        let shown = admit_all(&mut resume, vec![message("a", 8), done]);
        assert!(shown.is_empty());
    }

    #[test]
    fn its_own_message_delivered_before_the_ack_of_its_resend_is_not_shown() {
        let mut resume = resume(&[("a", 5)]);
        resume.start_move();
        let mine = (
            Utf8Bytes::from("mine6"),
            About::Message {
                chat: "a".into(),
                seq: 6,
                sender: "me".into(),
            },
        );
        let ack = (
            Utf8Bytes::from("ack6"),
            About::Ack {
                client_id: "c".into(),
                chat: "a".into(),
                seq: 6,
            },
        );
        let mut out = Vec::new();
        let sending = Unanswered {
            sends: true,
            syncs: false,
        };
        let (text, about) = mine;
        resume.admit(text, about, sending, &mut out);
        let (text, about) = ack;
        resume.admit(text, about, sending, &mut out);
        resume.admit(
            "done".into(),
            About::SyncDone,
            Unanswered::default(),
            &mut out,
        );
        let shown: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["ack6"]);
    }

    /// The socket logged in when chat `a` was at 5; the client's own sync
    /// from 2 was lost with the core. After the move, that sync's answer
    /// (sent again) must show 3 to 5, although the cursor the edge keeps
    /// counts them as had: the client's `sync_done` will say 5.
    #[test]
    fn the_clients_own_sync_after_a_move_shows_what_the_client_asked_for() {
        let mut resume = resume(&[("a", 5)]);
        resume.start_move();
        let syncing = Unanswered {
            sends: false,
            syncs: true,
        };
        let mut out = Vec::new();
        // The move's own catch-up: nothing after 5.
        resume.admit("done".into(), About::SyncDone, syncing, &mut out);
        for seq in 3..=5 {
            let (text, about) = message("a", seq);
            resume.admit(text, about, syncing, &mut out);
        }
        resume.admit("client done".into(), About::SyncDone, syncing, &mut out);
        let shown: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["a3", "a4", "a5", "client done"]);
        // Without a sync of the client's under way, repeats stay hidden.
        let shown = admit_all(&mut resume, vec![message("a", 4)]);
        assert!(shown.is_empty());
    }

    #[test]
    fn a_group_created_during_a_move_is_shown_and_its_messages_follow() {
        let mut resume = resume(&[]);
        resume.start_move();
        let group = (Utf8Bytes::from("group"), About::Group { chat: "g".into() });
        let done = (Utf8Bytes::from("done"), About::SyncDone);
        let shown = admit_all(&mut resume, vec![group, message("g", 1), done]);
        assert_eq!(shown, ["group", "g1"]);
    }
}
