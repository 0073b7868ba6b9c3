//! What a socket carries so that its session can move to another core
//! when its core goes away (the session move). The core decides
//! everything about a move (`core-service`'s `commands::session_move`);
//! the edge only keeps what only it knows, and hands it over:
//!
//! - the session's token (from the core's `resumable`);
//! - what its client has: per chat, the messages the socket wrote to it
//!   (a cursor, plus its own messages acked ahead of earlier ones);
//! - what the client is still owed: its messages not answered yet, its
//!   syncs not done yet, and whether it watches presence.
//!
//! After a move, every frame of the new core is passed on as it comes: it
//! sends no `auth_success` and no `sync_done` for the move, none of the
//! messages the client has, and the live ones after the catch-up.

use super::about::About;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::{ChatSeq, ClientOperation, Resumable, SessionMove, WatchPresence};
use messenger_proto::{Had, LINK_OPERATION_WINDOW};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A socket's session as it would be carried to another core.
#[derive(Default)]
pub(super) struct Carry {
    /// The token to open the session with on another core, once it logged
    /// in.
    token: Option<String>,
    /// What the client has, per chat.
    had: HashMap<Arc<str>, Had>,
    /// The client's messages not answered yet, by `client_id`.
    unanswered: Vec<(String, ClientOperation)>,
    /// The client's syncs not done yet, oldest first. At most
    /// [`LINK_OPERATION_WINDOW`]: a refused one is never done, and an older
    /// one than that has been refused.
    syncs: VecDeque<ClientOperation>,
    /// The client asked for presence: asked again of the next core.
    watches_presence: bool,
}

impl Carry {
    /// Whether the session has logged in (a move needs that).
    pub(super) fn logged_in(&self) -> bool {
        self.token.is_some()
    }

    /// Notes what a frame written to the client gives it or answers.
    pub(super) fn wrote(&mut self, about: &About) {
        match about {
            About::Message { chat, seq } => self.had.entry(chat.clone()).or_default().add(*seq),
            About::Ack {
                client_id,
                chat,
                seq,
            } => {
                self.answered(client_id);
                self.had.entry(chat.clone()).or_default().add(*seq);
            }
            About::Refused { client_id } => self.answered(client_id),
            About::Group { chat } => {
                self.had.entry(chat.clone()).or_default();
            }
            About::SyncDone => {
                self.syncs.pop_front();
            }
            About::Other => {}
        }
    }

    fn answered(&mut self, client_id: &str) {
        self.unanswered.retain(|(id, _)| id != client_id);
    }

    /// Notes an operation of the client on its way to the core: a copy of
    /// a message until it is answered, of a sync until it is done.
    pub(super) fn sent(&mut self, operation: &ClientOperation) {
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
    }

    /// Keeps the core's [`Resumable`]: after the client logged in (again),
    /// its cursor is what the client has; after a move, only its token is
    /// new. True for the session's first login.
    pub(super) fn keep(&mut self, resumable: Resumable) -> bool {
        let first = self.token.is_none();
        self.token = Some(resumable.token);
        if let Some(cursor) = resumable.cursor {
            self.had = cursor
                .chats
                .into_iter()
                .map(|(chat, upto)| (chat.into(), Had::up_to(upto)))
                .collect();
        }
        first
    }

    /// The token a move opens the session with, and what it carries to
    /// the next core; `None` before login.
    pub(super) fn moving(&self) -> Option<(&str, SessionMove)> {
        let token = self.token.as_deref()?;
        let had_up_to = self
            .had
            .iter()
            .map(|(chat, had)| (chat.to_string(), had.upto()))
            .collect();
        let had_also = self
            .had
            .iter()
            .flat_map(|(chat, had)| {
                had.above().map(|seq| ChatSeq {
                    chat_id: chat.to_string(),
                    seq,
                })
            })
            .collect();
        let mut resend: Vec<ClientOperation> = self
            .unanswered
            .iter()
            .map(|(_, operation)| operation.clone())
            .collect();
        // The new core's `presence_list` shows the client what changed
        // while the session moved.
        if self.watches_presence {
            resend.push(Operation::WatchPresence(WatchPresence {}).into());
        }
        let moving = SessionMove {
            had_up_to,
            had_also,
            resend,
            syncs: self.syncs.iter().cloned().collect(),
        };
        Some((token, moving))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use messenger_proto::v1::{Cursor, SendMessage, Sync};

    fn logged_in(cursor: &[(&str, u64)]) -> Carry {
        let mut carry = Carry::default();
        carry.keep(Resumable {
            token: "t".into(),
            user_id: "me".into(),
            cursor: Some(Cursor {
                chats: cursor.iter().map(|(c, s)| ((*c).to_owned(), *s)).collect(),
            }),
        });
        carry
    }

    fn message(chat: &str, seq: u64) -> About {
        About::Message {
            chat: chat.into(),
            seq,
        }
    }

    fn send(client_id: &str) -> ClientOperation {
        Operation::SendMessage(SendMessage {
            client_id: client_id.into(),
            ..SendMessage::default()
        })
        .into()
    }

    #[test]
    fn the_cursor_follows_what_the_socket_wrote_and_its_own_acks() {
        let mut carry = logged_in(&[("a", 5)]);
        carry.wrote(&message("a", 6));
        // Its own 8 is acked before someone else's 7 arrives.
        carry.wrote(&About::Ack {
            client_id: "c".into(),
            chat: "a".into(),
            seq: 8,
        });
        carry.wrote(&About::Group { chat: "g".into() });
        let (token, moving) = carry.moving().unwrap();
        assert_eq!(token, "t");
        assert_eq!(moving.had_up_to["a"], 6);
        assert_eq!(moving.had_up_to["g"], 0);
        assert_eq!(moving.had_also.len(), 1);
        assert_eq!(
            (moving.had_also[0].chat_id.as_str(), moving.had_also[0].seq),
            ("a", 8)
        );
        carry.wrote(&message("a", 7));
        let (_, moving) = carry.moving().unwrap();
        assert_eq!(moving.had_up_to["a"], 8);
        assert!(moving.had_also.is_empty());
    }

    #[test]
    fn a_move_carries_the_unanswered_messages_presence_and_pending_syncs() {
        let mut carry = logged_in(&[]);
        carry.sent(&send("one"));
        carry.sent(&send("two"));
        carry.sent(&Operation::WatchPresence(WatchPresence {}).into());
        carry.sent(&Operation::Sync(Sync { since: None }).into());
        carry.wrote(&About::Ack {
            client_id: "one".into(),
            chat: "a".into(),
            seq: 1,
        });
        let (_, moving) = carry.moving().unwrap();
        let resent: Vec<Option<&Operation>> = moving
            .resend
            .iter()
            .map(|op| op.operation.as_ref())
            .collect();
        assert!(matches!(resent[0], Some(Operation::SendMessage(m)) if m.client_id == "two"));
        assert!(matches!(resent[1], Some(Operation::WatchPresence(_))));
        assert_eq!(resent.len(), 2);
        assert_eq!(moving.syncs.len(), 1);
        carry.wrote(&About::SyncDone);
        assert!(carry.moving().unwrap().1.syncs.is_empty());
    }

    #[test]
    fn a_moved_sessions_new_token_keeps_the_cursor_a_new_login_replaces_it() {
        let mut carry = logged_in(&[("a", 5)]);
        let renewed = Resumable {
            token: "t2".into(),
            user_id: "me".into(),
            cursor: None,
        };
        assert!(!carry.keep(renewed));
        let (token, moving) = carry.moving().unwrap();
        assert_eq!((token, moving.had_up_to["a"]), ("t2", 5));
        let login = Resumable {
            token: "t3".into(),
            user_id: "other".into(),
            cursor: Some(Cursor::default()),
        };
        carry.keep(login);
        assert!(carry.moving().unwrap().1.had_up_to.is_empty());
    }

    #[test]
    fn nothing_moves_before_login() {
        assert!(Carry::default().moving().is_none());
    }
}
