//! What the core knows about one client session, and what logging in and
//! ending it do (the connection history, presence, the token that lets its
//! edge move it to another core).

use crate::error::{Error, Result};
use crate::ids::{ConnectionId, LoginId, UserId};
use crate::sessions::{Outbox, SessionId, UserPlace};
use crate::state::{Accounts, Chats, Live};
use crate::store::connections::{ConnectionOrigin, EndReason};
use chrono::{DateTime, Utc};
use messenger_proto::v1::{self as pb, server_event::Event};
use std::sync::Arc;
use uuid::Uuid;

/// What the core knows about one client session.
pub struct SessionState {
    pub id: SessionId,
    /// The logged-in user; `None` until login.
    pub user: Option<UserId>,
    pub outbox: Arc<Outbox>,
    /// Where the connection comes from, as the edge reported it.
    pub origin: ConnectionOrigin,
    /// This login's row in the connection history.
    pub connection: Option<ConnectionId>,
    /// The login the session's credential belongs to, and when that
    /// credential expires; `None` for a session logged in with a password.
    pub grant: Option<(LoginId, DateTime<Utc>)>,
    /// The hash of the token its edge was given to move the session to
    /// another core (see [`resumable`]), revoked when the session ends here.
    pub resume_token: Option<String>,
    /// Moved here from another core and not logged in here yet: its login
    /// is the client's old one, told nothing (see `super::session_move`).
    pub moving: bool,
    /// Its place under its user's bound, while logged in.
    pub place: Option<UserPlace>,
}

impl SessionState {
    /// A session that has not logged in yet.
    pub fn new(id: SessionId, outbox: Arc<Outbox>, origin: ConnectionOrigin) -> Self {
        SessionState {
            id,
            user: None,
            outbox,
            origin,
            connection: None,
            grant: None,
            resume_token: None,
            moving: false,
            place: None,
        }
    }

    /// Binds the session to `user` (replacing any earlier login) and
    /// replies `auth_success`, unless the session is moving here.
    pub async fn log_in(
        &mut self,
        chats: &Chats,
        accounts: &Accounts,
        live: &Live,
        user: &crate::store::users::UserRecord,
    ) -> Result<()> {
        self.finish(chats, live, EndReason::SwitchedUser).await;
        let max = live.places.max();
        let place = live
            .places
            .take(user.id)
            .ok_or(Error::TooManySessions { max })?;
        let moved_here = std::mem::take(&mut self.moving);
        if let Some(moved) = self.outbox.moved_state().filter(|_| !moved_here) {
            // The client logged in again: what it had is another login's.
            moved.forget();
        }
        // Time-ordered like message ids: connection rows are append-only.
        let connection = ConnectionId(Uuid::now_v7());
        chats
            .store
            .start_connection(connection, user.id, &self.origin, live.id)
            .await?;
        self.connection = Some(connection);
        self.user = Some(user.id);
        self.place = Some(place);
        live.sessions
            .register(user.id, self.id, self.outbox.clone());
        self.outbox.logged_in();
        tracing::info!(user_id = %user.id, session_id = %self.id, "logged in");
        if !moved_here {
            self.reply(Event::AuthSuccess(crate::convert::user(user)))
                .await;
        }
        if self.outbox.is_linked() {
            let cursor = !moved_here;
            let resumable = resumable(chats, accounts, user.id, self.grant, cursor).await?;
            self.resume_token = Some(resumable.1);
            self.reply(Event::Resumable(resumable.0)).await;
        }
        if let Some(change) = live.presence.arrived(user.id).await {
            crate::events::presence::changed(chats, live, user.id, change).await;
        }
        Ok(())
    }

    /// The session no longer rests on the credential it was opened with:
    /// its expiry will not end it.
    pub fn release_grant(&mut self, accounts: &Accounts) {
        if let Some((_, expires_at)) = self.grant.take() {
            accounts.expiries.forget(expires_at, self.id);
        }
    }

    /// The logged-in user, or [`Error::NotAuthenticated`].
    pub fn user(&self) -> Result<UserId> {
        self.user.ok_or(Error::NotAuthenticated)
    }

    /// Makes the session unreachable and records in the connection history
    /// how it ended (a failure to record is logged, not fatal).
    pub async fn finish(&mut self, chats: &Chats, live: &Live, reason: EndReason) {
        // A session that ends with its core moves to another core: its
        // login stays, and its user does not go offline in between (the
        // core's presence counts go when it stops, see `cores::stop`).
        let moves = matches!(reason, EndReason::ServerShutdown | EndReason::Error);
        if self.connection.is_some() {
            crate::telemetry::session_ended(reason.name());
        }
        self.place = None;
        if let Some(user) = self.user.take() {
            live.sessions.unregister(user, self.id);
            let stopping = reason == EndReason::ServerShutdown;
            if !stopping && let Some(change) = live.presence.left(user).await {
                crate::events::presence::changed(chats, live, user, change).await;
            }
        }
        if let Some(connection) = self.connection.take()
            && let Err(error) = chats.store.end_connection(connection, reason).await
        {
            error.log();
        }
        if let Some(token) = self.resume_token.take().filter(|_| !moves)
            && let Err(error) = chats.store.revoke_token(&token).await
        {
            error.log();
        }
    }

    /// Queues a reply to this session's own client.
    pub(crate) async fn reply(&self, event: Event) {
        if !self.answers(&event) {
            return;
        }
        let _ = self
            .outbox
            .reply(pb::ServerEvent { event: Some(event) })
            .await;
    }

    /// Replies with one event of a catch-up, as fast as the client takes
    /// them (see [`crate::sessions::Outbox::paced_reply`]).
    /// False once the session is gone: the rest of the catch-up is moot.
    pub(crate) async fn reply_paced(&self, event: Event) -> bool {
        if !self.answers(&event) {
            return true;
        }
        self.outbox
            .paced_reply(pb::ServerEvent { event: Some(event) })
            .await
    }

    /// Whether `event` goes to the client: for a moved session, a message
    /// of its catch-up that the client has does not (see
    /// [`crate::sessions::Moved::answer`]); the messages and acks that go
    /// count as had.
    fn answers(&self, event: &Event) -> bool {
        let Some(moved) = self.outbox.moved_state() else {
            return true;
        };
        match event {
            Event::Message(message) => moved.answer(&message.chat_id, message.seq),
            Event::MessageAck(ack) => {
                moved.answer(&ack.chat_id, ack.seq);
                true
            }
            _ => true,
        }
    }
}

/// What the edge of a session needs to move it to another core: a token
/// (see [`crate::accounts::resume_token`]), and `with_cursor`, the last seq
/// of each of the user's chats now (read after the session was registered,
/// so every later message reaches it live; a session moved here goes on
/// with the cursor its edge keeps). Returns the token's hash too.
async fn resumable(
    chats: &Chats,
    accounts: &Accounts,
    user: UserId,
    grant: Option<(LoginId, DateTime<Utc>)>,
    with_cursor: bool,
) -> Result<(pb::Resumable, String)> {
    let (token, hash) = crate::accounts::resume_token(accounts, user, grant).await?;
    let cursor = match with_cursor {
        true => Some(cursor(chats, user).await?),
        false => None,
    };
    let resumable = pb::Resumable {
        token,
        cursor,
        user_id: user.to_string(),
    };
    Ok((resumable, hash))
}

/// The last seq of each of the user's chats now.
async fn cursor(chats: &Chats, user: UserId) -> Result<pb::Cursor> {
    let positions = chats
        .store
        .chat_positions(user)
        .await?
        .into_iter()
        .map(|chat| {
            (
                chat.id.to_string(),
                u64::try_from(chat.last_seq).unwrap_or(0),
            )
        })
        .collect();
    Ok(pb::Cursor { chats: positions })
}
