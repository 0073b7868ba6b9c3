//! The session move, the core's side: a logged-in session that its edge
//! opens here again after the session's core went away, with what its
//! client has and what it is still owed ([`SessionMove`]). The client
//! notices nothing: its login is not answered again; its unanswered
//! messages are answered (one already stored is not stored twice); it gets
//! the messages it missed and none it has, then the live events that came
//! meanwhile (held until then, see [`crate::sessions::Moved`]), then the
//! answers to its syncs. The edge passes every frame on as it comes.

use super::{SessionState, dispatch, sync};
use crate::error::Result;
use crate::state::Core;
use messenger_proto::LINK_OPERATION_WINDOW;
use messenger_proto::v1::{Cursor, SessionMove};

/// Most operations a move carries: the edge sends at most a window of
/// messages and keeps at most a window of syncs, plus `WatchPresence`.
const MAX_CARRIED: usize = 2 * LINK_OPERATION_WINDOW as usize + 1;

/// Whether `moving` is within what an edge sends: its operations as
/// above, and no more chats than a user may be in (twice: the messages
/// had beyond the cursor are the client's own, a few per chat at most).
pub fn is_within_bounds(moving: &SessionMove, max_chats: usize) -> bool {
    moving.resend.len() + moving.syncs.len() <= MAX_CARRIED
        && moving.had_up_to.len() <= max_chats
        && moving.had_also.len() <= max_chats.saturating_mul(2)
}

/// Catches up a session that moved here and has logged in (silently):
/// an error if its catch-up could not be read.
pub async fn resume(core: &Core, session: &mut SessionState, moving: SessionMove) -> Result<()> {
    let SessionMove {
        had_up_to,
        resend,
        syncs,
        had_also: _,
    } = moving;
    for operation in resend {
        Box::pin(dispatch(core, session, operation)).await;
    }
    let since = Cursor { chats: had_up_to };
    sync::catch_up(&core.chats, session, Some(since)).await?;
    session.outbox.caught_up();
    for operation in syncs {
        Box::pin(dispatch(core, session, operation)).await;
    }
    Ok(())
}
