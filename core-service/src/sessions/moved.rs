//! A session moved here from a core that went away (the session move; see
//! `commands::session_move`): what its client already has, so that no
//! message reaches it twice, and the live events held back while it
//! catches up, so that none reaches it out of order.

use messenger_proto::v1::SessionMove;
use messenger_proto::{Had, SharedEvent};
use std::collections::HashMap;
use std::sync::Mutex;

/// Most live events held for one session during its catch-up: beyond, it
/// is a slow consumer (its client reconnects and catches up itself).
const MAX_HELD: usize = 4096;

/// What a live event does for a moved session.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Sent now.
    Pass,
    /// Kept until the catch-up is done.
    Held,
    /// Not sent: a message the client has.
    Drop,
    /// Not sent: the catch-up held too many already.
    Overflow,
}

/// The state of one moved session.
pub struct Moved {
    state: Mutex<State>,
}

struct State {
    had: HashMap<String, Had>,
    /// Live events that came during the catch-up, in order; `None` once it
    /// is done.
    held: Option<Vec<Held>>,
}

/// A live event held back, with its message's chat and seq.
type Held = (SharedEvent, Option<(String, u64)>);

impl Moved {
    /// A session whose client has what `moving` says, catching up.
    pub fn new(moving: &SessionMove) -> Moved {
        let mut had: HashMap<String, Had> = moving
            .had_up_to
            .iter()
            .map(|(chat, upto)| (chat.clone(), Had::up_to(*upto)))
            .collect();
        for place in &moving.had_also {
            had.entry(place.chat_id.clone()).or_default().add(place.seq);
        }
        Moved {
            state: Mutex::new(State {
                had,
                held: Some(Vec::new()),
            }),
        }
    }

    /// A live event for the session, a message's with its chat and seq.
    pub fn live(&self, message: Option<(&str, u64)>, event: &SharedEvent) -> Admit {
        let mut state = self.lock();
        if let Some(held) = &mut state.held {
            if held.len() >= MAX_HELD {
                return Admit::Overflow;
            }
            let place = message.map(|(chat, seq)| (chat.to_owned(), seq));
            held.push((event.clone(), place));
            return Admit::Held;
        }
        match message {
            Some((chat, seq)) => state.note(chat, seq),
            None => Admit::Pass,
        }
    }

    /// A message the session's own answer carries (the catch-up, a sync,
    /// an ack): whether to send it. During the catch-up a message the
    /// client has is not; every one sent counts as had from then on.
    pub fn answer(&self, chat: &str, seq: u64) -> bool {
        let mut state = self.lock();
        let catching_up = state.held.is_some();
        let had = state.had.entry(chat.to_owned()).or_default();
        if catching_up && had.has(seq) {
            return false;
        }
        had.add(seq);
        true
    }

    /// Ends the catch-up: hands `send` the held events in order, but the
    /// messages the client has, while no live event can pass them.
    pub fn caught_up(&self, mut send: impl FnMut(SharedEvent)) {
        let mut state = self.lock();
        let Some(held) = state.held.take() else {
            return;
        };
        for (event, place) in held {
            let admit = match place {
                Some((chat, seq)) => state.note(&chat, seq),
                None => Admit::Pass,
            };
            if admit == Admit::Pass {
                send(event);
            }
        }
    }

    /// The client logged in again: what it had was another login's.
    pub fn forget(&self) {
        let mut state = self.lock();
        if state.held.is_none() {
            state.had.clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("moved session lock poisoned")
    }
}

impl State {
    /// A message passing to the client, unless it has it.
    fn note(&mut self, chat: &str, seq: u64) -> Admit {
        let had = self.had.entry(chat.to_owned()).or_default();
        if had.has(seq) {
            return Admit::Drop;
        }
        had.add(seq);
        Admit::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use messenger_proto::v1::{ChatSeq, ServerEvent};

    fn moved(had: &[(&str, u64)], also: &[(&str, u64)]) -> Moved {
        Moved::new(&SessionMove {
            had_up_to: had.iter().map(|(c, s)| ((*c).to_owned(), *s)).collect(),
            had_also: also
                .iter()
                .map(|(c, s)| ChatSeq {
                    chat_id: (*c).to_owned(),
                    seq: *s,
                })
                .collect(),
            ..SessionMove::default()
        })
    }

    fn event() -> SharedEvent {
        SharedEvent::encode_once(&ServerEvent::default())
    }

    /// What passes, live: each message's place, or "other".
    fn live(moved: &Moved, places: &[Option<(&str, u64)>]) -> Vec<Admit> {
        places
            .iter()
            .map(|place| moved.live(*place, &event()))
            .collect()
    }

    fn released(moved: &Moved) -> usize {
        let mut sent = 0;
        moved.caught_up(|_| sent += 1);
        sent
    }

    #[test]
    fn a_move_shows_no_repeat_no_gap_and_nothing_ahead_of_the_catch_up() {
        let moved = moved(&[("a", 6), ("b", 1)], &[]);
        // Live during the catch-up: one it will read too, one after it, and
        // a typing notice.
        let during = live(&moved, &[Some(("a", 8)), Some(("a", 9)), None]);
        assert_eq!(during, [Admit::Held, Admit::Held, Admit::Held]);
        // The catch-up from the cursor: one the client had, then the rest.
        let answered: Vec<bool> = [("a", 6), ("a", 7), ("b", 2), ("a", 8)]
            .iter()
            .map(|(chat, seq)| moved.answer(chat, *seq))
            .collect();
        assert_eq!(answered, [false, true, true, true]);
        // a8 came in the catch-up: of the held three, a9 and the notice go.
        assert_eq!(released(&moved), 2);
        let after = live(&moved, &[Some(("a", 9)), Some(("a", 10)), Some(("b", 2))]);
        assert_eq!(after, [Admit::Drop, Admit::Pass, Admit::Drop]);
    }

    #[test]
    fn the_clients_own_messages_acked_ahead_are_not_shown_back() {
        let moved = moved(&[("a", 5)], &[("a", 7)]);
        let answered: Vec<bool> = [6, 7, 8]
            .iter()
            .map(|seq| moved.answer("a", *seq))
            .collect();
        assert_eq!(answered, [true, false, true]);
        released(&moved);
        assert_eq!(live(&moved, &[Some(("a", 7))]), [Admit::Drop]);
    }

    #[test]
    fn after_the_catch_up_the_clients_own_sync_shows_what_it_asks_for() {
        let moved = moved(&[("a", 5)], &[]);
        released(&moved);
        // The client's sync from 2: 3 to 5 go again, as it asked.
        assert!((3..=5).all(|seq| moved.answer("a", seq)));
    }

    #[test]
    fn a_catch_up_that_holds_too_much_makes_a_slow_consumer() {
        let moved = moved(&[], &[]);
        for _ in 0..MAX_HELD {
            assert_eq!(moved.live(None, &event()), Admit::Held);
        }
        assert_eq!(moved.live(None, &event()), Admit::Overflow);
    }

    #[test]
    fn a_new_login_forgets_what_the_old_one_had() {
        let moved = moved(&[("a", 5)], &[]);
        released(&moved);
        moved.forget();
        assert_eq!(live(&moved, &[Some(("a", 3))]), [Admit::Pass]);
    }
}
