//! What a socket keeps so that its session can move to another core: the
//! core's `resumable`, the client's messages not answered yet, its syncs
//! not done yet, whether it watches presence; and what a move sends the new
//! core (see [`super::resume`] for how the catch-up is merged).

use super::link::LinkSession;
use super::resume::{About, Resume, Unanswered};
use messenger_proto::LINK_OPERATION_WINDOW;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::{ClientOperation, Resumable, Sync, WatchPresence};
use std::collections::VecDeque;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A socket's session as it would be carried to another core.
#[derive(Default)]
pub(super) struct Carry {
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
}

impl Carry {
    /// Whether the session has logged in (a move needs that).
    pub(super) fn logged_in(&self) -> bool {
        self.resume.is_some()
    }

    /// Whether a move's operations still wait to be sent.
    pub(super) fn resending(&self) -> bool {
        !self.resends.is_empty()
    }

    /// Adds `text` to `batch` as the session's [`Resume`] lets it through,
    /// noting what it answers.
    pub(super) fn admit(&mut self, text: Utf8Bytes, about: About, batch: &mut Vec<Utf8Bytes>) {
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

    /// Sends what a move left waiting, as far as `session`'s window goes.
    pub(super) fn resend(&mut self, session: &mut LinkSession) {
        while session.has_room() {
            let Some(operation) = self.resends.pop_front() else {
                return;
            };
            session.send(operation);
        }
    }

    /// Keeps the core's [`Resumable`]: a new one after the client logged
    /// in (again), or the new core's token after a move. True for the
    /// session's first login.
    pub(super) fn keep(&mut self, resumable: Resumable) -> bool {
        let first = self.resume.is_none();
        match &mut self.resume {
            Some(resume) if resume.is_moving() => resume.renew(resumable),
            _ => self.resume = Some(Box::new(Resume::new(resumable))),
        }
        first
    }

    /// The token a move opens the session with; `None` before login.
    pub(super) fn token(&self) -> Option<&str> {
        self.resume.as_ref().map(|resume| resume.token())
    }

    /// The session has been opened again as `session`: sends it what the
    /// client is owed (its unanswered messages, presence if it watched it,
    /// a catch-up from the cursor, its pending syncs).
    pub(super) fn moved(&mut self, session: &mut LinkSession) {
        let Some(resume) = &mut self.resume else {
            return;
        };
        let since = resume.start_move();
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
        self.resend(session);
    }
}
